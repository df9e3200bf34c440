#!/usr/bin/env bash
# safety.sh - a user's ordinary mistake must cost nothing: a wrong key, an
# endpoint that cannot be reached, an output path that cannot be written;
# and the counts of interrupted and resumed runs must add up, and --rate
# must hold from the first second.
#   1. a refused key (load and identify) stops the run with exit 4 without
#      resolving any event: nothing in the failed file, the checkpoint only
#      past what was acknowledged; the same command with the right key then
#      delivers everything, once
#   2. an endpoint never reached (connection refused, a name that does not
#      resolve) is a configuration error after at most 30 s (or --retry-time):
#      exit 4 with the cause, the progress line names the last error, nothing
#      failed; once a connection was made, failures are retried as before
#   5. a --report or --audit path that cannot be written, or that is one of
#      the run's own files (key file, state file), is refused before the
#      first request
#   7. a run interrupted and resumed: events_sent of both runs minus the
#      resumed run's resent_after_resume is the number of events; no "is
#      empty" warning for a finished input or another shard's; MB/s the same
#      in the summary and the report
#   8. --rate: no one-second window of request starts holds more than the
#      rate plus one batch, the first second included
# Usage: safety.sh AMPLOAD AMPLOAD_MOCK GEN_EVENTS
set -u
bin=$1
mock=$2
gen=$3
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh"
check() { if [ "$1" = 0 ]; then ok; else bad "$2"; fi; }
field() { sed -n "s/.*\"$2\": \([0-9a-z.]*\).*/\1/p" "$1" | head -1; }
stat_of() { curl -s "$1/stats" | sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p"; }
# a loopback port nobody listens on (bound, then closed again)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
"$gen" -n 20000 --seed 21 -o in.ndjson
"$gen" --identify -n 3000 --users 500 --seed 22 -o ids.ndjson
good=goodkey-0123456789
wrong=wrongkey-9876543210

# 2a (in the background: it takes the default 30 s): a closed port, no
# --retry-time: exit 4 within the default bound
closed=$(free_port)
(
    t0=$(date +%s.%N)
    AMPLITUDE_API_KEY=$good "$bin" -q --endpoint "http://127.0.0.1:$closed/batch" \
        --state st.default in.ndjson 2>default.err
    echo "$? $(python3 -c "import sys; print(round($(date +%s.%N) - $t0, 1))")" >default.rc
) &
background=$!
track $background
# and an endpoint that closes every connection unanswered: the same bound
start_mock closing --drop-rate 1
(
    t0=$(date +%s.%N)
    AMPLITUDE_API_KEY=$good "$bin" -q --endpoint "$url/batch" --state st.closing in.ndjson \
        2>closing.err
    echo "$? $(python3 -c "import sys; print(round($(date +%s.%N) - $t0, 1))")" >closing.rc
) &
background2=$!
track $background2

# 1. a refused key, then the right one
start_mock keyed --api-key $good --record keyed.rec
AMPLITUDE_API_KEY=$wrong "$bin" -q --endpoint "$url/batch" --state st.key \
    --report key1.json in.ndjson 2>key1.err
rc=$?
check "$([ $rc -eq 4 ]; echo $?)" "a wrong key: exit $rc: $(cat key1.err)"
check "$([ ! -s st.key/failed.ndjson ]; echo $?)" \
    "a wrong key put $(cat st.key/failed.ndjson 2>/dev/null | wc -l) events in the failed file"
check "$([ "$(field key1.json failed)" = 0 ] && [ "$(field key1.json events_sent)" = 0 ]; echo $?)" \
    "a wrong key: report says failed $(field key1.json failed)"
check "$(grep -q 'nothing was lost' key1.err; echo $?)" "no reassurance in: $(cat key1.err)"
check "$(grep -q "$wrong" key1.err st.key/* key1.json; [ $? -ne 0 ]; echo $?)" "the key leaked"
check "$(grep -qi 'wron\|9876' key1.err key1.json; [ $? -ne 0 ]; echo $?)" \
    "a piece of the key leaked: $(cat key1.err)"
AMPLITUDE_API_KEY=$good "$bin" -q --endpoint "$url/batch" --state st.key \
    --report key2.json in.ndjson 2>key2.err
rc=$?
check "$([ $rc -eq 0 ]; echo $?)" "the same command with the right key: exit $rc: $(cat key2.err)"
check "$([ "$(field key2.json events_sent)" = 20000 ]; echo $?)" \
    "the right key sent $(field key2.json events_sent) of 20000"
n=$(python3 -c 'import json,sys; print(len({json.loads(l)["insert_id"] for l in open(sys.argv[1])}))' keyed.rec)
check "$([ "$n" = 20000 ] && [ "$(wc -l <keyed.rec)" = 20000 ]; echo $?)" \
    "the mock holds $(wc -l <keyed.rec) events, $n distinct, not 20000"
check "$(grep -q 'is empty' key2.err; [ $? -ne 0 ]; echo $?)" "a false warning: $(cat key2.err)"

# identify: the same
AMPLITUDE_API_KEY=$wrong "$bin" identify -q --endpoint "$url/identify" --state st.idkey \
    ids.ndjson 2>id1.err
rc=$?
check "$([ $rc -eq 4 ] && [ ! -s st.idkey/failed.ndjson ] && [ ! -s st.idkey/non-idempotent.ndjson ]; echo $?)" \
    "identify with a wrong key: exit $rc, failed/held files: $(cat st.idkey/*.ndjson 2>/dev/null | wc -l)"
AMPLITUDE_API_KEY=$good "$bin" identify -q --endpoint "$url/identify" --state st.idkey \
    --report id2.json ids.ndjson 2>id2.err
rc=$?
check "$([ $rc -eq 0 ] && [ "$(field id2.json events_sent)" = 3000 ]; echo $?)" \
    "identify with the right key: exit $rc, sent $(field id2.json events_sent): $(cat id2.err)"

# 2. never reached: connection refused and a name that does not resolve,
# with --retry-time 3; then the same inputs to a live endpoint
t0=$(date +%s)
AMPLITUDE_API_KEY=$good "$bin" --progress --endpoint "http://127.0.0.1:$closed/batch" \
    --state st.closed --retry-time 3 in.ndjson 2>closed.err
rc=$?
took=$(($(date +%s) - t0))
check "$([ $rc -eq 4 ] && [ $took -le 10 ]; echo $?)" "connection refused: exit $rc after $took s"
check "$(grep -q "cannot connect to 127.0.0.1:$closed: connection refused" closed.err; echo $?)" \
    "no cause in: $(tail -c 600 closed.err)"
check "$(grep -q "last error: cannot connect to 127.0.0.1:$closed" closed.err; echo $?)" \
    "the progress line does not name the last error: $(head -c 400 closed.err)"
check "$([ ! -s st.closed/failed.ndjson ]; echo $?)" "an unreachable endpoint failed events"
start_mock later --record later.rec
AMPLITUDE_API_KEY=$good "$bin" -q --endpoint "$url/batch" --state st.closed in.ndjson 2>later.err
rc=$?
check "$([ $rc -eq 0 ] && [ "$(wc -l <later.rec)" = 20000 ]; echo $?)" \
    "after the endpoint came up: exit $rc, $(wc -l <later.rec) events: $(cat later.err)"

AMPLITUDE_API_KEY=$good "$bin" -q --endpoint "http://no-such-host.invalid/batch" \
    --state st.dns --retry-time 3 in.ndjson 2>dns.err
rc=$?
check "$([ $rc -eq 4 ] && grep -q 'cannot resolve host name no-such-host.invalid' dns.err; echo $?)" \
    "an unknown host: exit $rc: $(cat dns.err)"
AMPLITUDE_API_KEY=$good "$bin" identify -q --endpoint "http://127.0.0.1:$closed/identify" \
    --state st.idclosed --retry-time 2 ids.ndjson 2>idclosed.err
rc=$?
check "$([ $rc -eq 4 ] && [ ! -s st.idclosed/non-idempotent.ndjson ] && [ ! -s st.idclosed/failed.ndjson ]; echo $?)" \
    "identify to a closed port: exit $rc: $(cat idclosed.err)"

# an endpoint that takes connections and never answers one (it drops them)
# is as wrong as one never reached: after --retry-time, exit 4, nothing
# failed; one that answers, even only 503, is a fault: the budget, exit 5
start_mock dropping --drop-rate 1
AMPLITUDE_API_KEY=$good "$bin" -q --endpoint "$url/batch" --state st.drop --retry-time 2 \
    --batch-events 500 in.ndjson 2>drop.err
rc=$?
check "$([ $rc -eq 4 ] && grep -q 'no answer to any request in' drop.err && [ ! -s st.drop/failed.ndjson ]; echo $?)" \
    "an endpoint that never answers: exit $rc: $(cat drop.err)"
start_mock failing --fail-rate 1 --fail-status 503
AMPLITUDE_API_KEY=$good "$bin" -q --endpoint "$url/batch" --state st.503 --retry-time 2 \
    --batch-events 500 in.ndjson 2>503.err
rc=$?
check "$([ $rc -eq 5 ] && grep -q 'could not be delivered' 503.err; echo $?)" \
    "an endpoint answering 503: exit $rc: $(cat 503.err)"

# 5. output paths are checked before the first request
start_mock paths
for opt in --report --audit; do
    AMPLITUDE_API_KEY=$good "$bin" -q --endpoint "$url/batch" --state "st.path$opt" \
        $opt no-such-dir/out.json in.ndjson 2>path.err
    rc=$?
    check "$([ $rc -eq 2 ] && grep -q -- "$opt no-such-dir/out.json: its directory does not exist" path.err; echo $?)" \
        "$opt in a missing directory: exit $rc: $(cat path.err)"
done
AMPLITUDE_API_KEY=$good "$bin" identify -q --endpoint "$url/identify" --state st.pathid \
    --report no-such-dir/out.json ids.ndjson 2>path.err
rc=$?
check "$([ $rc -eq 2 ]; echo $?)" "identify --report in a missing directory: exit $rc"
# an output that is one of the run's own files (the key file, a state file,
# the other output) would destroy it: refused before the first request,
# the file left as it was
printf '%s\n' "$good" >key.txt
chmod 600 key.txt
mkdir -p st.own
printf 'keep\n' >st.own/checkpoint
for args in "--report key.txt" "--audit key.txt" "--report st.own/checkpoint" \
    "--audit st.own/./failed.ndjson" "--report same.json --audit same.json"; do
    # shellcheck disable=SC2086
    "$bin" -q --api-key-file key.txt --endpoint "$url/batch" --state st.own $args in.ndjson \
        2>own.err
    rc=$?
    check "$([ $rc -eq 2 ] && grep -q "it is the run's .* (writing there would destroy it)" own.err &&
        [ "$(cat key.txt)" = "$good" ] && [ "$(cat st.own/checkpoint)" = keep ]; echo $?)" \
        "$args: exit $rc: $(cat own.err)"
