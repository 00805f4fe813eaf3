# Happening. `make demo` is the main job; `make test` is what CI runs.
SHELL := /bin/bash
.ONESHELL:
.PHONY: help services services-down services-status build release test unit test-loaded demo day perf-gate diff-alarms seed fuzz format clean prometheus prometheus-down fleet

RUN := .run
SEED_EVENTS ?= 100000
SEED_USERS ?= 10000

help:
	@echo "make demo          the whole story: services, release build, seed, two servers, workers, flash sales, cache compare"
	@echo "                   (DEMO_EVENTS, DEMO_USERS, DEMO_BENCH_USERS, DEMO_TICKETS, DEMO_STRATEGIES, DEMO_RATE, DEMO_SECONDS)"
	@echo "make test          start services, the lint, one debug build, unit tests, every suite, the four gates; stage times at the end"
	@echo "make format        rewrite every Swift file the way .swift-format says (make test fails on any difference)"
	@echo "make unit          build, then the unit tests only (pure logic: no PostgreSQL, Redis or RabbitMQ needed)"
	@echo "make test-loaded   the parallel suite 5 times in a row beside two CPU hogs (RUNS=5 HOGS=2): flakiness check"
	@echo "make day           the flash-sale day at full size (1,000,000 events, 2,000 req/s of browsing, a 5,000-user sale), release"
	@echo "make perf-gate     the server's floor, cached read and refused booking as CPU and req/s against nginx, 3 rounds, judged"
	@echo "                   against results/perf-gate-base.json (warns on a certain regression; STRICT=1 fails, ACCEPT=1 re-bases)"
	@echo "make diff-alarms   does diff cry wolf: 100 runs of one build, then diffs of it against itself in every mode (RUNS, about 25 min)"
	@echo "make fuzz          schemathesis against a release server and openapi.yaml as anonymous, user, host and admin (FUZZ_EXAMPLES=60)"
	@echo "make seed          reset the dev database and fill it (SEED_EVENTS=100000 SEED_USERS=10000)"
	@echo "make services      start PostgreSQL, Redis and RabbitMQ on 127.0.0.1 (data in .run/)"
	@echo "make services-down stop them"
	@echo "make fleet         a 40,000-user flash sale from four generator hosts (network namespaces) against two servers behind HAProxy"
	@echo "make prometheus    Debian's Prometheus on 127.0.0.1:30909 with deploy/prometheus/prometheus.yml (remote-write receiver on;"
	@echo "                   scrapes the server and gate-started tiers); make prometheus-down stops it"

services:
	@bash scripts/services.sh up

services-down:
	@bash scripts/services.sh down

services-status:
	@bash scripts/services.sh status

fleet:
	@bash scripts/fleet.sh

prometheus:
	@bash scripts/prometheus.sh up

prometheus-down:
	@bash scripts/prometheus.sh down

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
	@bash scripts/test.sh all

format:
	@swift format format --in-place --configuration .swift-format --recursive --parallel Sources Tests Package.swift

unit:
	@bash scripts/services.sh packages
	bash scripts/test.sh unit

test-loaded:
	@bash scripts/loaded-suite.sh

demo:
	@bash scripts/demo.sh

day:
	@bash scripts/flash-sale-day.sh

perf-gate:
	@bash scripts/perf-gate.sh

diff-alarms:
	@bash scripts/diff-false-alarms.sh

fuzz:
	@REPORT=$${REPORT:-results/fuzz} bash scripts/fuzz.sh

clean:
	@rm -rf .build
