#!/usr/bin/env bash
# identify.sh - `ampload identify` against ampload-mock's POST /identify,
# judged by the mock's record of every identification it applied and by the
# user properties it computed:
#   - a clean load: each identification applied once; the properties, values
#     with & = + % quotes and non-ASCII text, exactly as in the input;
#   - 10% 5xx (half of them after applying) and dropped connections:
#     idempotent identifications retried, non-idempotent ones in doubt in
#     the held file, none applied twice, none lost, counts adding up; with
#     --resend-non-idempotent nothing held;
#   - 429 for ids over a rate: paused and sent again, nothing held;
#   - kill -9 at the exact step where a request is recorded as sent but has
#     not left, and at random times: a resume never resends an acknowledged
#     identification and holds the non-idempotent ones in doubt;
#   - a damaged journal (a flipped bit, cut to half, a zeroed record, random
#     bytes): the resume stops naming it and the byte, sending nothing;
#   - rejects per rule, usage errors, a wrong key, the key never shown.
# Usage: identify.sh AMPLOAD AMPLOAD_MOCK GEN_EVENTS KILLSHIM [threads]
# With "threads", only the runs that exercise the threads (clean, faults,
# 429), for the ThreadSanitizer build.
set -u
bin=$1
mock=$2
gen=$3
shim=$4
part=${5:-all}
MOCK_LIFETIME=280
. "$(dirname "$0")/lib.sh"
key=KEY_identify_5ecret_77
export AMPLITUDE_API_KEY=$key

# judge INPUT STATE RECORD USERS REPORT DUPS: every valid line of INPUT is
# applied once (or, for DUPS=any, idempotent ones at least once), or is in
# the held file (non-idempotent, applied at most once) or the failed file;
# the mock's properties agree; the report's counts add up.
judge() {
    python3 - "$@" <<'EOF'
import collections, json, os, sys
inp, state, record, users_path, report_path, dups = sys.argv[1:7]
NONIDEM = {"$add", "$append", "$prepend", "$preInsert", "$postInsert", "$remove"}
def canon(o):
    return json.dumps(o, sort_keys=True, ensure_ascii=False)
def read_lines(path):
    if not os.path.exists(path):
        return []
    return [json.loads(l) for l in open(path, encoding="utf-8") if l.strip()]
errors = []
rejected = {r["line"] for r in read_lines(os.path.join(state, "rejected.ndjson"))}
held = collections.Counter(canon(o) for o in read_lines(os.path.join(state, "non-idempotent.ndjson")))
failed = collections.Counter(canon(o) for o in read_lines(os.path.join(state, "failed.ndjson")))
counts = collections.Counter(canon(o) for o in read_lines(record))
users = json.load(open(users_path))
props = {}
for proj in users.values():
    props.update(proj)
valid = 0
for n, line in enumerate(open(inp, encoding="utf-8"), 1):
    if n in rejected or not line.strip():
        continue
    o = json.loads(line)
    valid += 1
    c = canon(o)
    up = o.get("user_properties", {})
    nonidem = any(k in NONIDEM for k in up)
    k = counts[c]
    if held[c] > 1 or failed[c] > 1 or held[c] + failed[c] > 1:
        errors.append("line %d recorded twice in the held/failed files" % n)
    if held[c]:
        if not nonidem:
            errors.append("line %d is idempotent but was held" % n)
        if k > 1:
            errors.append("held line %d applied %d times" % (n, k))
    elif failed[c]:
        if nonidem and k > 1:
            errors.append("failed line %d applied %d times" % (n, k))
    elif k == 0:
        errors.append("line %d was never applied, nor held, nor failed" % n)
    elif nonidem and k > 1:
        errors.append("non-idempotent line %d applied %d times" % (n, k))
    elif k > 1 and dups != "any":
        errors.append("line %d applied %d times" % (n, k))
    # the resulting properties, where a line owns a property of its own
    p = props.get("user:" + o["user_id"], {})
    for op, args in up.items():
        for name, value in (args.items() if isinstance(args, dict) else []):
            if name.startswith("a") and op == "$add" and p.get(name, 0) != k:
                errors.append("line %d: %s is %r after %d applications" % (n, name, p.get(name), k))
            if op == "$append" and p.get(name, []).count(value) != k:
                errors.append("line %d: %r appears %d times, applied %d" % (n, value, p.get(name, []).count(value), k))
            if k > 0 and op in ("$set", "$setOnce") and name[0] in "so" and p.get(name) != value:
                errors.append("line %d: %s is %r, not %r" % (n, name, p.get(name), value))
        if k > 0 and not op.startswith("$") and op.startswith("p") and p.get(op) != args:
            errors.append("line %d: %s is %r, not %r" % (n, op, p.get(op), args))
r = json.load(open(report_path))
resolved = (r["events_sent"] + r["rejected_local"] + r["rejected_server"] + r["failed"]
            + r["non_idempotent_held"] + r["skipped"])
if r["lines_read"] != resolved:
    errors.append("report: %d lines read, %d resolved" % (r["lines_read"], resolved))
if sum(held.values()) < r["non_idempotent_held"]:
    errors.append("report says %d held, the file has %d" % (r["non_idempotent_held"], sum(held.values())))
for e in errors[:10]:
    print(e)
print("valid %d, applied %d, held %d, failed %d, duplicates %d" % (
    valid, sum(1 for v in counts.values() if v), sum(held.values()), sum(failed.values()),
    sum(v - 1 for v in counts.values() if v > 1)))
sys.exit(1 if errors else 0)
EOF
}