done
check "$([ "$(stat_of "$url" requests)" = 0 ]; echo $?)" \
    "requests were sent before the path was refused: $(stat_of "$url" requests)"

# 7. interrupted, resumed: the totals add up
start_mock slow --latency-ms 150 --record slow.rec --api-key $good
AMPLITUDE_API_KEY=$good "$bin" -q --endpoint "$url/batch" --state st.int --batch-events 200 \
    --concurrency 4 --report int1.json in.ndjson 2>int1.err &
pid=$!
track $pid
for _ in $(seq 100); do
    [ "$(stat_of "$url" accepted)" -ge 6000 ] 2>/dev/null && break
    sleep 0.1
done
kill -INT $pid
wait $pid
rc1=$?
# a run that delivers nothing in between (a wrong key) resends nothing
AMPLITUDE_API_KEY=$wrong "$bin" -q --endpoint "$url/batch" --state st.int --batch-events 200 \
    --report intw.json in.ndjson 2>intw.err
rc=$?
check "$([ $rc -eq 4 ] && [ "$(field intw.json resent_after_resume)" = 0 ]; echo $?)" \
    "a resumed run that sent nothing: exit $rc, resent_after_resume $(field intw.json resent_after_resume)"
AMPLITUDE_API_KEY=$good "$bin" --endpoint "$url/batch" --state st.int --batch-events 200 \
    --concurrency 4 --report int2.json in.ndjson 2>int2.err
