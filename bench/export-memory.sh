#!/usr/bin/env bash
# Peak memory of a server streaming whole-list exports: all 8,201 practices as CSV and as
# NDJSON (three times each), the 30 demo placements, and an NDJSON export to a slow reader;
# first, for comparison, the same practices fetched as JSON pages of 200. Shows that an
# export does not hold the list in memory: once the server has served the JSON pages, the
# exports should not move its peak resident set (VmHWM), whatever their size.
#
#   bench/export-memory.sh [BIN]      # default: target/release/primary-care-api
#
# Runs on SQLite and on PostgreSQL (127.0.0.1:5432, trust auth). The demo data is loaded by
# a first process, which is then stopped, so the measured server starts on a full database
# without the import's own memory in its peak.
set -euo pipefail
# The load comes from one address and one token: the rate limits stay on (their cost is part
# of every request) but set far above what is measured.
export RATE_LIMIT_PER_IP=1000000 RATE_LIMIT_PER_SUBJECT=1000000 \
  RATE_LIMIT_PER_IP_BURST=1000000 RATE_LIMIT_PER_SUBJECT_BURST=1000000

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BIN=$(realpath "${1:-$ROOT/target/release/primary-care-api}")
PORT=${PORT:-18495}
WORK=$(mktemp -d -t pcr-export.XXXXXX)
DB="pcr_export_$$_$(date +%s)"
PID=""
export JWT_HS256_SECRET="export-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"

cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null || true
  dropdb --if-exists --force -h 127.0.0.1 -U postgres "$DB" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

start() { # url demo
  DATABASE_URL="$1" BIND_ADDR="127.0.0.1:$PORT" DEMO_DATA="$2" RUST_LOG=warn "$BIN" serve >"$WORK/server.log" 2>&1 &
  PID=$!
  for _ in $(seq 600); do curl -fsS "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && return; sleep 0.2; done
  echo "the server did not start"; cat "$WORK/server.log"; exit 1
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""; }
hwm() { awk '/VmHWM/ {print $2}' "/proc/$PID/status"; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$PID/status"; }

measure() { # name url
  local name=$1 url=$2 base="http://127.0.0.1:$PORT/api/v1"
  start "$url" true
  stop
  start "$url" false
  local token
  token=$("$BIN" token --sub bench --scope admin --ttl 10m)
  curl -fsS "$base/practices?limit=1" >/dev/null
  local h0
  h0=$(hwm)
  echo "$name: server started on the loaded database, VmHWM ${h0} kB, VmRSS $(rss) kB"
  printf '  %-42s %12s %10s %12s %10s\n' "request" "bytes" "seconds" "VmHWM kB" "+kB"
  row() { # label bytes seconds
    local h
    h=$(hwm)
    printf '  %-42s %12s %10s %12s %10s\n' "$1" "$2" "$3" "$h" "$((h - h0))"
  }
  # First the same practices as JSON pages of 200 (each page is held whole, for its ETag):
  # what serving them at all costs, pool connections and threads warmed up included.
  local out
  for round in 1 2; do
    out=$(python3 - "http://127.0.0.1:$PORT" <<'PY'
import json, sys, time, urllib.request
base, path, size, start = sys.argv[1], "/api/v1/practices?limit=200", 0, time.time()
while path:
    body = urllib.request.urlopen(base + path).read()
    size += len(body)
    path = json.loads(body).get("next")
print(size, round(time.time() - start, 3))
PY
)
    row "practices as 42 JSON pages ($round)" $out
  done
  # A small export first: what streaming at all costs, apart from the list's length.
  for round in 1 2; do
    for accept in text/csv application/x-ndjson; do
      out=$(curl -fsS -o "$WORK/out" -w '%{size_download} %{time_total}' -H "Accept: $accept" "$base/federations/NSGPF/practices")
      row "30 NSGPF practices as $accept ($round)" $out
    done
  done
  for round in 1 2 3; do
    for accept in text/csv application/x-ndjson; do
      out=$(curl -fsS -o "$WORK/out" -w '%{size_download} %{time_total}' -H "Accept: $accept" "$base/practices")
      row "practices as $accept ($round)" $out
    done
  done
  echo "  NDJSON lines: $(curl -fsS -H 'Accept: application/x-ndjson' "$base/practices" | wc -l)"
  out=$(curl -fsS -o "$WORK/out" -w '%{size_download} %{time_total}' -H 'Accept: text/csv' -H "Authorization: Bearer $token" "$base/placements")
  row "placements as text/csv" $out
  # A slow reader (400 kB/s): the server waits for it rather than reading ahead.
  curl -fsS -o "$WORK/out" --limit-rate 400k -H 'Accept: application/x-ndjson' "$base/practices" &
  local reader=$! peak=0
  while kill -0 "$reader" 2>/dev/null; do
    local r
    r=$(rss)
    ((r > peak)) && peak=$r
    sleep 0.2
  done
  row "practices as NDJSON to a 400 kB/s reader" "$(stat -c %s "$WORK/out")" "(VmRSS at most ${peak} kB)"
  stop
}

measure sqlite "$WORK/export.sqlite3"
createdb -h 127.0.0.1 -U postgres "$DB"
measure postgresql "postgres://postgres@127.0.0.1:5432/$DB"

# Ten times the practices (synthetic ones, codes Z00000…): if an export held its list, its
# peak would grow with it.
EXTRA=${EXTRA:-80000}
psql -q -h 127.0.0.1 -U postgres "$DB" -c "INSERT INTO practices (id, ods_code, name, postcode, status, source, \
  version, created_at, updated_at) SELECT gen_random_uuid()::text, 'Z' || lpad(g::text, 5, '0'), \
  'SYNTHETIC PRACTICE ' || g, 'ST3 7DY', 'active', 'api', 1, now(), now() FROM generate_series(0, $EXTRA - 1) g; \
  ANALYZE practices;"
start "postgres://postgres@127.0.0.1:5432/$DB" false
curl -fsS "http://127.0.0.1:$PORT/api/v1/practices?limit=1" >/dev/null
h0=$(hwm)
echo "postgresql with $((8201 + EXTRA)) practices: VmHWM ${h0} kB at start"
for round in 1 2 3; do
  out=$(curl -fsS -o "$WORK/out" -w '%{size_download} %{time_total}' -H 'Accept: application/x-ndjson' "http://127.0.0.1:$PORT/api/v1/practices")
  printf '  %-42s %12s %10s %12s %10s\n' "practices as NDJSON ($round)" $out "$(hwm)" "$(($(hwm) - h0))"
done
echo "  NDJSON lines: $(wc -l <"$WORK/out")"
stop
