#!/usr/bin/env bash
# s3.sh - objects in buckets as inputs, against s3rver behind a front that
# checks every request's SigV4 signature with AWS's own signer
# (tests/s3/: front.js, @smithy/signature-v4): listings of several pages,
# keys with '#', spaces, '+' and UTF-8, plain and gzip objects, globs, a
# load into the mock with every event once, refused credentials and missing
# objects (nothing sent), 503 SlowDown, a reset and a stall mid-object (the
# part asked for again from the byte where it stopped), an object replaced
# while it is read, and the secrets in no output or file.
# Usage: s3.sh AMPLOAD AMPLOAD-MOCK GEN-EVENTS S3_DIR
# (exit 77, skipped, when tests/s3/node_modules is not installed)
set -u
bin=$1
mock=$2
gen=$3
s3=$4
[ -d "$s3/node_modules/s3rver" ] || { echo "skipped: npm ci --prefix tests/s3 first"; exit 77; }
. "$(dirname "$0")/lib.sh"

export S3_TEST_ACCESS_KEY=AKIDS3TEST S3_TEST_SECRET_KEY=s3-test-secret-7f3a9c S3_TEST_LIFETIME=300
fronts=()
# start_s3 NAME [front.js flags]: s3rver and its front; sets $s3url
start_s3() {
    local name=$1
    shift
    bash "$s3/start.sh" "$name" "$@" >/dev/null 2>"$name.start.err" ||
        { echo "FAIL: s3 servers: $(cat "$name.start.err")"; exit 1; }
    fronts+=("$name")
    s3url=http://127.0.0.1:$(cat "$name/front.port")
}
trap 'for f in "${fronts[@]}"; do bash "$s3/stop.sh" "$f" 2>/dev/null; done; kill "${_pids[@]}" 2>/dev/null; rm -rf "$tmp"' EXIT
put() { node "$s3/put.js" --endpoint "$1" --access-key "$S3_TEST_ACCESS_KEY" \
    --secret-key "$S3_TEST_SECRET_KEY" "${@:2}" >/dev/null; }

export AWS_ACCESS_KEY_ID=$S3_TEST_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_TEST_SECRET_KEY
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_ENDPOINT_URL AWS_ENDPOINT_URL_S3 AWS_REGION
export HOME=$tmp
"$gen" -n 20000 --seed 1 -o a.ndjson
"$gen" -n 6000 --seed 2 -o b.ndjson
"$gen" -n 3000 --seed 3 -o c.ndjson
gzip -c b.ndjson >b.ndjson.gz
total=29000

# pages of 2 keys: 3 objects of events and a decoy over several pages
start_s3 s3a --max-keys 2
put "$s3url" --create-bucket events
put "$s3url" --bucket events --key "2020-01-25/187520_2020-01-25_17#1.ndjson" --file a.ndjson
put "$s3url" --bucket events --key "2020-01-25/b +é.ndjson.gz" --file b.ndjson.gz
put "$s3url" --bucket events --key "2020-01-26/deep/c.ndjson" --file c.ndjson
put "$s3url" --bucket events --key "notes.txt" --file c.ndjson
pages() { grep -c '"query":"[^"]*list-type=2' s3a/front.log; }

# a dry run of a prefix, and of a glob across folders
"$bin" --dry-run -q --s3-endpoint "$s3url" --state st-dry --report dry.json \
    's3://events/2020-01-25/' 2>dry.err
n=$(python3 -c "import json;print(json.load(open('dry.json'))['lines_read'])" 2>/dev/null)
if [ "$n" = 26000 ]; then ok; else bad "dry run of a prefix read $n lines, not 26000: $(cat dry.err)"; fi
before=$(pages)
"$bin" --dry-run -q --s3-endpoint "$s3url" --state st-glob --report glob.json \
    's3://events/**.ndjson*' 2>glob.err
n=$(python3 -c "import json;print(json.load(open('glob.json'))['lines_read'])" 2>/dev/null)
if [ "$n" = $total ]; then ok; else bad "a ** glob read $n lines, not $total: $(cat glob.err)"; fi
if [ $(($(pages) - before)) -ge 2 ]; then ok; else bad "the listing took $(($(pages) - before)) pages, not 2 or more"; fi
if grep -q '"verdict":"ok"' s3a/front.log && ! grep -v '"verdict":"ok"' s3a/front.log | grep -q verdict; then ok
else bad "a request failed its signature check: $(grep -v '"verdict":"ok"' s3a/front.log | head -2)"; fi
if grep -q 'continuation-token=' s3a/front.log; then ok; else bad "no listing carried a continuation token"; fi
# '*' stays within a folder
"$bin" --dry-run -q --s3-endpoint "$s3url" --state st-star --report star.json \
    's3://events/2020-01-2*/*.ndjson' 2>star.err
