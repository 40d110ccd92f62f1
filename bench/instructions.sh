#!/usr/bin/env bash
# Server instructions per GraphQL request, counted by valgrind (callgrind): unlike requests
# per second on a shared 2-core machine, the count is the same from run to run, so two builds
# can be compared to a fraction of a per cent.
#
#   bench/instructions.sh [BIN ...]          # default: target/release/primary-care-api
#   N=500 QUERY='{ roles { totalCount } }' bench/instructions.sh old-binary new-binary
#   KEEP=/tmp/profiles bench/instructions.sh …   # also keep each callgrind profile there
#   GET_PATH='/api/v1/practices?limit=50' bench/instructions.sh …   # a REST read instead (sent
#                                                                    with the admin token)
#
# For each binary it starts the server under callgrind on a PostgreSQL database holding the
# demo data, sends N/5 and then N requests over one keep-alive connection (two runs), and
# prints (instructions of the second run - the first) / (N - N/5): start-up cancels out.
# Only the server process is counted, not PostgreSQL. Needs valgrind (installed from Debian
# if missing), python3, and PostgreSQL on 127.0.0.1:5432 with trust auth.
set -euo pipefail
# The load comes from one address and one token: the rate limits stay on (their cost is part
# of every request) but set far above what is measured.
export RATE_LIMIT_PER_IP=1000000 RATE_LIMIT_PER_SUBJECT=1000000 \
  RATE_LIMIT_PER_IP_BURST=1000000 RATE_LIMIT_PER_SUBJECT_BURST=1000000

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
N=${N:-500}
PORT=${PORT:-18490}
QUERY=${QUERY:-'{ integratedCareTeam(code: "ICT-MEIR") { name practices(first: 50) { edges { node { odsCode name placements(first: 20) { edges { node { staffRef hoursPerWeek role { name } } } } } } } } }'}
DB="pcr_instr_$$_$(date +%s)"
URL="postgres://postgres@127.0.0.1:5432/$DB?sslmode=disable"
WORK=$(mktemp -d -t pcr-instr.XXXXXX)
SECRET="instr-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
PID=""

cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null || true
  dropdb --if-exists --force -h 127.0.0.1 -U postgres "$DB" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

if ! command -v valgrind >/dev/null; then
  apt-get update -qq >/dev/null && apt-get install -y -qq valgrind >/dev/null
fi
[ $# -ge 1 ] || set -- "$ROOT/target/release/primary-care-api"

wait_ready() {
  for _ in $(seq 600); do
    curl -fsS -o /dev/null "http://127.0.0.1:$PORT/readyz" 2>/dev/null && return 0
    sleep 0.2
  done
  echo "the server did not start" >&2
  return 1
}

createdb -h 127.0.0.1 -U postgres "$DB"
# One plain start loads the demo.
JWT_HS256_SECRET=$SECRET DATABASE_URL=$URL BIND_ADDR=127.0.0.1:$PORT DEMO_DATA=true RUST_LOG=warn "$1" serve \
  >"$WORK/demo.log" 2>&1 &
PID=$!
wait_ready
kill "$PID"
wait "$PID" 2>/dev/null || true
PID=""

BODY=$(python3 -c 'import json, sys; print(json.dumps({"query": sys.argv[1]}))' "$QUERY")
cat >"$WORK/client.py" <<'PY'
import http.client, json, os, sys
n, port, token, body = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
get = os.environ.get("GET_PATH")
conn = http.client.HTTPConnection("127.0.0.1", port)
headers = {"Content-Type": "application/json", "Authorization": "Bearer " + token}
for _ in range(n):
    if get:
        conn.request("GET", get, headers={"Authorization": headers["Authorization"]})
    else:
        conn.request("POST", "/graphql", body, headers)
    r = conn.getresponse()
    payload = r.read()
    if r.status != 200 or b'"errors"' in payload:
        sys.exit(f"bad response {r.status}: {payload[:300]!r}")
PY

# run BIN n -> total instructions of a server process that answered n requests
run() {
  local bin=$1 n=$2
  rm -f "$WORK/cg.out"
  JWT_HS256_SECRET=$SECRET DATABASE_URL=$URL BIND_ADDR=127.0.0.1:$PORT DEMO_DATA=false RUST_LOG=warn \
    WORKERS=1 DATABASE_POOL_SIZE=2 \
    valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.out" "$bin" serve >/dev/null 2>"$WORK/vg.log" &
  PID=$!
  wait_ready
  python3 "$WORK/client.py" "$n" "$PORT" "$TOKEN" "$BODY"
  kill -INT "$PID"
  wait "$PID" 2>/dev/null || true
  PID=""
  awk '/^(summary|totals):/ { print $2; exit }' "$WORK/cg.out"
  # KEEP=dir keeps each profile, for callgrind_annotate.
  [ -n "${KEEP:-}" ] && cp "$WORK/cg.out" "$KEEP/$(basename "$bin").$n.callgrind"
  return 0
}

for bin in "$@"; do
  TOKEN=$(JWT_HS256_SECRET=$SECRET "$bin" token --sub instructions --scope admin --ttl 1h)
  a=$(run "$bin" $((N / 5)))
  b=$(run "$bin" "$N")
  python3 -c 'import sys; a, b, n = map(int, sys.argv[2:]); print(f"{sys.argv[1]}: {(b - a) / (n - n // 5):,.0f} instructions per request")' \
    "$bin" "$a" "$b" "$N"
done
