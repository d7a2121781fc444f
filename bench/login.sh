#!/usr/bin/env bash
# Native logins, exchange-token redemptions and session refreshes under
# load, each next to a baseline of the same HTTP round trips answered by
# Caddy's respond in the same Caddy (the cost of HTTP alone). One Caddy
# (built from ./cmd/caddy) serves, each on its own loopback port:
#
#   relay, file store     a native relay on Caddy's storage (file_system)
#   relay, Redis          the same on a redis-server of its own
#   respond               a site of respond handlers answering every route
#                         a login meets, with bodies and Locations of the
#                         relay's and GitHub's sizes
#
# and measures:
#
#   login                 whole logins as the dashboard makes them
#                         (github-exchange, the relay's start, GitHub's
#                         authorize at a fake, the relay's callback, which
#                         calls GitHub three times, exchange-token, the
#                         first parser call, which calls GitHub's GraphQL)
#                         at each concurrency of CONCS, with bench/relayload:
#                         logins/s, p50, p99. The baseline makes the same ten
#                         round trips against the respond site (the relay's
#                         four calls to GitHub made by the driver).
#   redemption            POST exchange-token with tokens each used once
#                         (minted into the store beforehand by
#                         internal/benchtools/mint), with wrk, CONNS at a
#                         time, against respond answering the same POSTs
#   refresh               POST refresh-token the same way
#
# ROUNDS rounds, the configs interleaved and the order rotated each round;
# each ratio is the median over the rounds of the run's figure over the
# same round's baseline. Each run also reports the CPU time Caddy and Redis
# spent per login or request (user and system, from /proc), and its ratio:
# respond's CPU per request over the relay's. Time the machine gives to
# other guests lowers the rates, not the CPU per request, so that ratio
# moves less from round to round (see cpu_ticks in bench/lib.sh); the
# targets are the rates'. The servers
# (Caddy, Redis) run pinned to CPU SERVER_CPU (0); the load generators
# (wrk, relayload) and the fake GitHub, which stands for a service on
# other machines, to WRK_CPU (1). With PPROF=DIR it also takes CPU profiles
# of Caddy through its admin endpoint (/debug/pprof/profile) during the
# last round's runs at the highest concurrency, and prints their top
# entries.
#
# Usage: bash bench/login.sh
#   ROUNDS=5 LOGIN_DURATION=5s CONCS="1 10 50"    the login runs
#   DURATION=5s CONNS=32 THREADS=1                the redemption and refresh runs
#   BASE_PORT=19600   the ports BASE_PORT..BASE_PORT+10 on 127.0.0.1 must be free
#   DATA_DIR=DIR      keep the file store (Caddy's storage) in a new directory
#                     under DIR, removed at the end (default: the run's
#                     temporary directory): the file store's rows measure
#                     the file system it is on
#   PPROF=DIR         keep CPU profiles there
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-5}
LOGIN_DURATION=${LOGIN_DURATION:-5s}
CONCS=${CONCS:-1 10 50}
DURATION=${DURATION:-5s}
CONNS=${CONNS:-32}
THREADS=${THREADS:-1}
BASE_PORT=${BASE_PORT:-19600}
SERVER_CPU=${SERVER_CPU:-0}
WRK_CPU=${WRK_CPU:-1}
PPROF=${PPROF:-}
DATA_DIR=${DATA_DIR:-}

. bench/lib.sh
bench_start
if [ -n "$DATA_DIR" ]; then
	data=$(mktemp -d "$DATA_DIR/bench-login.XXXXXX")
	trap 'bench_cleanup; rm -rf "$data"' EXIT
else
	data=$tmp/data
fi

say "building caddy (./cmd/caddy), the fake GitHub and the token minter (internal/benchtools/) and relayload (bench/)"
go build -o "$tmp/caddy" ./cmd/caddy
go build -o "$tmp/fakegh" ./internal/benchtools/fakegh
go build -o "$tmp/mint" ./internal/benchtools/mint
(cd bench && go build -o "$tmp/" ./relayload)

