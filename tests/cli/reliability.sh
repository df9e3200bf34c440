#!/usr/bin/env bash
# reliability.sh - the ways a line could vanish or a secret leak outside a
# single clean run: two runs on one state directory, undelivered events of
# an earlier run, a 200 that is not Amplitude's, an input given twice or
# named as an output, a closed pipe and SIGHUP, a server echoing the key,
# file modes and planted symlinks, key files, a full disk.
# Usage: reliability.sh AMPLOAD AMPLOAD_MOCK GEN_EVENTS
set -u
bin=$1
mock=$2
gen=$3
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh"
check() { if [ "$1" = 0 ]; then ok; else bad "$2"; fi; }
export AMPLITUDE_API_KEY=testkey-0123456789
"$gen" -n 20000 --seed 12 --bad-rate 0.01 -o in.ndjson
"$gen" -n 3000 --seed 13 -o small.ndjson
field() { sed -n "s/.*\"$2\": \([0-9a-z]*\).*/\1/p" "$1" | head -1; }

# 1. one owner per state directory: a second run refuses at once, exit 2,
# naming the holder, and touches nothing; a killed holder leaves no stale lock
start_mock slow --latency-ms 200
"$bin" -q --endpoint "$url/batch" --state st1 --batch-events 100 --concurrency 1 \
    in.ndjson 2>first.err &
first=$!
track $first
for _ in $(seq 50); do [ -s st1/lock ] && break; sleep 0.1; done
before=$(cd st1 && ls -l --time-style=+%s.%N | md5sum)
"$bin" -q --endpoint "$url/batch" --state st1 in.ndjson 2>second.err
rc=$?
after=$(cd st1 && ls -l --time-style=+%s.%N | md5sum)
check "$([ $rc -eq 2 ]; echo $?)" "second run on a busy state directory exited $rc"
check "$(grep -q "in use by another run (held by pid $first on host $(hostname))" second.err; echo $?)" \
    "no holder in: $(cat second.err)"
check "$(grep -q 'hint: wait for that run to end' second.err; echo $?)" "no hint: $(cat second.err)"
check "$([ "$before" = "$after" ]; echo $?)" "the refused run touched the state directory"
"$bin" check --endpoint "$url/batch" --state st1 in.ndjson >chk.out 2>&1
rc=$?
check "$([ $rc -eq 2 ] && grep -q 'state dir .*in use by another run' chk.out; echo $?)" \
    "check on a busy state directory: exit $rc: $(cat chk.out)"
kill -9 $first
wait $first 2>/dev/null
"$bin" -q --endpoint "$url/batch" --state st1 --report r1.json in.ndjson 2>resume.err
rc=$?
check "$([ $rc -eq 0 ]; echo $?)" "run after the holder was killed: exit $rc: $(cat resume.err)"

# 3. undelivered events of an earlier run stay in the result: exit 5 and a
# total, in the run that resumes and in a rerun of a finished command
start_mock flaky --fail-rate 0.5 --fail-status 503 --latency-ms 30 --seed 3
"$bin" -q --endpoint "$url/batch" --state st3 --retry-time 0 --batch-events 100 \
    --chunk-bytes 65536 --concurrency 2 in.ndjson 2>/dev/null &
pid=$!
track $pid
# killed once the checkpoint has passed some failed events (they stay in the
# failed file; the ones past the mark are rolled back and sent again)
for _ in $(seq 300); do
    [ -s st3/failed.ndjson ] && grep -q '"offset":[1-9]' st3/checkpoint 2>/dev/null && break
    sleep 0.1
done
sleep 1.5
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
start_mock good
for run in resume rerun; do
    "$bin" --endpoint "$url/batch" --state st3 --report r3.json in.ndjson 2>r3.err
    rc=$?
    lines=$(cat st3/failed.ndjson 2>/dev/null | wc -l)
    check "$([ "$lines" -gt 0 ] && [ $rc -eq 5 ]; echo $?)" \
        "$run: exit $rc with $lines events in the failed file: $(tail -3 r3.err)"
    check "$([ "$(field r3.json failed_total)" = "$lines" ]; echo $?)" \
        "$run: report failed_total $(field r3.json failed_total), file holds $lines"
    check "$(grep -q "ampload: $lines events could not be delivered" r3.err; echo $?)" \
        "$run: no total on stderr: $(tail -3 r3.err)"
done
check "$(grep -q '"failed_file": "st3/failed.ndjson"' r3.json; echo $?)" "failed_file null in report"

