# Spool — build, test, demo and bench. `make test` is the one test command.
SWIFT ?= swift
SWIFTFLAGS ?= -Xswiftc -warnings-as-errors
APT_PACKAGES = librdkafka-dev libsqlite3-dev libprotobuf-dev libprotoc-dev pkg-config

.PHONY: deps build release test tsan demo bench clean

## deps: install librdkafka, SQLite, protobuf and pkg-config with apt-get when pkg-config cannot find them
deps:
	@if command -v pkg-config >/dev/null 2>&1 && pkg-config --exists rdkafka sqlite3 protobuf; then \
		echo "deps: librdkafka $$(pkg-config --modversion rdkafka), sqlite $$(pkg-config --modversion sqlite3), protobuf $$(pkg-config --modversion protobuf)"; \
	else \
		echo "deps: installing $(APT_PACKAGES)"; \
		SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
		$$SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y $(APT_PACKAGES); \
	fi

## build: debug build of every target, warnings are errors
build: deps
	$(SWIFT) build $(SWIFTFLAGS)

## release: optimised build (used by bench and demo)
release: deps
	$(SWIFT) build -c release $(SWIFTFLAGS)

## test: the whole test suite against the in-process mock Kafka cluster and noida-db (a second
## Kafka-protocol broker), with the confluent-kafka Python client in .build/test-venv
## (one test at a time: the fault tests time real processes on a 2-core machine)
test: deps
	./scripts/test-venv.sh
	$(SWIFT) build --build-tests $(SWIFTFLAGS)
	$(SWIFT) test --skip-build --no-parallel

## tsan: the suites that run code on several threads (ingest pipeline, ConsumerManager, replay,
## signals, status --watch, metrics file, restore, faults), built with ThreadSanitizer in
## .build-tsan; fails on any TSan report from the test runner or a spool it started
## (scripts/tsan.sh; narrow suppressions with reasons in scripts/tsan.supp)
tsan: deps
	./scripts/test-venv.sh
	SWIFT="$(SWIFT)" SWIFTFLAGS="$(SWIFTFLAGS)" ./scripts/tsan.sh

## demo: embedded broker with sample data -> spool ingest -> status -> three example queries
demo: release
	./scripts/demo.sh

## bench: throughput and memory on the embedded broker (BENCH_MESSAGES=2000000 by default)
bench: release
	.build/release/SpoolBench

clean:
	rm -rf .build .build-tsan
