#!/usr/bin/env bash
# array.sh - scripts/slurm/ampload-array.sbatch on a real one-node Slurm
# cluster started here (slurmctld, slurmd and munged from Debian's
# slurm-wlm and munge, in a temporary directory, on free loopback ports;
# each stopped by its pid at the end):
#   - a 4-task array loads several plain files, one large plain file, a
#     zstd file and invalid lines into one ampload-mock: every valid event
#     recorded once (the same events and insert_ids as one unsharded run),
#     each invalid line in exactly one task's reject file, the merged report
#     balanced, the tasks' bytes read within 1.1x the input;
#   - the same with task 1 cancelled (scancel) mid-run and submitted again
#     alone: it resumes from its checkpoint and the totals are still exact.
# Exits 77 (skipped) when Slurm is not installed; scripts/test.sh installs it.
# Usage: array.sh AMPLOAD AMPLOAD_MOCK GEN_EVENTS SBATCH_SCRIPT
set -u
bin=$1
mock=$2
gen=$3
script=$4
for c in slurmctld slurmd munged sbatch squeue scancel; do
    command -v "$c" >/dev/null || { echo "SKIP: $c is not installed"; exit 77; }
done
MOCK_LIFETIME=400
. "$(dirname "$0")/../cli/lib.sh"

# ---- the cluster -------------------------------------------------------------
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
host=$(hostname -s)
mkdir -p sl/munge sl/state sl/spool sl/log sl/jobs
chmod 700 sl/munge
mungekey -c -k sl/munge/munge.key -f >/dev/null 2>&1 || dd if=/dev/urandom of=sl/munge/munge.key bs=1024 count=1 2>/dev/null
chmod 600 sl/munge/munge.key
munged --force -S "$PWD/sl/munge/sock" --key-file="$PWD/sl/munge/munge.key" \
    --log-file="$PWD/sl/munge/log" --pid-file="$PWD/sl/munge/pid" --seed-file="$PWD/sl/munge/seed" ||
    { echo "FAIL: munged did not start"; exit 1; }
track "$(cat sl/munge/pid)"
cat >sl/slurm.conf <<EOF
ClusterName=ampload-test
SlurmctldHost=$host(127.0.0.1)
SlurmUser=$(id -un)
SlurmdUser=$(id -un)
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
AuthType=auth/munge
AuthInfo=socket=$PWD/sl/munge/sock
CredType=cred/munge
StateSaveLocation=$PWD/sl/state
SlurmdSpoolDir=$PWD/sl/spool
SlurmctldPidFile=$PWD/sl/slurmctld.pid
SlurmdPidFile=$PWD/sl/slurmd.pid
SlurmctldLogFile=$PWD/sl/log/slurmctld.log
SlurmdLogFile=$PWD/sl/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
KillWait=5
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=2000 State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
EOF
export SLURM_CONF=$PWD/sl/slurm.conf
slurmctld -f "$SLURM_CONF" || { echo "FAIL: slurmctld: $(tail -5 sl/log/slurmctld.log)"; exit 1; }
for _ in $(seq 50); do [ -s sl/slurmctld.pid ] && break; sleep 0.1; done
track "$(cat sl/slurmctld.pid)"
slurmd -f "$SLURM_CONF" -N "$host" || { echo "FAIL: slurmd: $(tail -5 sl/log/slurmd.log)"; exit 1; }
for _ in $(seq 50); do [ -s sl/slurmd.pid ] && break; sleep 0.1; done
track "$(cat sl/slurmd.pid)"
for _ in $(seq 100); do sinfo -h -o %T 2>/dev/null | grep -q idle && break; sleep 0.2; done
sinfo -h -o %T | grep -q idle && ok || { bad "the node never became idle: $(sinfo 2>&1)"; finish; exit 1; }

# ---- the job's inputs and the reference run ---------------------------------------
export AMPLOAD=$bin AMPLOAD_SHARDS=4
"$gen" -n 60000 --seed 51 --bad-rate 0.01 --insert-id-rate 0 -o large.ndjson
for k in 1 2 3 4 5; do
    "$gen" -n 2000 --seed $((60 + k)) --bad-rate 0.02 --insert-id-rate 0 -o "day-$k.ndjson"
done
"$gen" -n 8000 --seed 69 --bad-rate 0.01 --insert-id-rate 0 | zstd -q -o packed.ndjson.zst
inputs=("$PWD"/day-*.ndjson "$PWD/large.ndjson" "$PWD/packed.ndjson.zst")
umask 077
printf 'key-slurm-array-0123456789\n' >key.txt
export AMPLOAD_API_KEY_FILE=$PWD/key.txt