# 4. a 200 that is not Amplitude's acknowledgement stops the run, exit 4,
# resolving nothing (none in the failed file: the same command resends
# them once the endpoint is right); check fails the endpoint
for kind in html empty code400; do
    start_mock "bogus-$kind" --bogus-200 "$kind"
    "$bin" -q --endpoint "$url/batch" --state "st4$kind" --report "r4$kind.json" small.ndjson \
        2>"e4$kind.txt"
    rc=$?
    sent=$(field "r4$kind.json" events_sent)
    failed=$(cat "st4$kind/failed.ndjson" 2>/dev/null | wc -l)
    check "$([ $rc -eq 4 ] && [ "$sent" = 0 ] && [ "$failed" = 0 ]; echo $?)" \
        "bogus 200 ($kind): exit $rc, sent $sent, failed file $failed: $(cat "e4$kind.txt")"
    check "$(grep -q 'nothing says the events were ingested' "e4$kind.txt"; echo $?)" \
        "bogus 200 ($kind): message: $(cat "e4$kind.txt")"
    "$bin" check --endpoint "$url/batch" small.ndjson >"c4$kind.txt" 2>&1
    rc=$?
    check "$([ $rc -eq 4 ] && grep -q "endpoint .*not Amplitude's answer\|endpoint .*says code 400\|endpoint .*empty body" "c4$kind.txt"; echo $?)" \
        "check against a bogus 200 ($kind): exit $rc: $(cat "c4$kind.txt")"
done

# 5, 6. an input given twice (another name, same inode), or named as an
# output, is refused at start (exit 2) and nothing is written
ln in.ndjson hardlink.ndjson
"$bin" --dry-run --state st5 in.ndjson hardlink.ndjson 2>e5.txt
rc=$?
check "$([ $rc -eq 2 ] && grep -q 'given twice' e5.txt && [ ! -e st5 ]; echo $?)" \
    "same input twice: exit $rc: $(cat e5.txt)"
cp small.ndjson precious.ndjson
sum=$(md5sum <precious.ndjson)
for opt in --report --audit; do
    "$bin" --endpoint "$url/batch" --state st6 "$opt" precious.ndjson small.ndjson \
        precious.ndjson 2>e6.txt
    rc=$?
    check "$([ $rc -eq 2 ] && grep -q 'also an output of the run' e6.txt && [ "$(md5sum <precious.ndjson)" = "$sum" ]; echo $?)" \
        "$opt naming an input: exit $rc: $(cat e6.txt)"
done

# 9. a closed pipe does not end the run; SIGHUP stops it like SIGTERM
start_mock pipe --latency-ms 20
"$bin" -v --endpoint "$url/batch" --state st9 --report r9.json --batch-events 100 \
    in.ndjson 2>&1 | head -1 >/dev/null
rc=${PIPESTATUS[0]}
check "$([ $rc -eq 0 ] && [ "$(field r9.json events_sent)" -gt 19000 ]; echo $?)" \
    "-v | head -1: exit $rc, sent $(field r9.json events_sent)"
start_mock hup --latency-ms 300
"$bin" --progress --endpoint "$url/batch" --state st9h --report r9h.json --batch-events 100 \
    --concurrency 1 in.ndjson 2>e9h.txt &
pid=$!
track $pid
sleep 1
kill -HUP $pid
wait $pid
rc=$?
check "$([ $rc -eq 6 ] && grep -q 'hung up' e9h.txt && [ -s r9h.json ] && [ -s st9h/checkpoint ]; echo $?)" \
    "SIGHUP: exit $rc: $(tail -2 e9h.txt)"
"$bin" --progress --endpoint "$url/batch" --state st9s --batch-events 100 --concurrency 1 \
    - <in.ndjson 2>e9s.txt &
pid=$!
track $pid
sleep 1
kill -TERM $pid
wait $pid
check "$(grep -q 'standard input or a pipe cannot be resumed' e9s.txt && ! grep -q 'run the same command' e9s.txt; echo $?)" \
    "interrupted stdin run: $(tail -3 e9s.txt)"

# 11. throttling counts against --retry-time, and a Retry-After beyond the
# budget fails at once, saying why in the audit and the report
start_mock throttle --eps-per-id 1 --eps-window 1
t0=$(date +%s)
"$bin" -q --endpoint "$url/batch" --state st11 --report r11.json --retry-time 3 \
    --throttle-wait 1 small.ndjson 2>e11.txt
rc=$?
took=$(($(date +%s) - t0))
check "$([ $rc -eq 5 ] && [ "$took" -lt 30 ] && grep -q '"throttled_beyond_budget": [1-9]' r11.json; echo $?)" \
    "always throttled: exit $rc after $took s: $(grep -o '"failed_by_cause": {[^}]*}' r11.json)"
start_mock retryafter --fail-rate 1 --fail-status 503 --retry-after 600
t0=$(date +%s)
"$bin" --endpoint "$url/batch" --state st11b --report r11b.json --audit a11b.ndjson \
    --retry-time 20 small.ndjson 2>e11b.txt
