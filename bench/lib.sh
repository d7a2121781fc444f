# Helpers for the load benchmarks (sourced by bench/relay.sh, login.sh and
# memory.sh; the same approach as bench/proxies.sh): wrk and redis-server
# from Debian, pinning, background servers that end with the script, wrk's
# numbers, medians.
# The caller sets SERVER_CPU, WRK_CPU (and ROUNDS for bench_start); tmp is
# the temporary directory, made by bench_start or by the caller.

pids=()
bench_cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
say() { echo "bench: $*" >&2; }

# bench_start begins a wrk benchmark: a temporary directory removed with
# the servers at exit, a word when ROUNDS is too few for medians, wrk,
# redis-server (unless the argument is no-redis) and the CPU pinning.
bench_start() {
	tmp=$(mktemp -d)
	trap bench_cleanup EXIT
	[ "$ROUNDS" -ge 5 ] || say "ROUNDS=$ROUNDS: with fewer than 5 rounds the medians say little"
	need_wrk
	[ "${1:-}" = no-redis ] || need_redis
	set_pinning
}

# need_wrk installs wrk from Debian when it is missing (as root).
need_wrk() {
	if ! command -v wrk >/dev/null; then
		if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
			say "installing wrk"
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null 2>&1 ||
				{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
		fi
	fi
	command -v wrk >/dev/null || { say "wrk is required (Debian: apt-get install wrk)"; exit 1; }
	command -v curl >/dev/null || { say "curl is required"; exit 1; }
}

# need_redis installs redis-server from Debian when it is missing (as root).
need_redis() {
	if ! command -v redis-server >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		say "installing redis-server"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null 2>&1 ||
			{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }
	fi
	command -v redis-server >/dev/null || { say "redis-server is required (Debian: apt-get install redis-server)"; exit 1; }
}

# set_pinning sets pin_server and pin_wrk (taskset prefixes) and pinning
# (how, in words).
set_pinning() {
	pin_server=() pin_wrk=() pinning="not pinned"
	if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
		pin_server=(taskset -c "$SERVER_CPU") pin_wrk=(taskset -c "$WRK_CPU")
		pinning="servers on CPU $SERVER_CPU, load generators on CPU $WRK_CPU"
	else
		say "not pinning: taskset or a second CPU is missing (numbers will be noisier)"
	fi
}

# start_fakegh starts the fake GitHub (internal/benchtools/fakegh, built
# as $tmp/fakegh) beside the load generators, or beside the servers when
# the argument is server, with fresh BENCH_GITHUB_SECRET and
# BENCH_RELAY_SECRET (exported), and reads its URLs into gh_url, gh_api,
# gh_graphql; its other lines stay in $tmp/fakegh.log.
start_fakegh() {
	export BENCH_GITHUB_SECRET BENCH_RELAY_SECRET
	BENCH_GITHUB_SECRET=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
	BENCH_RELAY_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
	local pin=("${pin_wrk[@]}")
	[ "${1:-}" != server ] || pin=("${pin_server[@]}")
	"${pin[@]}" "$tmp/fakegh" -client-id Iv1.bench -client-secret "$BENCH_GITHUB_SECRET" >"$tmp/fakegh.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 100); do grep -q '^ready' "$tmp/fakegh.log" && break; sleep 0.1; done
	gh_url=$(sed -n 's/^url=//p' "$tmp/fakegh.log")
	gh_api=$(sed -n 's/^api_url=//p' "$tmp/fakegh.log")
	gh_graphql=$(sed -n 's/^graphql_url=//p' "$tmp/fakegh.log")
	[ -n "$gh_url" ] || { say "the fake GitHub did not start"; cat "$tmp/fakegh.log" >&2; exit 1; }
}

# relay_github prints a native relay's lines for the fake GitHub of
# start_fakegh: its github block, the relay's secret, and no limit on
# login starts (every login of the load comes from one address: the per-IP
# limit would refuse all but the first few).
relay_github() {
	cat <<EOB
		github {
			client_id Iv1.bench
			client_secret {env.BENCH_GITHUB_SECRET}
			base_url $gh_url
			api_url $gh_api
			graphql_url $gh_graphql
		}
		secret {env.BENCH_RELAY_SECRET}
		start_limit off
EOB
}

# ports_free exits unless every port given is free on 127.0.0.1.
ports_free() {
	for p in "$@"; do
		if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			say "port $p is in use: set BASE_PORT"
			exit 1
		fi
	done
}

# start name command...: runs it pinned to the server CPU, output in $tmp/name.log.
start() {
	local name=$1
	shift
	"${pin_server[@]}" "$@" >"$tmp/$name.log" 2>&1 &
	pids+=($!)
}

# wait_http url: until it answers.
wait_http() {
	for _ in $(seq 100); do
		curl -s -o /dev/null "$1" && return 0
		sleep 0.1
	done
	say "$1 does not answer"
	[ ! -f "$tmp/caddy.log" ] || tail -5 "$tmp/caddy.log" >&2
	exit 1
}

# run_wrk url duration [wrk header args...] -> "req/s p50_us p99_us errors"
run_wrk() {
	local url=$1 dur=$2
	shift 2
	"${pin_wrk[@]}" wrk -t"$THREADS" -c"$CONNS" -d"$dur" --latency "$@" "$url" |
		awk '
		function us(v) {
			if (v ~ /us$/) return v + 0
			if (v ~ /ms$/) return v * 1000
			if (v ~ /s$/) return v * 1000000
			return v
		}
		/Requests\/sec:/ { rps = $2 }
		/^ +50%/ { p50 = us($2) }
		/^ +99%/ { p99 = us($2) }
		/Non-2xx or 3xx responses:/ { bad = $NF }
		/Socket errors:/ { bad += 1 }
		END { printf "%s %s %s %d\n", rps, p50, p99, bad }'
}

# cpu_ticks pid...: the CPU time, user and system, that the processes
# have used so far, in clock ticks (getconf CLK_TCK a second), summed.
# Time the machine gives to others lowers a rate but not the CPU a
# request costs (a neighbour that slows the caches still moves both): a
# run's CPU per request is steadier than its requests per second.
cpu_ticks() {
	local t=0 p f
	for p in "$@"; do
		# the fields after "pid (comm) ": utime and stime are the 12th and 13th
		read -r -a f < <(sed 's/^.*) //' "/proc/$p/stat")
		t=$((t + f[11] + f[12]))
	done
	echo "$t"
}
clk_tck=$(getconf CLK_TCK)

# cpu_per_op ticks_before rate duration pid...: the CPU microseconds the
# processes spent per request of a run that began when cpu_ticks gave
# ticks_before and went at rate (a second) for duration (as "5s").
cpu_per_op() {
	local t0=$1 rate=$2 d=${3%s}
	shift 3
	awk -v t0="$t0" -v t1="$(cpu_ticks "$@")" -v rate="$rate" -v d="$d" -v hz="$clk_tck" \
		'BEGIN { n = rate * d; printf "%.1f", (n > 0 ? (t1 - t0) * 1e6 / hz / n : 0) }'
}

# fs_line names the file system that holds dir: its type, its device and,
# for ext4, whether it has a journal (without one, ext4 passes over the
# inodes freed in the last minutes each time it makes a file: a benchmark
# that removes many files slows its own creations down for minutes).
fs_line() {
	local src type journal=""
	src=$(findmnt -no SOURCE -T "$1" 2>/dev/null | tail -n1)
	type=$(findmnt -no FSTYPE -T "$1" 2>/dev/null | tail -n1)
	if [ "$type" = ext4 ]; then
		if [ -e "/proc/fs/jbd2/$(basename "$(readlink -f "$src")")-8" ]; then journal=", with a journal"; else journal=", without a journal"; fi
	fi
	echo "$type on $src$journal"
}

# machine_lines prints the machine, the toolchain and how busy the machine was.
machine_lines() {
	echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), load average $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "$(go version | cut -d' ' -f3-), caddy $("$tmp/caddy" version | cut -d' ' -f1), wrk $(wrk -v 2>&1 | head -1 | cut -d' ' -f2)"
}
