#!/usr/bin/env bash
# errors.sh - what the user sees when the command line or an input is wrong.
# Each case checks the exit code and the words of the message.
# Usage: errors.sh AMPLOAD GEN_EVENTS
set -u
bin=$1
gen=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
pass=0
fail=0

# expect CODE PATTERN -- ARGS...: run ampload, check exit code and stderr.
expect() {
    local code=$1 pattern=$2
    shift 3
    "$bin" "$@" >out.txt 2>err.txt
    local rc=$?
    if [ "$rc" -ne "$code" ] || ! grep -qE -- "$pattern" err.txt; then
        echo "FAIL: ampload $* -> exit $rc (want $code), stderr:"
        sed 's/^/    /' err.txt
        echo "    (wanted /$pattern/)"
        fail=$((fail + 1))
    else
        pass=$((pass + 1))
    fi
}

"$gen" -n 2000 --seed 9 -o good.ndjson
zstd -q good.ndjson -o good.zst
head -c $(($(stat -c %s good.zst) - 40)) good.zst > cut.zst
cp good.zst corrupt.zst
printf '\x55\x55\x55\x55\x55\x55\x55\x55' | dd of=corrupt.zst bs=1 seek=2000 conv=notrunc status=none
gzip -c good.ndjson > events.ndjson.gz
printf '\x00\x01\x02binary' > blob.ndjson
: > empty.ndjson
mkdir adir

# usage errors: exit 2, one line and a hint
expect 2 "no input files" -- --dry-run
expect 2 "unknown option '--bogus'" -- --dry-run --bogus good.ndjson
expect 2 "--batch-events: 5000 is out of range \(1..2000\)" -- --dry-run --batch-events 5000 good.ndjson
expect 2 "--threads: 'abc' is not a number" -- --dry-run --threads abc good.ndjson
expect 2 "option --state needs a value" -- --dry-run good.ndjson --state
expect 2 "--api-key would show the key" -- --dry-run --api-key SECRET good.ndjson
expect 2 "--max-event-bytes must be at most" -- --dry-run --batch-bytes 10000 --max-event-bytes 20000 good.ndjson
expect 4 "no API key" -- good.ndjson
expect 2 "Try 'ampload --help'" -- --dry-run --batch-bytes 12 good.ndjson
# an input that is also an output: which output it is
expect 2 "good\.ndjson: this input is also an output of the run \(it is the run's --report file, good\.ndjson\)" -- \
    --dry-run --state st.io --report good.ndjson good.ndjson
expect 2 "this input is also an output of the run \(it is the run's --audit file" -- \
    --dry-run --state st.io --audit ./good.ndjson good.ndjson
mkdir st.io && cp good.ndjson st.io/rejected.ndjson
expect 2 "rejected\.ndjson: this input is also an output of the run \(it is the run's reject file" -- \
    --dry-run --state st.io st.io/rejected.ndjson
# edits: each bad spec named, with what is wrong
expect 2 "--rename: 'uid' is not OLD=NEW" -- --dry-run --rename uid good.ndjson
expect 2 "--set: the value for 'tag' is not JSON \(a string needs its quotes\)" -- --dry-run --set tag=x good.ndjson
expect 2 "--drop: field 'x' is edited twice" -- --dry-run --drop x --drop x good.ndjson
expect 2 "--from 'segment': use amplitude-export" -- --dry-run --from segment good.ndjson
expect 0 "2000 valid events" -- --dry-run --set 'import_job="j1"' --drop city --skip-user-properties-sync good.ndjson
AMPLOAD_SIMD=avx512 expect 2 "AMPLOAD_SIMD: 'avx512' is not available" -- --dry-run good.ndjson
AMPLOAD_SIMD=scalar expect 0 "2000 valid events" -- --dry-run good.ndjson
# `ampload load` is `ampload`; a file named like a subcommand needs ./
expect 0 "2000 valid events" -- load --dry-run good.ndjson
expect 2 "unknown option '--bogus'" -- load --dry-run --bogus good.ndjson
# --version names the scanner variant in use, and AMPLOAD_SIMD changes it
if "$bin" --version | grep -qE "JSON scanner: (avx2|sse2|scalar)\)" &&
    AMPLOAD_SIMD=scalar "$bin" --version | grep -q "JSON scanner: scalar)"; then
    pass=$((pass + 1))
else
    echo "FAIL: --version does not name the scanner: $("$bin" --version)"; fail=$((fail + 1))
fi