p_admin=$BASE_PORT p_redis=$((BASE_PORT + 1)) p_file=$((BASE_PORT + 2)) p_relayr=$((BASE_PORT + 3)) p_base=$((BASE_PORT + 4))
ports_free $p_admin $p_redis $p_file $p_relayr $p_base

start_fakegh
sed -n 's/^parser_body=//p' "$tmp/fakegh.log" >"$tmp/parser.json"
[ -s "$tmp/parser.json" ] || { say "the fake GitHub did not start"; cat "$tmp/fakegh.log" >&2; exit 1; }
start redis "$(command -v redis-server)" --port "$p_redis" --bind 127.0.0.1 --save '' --appendonly no
redis_pid=${pids[-1]}

site=http://site.example/outstatic
callback=$site/api/outstatic/callback
base=http://127.0.0.1:$p_base
# Filler of the sizes the relay and GitHub answer with (measured on the
# relay): a sealed start state, GitHub's authorize query, an exchange
# token, a session's two sealed tokens.
fill() { head -c "$1" /dev/urandom | base64 -w0 | tr '+/' '-_' | cut -c1-"$1"; }
state=$(fill 230) sealed=$(fill 330) xt=xt_$(fill 43)
session_body="{\"session\":{\"access_token\":\"$(fill 345)\",\"expires_at\":1900000000,\"refresh_token\":\"$(fill 470)\",\"refresh_token_expires_at\":1900000000},\"user\":{\"avatar_url\":\"https://avatars.githubusercontent.com/u/1?v=4\",\"email\":\"ada@example.com\",\"login\":\"ada\",\"name\":\"Bench User\",\"permissions\":[\"roles.manage\",\"settings.manage\",\"members.manage\",\"invites.manage\",\"collections.manage\",\"content.manage\",\"projects.manage\"]}}"
refresh_body="{\"session\":{\"access_token\":\"$(fill 345)\",\"expires_at\":1900000000,\"refresh_token\":\"$(fill 470)\",\"refresh_token_expires_at\":1900000000}}"
relay_block() { # port, project slug, storage line
	cat <<EOB
http://127.0.0.1:$1 {
	outstatic_relay {
		public_url http://127.0.0.1:$1
		$3
$(relay_github)
		project $2 {
			callback_origin $site
			repo acme/blog
			plan pro
			member ada owner
			member ada@example.com owner
		}
	}
}
EOB
}
json_route() { # path, body
	printf '\thandle %s {\n\t\theader Content-Type application/json\n\t\theader Cache-Control no-store\n\t\theader X-Content-Type-Options nosniff\n\t\trespond `%s\n` 200\n\t}\n' "$1" "$2"
}
redir_route() { # path, location
	printf '\thandle %s {\n\t\theader Cache-Control no-store\n\t\tredir %s 302\n\t}\n' "$1" "$2"
}
{
	cat <<EOF
{
	admin 127.0.0.1:$p_admin
	auto_https off
	storage file_system $data
	servers {
		protocols h1
	}
}
EOF
	relay_block $p_file blogf ""
	relay_block $p_relayr blogr "storage redis 127.0.0.1:$p_redis"
	echo "http://127.0.0.1:$p_base {"
	json_route /outstatic/auth/github-exchange "{\"url\":\"$base/outstatic/auth/github/start?s=$state\"}"
	redir_route /outstatic/auth/github/start "$base/login/oauth/authorize?client_id=Iv1.bench&code_challenge=$(fill 43)&code_challenge_method=S256&redirect_uri=http%3A%2F%2F127.0.0.1%3A$p_base%2Foutstatic%2Fauth%2Fgithub%2Fcallback&response_type=code&scope=read%3Auser+user%3Aemail+repo&state=$sealed"
	redir_route /login/oauth/authorize "$base/outstatic/auth/github/callback?code=$(fill 20)&state=$sealed"
	redir_route /outstatic/auth/github/callback "$callback?exchange_token=$xt"
	json_route /login/oauth/access_token "{\"access_token\":\"gho_$(fill 36)\",\"scope\":\"repo,read:user,user:email\",\"token_type\":\"bearer\"}"
	json_route /user "{\"login\":\"ada\",\"id\":1,\"name\":\"Bench User\",\"avatar_url\":\"$gh_url/avatars/ada\",\"type\":\"User\",\"site_admin\":false,\"html_url\":\"$gh_url/ada\",\"url\":\"$gh_api/users/ada\"}"
	json_route /user/emails '[{"email":"ada@example.com","primary":true,"verified":true,"visibility":"public"}]'
	json_route /outstatic/auth/exchange-token "$session_body"
	json_route /outstatic/auth/refresh-token "$refresh_body"
	json_route /github/parser '{"data":{"repository":{"id":"R_kgDOBench","object":{"entries":[{"name":"posts","type":"tree"}]}}}}'
	json_route /api/graphql '{"data":{"repository":{"id":"R_kgDOBench","object":{"entries":[{"name":"posts","type":"tree"}]}}}}'
	echo "}"
} >"$tmp/Caddyfile"
XDG_DATA_HOME=$data XDG_CONFIG_HOME=$tmp/config start caddy "$tmp/caddy" run --config "$tmp/Caddyfile" --adapter caddyfile
wait_http "$base/user"
caddy_pid=$(pgrep -P "${pids[-1]}" caddy 2>/dev/null || echo "${pids[-1]}")