n=$(python3 -c "import json;print(json.load(open('star.json'))['lines_read'])" 2>/dev/null)
if [ "$n" = 20000 ]; then ok; else bad "a * glob read $n lines, not 20000 (one folder deep): $(cat star.err)"; fi

# a load: every event once at the mock; insert_ids (derived from each
# object's URL and the line's offset) never collide between objects
start_mock m1 --record rec1.ndjson
AMPLITUDE_API_KEY=s3-load-key-1 "$bin" -q --endpoint "$url/batch" --s3-endpoint "$s3url" \
    --state st-load --report load.json 's3://events/**.ndjson*' 2>load.err
rc=$?
sent=$(python3 -c "import json;print(json.load(open('load.json'))['events_sent'])" 2>/dev/null)
if [ $rc -eq 0 ] && [ "$sent" = $total ]; then ok; else bad "load: exit $rc, events_sent $sent: $(cat load.err)"; fi
stats=$(curl -s "$url/stats")
acc=$(echo "$stats" | python3 -c "import json,sys;s=json.load(sys.stdin);print(s['accepted'], s['duplicates'])")
if [ "$acc" = "$total 0" ]; then ok; else bad "the mock accepted and deduplicated: $acc (want $total 0)"; fi
python3 - a.ndjson b.ndjson c.ndjson rec1.ndjson <<'EOF' && ok || bad "the recorded events are not the inputs' (insert_id aside)"
import json, sys
def norm(path):
    out = []
    for line in open(path):
        if line.strip():
            e = json.loads(line)
            e.pop("insert_id", None)
            out.append(json.dumps(e, sort_keys=True))
    return sorted(out)
want = sorted(norm(sys.argv[1]) + norm(sys.argv[2]) + norm(sys.argv[3]))
sys.exit(0 if want == norm(sys.argv[4]) else 1)
EOF

# kill -9 in the middle of a load from a bucket, then the same command:
# it resumes from the checkpoint (the object's identity is its listing's
# size and ETag), and every event reaches the mock exactly once
start_mock m4 --record rec4.ndjson
AMPLITUDE_API_KEY=s3-load-key-1 "$bin" -q --rate 4000 --batch-events 500 --chunk-bytes 1048576 \
    --endpoint "$url/batch" --s3-endpoint "$s3url" --state st-kill 's3://events/2020-01-25/' \
    2>kill1.err &
lpid=$!
track $lpid
for _ in $(seq 150); do # until a checkpoint has a mark past an object's start
    grep -q '"offset":[1-9]' st-kill/checkpoint 2>/dev/null && break
    sleep 0.1
done
kill -9 $lpid 2>/dev/null
wait $lpid 2>/dev/null
got=$(wc -l <rec4.ndjson)
AMPLITUDE_API_KEY=s3-load-key-1 "$bin" -q --batch-events 500 --chunk-bytes 1048576 \
    --endpoint "$url/batch" --s3-endpoint "$s3url" --state st-kill --report kill2.json \
    's3://events/2020-01-25/' 2>kill2.err
rc=$?
stats=$(curl -s "$url/stats" | python3 -c "import json,sys;s=json.load(sys.stdin);print(s['accepted'])")
skipped=$(python3 -c "import json;r=json.load(open('kill2.json'));print(r['skipped'] if r['resumed'] else -1)" 2>/dev/null)
if [ $rc -eq 0 ] && [ "$got" -gt 0 ] && [ "$got" -lt 26000 ] && [ "$stats" = 26000 ] &&
    [ "${skipped:-0}" -gt 0 ]; then ok
else bad "kill -9 after $got events (checkpoint: $(cat st-kill/checkpoint 2>/dev/null)), then the same command: exit $rc, $stats accepted (want 26000), skipped $skipped: $(cat kill2.err)"; fi
# an object replaced between the two runs: the resume is refused, naming it
AMPLITUDE_API_KEY=s3-load-key-1 "$bin" -q --rate 4000 --batch-events 500 --endpoint "$url/batch" \
    --s3-endpoint "$s3url" --state st-repl 's3://events/2020-01-25/' 2>repl1.err &
