#!/usr/bin/env bash
# bench/formats.sh - the input decoders side by side: one set of generated
# events as plain NDJSON, zstd, gzip, and a zip in Amplitude's export layout
# (gzipped members inside a zip), each loaded with --dry-run, next to the
# command-line decoders reading the same files (zstd -dc, igzip -dc, gzip -dc).
#
#   bench/formats.sh [EVENTS] [MEMBERS]    defaults 500000 events, 24 members
#
# Runs are interleaved (plain, zstd, gzip, zip, then again) REPEAT times
# (default 3) and the median of each is kept: the machine is shared, so the
# ratios of one run matter, not the seconds. Prints a table with each row's
# time as a ratio of the zstd dry run, and writes bench/out/formats-<time>.csv.
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-500000}
members=${2:-24}
repeat=${REPEAT:-3}
out=bench/out/formats
bin=build/ampload
[ -x "$bin" ] || { echo "formats: build first (scripts/setup.sh)" >&2; exit 2; }
command -v igzip >/dev/null || {
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get install -y -qq --no-install-recommends isal >/dev/null ||
        echo "formats: igzip (package isal) not installed: its row is skipped"
}
mkdir -p "$out"
data=$out/events-$events.ndjson
if [ ! -s "$data" ]; then
    build/gen-events -n "$events" --seed 7 --bad-rate 0.001 -o "$data.tmp"
    mv "$data.tmp" "$data"
fi
[ -s "$data.zst" ] || zstd -q -3 "$data" -o "$data.zst"
[ -s "$data.gz" ] || gzip -6 -c "$data" >"$data.gz"
# the export layout: MEMBERS gzipped pieces, cut at line ends, stored in the zip
[ -s "$data.zip" ] || python3 - "$data" "$members" <<'EOF'
import gzip, sys, zipfile
path, parts = sys.argv[1], int(sys.argv[2])
text = open(path, "rb").read()
with zipfile.ZipFile(path + ".zip", "w") as z:
    at = 0
    for k in range(parts):
        end = len(text) if k == parts - 1 else text.index(b"\n", at + (len(text) - at) // (parts - k)) + 1
        z.writestr("123/123_2026-01-01_%d#0.json.gz" % k, gzip.compress(text[at:end], 6),
                   compress_type=zipfile.ZIP_STORED)
        at = end
EOF
cat "$data" "$data.zst" "$data.gz" "$data.zip" >/dev/null # warm the page cache
bytes=$(stat -c %s "$data")

# time_of CMD...: wall seconds of one run, output discarded
time_of() {
    /usr/bin/time -f "%e" -o "$out/time.txt" "$@" >/dev/null 2>"$out/stderr.txt" ||
        { echo "formats: failed: $*" >&2; cat "$out/stderr.txt" >&2; exit 1; }
    cat "$out/time.txt"
}
dry() { time_of "$bin" --dry-run -q --threads 2 --state "$out/state" "$1"; }

declare -A runs
names=("zstd -dc FILE.zst" "igzip -dc FILE.gz" "gzip -dc FILE.gz" "dry run: plain" "dry run: zstd"
       "dry run: gzip" "dry run: zip (gzip members)")
for _ in $(seq "$repeat"); do
    runs["zstd -dc FILE.zst"]+=" $(time_of zstd -dc "$data.zst")"
    command -v igzip >/dev/null && runs["igzip -dc FILE.gz"]+=" $(time_of igzip -dc "$data.gz")"
    runs["gzip -dc FILE.gz"]+=" $(time_of gzip -dc "$data.gz")"
    runs["dry run: plain"]+=" $(dry "$data")"
    runs["dry run: zstd"]+=" $(dry "$data.zst")"
    runs["dry run: gzip"]+=" $(dry "$data.gz")"
    runs["dry run: zip (gzip members)"]+=" $(dry "$data.zip")"
done
median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
base=$(echo "${runs["dry run: zstd"]}" | median)
csv=$out/formats-$(date -u +%Y%m%dT%H%M%SZ).csv
echo "configuration,seconds,mb_per_s,zstd_dry_run_time_over_this" >"$csv"
printf '\ninput formats: %d events, %d MB plain, %d members in the zip, median of %d, 2 threads\n\n' \
    "$events" $((bytes / 1000000)) "$members" "$repeat"
printf '%-30s %8s %8s %20s\n' configuration seconds "MB/s" "speed vs zstd dry run"
for name in "${names[@]}"; do
    [ -n "${runs[$name]:-}" ] || continue
    s=$(echo "${runs[$name]}" | median)
    mbs=$(awk "BEGIN{printf \"%.0f\", $bytes / $s / 1e6}")
    ratio=$(awk "BEGIN{printf \"%.2f\", $base / $s}")
    printf '%-30s %8s %8s %20s\n' "$name" "$s" "$mbs" "$ratio"
    echo "$name,$s,$mbs,$ratio" >>"$csv"
done
printf '\n(MB/s counts decompressed bytes; sizes: zstd %d MB, gzip %d MB, zip %d MB)\n' \
    $(($(stat -c %s "$data.zst") / 1000000)) $(($(stat -c %s "$data.gz") / 1000000)) \
    $(($(stat -c %s "$data.zip") / 1000000))
echo "CSV: $csv"
