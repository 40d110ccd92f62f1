#!/usr/bin/env bash
# What integrators run, against the committed contract and a live server:
#   contract VENV               validate and lint openapi/openapi.json, generate both clients
#   workflows URL TOKEN VENV    run both clients' scripted workflow against a server at URL
#   graphql URL                 graphql-codegen over the live schema for graphql/*.graphql
# The generated clients are build output under tests/clients/{generated,build}, never committed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cmd=$1
shift

case "$cmd" in
contract)
  venv=$1
  echo "openapi-spec-validator"
  "$venv/bin/openapi-spec-validator" "$root/openapi/openapi.json"
  (cd "$here" && npm ci --silent --no-audit --no-fund)
  echo "redocly lint (recommended ruleset, redocly.yaml): no errors and no warnings"
  # Its banner about Node.js versions is not about the document.
  lint="$(cd "$root" && "$here/node_modules/.bin/redocly" lint openapi/openapi.json --format=summary 2>&1 | grep -Ev '[║╔╚]' || true)"
  echo "$lint"
  if ! echo "$lint" | grep -q "Your API description is valid" || echo "$lint" | grep -qi "warning"; then
    echo "redocly found problems"; exit 1
  fi
  echo "openapi-python-client"
  rm -rf "$here/generated" "$here/build"
  mkdir -p "$here/generated/python"
  "$venv/bin/openapi-python-client" generate --path "$root/openapi/openapi.json" --meta none \
    --config "$here/python-client.yaml" --output-path "$here/generated/python/pcr_client" 2>&1 | tee "$here/generated/python.log"
  if grep -qi "warning\|error" "$here/generated/python.log"; then echo "the Python client was generated with warnings"; exit 1; fi
  ops=$(find "$here/generated/python/pcr_client/api" -name '*.py' ! -name '__init__.py' | wc -l)
  declared=$(python3 -c "import json;d=json.load(open('$root/openapi/openapi.json'));print(sum(1 for p in d['paths'].values() for m in p if m in ('get','post','put','patch','delete')))")
  echo "Python client: $ops of $declared operations"
  [ "$ops" = "$declared" ] || { echo "the Python client dropped operations"; exit 1; }
  echo "openapi-typescript + tsc --strict"
  "$here/node_modules/.bin/openapi-typescript" "$root/openapi/openapi.json" -o "$here/generated/schema.d.ts"
  (cd "$here" && node_modules/.bin/tsc -p tsconfig.json)
  ;;
workflows)
  url=$1 token=$2 venv=$3
  echo "Python client workflow against $url"
  PYTHONPATH="$here/generated/python" "$venv/bin/python" "$here/workflow.py" "$url" "$token"
  echo "TypeScript client workflow against $url"
  node "$here/build/workflow.js" "$url" "$token"
  ;;
graphql)
  url=$1
  echo "graphql-codegen (typescript, typescript-operations) against $url/graphql, then tsc --strict"
  (cd "$here" && GRAPHQL_URL="$url/graphql" node_modules/.bin/graphql-codegen --config codegen.yml)
  (cd "$here" && node_modules/.bin/tsc -p tsconfig.graphql.json)
  ;;
*)
  echo "usage: $0 contract VENV | workflows URL TOKEN VENV | graphql URL" >&2
  exit 2
  ;;
esac
