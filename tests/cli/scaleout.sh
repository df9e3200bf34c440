#!/usr/bin/env bash
# scaleout.sh - --shard I/N by input, against ampload-mock on loopback:
#   - N copies (N = 2, 3, 5) side by side over several plain files, one
#     large plain file, a zstd file and invalid lines: the mock records the
#     same events, with the same generated insert_ids, as one unsharded run;
#     each invalid line in exactly one copy's reject file; the copies' bytes
#     read add up to the input's; `report merge` balances;
#   - a copy killed mid-run and run again resumes inside its byte range;
#   - two files opening with the same event without time keep both events;
#   - --shard auto from Slurm's and Kubernetes' variables, {shard} in names;
#   - report merge refuses a missing, doubled or overlapping shard, and a
#     copy that did not finish (naming it, writing no merged report);
#   - a checkpoint of the earlier id scheme is refused with what to do.
# Usage: scaleout.sh AMPLOAD AMPLOAD_MOCK GEN_EVENTS
set -u
bin=$1
mock=$2
gen=$3
. "$(dirname "$0")/lib.sh"
export AMPLITUDE_API_KEY=key-scaleout-0123456789

"$gen" -n 40000 --seed 31 --bad-rate 0.01 --blank-rate 0.002 --insert-id-rate 0 -o big.ndjson
for k in 1 2 3 4; do
    "$gen" -n 1500 --seed $((40 + k)) --bad-rate 0.02 --insert-id-rate 0 -o "small-$k.ndjson"
done
"$gen" -n 6000 --seed 49 --bad-rate 0.01 --insert-id-rate 0 | zstd -q -o packed.ndjson.zst
inputs=(small-3.ndjson big.ndjson small-1.ndjson packed.ndjson.zst small-4.ndjson small-2.ndjson)

canon() { # canon RECORD: its events, sorted, one JSON per line
    python3 -c 'import json, sys
for l in open(sys.argv[1]): print(json.dumps(json.loads(l), sort_keys=True))' "$1" | sort
}
rejects() { # rejects FILE...: "file offset" of every reject record
    cat "$@" 2>/dev/null | python3 -c 'import json, sys
for l in sys.stdin: r = json.loads(l); print(r["file"], r["offset"])' | sort
}

start_mock all --record all.rec
"$bin" -q --endpoint "$url/batch" --state st.all --report all.json "${inputs[@]}" 2>all.err
[ $? -eq 0 ] && ok || bad "unsharded run: $(cat all.err)"
canon all.rec >all.canon
rejects st.all/rejected.ndjson >all.rej

for n in 2 3 5; do
    start_mock "n$n" --record "n$n.rec"
    copies=()
    for ((i = 0; i < n; i++)); do
        "$bin" -q --endpoint "$url/batch" --shard "$i/$n" --state "st.n$n.{shard}" \
            --report "n$n.{shard}.json" "${inputs[@]}" 2>"n$n.$i.err" &
        copies+=($!)
    done
    wait "${copies[@]}"
    canon "n$n.rec" >"n$n.canon"
    cmp -s all.canon "n$n.canon" && ok || bad "N=$n: the events recorded differ from one run's"
    rejects st.n$n.*/rejected.ndjson >"n$n.rej"
    cmp -s all.rej "n$n.rej" && ok || bad "N=$n: reject records differ from one run's"
    if "$bin" report merge -o "n$n.merged.json" n$n.*-of-$n.json 2>"n$n.merge.err" &&
        python3 -c 'import json, sys
m, a = json.load(open(sys.argv[1])), json.load(open("all.json"))
same = all(m[k] == a[k] for k in ("lines_read", "events_sent", "rejected_local", "skipped"))
reads = sum(json.load(open(f))["bytes_read"] for f in sys.argv[2:])
raise SystemExit(not (same and m["balanced"] and reads <= 1.1 * a["bytes_read"]))' \
            "n$n.merged.json" n$n.*-of-$n.json; then ok; else
        bad "N=$n: merged report: $(cat n$n.merge.err) $(head -c 400 n$n.merged.json)"
    fi
done
# a copy starting mid-file names lines by offset
grep -q '"line":null' st.n5.*/rejected.ndjson && ok || bad "no reject record with line null"

