#!/usr/bin/env bash
# The test suite: bash scripts/test.sh
# Installs what is missing (scripts/deps.sh), then runs the unit, in-process
# Caddy and integration tests (Redis started by the tests), a short
# differential fuzz run of the callback validator against Node's WHATWG URL
# parser, the relay against Ory Hydra and Mailpit (scripts/interop.sh),
# and the browser test of the stock site (scripts/e2e.sh).
# FUZZTIME sets the fuzz run's length (default 30s; 0 skips it); INTEROP=0
# and E2E=0 skip the interop and browser tests (CI never does).
#
# Every stage runs, whatever the stages before it did, and the run ends with
# a table of each stage's result and time; the exit status is 1 when any
# stage failed. Adding a stage is one line in the list of stages below:
#	stage NAME COMMAND [ARGS...]
set -uo pipefail
cd "$(dirname "$0")/.."

stage_names=()
stage_results=()
stage_times=()
failed=0
# The output of every stage that failed is also kept here, so that the end
# of the run can repeat the failing tests' own lines (a long log hides them).
stage_log=$(mktemp)
failed_log=$(mktemp)
trap 'rm -f "$stage_log" "$failed_log"' EXIT

# stage NAME COMMAND...: runs COMMAND and records how it ended and how long
# it took. A failure is recorded, not fatal: the next stage runs.
stage() {
	local name=$1 began=$SECONDS rc=0
	shift
	echo "== $name: $*"
	"$@" 2>&1 | tee "$stage_log" || rc=$?
	stage_names+=("$name")
	stage_times+=("$((SECONDS - began))s")
	if [ "$rc" = 0 ]; then
		stage_results+=(passed)
	else
		stage_results+=("FAILED (exit $rc)")
		failed=1
		cat "$stage_log" >> "$failed_log"
	fi
}

# skip NAME WHY: records a stage that was not run, and why.
skip() {
	echo "== $1: skipped ($2)"
	stage_names+=("$1")
	stage_results+=("skipped: $2")
	stage_times+=(-)
}

# summary prints the table of the stages recorded so far.
summary() {
	local i
	echo
	printf '%-24s %-28s %s\n' stage result time
	for i in "${!stage_names[@]}"; do
		printf '%-24s %-28s %s\n' "${stage_names[$i]}" "${stage_results[$i]}" "${stage_times[$i]}"
	done
}

# Ctrl-C stops the run (it does not go on to the next stage).
trap 'echo; echo "interrupted"; summary; exit 130' INT

fuzztime=${FUZZTIME:-30s}
browser=${E2E:-1}
interop=${INTEROP:-1}
[ -n "${CI:-}" ] && browser=1 && interop=1

# The stages, in order.
stage deps bash scripts/deps.sh
stage "unit and integration" go test -count=1 ./...
if [ "$fuzztime" != 0 ]; then
	stage "fuzz ($fuzztime)" go test ./validate -run='^$' -fuzz='^FuzzCallbackTarget$' -fuzztime="$fuzztime"
else
	skip fuzz "FUZZTIME=0"
fi
# The interop stage comes first: the browser test reuses its Hydra build.
if [ "$interop" != 0 ]; then
	stage "interop (Hydra, Mailpit)" bash scripts/interop.sh
else
	skip "interop (Hydra, Mailpit)" "INTEROP=0"
fi
if [ "$browser" != 0 ]; then
	stage "browser end to end" bash scripts/e2e.sh
else
	skip "browser end to end" "E2E=0"
fi

# The end: the failing tests' names and messages, if a stage failed (Go
# prints a test's log lines only when it fails), then the table.
if [ "$failed" != 0 ]; then
	echo
	echo "failing tests and their messages:"
	grep -E -e '--- FAIL|^FAIL|^panic:|_test\.go:[0-9]+: ' "$failed_log" | tail -n 60
fi
summary
if [ "$failed" != 0 ]; then
	echo "test.sh: a stage failed (see the table above)" >&2
fi
exit "$failed"
