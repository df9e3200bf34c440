#!/usr/bin/env bash
# bench/wan.sh - a load over a shaped link, with and without --gzip.
#
# A network namespace of its own (made and removed here) whose loopback is
# shaped by `tc qdisc ... tbf rate RATE` (the kernel here has no netem: the
# round trip and the server's time come from `ampload-mock --sink
# --latency-ms LAT`). The mock and the loader both run inside it. Each run
# prints events/s next to the bound computed for that link: the smaller of
#   link bytes/s / wire bytes per event            (the link)
#   window x events per request / request time     (the 64-request window)
# with the request time the run's own median latency. Needs root (ip netns,
# tc from iproute2); everything stops by itself.
#
#   bench/wan.sh [EVENTS] [RATE] [LATENCY_MS]   defaults 500000, 1gbit, 250
set -euo pipefail
cd "$(dirname "$0")/.."
events=${1:-500000}
rate=${2:-1gbit}
lat=${3:-250}
ns=ampload-wan-$$
out=bench/out/wan
bin=$PWD/build/ampload
mock=$PWD/build/ampload-mock
[ -x "$bin" ] && [ -x "$mock" ] || { echo "wan: build first (scripts/setup.sh)" >&2; exit 2; }
command -v tc >/dev/null || { echo "wan: needs tc (iproute2)" >&2; exit 2; }
mkdir -p "$out"
mock_pid=""
cleanup() {
    [ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null
    ip netns del "$ns" 2>/dev/null || true
}
trap cleanup EXIT

[ -s "$out/events.ndjson" ] && [ "$(wc -l <"$out/events.ndjson")" -eq "$events" ] ||
    build/gen-events -n "$events" --seed 11 -o "$out/events.ndjson"
ip netns add "$ns"
ip -n "$ns" link set lo up
# burst of 4 MB: about 30 ms at 1 Gbit/s, enough for the token bucket not to
# starve a few large bodies arriving together
ip netns exec "$ns" tc qdisc add dev lo root tbf rate "$rate" burst 4mb latency 100ms
ip netns exec "$ns" "$mock" --port 0 --sink --latency-ms "$lat" --exit-after 900 \
    >"$out/mock.out" 2>&1 &
mock_pid=$!
for _ in $(seq 50); do grep -q listening "$out/mock.out" && break; sleep 0.1; done
url=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$out/mock.out")
rate_bps=$(ip netns exec "$ns" tc -j qdisc show dev lo |
    sed -n 's/.*"rate":\([0-9]*\).*/\1/p' | head -1)

field() { sed -n "s/.*\"$2\": \([0-9.]*\).*/\1/p" "$1" | head -1; }
p50() { sed -n 's/.*"latency_ms": {"p50": \([0-9]*\).*/\1/p' "$1"; }

printf '%-8s %10s %12s %14s %14s %14s %8s\n' run seconds events/s "wire B/event" \
    "link bound" "window bound" "of bound"
for gz in "" --gzip; do
    rm -rf "$out/state"
    timeout 600 ip netns exec "$ns" env AMPLITUDE_API_KEY=wan-bench "$bin" -q $gz \
        --endpoint "$url/batch" --state "$out/state" --report "$out/report$gz.json" \
        "$out/events.ndjson"
    r=$out/report$gz.json
    awk -v s="$(field "$r" elapsed_s)" -v ev="$(field "$r" events_sent)" \
        -v by="$(field "$r" bytes_sent)" -v rq="$(field "$r" batches_sent)" \
        -v lat="$(p50 "$r")" -v bps="$rate_bps" -v name="${gz:-plain}" 'BEGIN {
        eps = ev / s; per = by / ev; link = bps / per
        window = 64 * (ev / rq) / (lat / 1000); bound = link < window ? link : window
        printf "%-8s %10.2f %12.0f %14.1f %14.0f %14.0f %7.0f%%%s\n", name, s, eps, per,
               link, window, 100 * eps / bound, window < link ? "  (the window binds)" : ""
    }'
done
