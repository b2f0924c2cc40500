#!/bin/sh
# Builds the app with the system's npm (Maven's generate-resources phase runs this): npm ci when
# node_modules is older than package-lock.json, then tsc and vite into target/classes.
set -e
cd "$(dirname "$0")"
if ! command -v npm >/dev/null 2>&1; then
  echo "[dashboard] SKIPPED: npm is not installed (apt-get install npm); the scheduler serves no dashboard"
  exit 0
fi
# Vite 8 needs Node 20.19 or later (Debian 12's own nodejs is 18: take Node 20 from another apt repo).
if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)'; then
  echo "[dashboard] SKIPPED: Node $(node --version) is older than 20.19, which Vite needs; the scheduler serves no dashboard"
  exit 0
fi
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build