lpid=$!
track $lpid
for _ in $(seq 100); do # until its first checkpoint is written
    [ -s st-repl/checkpoint ] && break
    sleep 0.1
done
kill -9 $lpid 2>/dev/null
wait $lpid 2>/dev/null
put "$s3url" --bucket events --key "2020-01-25/187520_2020-01-25_17#1.ndjson" --file c.ndjson
AMPLITUDE_API_KEY=s3-load-key-1 "$bin" -q --endpoint "$url/batch" --s3-endpoint "$s3url" \
    --state st-repl 's3://events/2020-01-25/' 2>repl2.err
rc=$?
if [ $rc -eq 2 ] && grep -q 'changed since the checkpoint' repl2.err && grep -q '17#1.ndjson' repl2.err; then ok
else bad "a resume over a replaced object: exit $rc (want 2), $(cat repl2.err)"; fi
put "$s3url" --bucket events --key "2020-01-25/187520_2020-01-25_17#1.ndjson" --file a.ndjson

# two copies by input over one prefix: each reads whole objects of its own,
# every event once, and the reports merge
start_mock m5 --record rec5.ndjson
for i in 0 1; do
    AMPLITUDE_API_KEY=s3-load-key-1 "$bin" -q --shard $i/2 --endpoint "$url/batch" \
        --s3-endpoint "$s3url" --state "st-sh$i" --report "sh$i.json" 's3://events/2020-01-25/' \
        2>"sh$i.err" || bad "shard $i/2: $(cat "sh$i.err")"
done
accepted=$(curl -s "$url/stats" | python3 -c "import json,sys;s=json.load(sys.stdin);print(s['accepted'], s['duplicates'])")
if [ "$accepted" = "26000 0" ]; then ok; else bad "two shards: the mock accepted $accepted (want 26000 0)"; fi
if "$bin" report merge -o merged.json sh0.json sh1.json 2>merge.err; then ok
else bad "report merge of the shards: $(cat merge.err)"; fi

# check: the listing, and the first object's first bytes
AMPLITUDE_API_KEY=s3-load-key-1 "$bin" check --endpoint "$url/batch" --s3-endpoint "$s3url" \
    --state st-check 's3://events/2020-01-25/' >check.out 2>&1
rc=$?
if [ $rc -eq 0 ] && grep -q '2 objects' check.out; then ok; else bad "check of a prefix: exit $rc, $(cat check.out)"; fi
AMPLITUDE_API_KEY=s3-load-key-1 AWS_SECRET_ACCESS_KEY=wrong "$bin" check --endpoint "$url/batch" \
    --s3-endpoint "$s3url" --state st-check2 's3://events/2020-01-25/' >check2.out 2>&1
rc=$?
if [ $rc -eq 4 ] && grep -q 'SignatureDoesNotMatch' check2.out; then ok
else bad "check with a wrong secret: exit $rc (want 4), $(cat check2.out)"; fi

# credentials refused, an object missing: an error naming it, nothing sent
start_mock m2 --record rec2.ndjson
AWS_SECRET_ACCESS_KEY=not-the-secret AMPLITUDE_API_KEY=s3-load-key-1 "$bin" --endpoint "$url/batch" \
    --s3-endpoint "$s3url" --state st-bad 's3://events/2020-01-25/' >bad.out 2>bad.err
rc=$?
if [ $rc -eq 4 ] && grep -q 'SignatureDoesNotMatch' bad.err && [ ! -s rec2.ndjson ]; then ok
else bad "a wrong secret: exit $rc (want 4), $(cat bad.err)"; fi
"$bin" --dry-run --s3-endpoint "$s3url" --state st-miss 's3://events/2021-*/*.gz' 2>miss.err
rc=$?
if [ $rc -eq 3 ] && grep -q 'no object matches the pattern' miss.err; then ok
else bad "a pattern matching nothing: exit $rc (want 3), $(cat miss.err)"; fi
"$bin" --dry-run --s3-endpoint "$s3url" --state st-nob 's3://no-such-bucket/x.ndjson' 2>nob.err
rc=$?
if [ $rc -eq 3 ] && grep -q 'NoSuchBucket' nob.err; then ok
else bad "a missing bucket: exit $rc (want 3), $(cat nob.err)"; fi

