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

# The site's packages, exactly as locked, and its production build, each
# redone only when what it depends on changed (scripts/stocksite.sh). The
# full demo's test (TestFullDemoInBrowser) runs scripts/demo.sh, which
# builds a copy of its own under .demo/e2e.
. scripts/stocksite.sh
STOCK_SITE_WHO=e2e
stock_site_install "$site"

# The dashboard's GraphQL documents the fake GitHub and the relay's tests
# use are the installed package's (internal/fakegithub/testdata/SOURCE.md).
go run ./internal/fakegithub/dashdocs -check
echo "e2e: the dashboard's GraphQL documents are the package's"

stock_site_build "$site"

# The test starts the site, Caddy and Chromium itself, and stops them.
t0=$(now)
# e2e/ is a module of its own, so the test runs from inside it.
(cd e2e && go test -tags e2e -count=1 -v -timeout 25m .)
echo "e2e: test: $(took "$t0")"
