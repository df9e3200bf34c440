#!/usr/bin/env bash
# bench/identify.sh - identifications per second into ampload-mock, and what
# --batch-size does to it.
#
#   bench/identify.sh [IDENTIFICATIONS]    default 1000000
#
# Rows, interleaved REPEAT times (default 3), medians:
#   - `ampload identify --dry-run`: read, check, batch and form-encode, no
#     network (the form encoding is in it: it happens where batches close);
#   - `ampload identify` into `ampload-mock --sink` (answers "success"
#     without parsing: the loader's own rate) at --batch-size 100, 500, 1000
#     and 2000, journal and checkpoint on, state on this disk;
#   - for scale, `ampload load` of as many /batch events into the same sink;
#   - once, into the mock that decodes the form and applies every operation
#     (jansson, one lock): the mock's own rate, not the loader's.
# Ratios are against the load of events, measured in the same run. Writes
# bench/out/identify-<time>.csv.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
repeat=${REPEAT:-3}
out=bench/out/identify
bin=build/ampload
[ -x "$bin" ] || { echo "identify: build first (scripts/setup.sh)" >&2; exit 2; }
mkdir -p "$out"
ids=$out/ids-$n.ndjson
events=$out/events-$n.ndjson
[ -s "$ids" ] || build/gen-events --identify -n "$n" --users $((n / 10)) --seed 21 -o "$ids"
[ -s "$events" ] || build/gen-events -n "$n" --seed 21 -o "$events"
cat "$ids" "$events" >/dev/null # warm the page cache
export AMPLITUDE_API_KEY=identify-bench-key-0123456789

start_mock() { # start_mock ARGS...: sets $url and $mock
    build/ampload-mock --port 0 --exit-after 3600 "$@" >"$out/mock.out" 2>/dev/null &
    mock=$!
    for _ in $(seq 50); do grep -q listening "$out/mock.out" && break; sleep 0.1; done
    url=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$out/mock.out")
}
time_of() {
    /usr/bin/time -f "%e" -o "$out/time.txt" "$@" >/dev/null 2>"$out/stderr.txt" ||
        { echo "identify: failed: $*" >&2; cat "$out/stderr.txt" >&2; exit 1; }
    cat "$out/time.txt"
}
start_mock --sink
sink=$url
trap 'kill $mock 2>/dev/null' EXIT
names=("identify --dry-run" "identify, --batch-size 100" "identify, --batch-size 500"
       "identify, --batch-size 1000" "identify, --batch-size 2000" "load of events (2000 per request)")
declare -A runs
for _ in $(seq "$repeat"); do
    runs[${names[0]}]+=" $(time_of "$bin" identify --dry-run -q --restart --state "$out/st-dry" "$ids")"
    for size in 100 500 1000 2000; do
        runs["identify, --batch-size $size"]+=" $(time_of "$bin" identify -q --restart \
            --batch-size "$size" --endpoint "$sink/identify" --state "$out/st-$size" "$ids")"
    done
    runs[${names[5]}]+=" $(time_of "$bin" load -q --restart --endpoint "$sink/batch" \
        --state "$out/st-load" "$events")"
done
kill "$mock"
median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
base=$(echo "${runs[${names[5]}]}" | median)
csv=$out/identify-$(date +%Y%m%d-%H%M%S).csv
echo "row,seconds,per_s,ratio_to_load" >"$csv"
printf '%-36s %9s %14s %8s\n' "$n lines" seconds "lines/s" "vs load"
for name in "${names[@]}"; do
    t=$(echo "${runs[$name]}" | median)
    rate=$(awk "BEGIN{printf \"%.0f\", $n / $t}")
    ratio=$(awk "BEGIN{printf \"%.2f\", $base / $t}")
    printf '%-36s %9s %14s %8s\n' "$name" "$t" "$rate" "$ratio"
    echo "$name,$t,$rate,$ratio" >>"$csv"
done
start_mock
t=$(time_of "$bin" identify -q --restart --endpoint "$url/identify" --state "$out/st-mock" "$ids")
kill "$mock"
rate=$(awk "BEGIN{printf \"%.0f\", $n / $t}")
printf '%-36s %9s %14s\n' "identify into the applying mock" "$t" "$rate"
echo "identify into the applying mock,$t,$rate," >>"$csv"
echo "written: $csv"
