#!/usr/bin/env bash
# check.sh - `ampload check`, the preflight checklist: all green against a
# running ampload-mock (plain HTTP, and HTTPS with the test CA), and one
# named failure with a hint and the documented exit code for a dead port, a
# wrong or missing key, a wrong URL, an untrusted certificate, a missing or
# corrupt input, an unusable state directory and a checkpoint of other
# inputs. The check itself must not ingest anything or leave files behind.
# Usage: check.sh AMPLOAD AMPLOAD_MOCK GEN_EVENTS
set -u
bin=$1
mock=$2
gen=$3
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh"
key="ChEcK-$(date +%s%N)-k3y"

# expect CODE NAME ARGS...: runs `ampload check ARGS`, checks the exit code;
# the checklist is left in NAME.txt for the patterns that follow.
expect() {
    local code=$1 name=$2
    shift 2
    "$bin" check "$@" >"$name.txt" 2>"$name.err"
    local rc=$?
    if [ "$rc" -ne "$code" ]; then
        echo "FAIL: $name: ampload check $* -> exit $rc (want $code):"
        sed 's/^/    /' "$name.txt" "$name.err"
        fail=$((fail + 1))
    else
        ok
    fi
}

# has NAME PATTERN: the checklist NAME.txt has a line matching PATTERN.
has() {
    if grep -qE -- "$2" "$1.txt"; then
        pass=$((pass + 1))
    else
        echo "FAIL: $1: no line matching /$2/ in:"
        sed 's/^/    /' "$1.txt"
        fail=$((fail + 1))
    fi
}

"$gen" -n 3000 --seed 5 -o in.ndjson
zstd -q in.ndjson -o in.zst
cp in.zst bad.zst
printf '\x55\x55\x55\x55\x55\x55\x55\x55' | dd of=bad.zst bs=1 seek=12 conv=notrunc status=none
python3 - <<'PY'
import gzip, zipfile
ev = open("in.ndjson", "rb").read()
with zipfile.ZipFile("export.zip", "w") as z:
    z.writestr("p/p_0#1.json.gz", gzip.compress(ev[:100000]))
    z.writestr("p/p_0#2.json.gz", gzip.compress(ev[100000:]))
    z.writestr("__MACOSX/p/._x", b"junk")
    z.writestr("p/zz.json.gz", b"\x1f\x8b\x08\x00garbage")
PY
openssl req -x509 -newkey rsa:2048 -nodes -keyout tls.key -out tls.crt -days 2 \
    -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" 2>/dev/null
start_mock plain --api-key "$key"
plain=$url
start_mock tls --api-key "$key" --tls-cert tls.crt --tls-key tls.key
tls=$url
export AMPLITUDE_API_KEY="$key"

# all green: every check listed with a tick, no state directory left behind
expect 0 ok --endpoint "$plain/batch" --state st/a in.ndjson in.zst
has ok "✓ endpoint +$plain/batch answered HTTP 400"
has ok "- TLS +not used \(http:// endpoint\)"
has ok "✓ API key +accepted"
has ok "✓ input +in\.ndjson: NDJSON"
has ok "✓ input +in\.zst: zstd-compressed NDJSON"
python3 - <<'PY'
import zipfile
src = zipfile.ZipFile("export.zip")
with zipfile.ZipFile("good.zip", "w") as z:
    for i in src.infolist():
        if i.filename != "p/zz.json.gz":
            z.writestr(i, src.read(i.filename))
PY
expect 0 zipok --endpoint "$plain/batch" --state st/z good.zip
has zipok "✓ input +good\.zip: zip archive, 2 members of gzip-compressed NDJSON, .* stored; 1 entry skipped \(not events\)"
has ok "✓ state dir +st/a: writable \(created for the check, removed again\)"
has ok "✓ checkpoint +none"
has ok "all 6 checks passed"
if [ -e st ]; then echo "FAIL: the check left st/ behind"; fail=$((fail + 1)); else pass=$((pass + 1)); fi

