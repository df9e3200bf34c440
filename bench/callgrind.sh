# bench/callgrind.sh - instruction counts of the validator, per scanner
# variant: exact and repeatable where timings on a shared machine are not.
# Sourced by bench/run.sh after the timed rows ($data, $csv set); also runs
# alone: bench/callgrind.sh FILE [CSV]
#
# Counts only bench_validate's per-line loop (--toggle-collect), on the
# first 20 MB of the input (whole lines), under valgrind's callgrind.

callgrind_counts() {
    local input=$1 out=$2 slice=bench/out/callgrind-slice.ndjson
    if ! command -v valgrind >/dev/null; then
        echo "bench: valgrind not installed; no instruction counts"
        return 0
    fi
    head -c 20000000 "$input" | sed '$d' >"$slice"
    local sbytes slines
    sbytes=$(stat -c %s "$slice")
    slines=$(wc -l <"$slice")
    printf '\nvalidator instruction counts (callgrind, %d MB, %d lines, one thread)\n\n' \
        $((sbytes / 1000000)) "$slines"
    printf '%-10s %16s %12s %12s %10s\n' scanner instructions "per byte" "per event" "vs scalar"
    local scalar_ir=""
    for simd in scalar sse2 avx2; do
        AMPLOAD_SIMD=$simd build/bench/bench_validate "$slice" 1 >/dev/null 2>&1 || continue
        AMPLOAD_SIMD=$simd valgrind --tool=callgrind --toggle-collect=validate_part \
            --callgrind-out-file=bench/out/callgrind.$simd build/bench/bench_validate "$slice" 1 \
            >/dev/null 2>&1 || { echo "bench: callgrind failed for $simd"; continue; }
        local ir
        ir=$(sed -n 's/^summary: \([0-9]*\).*/\1/p' bench/out/callgrind.$simd)
        [ -z "$scalar_ir" ] && scalar_ir=$ir
        printf '%-10s %16s %12.2f %12.0f %10.2f\n' "$simd" "$ir" \
            "$(awk "BEGIN{print $ir / $sbytes}")" "$(awk "BEGIN{print $ir / $slines}")" \
            "$(awk "BEGIN{print $scalar_ir / $ir}")"
        [ -n "$out" ] && echo "callgrind,validator $simd,1,,,,$(awk "BEGIN{printf \"%.2f\", $scalar_ir / $ir}"),,,,$ir" >>"$out"
    done
    rm -f "$slice"
    printf '\n(vs scalar: how many times fewer instructions than the portable C variant)\n'
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -euo pipefail
    cd "$(dirname "$0")/.."
    mkdir -p bench/out
    callgrind_counts "$1" "${2:-}"
else
    callgrind_counts "$data" "$csv"
fi
