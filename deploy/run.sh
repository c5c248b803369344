#!/usr/bin/env bash
# Builds ncmd and runs it on 127.0.0.1:50051 with its data in ./var/ncm.
# Extra arguments go to ncmd (ncmd --help lists them), e.g.
#   deploy/run.sh --listen=127.0.0.1:50052
# With --demo, once the server answers, the demonstration dataset is loaded
# through the gRPC API (ncm_demo; loading it again changes nothing), and
# the server keeps running.
set -euo pipefail
cd "$(dirname "$0")/.."
demo=0
args=()
listen=127.0.0.1:50051
for a in "$@"; do
  case "$a" in
    --demo) demo=1 ;;
    --listen=*) listen="${a#--listen=}"; args+=("$a") ;;
    *) args+=("$a") ;;
  esac
done
# The data folder holds wrapped personal-data keys: its owner's alone
# (ncmd refuses a folder others can reach).
mkdir -p var/ncm
chmod 700 var/ncm
if [ "$demo" = 0 ]; then
  deploy/build.sh ncmd ncmctl
  exec build/bin/ncmd --data_dir=var/ncm --listen=127.0.0.1:50051 "${args[@]}"
fi
case "$listen" in
  *:0) echo "run.sh: --demo needs a fixed port, not $listen" >&2; exit 2 ;;
esac
deploy/build.sh ncmd ncmctl ncm_demo
build/bin/ncmd --data_dir=var/ncm --listen=127.0.0.1:50051 "${args[@]}" &
server=$!
trap 'kill -TERM "$server" 2>/dev/null; wait "$server"' INT TERM
if ! build/bin/ncm_demo --server="$listen" --wait_seconds=60; then
  kill -TERM "$server"
  wait "$server" || true
  exit 1
fi
wait "$server"
