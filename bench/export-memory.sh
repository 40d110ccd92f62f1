#!/usr/bin/env bash
# Peak memory of a server streaming whole-list exports: all 8,201 practices as CSV and as
# NDJSON, the 30 demo placements, and for comparison the same practices fetched as JSON
# pages of 200. Shows that an export does not hold the list in memory: the server's peak
# resident set (VmHWM) should move by far less than the size of what it sends.
#
#   bench/export-memory.sh [BIN]      # default: target/release/primary-care-api
#
# Runs on SQLite and on PostgreSQL (127.0.0.1:5432, trust auth). The demo data is loaded by
# a first process, which is then stopped, so the measured server starts on a full database
# without the import's own memory in its peak.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BIN=$(realpath "${1:-$ROOT/target/release/primary-care-api}")
PORT=${PORT:-18495}
WORK=$(mktemp -d -t pcr-export.XXXXXX)
DB="pcr_export_$$_$(date +%s)"
PID=""
export JWT_HS256_SECRET="export-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"

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
  token=$("$BIN" token --sub bench --scope placements:read --ttl 10m)
  curl -fsS "$base/practices?limit=1" >/dev/null
  local h0
  h0=$(hwm)
  echo "$name: server started on the loaded database, VmHWM ${h0} kB, VmRSS $(rss) kB"
  printf '  %-38s %12s %10s %12s %10s\n' "request" "bytes" "seconds" "VmHWM kB" "+kB"
  row() { # label bytes seconds
    local h
    h=$(hwm)
    printf '  %-38s %12s %10s %12s %10s\n' "$1" "$2" "$3" "$h" "$((h - h0))"
  }
  for round in 1 2 3; do
    for accept in text/csv application/x-ndjson; do
      local out
      out=$(curl -fsS -o "$WORK/out" -w '%{size_download} %{time_total}' -H "Accept: $accept" "$base/practices")
      row "practices as $accept ($round)" $out
    done
  done
  local lines
  lines=$(curl -fsS -H 'Accept: application/x-ndjson' "$base/practices" | wc -l)
  echo "  NDJSON lines: $lines"
  local out
  out=$(curl -fsS -o "$WORK/out" -w '%{size_download} %{time_total}' -H 'Accept: text/csv' -H "Authorization: Bearer $token" "$base/placements")
  row "placements as text/csv" $out
  # The same practices as JSON pages of 200, each page held whole to compute its ETag.
  local next="/api/v1/practices?limit=200" bytes=0 pages=0 start_ns
  start_ns=$(date +%s%N)
  while [ -n "$next" ]; do
    curl -fsS "http://127.0.0.1:$PORT$next" -o "$WORK/page.json"
    bytes=$((bytes + $(stat -c %s "$WORK/page.json")))
    pages=$((pages + 1))
    next=$(python3 -c "import json,sys; print(json.load(open('$WORK/page.json')).get('next') or '')")
  done
  row "practices as $pages JSON pages" "$bytes" "$(( ($(date +%s%N) - start_ns) / 1000000 ))ms"
  stop
}

measure sqlite "$WORK/export.sqlite3"
createdb -h 127.0.0.1 -U postgres "$DB"
measure postgresql "postgres://postgres@127.0.0.1:5432/$DB"
