#!/usr/bin/env bash
# Configures (once) and builds the project into build/ (Release).
# Usage: deploy/build.sh [ninja targets...]
set -euo pipefail
cd "$(dirname "$0")/.."
"deploy/install-deps.sh"
JOBS="${NCM_BUILD_JOBS:-2}"
if [ ! -f build/build.ninja ]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >&2
fi
cmake --build build -j "$JOBS" ${1:+--target "$@"} >&2