# ---- a copy killed mid-run resumes inside its range ---------------------------
start_mock kill --record kill.rec --latency-ms 50
for i in 0 1 2; do
    "$bin" -q --endpoint "$url/batch" --shard "$i/3" --state "st.kill.{shard}" \
        --report "kill.{shard}.json" --batch-events 200 --concurrency 2 "${inputs[@]}" \
        2>"kill.$i.err" &
    pids[$i]=$!
    track "${pids[$i]}"
done
sleep 1.5
kill -9 "${pids[1]}" 2>/dev/null
wait "${pids[@]}" 2>/dev/null
"$bin" -q --endpoint "$url/batch" --shard 1/3 --state "st.kill.{shard}" --report "kill.{shard}.json" \
    --batch-events 200 --concurrency 2 "${inputs[@]}" 2>kill.again.err
[ $? -eq 0 ] && grep -q '"resumed": true' kill.1-of-3.json && ok ||
    bad "killed copy did not resume: $(cat kill.again.err)"
canon kill.rec | uniq >kill.canon
cmp -s all.canon kill.canon && ok || bad "after a kill and a resume the events differ"
"$bin" report merge kill.*-of-3.json >/dev/null 2>kill.merge.err && ok ||
    bad "merge after the resume: $(cat kill.merge.err)"

# ---- the same event opening two files: two events --------------------------------
printf '{"event_type":"heartbeat","device_id":"device-0001"}\n{"event_type":"a","device_id":"device-0001"}\n' >hour-01.ndjson
printf '{"event_type":"heartbeat","device_id":"device-0001"}\n{"event_type":"b","device_id":"device-0001"}\n' >hour-02.ndjson
start_mock beat --record beat.rec
"$bin" -q --endpoint "$url/batch" --state st.beat hour-01.ndjson hour-02.ndjson 2>beat.err
[ "$(grep -c heartbeat beat.rec)" -eq 2 ] && ok || bad "heartbeats of two files: $(cat beat.rec)"
# and a file sent again keeps its ids: the rerun is deduplicated
"$bin" -q --endpoint "$url/batch" --state st.beat2 hour-01.ndjson 2>>beat.err
[ "$(curl -sf "$url/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["duplicates"])')" -eq 2 ] &&
    ok || bad "a file sent again was not deduplicated"

# ---- --shard auto and {shard} ------------------------------------------------------
SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_COUNT=3 \
    "$bin" --dry-run -q --shard auto --state "st.auto.{shard}" --report "auto.{shard}.json" \
    "${inputs[@]}" 2>auto.err
grep -q '"shard": "1/3"' auto.1-of-3.json && [ -d st.auto.1-of-3 ] && ok ||
    bad "--shard auto with a Slurm array: $(cat auto.err)"
# one task of the array submitted again alone: its array has one task
SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_COUNT=1 "$bin" --dry-run -q --shard auto "${inputs[@]}" \
    >/dev/null 2>again.err
[ $? -eq 2 ] && grep -q "auto/N" again.err && ok || bad "a resubmitted task without N: $(cat again.err)"
SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_COUNT=1 "$bin" --dry-run -q --shard auto/3 \
    --report "again.{shard}.json" --state st.again "${inputs[@]}" 2>again2.err
grep -q '"shard": "1/3"' again.1-of-3.json && ok || bad "--shard auto/3 resubmitted: $(cat again2.err)"
env -u SLURM_ARRAY_TASK_ID JOB_COMPLETION_INDEX=2 "$bin" --dry-run -q --shard auto/4 \
    --report "k8s.{shard}.json" --state st.k8s "${inputs[@]}" 2>k8s.err
grep -q '"shard": "2/4"' k8s.2-of-4.json && ok || bad "--shard auto/4 in an Indexed Job: $(cat k8s.err)"
env -u SLURM_ARRAY_TASK_ID JOB_COMPLETION_INDEX=2 "$bin" --dry-run -q --shard auto \
    "${inputs[@]}" >/dev/null 2>k8s2.err
[ $? -eq 2 ] && grep -q "auto/N" k8s2.err && ok || bad "--shard auto without a count: $(cat k8s2.err)"
"$bin" --dry-run -q --shard 0/2 - <big.ndjson >/dev/null 2>stdin.err
[ $? -eq 2 ] && grep -q "shard-by device" stdin.err && ok || bad "standard input cut: $(cat stdin.err)"

