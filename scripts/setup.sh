#!/usr/bin/env bash
# setup.sh - install what ampload needs on Debian 12 (only what is missing) and
# build it in ./build (Release). Safe to run again: it does no work twice.
#
#   scripts/setup.sh            install packages, configure, build
#   BUILD_DIR=dir CMAKE_ARGS="-D..." scripts/setup.sh   another build tree
set -euo pipefail
cd "$(dirname "$0")/.."

# Build tools and libraries; clang and its runtime build the libFuzzer target;
# zstd/gzip/curl are used by tests and benchmarks, openssl makes the test
# certificate for the TLS checks.
packages=(build-essential cmake pkg-config clang-format
          libcurl4-openssl-dev libzstd-dev zstd check libjansson-dev libmicrohttpd-dev libxxhash-dev
          zlib1g-dev libisal-dev libzip-dev libssl-dev libexpat1-dev python3
          clang libclang-rt-14-dev gzip util-linux time curl gnuplot-nox openssl)
# and what a caller adds: scripts/test.sh adds slurm-wlm and munge
# shellcheck disable=SC2206
packages+=(${EXTRA_PACKAGES:-})

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

build=${BUILD_DIR:-build}
# shellcheck disable=SC2086
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-Release} ${CMAKE_ARGS:-} >/dev/null
cmake --build "$build" -j"$(nproc)"
echo "setup: built $build/ampload"
