# DayTrader: the two commands of the README, and their parts.
#   make test   installs what is missing, starts private PostgreSQL, Redis and RabbitMQ, runs every test
#   make bench  the whole stack (release build, as make demo runs it) replays BENCH_WORKLOAD (default the
#               course's 100-user file): commands/s, latency, CPU and memory per process, and the
#               ratio to this machine's one-call-per-command ceiling (scripts/bench.sh)
#   make bench-million  the same with 1,000 users and 1,000,000 generated commands
#   make bench-audit  the audit server alone: its ingest rate and its memory while dumping
#   make demo   the whole stack up, a workload replayed through HAProxy, log.xml written and
#               validated, the report printed; the stack stays up for the web page, whose address
#               and accounts it prints (KEEP=0 stops it; WORKLOAD=path replays another file)
#   make up / make down / make status   the whole stack on this machine (scripts/stack.sh)

SHELL := /bin/bash
TEST_RUN_DIR ?= $(CURDIR)/run/test
# RoundTripTests count each command's statements in pg_stat_statements.
TEST_PG_OPTIONS := -c shared_preload_libraries=pg_stat_statements
SWIFT_BUILD_FLAGS ?=

.PHONY: test deps build release services-up services-down up down status demo clean bench bench-million bench-audit chaos soak screenshots
STACK_RUN_DIR ?= $(CURDIR)/run/stack
WORKLOAD ?= workloads/50User_synthetic
KEEP ?= 1

## Debian packages the build and the tests need; installed only when missing.
deps:
	@scripts/install-deps.sh

build: deps
	swift build $(SWIFT_BUILD_FLAGS)

## Runs all tests against real services started here, and stops them afterwards. The suites that
## bring up whole stacks of their own run after the others, one at a time: on two cores they and
## the rest together starve each other's servers past the tests' time limits.
space := $(empty) $(empty)
STACK_TESTS := StackEndToEndTests ChaosTests FuzzTests BrowserTests
## Limits on the two test runs, so that a hung test fails `make test` with a clear message long
## before CI's 90 minutes (this machine: about 11 and 2 minutes).
TEST_MINUTES ?= 45
STACK_TEST_MINUTES ?= 15
test: deps
	swift build --build-tests $(SWIFT_BUILD_FLAGS)
	@# A fresh broker each run: tests leave a queue each, and private brokers of their own.
	@rm -rf $(TEST_RUN_DIR)/rabbitmq $(TEST_RUN_DIR)/rabbitmq-*
	@# pg_stat_statements lets RoundTripTests count the statements each command runs.
	@PG_FAST=1 PG_OPTIONS="$(TEST_PG_OPTIONS)" scripts/services.sh start $(TEST_RUN_DIR)
	@set -o pipefail; eval "$$(scripts/services.sh env $(TEST_RUN_DIR))"; \
		export DAYTRADER_TEST_REDIS_PORT=$$REDIS_PORT DAYTRADER_TEST_RABBITMQ_PORT=$$RABBITMQ_PORT; \
		export DAYTRADER_BIN_DIR=$$(swift build --show-bin-path $(SWIFT_BUILD_FLAGS)); \
		status=0; \
		scripts/within.sh $(TEST_MINUTES) swift test --skip-build $(SWIFT_BUILD_FLAGS) --skip '$(subst $(space),|,$(STACK_TESTS))' || status=$$?; \
		for suite in $(STACK_TESTS); do \
			scripts/within.sh $(STACK_TEST_MINUTES) swift test --skip-build $(SWIFT_BUILD_FLAGS) --filter $$suite || status=$$?; \
		done; \
		scripts/services.sh stop $(TEST_RUN_DIR); exit $$status

services-up: deps
	@PG_FAST=1 PG_OPTIONS="$(TEST_PG_OPTIONS)" scripts/services.sh start $(TEST_RUN_DIR)

services-down:
	@scripts/services.sh stop $(TEST_RUN_DIR)

## The whole stack's commands/s, latency, CPU and memory against the ceiling (docs/PERFORMANCE.md).
BENCH_WORKLOAD ?= ../shared/course/workloads/100User_testWorkLoad
bench: release
	@BIN_DIR=$$(swift build -c release --show-bin-path) WORKLOAD="$(BENCH_WORKLOAD)" scripts/bench.sh

## The same on a generated workload of 1,000 users and 1,000,000 commands (seed 468, made once
## under run/): whether the rate holds to the end and the memory stays bounded.
MILLION := $(CURDIR)/run/workloads/1000User_1M
bench-million: release
	@mkdir -p run/workloads
	@[ -f $(MILLION) ] || $$(swift build -c release --show-bin-path)/workload-generator generate --users 1000 --commands 1000000 --seed 468 --output $(MILLION)
	@BIN_DIR=$$(swift build -c release --show-bin-path) WORKLOAD="$(MILLION)" BENCH_OUT=$(CURDIR)/out/bench-million scripts/bench.sh

## The pages in headless Chromium against a stack of their own, their screenshots into
## docs/screenshots (scripts/browser.sh; `make test` runs the same through BrowserTests).
screenshots: release
	@BIN_DIR=$$(swift build -c release --show-bin-path) SCREENSHOTS=$(CURDIR)/docs/screenshots scripts/browser.sh

## Faults under load: every kind killed or stalled once, in a seeded order, while a workload
## replays; the table of lost and doubled commands and events, the log, reconciliation
## (docs/OPERATIONS.md). WORKLOAD, RATE, SEED, GAP as in scripts/chaos.sh.
chaos: release
	@BIN_DIR=$$(swift build -c release --show-bin-path) scripts/chaos.sh

## Memory over time: a generated workload at a fixed rate for MINUTES (default 30); no part may
## grow more than 10% after the warm-up (docs/PERFORMANCE.md). RATE, USERS as in scripts/soak.sh.
MINUTES ?= 30
soak: release
	@BIN_DIR=$$(swift build -c release --show-bin-path) MINUTES=$(MINUTES) scripts/soak.sh

## The audit server's events/s and its peak memory while dumping (docs/PERFORMANCE.md).
bench-audit: deps
	scripts/bench-audit.sh $(EVENTS)

## Release build of every executable (the stack and the workload generator run these).
release: deps
	swift build -c release

up: release
	@BIN_DIR=$$(swift build -c release --show-bin-path) scripts/stack.sh up $(STACK_RUN_DIR)

down:
	@scripts/stack.sh down $(STACK_RUN_DIR)

status:
	@scripts/stack.sh status $(STACK_RUN_DIR)

## The main job: stack up, WORKLOAD replayed, out/log.xml written and validated, report printed,
## the page's address and accounts printed (make down stops the stack).
demo: release
	@BIN_DIR=$$(swift build -c release --show-bin-path) WORKLOAD="$(WORKLOAD)" KEEP="$(KEEP)" \
		RUN_DIR="$(STACK_RUN_DIR)" scripts/demo.sh

clean:
	rm -rf .build run out
