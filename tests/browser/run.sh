#!/usr/bin/env bash
# Headless-browser test of the offline GraphQL playground against a running service.
#
#   bash tests/browser/run.sh <server-binary> <port> [screenshot.png]
#
# Installs Debian's Chromium when it is missing, and playwright-core (tests/browser/package-lock.json)
# when tests/browser/node_modules is missing; starts the binary on 127.0.0.1:<port> with a fresh
# SQLite database and demo data, waits for /readyz, mints a development token with the binary's
# `token` command, runs playground.mjs, stops the server and exits with the test's status.
set -euo pipefail

if (($# < 2)); then
  echo "usage: bash tests/browser/run.sh <server-binary> <port> [screenshot.png]" >&2
  exit 2
fi
BIN="$(realpath "$1")"
PORT="$2"
SCREENSHOT="${3:-${PLAYGROUND_SCREENSHOT:-}}"
HERE="$(cd "$(dirname "$0")" && pwd)"
BASE="http://127.0.0.1:$PORT"

if [[ ! -x "$BIN" ]]; then
  echo "run.sh: $BIN is not an executable server binary" >&2
  exit 2
fi

export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
if [[ ! -x "$CHROMIUM" ]]; then
  echo "run.sh: installing Debian's chromium"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if [[ ! -d "$HERE/node_modules/playwright-core" ]]; then
  echo "run.sh: npm ci in $HERE"
  (cd "$HERE" && npm ci --no-audit --no-fund)
fi

WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
  if [[ -n "$SERVER_PID" ]]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

export DATABASE_URL="$WORK/playground.sqlite3"
export JWT_HS256_SECRET="browser-test-$(date +%s%N)"
BIND_ADDR="127.0.0.1:$PORT" DEMO_DATA=true RUST_LOG="${RUST_LOG:-warn}" "$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!

ready=""
for _ in $(seq 1 120); do
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    break
  fi
  if node -e 'fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' "$BASE/readyz"; then
    ready=yes
    break
  fi
  sleep 0.5
done
if [[ -z "$ready" ]]; then
  echo "run.sh: the server did not become ready on $BASE; its log:" >&2
  tail -n 50 "$WORK/server.log" >&2
  exit 1
fi

# A token the server accepts, for the Headers-editor checks; without one they are skipped.
PLAYGROUND_TOKEN="$("$BIN" token --sub browser-test --scope "placements:read" --ttl 10m 2>/dev/null || true)"
export PLAYGROUND_TOKEN

status=0
node "$HERE/playground.mjs" "$BASE" ${SCREENSHOT:+"$SCREENSHOT"} || status=$?
if ((status != 0)); then
  echo "run.sh: the playground test failed; the server's log:" >&2
  tail -n 50 "$WORK/server.log" >&2
fi
exit "$status"
