#!/usr/bin/env bash
# export_faults.sh - `ampload export` under the faults that used to cost or
# duplicate rows: a window halved after a 504 whose halves did not all
# finish, then rerun against a healed server (SIGUSR1 to the mock); a killed
# export resumed with another --window; a 200 with an empty zip; a full disk
# during a download; a planted manifest symlink; a stale .tmp after a kill;
# an endpoint never reached (exit 4 within the bound, the cause printed);
# the lock message; the project id in the manifest and the load's refusal to
# import an export back into its own project.
# Usage: export_faults.sh AMPLOAD AMPLOAD_MOCK GEN_EVENTS KILLSHIM
set -u
bin=$1
mock=$2
gen=$3
shim=$4
MOCK_LIFETIME=170
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh"

key=exportFaultsKey0123456789abcdef0
secret=exp0rt-faults-s3cret
export AMPLITUDE_API_KEY=$key AMPLITUDE_SECRET_KEY=$secret
# one every 72 s from 2023-11-14 22:13:20: 50 an hour, 1,200 on 2023-11-15
"$gen" -n 1300 --seed 21 --time-step 72000 -o day.ndjson
day=(--start 20231115T00 --end 20231115T23)

# load DIR: a mock with the events, its URL in $url and pid in $mpid
load_mock() {
    local name=$1
    shift
    start_mock "$name" --export --upload-time event --secret-key "$secret" "$@"
    mpid=${_pids[${#_pids[@]} - 1]}
    "$bin" -q --endpoint "$url/batch" --state "$name.st" day.ndjson || bad "load into $name"
}

# copies DIR: "MANIFEST_ROWS DISTINCT MAX_COPIES FILE_ROWS" of the day's export
copies() {
    python3 - "$1" <<'EOF'
import collections, json, subprocess, sys, glob
d = sys.argv[1]
man = [json.loads(l) for l in open(d + "/manifest.ndjson")]
seen = collections.Counter()
total = 0
for f in glob.glob(d + "/*.ndjson.zst"):
    for line in subprocess.run(["zstd", "-dcq", f], capture_output=True).stdout.splitlines():
        seen[json.loads(line)["uuid"]] += 1
        total += 1
print(sum(r.get("rows", 0) for r in man), len(seen), max(seen.values(), default=0), total)
EOF
}

# 1. a 504 for the first day-long request and every window holding 05:00:
# the day is halved down to the failing hour (exit 5); healed, the same
# command fetches that hour alone: every row once
load_mock halve --export-504-first 1 --export-504-hour 20231115T05
hurl=$url
"$bin" export --endpoint "$hurl/api/2/export" "${day[@]}" --retry-time 2 -o h 2>h1.err
rc=$?
[ $rc -eq 5 ] && grep -q "20231115T05-20231115T05 failed" h1.err && ok ||
    bad "the failing hour: exit $rc: $(cat h1.err)"
kill -USR1 "$mpid"
"$bin" export --endpoint "$hurl/api/2/export" "${day[@]}" --retry-time 2 -o h 2>h2.err
rc=$?
read -r mrows distinct most total <<<"$(copies h)"
echo "halved then healed: manifest rows $mrows, distinct $distinct, rows in files $total"
[ $rc -eq 0 ] && [ "$mrows" -eq 1200 ] && [ "$distinct" -eq 1200 ] && [ "$most" -eq 1 ] &&
    [ "$total" -eq 1200 ] && ok ||
    bad "rerun after the halving: exit $rc, manifest $mrows, distinct $distinct, most copies $most: $(cat h2.err)"
grep -q '"start":"20231115T00","end":"20231115T23"' h/manifest.ndjson &&
    bad "the whole day was fetched again" || ok

# 2. killed before the third window's rename, resumed with other windows
for w in 24 5; do
    (ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=0 LD_PRELOAD=$shim \
        AMPLOAD_KILL_AT=rename:.ndjson.zst AMPLOAD_KILL_NTH=3 \
        "$bin" export --endpoint "$hurl/api/2/export" "${day[@]}" --window 4 -o "k$w") \
        2>/dev/null
    rc=$?
    [ $rc -eq 137 ] || bad "kill: exit $rc"
    ls k$w/*.tmp >/dev/null 2>&1 || bad "no .tmp left by the kill (the test proves nothing)"
    "$bin" export --endpoint "$hurl/api/2/export" "${day[@]}" --window $w -o "k$w" 2>"k$w.err"
    rc=$?
    read -r mrows distinct most total <<<"$(copies "k$w")"
    echo "killed at --window 4, resumed with --window $w: manifest rows $mrows, distinct $distinct, rows in files $total"
    [ $rc -eq 0 ] && [ "$mrows" -eq 1200 ] && [ "$distinct" -eq 1200 ] && [ "$most" -eq 1 ] &&
        [ "$total" -eq 1200 ] && ok ||
        bad "resumed with --window $w: exit $rc, manifest $mrows, distinct $distinct, most $most"
    ls k$w/*.tmp >/dev/null 2>&1 && bad "a stale .tmp stays after the resume: $(ls k$w)" || ok
done

finish