rc=$?
took=$(($(date +%s) - t0))
check "$([ $rc -eq 5 ] && [ "$took" -lt 10 ] && grep -q '"retry_after_beyond_budget": 3000' r11b.json; echo $?)" \
    "Retry-After 600 s with a 20 s budget: exit $rc after $took s: $(cat e11b.txt)"
check "$(grep -qE '"outcome":"failed","error":"Retry-After 600 s is beyond the (19|20) s left of --retry-time"' a11b.ndjson; echo $?)" \
    "no reason in the audit: $(head -2 a11b.ndjson)"
check "$(grep -q "the server's Retry-After reached past what was left of --retry-time: 3000" e11b.txt; echo $?)" \
    "no cause in the summary: $(cat e11b.txt)"

# 7. an input cut short while it loads (copytruncate): exit 3 with a
# message, no SIGBUS; the checkpoint stays valid and every line below its
# mark was delivered
"$gen" -n 100000 --seed 15 -o big.ndjson
cp big.ndjson big.orig
start_mock trunc --latency-ms 20 --record rec7.ndjson
"$bin" --endpoint "$url/batch" --state st7 --report r7.json --rate 25000 \
    --chunk-bytes 1048576 big.ndjson 2>e7.txt &
pid=$!
track $pid
sleep 1.5
truncate -s 3000000 big.ndjson
wait $pid
rc=$?
mark=$(sed -n 's/.*"offset":\([0-9]*\).*/\1/p' st7/checkpoint)
below=$(head -c "${mark:-0}" big.orig | wc -l)
check "$([ $rc -eq 3 ] && grep -q 'big.ndjson: the input changed while being read' e7.txt && [ -s r7.json ]; echo $?)" \
    "truncated input: exit $rc: $(tail -4 e7.txt)"
check "$([ -n "$mark" ] && [ "$(wc -l <rec7.ndjson)" -ge "$below" ]; echo $?)" \
    "after the truncation: mark ${mark:-none}, $below lines below it, $(wc -l <rec7.ndjson) recorded"

# 8. streams: <(cmd) and FIFOs are read like standard input (no sniffing
# ahead, no checkpoint), a FIFO without a writer does not hang, /dev/zero
# is not a text file
timeout 20 "$bin" --dry-run --state st8a <(cat small.ndjson) 2>e8a.txt
rc=$?
check "$([ $rc -eq 0 ] && grep -q '3000 valid events' e8a.txt; echo $?)" "dry run of <(cmd): exit $rc: $(cat e8a.txt)"
start_mock streams
timeout 20 "$bin" -q --endpoint "$url/batch" --state st8b --report r8b.json <(cat small.ndjson) \
    2>e8b.txt
rc=$?
check "$([ $rc -eq 0 ] && [ "$(field r8b.json events_sent)" = 3000 ] && [ ! -e st8b/checkpoint ]; echo $?)" \
    "load of <(cmd): exit $rc: $(cat e8b.txt)"
mkfifo fifo
timeout 10 "$bin" --dry-run --state st8c fifo 2>e8c.txt
rc=$?
check "$([ $rc -eq 0 ] && grep -q 'fifo is empty' e8c.txt; echo $?)" "FIFO without a writer: exit $rc: $(cat e8c.txt)"
timeout 10 "$bin" --dry-run --state st8d /dev/zero 2>e8d.txt
rc=$?
check "$([ $rc -eq 3 ] && grep -q '/dev/zero: not a text file' e8d.txt; echo $?)" "/dev/zero: exit $rc: $(cat e8d.txt)"

# 10. a file name that is not UTF-8 is kept byte for byte: a killed run
# resumes, and the reject records name the file exactly
name=$(printf 'ev\xff\xfe.ndjson')
cp in.ndjson "$name"
start_mock latin --latency-ms 20
"$bin" -q --endpoint "$url/batch" --state st10 --batch-events 100 --chunk-bytes 65536 \
    --concurrency 1 "$name" 2>/dev/null &
pid=$!
track $pid
for _ in $(seq 100); do [ -s st10/checkpoint ] && break; sleep 0.1; done
sleep 0.5
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
"$bin" --endpoint "$url/batch" --state st10 --report r10.json "$name" 2>e10.txt
rc=$?
want=$(printf '%s' "$name" | base64)
check "$([ $rc -eq 0 ] && grep -q 'resuming from' e10.txt && grep -q '"resumed": true' r10.json; echo $?)" \
    "a non-UTF-8 name did not resume: exit $rc: $(cat e10.txt)"
check "$(grep -c "\"file_base64\":\"$want\"" st10/rejected.ndjson | grep -q '^[1-9]'; echo $?)" \
    "reject records do not name the file byte for byte: $(head -c 300 st10/rejected.ndjson)"

