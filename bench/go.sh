#!/usr/bin/env bash
# The Go benchmarks of the hot paths, with -benchmem, in benchstat's input
# format (go test's own output: one line per run of each benchmark):
#
#   guard         BenchmarkGuardHotPath, BenchmarkBaselineHeaders (.)
#   validator     BenchmarkCallbackTarget*, BenchmarkCallbackQuery (validate/)
#   seal, open    BenchmarkSeal, BenchmarkOpen: an access token (relay/native/)
#   key check     BenchmarkKeyCheck/projects=1|10000: #1 from memory;
#                 BenchmarkKeyCheckUnknown: an unknown key, one store read;
#                 BenchmarkUnknownKeys/file|redis/index|per-key: distinct unknown
#                 keys, 32 at a time (relay/roster/)
#   graphql       BenchmarkCheckGraphQL: the parser's policy on the dashboard's
#                 requests and on the largest shapes its bounds let through
#                 (relay/gqlpolicy/)
#   token take    BenchmarkMemoryTake (relay/: the in-process memory),
#                 BenchmarkTake/file|redis (store/: a real redis-server), and
#                 BenchmarkFileFloor, the file system's least cost of the same
#
# Usage: bash bench/go.sh [count] > new.txt    (default count 6)
#        benchstat old.txt new.txt             (golang.org/x/perf/cmd/benchstat)
#   BENCHTIME=1s (go test -benchtime), CPU=0 pins the runs to that CPU
# Without redis-server on PATH, BenchmarkTake/redis is skipped (scripts/deps.sh
# installs it).
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-6}
pin=()
if [ -n "${CPU:-}" ] && command -v taskset >/dev/null; then pin=(taskset -c "$CPU"); fi
run() { # package, benchmark pattern
	"${pin[@]}" go test -run '^$' -bench "$2" -benchmem -count "$count" -benchtime "${BENCHTIME:-1s}" "$1"
}
# Each package's own header (goos, goarch, pkg, cpu) stays, as benchstat
# wants; the PASS/ok lines between them are noise to it and are dropped.
{
	run . '^(BenchmarkGuardHotPath|BenchmarkBaselineHeaders)$'
	run ./validate '^BenchmarkCallback'
	run ./relay/native '^(BenchmarkSeal|BenchmarkOpen|BenchmarkKeyCheck|BenchmarkKeyCheckUnknown)$'
	run ./relay/roster '^BenchmarkUnknownKeys$'
	run ./relay/gqlpolicy '^BenchmarkCheckGraphQL$'
	run ./relay '^BenchmarkMemoryTake$'
	run ./store '^(BenchmarkTake|BenchmarkFileFloor)$'
} 2>&1 | grep -Ev '^(PASS|ok )'
