#!/usr/bin/env bash
# The CI oversell gate: `happening-bench gate` on a build of this checkout (release unless BUILD_CONFIG=debug) starts
# a server and the workers, runs a flash-sale scenario and stops them. An oversell, a lost or stuck booking or a
# phantom write fails the gate, with the report (ledger included) printed. JUnit XML (a test case per threshold and
# ledger invariant) goes to $OUT/junit.xml for the CI's test report, a Markdown verdict to $OUT/summary.md.
#
#   scripts/ci-flash-sale.sh                       # scenarios/flash-sale-ci.yaml, two for-update workers
#   STRATEGY=batch scripts/ci-flash-sale.sh
#   SCENARIO=scenarios/flash-sale-chaos.yaml WORKERS=3 OUT=.run/chaos scripts/ci-flash-sale.sh --set users=1000 --set tickets=10
#
# Arguments after the options are passed to `happening-bench gate` (e.g. `--set users=1000`).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
services_up postgres redis rabbitmq  # the gate needs no payment gateway
OUT="${OUT:-.run/ci-gate}"; rm -rf "$OUT"
release_build "$OUT" happening-server happening-worker happening-seed happening-bench
status=0
"$BIN"/happening-bench gate "${SCENARIO:-scenarios/flash-sale-ci.yaml}" --workers "${WORKERS:-2}" --strategy "${STRATEGY:-for-update}" \
    --port "${CI_GATE_PORT:-5097}" --logs "$OUT" --out "$OUT" --progress lines --junit "$OUT/junit.xml" --summary "$OUT/summary.md" \
    "$@" || status=$?
# A CI job's summary page, where the CI offers one (GitHub Actions).
if [ -n "${GITHUB_STEP_SUMMARY:-}" ] && [ -f "$OUT/summary.md" ]; then cat "$OUT/summary.md" >>"$GITHUB_STEP_SUMMARY"; fi
# A scenario that stops services and fails half-way leaves them down: bring them back for whatever runs next.
bash scripts/services.sh up postgres redis rabbitmq >/dev/null 2>&1 || true
exit $status
