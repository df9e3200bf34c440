#!/usr/bin/env bash
# bench/export.sh - `ampload export` from ampload-mock's Export API, beside
# curl downloading the same window to a file (the disk-speed baseline), at
# two sizes: the peak anonymous memory of ampload must not grow with the
# export (it streams to disk, then reads the zip member by member).
#
#   bench/export.sh [EVENTS]    default 400000 (and 4x that)
#
# One run each (the exports are large); loopback only; the mock stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
base=${1:-400000}
out=bench/out/export
bin=$PWD/build/ampload
mkdir -p "$out"
key=bench-export-key-0123456789abcdef
secret=bench-export-secret

# peak RssAnon (kB) of a command, sampled every 20 ms
peak_anon() {
    "$@" &
    local pid=$! peak=0 v
    while kill -0 $pid 2>/dev/null; do
        v=$(awk '/^RssAnon/ {print $2}' /proc/$pid/status 2>/dev/null || echo 0)
        [ -n "$v" ] && [ "$v" -gt "$peak" ] && peak=$v
        sleep 0.02
    done
    wait $pid
    echo "$peak"
}

printf '\n%-10s %10s %12s %12s %12s %14s\n' events "zip MB" "curl s" "export s" "export/curl" "peak anon MB"
for n in "$base" $((base * 4)); do
    rm -rf "$out/run" && mkdir -p "$out/run"
    build/ampload-mock --port 0 --export --upload-time event --secret-key "$secret" \
        --exit-after 1800 >"$out/mock.out" 2>&1 &
    mock=$!
    for _ in $(seq 50); do grep -q listening "$out/mock.out" && break; sleep 0.1; done
    url=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$out/mock.out")
    build/gen-events -n "$n" --seed 5 --time-step 1 -o "$out/run/events.ndjson"
    AMPLITUDE_API_KEY=$key "$bin" -q --endpoint "$url/batch" --state "$out/run/st" \
        "$out/run/events.ndjson"
    q="start=20231114T22&end=20231114T23"
    t0=$(date +%s.%N)
    curl -s -u "$key:$secret" -o "$out/run/curl.zip" "$url/api/2/export?$q"
    t1=$(date +%s.%N)
    peak=$(AMPLITUDE_API_KEY=$key AMPLITUDE_SECRET_KEY=$secret peak_anon "$bin" export -q \
        --endpoint "$url/api/2/export" --start 20231114T22 --end 20231114T23 -o "$out/run/x")
    t2=$(date +%s.%N)
    zip_mb=$(($(stat -c %s "$out/run/curl.zip") / 1000000))
    awk -v n="$n" -v z="$zip_mb" -v t0="$t0" -v t1="$t1" -v t2="$t2" -v p="$peak" 'BEGIN {
        c = t1 - t0; e = t2 - t1
        printf "%-10d %10d %12.2f %12.2f %12.2f %14.1f\n", n, z, c, e, e / c, p / 1024 }'
    kill "$mock" 2>/dev/null || true
    wait "$mock" 2>/dev/null || true
done
echo "(export: download, unzip, decode and recompress to zstd; curl: the download alone)"
