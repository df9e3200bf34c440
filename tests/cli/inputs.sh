#!/usr/bin/env bash
# inputs.sh - inputs that are not what ampload reads: a JSON array
# (pretty-printed or on one line), pretty-printed JSON objects, CSV and TSV,
# from every source (a file, gzip, zstd, a zip member, standard input); a
# file of which every line is refused; `time` in seconds or microseconds.
#
# The shapes are checked as a property that holds whether ampload refuses
# them or (later) reads them: no silent partial load. Either the input is
# refused (exit 3, a message naming it, no event of it at the server) or
# every record arrives (exit 0). A refused input leaves nothing behind: once
# converted in place, the same command loads all of it.
# Usage: inputs.sh AMPLOAD AMPLOAD_MOCK
set -u
bin=$1
mock=$2
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh"
key="InPuTs-$(date +%s%N)-k3y"
export AMPLITUDE_API_KEY="$key"
start_mock m --api-key "$key" --record rec.ndjson
touch rec.ndjson

# Three records, each a valid event, written in every shape.
python3 - <<'PY'
import csv, gzip, io, json, zipfile
ev = [{"event_type": "open", "user_id": "user-%d" % i, "time": 1700000000000 + i,
       "insert_id": "shape-%d" % i} for i in range(3)]
def write(name, text):
    open(name, "w").write(text)
write("array.json", "[\n" + ",\n".join("  " + json.dumps(e) for e in ev) + "\n]\n")
write("array1.json", json.dumps(ev) + "\n")
write("pretty.json", "".join(json.dumps(e, indent=2) + "\n" for e in ev))
for name, delim in (("events.csv", ","), ("events.tsv", "\t")):
    out = io.StringIO()
    w = csv.writer(out, delimiter=delim, lineterminator="\n")
    w.writerow(["event_type", "user_id", "time", "insert_id"])
    for e in ev:
        w.writerow([e["event_type"], e["user_id"], e["time"], e["insert_id"]])
    write(name, out.getvalue())
open("array.json.gz", "wb").write(gzip.compress(open("array.json", "rb").read()))
with zipfile.ZipFile("export.zip", "w") as z:
    z.writestr("p/p_1.json.gz", gzip.compress(open("pretty.json", "rb").read()))
write("notes.txt", "these are notes\nnot events at all\n")
write("good.ndjson", "".join(json.dumps(dict(e, insert_id="good-%d" % i)) + "\n"
                             for i, e in enumerate(ev)))
PY
zstd -q pretty.json -o pretty.json.zst

delivered() {
    wc -l <rec.ndjson
}

# no_partial NAME N ARGS...: the run over ARGS refuses the input (exit 3,
# the input named on stderr, nothing new at the server) or delivers all N
# of its records (exit 0).
no_partial() {
    local name=$1 n=$2 before after rc
    shift 2
    before=$(delivered)
    "$bin" -q --endpoint "$url/batch" --state "st-$name" --retry-time 5 "$@" \
        >"$name.out" 2>"$name.err"
    rc=$?
    after=$(delivered)
    if [ "$rc" -eq 3 ] && [ "$after" -eq "$before" ] && grep -q "not NDJSON" "$name.err"; then
        ok
    elif [ "$rc" -eq 0 ] && [ $((after - before)) -eq "$n" ]; then
        ok
    else
        bad "$name: exit $rc, $((after - before)) of $n records delivered: $(cat "$name.err")"
    fi
}

no_partial array 3 array.json
no_partial array1 3 array1.json
no_partial pretty 3 pretty.json
no_partial csv 3 events.csv
no_partial tsv 3 events.tsv
no_partial gz 3 array.json.gz
no_partial zst 3 pretty.json.zst
no_partial zip 3 export.zip
no_partial stdin 3 - <array.json
# another input in the same run is no excuse for a partial load
no_partial mixed 6 good.ndjson array.json
# a stream after a file: refused before the file's records are sent (the
# rerun after converting it would send them again, and identify would apply
# them twice)
no_partial mixed-stdin 6 good.ndjson - <array.json

# what it is, where, and the command that converts it
grep -q "array.json: not NDJSON (it is a JSON array.*jq -c '.\[\]' array.json > array.ndjson) at byte 0" array.err && ok ||
    bad "array: message: $(cat array.err)"
grep -q "export.zip:p/p_1.json.gz: not NDJSON.*unzip -p export.zip p/p_1.json.gz | gzip -dc | jq -c ." zip.err && ok ||
    bad "zip: message: $(cat zip.err)"
