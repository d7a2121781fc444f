#!/usr/bin/env bash
# The soak: SOAK=10m bash scripts/soak.sh
# One Caddy built from this repository (the guard in front of a page and the
# native relay, Redis, a fake GitHub; loopback only) is driven at 80% of the
# capacity the run first measures, with page views, logins, parser calls and
# refusals, for SOAK (default 10m). It prints resident memory, heap and
# goroutines at the start, every minute and at the end (from /proc and the
# admin API's /debug/pprof and /metrics), and fails on any unexpected answer
# or on memory or goroutines that do not stay flat. Not part of
# scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
soak=${SOAK:-10m}
export SOAK="$soak"
go test -tags soak -count=1 -v -run '^TestSoak$' -timeout 2h ./internal/cluster
