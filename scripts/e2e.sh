#!/usr/bin/env bash
# The end-to-end browser test: bash scripts/e2e.sh
# The stock Outstatic site (testdata/stock-site, unmodified) behind a Caddy
# built from this repository, driven by headless Chromium (e2e/, build tag
# e2e). This script makes sure Chromium and Node.js are there, installs the
# site's packages and builds it when its sources or lockfile changed, then
# runs the test. A missing tool fails the run: it never skips.
# NPM_CACHE sets npm's download cache (default ~/.cache/caddy-outstatic-npm),
# kept between runs so that a reinstall needs no network.
set -euo pipefail
cd "$(dirname "$0")/.."
site=testdata/stock-site

now() { date +%s.%N; }
took() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

# Chromium: Debian's package, installed when missing and we may.
t0=$(now)
if ! command -v chromium >/dev/null; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "e2e: running as root, so installing the Debian package chromium with apt-get: the browser test drives it"
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
	fi
fi
if ! command -v chromium >/dev/null; then
	echo "e2e: chromium is required (Debian: apt-get install chromium) and could not be installed" >&2
	exit 1
fi
echo "e2e: chromium ($(chromium --version 2>/dev/null | tail -1)): $(took "$t0")"

# Node.js and npm run the stock site.
for tool in node npm; do
	if ! command -v "$tool" >/dev/null; then
		echo "e2e: $tool is required to run the stock site (Node.js 20 or later)" >&2
		exit 1
	fi
done
echo "e2e: node $(node --version), npm $(npm --version)"

# The site's packages, exactly as locked. The stamp records the lockfile
# and Node version they were installed for.
t0=$(now)
npm_stamp=$(cat "$site/package-lock.json" <(node --version) | sha256sum | cut -d' ' -f1)
if [ "$(cat "$site/node_modules/.e2e-stamp" 2>/dev/null)" = "$npm_stamp" ]; then
	echo "e2e: npm ci: up to date ($(took "$t0"))"
else
	cache=${NPM_CACHE:-$HOME/.cache/caddy-outstatic-npm}
	mkdir -p "$cache"
	(cd "$site" && npm ci --no-audit --no-fund --prefer-offline --cache "$cache")
	echo "$npm_stamp" >"$site/node_modules/.e2e-stamp"
	echo "e2e: npm ci: $(took "$t0")"
fi

# The dashboard's GraphQL documents the fake GitHub and the relay's tests
# use are the installed package's (internal/fakegithub/testdata/SOURCE.md).
go run ./internal/fakegithub/dashdocs -check
echo "e2e: the dashboard's GraphQL documents are the package's"

# The production build, redone when a source, the lockfile or Node changed.
# next-env.d.ts is left out: next build writes it.
t0=$(now)
build_stamp=$(cd "$site" && {
	find app package.json package-lock.json next.config.ts tsconfig.json -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
	node --version
} | sha256sum | cut -d' ' -f1)
if [ -f "$site/.next/BUILD_ID" ] && [ "$(cat "$site/.next/.e2e-stamp" 2>/dev/null)" = "$build_stamp" ]; then
	echo "e2e: next build: up to date ($(took "$t0"))"
else
	(cd "$site" && NEXT_TELEMETRY_DISABLED=1 node_modules/.bin/next build)
	echo "$build_stamp" >"$site/.next/.e2e-stamp"
	echo "e2e: next build: $(took "$t0")"
fi

# The test starts the site, Caddy and Chromium itself, and stops them.
t0=$(now)
# e2e/ is a module of its own, so the test runs from inside it.
(cd e2e && go test -tags e2e -count=1 -v -timeout 15m .)
echo "e2e: test: $(took "$t0")"
