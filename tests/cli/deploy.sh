#!/usr/bin/env bash
# deploy.sh - the shipped scheduler files stay in step with the options:
# deploy/k8s/indexed-job.yaml's completions, parallelism and --shard auto/N
# agree, the key comes from a mounted Secret file (never the environment),
# the inputs are read from a bucket with credentials from a Secret file,
# and its ampload arguments, run here as pod 3 would run them (the bucket and
# paths swapped for local ones, --dry-run), are accepted and give shard 3/8;
# scripts/slurm/ampload-array.sbatch passes --shard auto/$AMPLOAD_SHARDS.
# Usage: deploy.sh AMPLOAD GEN_EVENTS SOURCE_DIR
set -u
bin=$1
gen=$2
src=$3
. "$(dirname "$0")/lib.sh"
yaml=$src/deploy/k8s/indexed-job.yaml
sbatch=$src/scripts/slurm/ampload-array.sbatch

completions=$(sed -n 's/^ *completions: *\([0-9]*\).*/\1/p' "$yaml")
parallelism=$(sed -n 's/^ *parallelism: *\([0-9]*\).*/\1/p' "$yaml")
mapfile -t args < <(sed -n '/^ *args:/,/^ *resources:/p' "$yaml" | sed -n 's/^ *- "\(.*\)"$/\1/p')
shard=""
for ((i = 0; i < ${#args[@]}; i++)); do [ "${args[$i]}" = --shard ] && shard=${args[$((i + 1))]}; done
[ -n "$completions" ] && [ "$completions" = "$parallelism" ] && [ "$shard" = "auto/$completions" ] &&
    ok || bad "indexed-job.yaml: completions $completions, parallelism $parallelism, --shard $shard"
grep -q 'backoffLimitPerIndex' "$yaml" && grep -q 'completionMode: Indexed' "$yaml" && ok ||
    bad "indexed-job.yaml: not an Indexed Job with a per-index backoff"
grep -q -- '--api-key-file' "$yaml" && ! grep -q 'AMPLITUDE_API_KEY' "$yaml" && ok ||
    bad "indexed-job.yaml: the key must come from the Secret file"
# the inputs come from a bucket, read by each pod for its share: no volume
grep -q '"s3://' "$yaml" && ! grep -q 'claimName: backfill-inputs' "$yaml" &&
    ! grep -q 'AWS_SECRET_ACCESS_KEY' "$yaml" && grep -q 'AWS_SHARED_CREDENTIALS_FILE' "$yaml" && ok ||
    bad "indexed-job.yaml: the inputs must be read from the bucket, its credentials from a Secret file"

# pod 3's command, with local stand-ins for the volumes
"$gen" -n 2000 --seed 3 -o events.ndjson
"$gen" -n 2000 --seed 4 | zstd -q -o more.ndjson.zst
umask 077
echo "key-deploy-test-0123456789" >api-key
local_args=()
for a in "${args[@]}"; do
    case $a in
    /secrets/*) a=$PWD/api-key ;;
    /state/*) a=$PWD/state${a#/state} ;;
    s3://*) continue ;; # the bucket: local stand-ins below
    esac
    local_args+=("$a")
done
mkdir -p state/reports
JOB_COMPLETION_INDEX=3 "$bin" --dry-run -q "${local_args[@]}" events.ndjson more.ndjson.zst 2>pod.err
[ $? -eq 0 ] && grep -q '"shard": "3/8"' state/reports/report-3-of-8.json && [ -d state/3-of-8 ] &&
    ok || bad "the Job's arguments: $(cat pod.err)"

grep -q -- '--shard "auto/$shards"' "$sbatch" && grep -q 'AMPLOAD_SHARDS:?' "$sbatch" && ok ||
    bad "ampload-array.sbatch must take N from AMPLOAD_SHARDS"
finish
