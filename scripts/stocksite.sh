# The stock Outstatic site's install and build, shared by scripts/e2e.sh and
# scripts/demo.sh: source this file, then call
#	stock_site_install DIR
#	stock_site_build DIR [APP_URL]
# Each step leaves a stamp beside what it made and is skipped while the
# stamp matches: the packages are installed again when the lockfile or
# Node's version changed, the build is redone when a source, the lockfile,
# Node or APP_URL (NEXT_PUBLIC_OST_APP_URL, fixed when the site is built)
# changed. A step that fails leaves no stamp, so the next run does it again.
# NPM_CACHE sets npm's download cache (default ~/.cache/caddy-outstatic-npm),
# kept between runs so that a reinstall needs no network.
# The caller names itself in the progress lines with STOCK_SITE_WHO.

stock_site_now() { date +%s.%N; }
stock_site_took() { awk -v a="$1" -v b="$(stock_site_now)" 'BEGIN { printf "%.1fs", b - a }'; }

# stock_site_install DIR: npm ci in DIR, exactly as locked.
stock_site_install() {
	local dir=$1 who=${STOCK_SITE_WHO:-stock site} t0 stamp cache
	t0=$(stock_site_now)
	stamp=$(cat "$dir/package-lock.json" <(node --version) | sha256sum | cut -d' ' -f1)
	if [ "$(cat "$dir/node_modules/.e2e-stamp" 2>/dev/null)" = "$stamp" ]; then
		echo "$who: npm ci: up to date ($(stock_site_took "$t0"))"
		return
	fi
	echo "$who: npm ci: installing the stock site's packages (about a minute, more on a first download)"
	cache=${NPM_CACHE:-$HOME/.cache/caddy-outstatic-npm}
	mkdir -p "$cache"
	(cd "$dir" && npm ci --no-audit --no-fund --prefer-offline --cache "$cache")
	echo "$stamp" >"$dir/node_modules/.e2e-stamp"
	echo "$who: npm ci: $(stock_site_took "$t0")"
}

# stock_site_build DIR [APP_URL]: next build in DIR, with
# NEXT_PUBLIC_OST_APP_URL=APP_URL when given. next-env.d.ts is left out of
# the stamp: next build writes it.
stock_site_build() {
	local dir=$1 app_url=${2:-} who=${STOCK_SITE_WHO:-stock site} t0 stamp
	t0=$(stock_site_now)
	stamp=$(cd "$dir" && {
		find app package.json package-lock.json next.config.ts tsconfig.json -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
		node --version
		[ -z "$app_url" ] || echo "NEXT_PUBLIC_OST_APP_URL=$app_url"
	} | sha256sum | cut -d' ' -f1)
	if [ -f "$dir/.next/BUILD_ID" ] && [ "$(cat "$dir/.next/.e2e-stamp" 2>/dev/null)" = "$stamp" ]; then
		echo "$who: next build: up to date ($(stock_site_took "$t0"))"
		return
	fi
	echo "$who: next build: building the stock site (about a minute)"
	rm -f "$dir/.next/.e2e-stamp"
	if [ -n "$app_url" ]; then
		(cd "$dir" && NEXT_TELEMETRY_DISABLED=1 NEXT_PUBLIC_OST_APP_URL="$app_url" node_modules/.bin/next build)
	else
		(cd "$dir" && NEXT_TELEMETRY_DISABLED=1 node_modules/.bin/next build)
	fi
	echo "$stamp" >"$dir/.next/.e2e-stamp"
	echo "$who: next build: $(stock_site_took "$t0")"
}