newkey() { # project -> a stored key of it, made through the admin API
	"$tmp/caddy" outstatic key create --project "$1" --address "127.0.0.1:$p_admin" | awk '/^key:/ { print $2 }'
}
keyf=$(newkey blogf) keyr=$(newkey blogr)
[ -n "$keyf" ] && [ -n "$keyr" ] || { say "no keys made"; tail -5 "$tmp/caddy.log" >&2; exit 1; }

relayf=http://127.0.0.1:$p_file relayr=http://127.0.0.1:$p_relayr
login_args() { # name -> relayload's arguments for that config
	case $1 in
	baseline) echo "baseline -base $base" ;;
	file) echo "login -relay $relayf -key $keyf" ;;
	redis) echo "login -relay $relayr -key $keyr" ;;
	esac
}

# --- checks --------------------------------------------------------------
for c in baseline file redis; do
	# shellcheck disable=SC2046
	read -r _ _ _ bad < <("${pin_wrk[@]}" "$tmp/relayload" $(login_args $c) -callback "$callback" -parser-body "$tmp/parser.json" -conc 1 -count 1)
	[ "$bad" = 0 ] || { say "$c: a whole login failed"; tail -5 "$tmp/caddy.log" >&2; exit 1; }
done
say "a whole login (with its parser call) passes on both relays and on the baseline"

