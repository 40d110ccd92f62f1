#!/usr/bin/env bash
# The core of the end-to-end suite on PostgreSQL through PgBouncer in transaction pooling
# mode, as managed PostgreSQL offerings deploy it: PgBouncer on a loopback port in front of
# 127.0.0.1:5432, the tests' databases reached through it, the service told
# DATABASE_POOLER=transaction (no named prepared statements, no session settings).
#
#   tests/pgbouncer/run.sh [PORT]       # needs the pgbouncer binary (Debian package pgbouncer)
set -euo pipefail
cd "$(dirname "$0")/../.."
PORT=${1:-16432}
DIR=$(mktemp -d -t pcr-pgbouncer.XXXXXX)
chmod 755 "$DIR"
cat >"$DIR/pgbouncer.ini" <<EOF
[databases]
* = host=127.0.0.1 port=5432
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PORT
unix_socket_dir =
auth_type = trust
auth_file = $DIR/users.txt
pool_mode = transaction
max_client_conn = 1000
; Fewer server sessions than the tests' client connections, handed out in turn: a client
; that relied on its session (a statement prepared by name, a SET) would meet another.
default_pool_size = 6
server_round_robin = 1
ignore_startup_parameters = extra_float_digits
logfile = $DIR/pgbouncer.log
pidfile = $DIR/pgbouncer.pid
EOF
echo '"postgres" ""' >"$DIR/users.txt"
# PgBouncer will not run as root; as root it is started as the postgres user.
AS=()
[ "$(id -u)" = 0 ] && { chown -R postgres "$DIR"; AS=(-u postgres); }
pgbouncer -d "${AS[@]}" "$DIR/pgbouncer.ini"
stop() {
  [ -f "$DIR/pgbouncer.pid" ] && kill "$(cat "$DIR/pgbouncer.pid")" 2>/dev/null || true
  rm -rf "$DIR"
}
trap stop EXIT
for _ in $(seq 1 50); do pg_isready -h 127.0.0.1 -p "$PORT" -q && break; sleep 0.1; done
psql -h 127.0.0.1 -p "$PORT" -U postgres -d postgres -Atc "SHOW pool_mode" >/dev/null 2>&1 || true

# The modules that are the service's own behaviour over HTTP. Left out: those that open
# their own sessions on purpose (upgrades from earlier layouts, replicas racing to migrate,
# the relay that cuts the database away, the binary-on-a-socket tests).
CORE=(practices:: placements:: organisations:: groups:: scope:: idempotency:: batch:: graphql::
  audit:: sync:: concurrency:: registrations:: bad_input:: auth:: keys:: demo::)
TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$PORT/postgres" TEST_DATABASE_POOLER=transaction \
  cargo test --test e2e -- --skip sqlite "${CORE[@]}" || {
  echo "PgBouncer log:"
  tail -n 40 "$DIR/pgbouncer.log"
  exit 1
}
