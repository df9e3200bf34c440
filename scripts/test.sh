#!/usr/bin/env bash
# test.sh - set up, build and run the whole test suite, the way CI does.
#
#   scripts/test.sh           format and layering checks, Release build + ctest, then the
#                             suite again under AddressSanitizer+UBSan, and the
#                             threaded (pipeline) tests under ThreadSanitizer
#   scripts/test.sh --quick   the Release build and ctest only
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0
[ "${1:-}" = "--quick" ] && quick=1

# The Slurm test (label slurm) starts a one-node cluster of its own: it needs
# Debian's Slurm and munge, which nothing else does; the object storage test
# needs Node.js (with npm).
EXTRA_PACKAGES="slurm-wlm munge nodejs" scripts/setup.sh
# NodeSource's nodejs carries npm; Debian's has it in a package of its own
if ! command -v npm >/dev/null; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends npm
fi
# The object storage test (cli_s3) runs s3rver and AWS's own SigV4 signer,
# pinned in tests/s3/package-lock.json.
npm ci --prefix tests/s3 --no-audit --no-fund --loglevel=error

if [ $quick -eq 0 ]; then
    echo "== format (clang-format --dry-run)"
    git ls-files '*.c' '*.h' | xargs clang-format --dry-run --Werror
    echo "== layers of src/core (src/core/LAYERS)"
    scripts/check-layers.py
    echo "== state directory file names (src/core/statedir.c)"
    scripts/check-state-names.py
fi

echo "== Release build, warnings as errors"
BUILD_DIR=build CMAKE_ARGS="-DAMPLOAD_WERROR=ON" scripts/setup.sh >/dev/null
(cd build && ctest --output-on-failure -j2)
[ $quick -eq 1 ] && exit 0

# The kill -9 test loads 1,000,000 events in the Release run; the sanitizer
# runs check the same behaviour on fewer, to stay within CI's time.
export AMPLOAD_RESUME_EVENTS=150000

echo "== AddressSanitizer + UndefinedBehaviorSanitizer"
BUILD_DIR=build-asan BUILD_TYPE=Debug \
    CMAKE_ARGS="-DAMPLOAD_WERROR=ON -DAMPLOAD_SANITIZE=address,undefined -DAMPLOAD_FUZZ=OFF" \
    scripts/setup.sh >/dev/null
(cd build-asan && UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j2 -LE slurm)

echo "== ThreadSanitizer (pipeline tests)"
BUILD_DIR=build-tsan BUILD_TYPE=Debug \
    CMAKE_ARGS="-DAMPLOAD_WERROR=ON -DAMPLOAD_SANITIZE=thread -DAMPLOAD_FUZZ=OFF" \
    scripts/setup.sh >/dev/null
(cd build-tsan && TSAN_OPTIONS=halt_on_error=1 ctest --output-on-failure -L pipeline)
