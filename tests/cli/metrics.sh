#!/usr/bin/env bash
# metrics.sh - --metrics-port: /metrics (Prometheus text format) and /status
# (JSON) scraped while a load into ampload-mock runs; counters only grow,
# the figures agree with the final report, a port in use is refused before
# anything is sent.
# Usage: metrics.sh AMPLOAD AMPLOAD_MOCK GEN_EVENTS
set -u
bin=$1
mock=$2
gen=$3
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh"
start_mock mock --latency-ms 100
"$gen" -n 40000 --seed 8 -o in.ndjson
export AMPLITUDE_API_KEY=metrics-key

# ~80 requests of 500 events, two at a time, 100 ms each: about 4 s of run
"$bin" --endpoint "$url/batch" --state st --report report.json --batch-events 500 \
    --concurrency 2 --metrics-port 0 in.ndjson 2>run.err &
lpid=$!
track $lpid
for _ in $(seq 50); do grep -qs "metrics on" run.err && break; sleep 0.1; done
port=$(sed -n 's/.*metrics on http:\/\/127\.0\.0\.1:\([0-9]*\)\/metrics.*/\1/p' run.err)
[ -n "$port" ] && ok || bad "no 'metrics on' line: $(cat run.err)"

# the first scrape once something was acknowledged (a slow build - the
# sanitizers - takes a while to get there)
for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/metrics" -D m1.hdr -o m1.txt || break
    grep -q '^ampload_events_sent_total [1-9]' m1.txt && break
    sleep 0.1
done
[ -s m1.txt ] || bad "first scrape failed"
sleep 1
curl -sf "http://127.0.0.1:$port/metrics" -o m2.txt || bad "second scrape failed"
curl -sf "http://127.0.0.1:$port/status" -o status.json || bad "status failed"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/other")
[ "$code" = 404 ] && ok || bad "/other answered $code, want 404"
wait $lpid
rc=$?
[ $rc -eq 0 ] && ok || bad "the run exited $rc: $(tail -3 run.err)"

# text format 0.0.4: HELP and TYPE for each metric, then "name{labels} value"
grep -qi '^Content-Type: text/plain; version=0.0.4' m1.hdr && ok || bad "content type: $(cat m1.hdr)"
if grep -v '^# \(HELP\|TYPE\) ampload_[a-z0-9_]* ' m1.txt |
    grep -qvE '^ampload_[a-z0-9_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [0-9.e+-]+$'; then
    bad "lines outside the text format:"; grep -v '^#' m1.txt | head -5
else
    ok
fi
val() { sed -n "s/^$2 \([0-9.e+-]*\)$/\1/p" "$1"; }
for name in ampload_events_sent_total ampload_requests_total ampload_input_lines_total \
    ampload_requests_in_flight ampload_concurrency_window ampload_http_429_total \
    ampload_events_failed_total ampload_events_rejected_total ampload_input_size_bytes; do
    [ -n "$(val m1.txt $name)" ] && ok || bad "$name missing"
done
[ "$(val m1.txt ampload_running)" = 1 ] && ok || bad "ampload_running is not 1 during the run"
s1=$(val m1.txt ampload_events_sent_total)
s2=$(val m2.txt ampload_events_sent_total)
awk -v a="$s1" -v b="$s2" 'BEGIN { exit !(a > 0 && b > a && b < 40000) }' && ok ||
    bad "events_sent_total did not grow during the run: $s1 then $s2"

# /status: JSON with the run's state, progress in [0,1], the same counters
python3 - status.json <<'EOF' && ok || bad "status: $(cat status.json)"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["state"] == "running", s["state"]
assert 0 <= s["progress"] <= 1, s["progress"]
assert 0 < s["events_sent"] < 40000 and s["requests"] > 0, s
assert s["in_flight"] <= 2 and s["total_bytes"] > 0, s
EOF

# the figures agree with the report: requests counted the same way
req=$(python3 -c 'import json; print(json.load(open("report.json"))["requests"])')
r2=$(val m2.txt ampload_requests_total)
awk -v a="$r2" -v b="$req" 'BEGIN { exit !(a <= b) }' && ok || bad "requests $r2 > report's $req"

# a port in use: refused before any event is sent (exit 2)
python3 -c 'import socket,time; s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(); print(s.getsockname()[1], flush=True); time.sleep(60)' >busy.port &
track $!
for _ in $(seq 50); do [ -s busy.port ] && break; sleep 0.1; done
"$bin" --endpoint "$url/batch" --state st2 --metrics-port "$(cat busy.port)" in.ndjson 2>busy.err
rc=$?
if [ $rc -eq 2 ] && grep -q "cannot listen on 127.0.0.1:$(cat busy.port)" busy.err; then ok; else
    bad "port in use: exit $rc: $(cat busy.err)"; fi
AMPLOAD_METRICS_PORT=http "$bin" --endpoint "$url/batch" in.ndjson 2>env.err
[ $? -eq 2 ] && grep -q "AMPLOAD_METRICS_PORT: 'http' is not a number" env.err && ok ||
    bad "bad AMPLOAD_METRICS_PORT: $(cat env.err)"
accepted=$(curl -s "$url/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["accepted"])')
[ "$accepted" = 40000 ] && ok || bad "the mock accepted $accepted events, want 40000"

finish
