#!/usr/bin/env bash
# The native relay's key check (GET /outstatic/project) under load, for a
# stored key and for refused unknown keys, each next to Caddy's respond
# answering the same status, body and headers in the same Caddy. One Caddy
# (built from ./cmd/caddy) serves, each on its own loopback port:
#
#   respond 200           the key check's answer for a stored key
#   respond 401           the refusal ({"error":"invalid-api-key"})
#   relay, 1 project      a native relay on Caddy's storage (file_system)
#   relay, 10,000         the same with 10,000 projects
#   relay, Redis          one project on a redis-server of its own
#
# and measures with wrk, every request carrying a key of a file in turn
# (bench/wrk/keys.lua, on every row, so that wrk's own cost is the same on
# both sides of a ratio):
#
#   stored key            the project's key, again and again, against respond 200
#   unknown, one key      one made-up well-formed key, again and again, against respond 401
#   unknown, 100,000      100,000 distinct made-up keys (bench/relayload keys),
#                         against respond 401: a flood no memory can hold
#
# ROUNDS rounds, the configs interleaved and the order rotated each round;
# each ratio is the median over the rounds of the row's req/s over the
# same round's respond; each row also reports the CPU time Caddy and Redis
# spent per request and respond's over it (bench/login.sh says why).
# Servers on CPU SERVER_CPU (0), wrk on WRK_CPU (1).
# With PPROF=DIR it takes CPU profiles of Caddy (admin /debug/pprof) during
# the last round's stored-key and 100,000-key runs with 1 project and the
# 100,000-key run on Redis, and prints their top entries.
#
# Usage: bash bench/keys.sh
#   ROUNDS=5 DURATION=5s CONNS=32 THREADS=1
#   BASE_PORT=19700   the ports BASE_PORT..BASE_PORT+10 on 127.0.0.1 must be free
#   PPROF=DIR
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-5s}
CONNS=${CONNS:-32}
THREADS=${THREADS:-1}
BASE_PORT=${BASE_PORT:-19700}
SERVER_CPU=${SERVER_CPU:-0}
WRK_CPU=${WRK_CPU:-1}
PPROF=${PPROF:-}

. bench/lib.sh
bench_start

say "building caddy (./cmd/caddy) and relayload (bench/)"
go build -o "$tmp/caddy" ./cmd/caddy
(cd bench && go build -o "$tmp/" ./relayload)

p_admin=$BASE_PORT p_redis=$((BASE_PORT + 1)) p_ok=$((BASE_PORT + 2)) p_no=$((BASE_PORT + 3))
p_relay1=$((BASE_PORT + 4)) p_relay10k=$((BASE_PORT + 5)) p_relayr=$((BASE_PORT + 6))
ports_free $p_admin $p_redis $p_ok $p_no $p_relay1 $p_relay10k $p_relayr
start redis "$(command -v redis-server)" --port "$p_redis" --bind 127.0.0.1 --save '' --appendonly no
redis_pid=${pids[-1]}

export BENCH_RELAY_SECRET
BENCH_RELAY_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
site=http://site.example/outstatic
ok_body='{"account_slug":"acme","callback_origins":["'$site'"],"is_pro":true,"monorepo_path":"","plan":"pro","project_id":"k00000","project_slug":"k00000","repo_owner":"acme","repo_slug":"blog"}'
no_body='{"error":"invalid-api-key"}'
relay_block() { # port, storage line, project slugs...
	local port=$1 storage=$2
	shift 2
	cat <<EOB
http://127.0.0.1:$port {
	outstatic_relay {
		public_url http://127.0.0.1:$port
		$storage
		github {
			client_id Iv1.bench
			client_secret {env.BENCH_RELAY_SECRET}
		}
		secret {env.BENCH_RELAY_SECRET}
$(for slug in "$@"; do printf '\t\tproject %s {\n\t\t\tcallback_origin %s\n\t\t\trepo acme/blog\n\t\t\tplan pro\n\t\t\tmember ada owner\n\t\t}\n' "$slug" "$site"; done)
	}
}
EOB
}
respond_block() { # port, body, status
	printf 'http://127.0.0.1:%s {\n\theader Content-Type application/json\n\theader Cache-Control no-store\n\theader X-Content-Type-Options nosniff\n\trespond `%s` %s\n}\n' "$1" "$2" "$3"
}
{
	printf '{\n\tadmin 127.0.0.1:%s\n\tauto_https off\n\tstorage file_system %s\n\tservers {\n\t\tprotocols h1\n\t}\n}\n' "$p_admin" "$tmp/data"
	respond_block $p_ok "$ok_body"$'\n' 200  # the relay ends its JSON with a newline
	respond_block $p_no "$no_body" 401
	relay_block $p_relay1 "" k00000
	# shellcheck disable=SC2046
	relay_block $p_relay10k "" $(seq -f 'p%05g' 0 9999)
	relay_block $p_relayr "storage redis 127.0.0.1:$p_redis" r00000
} >"$tmp/Caddyfile"
XDG_DATA_HOME=$tmp/data XDG_CONFIG_HOME=$tmp/config start caddy "$tmp/caddy" run --config "$tmp/Caddyfile" --adapter caddyfile
wait_http "http://127.0.0.1:$p_ok/"
caddy_pid=$(pgrep -P "${pids[-1]}" caddy 2>/dev/null || echo "${pids[-1]}")

