#!/usr/bin/env bash
# Side-by-side load test: our GraphQL endpoint against PostGraphile v4 on the same PostgreSQL
# database, with the same nested query (ICT -> member practices -> placements -> role).
#
#   bench/graphql-vs-postgraphile.sh [path/to/primary-care-api]
#
# Without a binary path it builds one (cargo build --release). Needs PostgreSQL on
# 127.0.0.1:5432 with trust auth (started if down), Node 20 with npm, python3, jq and wrk
# (installed from Debian if missing). Knobs, as environment variables:
#   ROUNDS=3 DURATION=20 WARMUP=5 CONNECTIONS=64 THREADS=2   load shape (rounds per server)
#   WORKERS, DATABASE_POOL_SIZE                                our server (defaults: its own)
#   OURS_SSLMODE=disable                                        libpq sslmode for our server (see below)
#   OURS_ENV                                                    extra env for our server, e.g.
#                                                               "LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"
#   POSTGRAPHILE_EXTRA_ARGS                                     e.g. "--cluster-workers 2"
#   PG_URL_BASE=postgres://postgres@127.0.0.1:5432              where to create the database
# Exits non-zero when the two servers disagree, when either answers with errors (non-2xx,
# GraphQL "errors", socket errors) during the load, or when anything fails to start.
#
# Like for like: PostGraphile (node-postgres) talks to PostgreSQL in plain text unless told
# otherwise, while libpq's default (sslmode=prefer) negotiates TLS even on 127.0.0.1 when the
# server has ssl=on (Debian's does). So our server gets sslmode=disable here; OURS_SSLMODE=prefer
# measures the TLS cost (6–18% of our throughput on this machine).
set -euo pipefail
# The load comes from one address and one token: the rate limits stay on (their cost is part
# of every request) but set far above what is measured.
export RATE_LIMIT_PER_IP=1000000 RATE_LIMIT_PER_SUBJECT=1000000 \
  RATE_LIMIT_PER_IP_BURST=1000000 RATE_LIMIT_PER_SUBJECT_BURST=1000000

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-20}
WARMUP=${WARMUP:-5}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
PG_URL_BASE=${PG_URL_BASE:-postgres://postgres@127.0.0.1:5432}
POSTGRAPHILE_EXTRA_ARGS=${POSTGRAPHILE_EXTRA_ARGS:-}
OURS_SSLMODE=${OURS_SSLMODE:-disable}
OURS_ENV=${OURS_ENV:-}
DB="pcr_bench_$$_$(date +%s)"
DB_URL="$PG_URL_BASE/$DB"
WORK=$(mktemp -d -t pcr-bench.XXXXXX)
OURS_PID=""
THEIRS_PID=""
DB_CREATED=""

log() { printf '[bench] %s\n' "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

cleanup() {
  local rc=$?
  set +e
  for pid in $OURS_PID $THEIRS_PID; do
    kill "$pid" 2>/dev/null
  done
  for pid in $OURS_PID $THEIRS_PID; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
  done
  if [ -n "$DB_CREATED" ]; then
    dropdb --if-exists --force -h 127.0.0.1 -U postgres "$DB" 2>/dev/null \
      || log "could not drop database $DB"
  fi
  if [ "$rc" -ne 0 ]; then
    for f in ours.log theirs.log; do
      [ -s "$WORK/$f" ] && { log "last lines of $f:"; tail -n 20 "$WORK/$f" >&2; }
    done
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_http() { # name url [curl args...]: poll until 2xx, 60 s at most
  local name=$1 url=$2; shift 2
  for _ in $(seq 600); do
    if curl -fsS -o /dev/null --max-time 2 "$@" "$url" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  die "$name did not become ready at $url"
}

# CPU seconds (user+system) a process has used so far.
cpu_of() {
  awk -v hz="$(getconf CLK_TCK)" '{ split($0, a, ") "); split(a[2], f, " "); printf "%.3f\n", (f[12] + f[13]) / hz }' \
    "/proc/$1/stat" 2>/dev/null || echo 0
}

# CPU seconds (user+system) of the PostgreSQL backends serving our database, by pid.
pg_backend_cpu() {
  local pid
  for pid in $(psql -Atq -h 127.0.0.1 -U postgres -d postgres \
      -c "SELECT pid FROM pg_stat_activity WHERE datname = '$DB' AND pid <> pg_backend_pid()"); do
    printf '%s %s\n' "$pid" "$(cpu_of "$pid")"
  done
}

# Busy CPU seconds of the whole machine so far (every core, every process).
machine_cpu() {
  awk -v hz="$(getconf CLK_TCK)" '$1 == "cpu" { printf "%.3f\n", ($2 + $3 + $4 + $7 + $8) / hz }' /proc/stat
}

# ---------------------------------------------------------------------------- tools
command -v python3 >/dev/null || die "python3 is needed"
command -v jq >/dev/null || die "jq is needed"
command -v node >/dev/null && command -v npm >/dev/null || die "node and npm are needed (Node 20)"
if ! command -v wrk >/dev/null; then
  log "installing wrk from Debian"
  apt-get update -qq >/dev/null && apt-get install -y -qq wrk >/dev/null || die "could not install wrk"
fi

# ---------------------------------------------------------------------------- our binary
if [ $# -ge 1 ]; then
  BIN=$(realpath "$1")
else
  log "building primary-care-api (release)"
  (cd "$ROOT" && cargo build --release --bin primary-care-api 2>&1 | tail -n 3 >&2)
  BIN="$ROOT/target/release/primary-care-api"
fi
[ -x "$BIN" ] || die "no executable at $BIN"

# ---------------------------------------------------------------------------- PostgreSQL
if ! pg_isready -q -h 127.0.0.1; then
  log "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
  for _ in $(seq 100); do pg_isready -q -h 127.0.0.1 && break; sleep 0.2; done
  pg_isready -q -h 127.0.0.1 || die "PostgreSQL is not accepting connections"
fi
createdb -h 127.0.0.1 -U postgres "$DB"
DB_CREATED=1
log "database $DB"

# ---------------------------------------------------------------------------- our server
SECRET="bench-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
# An admin token: PostGraphile reads without row security, so both sides do the same work.
TOKEN=$(JWT_HS256_SECRET=$SECRET "$BIN" token --sub bench --scope admin --ttl 2h)
OURS_PORT=$(free_port)
OURS_URL="http://127.0.0.1:$OURS_PORT"
OURS_CONFIG="WORKERS=${WORKERS:-default} DATABASE_POOL_SIZE=${DATABASE_POOL_SIZE:-default} sslmode=$OURS_SSLMODE${OURS_ENV:+ $OURS_ENV}"
log "starting primary-care-api on $OURS_URL ($OURS_CONFIG)"
# shellcheck disable=SC2086
env $OURS_ENV DATABASE_URL="$DB_URL?sslmode=$OURS_SSLMODE" BIND_ADDR="127.0.0.1:$OURS_PORT" DEMO_DATA=true RUST_LOG=warn \
  JWT_HS256_SECRET="$SECRET" ${WORKERS:+WORKERS=$WORKERS} ${DATABASE_POOL_SIZE:+DATABASE_POOL_SIZE=$DATABASE_POOL_SIZE} \
  "$BIN" serve >"$WORK/ours.log" 2>&1 &
OURS_PID=$!
wait_http primary-care-api "$OURS_URL/readyz"

# ---------------------------------------------------------------------------- PostGraphile
log "installing PostGraphile (npm ci in bench/postgraphile)"
(cd "$HERE/postgraphile" && npm ci --no-audit --no-fund --loglevel=error >/dev/null 2>"$WORK/npm.log") \
  || { cat "$WORK/npm.log" >&2; die "npm ci failed"; }
PG_VERSION=$(node -p 'require(process.argv[1]).version' "$HERE/postgraphile/node_modules/postgraphile/package.json")
THEIRS_PORT=$(free_port)
THEIRS_URL="http://127.0.0.1:$THEIRS_PORT"
log "starting PostGraphile $PG_VERSION on $THEIRS_URL"
# Defaults except: no GraphiQL, no per-query log line (our server runs with RUST_LOG=warn),
# NODE_ENV=production. The bin is a node script, so $! is the node process itself.
# shellcheck disable=SC2086
NODE_ENV=production "$HERE/postgraphile/node_modules/.bin/postgraphile" \
  -c "$DB_URL" --schema public --host 127.0.0.1 --port "$THEIRS_PORT" \
  --disable-graphiql --disable-query-log $POSTGRAPHILE_EXTRA_ARGS >"$WORK/theirs.log" 2>&1 &
THEIRS_PID=$!
wait_http PostGraphile "$THEIRS_URL/graphql" -X POST -H 'Content-Type: application/json' \
  --data '{"query":"{__typename}"}'

# ---------------------------------------------------------------------------- the query
OURS_QUERY='{ integratedCareTeam(code: "ICT-MEIR") { name practices(first: 50) { edges { node { odsCode name placements(first: 20) { edges { node { staffRef hoursPerWeek role { name } } } } } } } } }'
# PostGraphile's own query over the tables it introspects: since the organisation model,
# organisations, their affiliations and the placement records (the views of the kinds'
# records carry no keys for it to follow); before it, the ICT, membership and practice tables.
if [ "$(psql -h 127.0.0.1 -U postgres -d "$DB" -tAc "SELECT to_regclass('public.affiliations') IS NOT NULL")" = t ]; then
  THEIRS_QUERY='{ organisationByCode(code: "ICT-MEIR") { name affiliationsByParentCode(first: 50, condition: {kind: "member_of"}) { nodes { member: organisationByMemberCode { odsCode: code name placements: placementRecordsByHostCodeAndHostType(first: 20) { nodes { staffRef hoursPerWeek roleByRoleCode { name } } } } } } } }'
else
  THEIRS_QUERY='{ organisationByCode: integratedCareTeamByCode(code: "ICT-MEIR") { name affiliationsByParentCode: ictMembershipsByIctCode(first: 50) { nodes { member: practiceByOdsCode { odsCode name placements: placementsByHostPractice(first: 20) { nodes { staffRef hoursPerWeek roleByRoleCode { name } } } } } } } }'
fi
OURS_BODY=$(jq -nc --arg q "$OURS_QUERY" '{query: $q}')
THEIRS_BODY=$(jq -nc --arg q "$THEIRS_QUERY" '{query: $q}')

curl -sS -X POST "$OURS_URL/graphql" -H 'Content-Type: application/json' \
  -H "Authorization: Bearer $TOKEN" --data "$OURS_BODY" -o "$WORK/ours.json" -w '%{http_code}' >"$WORK/ours.status"
curl -sS -X POST "$THEIRS_URL/graphql" -H 'Content-Type: application/json' \
  --data "$THEIRS_BODY" -o "$WORK/theirs.json" -w '%{http_code}' >"$WORK/theirs.status"

python3 - "$WORK" <<'PY' || die "the two servers do not return the same data (see above)"
import json, sys
work = sys.argv[1]

def load(name):
    status = open(f"{work}/{name}.status").read().strip()
    body = json.load(open(f"{work}/{name}.json"))
    if status != "200" or body.get("errors") or not body.get("data"):
        print(f"{name}: HTTP {status}: {json.dumps(body)[:2000]}", file=sys.stderr)
        sys.exit(1)
    return body["data"]

ours = load("ours")["integratedCareTeam"]
theirs = load("theirs")["organisationByCode"]

def shape(practices):
    return sorted(
        (p["odsCode"], p["name"], tuple(sorted((pl["staffRef"], pl["hoursPerWeek"], pl["role"]["name"]) for pl in pls)))
        for p, pls in practices)

a = shape((e["node"], [x["node"] for x in e["node"]["placements"]["edges"]]) for e in ours["practices"]["edges"])
b = shape((m["member"], [dict(x, role=x["roleByRoleCode"]) for x in m["member"]["placements"]["nodes"]])
          for m in theirs["affiliationsByParentCode"]["nodes"])
if ours["name"] != theirs["name"] or a != b:
    print("ours:  ", ours["name"], a, file=sys.stderr)
    print("theirs:", theirs["name"], b, file=sys.stderr)
    sys.exit(1)
n_pl = sum(len(p[2]) for p in a)
if len(a) == 0 or n_pl == 0:
    print("the query returned no practices or no placements: nothing worth measuring", file=sys.stderr)
    sys.exit(1)
print(f"[bench] same answer from both: {ours['name']}, {len(a)} practices, {n_pl} placements "
      f"(ours {len(open(f'{work}/ours.json').read())} bytes, PostGraphile {len(open(f'{work}/theirs.json').read())} bytes)",
      file=sys.stderr)
PY

# ---------------------------------------------------------------------------- load
statements() { curl -fsS "$OURS_URL/metrics" | awk '$1 == "db_statements_total" { print $2 }'; }

s0=$(statements)
curl -fsS -o /dev/null -X POST "$OURS_URL/graphql" -H 'Content-Type: application/json' \
  -H "Authorization: Bearer $TOKEN" --data "$OURS_BODY"
STMTS_PER_QUERY=$(( $(statements) - s0 ))
log "our server ran $STMTS_PER_QUERY SQL statements for one query"

# run_wrk name url body auth round -> appends "name round rps p50 p99 bad sockerr cpu_us_per_req stmts_per_req"
run_wrk() {
  local name=$1 url=$2 body=$3 auth=$4 round=$5 pid=$6
  BENCH_BODY=$body BENCH_AUTH=$auth wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" --timeout 10s \
    -s "$HERE/wrk-graphql.lua" "$url/graphql" >"$WORK/warm-$name-$round.txt" 2>&1 || die "wrk failed (warm-up, $name)"
  local cpu0 cpu1 st0="" st1="" m0 m1
  [ "$name" = ours ] && st0=$(statements)
  pg_backend_cpu >"$WORK/pg0"
  cpu0=$(cpu_of "$pid")
  m0=$(machine_cpu)
  BENCH_BODY=$body BENCH_AUTH=$auth wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --timeout 10s --latency \
    -s "$HERE/wrk-graphql.lua" "$url/graphql" >"$WORK/wrk-$name-$round.txt" 2>&1 || die "wrk failed ($name)"
  m1=$(machine_cpu)
  cpu1=$(cpu_of "$pid")
  pg_backend_cpu >"$WORK/pg1"
  [ "$name" = ours ] && st1=$(statements)
  local line
  line=$(grep '^BENCH_RESULT' "$WORK/wrk-$name-$round.txt") || { cat "$WORK/wrk-$name-$round.txt" >&2; die "no result from wrk"; }
  python3 - "$name" "$round" "$line" "$cpu0" "$cpu1" "$st0" "$st1" "$m0" "$m1" "$WORK/pg0" "$WORK/pg1" \
    >>"$WORK/results.tsv" <<'PY'
import sys
name, rnd, line, cpu0, cpu1, st0, st1, m0, m1, pg0, pg1 = sys.argv[1:]
kv = dict(x.split("=") for x in line.split()[1:])
req = max(int(kv["requests"]), 1)
cpu = (float(cpu1) - float(cpu0)) * 1e6 / req
def pids(f):
    return {a: float(b) for a, b in (l.split() for l in open(f) if l.strip())}
before, after = pids(pg0), pids(pg1)
pg = sum(v - before.get(k, 0.0) for k, v in after.items()) * 1e6 / req
machine = (float(m1) - float(m0)) * 1e6 / req
spr = f"{(int(st1) - int(st0)) / req:.2f}" if st0 else "-"
print("\t".join([name, rnd, kv["rps"], f"{int(kv['p50_us'])/1000:.2f}", f"{int(kv['p99_us'])/1000:.2f}",
                 kv["bad"], kv["socket_errors"], f"{cpu:.0f}", spr, f"{pg:.0f}", f"{machine:.0f}"]))
PY
  log "round $round $name: $(tail -n 1 "$WORK/results.tsv" | cut -f3-)"
}

log "load: $ROUNDS rounds per server, each ${WARMUP}s warm-up + ${DURATION}s at $CONNECTIONS connections, wrk -t$THREADS"
: >"$WORK/results.tsv"
for r in $(seq "$ROUNDS"); do
  run_wrk ours "$OURS_URL" "$OURS_BODY" "Bearer $TOKEN" "$r" "$OURS_PID"
  run_wrk postgraphile "$THEIRS_URL" "$THEIRS_BODY" "" "$r" "$THEIRS_PID"
done

# ---------------------------------------------------------------------------- report
python3 - "$WORK/results.tsv" "$PG_VERSION" "$STMTS_PER_QUERY" "$CONNECTIONS" "$DURATION" "$OURS_CONFIG" \
  "$POSTGRAPHILE_EXTRA_ARGS" "$(nproc)" <<'PY'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
pg_version, stmts, conns, duration, ours_cfg, theirs_args, cores = sys.argv[2:9]
print()
print(f"primary-care-api: {ours_cfg}")
print(f"PostGraphile {pg_version}: --disable-graphiql --disable-query-log NODE_ENV=production {theirs_args}".rstrip())
print(f"{cores} cores, wrk and PostgreSQL on the same machine")
names = [("ours", "primary-care-api"), ("postgraphile", f"PostGraphile {pg_version}")]
def med(name, i):
    return statistics.median(float(r[i]) for r in rows if r[0] == name)
def total(name, i):
    return sum(int(r[i]) for r in rows if r[0] == name)
print()
print("per round (CPU is µs per request: the server process, its PostgreSQL backends, the whole machine incl. wrk):")
print(f"  {'server':<20} {'round':>5} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'bad':>4} {'sock':>4}"
      f" {'cpu srv':>8} {'cpu pg':>7} {'cpu all':>8} {'SQL/req':>7}")
for r in rows:
    print(f"  {dict(names)[r[0]]:<20} {r[1]:>5} {float(r[2]):>8.1f} {float(r[3]):>7.2f} {float(r[4]):>7.2f} {r[5]:>4} {r[6]:>4}"
          f" {r[7]:>8} {r[9]:>7} {r[10]:>8} {r[8]:>7}")
rounds = len(rows) // 2
print()
print(f"median of {rounds} round{'s' if rounds != 1 else ''} ({conns} connections, {duration} s each):")
print()
print("| server | requests/s | p50 ms | p99 ms | non-2xx/errors | CPU µs/req: server | PostgreSQL | machine |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for key, label in names:
    bad = total(key, 5) + total(key, 6)
    print(f"| {label} | {med(key, 2):.1f} | {med(key, 3):.2f} | {med(key, 4):.2f} | {bad} "
          f"| {med(key, 7):.0f} | {med(key, 9):.0f} | {med(key, 10):.0f} |")
ratio = med("ours", 2) / med("postgraphile", 2)
print()
print(f"throughput ratio ours / PostGraphile: {ratio:.2f}x  (our server: {stmts} SQL statements per query;"
      f" PostGraphile compiles the whole query into one)")
PY

bad=$(awk -F'\t' '{ s += $6 + $7 } END { print s + 0 }' "$WORK/results.tsv")
if [ "$bad" -ne 0 ]; then
  die "$bad responses were non-2xx, carried GraphQL errors, or failed at the socket"
fi