# users URL FILE: the mock's user properties
users() {
    curl -sf "$1/users" >"$2"
}

# ---- clean: every identification applied once, values byte for byte --------
"$gen" --identify -n 3000 --users 400 --seed 11 -o clean.ndjson
start_mock clean --api-key "$key" --record clean.rec
if "$bin" identify -q --endpoint "$url/identify" --batch-size 7 --state st.clean \
    --report clean.json clean.ndjson 2>clean.err; then ok; else bad "clean load: $(cat clean.err)"; fi
users "$url" clean.users
if judge clean.ndjson st.clean clean.rec clean.users clean.json 0; then ok; else bad "clean load judged"; fi
if python3 -c 'import json,sys; r=json.load(open("clean.json")); s=json.load(open(sys.argv[1]))
sys.exit(not (r["events_sent"] == 3000 and r["requests"] == 429 and s["identified"] == 3000
              and r["non_idempotent_held"] == 0))' <(curl -sf "$url/stats"); then ok; else
    bad "clean: 3000 sent in 429 requests of 7: $(cat clean.json | head -c 600)"; fi
# every request was a form: the mock decoded each into the same lines
if cmp -s <(python3 -c 'import json,sys
for l in open("clean.ndjson"): print(json.dumps(json.loads(l), sort_keys=True))' | sort) \
    <(python3 -c 'import json,sys
for l in open("clean.rec"): print(json.dumps(json.loads(l), sort_keys=True))' | sort); then ok; else
    bad "clean: what the mock decoded differs from the input"; fi

# ---- faults: 5xx (half applied first), dropped connections -----------------
"$gen" --identify -n 4000 --users 500 --seed 12 --bad-rate 0.02 -o faults.ndjson
start_mock faults --api-key "$key" --record faults.rec --fail-rate 0.1 --drop-rate 0.03 --seed 5
"$bin" identify -q --endpoint "$url/identify" --batch-size 20 --state st.faults \
    --retry-time 120 --report faults.json faults.ndjson 2>faults.err
rc=$?
users "$url" faults.users
if [ "$rc" -eq 0 ] || [ "$rc" -eq 5 ]; then ok; else bad "faults: exit $rc: $(cat faults.err)"; fi
if judge faults.ndjson st.faults faults.rec faults.users faults.json any; then ok; else bad "faults judged"; fi
if python3 -c 'import json; r=json.load(open("faults.json"))
sys_exit = not (r["non_idempotent_held"] > 0 and r["resent_in_doubt"] > 0 and r["http_5xx"] > 0
                and r["rejected_local"] > 0)
raise SystemExit(sys_exit)'; then ok; else
    bad "faults: nothing held or resent: $(head -c 700 faults.json)"; fi

# the same with --resend-non-idempotent: nothing held, the doubt resent
start_mock resend --api-key "$key" --record resend.rec --fail-rate 0.1 --drop-rate 0.03 --seed 5
"$bin" identify -q --endpoint "$url/identify" --batch-size 20 --state st.resend \
    --retry-time 120 --resend-non-idempotent --report resend.json faults.ndjson 2>resend.err
if python3 -c 'import json; r=json.load(open("resend.json"))
raise SystemExit(not (r["non_idempotent_held"] == 0 and r["resent_in_doubt"] > 0
    and r["lines_read"] == r["events_sent"] + r["rejected_local"] + r["failed"] + r["skipped"]))'
then ok; else bad "resend: $(head -c 700 resend.json)"; fi
[ ! -s st.resend/non-idempotent.ndjson ] && ok || bad "resend: a held file"

# ---- 429: throttled ids wait, then go; nothing is in doubt ------------------
"$gen" --identify -n 600 --users 3 --seed 13 -o hot.ndjson
start_mock hot --api-key "$key" --record hot.rec --eps-per-id 150 --eps-window 1
if "$bin" identify -q --endpoint "$url/identify" --batch-size 50 --state st.hot \
    --throttle-wait 1 --report hot.json hot.ndjson 2>hot.err; then ok; else bad "429: $(cat hot.err)"; fi
users "$url" hot.users
if judge hot.ndjson st.hot hot.rec hot.users hot.json 0; then ok; else bad "429 judged"; fi
if python3 -c 'import json; r=json.load(open("hot.json"))
raise SystemExit(not (r["http_429"] > 0 and r["non_idempotent_held"] == 0))'; then ok; else
    bad "429: none seen, or some held: $(head -c 600 hot.json)"; fi

# ---- a 200 that is not Identify's "success": in doubt, and the run stops ----
start_mock portal --api-key "$key" --bogus-200 html
"$bin" identify -q --endpoint "$url/identify" --state st.portal --batch-size 100 \
    --report portal.json faults.ndjson 2>portal.err
rc=$?
if [ "$rc" -eq 4 ] && python3 -c 'import json; r=json.load(open("portal.json"))
raise SystemExit(not (r["non_idempotent_held"] > 0 and r["events_sent"] == 0 and r["failed"] == 0
    and r["lines_read"] >= r["rejected_local"] + r["non_idempotent_held"] + r["skipped"]))'; then ok; else
    bad "bogus 200: exit $rc: $(head -c 600 portal.json) $(cat portal.err)"; fi

if [ "$part" = threads ]; then
    finish
    exit $?
fi

# ---- form encoding of the key and of property names --------------------------
printf '%s\n' '{"user_id":"user-keys-1","user_properties":{"$set":{"a&b=c+d%e \"q\" \u00fc":"x y"}}}' \
    '{"user_id":"user-keys-1","user_properties":{"k\u65e5+&=":1,"%%2B":"+"}}' >keys.ndjson
odd_key='K&=+%ü"#x_1234'
start_mock keys --api-key "$odd_key" --record keys.rec
if AMPLITUDE_API_KEY=$odd_key "$bin" identify -q --endpoint "$url/identify" --state st.keys \
    keys.ndjson 2>keys.err && users "$url" keys.users && python3 -c 'import json
got = list(json.load(open("keys.users")).values())[0]["user:user-keys-1"]
raise SystemExit(got != {"a&b=c+d%e \"q\" \u00fc": "x y", "k\u65e5+&=": 1, "%%2B": "+"})'; then ok; else
    bad "a key and property names with & = + % quotes and non-ASCII: $(cat keys.err)"; fi

# ---- kill -9 where the 4th request is recorded as sent but has not left ----
# One request at a time, batches of 50 in file order: requests 1-3 were
# acknowledged, request 4 (lines 151-200) never reached the server.
"$gen" --identify -n 500 --users 100 --seed 14 -o step.ndjson
start_mock step --api-key "$key" --record step.rec
ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=0 \
    AMPLOAD_KILL_AT=fsync:identify.journal AMPLOAD_KILL_NTH=4 LD_PRELOAD=$shim \
    "$bin" identify -q --endpoint "$url/identify" --batch-size 50 --concurrency 1 --threads 1 \
    --state st.step step.ndjson 2>step1.err
rc=$?
[ "$rc" -eq 137 ] && ok || bad "step: killed run exited $rc: $(cat step1.err)"
"$bin" identify -q --endpoint "$url/identify" --batch-size 50 --concurrency 1 --threads 1 \
    --state st.step --report step.json step.ndjson 2>step2.err
rc=$?
# identifications in doubt: exit 5, and said even with -q
[ "$rc" -eq 5 ] && grep -q "non-idempotent.ndjson" step2.err && ok ||
    bad "step rerun: exit $rc: $(cat step2.err)"
users "$url" step.users
if judge step.ndjson st.step step.rec step.users step.json 0; then ok; else bad "step judged"; fi
if python3 - <<'EOF'
import json
NONIDEM = {"$add", "$append", "$prepend", "$preInsert", "$postInsert", "$remove"}
lines = [json.loads(l) for l in open("step.ndjson")]
doubt = lines[150:200]
want_held = sorted(json.dumps(o, sort_keys=True) for o in doubt if set(o["user_properties"]) & NONIDEM)
held = sorted(json.dumps(json.loads(l), sort_keys=True) for l in open("st.step/non-idempotent.ndjson"))
rec = [json.dumps(json.loads(l), sort_keys=True) for l in open("step.rec")]
r = json.load(open("step.json"))
ok = (held == want_held and not set(held) & set(rec) and r["skipped_acknowledged"] == 150
      and r["resent_in_doubt"] == 50 - len(want_held) and r["non_idempotent_held"] == len(want_held)
      and len(rec) == 500 - len(want_held))
if not ok:
    print(len(held), len(want_held), r["skipped_acknowledged"], r["resent_in_doubt"], len(rec))
raise SystemExit(0 if ok else 1)
EOF
then ok; else bad "step: held file, skipped or resent counts are off"; fi

# ---- kill -9 at random times, then resume to the end -----------------------
"$gen" --identify -n 3000 --users 300 --seed 15 -o rand.ndjson
start_mock rand --api-key "$key" --record rand.rec --latency-ms 15
kills=0
for t in 0.3 0.5 0.4 0.7; do
    "$bin" identify -q --endpoint "$url/identify" --batch-size 20 --concurrency 8 \
        --state st.rand rand.ndjson 2>>rand.err &
    pid=$!
    track "$pid"
    sleep "$t"
    kill -9 "$pid" 2>/dev/null && kills=$((kills + 1))
    wait "$pid" 2>/dev/null
done
"$bin" identify -q --endpoint "$url/identify" --batch-size 20 --concurrency 8 \
    --state st.rand --report rand.json rand.ndjson 2>>rand.err
rc=$?
[ "$rc" -eq 0 ] || [ "$rc" -eq 5 ] && ok || bad "random kills: exit $rc: $(tail -3 rand.err)"
users "$url" rand.users
if judge rand.ndjson st.rand rand.rec rand.users rand.json any; then ok; else bad "random kills judged"; fi
# idempotent lines applied twice only when in doubt: at most a window per kill
dups=$(python3 -c 'import collections, json
c = collections.Counter(json.dumps(json.loads(l), sort_keys=True) for l in open("rand.rec"))
print(sum(v - 1 for v in c.values() if v > 1))')
[ "$kills" -ge 1 ] && [ "$dups" -le $((kills * 8 * 20)) ] && ok ||
    bad "random kills: $kills kills, $dups duplicate applications"

# ---- a damaged journal: refused, left as it is, nothing applied twice -------
# A third of the lines $add, a sixth $append; the mock applies some requests
# and then answers 500; killed at the 30th fdatasync of the journal. Each
# damage (a flipped bit in the first quarter, the file cut to half, one
# 16-byte record zeroed, random bytes) on a copy of the state: the resume
# stops with exit 2 naming the journal and the byte, sends nothing and leaves
# the file as it was. The journal put back, the resume finishes and nothing
# was applied twice.
python3 - <<'EOF'
import json
with open("dmg.ndjson", "w") as f:
    for i in range(4000):
        if i % 3 == 0:
            up = {"$add": {"a%d" % i: 1}}
        elif i % 6 == 1:
            up = {"$append": {"l": "v%d" % i}}
        else:
            up = {"$set": {"x": i}}
        f.write(json.dumps({"user_id": "user-%04d" % (i % 500), "user_properties": up}) + "\n")
EOF
start_mock dmg --api-key "$key" --record dmg.rec --fail-rate 0.1 --fail-status 500 --seed 9
dmg_run() { # STATE [VAR=VALUE...]: one run over dmg.ndjson
    local st=$1
    shift
    env "$@" "$bin" identify -q --endpoint "$url/identify" --batch-size 20 --concurrency 4 \
        --state "$st" --report "$st.json" dmg.ndjson 2>"$st.err"
}
dmg_run st.dmg ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=0 \
    AMPLOAD_KILL_AT=fsync:identify.journal AMPLOAD_KILL_NTH=30 LD_PRELOAD="$shim"
rc=$?
[ "$rc" -eq 137 ] && [ -s st.dmg/identify.journal ] && ok || bad "damage: killed run exited $rc"
applied=$(wc -l <dmg.rec)
for how in flip half zero random; do
    cp -a st.dmg "st.$how"
    at=$(python3 - "$how" "st.$how/identify.journal" <<'EOF'
import os, random, sys
how, path = sys.argv[1:]
b = bytearray(open(path, "rb").read())
random.seed(20)
if how == "flip":
    at = random.randrange(16, len(b) // 4)
    b[at] ^= 1 << random.randrange(8)
    at = at // 16 * 16
elif how == "half":
    at = len(b) // 2
    b = b[:at]
elif how == "zero":
    at = 16 + 16 * random.randrange((len(b) - 16) // 32)
    b[at:at + 16] = bytes(16)
else:
    at = 0
    b = bytearray(os.urandom(len(b)))
open(path, "wb").write(b)
print(at)
EOF
    )
    cp "st.$how/identify.journal" "$how.damaged"
    dmg_run "st.$how"
    rc=$?
    if [ "$rc" -eq 2 ] && grep -q "^ampload: st.$how/identify.journal: the identify journal is damaged (.*) at byte $at\$" \
        "st.$how.err" && grep -q "hint: restore it" "st.$how.err" &&
        cmp -s "$how.damaged" "st.$how/identify.journal" && [ "$(wc -l <dmg.rec)" -eq "$applied" ]; then ok; else
        bad "damage $how at $at: exit $rc, $(($(wc -l <dmg.rec) - applied)) sent: $(cat "st.$how.err")"
    fi
done
# the journal put back: the resume goes on, nothing non-idempotent twice
cp st.dmg/identify.journal st.flip/identify.journal
dmg_run st.flip
rc=$?
users "$url" dmg.users
if { [ "$rc" -eq 0 ] || [ "$rc" -eq 5 ]; } && judge dmg.ndjson st.flip dmg.rec dmg.users st.flip.json any; then ok; else
    bad "damage: the resume with the journal put back (exit $rc): $(cat st.flip.err)"
fi

# ---- --from amplitude-export: each user's latest user_properties ------------
# Export rows of 150 users in random time order, zipped as Amplitude does
# (gzipped members): user_id or only device_id, empty properties, times
# from client_event_time when event_time is null, ties, a broken line.
python3 - <<'EOF'
import gzip, io, json, random, zipfile
random.seed(7)
rows = []
for i in range(1500):
    u = random.randrange(150)
    t = "2024-03-%02d %02d:%02d:%02d.%06d" % (1 + random.randrange(28), random.randrange(24),
                                             random.randrange(60), random.randrange(60), random.randrange(10**6))
    if i % 97 == 0 and rows:
        t = rows[-1]["event_time"] or rows[-1]["client_event_time"]  # a tie with the row before
    row = {"$insert_id": "x%d" % i, "event_type": "e", "event_time": t,
           "client_event_time": t, "server_received_time": t,
           "user_id": "user-%03d@example.com" % u if u % 10 else None,
           "device_id": "device-%03d-abcdef" % u,
           "user_properties": {"plan": random.choice(["free", "pro", "team"]), "row": i,
                               "note": "a&b=c+d %% \"q\" \u00fc"}}
    if i % 13 == 0:
        row["user_properties"] = {}
    if i % 17 == 0:
        row["event_time"] = None
    rows.append(row)
lines = [json.dumps(r, ensure_ascii=False) for r in rows]
lines.insert(700, '{"user_id":"broken')
with zipfile.ZipFile("export.zip", "w") as z:
    for k in range(3):
        part = "\n".join(lines[k * 501:(k + 1) * 501]) + "\n"
        z.writestr("187520/187520_2024-03-01_%d#0.json.gz" % k, gzip.compress(part.encode()))
want = {}
for i, r in enumerate(rows):
    if not r["user_properties"]:
        continue
    t = r["event_time"] or r["client_event_time"]
    who = ("user:" + r["user_id"]) if r["user_id"] else ("device:" + r["device_id"])
    if who not in want or t >= want[who][0]:
        want[who] = (t, r["user_properties"])
json.dump({k: v[1] for k, v in want.items()}, open("export.want", "w"))
EOF
start_mock users --api-key "$key" --record users.rec
"$bin" identify --from amplitude-export --endpoint "$url/identify" --state st.users \
    --report users.json export.zip 2>users.err
rc=$?
users "$url" users.users
if [ "$rc" -eq 0 ] && python3 -c 'import json
got = list(json.load(open("users.users")).values())[0]
want = json.load(open("export.want"))
r = json.load(open("users.json"))
raise SystemExit(not (got == want and r["events_sent"] == len(want)))'; then ok; else
    bad "--from amplitude-export: properties differ from each user's latest row (exit $rc): $(cat users.err)"; fi
grep -q "1501 export rows: 150 users" users.err && ok || bad "--from amplitude-export summary: $(cat users.err)"
# rerun: resumes with the same derived file and sends nothing again
"$bin" identify -q --from amplitude-export --endpoint "$url/identify" --state st.users \
    --report users2.json export.zip 2>users2.err
python3 -c 'import json; r=json.load(open("users2.json")); raise SystemExit(r["events_sent"] != 0)' &&
    [ "$(wc -l <users.rec)" -eq 150 ] && ok || bad "--from amplitude-export rerun sent again: $(cat users2.err)"
# two copies (--shard by input): each derives the same file and sends its part
start_mock users2 --api-key "$key" --record users2.rec
for i in 0 1; do
    "$bin" identify -q --from amplitude-export --shard "$i/2" --endpoint "$url/identify" \
        --state "st.users.{shard}" --report "users.{shard}.json" export.zip 2>"users.$i.err"
done
users "$url" users2.users
if "$bin" report merge users.0-of-2.json users.1-of-2.json >users.merged.json 2>users.merge.err &&
    python3 -c 'import json
got = list(json.load(open("users2.users")).values())[0]
m = json.load(open("users.merged.json"))
raise SystemExit(not (got == json.load(open("export.want")) and m["balanced"]
                      and m["events_sent"] == len(got)))'; then ok; else
    bad "--from amplitude-export by two copies: $(cat users.merge.err users.0.err users.1.err)"
fi
# a changed export under a checkpoint is refused
touch -d '2020-01-01' export.zip
"$bin" identify -q --from amplitude-export --endpoint "$url/identify" --state st.users export.zip \
    >/dev/null 2>users3.err
[ $? -eq 2 ] && grep -q "changed" users3.err && ok || bad "changed export accepted: $(cat users3.err)"

# ---- rejects, usage, key -------------------------------------------------------
"$gen" --identify -n 400 --seed 16 --bad-rate 0.5 -o bad.ndjson
"$bin" identify --dry-run -q --state st.bad --report bad.json bad.ndjson 2>/dev/null
if python3 -c 'import json; r=json.load(open("bad.json")); w=r["rejected_by_reason"]
want = {"mixed_operations", "unknown_operation", "add_not_numeric", "user_properties_not_object",
        "operation_not_object", "missing_id", "id_too_short", "invalid_json"}
raise SystemExit(not (want <= set(w) and r["rejected_local"] + r["events_valid"] == 400))'; then ok; else
    bad "rejects: $(head -c 900 bad.json)"; fi
"$bin" identify --gzip x.ndjson >/dev/null 2>&1; [ $? -eq 2 ] && ok || bad "--gzip accepted by identify"
"$bin" --resend-non-idempotent x.ndjson >/dev/null 2>&1; [ $? -eq 2 ] && ok || bad "--resend-non-idempotent accepted by load"
"$bin" identify --rename a=b x.ndjson >/dev/null 2>&1; [ $? -eq 2 ] && ok || bad "--rename accepted by identify"
start_mock wrong --api-key "other_key_123456"
"$bin" identify -v --endpoint "$url/identify" --state st.wrong --audit wrong.audit --report wrong.json \
    clean.ndjson >wrong.out 2>&1
rc=$?
[ "$rc" -eq 4 ] && ok || bad "wrong key: exit $rc"
if grep -rqF -e "$key" -e "${key:0:8}" wrong.out wrong.audit wrong.json st.* clean.err faults.err \
    step1.err step2.err rand.err; then bad "the key appears in output or state"; else ok; fi

finish
