#!/usr/bin/env bash
# check_layers.sh - the layering check (scripts/check-layers.py) passes on the
# tree, and catches what it is for: each violation is planted in a copy of
# src/core and must make the check fail, naming the file and the include.
#
#   tests/check_layers.sh SOURCE_DIR
set -u
src=${1:?usage: check_layers.sh SOURCE_DIR}
check="$src/scripts/check-layers.py"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

ok() { echo "ok   $1"; }
bad() { echo "FAIL $1"; fails=$((fails + 1)); }

if out=$(python3 "$check" "$src/src/core" 2>&1); then
    ok "the tree keeps its layers"
else
    bad "the tree keeps its layers:"
    echo "$out"
fi

# plant NAME EXPECTED... - runs the check on $tmp/src/core (already altered),
# which must fail with every EXPECTED string in its output; then restores it.
plant() {
    local name=$1 rc=0 s
    shift
    out=$(python3 "$check" "$tmp/src/core" 2>&1) || rc=$?
    if [ "$rc" -ne 1 ]; then
        bad "$name: exit $rc, not 1; output: $out"
    else
        for s in "$@"; do
            if ! grep -qF -- "$s" <<<"$out"; then
                bad "$name: the output does not name '$s': $out"
                rm -rf "$tmp/src/core"
                cp -r "$src/src/core" "$tmp/src/core"
                return
            fi
        done
        ok "$name"
    fi
    rm -rf "$tmp/src/core"
    cp -r "$src/src/core" "$tmp/src/core"
}

mkdir -p "$tmp/src" "$tmp/docs"
cp -r "$src/src/core" "$tmp/src/core"
cp "$src/docs/DESIGN.md" "$tmp/docs/DESIGN.md"

# a base module reaching up to the sender
sed -i '0,/#include "error.h"/s//&\n#include "send.h"/' "$tmp/src/core/error.c"
plant "an upward include" "error.c:" '#include "send.h"' "higher layer"

# the event layer reaching up to the checkpoint (what insertid once did)
sed -i '0,/#include "insertid.h"/s//&\n#include "checkpoint.h"/' "$tmp/src/core/insertid.c"
plant "insertid including the checkpoint" "insertid.c:" '#include "checkpoint.h"' "(durable)"

# core including the CLI
echo '#include "../cli/cli.h"' >>"$tmp/src/core/queue.c"
plant "core including the CLI" "queue.c:" '#include "../cli/cli.h"' "not a module"

# a new module nobody placed in a layer
printf '#include "error.h"\n' >"$tmp/src/core/newmod.c"
plant "a module in no layer" "newmod.c" "in no layer"

# a module the map names that no longer exists
rm "$tmp/src/core/aimd.c" "$tmp/src/core/aimd.h"
sed -i '/#include "aimd.h"/d' "$tmp/src/core/send.c"
plant "a stale entry in the map" "module aimd has no file"

# two modules of one layer including each other
sed -i '0,/#include "json.h"/s//&\n#include "batch.h"/' "$tmp/src/core/identify.h"
plant "an include cycle" "include cycle" "batch -> identify -> batch"

# the design map forgetting a module of its layer
sed -i '/^| input |/s/, `fileid`//' "$tmp/docs/DESIGN.md"
plant "DESIGN.md out of step with LAYERS" "DESIGN.md: the layer input" "'fileid'"
cp "$src/docs/DESIGN.md" "$tmp/docs/DESIGN.md"

if [ "$fails" -ne 0 ]; then
    echo "$fails check(s) failed"
    exit 1
fi
echo "all checks passed"
