#!/usr/bin/env bash
# The interop tests: bash scripts/interop.sh
# The relay against real, independent servers instead of this repository's
# doubles: its OpenID Connect login against Ory Hydra (OpenID Certified)
# and its magic links and invitations through Mailpit (SMTP with STARTTLS,
# AUTH and implicit TLS). Both are tool dependencies of the interop module
# (interop/go.mod), so the plugin's go.mod gains nothing. The test builds
# them, and the relay's Caddy, into INTEROP_CACHE (default
# ~/.cache/caddy-outstatic-interop) and runs them on loopback only; go
# build leaves an up-to-date binary as it is, so a rerun builds nothing.
# Hydra's SQLite driver needs cgo, so a C compiler (Debian: gcc), which is
# installed when missing and we may.
set -euo pipefail
cd "$(dirname "$0")/.."

now() { date +%s.%N; }
took() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

if ! command -v gcc >/dev/null; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		echo "interop: installing gcc (Hydra's SQLite driver is cgo)"
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc libc6-dev >/dev/null
	fi
fi
if ! command -v gcc >/dev/null; then
	echo "interop: a C compiler is required to build Hydra (Debian: apt-get install gcc) and could not be installed" >&2
	exit 1
fi

t0=$(now)
(cd interop && go mod download)
echo "interop: go mod download: $(took "$t0")"

# The tests build Caddy, Mailpit and Hydra (one after the other, as they
# need them), then run; the limit leaves room for cold builds.
t0=$(now)
(cd interop && go test -count=1 -v -timeout 90m .)
echo "interop: test (builds included): $(took "$t0")"
