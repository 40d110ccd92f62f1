#!/usr/bin/env bash
# Batch throughput: 100,000 placements in one CSV, posted to /api/v1/placements/batch by a
# PCN's own token (so every row is validated, scoped against the PCN's members and upserted),
# on SQLite and on PostgreSQL; then the same file again (every row unchanged). Prints rows
# per second and the server's peak resident set (VmHWM) before and after: the file is read
# as it arrives, so the peak should not follow its size.
#
#   bench/batch.sh [BIN] [ROWS]      # default: target/release/primary-care-api, 100000
#
# Targets (issue 10): at least 50,000 rows/s, peak RSS under 200 MiB. On PostgreSQL it also
# times the database's own work for the same rows (see floor below), the rate nothing above
# it can beat. Figures and what they mean: bench/README.md, "Batches".
set -euo pipefail
# The load comes from one address and one token: the rate limits stay on (their cost is part
# of every request) but set far above what is measured.
export RATE_LIMIT_PER_IP=1000000 RATE_LIMIT_PER_SUBJECT=1000000 \
  RATE_LIMIT_PER_IP_BURST=1000000 RATE_LIMIT_PER_SUBJECT_BURST=1000000

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
BIN=$(realpath "${1:-$ROOT/target/release/primary-care-api}")
ROWS=${2:-100000}
PORT=${PORT:-18497}
WORK=$(mktemp -d -t pcr-batch.XXXXXX)
DB="pcr_batch_$$_$(date +%s)"
PID=""
export JWT_HS256_SECRET="batch-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"

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
# CPU seconds (user + system) of a process, or of the PostgreSQL backends serving the database.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
cpu_server() { awk -v t="$(ticks "$PID")" -v hz="$(getconf CLK_TCK)" 'BEGIN {print t / hz}'; }
cpu_pg() {
  local t=0 p
  for p in $(psql -h 127.0.0.1 -U postgres -Atc "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()" "$DB"); do
    t=$((t + $(ticks "$p")))
  done
  awk -v t="$t" -v hz="$(getconf CLK_TCK)" 'BEGIN {print t / hz}'
}

measure() { # name url
  local name=$1 url=$2 base="http://127.0.0.1:$PORT/api/v1"
  # The demo is loaded by a first process, so its memory is not in the measured peak.
  start "$url" true
  stop
  start "$url" false
  local admin pcn
  admin=$("$BIN" token --sub bench-admin --scope admin --ttl 1h)
  pcn=$("$BIN" token --sub bench-pcn --org U88888 --scope "placements:read placements:write" --ttl 1h)
  # A PCN of 20 practices, members since 2020.
  curl -fsS -o /dev/null -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
    -d '{"code": "U88888", "name": "Bench PCN"}' "$base/pcns"
  local members
  members=$(curl -fsS "$base/practices?limit=20&status=active" | python3 -c 'import json,sys; print(" ".join(p["odsCode"] for p in json.load(sys.stdin)["items"]))')
  for ods in $members; do
    curl -fsS -o /dev/null -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
      -d "{\"pcnCode\": \"U88888\", \"odsCode\": \"$ods\", \"startDate\": \"2020-04-01\"}" "$base/pcn-memberships"
  done
  python3 - "$WORK/batch.csv" "$ROWS" $members <<'PY'
import datetime, sys
path, rows, hosts = sys.argv[1], int(sys.argv[2]), sys.argv[3:] + ["U88888"]
roles = ["clinical-pharmacist", "physician-associate", "paramedic", "first-contact-physiotherapist",
         "social-prescribing-link-worker", "health-and-wellbeing-coach", "care-coordinator"]
start = datetime.date(2026, 1, 1)
with open(path, "w", newline="") as f:
    f.write("staff_ref,role_code,programme_code,host_type,host_code,host_name,hours_per_week,start_date,end_date,funding,notes\r\n")
    for i in range(rows):
        host = hosts[i % len(hosts)]
        kind = "pcn" if host.startswith("U") else "practice"
        day = start + datetime.timedelta(days=i % 365)
        f.write(f"BENCH-{i:07d},{roles[i % len(roles)]},,{kind},{host},,{7.5 + (i % 5) * 7.5},{day},,arrs,\r\n")
PY
  local bytes h0
  bytes=$(stat -c %s "$WORK/batch.csv")
  h0=$(hwm)
  echo "$name: $ROWS rows, $bytes bytes of CSV; server VmHWM before ${h0} kB"
  for round in "first (all created)" "again (all unchanged)"; do
    local out code seconds s0 p0
    s0=$(cpu_server)
    [ "$name" = PostgreSQL ] && p0=$(cpu_pg) || p0=0
    out=$(curl -sS -o "$WORK/report.json" -w '%{http_code} %{time_total}' -H "Authorization: Bearer $pcn" \
      -H 'Content-Type: text/csv' --data-binary @"$WORK/batch.csv" "$base/placements/batch?mode=atomic")
    read -r code seconds <<<"$out"
    [ -z "${CREATED_S:-}" ] && CREATED_S=$seconds
    [ "$code" = 200 ] || { echo "HTTP $code"; head -c 600 "$WORK/report.json"; echo; exit 1; }
    local server_cpu pg_cpu=""
    server_cpu=$(awk -v a="$(cpu_server)" -v b="$s0" 'BEGIN {print a - b}')
    [ "$name" = PostgreSQL ] && pg_cpu=$(awk -v a="$(cpu_pg)" -v b="$p0" 'BEGIN {print a - b}')
    python3 - "$WORK/report.json" "$seconds" "$(hwm)" "$h0" "$round" "$server_cpu" "$pg_cpu" <<'PY'
import json, sys
r, seconds, hwm, h0, label = json.load(open(sys.argv[1])), float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
cpu = f"CPU s: server {float(sys.argv[6]):.2f}" + (f", PostgreSQL {float(sys.argv[7]):.2f}" if sys.argv[7] else "")
print(f"  {label:24} {seconds:8.2f} s  {r['rows'] / seconds:10,.0f} rows/s  created {r['created']:>7,} unchanged {r['unchanged']:>7,} "
      f"rejected {r['rejected']}  VmHWM {hwm:,} kB ({hwm / 1024:.0f} MiB, +{(hwm - h0) / 1024:.0f} MiB)  {cpu}")
PY
  done
  [ "$name" = PostgreSQL ] && floor
  stop
}

