#!/usr/bin/env bash
# Generate TypeScript types from an OpenAPI document and drive a live server with
# openapi-fetch.
# Usage: clients/typescript/run.sh BASE_URL SPEC_PATH
# npm ci (pinned by package-lock.json), openapi-typescript -> generated/convene.d.ts,
# tsc --noEmit (strict), tsc build -> dist/, node dist/scenario.js. node_modules/,
# generated/ and dist/ are git-ignored.
set -euo pipefail

if [[ $# -ne 2 ]]; then
    echo "usage: $0 BASE_URL SPEC_PATH" >&2
    exit 2
fi
base_url="$1"
spec="$(realpath "$2")"
cd "$(dirname "${BASH_SOURCE[0]}")"

echo "==> typescript: npm ci"
npm ci --no-audit --no-fund --loglevel=error

echo "==> typescript: generating types from $spec"
rm -rf generated dist
mkdir -p generated
npx --no-install openapi-typescript "$spec" --output generated/convene.d.ts

echo "==> typescript: tsc --noEmit"
npx --no-install tsc --noEmit

echo "==> typescript: build"
npx --no-install tsc -p tsconfig.build.json

echo "==> typescript: scenario against $base_url"
node dist/scenario.js "$base_url"
