#!/usr/bin/env bash
# Builds ncmd and runs it on 127.0.0.1:50051 with its data in ./var/ncm.
# Extra arguments go to ncmd (ncmd --help lists them), e.g.
#   deploy/run.sh --listen=127.0.0.1:0
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/build.sh ncmd
mkdir -p var/ncm
exec build/bin/ncmd --data_dir=var/ncm --listen=127.0.0.1:50051 "$@"
