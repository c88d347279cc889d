#!/usr/bin/env bash
# Start MariaDB and Redis on 127.0.0.1 with fresh data dirs (installing them with apt-get if
# missing, which needs root), wait until both answer, create the app database, and export
# DATABASE_URL and REDIS_URL. Source it:  source scripts/services.sh ; ... ; services_stop
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

SVC_DIR=${SVC_DIR:-$(mktemp -d /tmp/gongzhi-svc.XXXXXX)}
MDB_PORT=${MDB_PORT:-3307}
REDIS_PORT=${REDIS_PORT:-6390}

need=()
command -v mariadbd >/dev/null 2>&1 || need+=(mariadb-server mariadb-client)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
if [ ${#need[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

rm -rf "$SVC_DIR"
mkdir -p "$SVC_DIR/mdb/data" "$SVC_DIR/mdb/run" "$SVC_DIR/redis"
chmod 755 "$SVC_DIR"
chown -R mysql:mysql "$SVC_DIR/mdb"

mariadb-install-db --no-defaults --user=mysql --datadir="$SVC_DIR/mdb/data" \
  --auth-root-authentication-method=normal --skip-test-db >"$SVC_DIR/mdb/install.log" 2>&1

# binlog_format=ROW: SKIP LOCKED is unsafe for statement binlogs (the outbox relies on it).
mariadbd --no-defaults --user=mysql --datadir="$SVC_DIR/mdb/data" \
  --socket="$SVC_DIR/mdb/run/mysqld.sock" --pid-file="$SVC_DIR/mdb/run/mysqld.pid" \
  --port="$MDB_PORT" --bind-address=127.0.0.1 --skip-name-resolve \
  --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
  --innodb-buffer-pool-size=256M --innodb-flush-log-at-trx-commit=2 --binlog-format=ROW \
  --max-connections=500 --log-error="$SVC_DIR/mdb/error.log" >/dev/null 2>&1 &
MDB_PID=$!

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
  --daemonize yes --pidfile "$SVC_DIR/redis/redis.pid" \
  --logfile "$SVC_DIR/redis/redis.log" --dir "$SVC_DIR/redis"

services_stop() {
  [ -f "$SVC_DIR/redis/redis.pid" ] && kill "$(cat "$SVC_DIR/redis/redis.pid")" 2>/dev/null || true
  if kill -0 "$MDB_PID" 2>/dev/null; then
    kill "$MDB_PID"
    for _ in $(seq 1 300); do kill -0 "$MDB_PID" 2>/dev/null || break; sleep 0.1; done
  fi
}

for i in $(seq 1 600); do
  mariadb-admin --no-defaults --protocol=tcp -h127.0.0.1 -P"$MDB_PORT" -uroot ping >/dev/null 2>&1 && break
  kill -0 "$MDB_PID" 2>/dev/null || { echo "mariadbd died"; cat "$SVC_DIR/mdb/error.log"; exit 1; }
  [ "$i" = 600 ] && { echo "mariadb not ready after 60s"; cat "$SVC_DIR/mdb/error.log"; exit 1; }
  sleep 0.1
done
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
echo "services ready: $DATABASE_URL $REDIS_URL"
