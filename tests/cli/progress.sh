#!/usr/bin/env bash
# progress.sh - the live progress line: drawn on a terminal, absent when
# stderr is a pipe, forced by --progress. Runs ampload against ampload-mock
# (with latency, so the run lasts long enough to draw) under script(1),
# which gives it a pseudo-terminal. Also the -v line of a request that got no
# answer (a dropped connection), for load and export.
# Usage: progress.sh AMPLOAD AMPLOAD_MOCK GEN_EVENTS
set -u
bin=$1
mock=$2
gen=$3
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh"
start_mock mock --latency-ms 150
"$gen" -n 4000 --seed 3 -o in.ndjson
export AMPLITUDE_API_KEY=k

# on a terminal: the line is drawn (carriage return, erase, counters, ETA)
script -qec "'$bin' --endpoint $url/batch --state s1 --batch-events 200 --concurrency 2 in.ndjson" tty.log >/dev/null
if grep -q $'\r\e\[Ksent [0-9]* events' tty.log && grep -q 'in flight' tty.log && grep -q 'ETA' tty.log; then
    pass=$((pass + 1))
else
    echo "FAIL: no progress line on a terminal:"; cat -v tty.log | head -5; fail=$((fail + 1))
fi

# piped: no control codes at all
"$bin" --endpoint "$url/batch" --state s2 --batch-events 200 --concurrency 2 in.ndjson 2>pipe.log
if grep -q $'\e' pipe.log || grep -q $'\r' pipe.log; then
    echo "FAIL: control codes when stderr is not a terminal:"; cat -v pipe.log | head -5; fail=$((fail + 1))
elif grep -qE "events sent +4000" pipe.log; then
    pass=$((pass + 1))
else
    echo "FAIL: no summary when piped:"; cat pipe.log; fail=$((fail + 1))
fi

# --progress forces it; -q silences it even on a terminal
"$bin" --progress --endpoint "$url/batch" --state s3 --batch-events 200 --concurrency 2 in.ndjson 2>forced.log
if grep -q $'\r\e\[Ksent' forced.log; then pass=$((pass + 1)); else echo "FAIL: --progress"; fail=$((fail + 1)); fi
script -qec "'$bin' -q --endpoint $url/batch --state s4 --batch-events 200 in.ndjson" quiet.log >/dev/null
if grep -q 'sent' quiet.log; then echo "FAIL: -q still drew:"; cat -v quiet.log | head -3; fail=$((fail + 1)); else pass=$((pass + 1)); fi

# -v: a request the connection never answered reads "no answer", not a status 0
start_mock drop --drop-rate 0.5 --seed 2
"$bin" -v --endpoint "$url/batch" --state s5 --batch-events 100 --retry-time 60 in.ndjson 2>v.log
if grep -q -- '-> no answer: .* in [0-9]* ms (retry)$' v.log && ! grep -qE -- '-> 0|answer0' v.log; then
    pass=$((pass + 1))
else
    echo "FAIL: -v on a dropped connection:"; grep -m3 -E 'answer|-> 0' v.log; fail=$((fail + 1))
fi
start_mock xdrop --drop-rate 0.7 --seed 4 --export
AMPLITUDE_SECRET_KEY=s "$bin" export -v --endpoint "$url/api/2/export" --start 20231114T00 \
    --end 20231114T05 --retry-time 60 -o ex 2>xv.log
if grep -q 'attempt 1: no answer, 0 bytes, [0-9]* ms: ' xv.log && ! grep -q 'answer0' xv.log; then
    pass=$((pass + 1))
else
    echo "FAIL: export -v on a dropped connection:"; grep -m3 attempt xv.log; fail=$((fail + 1))
fi

finish
