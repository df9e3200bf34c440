#!/usr/bin/env bash
# export.sh - `ampload export` against ampload-mock's Export API: windows
# that never overlap and cover the range, 400 windows halved and completed,
# 404 windows recorded empty, an hour too large failed clearly while the
# others complete, faults retried, kills at exact steps (an LD_PRELOAD shim
# around rename/fsync/unlink) and at random moments followed by a rerun
# ending with identical files and manifest, wrong keys refused, the secret
# key nowhere, and the export loaded back with --from amplitude-export.
# Usage: export.sh AMPLOAD AMPLOAD_MOCK GEN_EVENTS KILLSHIM
set -u
bin=$1
mock=$2
gen=$3
shim=$4
# the whole script uses its first mock: let it live as long as ctest allows
MOCK_LIFETIME=290
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh"

key=exportProjectKey0123456789abcdef
secret=exp0rt-s3cret-never-shown
export AMPLITUDE_API_KEY=$key AMPLITUDE_SECRET_KEY=$secret
# 20,000 events, one every 20 s: 180 an hour from 2023-11-14 22:13 UTC on
"$gen" -n 20000 --seed 17 --time-step 20000 -o a.ndjson
start_mock m --export --upload-time event --secret-key "$secret" --export-max-events 2500 \
    --record-dir .
murl=$url
AMPLITUDE_API_KEY=$key "$bin" -q --endpoint "$murl/batch" --state sa a.ndjson || bad "load"

range=(--start 20231114T00 --end 20231120T23)
run_export() { # DIR [ARGS...]: exit code
    local dir=$1
    shift
    "$bin" export --endpoint "$murl/api/2/export" "${range[@]}" -o "$dir" "$@" 2>>"$dir.err"
}
snapshot() { # DIR: the names and hashes of its files, and the manifest
    (cd "$1" && sha256sum -- *.ndjson.zst manifest.ndjson)
}

# 1. the reference run: days over 2500 rows are halved; the last day is empty
run_export ref
rc=$?
[ $rc -eq 0 ] && ok || bad "export: exit $rc: $(cat ref.err)"
python3 - ref/manifest.ndjson <<'EOF' && ok || bad "the manifest's windows"
import datetime, hashlib, json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
h = lambda s: datetime.datetime.strptime(s, "%Y%m%dT%H")
spans = sorted((h(r["start"]), h(r["end"]), r) for r in rows)
at = h("20231114T00")
for s, e, r in spans:  # contiguous, never overlapping, the end hour included
    assert s == at, (s, at)
    assert e >= s
    at = e + datetime.timedelta(hours=1)
assert at == h("20231121T00"), at
assert any(r["status"] == "empty" for r in rows)
assert any((e - s).total_seconds() == 11 * 3600 for s, e, r in spans)  # halved days
assert sum(r.get("rows", 0) for r in rows) == 20000
for r in rows:
    if r["status"] == "done":
        data = open("ref/" + r["file"], "rb").read()
        assert hashlib.sha256(data).hexdigest() == r["sha256"] and len(data) == r["bytes"]
EOF
[ "$(zstd -dc ref/*.ndjson.zst | wc -l)" -eq 20000 ] && ok || bad "rows in the files"
grep -q "HTTP 400 (over 4 GB): halved" ref.err && ok || bad "no halving reported"
run_export ref
rc=$?
[ $rc -eq 0 ] && grep -q "0 done, 0 empty, 7 done before" ref.err && ok ||
    bad "a rerun of a finished export: exit $rc"

# a manifest line torn by a power cut is cut off, not built on
cp -r ref torn
printf '{"start":"20231121T00","end":"2023' >>torn/manifest.ndjson
run_export torn
rc=$?
[ $rc -eq 0 ] && [ "$(snapshot torn)" = "$(snapshot ref)" ] && ok ||
    bad "after a torn manifest line: exit $rc: $(tail -c 200 torn/manifest.ndjson)"

