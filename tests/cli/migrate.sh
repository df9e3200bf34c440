#!/usr/bin/env bash
# migrate.sh - a migration on loopback: events loaded into project A of one
# ampload-mock, A exported through its Export API (GET /api/2/export, Basic
# auth, a zip of gzipped export rows), the zip loaded into project B with
# --from amplitude-export. B must hold every event of A exactly once, each
# field equal after the documented mapping (times to the millisecond, UTC;
# insert_ids preserved); loading the export again adds nothing. Also the
# export endpoint's answers: 404, 401, 403, 400 over the size limit, and
# a damaged download refused.
# Usage: migrate.sh AMPLOAD AMPLOAD_MOCK GEN_EVENTS
set -u
bin=$1
mock=$2
gen=$3
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh"

key_a=projectAkey0123456789abcdef0123
key_b=projectBkey0123456789abcdef0123
secret=s3cret-not-in-any-output
mkdir rec
start_mock m --export --upload-time event --record-dir rec --secret-key "$secret"
"$gen" -n 12000 --seed 41 --bad-rate 0.01 --blank-rate 0.01 -o a.ndjson
app() { python3 -c '
import sys
h = 1469598103934665603
for c in sys.argv[1].encode():
    h = ((h ^ c) * 1099511628211) % (1 << 64)
print(100000 + h % 900000)' "$1"; }
rec_a=rec/$(app "$key_a").ndjson
rec_b=rec/$(app "$key_b").ndjson

# 1. project A
AMPLITUDE_API_KEY=$key_a "$bin" -q --endpoint "$url/batch" --state sa a.ndjson
rc=$?
[ $rc -eq 0 ] && [ -s "$rec_a" ] && ok || bad "load into A: exit $rc"

# 2. its export: the events' hours (November 2023), end hour included
code=$(curl -s -o export.zip -w '%{http_code}' -u "$key_a:$secret" \
    "$url/api/2/export?start=20231114T22&end=20231114T22")
[ "$code" = 200 ] && ok || bad "export: HTTP $code"
python3 - <<'EOF' && ok || bad "the export zip"
import gzip, json, zipfile
z = zipfile.ZipFile("export.zip")
assert z.testzip() is None
names = z.namelist()
assert len(names) >= 2 and all(n.endswith(".json.gz") for n in names), names
rows = [json.loads(l) for n in names for l in gzip.decompress(z.read(n)).splitlines()]
assert all("event_time" in r and "$insert_id" in r and "server_upload_time" in r for r in rows)
EOF

# 3. into project B, straight from the zip
AMPLITUDE_API_KEY=$key_b "$bin" -q --from amplitude-export --endpoint "$url/batch" --state sb \
    --report b.json export.zip
rc=$?
[ $rc -eq 0 ] && ok || bad "load of the export into B: exit $rc"

# B = A, field by field: the export adds its event_id (kept by the mapping)
same() { same_events "$rec_a" "$rec_b"; }
same && ok || bad "B differs from A"
[ "$(wc -l <"$rec_a")" -eq "$(grep -o '"events_sent": [0-9]*' b.json | grep -o '[0-9]*$')" ] &&
    ok || bad "events sent to B: $(grep events_sent b.json)"

# 4. the whole load again: the insert_ids keep B as it is
AMPLITUDE_API_KEY=$key_b "$bin" -q --from amplitude-export --endpoint "$url/batch" --state sb \
    --restart export.zip
before=$(wc -l <"$rec_b")
[ "$before" -eq "$(wc -l <"$rec_a")" ] && same && ok || bad "a rerun added to B ($before events)"

# 5. the endpoint's other answers
code=$(curl -s -o /dev/null -w '%{http_code}' -u "$key_a:$secret" \
    "$url/api/2/export?start=20200101T00&end=20200101T23")
[ "$code" = 404 ] && ok || bad "empty window: HTTP $code"
code=$(curl -s -o /dev/null -w '%{http_code}' "$url/api/2/export?start=20231114T00&end=20231114T23")
[ "$code" = 401 ] && ok || bad "no auth: HTTP $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -u "$key_a:wrong" \
    "$url/api/2/export?start=20231114T00&end=20231114T23")
[ "$code" = 403 ] && ok || bad "wrong secret: HTTP $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -u "$key_a:$secret" \
    "$url/api/2/export?start=20231114T23&end=20231114T22")
[ "$code" = 400 ] && ok || bad "end before start: HTTP $code"
start_mock small --export --upload-time event --export-max-events 100
AMPLITUDE_API_KEY=$key_a "$bin" -q --endpoint "$url/batch" --state ss a.ndjson
code=$(curl -s -o big.txt -w '%{http_code}' -u "$key_a:x" \
    "$url/api/2/export?start=20231114T00&end=20231114T23")
[ "$code" = 400 ] && grep -q "too large" big.txt && ok || bad "over the limit: HTTP $code"

# 6. a download cut short is refused before anything is sent
head -c $(($(stat -c %s export.zip) / 2)) export.zip >cut.zip
AMPLITUDE_API_KEY=$key_b "$bin" -q --from amplitude-export --endpoint "$url/batch" --state sc \
    cut.zip 2>cut.err
rc=$?
[ $rc -eq 3 ] && grep -q "cut.zip: corrupt zip archive" cut.err && ok ||
    bad "cut download: exit $rc: $(cat cut.err)"

# the secret key was never written anywhere by ampload or the mock
if grep -rqF "$secret" . 2>/dev/null; then
    bad "the secret key appears in: $(grep -rlF "$secret" . | head -3)"
else
    ok
fi
finish
