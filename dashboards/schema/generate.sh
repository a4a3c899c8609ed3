#!/usr/bin/env bash
# Regenerates dashboard.schema.json: the JSON Schema of Grafana's classic (v1) dashboard JSON,
# derived from the `Dashboard` TypeScript type that npm @grafana/schema publishes in
# dist/esm/raw/dashboard/x/dashboard_types.gen.d.ts (itself generated from Grafana's CUE kind).
# package.json and package-lock.json pin @grafana/schema (11.6.0, the Grafana build our
# grafana-foundation-sdk pin targets), ts-json-schema-generator and typescript; npm ci installs
# exactly that tree into a temporary directory, so the output is reproducible.
# Objects without an index signature get additionalProperties: false (the generator's default),
# which is what makes the schema catch misspelt or unknown dashboard, panel and variable keys.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp "$here/package.json" "$here/package-lock.json" "$here/tsconfig.json" "$work/"
(cd "$work" && npm ci --ignore-scripts --no-audit --no-fund --silent)
"$work/node_modules/.bin/ts-json-schema-generator" \
  --tsconfig "$work/tsconfig.json" \
  --path "$work/node_modules/@grafana/schema/dist/esm/raw/dashboard/x/dashboard_types.gen.d.ts" \
  --type Dashboard \
  --out "$here/dashboard.schema.json"
echo "wrote $here/dashboard.schema.json"