# a dead port: the endpoint fails, the rest of the list is still checked
dead=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
expect 4 dead --endpoint "http://127.0.0.1:$dead/batch" --state st in.ndjson
has dead "✗ endpoint +http://127\.0\.0\.1:$dead/batch: .*(Couldn't connect|Connection refused)"
has dead "hint: check --endpoint"
has dead "- API key +not checked"
has dead "✓ input +in\.ndjson"
has dead "1 of 4 checks failed"

# the key: wrong (redacted in the output), missing
AMPLITUDE_API_KEY="${key}x" expect 4 wrongkey --endpoint "$plain/batch"
has wrongkey "✓ endpoint"
has wrongkey "✗ API key +refused: Invalid API key"
has wrongkey "hint: check the key"
if grep -q -- "$key" wrongkey.txt wrongkey.err; then
    echo "FAIL: the key is shown"; fail=$((fail + 1))
else
    pass=$((pass + 1))
fi
AMPLITUDE_API_KEY= expect 4 nokey --endpoint "$plain/batch"
has nokey "✗ API key +none configured"
has nokey "hint: set AMPLITUDE_API_KEY"

# a URL that is not the API
expect 4 wrongurl --endpoint "$plain/v1/upload"
has wrongurl "✗ endpoint .*HTTP 404"
has wrongurl "hint: no /batch API at this URL"

# other answers: a 400 for another reason still proves the key (Amplitude
# checks it first); a 429 too; an unexpected 4xx does not; a 5xx fails the endpoint
start_mock f400 --fail-status 400 --fail-rate 1
expect 0 other400 --endpoint "$url/batch"
has other400 "✓ API key +accepted \(the test request was refused for: Injected failure\)"
start_mock f429 --fail-status 429 --fail-rate 1
expect 0 busy --endpoint "$url/batch"
has busy "✓ API key +accepted \(HTTP 429\)"
start_mock f415 --fail-status 415 --fail-rate 1
expect 4 odd4xx --endpoint "$url/batch"
has odd4xx "✗ API key +not confirmed: HTTP 415"
start_mock f503 --fail-status 503 --fail-rate 1
expect 4 down --endpoint "$url/batch"
has down "✗ endpoint .*answered HTTP 503"
has down "hint: the server has trouble"

# --gzip: the test request goes compressed; a server that cannot read it
# fails the gzip line (the key is then not checked), and a load with --gzip
# into it stops as a configuration error naming --gzip, every line accounted for
expect 0 gz --gzip --endpoint "$plain/batch"
has gz "✓ API key +accepted \(the test event was refused for its missing user_id"
has gz "✓ gzip +the server read the compressed request"
start_mock nogz --api-key "$key" --no-gzip
expect 4 nogz --gzip --endpoint "$url/batch"
has nogz "- API key +not checked: the server did not read the request"
has nogz "✗ gzip +the server did not read the compressed request: HTTP 400 Invalid JSON"
has nogz "hint: .*run without --gzip"
"$bin" -q --gzip --endpoint "$url/batch" --state nogz --report nogz.json in.ndjson 2>nogz-run.err
rc=$?
# (a configuration error resolves nothing: no event sent, none failed)
if [ $rc -eq 4 ] && grep -q -- "run without --gzip" nogz-run.err &&
    python3 -c 'import json,sys; r=json.load(open("nogz.json"));
sys.exit(r["events_sent"] != 0 or r["failed"] != 0)'; then
    ok
else
    bad "load with --gzip into a server without gzip: exit $rc: $(cat nogz-run.err)"
fi

# TLS: an untrusted certificate fails; trusted with --ca-file; --insecure skips
expect 4 untrusted --endpoint "$tls/batch"
has untrusted "✓ endpoint .*connection was made"
has untrusted "✗ TLS +.*(self-signed|certificate)"
has untrusted "hint: .*--ca-file"
expect 0 trusted --endpoint "$tls/batch" --ca-file tls.crt
has trusted "✓ TLS +certificate verified"
has trusted "✓ API key +accepted"
# a load into the untrusted server stops at the first answerless request as a
# configuration error (exit 4), audited as such, resolving nothing; the same
# command with --ca-file then delivers every line
"$bin" -q --endpoint "$tls/batch" --state tlsbad --report tlsbad.json --audit tlsbad.ndjson \
    in.ndjson 2>tlsbad.err