newkey() { # project -> its stored key, made through the admin API
	"$tmp/caddy" outstatic key create --project "$1" --address "127.0.0.1:$p_admin" | awk '/^key:/ { print $2 }'
}
newkey k00000 >"$tmp/keys.stored1"
newkey p05000 >"$tmp/keys.stored10k"
newkey r00000 >"$tmp/keys.storedr"
"$tmp/relayload" keys -n 1 >"$tmp/keys.one"
"$tmp/relayload" keys -n 100000 >"$tmp/keys.flood"
for f in stored1 stored10k storedr; do [ -s "$tmp/keys.$f" ] || { say "no key made ($f)"; tail -5 "$tmp/caddy.log" >&2; exit 1; }; done

# --- the rows: name | url | keys file | reference ------------------------
names=() urls=() files=() refs=()
row() { names+=("$1") urls+=("$2") files+=("$3") refs+=("$4"); }
row "respond 200" "http://127.0.0.1:$p_ok/" stored1 ""
row "respond 401" "http://127.0.0.1:$p_no/" flood ""
row "stored key, 1 project" "http://127.0.0.1:$p_relay1/outstatic/project" stored1 "respond 200"
row "stored key, 10,000 projects" "http://127.0.0.1:$p_relay10k/outstatic/project" stored10k "respond 200"
row "stored key, Redis" "http://127.0.0.1:$p_relayr/outstatic/project" storedr "respond 200"
row "unknown, one key, 1 project" "http://127.0.0.1:$p_relay1/outstatic/project" one "respond 401"
row "unknown, one key, 10,000" "http://127.0.0.1:$p_relay10k/outstatic/project" one "respond 401"
row "unknown, 100,000, 1 project" "http://127.0.0.1:$p_relay1/outstatic/project" flood "respond 401"
row "unknown, 100,000, 10,000" "http://127.0.0.1:$p_relay10k/outstatic/project" flood "respond 401"
row "unknown, 100,000, Redis" "http://127.0.0.1:$p_relayr/outstatic/project" flood "respond 401"
n=${#names[@]}

# --- checks: each row answers its reference's status and body ------------
for i in "${!names[@]}"; do
	got=$(curl -s -w ' %{http_code}' -H "Authorization: Bearer $(head -1 "$tmp/keys.${files[$i]}")" "${urls[$i]}")
	case ${files[$i]} in stored1) want="$ok_body"$'\n'" 200" ;; stored*) want=" 200" ;; *) want="$no_body 401" ;; esac
	[ "${want% *}" = "" ] && got=" ${got##* }"
	[ "$got" = "$want" ] || { say "${names[$i]}: answers '$got', want '$want'"; exit 1; }
done
say "every row answers its reference's status (and, for 1 project, body)"

