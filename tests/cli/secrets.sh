#!/usr/bin/env bash
# secrets.sh - the API key never shows: not in output, logs, reports, audit
# files, the state directory, nor in the process's command line; a key file
# others can read draws a warning. Runs a debug (-v) load against ampload-mock.
# Usage: secrets.sh AMPLOAD AMPLOAD_MOCK GEN_EVENTS
set -u
bin=$1
mock=$2
gen=$3
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh"
key="SeCrEt-$(date +%s%N)-k3y"
start_mock mock --api-key "$key" --latency-ms 50
"$gen" -n 5000 --seed 4 --bad-rate 0.05 -o in.ndjson
check() { if [ "$1" = 0 ]; then ok; else bad "$2"; fi; }

# key from a file readable by others: warned about, then used; while it runs
# (25 requests one at a time, 50 ms each) its command line and limits are read
printf '%s\n' "$key" >key.txt
chmod 644 key.txt
"$bin" -v --api-key-file key.txt --endpoint "$url/batch" --state st1 --report r1.json \
    --audit a1.ndjson --batch-events 200 --concurrency 1 in.ndjson >o1.txt 2>e1.txt &
lpid=$!
sleep 0.3
cmdline=$(tr '\0' ' ' <"/proc/$lpid/cmdline" 2>/dev/null)
corelimit=$(sed -n 's/^Max core file size *\([^ ]*\) .*/\1/p' "/proc/$lpid/limits" 2>/dev/null)
wait $lpid
rc=$?
check "$([ $rc -eq 0 ]; echo $?)" "debug run with a key file exited $rc: $(tail -3 e1.txt)"
check "$(grep -q 'can be read by other users' e1.txt; echo $?)" "no warning for a readable key file"
check "$(grep -q 'POST .* attempt 1: .* -> HTTP 200' e1.txt; echo $?)" "no debug line per request"
check "$([ -n "$cmdline" ]; echo $?)" "the run ended before its command line was read"
check "$(case "$cmdline" in *"$key"*) echo 1 ;; *) echo 0 ;; esac)" "key in the command line"
check "$([ "$corelimit" = 0 ]; echo $?)" "core dumps still allowed (limit '$corelimit')"

# key from the environment, and a wrong key whose error the server echoes
AMPLITUDE_API_KEY="$key" AMPLITUDE_DEBUG=1 "$bin" --endpoint "$url/batch" --state st2 \
    --report r2.json --audit a2.ndjson in.ndjson >o2.txt 2>e2.txt
AMPLITUDE_API_KEY="${key}-wrong" "$bin" -v --endpoint "$url/batch" --state st3 --report r3.json \
    in.ndjson >o3.txt 2>e3.txt
check "$([ $? -eq 4 ]; echo $?)" "a wrong key is not a configuration error"

# nowhere: outputs, reports, audit files, state directories
leaks=$(grep -rl -- "$key" o*.txt e*.txt r*.json a*.ndjson st1 st2 st3 2>/dev/null)
check "$([ -z "$leaks" ]; echo $?)" "the key appears in: $leaks"

# the export's secret key: from a file or the environment, in no output,
# audit line, manifest, file, nor the command line
secret="ExPoRtSeCrEt-$(date +%s%N)"
start_mock exp --export --upload-time event --secret-key "$secret" --api-key "$key" --latency-ms 200
AMPLITUDE_API_KEY="$key" "$bin" -q --endpoint "$url/batch" --state st4 in.ndjson
printf '%s\n' "$secret" >secret.txt
chmod 600 secret.txt
AMPLITUDE_API_KEY="$key" "$bin" export -v --secret-key-file secret.txt --endpoint \
    "$url/api/2/export" --start 20231114T00 --end 20231115T23 -o ex --audit ax.ndjson \
    >o4.txt 2>e4.txt &
lpid=$!
sleep 0.1
cmdline=$(tr '\0' ' ' <"/proc/$lpid/cmdline" 2>/dev/null)
wait $lpid
rc=$?
check "$([ $rc -eq 0 ]; echo $?)" "export exited $rc: $(tail -3 e4.txt)"
check "$(grep -q 'attempt 1: HTTP 200' e4.txt; echo $?)" "no debug line per export request"
check "$([ "$(wc -l <ax.ndjson)" -ge 2 ]; echo $?)" "no export audit lines"
check "$(case "$cmdline" in *"$secret"* | *"$key"*) echo 1 ;; *) echo 0 ;; esac)" \
    "a key in the export's command line"
AMPLITUDE_API_KEY="$key" AMPLITUDE_SECRET_KEY="${secret}-wrong" "$bin" export -v --endpoint \
    "$url/api/2/export" --start 20231114T00 --end 20231115T23 -o ex2 >o5.txt 2>e5.txt
check "$([ $? -eq 4 ]; echo $?)" "a wrong secret is not a configuration error"
leaks=$(grep -rlF -e "$secret" -e "$key" o4.txt e4.txt o5.txt e5.txt ax.ndjson ex ex2 2>/dev/null)
check "$([ -z "$leaks" ]; echo $?)" "a key appears in: $leaks"

# one audit line per request the loader made
req=$(sed -n 's/.*"requests": \([0-9]*\).*/\1/p' r1.json | head -1)
check "$([ "$(wc -l <a1.ndjson)" -eq "$req" ] && [ "$req" -gt 0 ]; echo $?)" \
    "audit lines $(wc -l <a1.ndjson) != requests $req"
check "$(grep -q '"latency_ms": {"p50": [0-9]*, "p95": [0-9]*, "p99"' r1.json; echo $?)" \
    "no latency percentiles in the report"
check "$(grep -q '"status_counts": {"200": ' r1.json; echo $?)" "no status histogram in the report"

finish
