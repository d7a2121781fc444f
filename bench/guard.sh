#!/usr/bin/env bash
# The guard's hot path against a baseline measured in the same run: Caddy's
# own headers handler doing the least a proxy could do for the same header
# work. Prints each benchmark's median and the ratio guard/baseline, which,
# unlike raw ns/op, means something on a noisy machine.
# Usage: bash bench/guard.sh [count]   (default 5 runs of each, interleaved)
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-5}
out=$(go test -run '^$' -bench '^(BenchmarkGuardHotPath|BenchmarkBaselineHeaders)$' -benchmem -count "$count" . 2>/dev/null)
echo "$out" | grep -E '^Benchmark'
echo "$out" | awk '
/^BenchmarkGuardHotPath/    { g[++ng] = $3; ga = $7 }
/^BenchmarkBaselineHeaders/ { b[++nb] = $3; ba = $7 }
function median(a, n,   i, j, t) {
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
	return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
END {
	if (ng == 0 || nb == 0) { print "bench: no results"; exit 1 }
	gm = median(g, ng); bm = median(b, nb)
	printf "guard hot path: %.0f ns/op, %d allocs/op\n", gm, ga
	printf "baseline:       %.0f ns/op, %d allocs/op\n", bm, ba
	printf "ratio guard/baseline: %.2f\n", gm / bm
}'
