# Happening. `make demo` is the main job; `make test` is what CI runs.
SHELL := /bin/bash
.ONESHELL:
.PHONY: help services services-down services-status build release test demo seed fuzz clean

RUN := .run
SEED_EVENTS ?= 100000
SEED_USERS ?= 10000

help:
	@echo "make demo          the whole story: services, release build, seed, two servers, workers, flash sales, cache compare"
	@echo "                   (DEMO_EVENTS, DEMO_USERS, DEMO_BENCH_USERS, DEMO_TICKETS, DEMO_STRATEGIES, DEMO_RATE, DEMO_SECONDS)"
	@echo "make test          start services, build, run every test, print the summary"
	@echo "make fuzz          schemathesis against a release server and openapi.yaml as anonymous, user, host and admin (FUZZ_EXAMPLES=60)"
	@echo "make seed          reset the dev database and fill it (SEED_EVENTS=100000 SEED_USERS=10000)"
	@echo "make services      start PostgreSQL, Redis and RabbitMQ on 127.0.0.1 (data in .run/)"
	@echo "make services-down stop them"

services:
	@bash scripts/services.sh up

services-down:
	@bash scripts/services.sh down

services-status:
	@bash scripts/services.sh status

build:
	@swift build
	bash scripts/services.sh up gateway

release:
	@swift build -c release
	bash scripts/services.sh up gateway

seed: services
	@set -euo pipefail
	swift build -c release --product happening-seed 2>&1 | tail -1
	. $(RUN)/env
	.build/release/happening-seed --reset --events $(SEED_EVENTS) --users $(SEED_USERS)

test: services
	@set -uo pipefail
	echo "== building (debug, with tests); log in $(RUN)/build.log"
	if ! swift build --build-tests >$(RUN)/build.log 2>&1; then grep -E 'error' $(RUN)/build.log | head -40; exit 1; fi
	tail -1 $(RUN)/build.log
	. $(RUN)/env
	# Two passes: the suites in parallel, then the Bench's timing-sensitive measurements one at a time, alone on
	# the machine (on 2 cores they cannot share it with the rest and still measure a 20 ms delay as 20 ms).
	echo "== running tests against the local services; log in $(RUN)/test-output.log"
	swift test --skip-build --skip BenchTests 2>&1 | tee $(RUN)/test-output.log | grep --line-buffered -E '^(✔ Test|✘|✔ Suite)|error:|Expectation failed'
	status=$${PIPESTATUS[0]}
	echo "== the Bench's measurement tests, serially"
	swift test --skip-build --filter BenchTests --no-parallel 2>&1 | tee -a $(RUN)/test-output.log | grep --line-buffered -E '^(✔ Test|✘|✔ Suite)|error:|Expectation failed'
	bench_status=$${PIPESTATUS[0]}
	[ $$status -eq 0 ] && status=$$bench_status
	echo "== the oversell gate: scenarios/flash-sale-ci.yaml against a release build with two workers"
	bash scripts/ci-flash-sale.sh 2>&1 | tee $(RUN)/ci-gate.log | grep --line-buffered -vE '^bench: (connect|intake) '
	gate_status=$${PIPESTATUS[0]}
	[ $$status -eq 0 ] && status=$$gate_status
	echo "== the short fuzz pass: schemathesis against openapi.yaml as anonymous, user, host and admin (FUZZ_EXAMPLES=5; make fuzz runs 60)"
	SKIP_BUILD=1 FUZZ_EXAMPLES=5 OUT=$(RUN)/fuzz-ci FUZZ_PORT=5096 bash scripts/fuzz.sh 2>&1 | tee $(RUN)/fuzz-ci.log | grep --line-buffered -E '^==|generated|^\|'
	fuzz_status=$${PIPESTATUS[0]}
	[ $$status -eq 0 ] && status=$$fuzz_status
	echo "== the chaos gate: scenarios/flash-sale-chaos.yaml at CI size (1,000 users, 10 tickets), three workers, one killed; RabbitMQ and PostgreSQL restarted"
	SKIP_BUILD=1 SCENARIO=scenarios/flash-sale-chaos.yaml WORKERS=3 OUT=$(RUN)/chaos-gate CI_GATE_PORT=5098 bash scripts/ci-flash-sale.sh --set users=1000 --set tickets=10 2>&1 \
		| tee $(RUN)/chaos-gate.log | grep --line-buffered -vE '^bench: (connect|intake|rush|outage|recovered) '
	chaos_status=$${PIPESTATUS[0]}
	[ $$status -eq 0 ] && status=$$chaos_status
	echo "== test summary"
	grep -hE 'Test run with [0-9]+ tests?' $(RUN)/test-output.log
	echo "passed: $$(grep -cE '^✔ Test "' $(RUN)/test-output.log)   failed: $$(grep -cE '^✘ Test "[^"]*" failed' $(RUN)/test-output.log)"
	grep -E '^✘ Test "' $(RUN)/test-output.log || true
	echo "oversell gate: $$([ $$gate_status -eq 0 ] && echo passed || echo FAILED)"
	echo "fuzz (short pass): $$([ $$fuzz_status -eq 0 ] && echo passed || echo FAILED)"
	echo "chaos gate: $$([ $$chaos_status -eq 0 ] && echo passed || echo FAILED)"
	exit $$status

demo:
	@bash scripts/demo.sh

fuzz:
	@REPORT=$${REPORT:-results/fuzz} bash scripts/fuzz.sh

clean:
	@rm -rf .build
