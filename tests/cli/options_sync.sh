#!/usr/bin/env bash
# options_sync.sh - the option tables (src/cli/options.c, src/mock/mock_opts.c)
# and the pages agree: the option entries of both man pages and of the README
# are what ampload-optdoc writes from the tables (--help is made from them at
# run time), each page has the regions it should, and every option a page
# names anywhere, prose included, is an option of ampload or of the mock.
# A difference planted in a copy of each page must be caught.
# Usage: options_sync.sh AMPLOAD-OPTDOC SOURCE_DIR
set -u
optdoc=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

pages=("$src/docs/man/ampload.1" "$src/docs/man/ampload-mock.1" "$src/README.md")
if "$optdoc" check "${pages[@]}"; then ok; else bad "the pages differ from the tables"; fi

# the regions each page must have
want_regions() {
    local file=$1
    shift
    for r in "$@"; do
        if grep -qE "^(\\.\\\\\" options: $r\$|<!-- options: $r -->\$)" "$file"; then ok
        else bad "$(basename "$file") has no options region '$r'"; fi
    done
}
want_regions "$src/docs/man/ampload.1" load identify export report load-env
want_regions "$src/docs/man/ampload-mock.1" mock
want_regions "$src/README.md" load identify export mock

# every --option a page names is an option (or another tool's, listed here)
"$optdoc" names | sort -u >"$tmp/names"
grep -q '^AMPLOAD_SHARD_BY$' "$tmp/names" || bad "names lists no environment variables"
foreign="array wait install quick for from-file icsv itsv ojsonl bad-rate blank-rate crlf
no-newline-at-end identify users export- build target prefix"
printf '%s\n' $foreign >>"$tmp/names"
for f in "${pages[@]}" "$src/docs/scale-out.md"; do
    sed 's/\\-/-/g' "$f" | grep -oE '(^|[^A-Za-z0-9_-])--[a-z][a-z0-9-]+' |
        sed -E 's/^[^-]*--//' | sort -u >"$tmp/used"
    unknown=$(comm -23 "$tmp/used" <(sort -u "$tmp/names"))
    if [ -z "$unknown" ]; then ok; else bad "$(basename "$f") names options that do not exist: $unknown"; fi
done

# every AMPLOAD_ variable a page names is an option's (or the Slurm script's,
# or AMPLOAD_SIMD), and every option's variable is in the README and the man page
scripts="AMPLOAD_SIMD AMPLOAD_SHARDS AMPLOAD_STATE_ROOT AMPLOAD_API_KEY_FILE AMPLOAD_ARGS"
for f in "${pages[@]}" "$src/docs/scale-out.md"; do
    unknown=$(grep -ohE 'AMPLOAD_[A-Z_]+' "$f" | sort -u |
        comm -23 - <( (grep '^AMPLOAD_' "$tmp/names"; printf '%s\n' $scripts) | sort -u))
    if [ -z "$unknown" ]; then ok; else bad "$(basename "$f") names variables that do not exist: $unknown"; fi
done
for v in $(grep '^AMPLOAD_' "$tmp/names"); do
    for f in "$src/README.md" "$src/docs/man/ampload.1"; do
        if grep -q "$v" "$f"; then ok; else bad "$(basename "$f") does not name $v"; fi
    done
done

# the check itself: a row left out of the README, a default changed in the
# man page, each caught and the file named
cp "$src/README.md" "$tmp/README.md"
sed -i '/^| `--chunk-bytes N`/d' "$tmp/README.md"
if "$optdoc" check "$tmp/README.md" 2>"$tmp/err"; then bad "a README without --chunk-bytes passed"
elif grep -q 'README.md: line [0-9]* differs from the option table' "$tmp/err"; then ok
else bad "the dropped row was not named: $(cat "$tmp/err")"; fi
cp "$src/docs/man/ampload.1" "$tmp/ampload.1"
sed -i 's/(default 120)/(default 60)/' "$tmp/ampload.1"
if "$optdoc" check "$tmp/ampload.1" 2>"$tmp/err"; then bad "a man page with another --timeout default passed"
elif grep -q 'ampload.1: line [0-9]* differs' "$tmp/err"; then ok
else bad "the changed default was not named: $(cat "$tmp/err")"; fi
# and write puts it right again
if "$optdoc" write "$tmp/ampload.1" >/dev/null && cmp -s "$tmp/ampload.1" "$src/docs/man/ampload.1"; then ok
else bad "write did not restore the man page"; fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
