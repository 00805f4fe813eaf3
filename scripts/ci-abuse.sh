#!/usr/bin/env bash
# The abuse gates: each scenarios/abuse-*.yaml through `happening-bench gate` (a server and workers of this build, the
# scenario, its thresholds), at CI size. The server is started the way the scenarios assume: it believes X-Forwarded-For
# from the loopback (TRUSTED_PROXIES, the brute-force scenario's proxy), closes idle connections after 3 s
# (IDLE_TIMEOUT_SECONDS, the slow clients') and caps tickets per user at 10 (the default). Reports go to $OUT/<name>/,
# JUnit to $OUT/<name>/junit.xml, and a table of the verdicts to $OUT/summary.md; any failed threshold fails the run.
#
#   scripts/ci-abuse.sh                                     # all four
#   SCENARIOS="scenarios/abuse-hoarders.yaml" scripts/ci-abuse.sh --set fans=500 --set bench_users=505
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
services_up postgres redis rabbitmq
OUT="${OUT:-.run/abuse}"; rm -rf "$OUT"; mkdir -p "$OUT"
release_build "$OUT" happening-server happening-worker happening-seed happening-bench
port="${CI_ABUSE_PORT:-5094}"
status=0
printf '| scenario | verdict | report |\n|---|---|---|\n' >"$OUT/summary.md"
for scenario in ${SCENARIOS:-scenarios/abuse-hoarders.yaml scenarios/abuse-brute-force.yaml scenarios/abuse-slow-clients.yaml scenarios/abuse-expensive-reads.yaml}; do
    name=$(basename "$scenario" .yaml)
    mkdir -p "$OUT/$name"
    echo "== $name"
    verdict=PASS
    "$BIN"/happening-bench gate "$scenario" --workers 2 --port "$port" --logs "$OUT/$name" --out "$OUT/$name" --progress lines \
        --junit "$OUT/$name/junit.xml" --summary "$OUT/$name/summary.md" \
        --server-env TRUSTED_PROXIES=127.0.0.1 --server-env IDLE_TIMEOUT_SECONDS=3 --server-env LOGIN_MAX_FAILURES=5 \
        --server-env CACHE_PREFIX="abuse-$$-$name:" "$@" || { status=1; verdict=FAIL; }
    report=$(ls "$OUT/$name"/*-"$name".md 2>/dev/null | head -1)
    printf '| %s | %s | %s |\n' "$name" "$verdict" "${report:-–}" >>"$OUT/summary.md"
done
cat "$OUT/summary.md"
exit $status
