#!/usr/bin/env bash
# export_faults.sh - `ampload export` under the faults that used to cost or
# duplicate rows: a window halved after a 504 whose halves did not all
# finish, then rerun against a healed server (SIGUSR1 to the mock); a killed
# export resumed with another --window; a 200 with an empty zip; a full disk
# during a download; a planted manifest symlink; a stale .tmp after a kill;
# an endpoint never reached (exit 4 within the bound, the cause printed);
# the lock message; the project id in the manifest and the load's refusal to
# import an export back into its own project (its files, a zip of them, a dry
# run, check), and to load the export's manifest or lock file as rows.
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


# 3. the manifest records the project (a hash of the key, never the key or
# a part of it); loading the export back into the same project is refused
python3 - h/manifest.ndjson "$key" <<'EOF' && ok || bad "the project in the manifest: $(head -2 h/manifest.ndjson)"
import json, re, sys
key = sys.argv[2]
for line in open(sys.argv[1]):
    p = json.loads(line)["project"]
    assert re.fullmatch("[0-9a-f]{16}", p), p
    assert p not in key and key[:8] not in line and key[-8:] not in line
EOF
"$bin" -q --from amplitude-export --endpoint "$hurl/batch" --state same h/*.ndjson.zst 2>same.err
rc=$?
[ $rc -eq 3 ] && grep -q "export of the project they would be loaded into" same.err &&
    grep -q "h/manifest.ndjson" same.err && grep -q -- "--allow-same-project" same.err && ok ||
    bad "a re-import into the source project: exit $rc: $(cat same.err)"
[ -e same ] && bad "the refused load made its state directory" || ok
AMPLITUDE_API_KEY=destinationKey0123456789abcdef01 "$bin" -q --from amplitude-export \
    --endpoint "$hurl/batch" --state other h/*.ndjson.zst 2>other.err
rc=$?
[ $rc -eq 0 ] && ok || bad "into another project: exit $rc: $(cat other.err)"
mkdir loose && cp h/20231115T05-20231115T05.ndjson.zst loose/
"$bin" -q --from amplitude-export --endpoint "$hurl/batch" --state loose.st \
    loose/*.ndjson.zst 2>loose.err
rc=$?
[ $rc -eq 0 ] && ok || bad "an input without a manifest: exit $rc: $(cat loose.err)"
"$bin" -q --from amplitude-export --endpoint "$hurl/batch" --state again --allow-same-project \
    h/20231115T05-20231115T05.ndjson.zst 2>again.err
rc=$?
[ $rc -eq 0 ] && ok || bad "--allow-same-project: exit $rc: $(cat again.err)"

# a zip of the export directory is the same export: its manifest member
# records the project
ls h/lock >/dev/null || bad "no lock file in the export directory (the tests below prove less)"
(cd h && zip -qj ../ex.zip ./*.ndjson.zst manifest.ndjson)
mkdir zipped && cp ex.zip zipped/
"$bin" -q --from amplitude-export --endpoint "$hurl/batch" --state zs zipped/ex.zip 2>zs.err
rc=$?
[ $rc -eq 3 ] && grep -q "zipped/ex.zip:manifest.ndjson records this API key's project" zs.err &&
    ok || bad "a zip of the export into the source project: exit $rc: $(cat zs.err)"
[ -e zs ] && bad "the refused zip load made its state directory" || ok
# a dry run and check say the same before anything is sent
"$bin" -q --from amplitude-export --dry-run --state zd zipped/ex.zip 2>zd.err
rc=$?
[ $rc -eq 3 ] && grep -q "records this API key's project" zd.err && ok ||
    bad "a dry run into the source project: exit $rc: $(cat zd.err)"
"$bin" -q --from amplitude-export --dry-run --state hd h/*.ndjson.zst 2>hd.err
rc=$?
[ $rc -eq 3 ] && grep -q "h/manifest.ndjson records this API key's project" hd.err && ok ||
    bad "a dry run of the files into the source project: exit $rc: $(cat hd.err)"
"$bin" check --from amplitude-export --endpoint "$hurl/batch" zipped/ex.zip >zc.out 2>&1
rc=$?
[ $rc -eq 3 ] && grep -q "project .*records this API key's project" zc.out &&
    grep -q -- "--allow-same-project" zc.out && grep -q "checks failed" zc.out && ok ||
    bad "check of a re-import into the source project: exit $rc: $(cat zc.out)"
"$bin" check --from amplitude-export --endpoint "$hurl/batch" --allow-same-project \
    zipped/ex.zip >zca.out 2>&1
rc=$?
[ $rc -eq 0 ] && ok || bad "check with --allow-same-project: exit $rc: $(cat zca.out)"
# into another project: every row, the manifest member skipped (no rejects)
dest=destinationKey0123456789abcdef01
AMPLITUDE_API_KEY=$dest "$bin" -q --from amplitude-export --endpoint "$hurl/batch" --state zo \
    --report zo.json zipped/ex.zip 2>zo.err
rc=$?
[ $rc -eq 0 ] && grep -q '"events_sent": 1200,' zo.json && grep -q '"zip_entries_skipped": 1,' zo.json && ok ||
    bad "the zip into another project: exit $rc: $(cat zo.err) $(grep -E 'events_|zip_' zo.json)"
# the export's own files named as inputs (h/*): refused before anything is sent
AMPLITUDE_API_KEY=$dest "$bin" -q --from amplitude-export --endpoint "$hurl/batch" --state ho \
    h/* 2>ho.err
rc=$?
[ $rc -eq 2 ] && [ ! -e ho ] &&
    grep -q "h/lock is the export's lock file, not rows: leave it out, e.g. h/\*.ndjson.zst" ho.err &&
    ok || bad "h/* with the lock file: exit $rc: $(cat ho.err)"
AMPLITUDE_API_KEY=$dest "$bin" -q --from amplitude-export --endpoint "$hurl/batch" --state ho2 \
    h/*.zst h/manifest.ndjson 2>ho.err
rc=$?
[ $rc -eq 2 ] && [ ! -e ho2 ] &&
    grep -q "h/manifest.ndjson is the export's manifest, not rows: leave it out" ho.err && ok ||
    bad "the manifest as an input: exit $rc: $(cat ho.err)"
AMPLITUDE_API_KEY=$dest "$bin" check --from amplitude-export --endpoint "$hurl/batch" \
    h/manifest.ndjson >hc.out 2>&1
rc=$?
[ $rc -eq 2 ] && grep -q "is the export's manifest, not rows" hc.out && ok ||
    bad "check of the manifest as an input: exit $rc: $(cat hc.out)"
# a plain load (no --from amplitude-export) keeps its rules: a member is a member
mkdir plainzip && printf '{"event_type":"e","user_id":"user-1","time":1700000000000}\n' >plainzip/manifest.ndjson
(cd plainzip && zip -q ../plain.zip manifest.ndjson)
AMPLITUDE_API_KEY=$dest "$bin" -q --endpoint "$hurl/batch" --state pz --report pz.json plain.zip \
    2>pz.err
rc=$?
[ $rc -eq 0 ] && grep -q '"events_sent": 1,' pz.json && ok ||
    bad "a plain zip with a member named manifest.ndjson: exit $rc: $(cat pz.err)"

# an export directory of another project is not mixed into
AMPLITUDE_API_KEY=destinationKey0123456789abcdef01 "$bin" export --endpoint "$hurl/api/2/export" \
    --start 20231116T00 --end 20231116T01 -o h 2>mix.err
rc=$?
[ $rc -eq 2 ] && grep -q "another output directory" mix.err && ok ||
    bad "another project's key into h: exit $rc: $(cat mix.err)"

# 4. AMPLITUDE_BASE_URL is the export's too; --endpoint wins over it
AMPLITUDE_BASE_URL=$hurl "$bin" export "${day[@]}" --retry-time 2 -o base 2>base.err
rc=$?
[ $rc -eq 0 ] && [ "$(copies base | cut -d' ' -f1)" -eq 1200 ] && ok ||
    bad "export with AMPLITUDE_BASE_URL: exit $rc: $(tail -3 base.err)"
AMPLITUDE_BASE_URL=$hurl "$bin" export --endpoint http://127.0.0.1:9/api/2/export "${day[@]}" \
    --retry-time 1 -o base2 2>base2.err
rc=$?
[ $rc -eq 4 ] && grep -q "from --endpoint" base2.err && ok ||
    bad "--endpoint over AMPLITUDE_BASE_URL: exit $rc: $(cat base2.err)"

# 5. an endpoint never reached: exit 4 with the cause, within the smaller of
# 30 s and --retry-time (the default --retry-time is 600)
t0=$(date +%s)
"$bin" export --endpoint http://127.0.0.1:9/api/2/export "${day[@]}" -o never 2>never.err
rc=$?
t=$(($(date +%s) - t0))
echo "never connected, default --retry-time: exit $rc after $t s"
[ $rc -eq 4 ] && [ $t -le 35 ] &&
    grep -q "ampload export: cannot connect to 127.0.0.1:9: connection refused" never.err &&
    grep -q "attempt 1 failed: cannot connect" never.err && ok ||
    bad "a closed port: exit $rc after $t s: $(cat never.err)"
t0=$(date +%s)
"$bin" export --endpoint http://127.0.0.1:9/api/2/export "${day[@]}" --retry-time 3 -o never3 \
    2>never3.err
rc=$?
t=$(($(date +%s) - t0))
[ $rc -eq 4 ] && [ $t -le 5 ] && ok || bad "a closed port, --retry-time 3: exit $rc after $t s"
"$bin" export --endpoint http://no-such-host.invalid/api/2/export "${day[@]}" --retry-time 2 \
    -o dns 2>dns.err
rc=$?
[ $rc -eq 4 ] && grep -q "cannot resolve host name no-such-host.invalid" dns.err && ok ||
    bad "a name that does not resolve: exit $rc: $(cat dns.err)"
# a certificate no CA vouches for: the TLS handshake fails, nothing connects
openssl req -x509 -newkey rsa:2048 -nodes -keyout tls.key -out tls.crt -days 2 \
    -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" 2>/dev/null
start_mock tls --export --secret-key "$secret" --tls-cert tls.crt --tls-key tls.key
"$bin" export --endpoint "$url/api/2/export" "${day[@]}" --retry-time 2 -o tls 2>tls.err
rc=$?
[ $rc -eq 4 ] && grep -q "TLS: .*certificate" tls.err && ok ||
    bad "an untrusted certificate: exit $rc: $(cat tls.err)"
# once connected, a server gone away is a fault retried within --retry-time
load_mock gone --latency-ms 400
"$bin" export --endpoint "$url/api/2/export" "${day[@]}" --window 1 --retry-time 2 -o gone \
    2>gone.err &
epid=$!
track $epid
for _ in $(seq 100); do [ -s gone/manifest.ndjson ] && break; sleep 0.1; done
kill "$mpid"
wait $epid
rc=$?
[ $rc -eq 5 ] && grep -q "attempt 1 failed: " gone.err && ok ||
    bad "a server gone after the first window: exit $rc: $(tail -3 gone.err)"

# 6. a 200 carrying an empty zip is a fault, retried: never a finished window
load_mock emptyzip --export-empty-zip 1
"$bin" export --endpoint "$url/api/2/export" "${day[@]}" --retry-time 10 -o ez 2>ez.err
rc=$?
[ $rc -eq 0 ] && [ "$(copies ez)" = "1200 1200 1 1200" ] && grep -q "empty zip" ez.err &&
    ! grep -q '"rows":0' ez/manifest.ndjson && ok ||
    bad "an empty zip with 200: exit $rc: $(cat ez/manifest.ndjson) $(cat ez.err)"

# 7. a full disk (here: a file size limit) stops at once, naming the file
t0=$(date +%s)
(ulimit -f 40 && "$bin" export --endpoint "$hurl/api/2/export" "${day[@]}" --retry-time 20 \
    -o full 2>full.err)
rc=$?
t=$(($(date +%s) - t0))
[ $rc -eq 1 ] && [ $t -le 5 ] &&
    grep -q "cannot write .*full/download.zip.part: File too large" full.err &&
    ! grep -q "S3" full.err && ok || bad "a full disk: exit $rc after $t s: $(cat full.err)"

# 8. a planted manifest symlink is refused, its target untouched
mkdir sl
printf 'precious, no newline' >precious.txt
ln -s ../precious.txt sl/manifest.ndjson
"$bin" export --endpoint "$hurl/api/2/export" "${day[@]}" -o sl 2>sl.err
rc=$?
[ $rc -ne 0 ] && [ "$(cat precious.txt)" = "precious, no newline" ] &&
    grep -q "symbolic link" sl.err && ok ||
    bad "a manifest symlink: exit $rc, target now '$(cat precious.txt)': $(cat sl.err)"

# 9. the lock names the output directory, not --state
load_mock slowx --latency-ms 3000
"$bin" export --endpoint "$url/api/2/export" "${day[@]}" -o busy 2>/dev/null &
bpid=$!
track $bpid
for _ in $(seq 50); do [ -e busy/lock ] && break; sleep 0.1; done
"$bin" export --endpoint "$url/api/2/export" "${day[@]}" -o busy 2>busy.err
rc=$?
kill "$bpid" 2>/dev/null
wait "$bpid" 2>/dev/null
[ $rc -eq 2 ] && grep -q "busy is in use by another export" busy.err &&
    grep -q -- "-o DIR" busy.err && ! grep -q -- "--state" busy.err && ok ||
    bad "the lock message: exit $rc: $(cat busy.err)"

# the keys were never written anywhere but the input
if grep -rlF -e "$secret" -e "$key" --exclude=day.ndjson . >keys.found 2>/dev/null; then
    bad "a key appears in: $(head -3 keys.found)"
else
    ok
fi
finish