# mint store kind n: n fresh tokens of kind (exchange, refresh) in the
# store's relay, into $tmp/pool.<store>.<kind>
mint() {
	local args=(-data "$data" -project blogf)
	[ "$1" = redis ] && args=(-redis "127.0.0.1:$p_redis" -project blogr)
	[ "$2" = refresh ] && args+=(-refresh)
	"${pin_wrk[@]}" "$tmp/mint" "${args[@]}" -callback "$callback" -email ada@example.com -n "$3" >"$tmp/pool.$1.$2"
}
post_url() { # store kind
	local u=$base
	case $1 in file) u=$relayf ;; redis) u=$relayr ;; esac
	echo "$u/outstatic/auth/$2-token"
}
post_format() { # kind
	case $1 in
	exchange) echo "{\"exchange_token\":\"%s\",\"callback_url\":\"$callback\"}" ;;
	refresh) echo '{"refresh_token":"%s"}' ;;
	esac
}
# post round store kind duration: one wrk run, each request with a token
# of its own; respond reads the last pool minted of the kind.
declare -A rate
post() {
	local r=$1 st=$2 kind=$3 dur=$4 pool
	pool=$tmp/pool.$st.$kind
	if [ "$st" != respond ]; then
		local want=${rate[$st.$kind]:-20000}
		# twice the highest rate seen: a run may well outpace the rounds
		# before it (a pool sized from a slow round ran out)
		mint "$st" "$kind" $((want * ${dur%s} * 2 + 5000))
	else
		pool=$(ls -t "$tmp"/pool.*."$kind" | head -1)
	fi
	prof_start "$kind-$st" "$r" "$dur"
	local t0 cpu
	t0=$(cpu_ticks "$caddy_pid" "$redis_pid")
	read -r rps p50 p99 bad < <(TOKENS_FILE=$pool BODY_FORMAT=$(post_format "$kind") run_wrk "$(post_url "$st" "$kind")" "$dur" -s bench/wrk/tokens.lua)
	cpu=$(cpu_per "$t0" "$rps" "$dur")
	prof_wait
	[ "${rps%.*}" -le "${rate[$st.$kind]:-0}" ] || rate[$st.$kind]=${rps%.*}
	[ "$r" = 0 ] || echo "$r	$kind	$st	$rps	$p50	$p99	$bad	$cpu" >>"$tmp/posts"
	[ "$bad" = 0 ] || [ "$r" = 0 ] || say "$kind $st round $r: $bad refused or failed (load: $(cut -d' ' -f1 /proc/loadavg))"
}
# prof_start name round seconds: a CPU profile of Caddy during the last
# round's run, when PPROF is set.
prof_pid=
prof_start() {
	prof_pid=
	[ -n "$PPROF" ] && [ "$2" = "$ROUNDS" ] || return 0
	mkdir -p "$PPROF"
	curl -s -o "$PPROF/$1.prof" "http://127.0.0.1:$p_admin/debug/pprof/profile?seconds=$((${3%s} - 1))" &
	prof_pid=$!
}
prof_wait() { [ -z "$prof_pid" ] || wait "$prof_pid"; }
# cpu_per ticks_before rate duration: the CPU microseconds Caddy and Redis
# (both on the servers' CPU) spent per request or login of a run.
cpu_per() { cpu_per_op "$1" "$2" "$3" "$caddy_pid" "$redis_pid"; }
top_conc=$(echo "$CONCS" | tr ' ' '\n' | sort -n | tail -1)
login_run() { # round name conc
	[ "$3" = "$top_conc" ] && [ "$2" != baseline ] && prof_start "login-$2" "$1" "$LOGIN_DURATION"
	local t0 cpu
	t0=$(cpu_ticks "$caddy_pid" "$redis_pid")
	# shellcheck disable=SC2046
	read -r lps p50 p99 bad < <("${pin_wrk[@]}" "$tmp/relayload" $(login_args "$2") -callback "$callback" \
		-parser-body "$tmp/parser.json" -conc "$3" -duration "$LOGIN_DURATION" 2>>"$tmp/relayload.log")
	cpu=$(cpu_per "$t0" "$lps" "$LOGIN_DURATION")
	prof_wait
	echo "$1	$2	$3	$lps	$p50	$p99	$bad	$cpu" >>"$tmp/logins"
	[ "$bad" = 0 ] || say "login $2 at $3, round $r: $bad failed (first: $(tail -1 "$tmp/relayload.log"))"
}

say "warm-up and calibration: 1 login run and 1s of each redemption and refresh"
for c in baseline file redis; do
	# shellcheck disable=SC2046
	"${pin_wrk[@]}" "$tmp/relayload" $(login_args $c) -callback "$callback" -parser-body "$tmp/parser.json" -conc "$top_conc" -duration 1s >/dev/null
done
for kind in exchange refresh; do for st in file redis respond; do post 0 $st $kind 1s; done; done

: >"$tmp/logins"
: >"$tmp/posts"
say "measuring: $ROUNDS rounds x (3 configs x concurrency $CONCS x $LOGIN_DURATION, 3 x 2 x $DURATION posts)"
for r in $(seq "$ROUNDS"); do
	configs=(baseline file redis)
	for k in 0 1 2; do
		c=${configs[$(((k + r) % 3))]}
		for conc in $CONCS; do login_run "$r" "$c" "$conc"; done
	done
	stores=(respond file redis)
	for kind in exchange refresh; do
		for k in 0 1 2; do post "$r" "${stores[$(((k + r) % 3))]}" "$kind" "$DURATION"; done
	done
	say "round $r/$ROUNDS done (load average $(cut -d' ' -f1-3 /proc/loadavg))"
