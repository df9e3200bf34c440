#!/usr/bin/env bash
# bench/s3.sh - reading from a bucket against reading the same bytes from
# local disk, in the same run: a dry run of one object on s3rver (behind the
# SigV4-checking front of tests/s3, on loopback) and of the same file on
# disk, interleaved, medians; and the peak anonymous memory of the object
# read, for an object of each size given (it must stay flat).
#   bench/s3.sh [BUILD_DIR] [SIZES_MB...]      (default build, 100 400; tests/s3/put.js
# uploads an object in one request, which times out near 1 GB on s3rver)
# Needs: npm ci --prefix tests/s3
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$here/build}
shift || true
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100 400)
rounds=${ROUNDS:-3}
tmp=$(mktemp -d)
export S3_TEST_ACCESS_KEY=AKIDBENCH S3_TEST_SECRET_KEY=bench-secret S3_TEST_LIFETIME=3600
export AWS_ACCESS_KEY_ID=$S3_TEST_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_TEST_SECRET_KEY
trap 'bash "$here/tests/s3/stop.sh" "$tmp/srv" 2>/dev/null; rm -rf "$tmp"' EXIT
bash "$here/tests/s3/start.sh" "$tmp/srv" >/dev/null
url=http://127.0.0.1:$(cat "$tmp/srv/front.port")
node "$here/tests/s3/put.js" --endpoint "$url" --create-bucket bench >/dev/null

# peak anonymous RSS (MB) of a command, sampled every 50 ms; its wall time
run_peak() {
    local t0 t1 pid peak=0 kb
    t0=$(date +%s.%N)
    "$@" >/dev/null 2>&1 &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        kb=$(awk '/^RssAnon:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
        [ -n "$kb" ] && [ "$kb" -gt "$peak" ] && peak=$kb
        sleep 0.05
    done
    wait "$pid"
    t1=$(date +%s.%N)
    echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b - a}') $((peak / 1024))"
}
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END{print v[int((NR+1)/2)]}'; }

for mb in "${sizes[@]}"; do
    events=$((mb * 2200)) # ~450 bytes an event
    "$build/gen-events" -n "$events" -o "$tmp/e.ndjson"
    node "$here/tests/s3/put.js" --endpoint "$url" --bucket bench --key "e$mb.ndjson" \
        --file "$tmp/e.ndjson" >/dev/null
    bytes=$(stat -c %s "$tmp/e.ndjson")
    local_t=()
    obj_t=()
    obj_mem=()
    for _ in $(seq "$rounds"); do
        rm -rf "$tmp/st"
        read -r t _ < <(run_peak "$build/ampload" --dry-run -q --state "$tmp/st" "$tmp/e.ndjson")
        local_t+=("$t")
        rm -rf "$tmp/st"
        read -r t m < <(run_peak "$build/ampload" --dry-run -q --state "$tmp/st" \
            --s3-endpoint "$url" "s3://bench/e$mb.ndjson")
        obj_t+=("$t")
        obj_mem+=("$m")
    done
    lt=$(median "${local_t[@]}")
    ot=$(median "${obj_t[@]}")
    echo "$((bytes / 1000000)) MB: local ${lt} s, object ${ot} s; object/local speed $(awk -v a="$lt" -v b="$ot" 'BEGIN{printf "%.2f", a / b}'); object read's peak anonymous memory $(median "${obj_mem[@]}") MB (medians of $rounds)"
    rm -f "$tmp/e.ndjson" "$tmp/srv/data/bench/e$mb.ndjson"* 2>/dev/null || true
done
