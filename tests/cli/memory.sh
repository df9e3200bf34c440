#!/usr/bin/env bash
# memory.sh - memory stays bounded whatever the event size: 250 events of
# 1 MB (request bodies of ~19.5 MB) into a server that answers after 1 s.
# Bounding requests in flight by count alone let ~300 MB of bodies wait for
# answers; bounded in bytes as well, the loader's anonymous memory stays
# under 200 MB (about 140 MB here with two parser threads, 155 MB with
# --gzip).
# Usage: memory.sh AMPLOAD AMPLOAD_MOCK
set -u
bin=$1
mock=$2
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh"
blob=$(head -c 1000000 /dev/zero | tr '\0' a)
for i in $(seq 1 250); do
    printf '{"event_type":"big","user_id":"user-%05d","event_properties":{"blob":"%s"}}\n' "$i" "$blob"
done >big.ndjson
start_mock slow --latency-ms 1000
# peak_of ARGS...: runs the load with ARGS, sampling its anonymous memory
peak_of() {
    # a fixed mmap threshold: large buffers go back to the system when freed,
    # so resident memory is what is live, not what malloc keeps for later
    MALLOC_MMAP_THRESHOLD_=131072 AMPLITUDE_API_KEY=testkey "$bin" -q --threads 2 \
        --endpoint "$url/batch" --state st --restart \
        --report r.json "$@" big.ndjson &
    local pid=$!
    track $pid
    peak=0
    while kill -0 $pid 2>/dev/null; do
        v=$(sed -n 's/^RssAnon:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$pid/status" 2>/dev/null)
        [ -n "$v" ] && [ "$v" -gt "$peak" ] && peak=$v
        sleep 0.02
    done
    wait $pid
    rc=$?
}
# with --gzip too: the bound counts what a batch holds (body and gzip copy),
# not its smaller size on the wire
for opt in "" --gzip; do
    peak_of $opt
    if [ $rc -eq 0 ] && grep -q '"events_sent": 250' r.json; then ok; else bad "${opt:-plain}: exit $rc: $(cat r.json)"; fi
    echo "peak anonymous memory${opt:+ with $opt}: $((peak / 1024)) MB"
    if [ -n "${ASAN_OPTIONS:-}" ]; then
        echo "(a sanitizer build: its shadow memory and quarantine are not the loader's; bound not checked)"
    elif [ "$peak" -gt 0 ] && [ "$peak" -lt $((200 * 1024)) ]; then
        ok
    else
        bad "peak anonymous memory${opt:+ with $opt} $((peak / 1024)) MB"
    fi
done
rm -f big.ndjson
finish