rc2=$?
s1=$(field int1.json events_sent)
s2=$(field int2.json events_sent)
again=$(field int2.json resent_after_resume)
check "$([ $rc1 -eq 6 ] && [ $rc2 -eq 0 ]; echo $?)" "interrupted run exit $rc1, resumed $rc2"
check "$([ $((s1 + s2 - again)) -eq 20000 ]; echo $?)" \
    "sent $s1 + $s2 - resent $again != 20000 events"
n=$(python3 -c 'import json,sys; print(len({json.loads(l)["insert_id"] for l in open(sys.argv[1])}))' slow.rec)
check "$([ "$n" = 20000 ]; echo $?)" "the mock holds $n distinct events"
if [ "$again" -gt 0 ]; then
    check "$(grep -q "sent again .*$again" int2.err; echo $?)" "no 'sent again' line: $(cat int2.err)"
fi
mb_summary=$(sed -n 's/.*events sent.*\/s, \([0-9.]*\) MB\/s.*/\1/p' int2.err)
check "$([ "$mb_summary" = "$(field int2.json mb_per_s)" ]; echo $?)" \
    "MB/s: summary $mb_summary, report $(field int2.json mb_per_s)"
# run again once finished: no false warning, and the summary
AMPLITUDE_API_KEY=$good "$bin" --endpoint "$url/batch" --state st.int --batch-events 200 \
    in.ndjson 2>int3.err
rc=$?
check "$([ $rc -eq 0 ] && ! grep -q 'is empty' int3.err && grep -q 'lines read' int3.err; echo $?)" \
    "a finished input run again: exit $rc: $(cat int3.err)"
# a shard that owns no part of an input says nothing of it being empty
"$gen" -n 10 --seed 23 -o a-small.ndjson
cp in.ndjson b-big.ndjson
for i in 0 1; do
    AMPLITUDE_API_KEY=$good "$bin" --dry-run --shard $i/2 --state "st.shard$i" \
        a-small.ndjson b-big.ndjson 2>"shard$i.err"
