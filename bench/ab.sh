#!/usr/bin/env bash
# bench/ab.sh - two builds of ampload on the same end-to-end load, their runs
# interleaved (A B A B ...) so that a noisy machine weighs on both alike:
# ampload-mock --sink on loopback, N events from gen-events, wall time of
# each run; prints every run and the medians, and B/A.
#   bench/ab.sh OLD_AMPLOAD NEW_AMPLOAD [ROUNDS] [EVENTS]
# The mock and gen-events of the NEW build's tree are used for both.
set -euo pipefail
a=$1
b=$2
rounds=${3:-3}
events=${4:-2000000}
here=$(cd "$(dirname "$0")/.." && pwd)
bin=$(dirname "$b")
tmp=$(mktemp -d)
mock_pid=""
cleanup() {
    [ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null && wait "$mock_pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
"$bin/gen-events" -n "$events" -o "$tmp/events.ndjson"
"$bin/ampload-mock" --port 0 --sink --exit-after 3600 >"$tmp/mock.out" 2>/dev/null &
mock_pid=$!
for _ in $(seq 100); do
    grep -q listening "$tmp/mock.out" && break
    sleep 0.05
done
url=$(sed -n 's/.*listening on //p' "$tmp/mock.out")/batch
run() { # run BIN LABEL: prints the wall seconds
    rm -rf "$tmp/state"
    local t0 t1
    t0=$(date +%s.%N)
    AMPLITUDE_API_KEY=bench-key-123 "$1" -q --endpoint "$url" --state "$tmp/state" \
        "$tmp/events.ndjson"
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f\n", b - a}'
}
cat "$tmp/events.ndjson" >/dev/null # in the page cache for both
ta=()
tb=()
for r in $(seq "$rounds"); do
    ta+=("$(run "$a")")
    tb+=("$(run "$b")")
    echo "round $r: A ${ta[-1]} s, B ${tb[-1]} s"
done
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END{print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
ma=$(median "${ta[@]}")
mb=$(median "${tb[@]}")
echo "events $events, $(du -m "$tmp/events.ndjson" | cut -f1) MB; medians of $rounds: A $ma s, B $mb s; B/A $(awk -v a="$ma" -v b="$mb" 'BEGIN{printf "%.3f", b / a}')"