rc=$?
"$bin" -q --endpoint "$tls/batch" --ca-file tls.crt --state tlsbad --report tlsgood.json \
    in.ndjson 2>tlsgood.err
rc2=$?
if [ $rc -eq 4 ] && [ $rc2 -eq 0 ] && grep -q '"outcome":"config"' tlsbad.ndjson &&
    ! grep -q '"outcome":"retry"' tlsbad.ndjson &&
    python3 -c 'import json,sys; r=json.load(open("tlsbad.json")); g=json.load(open("tlsgood.json"));
sys.exit(r["failed"] != 0 or r["events_sent"] != 0 or g["failed"] != 0 or
         g["lines_read"] != g["events_sent"]+g["rejected_local"]+g["rejected_server"]+g["skipped"])'; then
    ok
else
    bad "load into an untrusted server: exit $rc: $(cat tlsbad.err) $(head -2 tlsbad.ndjson)"
fi
# and a real load over HTTPS with the same CA file
"$bin" -q --endpoint "$tls/batch" --ca-file tls.crt --state tlsrun --report tls.json in.ndjson
rc=$?
if [ $rc -eq 0 ] && grep -q '"events_sent": 3000' tls.json; then ok; else
    bad "load over HTTPS with --ca-file: exit $rc: $(cat tls.json 2>/dev/null | head -5)"; fi
expect 0 insecure --endpoint "$tls/batch" --insecure
has insecure "- TLS +not verified \(--insecure\)"

# inputs: exit 3, each bad one named
expect 3 inputs --endpoint "$plain/batch" --state st in.ndjson missing.ndjson bad.zst export.zip
has inputs "✓ input +in\.ndjson"
has inputs "✗ input +export\.zip:p/zz\.json\.gz: (corrupt|truncated) gzip data"
has inputs "✗ input +missing\.ndjson: no such file"
has inputs "✗ input +bad\.zst: corrupt zstd data"
has inputs "hint: the file is damaged"

# the state directory cannot be made (a file where a directory should be)
: >afile
expect 1 state --endpoint "$plain/batch" --state afile/sub in.ndjson
has state "✗ state dir +afile/sub: cannot create it: Not a directory"
has state "hint: choose a writable directory"

# a checkpoint left by a run over other contents of the input: exit 2
cp in.ndjson grown.ndjson
"$bin" -q --endpoint "$plain/batch" --state run2 grown.ndjson
expect 0 resumable --endpoint "$plain/batch" --state run2 grown.ndjson
has resumable "✓ checkpoint +matches the inputs"
"$gen" -n 10 --seed 6 >>grown.ndjson
expect 2 mismatch --endpoint "$plain/batch" --state run2 grown.ndjson
has mismatch "✗ checkpoint +grown\.ndjson: the checkpoint does not match the inputs"
has mismatch "hint: .*--restart"

# colours only on a terminal, and never with NO_COLOR
script -qec "'$bin' check --endpoint '$plain/batch' in.ndjson --state st" tty.log >/dev/null
if grep -q $'\e\[32m' tty.log; then pass=$((pass + 1)); else
    echo "FAIL: no colour on a terminal:"; cat -v tty.log; fail=$((fail + 1)); fi
NO_COLOR=1 script -qec "'$bin' check --endpoint '$plain/batch' in.ndjson --state st" nc.log >/dev/null
if grep -q $'\e' nc.log; then echo "FAIL: colour despite NO_COLOR:"; cat -v nc.log; fail=$((fail + 1)); else
    pass=$((pass + 1)); fi
if grep -q $'\e' ok.txt; then echo "FAIL: colour in a pipe"; fail=$((fail + 1)); else pass=$((pass + 1)); fi

# the checks ingested nothing: only the real run's events reached the mock
accepted=$(curl -s "$plain/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["accepted"])')
if [ "$accepted" = 3000 ]; then pass=$((pass + 1)); else
    echo "FAIL: the mock accepted $accepted events (want the run's 3000)"; fail=$((fail + 1)); fi

finish
