#!/usr/bin/env bash
# torture.sh - the crash campaign, longer: N random kills (default 20) of
# ampload loading into ampload-mock - at random moments, at random steps of
# start-up, rollback and checkpoint saves (before a rename, fsync or unlink
# under the state directory), and while the final report is written - each
# cycle finished by the same command and every output file checked line by
# line (tests/test_crash.c says what is checked).
#
#   tests/crash/torture.sh [N] [SEED]     after scripts/setup.sh (./build)
set -euo pipefail
cd "$(dirname "$0")/../.."
kills=${1:-20}
seed=${2:-20261123}
build=${BUILD_DIR:-build}
[ -x "$build/tests/test_crash" ] || { echo "torture: build first (scripts/setup.sh)" >&2; exit 2; }
export AMPLOAD_BIN=$PWD/$build/ampload AMPLOAD_MOCK=$PWD/$build/ampload-mock
export AMPLOAD_GEN=$PWD/$build/gen-events AMPLOAD_KILLSHIM=$PWD/$build/tests/libkillshim.so
export AMPLOAD_TORTURE_KILLS=$kills AMPLOAD_TORTURE_SEED=$seed
export CK_RUN_CASE=campaign CK_DEFAULT_TIMEOUT=$((60 + kills * 30))
exec "$build/tests/test_crash"
