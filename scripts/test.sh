#!/usr/bin/env bash
# The test suite: bash scripts/test.sh
# Installs what is missing (scripts/deps.sh), then runs the unit, in-process
# Caddy and integration tests (Redis started by the tests), a short
# differential fuzz run of the callback validator against Node's WHATWG URL
# parser, the relay against Ory Hydra and Mailpit (scripts/interop.sh),
# and the browser test of the stock site (scripts/e2e.sh).
# FUZZTIME sets the fuzz run's length (default 30s; 0 skips it); INTEROP=0
# and E2E=0 skip the interop and browser tests (CI never does).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/deps.sh

t0=$(date +%s)
go test -count=1 ./...
echo "unit and integration tests: $(( $(date +%s) - t0 ))s"

fuzztime=${FUZZTIME:-30s}
if [ "$fuzztime" != "0" ]; then
	t0=$(date +%s)
	go test ./validate -run='^$' -fuzz='^FuzzCallbackTarget$' -fuzztime="$fuzztime"
	echo "fuzz ($fuzztime): $(( $(date +%s) - t0 ))s"
fi

if [ "${INTEROP:-1}" != "0" ] || [ -n "${CI:-}" ]; then
	bash scripts/interop.sh
fi

if [ "${E2E:-1}" != "0" ] || [ -n "${CI:-}" ]; then
	bash scripts/e2e.sh
fi
