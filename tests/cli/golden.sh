#!/usr/bin/env bash
# golden.sh - the exact text and exit code of --help and of usage errors.
# Usage: golden.sh AMPLOAD GOLDEN_DIR      (UPDATE=1 rewrites the golden files)
set -u
bin=$1
gold=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
pass=0
fail=0

# case NAME EXPECTED_EXIT ARGS...: stdout+stderr and the exit code must match NAME.txt
case_() {
    local name=$1 want=$2
    shift 2
    env -u AMPLITUDE_API_KEY -u AMPLITUDE_BASE_URL -u AMPLITUDE_DEBUG "$bin" "$@" >out.txt 2>&1
    local rc=$?
    printf 'exit %d\n' "$rc" >>out.txt
    if [ "${UPDATE:-0}" = 1 ]; then
        cp out.txt "$gold/$name.txt"
    fi
    if [ "$rc" -ne "$want" ] || ! diff -u "$gold/$name.txt" out.txt; then
        echo "FAIL: $name (exit $rc, want $want)"
        fail=$((fail + 1))
    else
        pass=$((pass + 1))
    fi
}

case_ help 0 --help
case_ identify-help 0 identify --help
case_ export-help 0 export --help
case_ check-help 0 check --help
case_ identify-gzip 2 identify --gzip x.ndjson
case_ resend-without-identify 2 --resend-non-idempotent x.ndjson
case_ no-input 2 --dry-run
case_ unknown-option 2 --frobnicate x.ndjson
case_ typo-option 2 --concurency 4 x.ndjson
case_ batch-events-too-big 2 --batch-events 5000 x.ndjson
case_ bad-number 2 --threads two x.ndjson
case_ missing-value 2 x.ndjson --report
case_ api-key-on-command-line 2 --api-key abc x.ndjson
case_ bad-region 2 --region mars x.ndjson
case_ bad-endpoint 2 --endpoint ftp://example.com x.ndjson
case_ no-api-key 4 x.ndjson
AMPLOAD_CONCURRENCY=100 case_ bad-env 2 --dry-run x.ndjson
case_ bad-metrics-port 2 --metrics-port 70000 x.ndjson
case_ missing-ca-file 2 --ca-file /nonexistent/ca.pem x.ndjson
case_ check-unknown-option 2 check --frobnicate
case_ bad-shard 2 --shard 4/4 x.ndjson
case_ bad-shard-form 2 --shard 4 x.ndjson
AMPLOAD_SHARD=2/2 case_ bad-shard-env 2 --dry-run x.ndjson

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
