#!/usr/bin/env bash
# Refreshes the vendored GraphiQL, React and ReactDOM browser bundles in this folder from the
# npm registry. Needs node and npm; works in a temporary directory, never in the repository.
#
#   bash api/assets/vendor/graphiql/refresh.sh                 # the pinned versions below
#   GRAPHIQL_VERSION=4.1.2 bash api/assets/vendor/graphiql/refresh.sh
#
# After a refresh: update the versions in README.md, rebuild, and run tests/browser/run.sh.
set -euo pipefail

GRAPHIQL_VERSION="${GRAPHIQL_VERSION:-4.1.2}"
REACT_VERSION="${REACT_VERSION:-18.3.1}"

here="$(cd "$(dirname "$0")" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
npm init -y >/dev/null
npm install --no-audit --no-fund --ignore-scripts --omit=dev --save-exact \
  "graphiql@$GRAPHIQL_VERSION" "react@$REACT_VERSION" "react-dom@$REACT_VERSION" "graphql@16"
nm="$tmp/node_modules"

# GraphiQL 4 still publishes a UMD build (graphiql.min.js, globals React and ReactDOM in,
# GraphiQL out); version 5 dropped it for ES modules that need an import map and a bundler.
test -f "$nm/graphiql/graphiql.min.js" || { echo "graphiql@$GRAPHIQL_VERSION has no graphiql.min.js UMD bundle" >&2; exit 1; }

# Source maps are not shipped: drop the comments that would make dev tools fetch them.
strip_maps() { sed -e '/^\/\/# sourceMappingURL=/d' -e '/^\/\*# sourceMappingURL=.*\*\/$/d' "$1" >"$2"; }
strip_maps "$nm/react/umd/react.production.min.js" "$here/react.production.min.js"
strip_maps "$nm/react-dom/umd/react-dom.production.min.js" "$here/react-dom.production.min.js"
strip_maps "$nm/graphiql/graphiql.min.js" "$here/graphiql.min.js"
strip_maps "$nm/graphiql/graphiql.min.css" "$here/graphiql.min.css"
cp "$nm/react/LICENSE" "$here/LICENSE.react"
cp "$nm/react-dom/LICENSE" "$here/LICENSE.react-dom"
cp "$nm/graphiql/LICENSE" "$here/LICENSE.graphiql"

# graphiql.min.js bundles GraphiQL's whole dependency tree (graphql-js, CodeMirror, Radix, …):
# collect their licences into one notices file.
npm query '#graphiql *' >"$tmp/tree.json"
node - "$tmp/tree.json" "$here/THIRD-PARTY-NOTICES.txt" "$GRAPHIQL_VERSION" <<'JS'
const fs = require('fs');
const path = require('path');
const [tree, out, version] = process.argv.slice(2);
const byText = new Map(); // identical licence texts are printed once, under every package that has them
const seen = new Set();
const pkgs = JSON.parse(fs.readFileSync(tree, 'utf8')).sort((a, b) => a.name.localeCompare(b.name));
for (const p of pkgs) {
  const id = `${p.name}@${p.version} (${p.license})`;
  if (seen.has(id) || p.name === 'react' || p.name === 'react-dom' || p.name.startsWith('@types/')) continue;
  seen.add(id);
  const file = fs.readdirSync(p.path).find((f) => /^(licen[cs]e|copying)(\.(md|txt))?$/i.test(f));
  const text = file ? fs.readFileSync(path.join(p.path, file), 'utf8').trim() : `(no licence file; package.json says: ${p.license})`;
  if (!byText.has(text)) byText.set(text, []);
  byText.get(text).push(id);
}
const parts = [
  `Packages bundled into graphiql.min.js (graphiql@${version} and its dependency tree, as installed from npm).\n` +
    'React and ReactDOM are served as separate files; see LICENSE.react and LICENSE.react-dom.\n',
];
for (const [text, ids] of byText) {
  parts.push(`${'='.repeat(78)}\n${ids.join('\n')}\n${'-'.repeat(78)}\n${text}\n`);
}
fs.writeFileSync(out, parts.join('\n'));
console.log(`${seen.size} bundled packages listed in ${out}`);
JS

# Nothing served may reach off the machine: fail on any absolute URL that a browser would load.
if grep -nE '(src|href)=["'"'"']?https?://|url\(["'"'"']?https?://|@import|sourceMappingURL' \
  "$here"/*.min.js "$here"/*.min.css; then
  echo "a vendored file references an external resource" >&2
  exit 1
fi
ls -l "$here"
echo "vendored graphiql@$GRAPHIQL_VERSION react@$REACT_VERSION react-dom@$REACT_VERSION"