# The database's own work for the same rows: the batch's placements and their audit rows
# copied (binary COPY, as the server sends them) into twins of their tables, with the same
# indexes, checks and foreign keys, in one transaction; median of 3, wall time and the
# backend's CPU. Nothing of ours runs, so this is as fast as this PostgreSQL takes these rows.
floor() {
  local q=(psql -X -q -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1 "$DB") fks runs=()
  "${q[@]}" -c "\\copy (SELECT * FROM placement_records WHERE staff_ref LIKE 'BENCH-%') TO '$WORK/p.copy' WITH (FORMAT binary)"
  "${q[@]}" -c "\\copy (SELECT a.* FROM audit_events a JOIN placement_records r ON r.id = a.entity_id WHERE r.staff_ref LIKE 'BENCH-%' AND a.action = 'create') TO '$WORK/a.copy' WITH (FORMAT binary)"
  fks=$("${q[@]}" -Atc "SELECT string_agg('ADD ' || pg_get_constraintdef(oid), ', ') FROM pg_constraint WHERE conrelid = 'placement_records'::regclass AND contype = 'f'")
  "${q[@]}" -c "CREATE TABLE floor_placements (LIKE placement_records INCLUDING ALL)" -c "ALTER TABLE floor_placements $fks" \
    -c "CREATE TABLE floor_audit (LIKE audit_events INCLUDING ALL)"
  for _ in 1 2 3; do
    "${q[@]}" -c "TRUNCATE floor_placements, floor_audit"
    # Prints: seconds, and the backend's CPU ticks before and after.
    runs+=("$("${q[@]}" -At <<SQL
SELECT pg_backend_pid() AS pid \\gset
\\setenv BPID :pid
\\! awk '{printf "%d ", \$14 + \$15}' /proc/\$BPID/stat
SELECT extract(epoch FROM clock_timestamp()) AS t0 \\gset
BEGIN;
\\copy floor_placements FROM '$WORK/p.copy' WITH (FORMAT binary)
\\copy floor_audit FROM '$WORK/a.copy' WITH (FORMAT binary)
COMMIT;
\\! awk '{printf "%d ", \$14 + \$15}' /proc/\$BPID/stat
SELECT extract(epoch FROM clock_timestamp()) - :t0;
SQL
)")
  done
  python3 - "$ROWS" "$CREATED_S" "$(getconf CLK_TCK)" "${runs[@]}" <<'PY'
import statistics, sys
rows, ours, hz = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
runs = [r.split() for r in sys.argv[4:]]
wall = statistics.median(float(r[2]) for r in runs)
cpu = statistics.median((int(r[1]) - int(r[0])) / hz for r in runs)
print(f"  database's own work     {wall:8.2f} s  {rows / wall:10,.0f} rows/s  (COPY of the same placements and audit rows into twin tables; "
      f"backend CPU {cpu:.2f} s: {rows / cpu:,.0f} rows/s a core); created rows at {wall / ours:.0%} of its rate")
PY
  "${q[@]}" -c "DROP TABLE floor_placements, floor_audit"
}

[ -z "${PG_ONLY:-}" ] && measure SQLite "$WORK/batch.sqlite3"
CREATED_S=""
createdb -h 127.0.0.1 -U postgres "$DB"
measure PostgreSQL "postgres://postgres@127.0.0.1:5432/$DB"
