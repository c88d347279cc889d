#!/usr/bin/env bash
# Start MariaDB and Redis on 127.0.0.1 with fresh data dirs (installing them with apt-get if
# missing, which needs root), wait until both answer, create the app database, and export
# DATABASE_URL and REDIS_URL. Source it:  source scripts/services.sh ; ... ; services_stop
# With REPLICA_PORT set, a second MariaDB on that port replicates the first (GTID, from its
# first statement) and DATABASE_REPLICA_URL is exported too (app/core/replica.py).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

SVC_DIR=${SVC_DIR:-$(mktemp -d /tmp/gongzhi-svc.XXXXXX)}
MDB_PORT=${MDB_PORT:-3307}
REDIS_PORT=${REDIS_PORT:-6390}
REPLICA_PORT=${REPLICA_PORT:-}

need=()
command -v mariadbd >/dev/null 2>&1 || need+=(mariadb-server mariadb-client)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

rm -rf "$SVC_DIR"
mkdir -p "$SVC_DIR/mdb/data" "$SVC_DIR/mdb/run" "$SVC_DIR/redis"
[ -n "$REPLICA_PORT" ] && mkdir -p "$SVC_DIR/replica/data" "$SVC_DIR/replica/run"
chmod 755 "$SVC_DIR"
chown -R mysql:mysql "$SVC_DIR/mdb"
[ -n "$REPLICA_PORT" ] && chown -R mysql:mysql "$SVC_DIR/replica"

start_mariadb() {  # dir port server-id [extra options]: install a fresh data dir and start
  local dir=$1 port=$2 id=$3; shift 3
  mariadb-install-db --no-defaults --user=mysql --datadir="$dir/data" \
    --auth-root-authentication-method=normal --skip-test-db >"$dir/install.log" 2>&1
  # binlog_format=ROW: SKIP LOCKED is unsafe for statement binlogs (the outbox relies on it).
  mariadbd --no-defaults --user=mysql --datadir="$dir/data" \
    --socket="$dir/run/mysqld.sock" --pid-file="$dir/run/mysqld.pid" \
    --port="$port" --bind-address=127.0.0.1 --skip-name-resolve --server-id="$id" \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
    --innodb-buffer-pool-size=256M --innodb-flush-log-at-trx-commit=2 --binlog-format=ROW \
    --max-connections=500 --log-error="$dir/error.log" "$@" >/dev/null 2>&1 &
}

if [ -n "$REPLICA_PORT" ]; then
  start_mariadb "$SVC_DIR/mdb" "$MDB_PORT" 1 --log-bin=primary-bin
  MDB_PID=$!
  start_mariadb "$SVC_DIR/replica" "$REPLICA_PORT" 2 --read-only=1 --relay-log=replica-relay
  REPLICA_PID=$!
else
  start_mariadb "$SVC_DIR/mdb" "$MDB_PORT" 1
  MDB_PID=$!
fi

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
  --daemonize yes --pidfile "$SVC_DIR/redis/redis.pid" \
  --logfile "$SVC_DIR/redis/redis.log" --dir "$SVC_DIR/redis"

services_stop() {
  [ -f "$SVC_DIR/redis/redis.pid" ] && kill "$(cat "$SVC_DIR/redis/redis.pid")" 2>/dev/null || true
  for pid in "$MDB_PID" ${REPLICA_PID:-}; do
    if kill -0 "$pid" 2>/dev/null; then
      kill "$pid"
      for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
  done
}

wait_mariadb() {  # port pid dir
  for i in $(seq 1 600); do
    mariadb-admin --no-defaults --protocol=tcp -h127.0.0.1 -P"$1" -uroot ping >/dev/null 2>&1 && return 0
    kill -0 "$2" 2>/dev/null || { echo "mariadbd died"; cat "$3/error.log"; exit 1; }
    [ "$i" = 600 ] && { echo "mariadb not ready after 60s"; cat "$3/error.log"; exit 1; }
    sleep 0.1
  done
}
wait_mariadb "$MDB_PORT" "$MDB_PID" "$SVC_DIR/mdb"
if [ -n "$REPLICA_PORT" ]; then
  wait_mariadb "$REPLICA_PORT" "$REPLICA_PID" "$SVC_DIR/replica"
  # Replicate from the primary's first statement on: the users and databases made below too.
  mariadb --no-defaults --protocol=tcp -h127.0.0.1 -P"$MDB_PORT" -uroot <<'SQL'
CREATE USER IF NOT EXISTS 'repl'@'%' IDENTIFIED BY 'repl';
GRANT REPLICATION SLAVE ON *.* TO 'repl'@'%';
SQL
  mariadb --no-defaults --protocol=tcp -h127.0.0.1 -P"$REPLICA_PORT" -uroot <<SQL
CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=${MDB_PORT}, MASTER_USER='repl',
  MASTER_PASSWORD='repl', MASTER_USE_GTID=slave_pos;
START SLAVE;
SQL
fi
for i in $(seq 1 600); do
  [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ] && break
  [ "$i" = 600 ] && { echo "redis not ready after 60s"; cat "$SVC_DIR/redis/redis.log"; exit 1; }
  sleep 0.1
done

# The test suite creates (and drops) one fresh gongzhi_test_* database per run.
mariadb --no-defaults --protocol=tcp -h127.0.0.1 -P"$MDB_PORT" -uroot <<'SQL'
CREATE DATABASE IF NOT EXISTS gongzhi CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS 'gongzhi'@'%' IDENTIFIED BY 'gongzhi';
GRANT ALL PRIVILEGES ON *.* TO 'gongzhi'@'%';
FLUSH PRIVILEGES;
SQL

export DATABASE_URL="mysql://gongzhi:gongzhi@127.0.0.1:${MDB_PORT}/gongzhi"
export REDIS_URL="redis://127.0.0.1:${REDIS_PORT}/0"
if [ -n "$REPLICA_PORT" ]; then
  POS=$(mariadb --no-defaults --protocol=tcp -h127.0.0.1 -P"$MDB_PORT" -uroot -N -e 'SELECT @@gtid_binlog_pos')
  CAUGHT=$(mariadb --no-defaults --protocol=tcp -h127.0.0.1 -P"$REPLICA_PORT" -uroot -N \
    -e "SELECT MASTER_GTID_WAIT('$POS', 60)")
  [ "$CAUGHT" = 0 ] || { echo "the replica did not catch up"; cat "$SVC_DIR/replica/error.log"; exit 1; }
  export DATABASE_REPLICA_URL="mysql://gongzhi:gongzhi@127.0.0.1:${REPLICA_PORT}/gongzhi"
fi
echo "services ready: $DATABASE_URL $REDIS_URL ${DATABASE_REPLICA_URL:-}"
