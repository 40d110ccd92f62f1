#!/usr/bin/env bash
# The hot read paths against the database's own limit (issue 11, point 5). On a fresh
# PostgreSQL database: the demo (every GP practice of the 2019 ODS extract), placements scaled
# to 100,000, ANALYZE; then for each request, wrk at 64 connections against our server and
# pgbench at 64 clients running the SAME statements with the same parameters (captured from
# the PostgreSQL log while the server answers the request once), alternating, several rounds.
#
#   bench/hot-paths.sh [BIN]                    # BIN default: builds target/release/primary-care-api
#   BASE=old/primary-care-api bench/hot-paths.sh [BIN]
#                                               # BASE first, then BIN on the same data (BIN's
#                                               # migrations applied in between): before/after
#   SOAK=600 bench/hot-paths.sh [BIN]           # instead: a fixed-rate mixed load for 600 s
#
# Knobs: ROUNDS=3 DURATION=8 WARMUP=3 CONNECTIONS=64 THREADS=2 PLACEMENTS=100000
#        SOAK_RATE=400 (requests/s) ONLY="practice commissioner q placements graphql"
#        PG_URL_BASE=postgres://postgres@127.0.0.1:5432 READER_ORG= (the token's org; default admin)
#        KEEP=dir (keeps the captured statements, pgbench scripts and logs)
# Needs PostgreSQL on 127.0.0.1:5432 with trust auth (started if down) and read access to its
# log (for the statements), python3, curl, jq; wrk and pgbench are installed from Debian if
# missing. Prints the table, and our server's VmRSS idle and VmHWM after the load. Exits
# non-zero on any non-2xx or socket error, or when anything fails to start.
#
# Target (issue 11): every request at least 50% of the database's limit; RSS under 150 MiB
# under load, under 50 MiB idle. The limit is what PostgreSQL does with this SQL at its best:
# pgbench -M prepared once with plan_cache_mode = force_generic_plan (planned once per
# connection) and once with force_custom_plan (planned at every execution), and the better of
# the two. The default, auto, is one or the other after five custom runs per connection (its
# choice by estimated cost, which is the regression measured here), and those first runs weigh
# on a short run.
set -euo pipefail
# The load comes from one address and one token: the rate limits stay on (their cost is part
# of every request) but set far above what is measured.
export RATE_LIMIT_PER_IP=1000000000 RATE_LIMIT_PER_SUBJECT=1000000000 \
  RATE_LIMIT_PER_IP_BURST=1000000000 RATE_LIMIT_PER_SUBJECT_BURST=1000000000

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-8}
WARMUP=${WARMUP:-3}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
PLACEMENTS=${PLACEMENTS:-100000}
SOAK=${SOAK:-}
SOAK_RATE=${SOAK_RATE:-400}
ONLY=${ONLY:-practice commissioner q placements graphql}
PG_URL_BASE=${PG_URL_BASE:-postgres://postgres@127.0.0.1:5432}
DB="pcr_hot_$$_$(date +%s)"
WORK=$(mktemp -d -t pcr-hot.XXXXXX)
PID=""
DB_CREATED=""
PSQL=(psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres)

log() { printf '[hot-paths] %s\n' "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

cleanup() {
  local rc=$?
  set +e
  if [ -n "$PID" ]; then
    kill "$PID" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$PID" 2>/dev/null
  fi
  if [ -n "$DB_CREATED" ]; then
    dropdb --if-exists --force -h 127.0.0.1 -U postgres "$DB" 2>/dev/null || log "could not drop database $DB"
  fi
  if [ "$rc" -ne 0 ] && [ -s "$WORK/server.log" ]; then
    log "last lines of the server's log:"; tail -n 20 "$WORK/server.log" >&2
  fi
  [ -n "${KEEP:-}" ] && { mkdir -p "$KEEP" && cp -a "$WORK/." "$KEEP/"; log "kept the work files in $KEEP"; }
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------- tools
for t in python3 curl jq; do command -v "$t" >/dev/null || die "$t is needed"; done
need_apt=()
command -v wrk >/dev/null || need_apt+=(wrk)
command -v pgbench >/dev/null || need_apt+=(postgresql-contrib)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "installing ${need_apt[*]} from Debian"
  { apt-get update -qq && apt-get install -y -qq "${need_apt[@]}"; } >/dev/null || die "could not install ${need_apt[*]}"
fi

# ---------------------------------------------------------------------------- binaries
if [ $# -ge 1 ]; then
  BIN=$(realpath "$1")
else
  BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/primary-care-api"
  log "building primary-care-api (release)"
  (cd "$ROOT" && cargo build --release --bin primary-care-api 2>&1 | tail -n 3 >&2)
fi
[ -x "$BIN" ] || die "no executable at $BIN"
BASE=${BASE:+$(realpath "$BASE")}
[ -z "$BASE" ] || [ -x "$BASE" ] || die "no executable at BASE=$BASE"

# ---------------------------------------------------------------------------- PostgreSQL
if ! pg_isready -q -h 127.0.0.1; then
  log "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
  for _ in $(seq 100); do pg_isready -q -h 127.0.0.1 && break; sleep 0.2; done
  pg_isready -q -h 127.0.0.1 || die "PostgreSQL is not accepting connections"
fi
PG_LOG=$(pg_lsclusters -h | awk '$4 == "online" { print $7; exit }')
[ -r "$PG_LOG" ] || die "cannot read the PostgreSQL log ($PG_LOG): the statements are taken from it"
createdb -h 127.0.0.1 -U postgres "$DB"
DB_CREATED=1
DB_URL="$PG_URL_BASE/$DB?sslmode=disable" # libpq's default negotiates TLS: see bench/README.md
log "database $DB"

export JWT_HS256_SECRET="hot-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL="http://127.0.0.1:$PORT"

start() { # bin demo
  DATABASE_URL="$DB_URL" BIND_ADDR="127.0.0.1:$PORT" DEMO_DATA="$2" RUST_LOG=warn "$1" serve >"$WORK/server.log" 2>&1 &
  PID=$!
  for _ in $(seq 1200); do
    curl -fsS -o /dev/null --max-time 2 "$URL/readyz" 2>/dev/null && return 0
    kill -0 "$PID" 2>/dev/null || die "the server exited"
    sleep 0.1
  done
  die "the server did not become ready"
}
stop() { kill "$PID"; wait "$PID" 2>/dev/null || true; PID=""; }
status_kb() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$PID/status"; }

# ---------------------------------------------------------------------------- data
# The demo loads every GP practice of the 2019 extract (prescribing setting 4, whatever its
# status), their commissioners, the groupings and a few hundred placements.
log "loading the demo"
start "${BASE:-$BIN}" true
stop
EXTRACT="$ROOT/schema/data/ods/epraccur-2019.csv"
GP_IN_EXTRACT=$(python3 -c 'import csv,sys; print(sum(1 for r in csv.reader(open(sys.argv[1])) if len(r) > 25 and r[25].strip() == "4"))' "$EXTRACT")
PRACTICES=$("${PSQL[@]}" -d "$DB" -Atc "SELECT count(*) FROM practices")
[ "$PRACTICES" = "$GP_IN_EXTRACT" ] || die "the demo loaded $PRACTICES practices, the extract has $GP_IN_EXTRACT GP practices"
# Placements up to $PLACEMENTS by SQL rather than the batch endpoint: seconds instead of a
# minute, spread over every open practice and every role (a batch is scoped to one partner's
# organisations), and independent of the batch import's own behaviour, which is measured by
# bench/batch.sh. Rows look like imported ones: practice hosts, ARRS funding, a quarter ended.
log "scaling placements to $PLACEMENTS"
"${PSQL[@]}" -d "$DB" <<SQL
WITH hosts AS (SELECT row_number() OVER (ORDER BY ods_code) - 1 AS n, ods_code FROM practices WHERE status = 'active'),
     roles AS (SELECT row_number() OVER (ORDER BY code) - 1 AS n, code FROM roles),
     want AS (SELECT greatest(0, $PLACEMENTS - (SELECT count(*) FROM placement_records)) AS n)
INSERT INTO placement_records (id, staff_ref, role_code, host_type, host_code, hours_per_week, start_date,
                               end_date, funding, source, created_by, version, created_at, updated_at)
SELECT gen_random_uuid()::text, 'SCALE-' || lpad(i::text, 7, '0'), r.code, 'practice', h.ods_code,
       7.5 + (i % 5) * 7.5, DATE '2019-04-01' + (i % 2700), CASE WHEN i % 4 = 0 THEN DATE '2019-04-01' + (i % 2700) + 365 END,
       'arrs', 'import', 'bench-scale', 1, TIMESTAMP '2025-01-01' + i * INTERVAL '1 minute',
       TIMESTAMP '2025-01-01' + i * INTERVAL '1 minute'
FROM generate_series(1, (SELECT n FROM want)::int) AS i
JOIN hosts h ON h.n = i % (SELECT count(*) FROM hosts)
JOIN roles r ON r.n = (i * 7 + i / 1000) % (SELECT count(*) FROM roles);
ANALYZE;
SQL
log "$PRACTICES practices, $("${PSQL[@]}" -d "$DB" -Atc "SELECT count(*) FROM placement_records") placements"

# ---------------------------------------------------------------------------- the requests
# A national reader (an admin token reads every placement, as PostGraphile does in
# bench/graphql-vs-postgraphile.sh); READER_ORG=NSGPF reads as that partner instead (its
# members' placements only: one statement more per placement read).
if [ -n "${READER_ORG:-}" ]; then
  TOKEN=$("$BIN" token --sub bench-reader --org "$READER_ORG" --scope placements:read --ttl 2h)
else
  TOKEN=$("$BIN" token --sub bench-reader --scope "placements:read admin" --ttl 2h)
fi
GRAPHQL='{ integratedCareTeam(code: "ICT-MEIR") { name practices(first: 50) { edges { node { odsCode name placements(first: 20) { edges { node { staffRef hoursPerWeek role { name } } } } } } } } }'
declare -A METHOD PATH_ BODY
METHOD=([practice]=GET [commissioner]=GET [q]=GET [placements]=GET [graphql]=POST)
PATH_=([practice]=/api/v1/practices/M83005 [commissioner]='/api/v1/practices?commissioner=05G&limit=50'
  [q]='/api/v1/practices?q=surgery&limit=50' [placements]='/api/v1/placements?role=clinical-pharmacist&limit=50'
  [graphql]=/graphql)
BODY=([practice]= [commissioner]= [q]= [placements]= [graphql]=$(jq -nc --arg q "$GRAPHQL" '{query: $q}'))

ask() { # name -> body in $WORK/answer.json, prints the status
  local n=$1
  curl -sS -o "$WORK/answer.json" -w '%{http_code}' -X "${METHOD[$n]}" -H "Authorization: Bearer $TOKEN" \
    -H 'Accept: application/json' ${BODY[$n]:+-H 'Content-Type: application/json' --data "${BODY[$n]}"} "$URL${PATH_[$n]}"
}

# Our server answers each request once with every statement logged; the statements and their
# parameters become that request's pgbench script (one transaction of them all).
capture() { # phase
  "${PSQL[@]}" -d "$DB" -c "ALTER DATABASE \"$DB\" SET log_min_duration_statement = 0"
  start "$1" false # new connections take the setting
  local n status count off
  for n in $ONLY; do
    ask "$n" >/dev/null # prepares the statements on one connection; the next run is as under load
    sleep 0.3
    off=$(stat -c %s "$PG_LOG")
    status=$(ask "$n")
    sleep 0.5
    [ "$status" = 200 ] || die "$n: HTTP $status: $(head -c 600 "$WORK/answer.json")"
    if [ "$n" = graphql ]; then
      jq -e '(.errors | not) and (.data.integratedCareTeam.practices.edges | length > 0)' "$WORK/answer.json" >/dev/null \
        || die "graphql: $(head -c 600 "$WORK/answer.json")"
    fi
    count=$(python3 "$HERE/hot_paths.py" capture "$PG_LOG" "$off" "$DB" "$WORK/$n") || die "$n: no statements captured"
    log "$n: ${PATH_[$n]} ran $count statement(s), $(head -c 400 "$WORK/answer.json" | tr -d '\n' | cut -c1-120)…"
    sed 's/^/    /' "$WORK/$n.sql" | cut -c1-400 >&2
  done
  stop
  "${PSQL[@]}" -d "$DB" -c "ALTER DATABASE \"$DB\" RESET log_min_duration_statement"
}

run_wrk() { # name seconds -> BENCH_RESULT line
  BENCH_METHOD=${METHOD[$1]} BENCH_PATH=${PATH_[$1]} BENCH_BODY=${BODY[$1]} BENCH_AUTH="Bearer $TOKEN" \
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$2"s --latency -s "$HERE/wrk-request.lua" "$URL" | grep '^BENCH_RESULT'
}
run_pgbench() { # name seconds plan_cache_mode -> tps
  local defs=()
  mapfile -d '' defs <"$WORK/$1.defs"
  PGOPTIONS="-c plan_cache_mode=$3" pgbench -h 127.0.0.1 -U postgres -n -M prepared -c "$CONNECTIONS" -j "$THREADS" -T "$2" \
    -f "$WORK/$1.sql" "${defs[@]}" "$DB" 2>"$WORK/pgbench.err" | awk '/^tps = / { print $3 }' | head -n 1 |
    grep . || { cat "$WORK/pgbench.err" >&2; die "pgbench failed on $1"; }
}
field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<"$2"; }

measure() { # phase bin
  local phase=$1 n round line
  log "$phase: capturing the statements"
  capture "$2"
  start "$2" false
  sleep 2
  local idle
  idle=$(status_kb VmRSS)
  for n in $ONLY; do
    log "$phase: $n warm-up"
    run_wrk "$n" "$WARMUP" >/dev/null
    run_pgbench "$n" "$WARMUP" force_generic_plan >/dev/null
    for round in $(seq "$ROUNDS"); do
      line=$(run_wrk "$n" "$DURATION")
      local generic custom
      generic=$(run_pgbench "$n" "$DURATION" force_generic_plan)
      custom=$(run_pgbench "$n" "$DURATION" force_custom_plan)
      log "$phase: $n round $round: ours $(field rps "$line") req/s (p50 $(field p50_us "$line") us, p99 $(field p99_us "$line") us, bad $(field bad "$line"), socket errors $(field socket_errors "$line")); pgbench $generic tx/s generic plans, $custom custom"
      printf '%s\t%s\t%s\tours\t%s\t%s\t%s\t%s\n' "$phase" "$n" "$round" "$(field rps "$line")" "$(field p50_us "$line")" \
        "$(field p99_us "$line")" "$(($(field bad "$line") + $(field socket_errors "$line")))" >>"$WORK/results.tsv"
      printf '%s\t%s\t%s\tgeneric\t%s\t0\t0\t0\n' "$phase" "$n" "$round" "$generic" >>"$WORK/results.tsv"
      printf '%s\t%s\t%s\tcustom\t%s\t0\t0\t0\n' "$phase" "$n" "$round" "$custom" >>"$WORK/results.tsv"
    done
  done
  printf '%s\t%s\t%s\t%s\n' "$phase" "$idle" "$(status_kb VmRSS)" "$(status_kb VmHWM)" >>"$WORK/rss.tsv"
  stop
}

if [ -n "$SOAK" ]; then
  start "$BIN" false
  sleep 2
  REQS=$(for n in $ONLY; do jq -nc --arg n "$n" --arg m "${METHOD[$n]}" --arg p "${PATH_[$n]}" --arg b "${BODY[$n]}" '[$n, $m, $p, $b]'; done | jq -sc .)
  BENCH_REQUESTS=$REQS BENCH_AUTH="Bearer $TOKEN" python3 "$HERE/hot_paths.py" soak "$URL" "$SOAK_RATE" "$SOAK" "$PID"
  exit $?
fi

if [ -n "$BASE" ]; then
  measure "before: $BASE" "$BASE"
fi
# BIN's migrations run when it starts (in capture); analyse what they built before measuring.
start "$BIN" false; stop
"${PSQL[@]}" -d "$DB" -c ANALYZE
measure "${BASE:+after: }$BIN" "$BIN"

echo
echo "$(date -u +%Y-%m-%d), $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(. /etc/os-release && echo "$PRETTY_NAME"), $(psql -h 127.0.0.1 -U postgres -Atc 'SHOW server_version' | cut -d' ' -f1)"
echo "$PRACTICES practices, $PLACEMENTS placements; $CONNECTIONS connections, $ROUNDS rounds of ${DURATION} s (after ${WARMUP} s warm-up), medians"
python3 "$HERE/hot_paths.py" summary "$WORK/results.tsv"
echo
echo "| server | VmRSS idle | VmRSS after the load | VmHWM (peak) |"
echo "|---|---:|---:|---:|"
awk -F'\t' '{ printf "| %s | %.1f MiB | %.1f MiB | %.1f MiB |\n", $1, $2 / 1024, $3 / 1024, $4 / 1024 }' "$WORK/rss.tsv"
BAD=$(awk -F'\t' '$4 == "ours" && $8 > 0 { s[$1] += $8 } END { for (p in s) printf "%s%s: %d", (n++ ? "; " : ""), p, s[p] }' "$WORK/results.tsv")
[ -z "$BAD" ] || die "responses that were not 2xx, or socket errors (wrk's timeout is 2 s): $BAD"