done
check "$(cat shard0.err shard1.err | grep -q 'is empty'; [ $? -ne 0 ]; echo $?)" \
    "a shard warns of an empty input: $(cat shard0.err shard1.err)"

# 8. --rate 5000: no second of request starts holds more than 5000 + 2000
start_mock rate
AMPLITUDE_API_KEY=$good "$bin" -q --endpoint "$url/batch" --state st.rate --rate 5000 \
    --audit rate.jsonl in.ndjson 2>rate.err
rc=$?
most=$(python3 - rate.jsonl <<'EOF'
import json, sys
starts = sorted((r["time_ms"] - r["latency_ms"], r["events"])
                for r in map(json.loads, open(sys.argv[1])))
print(max(sum(e for u, e in starts if t <= u < t + 1000) for t, _ in starts))
EOF
)
check "$([ $rc -eq 0 ] && [ "$most" -le 7000 ]; echo $?)" \
    "--rate 5000: $most events in one second (exit $rc)"

# 6. which URL: --endpoint, else --region, else AMPLITUDE_BASE_URL, else the
# default - for load, identify and export alike; an outranked source is
# named; an error names the source that chose the URL
start_mock base --record base.rec
AMPLITUDE_BASE_URL=$url AMPLITUDE_API_KEY=$good "$bin" -q --state st.base in.ndjson 2>base.err
rc=$?
check "$([ $rc -eq 0 ] && [ "$(wc -l <base.rec)" = 20000 ]; echo $?)" \
    "load to AMPLITUDE_BASE_URL: exit $rc, $(wc -l <base.rec) events: $(cat base.err)"
AMPLITUDE_BASE_URL=$url AMPLITUDE_API_KEY=$good "$bin" identify -q --state st.baseid \
    ids.ndjson 2>baseid.err
rc=$?
check "$([ $rc -eq 0 ] && [ "$(stat_of "$url" identifications_received)" -ge 3000 ]; echo $?)" \
    "identify to AMPLITUDE_BASE_URL: exit $rc: $(cat baseid.err)"
AMPLITUDE_BASE_URL=$url AMPLITUDE_API_KEY=$good "$bin" --region eu --dry-run --state st.note \
    in.ndjson 2>note.err
check "$(grep -q 'note: AMPLITUDE_BASE_URL is ignored: --region chooses the URL' note.err; echo $?)" \
    "--region over AMPLITUDE_BASE_URL said nothing: $(cat note.err)"
AMPLITUDE_BASE_URL=http://127.0.0.1:$closed AMPLITUDE_API_KEY=$good "$bin" -q --state st.src \
    --retry-time 1 in.ndjson 2>src.err
rc=$?
check "$([ $rc -eq 4 ] && grep -q "the URL http://127.0.0.1:$closed/batch is from AMPLITUDE_BASE_URL" src.err; echo $?)" \
    "the error does not name AMPLITUDE_BASE_URL: exit $rc: $(cat src.err)"

# a URL with an empty port, or with credentials (never to be written out)
"$bin" --dry-run --state st.port --endpoint "http://127.0.0.1:/batch" in.ndjson 2>port.err
rc=$?
check "$([ $rc -eq 2 ] && grep -q 'has an empty port' port.err; echo $?)" "empty port: exit $rc: $(cat port.err)"
AMPLITUDE_BASE_URL=http://user:pw-s3cret@127.0.0.1:9 "$bin" export --start 20231115T00 \
    --end 20231115T01 -o exp.userinfo 2>userinfo.err
rc=$?
check "$([ $rc -eq 2 ] && grep -q 'user name or password' userinfo.err && ! grep -q 's3cret' userinfo.err; echo $?)" \
    "credentials in AMPLITUDE_BASE_URL: exit $rc: $(cat userinfo.err)"

# the mock refuses a fault option --sink would silently drop
"$mock" --sink --record sink.rec --exit-after 1 >sink.out 2>sink.err
rc=$?
check "$([ $rc -eq 2 ] && grep -q -- '--sink reads no request body, so --record cannot apply' sink.err; echo $?)" \
    "ampload-mock --sink --record: exit $rc: $(cat sink.err)"

wait $background $background2
read -r rc took <closing.rc
check "$(python3 -c "import sys; sys.exit(0 if $rc == 4 and 25 <= $took <= 40 else 1)"; echo $?)" \
    "an endpoint closing every connection, no --retry-time: exit $rc after $took s: $(cat closing.err)"
read -r rc took <default.rc
check "$(python3 -c "import sys; sys.exit(0 if $rc == 4 and 25 <= $took <= 40 else 1)"; echo $?)" \
    "an unreachable endpoint without --retry-time: exit $rc after $took s: $(cat default.err)"
finish