canon() { python3 -c 'import json, sys
for l in open(sys.argv[1]): print(json.dumps(json.loads(l), sort_keys=True))' "$1" | sort; }
rejects() { cat "$@" 2>/dev/null | python3 -c 'import json, sys
for l in sys.stdin: r = json.loads(l); print(r["file"], r["offset"])' | sort; }

start_mock ref --record ref.rec
"$bin" -q --api-key-file key.txt --endpoint "$url/batch" --state st.ref --report ref.json \
    "${inputs[@]}" 2>ref.err || bad "the unsharded run: $(cat ref.err)"
canon ref.rec >ref.canon
rejects st.ref/rejected.ndjson >ref.rej

# check NAME: the job's records, rejects and merged report against the reference
check() {
    local name=$1
    canon "$name.rec" | uniq >"$name.canon"
    cmp -s ref.canon "$name.canon" && ok || bad "$name: the events recorded differ from one run's"
    rejects "$name"/*-of-4/rejected.ndjson >"$name.rej"
    cmp -s ref.rej "$name.rej" && ok || bad "$name: invalid lines not each in exactly one reject file"
    if "$bin" report merge -o "$name.merged.json" "$name"/reports/report-*-of-4.json 2>"$name.merge.err" &&
        python3 -c 'import json, sys
m, a = json.load(open(sys.argv[1])), json.load(open("ref.json"))
same = all(m[k] == a[k] for k in ("lines_read", "events_sent", "rejected_local", "skipped"))
raise SystemExit(not (same and m["balanced"] and m["shards"] == 4
                      and m["bytes_read"] <= 1.1 * a["bytes_read"]))' "$name.merged.json"; then ok; else
        bad "$name: merged report: $(cat "$name.merge.err") $(head -c 500 "$name.merged.json")"
    fi
}

# ---- the array ----------------------------------------------------------------------
start_mock job --record job.rec
AMPLOAD_STATE_ROOT=$PWD/job AMPLOAD_ARGS="-q --endpoint $url/batch" \
    timeout 300 sbatch --array=0-3 --wait --output="$PWD/sl/jobs/job-%A_%a.log" "$script" \
    "${inputs[@]}" >job.out 2>&1
[ $? -eq 0 ] && ok || bad "sbatch --array=0-3: $(cat job.out sl/jobs/job-*.log)"
check job

# ---- task 1 cancelled mid-run, then submitted again alone -----------------------------
start_mock again --record again.rec --latency-ms 50
AMPLOAD_STATE_ROOT=$PWD/again AMPLOAD_ARGS="-q --endpoint $url/batch --batch-events 100 --concurrency 1" \
    sbatch --array=0-3 --parsable --output="$PWD/sl/jobs/again-%A_%a.log" "$script" "${inputs[@]}" \
    >again.id 2>again.err
job=$(cut -d';' -f1 <again.id)
# wait until task 1 has a checkpoint, then cancel it
for _ in $(seq 300); do [ -s again/1-of-4/checkpoint ] && break; sleep 0.1; done
scancel "${job}_1"
for _ in $(seq 600); do
    [ -z "$(squeue -h -j "$job" 2>/dev/null)" ] && break
    sleep 0.2
done
# scancel sends SIGTERM: the copy drains, checkpoints and says it was interrupted
grep -q '"interrupted": true' again/reports/report-1-of-4.json && ok ||
    bad "task 1 was not interrupted by scancel: $(cat sl/jobs/again-*_1.log)"
AMPLOAD_STATE_ROOT=$PWD/again AMPLOAD_ARGS="-q --endpoint $url/batch --batch-events 100 --concurrency 1" \
    timeout 300 sbatch --array=1 --wait --output="$PWD/sl/jobs/again1-%A_%a.log" "$script" \
    "${inputs[@]}" >again1.out 2>&1
[ $? -eq 0 ] && grep -q '"resumed": true' again/reports/report-1-of-4.json && ok ||
    bad "task 1 submitted again did not resume: $(cat again1.out sl/jobs/again1-*.log)"
check again

# ---- the key stays out of what Slurm keeps and prints ----------------------------------
if grep -rqF "key-slurm-array" sl/jobs sl/log job again job.out; then
    bad "the key appears in a log or state file"
else ok; fi

# stop the daemons by pid, and wait until they are gone
for f in sl/slurmd.pid sl/slurmctld.pid sl/munge/pid; do
    pid=$(cat "$f" 2>/dev/null) || continue
    kill "$pid" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
done
finish