grep -q "events.csv: not NDJSON (it looks like CSV.*mlr --icsv --ojsonl cat events.csv" csv.err && ok ||
    bad "csv: message: $(cat csv.err)"
# `check` says so too, and sends nothing
"$bin" check --endpoint "$url/batch" --state st-check array.json >check.txt 2>&1
rc=$?
[ "$rc" -eq 3 ] && grep -q "not NDJSON" check.txt && ok || bad "check: exit $rc: $(cat check.txt)"

# A refused input leaves no mark: converted in place, the same command
# loads every record of it.
if grep -q "not NDJSON" array.err; then
    jq -c '.[]' array.json >array.tmp && mv array.tmp array.json
    before=$(delivered)
    "$bin" -q --endpoint "$url/batch" --state st-array --retry-time 5 array.json >again.out 2>again.err
    rc=$?
    [ "$rc" -eq 0 ] && [ $(($(delivered) - before)) -eq 3 ] && ok ||
        bad "after conversion: exit $rc, $(($(delivered) - before)) of 3 delivered: $(cat again.err)"
fi

# Every line of an input refused: exit 3 with its name, the count and the
# first reason, even though the other input loaded.
"$bin" --dry-run --state st-notes notes.txt good.ndjson >notes.out 2>notes.err
rc=$?
[ "$rc" -eq 3 ] && grep -q "notes.txt: every line of this input was rejected (2 lines; the first, line 1: invalid JSON" notes.err &&
    ok || bad "notes: exit $rc: $(cat notes.err)"
"$bin" --dry-run -q --state st-good good.ndjson >/dev/null 2>&1 && ok || bad "good.ndjson alone: exit $?"

# time in seconds or microseconds: each line refused with the reason (and
# a file of nothing else is refused as a whole); milliseconds pass
python3 - <<'PY'
import json
def line(t):
    return json.dumps({"event_type": "open", "user_id": "user-1", "time": t}) + "\n"
open("seconds.ndjson", "w").write(line(1700000000) + line(1700000001))
open("micros.ndjson", "w").write(line(1700000000000000))
open("mixed.ndjson", "w").write(line(1700000000000) + line(1700000000))
row = {"$insert_id": "ins-1", "uuid": "uu-1", "event_type": "open", "user_id": "user-1",
       "event_time": "2026-01-02 03:04:05.678901", "amplitude_id": 1}
open("export-rows.ndjson", "w").write(json.dumps(row) + "\n" + json.dumps(dict(row, uuid="uu-2")) + "\n")
PY
"$bin" --dry-run -q --state st-sec seconds.ndjson >sec.out 2>sec.err
rc=$?
[ "$rc" -eq 3 ] && grep -q "time 1700000000 looks like seconds (as milliseconds it is before 1973-03-03); ampload wants milliseconds since the epoch" sec.err &&
    grep -q '"reason":"time 1700000001 looks like seconds' st-sec/rejected.ndjson && ok ||
    bad "seconds: exit $rc: $(cat sec.err)"
"$bin" --dry-run -q --state st-us micros.ndjson >us.out 2>us.err
grep -q "time 1700000000000000 looks like microseconds" st-us/rejected.ndjson && ok ||
    bad "microseconds: $(cat us.err st-us/rejected.ndjson)"
"$bin" --dry-run --state st-mixed mixed.ndjson >mixed.out 2>mixed.err
rc=$?
[ "$rc" -eq 0 ] && grep -q "1 valid events" mixed.err && grep -q "time_in_seconds 1" mixed.err && ok ||
    bad "mixed times: exit $rc: $(cat mixed.err)"

# --from amplitude-export: the user's edits of time and insert_id win over
# the mapping's (never a duplicate key)
for edit in "--set time=1767323045000" "--set insert_id=\"x\"" "--rename uuid=time"; do
    # shellcheck disable=SC2086 # the edit is two words
    "$bin" --dry-run -q --state st-edit --from amplitude-export $edit export-rows.ndjson \
        >edit.out 2>edit.err
    rc=$?
    if grep -qs duplicate st-edit/rejected.ndjson; then
        bad "$edit: $(cat st-edit/rejected.ndjson)"
    elif [ "${edit#--set}" != "$edit" ] && [ "$rc" -ne 0 ]; then
        bad "$edit: exit $rc: $(cat edit.err)"
    else
        ok
    fi
done

finish