# ---- by device: every copy reads all; the merge checks that each covered all ------------
for i in 0 1; do
    "$bin" --dry-run -q --shard "$i/2" --shard-by device --state "st.dev.{shard}" \
        --report "dev.{shard}.json" "${inputs[@]}" 2>"dev.$i.err"
done
"$bin" report merge dev.0-of-2.json dev.1-of-2.json >dev.merged.json 2>dev.err &&
    python3 -c 'import json; m = json.load(open("dev.merged.json")); a = json.load(open("all.json"))
raise SystemExit(not (m["balanced"] and m["events_valid"] == a["events_sent"]
                      and m["bytes_read"] == 2 * a["bytes_read"]))' && ok ||
    bad "merge by device: $(cat dev.err)"
python3 -c 'import json; r = json.load(open("dev.1-of-2.json")); r["inputs"][0]["part"] = [0, 1]
json.dump(r, open("dev.bad.json", "w"))'
"$bin" report merge dev.0-of-2.json dev.bad.json >/dev/null 2>dev.bad.err
[ $? -eq 3 ] && grep -q "by device, every copy reads all" dev.bad.err && ok ||
    bad "merge by device accepted a partial copy: $(cat dev.bad.err)"

# ---- report merge refuses what is not one whole job ---------------------------------
"$bin" report merge n3.0-of-3.json n3.2-of-3.json >/dev/null 2>m1.err
[ $? -eq 3 ] && grep -q "shard 1/3 is missing" m1.err && ok || bad "missing shard: $(cat m1.err)"
"$bin" report merge n3.0-of-3.json n3.1-of-3.json n3.1-of-3.json n3.2-of-3.json >/dev/null 2>m2.err
[ $? -eq 3 ] && grep -q "appears twice" m2.err && ok || bad "doubled shard: $(cat m2.err)"
"$bin" report merge n3.0-of-3.json n2.1-of-2.json n3.2-of-3.json >/dev/null 2>m3.err
[ $? -eq 3 ] && grep -q "another job" m3.err && ok || bad "mixed jobs: $(cat m3.err)"
python3 -c 'import json; r = json.load(open("n3.1-of-3.json"))
for i in r["inputs"]:
    if i["part"] and i["part"][0] > 0: i["part"][0] -= 10
json.dump(r, open("overlap.json", "w"))'
"$bin" report merge n3.0-of-3.json overlap.json n3.2-of-3.json >/dev/null 2>m4.err
[ $? -eq 3 ] && grep -q "not covered exactly once" m4.err && ok || bad "overlap: $(cat m4.err)"
# a copy stopped by SIGINT: named with what to do, and no merged report
start_mock int --latency-ms 100
"$bin" -q --endpoint "$url/batch" --shard 1/3 --state st.int --report int.1-of-3.json \
    --batch-events 100 --concurrency 1 "${inputs[@]}" 2>int.err &
ipid=$!
track "$ipid"
sleep 1
kill -INT "$ipid"
wait "$ipid"
rc=$?
"$bin" report merge -o int.merged.json n3.0-of-3.json int.1-of-3.json n3.2-of-3.json >int.out 2>m5.err
mrc=$?
"$bin" report merge n3.0-of-3.json int.1-of-3.json n3.2-of-3.json >int.stdout 2>/dev/null
[ "$rc" -eq 6 ] && [ $mrc -eq 3 ] &&
    grep -q "shard 1/3 (int.1-of-3.json) did not finish: it was interrupted, [0-9]* lines read, [0-9]* resolved" m5.err &&
    grep -q "run the command of each shard named again" m5.err && [ ! -e int.merged.json ] &&
    [ ! -s int.out ] && [ ! -s int.stdout ] && ok ||
    bad "merge with an interrupted copy (exit $rc, merge $mrc): $(cat m5.err int.err)"

# ---- a checkpoint of the earlier insert_id scheme ---------------------------------------
mkdir -p st.old
printf '{"version":1,"shard":null,"inputs":[]}\n' >st.old/checkpoint
"$bin" -q --endpoint "$url/batch" --state st.old small-1.ndjson 2>old.err
[ $? -eq 2 ] && grep -q "restart" old.err && ok || bad "version 1 checkpoint: $(cat old.err)"

finish
