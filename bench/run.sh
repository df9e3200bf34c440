#!/usr/bin/env bash
# bench/run.sh - dry-run throughput of the read path, side by side with the
# machine's own limits measured in the same run.
#
#   bench/run.sh [SIZE_MB]     (default 1100: a file of at least 1 GB)
#
# Then, end to end (bench/e2e.sh): ampload into ampload-mock --sink and into
# nginx answering a fixed 200 (installed here when missing), next to a Python
# loader of the usual kind (scripts/baseline_loader.py) into the same sinks;
# peak anonymous memory; allocation counts; throttling (bench/throttle.sh);
# and the validator's instruction counts per scanner variant (bench/callgrind.sh).
# Everything goes to 127.0.0.1 only. Results: bench/out/bench-<time>.csv and
# a chart, bench/out/bench.png.
#
# Generates bench/data/events-<SIZE>MB.ndjson (and its .zst) once, warms the
# page cache, then times each configuration REPEAT times (default 3) and keeps
# the fastest run. Prints a table and writes bench/out/dryrun-<time>.csv.
# Rows:
#   cat FILE > /dev/null          reading a cached file (the kernel may skip the copy)
#   wc -l FILE                    reading and looking at every byte once
#   zstd -dc FILE.zst > /dev/null decompression alone: the ceiling for zstd input
#   validator alone (1, 2 thr)    bench_validate: scanner + rules on mapped memory
#   validator alone (avx2/sse2/scalar)  each scanner variant, one thread
#   ampload --dry-run plain/zstd  the whole read path: read, validate, batch
set -euo pipefail
cd "$(dirname "$0")/.."
size_mb=${1:-1100}
repeat=${REPEAT:-3}

scripts/setup.sh >/dev/null
need=()
command -v nginx >/dev/null || need+=(nginx-light)
command -v gnuplot >/dev/null || need+=(gnuplot-nox)
command -v python3 >/dev/null || need+=(python3)
command -v valgrind >/dev/null || need+=(valgrind)
if [ ${#need[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
        --no-install-recommends "${need[@]}" >/dev/null || echo "bench: could not install ${need[*]}"
    # the package's own nginx service is not ours
    command -v systemctl >/dev/null && $sudo systemctl stop nginx 2>/dev/null || true
fi

mkdir -p bench/data bench/out
data=bench/data/events-${size_mb}MB.ndjson
if [ ! -s "$data" ]; then
    n=$((size_mb * 1000000 / 455))
    echo "bench: generating $data ($n events)"
    build/gen-events -n "$n" --seed 42 --bad-rate 0.001 -o "$data.tmp"
    mv "$data.tmp" "$data"
fi
if [ ! -s "$data.zst" ]; then
    echo "bench: compressing $data.zst"
    zstd -q -T0 -3 "$data" -o "$data.zst"
fi
bytes=$(stat -c %s "$data")
lines=$(build/ampload --dry-run -q --threads 2 --state bench/out/state --report bench/out/count.json "$data" &&
        grep -o '"lines_read": [0-9]*' bench/out/count.json | grep -o '[0-9]*$')
cat "$data" "$data.zst" >/dev/null # warm the page cache

# best_of NAME THREADS CMD...: run CMD $repeat times; record the fastest.
results=()
best_of() {
    local name=$1 threads=$2
    shift 2
    local best="" cpu="" rss=""
    for _ in $(seq "$repeat"); do
        /usr/bin/time -f "%e %U %S %M" -o bench/out/time.txt "$@" >/dev/null 2>bench/out/stderr.txt ||
            { echo "bench: $name failed:"; cat bench/out/stderr.txt; exit 1; }
        read -r wall user sys maxrss <bench/out/time.txt
        if [ -z "$best" ] || awk "BEGIN{exit !($wall < $best)}"; then
            best=$wall
            cpu=$(awk "BEGIN{print $user + $sys}")
            rss=$((maxrss / 1024))
        fi
    done
    results+=("$name,$threads,$best,$cpu,$rss")
}

# validate_best THREADS [SIMD]: the validator's own timing (excludes mapping
# the file), with the best scanner variant or the one named.
validate_best() {
    local threads=$1 simd=${2:-auto} best="" label="validator alone"
    [ "$simd" != auto ] && label="validator alone ($simd)"
    AMPLOAD_SIMD=$simd build/bench/bench_validate "$data" 1 >/dev/null 2>&1 || return 0
    for _ in $(seq "$repeat"); do
        s=$(AMPLOAD_SIMD=$simd build/bench/bench_validate "$data" "$threads" |
            sed 's/.*seconds=\([0-9.]*\).*/\1/')
        if [ -z "$best" ] || awk "BEGIN{exit !($s < $best)}"; then best=$s; fi
    done
    results+=("$label,$threads,$best,,")
}

state=bench/out/state
best_of "cat FILE > /dev/null" 1 cat "$data"
best_of "wc -l FILE" 1 wc -l "$data"
best_of "zstd -dc FILE.zst > /dev/null" 1 zstd -dc "$data.zst"
validate_best 1
validate_best 2
validate_best 1 avx2
validate_best 1 sse2
validate_best 1 scalar
best_of "ampload --dry-run (plain)" 1 build/ampload --dry-run -q --threads 1 --state $state "$data"
best_of "ampload --dry-run (plain)" 2 build/ampload --dry-run -q --threads 2 --state $state "$data"
best_of "ampload --dry-run (zstd)" 1 build/ampload --dry-run -q --threads 1 --state $state "$data.zst"
best_of "ampload --dry-run (zstd)" 2 build/ampload --dry-run -q --threads 2 --state $state "$data.zst"

csv=bench/out/bench-$(date -u +%Y%m%dT%H%M%SZ).csv
echo "section,configuration,threads,seconds,events_per_s,mb_per_s,ratio,cpu_s,peak_rss_mb,anon_rss_mb,instructions" >"$csv"
cat_s=$(echo "${results[0]}" | cut -d, -f3)
printf '\nampload dry-run benchmark: %s (%d MB, %d lines), %s, %d cores, best of %d\n\n' \
    "$data" $((bytes / 1000000)) "$lines" "$(uname -m)" "$(nproc)" "$repeat"
printf '%-32s %7s %8s %12s %8s %8s %7s %9s\n' configuration threads seconds events/s MB/s "vs cat" "CPU s" "RSS MB"
for r in "${results[@]}"; do
    IFS=, read -r name threads secs cpu rss <<<"$r"
    eps=$(awk "BEGIN{printf \"%.0f\", $lines / $secs}")
    mbs=$(awk "BEGIN{printf \"%.0f\", $bytes / $secs / 1e6}")
    ratio=$(awk "BEGIN{printf \"%.2f\", $cat_s / $secs}")
    printf '%-32s %7s %8s %12s %8s %8s %7s %9s\n' "$name" "$threads" "$secs" "$eps" "$mbs" "$ratio" "${cpu:--}" "${rss:--}"
    echo "read,$name,$threads,$secs,$eps,$mbs,$ratio,$cpu,$rss," >>"$csv"
done
printf '\n(vs cat: throughput as a fraction of reading the cached file with cat; MB/s counts\n uncompressed bytes for every row.)\n'

# shellcheck source=bench/e2e.sh
. bench/e2e.sh
# shellcheck source=bench/throttle.sh
. bench/throttle.sh
# shellcheck source=bench/callgrind.sh
. bench/callgrind.sh

# A chart of events/s per configuration.
command -v gnuplot >/dev/null && bench/plot.sh "$csv"
echo "CSV: $csv"
