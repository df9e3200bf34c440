#!/usr/bin/env bash
# bench/scaleout.sh - what N copies cost against one, by input and by device.
#
#   bench/scaleout.sh [EVENTS] [N]      default 1200000 events, 4 copies
#
# The inputs: one large plain file (half the events), four plain files and a
# zstd file. Each row loads all of them into `ampload-mock --sink`: one copy;
# N copies by input (--shard I/N); N copies by device (--shard-by device).
# For each: wall time until the last copy ends, total CPU seconds (user +
# system) of the copies, and the bytes they read together. Rows are
# interleaved REPEAT times (default 3), medians, ratios against one copy of
# the same run. With sbatch on PATH and SLURM_CONF set (a cluster), also the
# wall time of scripts/slurm/ampload-array.sbatch as an N-task array.
# Every copy runs with --threads THREADS (default 1): N copies of two parser
# threads each on this 2-core machine would oversubscribe the cores, and the
# waiting would be counted as CPU that copies on machines of their own do not
# spend. Writes bench/out/scaleout-<time>.csv.
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-1200000}
n=${2:-4}
repeat=${REPEAT:-3}
out=bench/out/scaleout
bin=$PWD/build/ampload
[ -x "$bin" ] || { echo "scaleout: build first (scripts/setup.sh)" >&2; exit 2; }
mkdir -p "$out"
if [ ! -s "$out/large.ndjson" ]; then
    build/gen-events -n $((events / 2)) --seed 71 -o "$out/large.ndjson"
    for k in 1 2 3 4; do build/gen-events -n $((events / 10)) --seed $((71 + k)) -o "$out/part-$k.ndjson"; done
    build/gen-events -n $((events / 10)) --seed 79 | zstd -q -o "$out/packed.ndjson.zst"
fi
inputs=("$out"/large.ndjson "$out"/part-*.ndjson "$out"/packed.ndjson.zst)
cat "${inputs[@]}" >/dev/null
export AMPLITUDE_API_KEY=scaleout-bench-key-0123456789
build/ampload-mock --port 0 --sink --exit-after 3600 >"$out/mock.out" 2>/dev/null &
mock=$!
trap 'kill $mock 2>/dev/null' EXIT
for _ in $(seq 50); do grep -q listening "$out/mock.out" && break; sleep 0.1; done
url=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$out/mock.out")/batch

# run COPIES EXTRA...: COPIES copies side by side; prints "wall cpu bytes"
run() {
    local copies=$1 t0 t1 cpu=0 bytes=0
    shift
    rm -rf "$out"/st-* "$out"/rep-*.json
    t0=$(date +%s.%N)
    for ((i = 0; i < copies; i++)); do
        local shard=()
        [ "$copies" -gt 1 ] && shard=(--shard "$i/$copies")
        /usr/bin/time -f "%U %S" -o "$out/time-$i.txt" "$bin" -q --threads "${THREADS:-1}" \
            --endpoint "$url" "${shard[@]}" "$@" \
            --state "$out/st-$i" --report "$out/rep-$i.json" "${inputs[@]}" &
    done
    wait $(jobs -p | grep -v "^$mock$") 2>/dev/null || true
    t1=$(date +%s.%N)
    for ((i = 0; i < copies; i++)); do
        cpu=$(awk -v c="$cpu" '{print c + $1 + $2}' "$out/time-$i.txt")
        bytes=$((bytes + $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["bytes_read"])' "$out/rep-$i.json")))
    done
    echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b - a}') $cpu $bytes"
}
names=("one copy" "$n copies by input" "$n copies by device")
declare -A walls cpus bytes
for _ in $(seq "$repeat"); do
    read -r w c b <<<"$(run 1)"
    walls[${names[0]}]+=" $w"; cpus[${names[0]}]+=" $c"; bytes[${names[0]}]=$b
    read -r w c b <<<"$(run "$n")"
    walls[${names[1]}]+=" $w"; cpus[${names[1]}]+=" $c"; bytes[${names[1]}]=$b
    read -r w c b <<<"$(run "$n" --shard-by device)"
    walls[${names[2]}]+=" $w"; cpus[${names[2]}]+=" $c"; bytes[${names[2]}]=$b
done
median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
w1=$(echo "${walls[${names[0]}]}" | median)
c1=$(echo "${cpus[${names[0]}]}" | median)
csv=$out/scaleout-$(date +%Y%m%d-%H%M%S).csv
echo "row,wall_s,cpu_s,cpu_ratio,bytes_read,bytes_ratio" >"$csv"
printf '%-24s %8s %8s %10s %14s %10s\n' "$events events" "wall s" "CPU s" "CPU/one" "bytes read" "bytes/one"
for name in "${names[@]}"; do
    w=$(echo "${walls[$name]}" | median)
    c=$(echo "${cpus[$name]}" | median)
    cr=$(awk -v a="$c" -v b="$c1" 'BEGIN{printf "%.2f", a / b}')
    br=$(awk -v a="${bytes[$name]}" -v b="${bytes[${names[0]}]}" 'BEGIN{printf "%.2f", a / b}')
    printf '%-24s %8s %8s %10s %14s %10s\n' "$name" "$w" "$c" "$cr" "${bytes[$name]}" "$br"
    echo "$name,$w,$c,$cr,${bytes[$name]},$br" >>"$csv"
done
if command -v sbatch >/dev/null && [ -n "${SLURM_CONF:-}" ]; then
    rm -rf "$out/slurm"
    t0=$(date +%s.%N)
    AMPLOAD=$bin AMPLOAD_SHARDS=$n AMPLOAD_STATE_ROOT=$PWD/$out/slurm AMPLOAD_ARGS="-q --endpoint $url" \
        sbatch --array=0-$((n - 1)) --wait --output="$PWD/$out/slurm-%A_%a.log" \
        scripts/slurm/ampload-array.sbatch "${inputs[@]}" >/dev/null
    t1=$(date +%s.%N)
    w=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b - a}')
    printf '%-24s %8s   (submission to the end of the last task)\n' "Slurm array of $n" "$w"
    echo "Slurm array of $n,$w,,,," >>"$csv"
fi
echo "written: $csv"