# 2. the export loads back: project B gets what A got (plus each row's event_id)
AMPLITUDE_API_KEY=projectBkey0123456789abcdef0123 "$bin" -q --from amplitude-export \
    --endpoint "$murl/batch" --state sb ref/*.ndjson.zst || bad "re-import"
recs=([0-9]*.ndjson)
[ ${#recs[@]} -eq 2 ] && [ "$(wc -l <"${recs[0]}")" -eq 20000 ] &&
    same_events "${recs[0]}" "${recs[1]}" && ok || bad "B differs from A: ${recs[*]}"

# 3. killed at exact steps, then the same command: the same files
steps=("rename:.ndjson.zst 1" "rename:.ndjson.zst 4" "fsync:manifest 2" "fsync:.ndjson.zst 3"
       "unlink:download.zip.part 2" "any: 9")
n=0
for s in "${steps[@]}"; do
    n=$((n + 1))
    read -r at nth <<<"$s"
    (ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=0 LD_PRELOAD=$shim AMPLOAD_KILL_AT=$at \
        AMPLOAD_KILL_NTH=$nth run_export "k$n") 2>/dev/null
    rc=$?
    [ $rc -eq 137 ] || { bad "kill at $at #$nth: exit $rc"; continue; }
    run_export "k$n"
    rc=$?
    if [ $rc -eq 0 ] && [ "$(snapshot "k$n")" = "$(snapshot ref)" ]; then ok; else
        bad "after a kill at $at #$nth: exit $rc, files differ: $(diff <(snapshot "k$n") <(snapshot ref) | head -3)"
    fi
done

# 4. killed at random moments of a slow server, three times, then finished
start_mock slow --export --upload-time event --secret-key "$secret" --export-max-events 2500 \
    --latency-ms 150
surl=$url
AMPLITUDE_API_KEY=$key "$bin" -q --endpoint "$surl/batch" --state ss --batch-events 2000 \
    --concurrency 1 a.ndjson || bad "load into the slow mock"
"$bin" export --endpoint "$surl/api/2/export" "${range[@]}" -o sref 2>/dev/null || bad "slow export"
RANDOM=7
for k in 1 2 3; do
    "$bin" export --endpoint "$surl/api/2/export" "${range[@]}" -o rnd 2>/dev/null &
    pid=$!
    track $pid
    sleep "0.$((RANDOM % 9 + 1))"
    kill -9 $pid 2>/dev/null
    wait $pid 2>/dev/null
done
"$bin" export --endpoint "$surl/api/2/export" "${range[@]}" -o rnd 2>rnd.err
rc=$?
[ $rc -eq 0 ] && [ "$(snapshot rnd)" = "$(snapshot sref)" ] && ok ||
    bad "after random kills: exit $rc: $(cat rnd.err | tail -3)"

# 5. faults: 503s and dropped connections are retried
start_mock faulty --export --upload-time event --secret-key "$secret" --fail-rate 0.3 \
    --fail-status 503 --drop-rate 0.1 --seed 3
AMPLITUDE_API_KEY=$key "$bin" -q --endpoint "$url/batch" --state sf a.ndjson 2>/dev/null
"$bin" export --endpoint "$url/api/2/export" "${range[@]}" -o fl --window 48 2>fl.err
rc=$?
[ $rc -eq 0 ] && [ "$(zstd -dc fl/*.ndjson.zst | wc -l)" -eq 20000 ] && ok ||
    bad "export through faults: exit $rc: $(tail -3 fl.err)"

# 6. an hour over the limit fails clearly; the other windows complete
start_mock tiny --export --upload-time event --secret-key "$secret" --export-max-events 150
"$gen" -n 400 --seed 18 --time-step 1 -o burst.ndjson
"$gen" -n 200 --seed 19 --time-step 60000 -o calm.ndjson
AMPLITUDE_API_KEY=$key "$bin" -q --endpoint "$url/batch" --state st burst.ndjson calm.ndjson
"$bin" export --endpoint "$url/api/2/export" --start 20231114T20 --end 20231115T03 --window 8 \
    -o tiny 2>tiny.err
rc=$?
grep -q "20231114T22-20231114T22 failed: one hour is over the Export API's 4 GB" tiny.err &&
    grep -q "S3 export" tiny.err && [ $rc -eq 5 ] && ok || bad "a too-large hour: exit $rc: $(cat tiny.err)"
grep -q '"start":"20231114T22"' tiny/manifest.ndjson && bad "the failed hour is in the manifest" || ok
[ "$(grep -c '"status":"done"' tiny/manifest.ndjson)" -ge 2 ] &&
    grep -q '"status":"empty"' tiny/manifest.ndjson && ok || bad "the other hours: $(cat tiny/manifest.ndjson)"

# a server that always times out (504): halved to single hours, each failed
start_mock slowest --export --upload-time event --secret-key "$secret" --fail-rate 1 \
    --fail-status 504
"$bin" export --endpoint "$url/api/2/export" --start 20231114T22 --end 20231114T23 --window 2 \
    --retry-time 0 -o to 2>to.err
rc=$?
[ $rc -eq 5 ] && grep -q "HTTP 504 (too slow): halved" to.err &&
    [ "$(grep -c "failed: one hour keeps timing out (504)" to.err)" -eq 2 ] && ok ||
    bad "504 windows: exit $rc: $(cat to.err)"

# 7. the wrong secret, a missing one, a bad range
AMPLITUDE_SECRET_KEY=wrong "$bin" export --endpoint "$murl/api/2/export" "${range[@]}" -o w 2>w.err
rc=$?
[ $rc -eq 4 ] && grep -q "the API key or the secret key is wrong" w.err && ok || bad "wrong secret: exit $rc"
AMPLITUDE_SECRET_KEY= "$bin" export --endpoint "$murl/api/2/export" "${range[@]}" -o w 2>w2.err
rc=$?
[ $rc -eq 4 ] && grep -q "no secret key" w2.err && ok || bad "no secret: exit $rc"
"$bin" export --start 20231114T00 --end 20231113T00 -o w 2>w3.err
[ $? -eq 2 ] && grep -q "is before --start" w3.err && ok || bad "end before start"
"$bin" export --start 2023-11-14 --end 20231113T00 -o w 2>w4.err
[ $? -eq 2 ] && grep -q "YYYYMMDDTHH" w4.err && ok || bad "a malformed hour"

# the secret key was never written anywhere
if grep -rqF "$secret" . 2>/dev/null; then
    bad "the secret key appears in: $(grep -rlF "$secret" . | head -3)"
else
    ok
fi
finish
