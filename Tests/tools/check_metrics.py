#!/usr/bin/env python3
"""Parses a Prometheus text-format file the way Prometheus' own Python client does.

Run with the test venv's python (scripts/test-venv.sh installs prometheus_client):

    .build/test-venv/bin/python Tests/tools/check_metrics.py FILE

Prints one JSON object to stdout:

    {"families": {NAME: {"type": TYPE, "samples": [{"name": N, "labels": {...}, "value": V}]}}}

Family names are as the parser gives them: a counter family loses its "_total" suffix
(family "spool_messages_stored", type "counter", samples named "spool_messages_stored_total").
Exits 1 with a message on stderr when the file cannot be read or does not parse.
"""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families


def parse(text):
    """Returns the families of `text` as plain dictionaries; raises ValueError on bad input."""
    families = {}
    for family in text_string_to_metric_families(text):
        if family.name in families:
            raise ValueError(f"family {family.name} appears twice")
        families[family.name] = {
            "type": family.type,
            "samples": [
                {"name": s.name, "labels": dict(s.labels), "value": s.value}
                for s in family.samples
            ],
        }
    return families


def main(argv):
    if len(argv) != 2:
        print("usage: check_metrics.py FILE", file=sys.stderr)
        return 2
    try:
        with open(argv[1], encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        print(f"check_metrics.py: cannot read {argv[1]}: {e}", file=sys.stderr)
        return 1
    try:
        families = parse(text)
    except Exception as e:  # the parser raises ValueError, but also others on odd input
        print(f"check_metrics.py: {argv[1]} is not valid Prometheus text format: {e!r}", file=sys.stderr)
        return 1
    json.dump({"families": families}, sys.stdout, sort_keys=True)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