# 18. integers beyond int64 in event properties: Amplitude takes them, so
# the mock does too (and the loader sends them)
printf '{"event_type":"e","user_id":"user-00001","event_properties":{"n":123456789012345678901234567890}}\n' >bigint.ndjson
start_mock bigint --record rec18.ndjson
"$bin" -q --endpoint "$url/batch" --state st18 --report r18.json bigint.ndjson 2>e18.txt
rc=$?
check "$([ $rc -eq 0 ] && [ "$(field r18.json events_sent)" = 1 ] && [ "$(wc -l <rec18.ndjson)" = 1 ]; echo $?)" \
    "an integer beyond int64: exit $rc: $(cat e18.txt)"

# 13. a server that echoes the key after padding: not a 4-byte piece of it
# on stderr or stdout, whatever the offset
secret=Zq8Xv3Kp9Wm2Rt7Yb4Nc6Hd1Lf5Gs
for pad in 0 80 110 111 200 240; do
    start_mock "echo$pad" --api-key right-key-999 --echo-key "$pad"
    AMPLITUDE_API_KEY=$secret "$bin" -v --endpoint "$url/batch" --state "st13$pad" \
        --report "r13$pad.json" small.ndjson >"o13$pad.txt" 2>"e13$pad.txt"
    AMPLITUDE_API_KEY=$secret "$bin" check --endpoint "$url/batch" >>"o13$pad.txt" 2>&1
    leak=""
    for i in $(seq 0 $((${#secret} - 4))); do
        leak+=$(grep -l -- "${secret:$i:4}" "o13$pad.txt" "e13$pad.txt" "r13$pad.json" \
            st13"$pad"/* 2>/dev/null)
    done
    check "$([ -z "$leak" ] && grep -q 'Invalid API key' "e13$pad.txt"; echo $?)" \
        "key echoed after $pad bytes shows in: $leak $(cat "e13$pad.txt" "o13$pad.txt")"
done

# 14. state and output files are 0600 even in a 0755 directory, and a
# planted symlink is not followed
mkdir -m 755 st14
echo victim >victim.txt
ln -s "$PWD/victim.txt" st14/checkpoint.tmp
ln -s "$PWD/victim.txt" st14/failed.ndjson.rollback
start_mock modes --reject-event-type "$(sed -n 's/.*"event_type":"\([^"]*\)".*/\1/p' small.ndjson | head -1)"
"$bin" -q --endpoint "$url/batch" --state st14 --report r14.json --audit a14.ndjson \
    small.ndjson 2>e14.txt
modes=$(stat -c '%a %n' st14/* r14.json a14.ndjson | grep -v '^600 ')
check "$([ -z "$modes" ]; echo $?)" "files not 0600: $modes"
check "$([ "$(cat victim.txt)" = victim ]; echo $?)" "a planted symlink was followed"

# 15. key files: white space trimmed; an inner line break, a long key and a
# directory refused with what is wrong
start_mock keys --api-key testkey-0123456789
printf '  \ttestkey-0123456789 \n\n' >k1
chmod 600 k1
env -u AMPLITUDE_API_KEY "$bin" -q --api-key-file k1 --endpoint "$url/batch" --state st15 \
    small.ndjson 2>e15.txt
check "$([ $? -eq 0 ]; echo $?)" "a padded key file: $(cat e15.txt)"
printf 'testkey\n0123456789\n' >k2
head -c 400 /dev/zero | tr '\0' a >k3
mkdir k4
for k in k2 k3 k4; do
    chmod 600 "$k"
    env -u AMPLITUDE_API_KEY "$bin" -q --api-key-file "$k" --endpoint "$url/batch" \
        --state st15 small.ndjson 2>"e15$k.txt"
    echo "$? $(cat "e15$k.txt")" >>e15all.txt
done
check "$(grep -q '^4 .*k2: the key has a line break inside it' e15all.txt; echo $?)" \
    "inner newline: $(cat e15all.txt)"
check "$(grep -q '^4 .*k3: the key is longer than 256 bytes' e15all.txt; echo $?)" \
    "long key: $(cat e15all.txt)"
check "$(grep -q '^2 .*k4: is a directory' e15all.txt; echo $?)" "directory: $(cat e15all.txt)"

# 16. a full disk on the reject file is reported against the file and errno
"$gen" -n 20000 --seed 14 --bad-rate 0.5 -o bad.ndjson
(ulimit -f 64; "$bin" --dry-run --state st16 bad.ndjson 2>e16.txt)
rc=$?
check "$([ $rc -ne 0 ] && grep -q 'st16/rejected.ndjson: write error (File too large)' e16.txt; echo $?)" \
    "full disk: exit $rc: $(cat e16.txt)"

finish