done

# --- the report ------------------------------------------------------------
echo
machine_lines
echo "redis $(redis-server --version | awk '{ print $3 }' | cut -d= -f2)"
echo "file store: $(fs_line "$data")"
echo "logins: rounds $ROUNDS, $LOGIN_DURATION a run at each concurrency; redemption and refresh: $DURATION a run, $CONNS connections, $THREADS wrk thread(s); $pinning"
echo
awk -F'\t' -v concs="$CONCS" '
function median(a, k,   i, j, t) {
	for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
	return (k % 2) ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
}
{ lps[$1, $2, $3] = $4; p50[$1, $2, $3] = $5; p99[$1, $2, $3] = $6; bad[$2, $3] += $7; cpu[$1, $2, $3] = $8; if ($1 > R) R = $1 }
END {
	nc = split(concs, cs, " ")
	split("baseline file redis", names, " ")
	label["baseline"] = "respond (same round trips)"; label["file"] = "relay, file store"; label["redis"] = "relay, Redis"
	printf "| %-26s | %4s | %9s | %8s | %8s | %7s | %-17s | %9s | %-17s | %6s |\n", "login", "conc", "logins/s", "p50 ms", "p99 ms", "p99/p50", "ratio to respond", "CPU us", "CPU ratio", "failed"
	printf "|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n", "----------------------------", "------", "-----------", "----------", "----------", "---------", "-------------------", "-----------", "-------------------", "--------"
	for (ci = 1; ci <= nc; ci++) {
		c = cs[ci]
		for (ni = 1; ni <= 3; ni++) {
			s = names[ni]; delete a; delete b; delete d; delete q; delete u; delete v
			for (r = 1; r <= R; r++) {
				a[r] = lps[r, s, c]; b[r] = p50[r, s, c]; d[r] = p99[r, s, c]; q[r] = lps[r, s, c] / lps[r, "baseline", c]
				u[r] = cpu[r, s, c]; v[r] = (cpu[r, s, c] > 0 ? cpu[r, "baseline", c] / cpu[r, s, c] : 0)
			}
			lo = 1e18; hi = 0; clo = 1e18; chi = 0
			for (r = 1; r <= R; r++) {
				if (q[r] < lo) lo = q[r]; if (q[r] > hi) hi = q[r]
				if (v[r] < clo) clo = v[r]; if (v[r] > chi) chi = v[r]
			}
			m50 = median(b, R); m99 = median(d, R)
			ratio[s, c] = median(q, R); tail[s, c] = m99 / m50; cratio[s, c] = median(v, R)
			printf "| %-26s | %4d | %9.1f | %8.2f | %8.2f | %7.2f | %.3f (%.2f-%.2f) | %9.1f | %.3f (%.2f-%.2f) | %6d |\n", label[s], c, median(a, R), m50, m99, m99 / m50, ratio[s, c], lo, hi, median(u, R), cratio[s, c], clo, chi, bad[s, c]
		}
		for (r = 1; r <= R; r++) f[r] = lps[r, "file", c] / lps[r, "redis", c]
		fr[c] = median(f, R)
	}
	print ""
	for (ci = 1; ci <= nc; ci++) {
		c = cs[ci]
		printf "at %d concurrent: Redis / respond %.3f (target >= 0.5), file / respond %.3f (>= 0.4), file / Redis %.3f (>= 0.7), p99/p50 Redis %.2f, file %.2f\n", c, ratio["redis", c], ratio["file", c], fr[c], tail["redis", c], tail["file", c]
	}
	printf "p99 / p50 at %d concurrent (target <= 4): Redis %.2f, file store %.2f\n", cs[nc], tail["redis", cs[nc]], tail["file", cs[nc]]
	printf "CPU per login of respond over the relay'"'"'s, at"
	for (ci = 1; ci <= nc; ci++) printf " %d: Redis %.3f, file store %.3f%s", cs[ci], cratio["redis", cs[ci]], cratio["file", cs[ci]], (ci < nc ? ";" : "\n")
}' "$tmp/logins"
echo
awk -F'\t' '
function median(a, k,   i, j, t) {
	for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
	return (k % 2) ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
}
{ rps[$1, $2, $3] = $4; p50[$1, $2, $3] = $5; p99[$1, $2, $3] = $6; bad[$2, $3] += $7; cpu[$1, $2, $3] = $8; if ($1 > R) R = $1 }
END {
	split("exchange refresh", kinds, " "); split("respond file redis", names, " ")
	label["exchange"] = "exchange-token"; label["refresh"] = "refresh-token"
	sl["respond"] = "respond"; sl["file"] = "file store"; sl["redis"] = "Redis"
	printf "| %-28s | %9s | %8s | %8s | %-17s | %7s | %-17s |\n", "redemption", "req/s", "p50 ms", "p99 ms", "ratio to respond", "CPU us", "CPU ratio"
	printf "|%s|%s|%s|%s|%s|%s|%s|\n", "------------------------------", "-----------", "----------", "----------", "-------------------", "---------", "-------------------"
	for (ki = 1; ki <= 2; ki++) for (ni = 1; ni <= 3; ni++) {
		k = kinds[ki]; s = names[ni]; delete a; delete b; delete d; delete q; delete u; delete v
		for (r = 1; r <= R; r++) {
			a[r] = rps[r, k, s]; b[r] = p50[r, k, s]; d[r] = p99[r, k, s]; q[r] = rps[r, k, s] / rps[r, k, "respond"]
			u[r] = cpu[r, k, s]; v[r] = (cpu[r, k, s] > 0 ? cpu[r, k, "respond"] / cpu[r, k, s] : 0)
		}
		lo = 1e18; hi = 0; clo = 1e18; chi = 0
		for (r = 1; r <= R; r++) {
			if (q[r] < lo) lo = q[r]; if (q[r] > hi) hi = q[r]
			if (v[r] < clo) clo = v[r]; if (v[r] > chi) chi = v[r]
		}
		ratio[k, s] = median(q, R); cratio[k, s] = median(v, R)
		printf "| %-28s | %9.0f | %8.3f | %8.3f | %.3f (%.2f-%.2f)%s | %7.1f | %.3f (%.2f-%.2f) |\n", label[k] ", " sl[s], median(a, R), median(b, R) / 1000, median(d, R) / 1000, ratio[k, s], lo, hi, bad[k, s] ? " !" : "", median(u, R), cratio[k, s], clo, chi
	}
	printf "\nexchange-token / respond: Redis %.3f (target >= 0.8), file store %.3f (>= 0.6)\n", ratio["exchange", "redis"], ratio["exchange", "file"]
	printf "refresh-token / respond: Redis %.3f (target >= 0.8), file store %.3f (>= 0.6)\n", ratio["refresh", "redis"], ratio["refresh", "file"]
	printf "CPU per request of respond over the relay'"'"'s: exchange-token Redis %.3f, file store %.3f; refresh-token Redis %.3f, file store %.3f\n", cratio["exchange", "redis"], cratio["exchange", "file"], cratio["refresh", "redis"], cratio["refresh", "file"]
	print "(a ! marks refused or failed requests in some round; CPU us: Caddy'"'"'s and Redis'"'"'s user and system time per request or login, which time the machine gives to others does not lower)"
}' "$tmp/posts"
if [ -n "$PPROF" ]; then
	for f in "$PPROF"/*.prof; do
		echo
		echo "top of $(basename "$f" .prof) (CPU profile of Caddy, flat):"
		go tool pprof -top -nodecount=5 "$tmp/caddy" "$f" 2>/dev/null | sed -n '/flat%/,$p'
	done
fi
