#!/usr/bin/env bash
# check_state_names.sh - every file name of the state directory is spelled
# only in src/core/statedir.c's layout table (scripts/check-state-names.py),
# and the check catches a path built elsewhere: planted in a copy of src/.
#
#   tests/check_state_names.sh SOURCE_DIR
set -u
src=${1:?usage: check_state_names.sh SOURCE_DIR}
check="$src/scripts/check-state-names.py"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }

if out=$(python3 "$check" "$src/src" 2>&1); then
    ok "the tree spells each state file once"
else
    bad "the tree spells each state file once:"
    echo "$out"
fi

# plant NAME LINE EXPECTED: appends LINE to a copy of src/cli/state.c; the
# check must fail naming EXPECTED; a comment or prose must not.
plant() {
    local name=$1 line=$2 expected=$3 rc=0
    rm -rf "$tmp/src"
    cp -r "$src/src" "$tmp/src"
    printf '%s\n' "$line" >>"$tmp/src/cli/state.c"
    out=$(python3 "$check" "$tmp/src" 2>&1) || rc=$?
    if [ -z "$expected" ]; then
        [ "$rc" -eq 0 ] && ok "$name passes" || bad "$name: exit $rc: $out"
    elif [ "$rc" -ne 1 ]; then
        bad "$name: exit $rc, not 1: $out"
    elif ! grep -qF -- "$expected" <<<"$out"; then
        bad "$name: the output does not name '$expected': $out"
    else
        ok "$name is caught"
    fi
}
plant "a path built with the name" \
    'static const char *p = "%s/failed.index";' "src/cli/state.c:"
plant "the bare name of the lock" \
    'static const char *l = "lock";' '"lock" names the state file lock'
plant "a comment" '/* the checkpoint and rejected.ndjson live there */' ""
plant "prose in a message" 'static const char *m = "see rejected.ndjson in the state directory";' ""
rm -rf "$tmp/src"
mkdir -p "$tmp/src/core"
: >"$tmp/src/core/statedir.c"
rc=0
out=$(python3 "$check" "$tmp/src" 2>&1) || rc=$?
[ "$rc" -eq 2 ] && ok "a missing layout table is an error" || bad "no table: exit $rc: $out"

[ "$fails" -eq 0 ] && echo "all checks passed" || echo "$fails checks failed"
exit $((fails > 0))
