#!/usr/bin/env bash
# Browser test of the web console: Debian's chromium driven by playwright-core (pinned
# by package-lock.json), against a real keyturn-server. Screenshots of every page go
# to BUILD_DIR/test-output/web.
# Usage: run.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -d "$here/node_modules/playwright-core" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi
if [ ! -d "$here/../interop/node_modules/jose" ]; then
  (cd "$here/../interop" && npm ci --no-audit --no-fund --loglevel=error)
fi
exec node "$here/console.test.mjs" "$build" "$build/test-output/web"