# faults of the store: SlowDown, a reset and a stall mid-object
for fault in "--slowdown-first 2" "--reset-after 3000000" "--stall-after 3000000 --stall-ms 0"; do
    name=s3f$((${#fronts[@]}))
    # shellcheck disable=SC2086
    start_s3 "$name" $fault
    put "$s3url" --create-bucket events
    put "$s3url" --bucket events --key "big#1.ndjson" --file a.ndjson
    start_mock "m$name" --record "rec-$name.ndjson"
    AMPLITUDE_API_KEY=s3-load-key-1 "$bin" -q --insert-id keep --endpoint "$url/batch" \
        --s3-endpoint "$s3url" --timeout 3 --state "st-$name" --report "$name.json" \
        's3://events/big#1.ndjson' 2>"$name.err"
    rc=$?
    sent=$(python3 -c "import json;print(json.load(open('$name.json'))['events_sent'])" 2>/dev/null)
    if [ $rc -eq 0 ] && [ "$sent" = 20000 ]; then ok; else bad "$fault: exit $rc, sent $sent: $(cat "$name.err")"; fi
    same_events a.ndjson "rec-$name.ndjson"
    # a broken part goes on from the byte it reached, not from the part's start
    resumed=$(python3 - "$name/front.log" <<'EOF'
import json, sys
gets = [json.loads(l) for l in open(sys.argv[1]) if '"object_get":true' in l]
starts = [int(g["range"].split("=")[1].split("-")[0]) for g in gets if g.get("range")]
print(sum(1 for s in starts if s % (8 * 1024 * 1024) not in (0, 65536)))
EOF
)
    fetched=$(python3 -c "import json;print(sum(json.loads(l).get('bytes',0) for l in open('$name/front.log') if 'object_get' in l))")
    case $fault in
    --slowdown*) if grep -q '"fault":"slowdown"' "$name/front.log"; then ok; else bad "no SlowDown was answered"; fi ;;
    --reset*) if [ "$resumed" -ge 1 ] && [ "$fetched" -lt $(( $(stat -c %s a.ndjson) * 2 + 200000 )) ]; then ok
       else bad "$fault: $resumed ranges went on mid-part, $fetched bytes fetched: $(grep -o '"range":"[^"]*"' "$name/front.log" | tr '\n' ' ')"; fi ;;
    # a stall: the transfer given up and the part asked for again, not the object
    *) if grep -q '"fault":"stall"' "$name/front.log" &&
          [ "$fetched" -lt $(( $(stat -c %s a.ndjson) * 2 + 200000 )) ]; then ok
       else bad "$fault: no stall answered, or $fetched bytes fetched: $(grep -o '"range":"[^"]*"' "$name/front.log" | tr '\n' ' ')"; fi ;;
    esac
done

# an object replaced while it is read: refused, named
start_s3 s3e --etag-change-after 1
put "$s3url" --create-bucket events
put "$s3url" --bucket events --key "moving.ndjson" --file a.ndjson
"$bin" --dry-run --s3-endpoint "$s3url" --state st-etag 's3://events/moving.ndjson' 2>etag.err
rc=$?
if [ $rc -eq 3 ] && grep -q 'replaced while it was read' etag.err; then ok
else bad "an object replaced mid-read: exit $rc (want 3), $(cat etag.err)"; fi

# the secret key and the session token: in no output, report or state file
export AWS_SESSION_TOKEN=sess-token-9d8e7f-s3
start_s3 s3t --session-token "$AWS_SESSION_TOKEN"
put "$s3url" --session-token "$AWS_SESSION_TOKEN" --create-bucket events
put "$s3url" --session-token "$AWS_SESSION_TOKEN" --bucket events --key "t.ndjson" --file c.ndjson
start_mock m3
AMPLITUDE_API_KEY=s3-load-key-1 "$bin" -v --endpoint "$url/batch" --s3-endpoint "$s3url" \
    --state st-tok --report tok.json --audit tok.audit 's3://events/t.ndjson' >tok.out 2>tok.err
rc=$?
if [ $rc -eq 0 ]; then ok; else bad "a load with a session token: exit $rc, $(cat tok.err)"; fi
leaks=$(grep -rlF -e "$S3_TEST_SECRET_KEY" -e "$AWS_SESSION_TOKEN" -e "s3-test-secret" -e "sess-token" \
    tok.out tok.err tok.json tok.audit st-tok st-load load.json load.err bad.err 2>/dev/null)
if [ -z "$leaks" ]; then ok; else bad "a secret is in $leaks"; fi
unset AWS_SESSION_TOKEN
finish
