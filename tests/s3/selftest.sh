#!/usr/bin/env bash
# Self-test of the S3 test endpoint (no ampload): proves that front.js really
# verifies SigV4 (with AWS's signer) and that its fault flags work.
# Uses only node, curl and the files beside this script. Bounded: < 60 s.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
T=$(mktemp -d /tmp/s3selftest.XXXXXX)
extra_pids=()

stop_all() {
  local p
  for p in "${extra_pids[@]}"; do
    if [ -r "/proc/$p/cmdline" ] && tr '\0' ' ' < "/proc/$p/cmdline" | grep -q front.js; then
      kill -TERM "$p" 2>/dev/null
    fi
  done
  for p in "${extra_pids[@]}"; do
    for _ in $(seq 1 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  done
  extra_pids=()
  "$here/stop.sh" "$T"
}
trap 'stop_all; rm -rf "$T"' EXIT

pass=0
fail=0
check() { # NAME CONDITION-RESULT(0/1) [DETAIL]
  if [ "$2" = 0 ]; then pass=$((pass + 1)); echo "ok   - $1"
  else fail=$((fail + 1)); echo "FAIL - $1${3:+ ($3)}"; fi
}
is() { [ "$1" = "$2" ]; echo $?; }
has() { grep -qF -- "$2" "$1"; echo $?; }

"$here/start.sh" "$T" >/dev/null || { echo "0 passed, 1 failed"; exit 1; }
P=$(cat "$T/front.port")
UP=$(cat "$T/s3rver.port")
EP=http://127.0.0.1:$P
K1='187520_2020-01-25_17#1.json.gz'
K2='dir/a b+c é.json'

# req OUT PORT [sign.js args...] -> prints HTTP status; body in OUT, headers in OUT.h
req() {
  local out=$1 port=$2; shift 2
  local -a A
  mapfile -t A < <(node "$here/sign.js" --endpoint "http://127.0.0.1:$port" "$@")
  curl -sS --path-as-is --max-time 10 -D "$out.h" -o "$out" -w '%{http_code}' "${A[@]}" 2>"$out.err"
}
hdr() { tr -d '\r' < "$1.h" | sed -n "s/^$2: //Ip" | tail -n1; }
xml() { sed -n "s:.*<$2>\([^<]*\)</$2>.*:\1:p" "$1" | head -n1; }

# --- data
head -c 3000 /dev/urandom > "$T/f1"
printf 'second object body\n' > "$T/f2"
node "$here/put.js" --endpoint "$EP" --create-bucket bkt --bucket bkt \
  --key "$K1" --file "$T/f1" --key "$K2" --file "$T/f2" > "$T/put.out" 2>&1
check "create bucket and put keys with '#', ' ', '+', 'é' (signed PUTs)" $? "$(cat "$T/put.out")"

# --- listing, two pages
s=$(req "$T/l1" "$P" --bucket bkt --query list-type=2 --query max-keys=1)
tok=$(xml "$T/l1" NextContinuationToken)
check "ListObjectsV2 max-keys=1: 200, truncated, 1 key = K1" \
  $([ "$s" = 200 ] && [ "$(xml "$T/l1" IsTruncated)" = true ] && [ "$(xml "$T/l1" KeyCount)" = 1 ] &&
    [ "$(xml "$T/l1" Key)" = "$K1" ] && [ -n "$tok" ]; echo $?) "status $s, $(head -c 300 "$T/l1")"
s=$(req "$T/l2" "$P" --bucket bkt --query list-type=2 --query max-keys=1 --query "continuation-token=$tok")
check "ListObjectsV2 page 2 with continuation-token ($tok): K2, not truncated" \
  $([ "$s" = 200 ] && [ "$(xml "$T/l2" IsTruncated)" = false ] && [ "$(xml "$T/l2" Key)" = "$K2" ]; echo $?) \
  "status $s, $(head -c 300 "$T/l2")"
s=$(req "$T/l3" "$P" --bucket bkt --query list-type=2 --query prefix=)
check "ListObjectsV2 with empty prefix= value: 2 keys" \
  $([ "$s" = 200 ] && [ "$(xml "$T/l3" KeyCount)" = 2 ]; echo $?) "status $s"
s=$(req "$T/l4" "$P" --bucket bkt --query list-type=2 --query 'prefix=dir/a b+c')
check "ListObjectsV2 prefix with '/', ' ', '+': 1 key" \
  $([ "$s" = 200 ] && [ "$(xml "$T/l4" KeyCount)" = 1 ]; echo $?) "status $s"

# --- object GETs
s=$(req "$T/g1" "$P" --bucket bkt --key "$K1" --range bytes=0-9)
check "ranged GET bytes=0-9 on '#' key: 206, 10 right bytes" \
  $([ "$s" = 206 ] && [ "$(stat -c %s "$T/g1")" = 10 ] && cmp -s "$T/g1" <(head -c 10 "$T/f1"); echo $?) \
  "status $s, $(stat -c %s "$T/g1") bytes"
s=$(req "$T/g2" "$P" --bucket bkt --key "$K2")
check "GET key with ' ', '+', 'é': 200, same bytes" $([ "$s" = 200 ] && cmp -s "$T/g2" "$T/f2"; echo $?) "status $s"
etag1=$(hdr "$T/g2" etag)
s=$(req "$T/g3" "$P" --bucket bkt --key "$K1" --range bytes=0-0)
check "GET bytes=0-0: 206, 1 byte" $([ "$s" = 206 ] && [ "$(stat -c %s "$T/g3")" = 1 ] &&
  [ "$(hdr "$T/g3" content-range)" = "bytes 0-0/3000" ]; echo $?) "status $s, $(hdr "$T/g3" content-range)"
s=$(req "$T/g4" "$P" --bucket bkt --key "$K1" --range bytes=-5)
check "GET bytes=-5: last 5 bytes" $([ "$s" = 206 ] && cmp -s "$T/g4" <(tail -c 5 "$T/f1"); echo $?) "status $s"
s=$(req "$T/g5" "$P" --bucket bkt --key "$K1" --range bytes=2990-)
check "GET bytes=2990-: 206, 10 bytes" $([ "$s" = 206 ] && cmp -s "$T/g5" <(tail -c 10 "$T/f1"); echo $?) "status $s"
s=$(req "$T/g6" "$P" --bucket bkt --key "$K1" --range bytes=5000-)
check "GET bytes=5000- past the end: 416 InvalidRange" $([ "$s" = 416 ] && has "$T/g6" InvalidRange; echo $?) "status $s"
s=$(req "$T/g7" "$P" --bucket bkt --key "$K1" --method HEAD)
check "HEAD: 200, Content-Length 3000" $([ "$s" = 200 ] && [ "$(hdr "$T/g7" content-length)" = 3000 ]; echo $?) "status $s"
s=$(req "$T/g8" "$P" --url "$EP/bkt/dir/a%20b%2bc%20%c3%a9.json")
check "GET with lower-case percent-encoding (non-canonical): accepted, logged" \
  $([ "$s" = 200 ] && has "$T/front.log" '"noncanonical":["path"]'; echo $?) "status $s"

# --- what must be refused
s=$(req "$T/e1" "$P" --bucket bkt --key "$K1" --range bytes=0-9 --secret-key wrong-secret)
check "same GET signed with a wrong secret: 403 SignatureDoesNotMatch" \
  $([ "$s" = 403 ] && has "$T/e1" '<Code>SignatureDoesNotMatch</Code>'; echo $?) "status $s"
s=$(curl -sS --max-time 10 -o "$T/e2" -w '%{http_code}' "$EP/bkt/187520_2020-01-25_17%231.json.gz")
check "unsigned GET: 403 AccessDenied" $([ "$s" = 403 ] && has "$T/e2" AccessDenied; echo $?) "status $s"
s=$(curl -sS -I --max-time 10 -o "$T/e2h" -w '%{http_code}' "$EP/bkt/187520_2020-01-25_17%231.json.gz")
check "unsigned HEAD: 403 without body" $(is "$s" 403) "status $s"
s=$(req "$T/e3" "$P" --bucket bkt --key "$K1" --no-content-sha256)
check "signed GET without x-amz-content-sha256: 400 InvalidRequest" \
  $([ "$s" = 400 ] && has "$T/e3" '<Code>InvalidRequest</Code>' && has "$T/e3" x-amz-content-sha256; echo $?) "status $s"
s=$(req "$T/e4" "$P" --bucket bkt --key "$K1" --access-key AKIDOTHER)
check "unknown access key: 403 InvalidAccessKeyId" $([ "$s" = 403 ] && has "$T/e4" InvalidAccessKeyId; echo $?) "status $s"
s=$(req "$T/e5" "$P" --bucket bkt --key "$K1" --date "$(date -u -d '-20 minutes' +%Y-%m-%dT%H:%M:%SZ)")
check "x-amz-date 20 min old: 403 RequestTimeTooSkewed" $([ "$s" = 403 ] && has "$T/e5" RequestTimeTooSkewed; echo $?) "status $s"
s=$(req "$T/e6" "$P" --bucket bkt --key "$K1" --region eu-west-1)
check "wrong region in scope: 400 AuthorizationHeaderMalformed" \
  $([ "$s" = 400 ] && has "$T/e6" AuthorizationHeaderMalformed; echo $?) "status $s"
# signature must cover the path: sign K1, send to K2
mapfile -t A < <(node "$here/sign.js" --endpoint "$EP" --bucket bkt --key "$K1")
A[${#A[@]}-1]="$EP/bkt/dir/a%20b%2Bc%20%C3%A9.json"
s=$(curl -sS --max-time 10 -o "$T/e7" -w '%{http_code}' "${A[@]}")
check "signature for one key used on another: 403 SignatureDoesNotMatch" \
  $([ "$s" = 403 ] && has "$T/e7" SignatureDoesNotMatch && has "$T/e7" '<CanonicalRequest>'; echo $?) "status $s"
# and the query: sign max-keys=1, send max-keys=2
mapfile -t A < <(node "$here/sign.js" --endpoint "$EP" --bucket bkt --query list-type=2 --query max-keys=1)
A[${#A[@]}-1]="$EP/bkt?list-type=2&max-keys=2"
s=$(curl -sS --max-time 10 -o "$T/e8" -w '%{http_code}' "${A[@]}")
check "changed query parameter: 403 SignatureDoesNotMatch" $([ "$s" = 403 ] && has "$T/e8" SignatureDoesNotMatch; echo $?) "status $s"
# and the range header, when signed: sign 0-9, send 0-99
mapfile -t A < <(node "$here/sign.js" --endpoint "$EP" --bucket bkt --key "$K1" --range bytes=0-9)
for i in "${!A[@]}"; do [ "${A[$i]}" = 'range: bytes=0-9' ] && A[$i]='range: bytes=0-99'; done
s=$(curl -sS --max-time 10 -o "$T/e9" -w '%{http_code}' "${A[@]}")
check "changed signed Range header: 403" $([ "$s" = 403 ]; echo $?) "status $s"
# an unsigned x-amz-* header
mapfile -t A < <(node "$here/sign.js" --endpoint "$EP" --bucket bkt --key "$K1")
s=$(curl -sS --max-time 10 -o "$T/e10" -w '%{http_code}' -H 'x-amz-meta-extra: 1' "${A[@]}")
check "x-amz-* header not in SignedHeaders: 403 AccessDenied" $([ "$s" = 403 ] && has "$T/e10" HeadersNotSigned; echo $?) "status $s"
# payload hash must match the body
printf 'signed body\n' > "$T/b1"
mapfile -t A < <(node "$here/sign.js" --endpoint "$EP" --bucket bkt --key tampered --method PUT --body-file "$T/b1")
printf 'other body!\n' > "$T/b1"
s=$(curl -sS --max-time 10 -o "$T/e11" -w '%{http_code}' "${A[@]}")
check "PUT whose body does not match x-amz-content-sha256: 400 XAmzContentSHA256Mismatch" \
  $([ "$s" = 400 ] && has "$T/e11" XAmzContentSHA256Mismatch; echo $?) "status $s"

# --- an independent signer: curl's own --aws-sigv4 (C), when this curl has it
if curl --help all 2>/dev/null | grep -q -- --aws-sigv4; then
  K3='x(1)!*=@ü.gz'
  node "$here/put.js" --endpoint "$EP" --bucket bkt --key "$K3" --file "$T/f2" > /dev/null 2>&1
  cs() { # OUT RAW-PATH-AND-QUERY [curl args] -> status
    local out=$1 u=$2; shift 2
    curl -sS --path-as-is --max-time 10 -o "$out" -w '%{http_code}' "$@" \
      --aws-sigv4 "aws:amz:us-east-1:s3" --user AKIDTEST:test-secret-key \
      -H "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" \
      "$EP$u" 2>"$out.err"
  }
  s=$(cs "$T/c1" "/bkt/187520_2020-01-25_17%231.json.gz" -r 0-9)
  check "curl --aws-sigv4: ranged GET of the '#' key accepted" $([ "$s" = 206 ] && cmp -s "$T/c1" <(head -c 10 "$T/f1"); echo $?) "status $s"
  s=$(cs "$T/c2" "/bkt/dir/a%20b%2Bc%20%C3%A9.json")
  check "curl --aws-sigv4: GET of the ' ', '+', 'é' key accepted" $([ "$s" = 200 ] && cmp -s "$T/c2" "$T/f2"; echo $?) "status $s"
  s=$(cs "$T/c3" "/bkt/x%281%29%21%2A%3D%40%C3%BC.gz")
  check "curl --aws-sigv4: GET of key '$K3' (encoded) accepted" $([ "$s" = 200 ] && cmp -s "$T/c3" "$T/f2"; echo $?) "status $s"
  s=$(cs "$T/c4" "/bkt?list-type=2&max-keys=5&prefix=dir%2Fa%20b%2Bc")
  check "curl --aws-sigv4: listing with encoded prefix accepted" $([ "$s" = 200 ] && [ "$(xml "$T/c4" KeyCount)" = 1 ]; echo $?) "status $s"
  s=$(cs "$T/c5" "/bkt/x(1)!*=@%C3%BC.gz")
  check "curl --aws-sigv4 signing a raw '(' ')' '!' '*' '=' '@' path: 403 (S3 canonicalizes to %28...)" \
    $([ "$s" = 403 ] && has "$T/c5" '/bkt/x%281%29%21%2A%3D%40%C3%BC.gz'; echo $?) "status $s"
else
  echo "skip - this curl has no --aws-sigv4: cross-check with curl's signer not run"
fi

# --- the log
n_ok=$(grep -c '"verdict":"ok"' "$T/front.log")
n_sig=$(grep -c '"verdict":"SignatureDoesNotMatch"' "$T/front.log")
check "front.log: one JSON line per request (ok=$n_ok, SignatureDoesNotMatch=$n_sig)" \
  $([ "$n_ok" -ge 14 ] && [ "$n_sig" -ge 4 ] &&
    node -e 'for (const l of require("fs").readFileSync(process.argv[1],"utf8").trim().split("\n")) JSON.parse(l)' "$T/front.log"; echo $?)

# --- fault injection: extra fronts on the same s3rver
start_front() { # NAME flags... -> sets FP (port)
  local name=$1; shift
  node "$here/front.js" --port 0 --upstream "127.0.0.1:$UP" --access-key AKIDTEST \
    --secret-key test-secret-key --log "$T/$name.log" --max-lifetime 120 "$@" \
    > "$T/$name.out" 2> "$T/$name.err" < /dev/null &
  extra_pids+=($!)
  FP=
  for _ in $(seq 1 200); do
    FP=$(sed -n 's/^s3-front listening on http:\/\/127.0.0.1:\([0-9]*\)$/\1/p' "$T/$name.out")
    [ -n "$FP" ] && return 0
    sleep 0.05
  done
  echo "could not start front $name: $(cat "$T/$name.err")"
  return 1
}

start_front f2 --slowdown-first 1 --fail500-first 1 --reset-after 100 --etag-change-after 1
F2=$FP
s=$(req "$T/x0" "$F2" --bucket bkt --query list-type=2)
check "fault front: listings are not faulted" $(is "$s" 200) "status $s"
s=$(req "$T/x1" "$F2" --bucket bkt --key "$K1")
check "--slowdown-first 1: first object GET 503 SlowDown" $([ "$s" = 503 ] && has "$T/x1" SlowDown; echo $?) "status $s"
s=$(req "$T/x2" "$F2" --bucket bkt --key "$K1")
check "--fail500-first 1: next object GET 500 InternalError" $([ "$s" = 500 ] && has "$T/x2" InternalError; echo $?) "status $s"
s=$(req "$T/x3" "$F2" --bucket bkt --key "$K1"); rc=$(grep -c . "$T/x3.err")
check "--reset-after 100: headers + 100 bytes, then connection reset" \
  $([ "$s" = 200 ] && [ "$(stat -c %s "$T/x3")" = 100 ] && [ "$rc" -ge 1 ]; echo $?) "status $s, $(stat -c %s "$T/x3") bytes"
s=$(req "$T/x4" "$F2" --bucket bkt --key "$K1")
etag_a=$(hdr "$T/x4" etag)
check "after the reset, a full GET works (ETag unchanged)" $([ "$s" = 200 ] && cmp -s "$T/x4" "$T/f1"; echo $?) "status $s"
s=$(req "$T/x5" "$F2" --bucket bkt --key "$K1")
etag_b=$(hdr "$T/x5" etag)
check "--etag-change-after 1: next GET carries another ETag ($etag_a -> $etag_b)" \
  $([ "$s" = 200 ] && [ -n "$etag_a" ] && [ "$etag_a" != "$etag_b" ]; echo $?) "status $s"
s=$(req "$T/x6" "$F2" --bucket bkt --key "$K1" --header "if-match: $etag_a")
check "If-Match with the old ETag after the change: 412 PreconditionFailed" \
  $([ "$s" = 412 ] && has "$T/x6" PreconditionFailed; echo $?) "status $s"
check "fault log: faults counted" $([ "$(grep -c '"fault":"slowdown"' "$T/f2.log")" = 1 ] &&
  [ "$(grep -c '"fault":"internal-error"' "$T/f2.log")" = 1 ] && [ "$(grep -c '"fault":"reset"' "$T/f2.log")" = 1 ] &&
  [ "$(grep -c '"fault":"etag-change"' "$T/f2.log")" -ge 1 ]; echo $?)

start_front f3 --stall-after 100 --stall-ms 400 --session-token TOKEN123
F3=$FP
t0=$(date +%s%N)
s=$(req "$T/y1" "$F3" --bucket bkt --key "$K1" --session-token TOKEN123)
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
check "--stall-after 100 --stall-ms 400: complete body, >= 400 ms (${ms} ms)" \
  $([ "$s" = 200 ] && cmp -s "$T/y1" "$T/f1" && [ "$ms" -ge 400 ]; echo $?) "status $s"
s=$(req "$T/y2" "$F3" --bucket bkt --key "$K1")
check "--session-token: request without the token 403 InvalidToken" $([ "$s" = 403 ] && has "$T/y2" InvalidToken; echo $?) "status $s"
s=$(req "$T/y3" "$F3" --bucket bkt --key "$K1" --session-token WRONG)
check "--session-token: wrong token 403 InvalidToken" $([ "$s" = 403 ] && has "$T/y3" InvalidToken; echo $?) "status $s"

start_front f4 --stall-after 100 --stall-ms 0 --strict-encoding
F4=$FP
mapfile -t A < <(node "$here/sign.js" --endpoint "http://127.0.0.1:$F4" --bucket bkt --key "$K1")
curl -sS --max-time 1 -o "$T/z1" "${A[@]}" 2>/dev/null; rc=$?
check "--stall-ms 0: 100 bytes then silence until the client gives up (curl rc $rc)" \
  $([ "$rc" = 28 ] && [ "$(stat -c %s "$T/z1")" = 100 ]; echo $?)
sleep 0.2
check "stall logged as incomplete" $(has "$T/f4.log" '"complete":false,'; echo $?)
s=$(req "$T/z2" "$F4" --url "http://127.0.0.1:$F4/bkt/dir/a%20b%2bc%20%c3%a9.json")
check "--strict-encoding: non-canonical path 400 NonCanonicalEncoding" $([ "$s" = 400 ] && has "$T/z2" NonCanonicalEncoding; echo $?) "status $s"

# --- nothing left behind
stop_all
errs=$(cat "$T"/*.err 2>/dev/null | grep -v '^curl:' | grep -c .)
check "servers wrote nothing to stderr" $(is "$errs" 0) "$(cat "$T"/front*.err "$T"/f?.err "$T"/s3rver.err 2>/dev/null | head -5)"
sleep 0.2
left=$(pgrep -f -- "$T/" | tr '\n' ' ')
check "all servers stopped (no process left)" $(is "$left" "") "left: $left"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