prof_pid=
measure() { # round, row index, duration
	local r=$1 i=$2 dur=$3
	prof_pid=
	if [ -n "$PPROF" ] && [ "$r" = "$ROUNDS" ]; then
		case ${names[$i]} in "stored key, 1 project" | "unknown, 100,000, 1 project" | "unknown, 100,000, Redis")
			mkdir -p "$PPROF"
			curl -s -o "$PPROF/keys-$(echo "${names[$i]}" | tr -c 'a-z0-9\n' '-').prof" \
				"http://127.0.0.1:$p_admin/debug/pprof/profile?seconds=$((${dur%s} - 1))" &
			prof_pid=$!
			;;
		esac
	fi
	local t0 cpu
	t0=$(cpu_ticks "$caddy_pid" "$redis_pid")
	read -r rps p50 p99 _ < <(KEYS_FILE=$tmp/keys.${files[$i]} run_wrk "${urls[$i]}" "$dur" -s bench/wrk/keys.lua)
	cpu=$(cpu_per_op "$t0" "$rps" "$dur" "$caddy_pid" "$redis_pid")
	[ -z "$prof_pid" ] || wait "$prof_pid"
	[ "$r" = 0 ] || echo "$r	$i	$rps	$p50	$p99	$cpu" >>"$tmp/runs"
}
say "warm-up: 1s per row"
for i in "${!names[@]}"; do measure 0 "$i" 1s; done
: >"$tmp/runs"
say "measuring: $ROUNDS rounds x $n rows x $DURATION"
for r in $(seq "$ROUNDS"); do
	for k in $(seq 0 $((n - 1))); do measure "$r" $(((k + r) % n)) "$DURATION"; done
	say "round $r/$ROUNDS done (load average $(cut -d' ' -f1-3 /proc/loadavg))"
done

# --- the report ------------------------------------------------------------
echo
machine_lines
echo "redis $(redis-server --version | awk '{ print $3 }' | cut -d= -f2)"
echo "rounds $ROUNDS x $DURATION, $CONNS connections, $THREADS wrk thread(s); $pinning"
echo
{
	for i in "${!names[@]}"; do printf 'name\t%s\t%s\t%s\n' "$i" "${names[$i]}" "${refs[$i]}"; done
	cat "$tmp/runs"
} | awk -F'\t' '
function median(a, k,   i, j, t) {
	for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
	return (k % 2) ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
}
$1 == "name" { name[$2] = $3; ref[$2] = $4; idx[$3] = $2; n++; next }
{ rps[$1, $2] = $3; p50[$1, $2] = $4; p99[$1, $2] = $5; cpu[$1, $2] = $6; if ($1 > R) R = $1 }
END {
	printf "| %-29s | %9s | %8s | %8s | %-17s | %7s | %-17s |\n", "key check", "req/s", "p50 ms", "p99 ms", "ratio to respond", "CPU us", "CPU ratio"
	printf "|%s|%s|%s|%s|%s|%s|%s|\n", "-------------------------------", "-----------", "----------", "----------", "-------------------", "---------", "-------------------"
	for (i = 0; i < n; i++) {
		delete a; delete b; delete d; delete q; delete u; delete v
		ri = (ref[i] == "") ? i : idx[ref[i]]
		for (r = 1; r <= R; r++) {
			a[r] = rps[r, i]; b[r] = p50[r, i]; d[r] = p99[r, i]; q[r] = rps[r, i] / rps[r, ri]
			u[r] = cpu[r, i]; v[r] = (cpu[r, i] > 0 ? cpu[r, ri] / cpu[r, i] : 0)
		}
		lo = 1e18; hi = 0; clo = 1e18; chi = 0
		for (r = 1; r <= R; r++) {
			if (q[r] < lo) lo = q[r]; if (q[r] > hi) hi = q[r]
			if (v[r] < clo) clo = v[r]; if (v[r] > chi) chi = v[r]
		}
		printf "| %-29s | %9.0f | %8.3f | %8.3f | %.3f (%.2f-%.2f) | %7.1f | %.3f (%.2f-%.2f) |\n", name[i], median(a, R), median(b, R) / 1000, median(d, R) / 1000, median(q, R), lo, hi, median(u, R), median(v, R), clo, chi
	}
	print "\ntargets: stored key >= 0.95 of respond 200; unknown key >= 0.9 of respond 401"
	print "CPU us: Caddy'"'"'s and Redis'"'"'s user and system time per request; CPU ratio: the reference'"'"'s over the row'"'"'s (time the machine gives to others does not lower it)"
}'
if [ -n "$PPROF" ]; then
	for f in "$PPROF"/keys-*.prof; do
		echo
		echo "top of $(basename "$f" .prof) (CPU profile of Caddy, flat):"
		go tool pprof -top -nodecount=5 "$tmp/caddy" "$f" 2>/dev/null | sed -n '/flat%/,$p'
	done
fi
