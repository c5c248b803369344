#!/usr/bin/env bash
# Builds everything and runs the whole test suite with ctest.
# Extra arguments go to ctest, e.g. deploy/test.sh -L unit
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/build.sh
cd build
ctest --output-on-failure -j 2 "$@"
