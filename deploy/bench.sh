#!/usr/bin/env bash
# The side-by-side benchmark: durable appends on ncmd (gRPC on loopback),
# on PostgreSQL and on Redis, the same workloads in one run, one table with
# the ratios.
#
#   deploy/bench.sh [seconds per run, default 5] [more eventstore_bench flags]
#
# Installs PostgreSQL and Redis from Debian when missing, starts each on
# loopback in a folder of its own (removed after), and stops them at the end.
# The peers are set up so that an acknowledged write is on disk, as ncmd's
# is:
#   PostgreSQL 15: fsync = on, synchronous_commit = on, full_page_writes = on
#     (the defaults, stated); one table events(position bigserial primary
#     key, stream_id, event_id uuid unique, event_type, payload bytea) with
#     an index on (stream_id, position); each call one prepared INSERT in
#     autocommit (100 rows in one statement for a batch).
#   Redis 7: appendonly yes, appendfsync always, no RDB snapshots; each call
#     one XADD to the event's stream (a batch: MULTI, 100 XADDs, EXEC,
#     pipelined).
# Every store gets 300-byte payloads, a random event id, a type, and the same
# client concurrency (1, 16, 64 single-event callers; 1 and 8 callers of
# 100-event batches), each client waiting for its answer before the next
# call. The program checks the peers' durability settings before it runs.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_RUN="${1:-5}"
shift || true

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
need=()
for p in postgresql redis-server libpq-dev libhiredis-dev; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi
deploy/install-deps.sh
deploy/build.sh eventstore_bench >&2

PG_BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
WORK="$(mktemp -d /tmp/ncm-bench.XXXXXX)"
chmod 755 "$WORK"
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
PG_PORT="$(free_port)"
REDIS_PORT="$(free_port)"

# PostgreSQL refuses to run as root: it runs as the postgres user then.
as_pg=()
if [ "$(id -u)" -eq 0 ]; then as_pg=(runuser -u postgres --); fi
mkdir -p "$WORK/pg" "$WORK/redis"
if [ "$(id -u)" -eq 0 ]; then chown postgres: "$WORK/pg"; fi

cleanup() {
  "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -m fast -w stop >/dev/null 2>&1 || true
  if [ -n "${REDIS_PID:-}" ]; then kill "$REDIS_PID" 2>/dev/null || true; wait "$REDIS_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

"${as_pg[@]}" "$PG_BIN/initdb" -D "$WORK/pg/data" -U bench --auth=trust \
  --no-instructions >"$WORK/pg/initdb.log" 2>&1 || { cat "$WORK/pg/initdb.log" >&2; exit 1; }
"${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/server.log" -w \
  -o "-p $PG_PORT -k $WORK/pg -c listen_addresses=127.0.0.1 -c fsync=on \
      -c synchronous_commit=on -c full_page_writes=on -c max_connections=200 \
      -c shared_buffers=256MB" start >/dev/null

redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$WORK/redis" \
  --appendonly yes --appendfsync always --save "" --daemonize no \
  --logfile "$WORK/redis/server.log" &
REDIS_PID=$!
for _ in $(seq 100); do
  redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
  sleep 0.1
done

echo "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT, $(redis-server --version | awk '{print $1, $3}') on 127.0.0.1:$REDIS_PORT"
build/bin/eventstore_bench --only=fsync,peers,append,batch,inproc \
  --seconds="$SECONDS_PER_RUN" --replay_events=10000 \
  --postgres="host=127.0.0.1 port=$PG_PORT user=bench dbname=postgres" \
  --redis="127.0.0.1:$REDIS_PORT" "$@"
