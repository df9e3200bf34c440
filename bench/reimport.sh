#!/usr/bin/env bash
# bench/reimport.sh - what the export mapping costs: one file of rows in the
# shape of Amplitude's Export API (gen-events --export), loaded with
# --dry-run as it is and with --from amplitude-export (the same lines, the
# same number of events), and the mapped events written out and loaded
# plain, for scale.
#
#   bench/reimport.sh [EVENTS]    default 500000
#
# Runs are interleaved REPEAT times (default 3); medians. Prints each row's
# speed as a ratio of the plain dry run of the export rows, and writes
# bench/out/reimport-<time>.csv.
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-500000}
repeat=${REPEAT:-3}
out=bench/out/reimport
bin=build/ampload
[ -x "$bin" ] || { echo "reimport: build first (scripts/setup.sh)" >&2; exit 2; }
mkdir -p "$out"
rows=$out/export-$events.ndjson
[ -s "$rows" ] || build/gen-events -n "$events" --seed 9 --export -o "$rows"
# the mapped events, as the mock records them: what a plain load would read
mapped=$out/mapped-$events.ndjson
if [ ! -s "$mapped" ]; then
    build/ampload-mock --port 0 --record "$mapped" >"$out/mock.out" 2>&1 &
    mock=$!
    for _ in $(seq 50); do grep -q listening "$out/mock.out" && break; sleep 0.1; done
    url=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$out/mock.out")
    AMPLITUDE_API_KEY=reimport-bench-key-0123456789 "$bin" -q --restart --from amplitude-export \
        --endpoint "$url/batch" --state "$out/state-send" "$rows"
    kill "$mock"
    wait "$mock" 2>/dev/null || true
fi
cat "$rows" "$mapped" >/dev/null # warm the page cache

time_of() {
    /usr/bin/time -f "%e" -o "$out/time.txt" "$@" >/dev/null 2>"$out/stderr.txt" ||
        { echo "reimport: failed: $*" >&2; cat "$out/stderr.txt" >&2; exit 1; }
    cat "$out/time.txt"
}
declare -A runs
names=("export rows, dry run as they are" "export rows, --from amplitude-export"
       "the mapped events, dry run")
for _ in $(seq "$repeat"); do
    runs[${names[0]}]+=" $(time_of "$bin" --dry-run -q --threads 2 --state "$out/state" "$rows")"
    runs[${names[1]}]+=" $(time_of "$bin" --dry-run -q --threads 2 --from amplitude-export \
        --state "$out/state" "$rows")"
    runs[${names[2]}]+=" $(time_of "$bin" --dry-run -q --threads 2 --state "$out/state" "$mapped")"
done
median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
base=$(echo "${runs[${names[0]}]}" | median)
csv=$out/reimport-$(date -u +%Y%m%dT%H%M%SZ).csv
echo "configuration,seconds,events_per_s,speed_vs_plain_dry_run" >"$csv"
printf '\nre-import: %d export rows (%d MB; mapped: %d MB), median of %d, 2 threads\n\n' "$events" \
    $(($(stat -c %s "$rows") / 1000000)) $(($(stat -c %s "$mapped") / 1000000)) "$repeat"
printf '%-40s %8s %12s %10s\n' configuration seconds events/s "vs plain"
for name in "${names[@]}"; do
    s=$(echo "${runs[$name]}" | median)
    eps=$(awk "BEGIN{printf \"%.0f\", $events / $s}")
    ratio=$(awk "BEGIN{printf \"%.2f\", $base / $s}")
    printf '%-40s %8s %12s %10s\n' "$name" "$s" "$eps" "$ratio"
    echo "$name,$s,$eps,$ratio" >>"$csv"
done
echo "CSV: $csv"
