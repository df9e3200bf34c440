#!/usr/bin/env bash
# check_cycles.sh - no module of the ampload command depends on another that
# depends back on it (scripts/check-cycles.py, on the objects the linker
# sees), and the check catches such a pair, planted in two small objects.
#
#   tests/check_cycles.sh SOURCE_DIR CC OBJECT...
set -u
src=${1:?usage: check_cycles.sh SOURCE_DIR CC OBJECT...}
cc=${2:?}
shift 2
check="$src/scripts/check-cycles.py"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

if out=$(python3 "$check" "$@" 2>&1); then
    echo "ok   no module cycle among the command's objects"
else
    echo "FAIL a module cycle: $out"
    fails=$((fails + 1))
fi

# main.c calling a command that calls back into main.c (what cli_settle was)
printf 'int cmd_x(void);\nint settle(void) { return 1; }\nint main(void) { return cmd_x(); }\n' \
    >"$tmp/main.c"
printf 'int settle(void);\nint cmd_x(void) { return settle(); }\n' >"$tmp/cmd_x.c"
"$cc" -c "$tmp/main.c" -o "$tmp/main.c.o" && "$cc" -c "$tmp/cmd_x.c" -o "$tmp/cmd_x.c.o"
rc=0
out=$(python3 "$check" "$tmp/main.c.o" "$tmp/cmd_x.c.o" 2>&1) || rc=$?
if [ "$rc" -eq 1 ] && grep -qF "cmd_x -> main (settle)" <<<"$out" &&
    grep -qF "main -> cmd_x (cmd_x)" <<<"$out"; then
    echo "ok   a planted cycle is named"
else
    echo "FAIL a planted cycle: exit $rc: $out"
    fails=$((fails + 1))
fi

[ "$fails" -eq 0 ] || exit 1
