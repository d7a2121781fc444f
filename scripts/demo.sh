#!/usr/bin/env bash
# The full demo, on this machine only: bash scripts/demo.sh
# The stock Outstatic site (testdata/stock-site, outstatic 2.2.4) behind the
# guard and a native relay, with a demo GitHub holding a sample repository
# in memory: open http://localhost:8080/outstatic and click "Sign in with
# GitHub". Nothing leaves the machine; no GitHub account is needed.
#
# The first run installs and builds the site (a few minutes), into .demo/
# (ignored by git); later runs find it built and start in seconds. Ctrl-C
# stops everything the demo started.
# OUTSTATIC_DEMO_PORT sets the port (default 8080; the site is built for
# it, so another port builds again); OUTSTATIC_DEMO_DIR the folder it builds
# in (default .demo). Needs Go 1.26, Node.js 20.9 or later and npm.
set -euo pipefail
cd "$(dirname "$0")/.."
port=${OUTSTATIC_DEMO_PORT:-8080}
state=${OUTSTATIC_DEMO_DIR:-.demo}
site=$state/site
origin=http://localhost:$port
# The dashboard's Members and API Keys links go to NEXT_PUBLIC_OST_APP_URL,
# fixed when the site is built: here the relay's own pages.
app_url=$origin/relay

# Ctrl-C while building stops the step (the terminal sends it to all of
# them) and leaves no stamp: the next run does that step again. Once the
# demo runs, this shell has become the demo (exec below), which stops
# what it started itself.
trap 'echo; echo "demo: interrupted"; exit 130' INT TERM

for tool in go node npm; do
	if ! command -v "$tool" >/dev/null; then
		echo "demo: $tool is required (Go 1.26, Node.js 20.9 or later with npm)" >&2
		exit 1
	fi
done

mkdir -p "$state/bin"
if [ ! -f "$site/.next/BUILD_ID" ]; then
	echo "demo: first run: installing and building the stock site and the demo, a few minutes; later runs start in seconds"
fi

# The stock site's sources, copied as they are into a folder of the demo's
# own: its build differs from the browser tests' by the app URL only.
mkdir -p "$site"
rm -rf "$site/app"
cp -R testdata/stock-site/app "$site/app"
cp testdata/stock-site/package.json testdata/stock-site/package-lock.json \
	testdata/stock-site/next.config.ts testdata/stock-site/tsconfig.json "$site/"

# shellcheck source=scripts/stocksite.sh
. scripts/stocksite.sh
STOCK_SITE_WHO=demo
stock_site_install "$site"
stock_site_build "$site" "$app_url"
echo "$app_url" >"$site/.next/.demo-app-url"

t0=$(stock_site_now)
echo "demo: go build ./cmd/outstatic-demo (minutes on a cold Go build cache, seconds after)"
go build -o "$state/bin/outstatic-demo" ./cmd/outstatic-demo
echo "demo: go build: $(stock_site_took "$t0")"

exec "$state/bin/outstatic-demo" -port "$port" -site "$site"
