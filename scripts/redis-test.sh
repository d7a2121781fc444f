#!/usr/bin/env bash
# Makes sure redis-server is installed, then runs the store tests, which
# start their own redis-server on a free loopback port and stop it again.
# .ci/run can call this before the main suite: under CI (CI set) the Redis
# tests fail rather than skip when redis-server is missing.
# Usage: bash scripts/redis-test.sh [go test flags...]
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v redis-server >/dev/null; then
	apt-get update -qq
	# policy-rc.d or no init system keeps the Debian service from starting;
	# if one did start, the tests do not use it (they pick their own port).
	apt-get install -y -qq redis-server >/dev/null
fi
redis-server --version

go test -race -count=1 "$@" ./store/
