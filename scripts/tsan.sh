#!/usr/bin/env bash
# `make tsan`: builds Spool and its tests with ThreadSanitizer (in .build-tsan, apart from the
# ordinary build) and runs the suites that exercise threads. Fails when a test fails or when any
# process (the test runner or a `spool` binary a test started) wrote a ThreadSanitizer report.
#   SWIFT=... SWIFTFLAGS=... TSAN_SCRATCH=... scripts/tsan.sh   overrides, as the Makefile passes them
#   TSAN_FILTER=FaultTests scripts/tsan.sh                        runs only what the --filter regex matches
#
# Reports are collected with TSAN_OPTIONS=log_path: every instrumented process (children inherit
# the environment) writes its reports to $TSAN_SCRATCH/tsan-reports/report.<pid>, so a report in
# a child whose exit status a test does not check still fails the run.
#
# If a report is a false positive from inside an uninstrumented library (librdkafka, SQLite,
# Foundation), add a narrow entry to scripts/tsan.supp with a comment saying why; it is passed
# as TSAN_OPTIONS=suppressions when it exists. A race in Spool's own code is fixed, not suppressed.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
swift="${SWIFT:-swift}"
read -r -a flags <<< "${SWIFTFLAGS:--Xswiftc -warnings-as-errors}"
scratch="${TSAN_SCRATCH:-$root/.build-tsan}"
case "$scratch" in /*) ;; *) scratch="$root/$scratch" ;; esac

# The suites (Swift Testing type names, as --filter matches them) whose code runs on more than
# one thread: the ingest pipeline's consumer and writer threads, ConsumerManager and replay over
# the mock cluster and a capture, and the binary tests that signal `spool` (SIGINT, SIGTERM,
# kill -9 mid-ingest), watch status, write the metrics file, and restore with progress records.
# Left out to keep CI short: the suites on noida-db (RestoreBinaryTests, SecondBrokerTests, about
# 2.5 minutes under TSan) and the single-threaded parsing, decoding and store suites.
suites=(
    IngestPipelineTests        # SpoolIngest: consumer thread + writer thread, exactly once
    ConsumerManagerTests       # KafkaReplay: ConsumerManager against the mock cluster
    ReplayCoreTests            # KafkaReplay: the ordering core over a scripted source
    CaptureReplayTests         # SpoolReplay: ConsumerManager over a capture, backpressure
    RestoreProgressTests       # SpoolStore: restore progress records
    SpoolBinaryTests           # spool ingest: SIGTERM and a second SIGINT mid-ingest, kill -9
    CompactSignalBinaryTests   # spool compact under SIGTERM and SIGINT
    StatusWatchTests           # spool status --watch alongside a running ingest
    RetentionBinaryTests       # spool ingest --metrics-file and retention while ingesting
    RestoreMockBinaryTests     # spool restore: transactions and progress on the mock cluster
    FaultTests                 # spool ingest through kill -9, a full disk, brokers down, a deleted topic
    ReplayBinaryTests          # spool replay: a capture being written, | head, SIGINT
    ShardIngestTests           # SpoolIngest: shard processes over the mock cluster
    LatestTableTests           # SpoolIngest: keyed tables written by the writer thread
    HeaderCaptureTests         # SpoolIngest: headers through the pipeline
    KafkarsSpellingTests       # KafkaReplay: ConsumerManager in kafkars' spelling
)
filter="${TSAN_FILTER:-$(IFS='|'; echo "${suites[*]}")}"

"$swift" build --build-tests --sanitize=thread --scratch-path "$scratch" "${flags[@]}"

reports="$scratch/tsan-reports"
rm -rf "$reports"
mkdir -p "$reports"
options="log_path=$reports/report second_deadlock_stack=1"
if [ -f "$root/scripts/tsan.supp" ]; then options="$options suppressions=$root/scripts/tsan.supp"; fi

status=0
TSAN_OPTIONS="${TSAN_OPTIONS:+$TSAN_OPTIONS }$options" \
    "$swift" test --skip-build --no-parallel --sanitize=thread --scratch-path "$scratch" --filter "$filter" || status=$?

# A file that holds only the list of suppressions used (TSAN_OPTIONS=print_suppressions=1) is
# not a report; anything else TSan wrote (a warning, an error, a crash in TSan) is.
shopt -s nullglob
found=()
for file in "$reports"/report.*; do
    if grep -v -q -E '^(ThreadSanitizer: Matched [0-9]+ suppressions \(pid=[0-9]+\):|[0-9]+ [a-z_]+:.*|)$' "$file"; then
        found+=("$file")
    fi
done
if [ ${#found[@]} -gt 0 ]; then
    for report in "${found[@]}"; do
        echo "==== $report"
        cat "$report"
    done
    echo "tsan: ThreadSanitizer reports from ${#found[@]} process(es), in $reports" >&2
    exit 1
fi
if [ "$status" -ne 0 ]; then
    echo "tsan: the tests failed (status $status) with no ThreadSanitizer report" >&2
    exit "$status"
fi
echo "tsan: no ThreadSanitizer reports (--filter '$filter')"