# input errors: exit 3, the file named, what went wrong, a hint
expect 3 "missing\.ndjson: no such file" -- --dry-run good.ndjson missing.ndjson
expect 3 "adir: is a directory" -- --dry-run adir
expect 0 "2000 valid events" -- --dry-run events.ndjson.gz
printf 'BZh91AY&SY' >events.ndjson.bz2
expect 3 "events\.ndjson\.bz2: unsupported input format \(bzip2-compressed\)" -- --dry-run events.ndjson.bz2
head -c 3000 events.ndjson.gz >cut.gz
expect 3 "cut\.gz: truncated gzip data .* at byte 3000" -- --dry-run cut.gz
expect 3 "blob\.ndjson: not a text file" -- --dry-run blob.ndjson
# zip archives (written by python's zipfile: an implementation of its own)
python3 - <<'PY'
import gzip, zipfile
ev = open("good.ndjson", "rb").read()
half = ev.index(b"\n", len(ev) // 2) + 1
with zipfile.ZipFile("export.zip", "w") as z:
    z.writestr("p/p_0#10.json.gz", gzip.compress(ev[half:]), compress_type=zipfile.ZIP_STORED)
    z.writestr("p/p_0#2.json.gz", gzip.compress(ev[:half]), compress_type=zipfile.ZIP_DEFLATED)
    z.writestr("__MACOSX/p/._p_0#2.json.gz", b"junk")
    z.writestr("p/notes.bin", b"\x00\x01binary")
with zipfile.ZipFile("bz.zip", "w") as z:
    z.writestr("a.ndjson", ev, compress_type=zipfile.ZIP_BZIP2)
with zipfile.ZipFile("odd.zip", "w") as z:
    z.writestr("a.ndjson", ev, compress_type=zipfile.ZIP_LZMA)
data = open("export.zip", "rb").read()
open("cut.zip", "wb").write(data[: len(data) // 2])
with zipfile.ZipFile("plain.zip", "w") as z:
    z.writestr("day.ndjson", ev, compress_type=zipfile.ZIP_DEFLATED)
bad = bytearray(open("plain.zip", "rb").read())
at = len(bad) // 2  # inside the deflated member's data
bad[at:at + 64] = bytes(b ^ 0x5A for b in bad[at:at + 64])
open("bad.zip", "wb").write(bytes(bad))
PY
expect 3 "export\.zip:p/notes\.bin: not a text file" -- --dry-run export.zip
python3 - <<'PY'
import zipfile
src = zipfile.ZipFile("export.zip")
with zipfile.ZipFile("clean.zip", "w") as z:
    for i in src.infolist():
        if i.filename != "p/notes.bin":
            z.writestr(i, src.read(i.filename))
PY
expect 0 "1 zip archive: 2 members to read, 1 entry skipped" -- --dry-run clean.zip
expect 0 "2000 valid events" -- --dry-run clean.zip
expect 0 "2000 valid events" -- --dry-run bz.zip
expect 3 "cut\.zip: corrupt zip archive \(central directory: " -- --dry-run cut.zip
expect 3 "hint: the archive is damaged" -- --dry-run cut.zip
expect 3 "bad\.zip:day\.ndjson: corrupt zip archive \(zip member data: .*\) at byte [0-9]+" -- --dry-run bad.zip
expect 3 "odd\.zip: a zip member ampload cannot read \(member a\.ndjson: its compression method" -- --dry-run odd.zip
expect 3 "<stdin>: unsupported input format \(a zip archive, which is read from its path" -- --dry-run - <clean.zip
expect 3 "cut\.zst: truncated zstd data .* at byte [0-9]+" -- --dry-run cut.zst
expect 3 "corrupt\.zst: corrupt zstd data \(.+\) at byte [0-9]+" -- --dry-run corrupt.zst
expect 3 "hint: the file is damaged" -- --dry-run corrupt.zst

# a truncated input still reports what it did read, and the run goes on
expect 3 "truncated zstd" -- --dry-run --report r.json cut.zst good.ndjson
if grep -q '"lines_read": ' r.json && [ "$(grep -o '"lines_read": [0-9]*' r.json | grep -o '[0-9]*$')" -gt 2000 ]; then
    pass=$((pass + 1))
else
    echo "FAIL: report after a truncated input"; cat r.json; fail=$((fail + 1))
fi

# permission denied (as root, only a non-root user sees it)
cp good.ndjson locked.ndjson
chmod 000 locked.ndjson
if [ "$(id -u)" -ne 0 ]; then
    expect 3 "locked\.ndjson: permission denied" -- --dry-run locked.ndjson
elif command -v setpriv >/dev/null; then
    chmod 755 "$tmp"
    setpriv --reuid=65534 --regid=65534 --clear-groups "$bin" --dry-run --state /tmp/ampload-nobody-$$ locked.ndjson 2>err.txt
    rc=$?
    if [ $rc -eq 3 ] && grep -q "locked.ndjson: permission denied" err.txt; then pass=$((pass + 1)); else echo "FAIL: permission denied ($rc)"; cat err.txt; fail=$((fail + 1)); fi
fi

# an empty file is a warning, not an error
expect 0 "warning: empty\.ndjson is empty" -- --dry-run empty.ndjson good.ndjson

# help and version go to stdout with exit 0
if "$bin" --help | grep -q "^Usage: ampload" && "$bin" --version | grep -q "^ampload [0-9]"; then
    pass=$((pass + 1))
else
    echo "FAIL: --help / --version"; fail=$((fail + 1))
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
