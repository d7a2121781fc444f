#!/usr/bin/env bash
# The guard under load, next to what else could stand in front of the site.
# One Caddy (built from ./cmd/caddy) serves, each on its own loopback port,
# the same tiny upstream (bench/upstream) through:
#
#   reverse_proxy          plain reverse_proxy: the reference (ratio 1.00)
#   reverse_proxy (copy)   the identical config on another port: the control
#                          pair, whose ratio shows the run's noise
#   request_header         request_header lines doing the guard's header work
#                          (delete the flag headers in their _ and . spellings,
#                          set the three flags): the least the guard could cost
#   outstatic guard        the guard with api_key and a cached Pro verdict
#                          (checked against a native relay in the same Caddy)
#   forward_auth (Go)      forward_auth to bench/authz, a Go endpoint that
#                          answers 200 with the three flags
#   forward_auth o2p       forward_auth to oauth2-proxy's /oauth2/auth with a
#                          cookie session (logged in once against mockoidc)
#   oauth2-proxy           oauth2-proxy itself as the proxy, same cookie
#
# Every server is pinned to one CPU (SERVER_CPU, default 0) and wrk to
# another (WRK_CPU, default 1); the configs are measured in turn, ROUNDS
# times, the order rotated each round, and each round's req/s is divided by
# that round's plain reverse_proxy, so slow drifts of the machine cancel. It
# prints medians over the rounds.
#
# Usage: bash bench/proxies.sh
#   ROUNDS=5 DURATION=10s CONNS=32 THREADS=1   (defaults; about 7 x ROUNDS x DURATION)
#   BASE_PORT=19100        the ports BASE_PORT..BASE_PORT+20 on 127.0.0.1 must be free
#   O2P_VERSION=v7.15.6    oauth2-proxy's version (go install); O2P=0 leaves its rows out
# Needs: go, curl; installs wrk from Debian when missing (as root).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-32}
THREADS=${THREADS:-1}
BASE_PORT=${BASE_PORT:-19100}
O2P_VERSION=${O2P_VERSION:-v7.15.6}
O2P=${O2P:-1}
SERVER_CPU=${SERVER_CPU:-0}
WRK_CPU=${WRK_CPU:-1}

. bench/lib.sh # pids, say, need_wrk, set_pinning, ports_free, start, wait_http, run_wrk
# --- tools -------------------------------------------------------------
bench_start no-redis

say "building caddy (./cmd/caddy) and the bench tools (bench/)"
go build -o "$tmp/caddy" ./cmd/caddy
(cd bench && go build -o "$tmp/" ./upstream ./authz ./mockoidc)

o2p_skip=""
if [ "$O2P" = 0 ]; then
	o2p_skip="O2P=0"
else
	say "installing oauth2-proxy $O2P_VERSION (go install, into a temporary GOBIN)"
	if ! GOBIN="$tmp/gobin" go install "github.com/oauth2-proxy/oauth2-proxy/v7@$O2P_VERSION" >"$tmp/o2p-install.log" 2>&1; then
		o2p_skip="go install github.com/oauth2-proxy/oauth2-proxy/v7@$O2P_VERSION failed: $(tail -3 "$tmp/o2p-install.log" | tr '\n' ' ')"
	fi
fi
[ -n "$o2p_skip" ] && say "oauth2-proxy rows left out: $o2p_skip"

# --- ports ---------------------------------------------------------------
p_up=$BASE_PORT p_authz=$((BASE_PORT + 1)) p_oidc=$((BASE_PORT + 2)) p_o2p=$((BASE_PORT + 3))
p_relay=$((BASE_PORT + 4)) p_plain=$((BASE_PORT + 10)) p_control=$((BASE_PORT + 11))
p_headers=$((BASE_PORT + 12)) p_guard=$((BASE_PORT + 13)) p_fauth=$((BASE_PORT + 14))
p_fo2p=$((BASE_PORT + 15))
ports_free $p_up $p_authz $p_oidc $p_o2p $p_relay $p_plain $p_control $p_headers $p_guard $p_fauth $p_fo2p

start upstream "$tmp/upstream" -addr "127.0.0.1:$p_up"
start authz "$tmp/authz" -addr "127.0.0.1:$p_authz"

# --- Caddy ---------------------------------------------------------------
# The guard's key is checked by a native relay in the same Caddy, which
# knows it by its SHA-256: a real key check, answered on loopback once,
# then cached (cache_ttl 1h: no refresh during the run).
keyline=$("$tmp/caddy" outstatic key generate)
export BENCH_OUTSTATIC_KEY BENCH_RELAY_SECRET BENCH_GITHUB_SECRET
BENCH_OUTSTATIC_KEY=$(echo "$keyline" | awk '/^key:/ { print $2 }')
key_sha=$(echo "$keyline" | awk '/^key_sha256:/ { print $2 }')
BENCH_RELAY_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
BENCH_GITHUB_SECRET=unused-by-the-bench

flag_work=""
for h in Pro Features Project; do
	flag_work+="		request_header -X_Outstatic_$h
		request_header -X.Outstatic.$h
"
done
cat >"$tmp/Caddyfile" <<EOF
{
	admin off
	auto_https off
	storage file_system $tmp/data
	servers {
		protocols h1
	}
}
http://127.0.0.1:$p_plain {
	reverse_proxy 127.0.0.1:$p_up
}
http://127.0.0.1:$p_control {
	reverse_proxy 127.0.0.1:$p_up
}
http://127.0.0.1:$p_headers {
	route {
$flag_work		request_header X-Outstatic-Pro true
		request_header X-Outstatic-Features ai-completions,email-login,social-login,github-relay,callback-origins,members
		request_header X-Outstatic-Project blog
		reverse_proxy 127.0.0.1:$p_up
	}
}
http://127.0.0.1:$p_guard {
	outstatic {
		callback_origin http://127.0.0.1:$p_guard/outstatic
		api_key {env.BENCH_OUTSTATIC_KEY}
		service http://127.0.0.1:$p_relay
		cache_ttl 1h
	}
	reverse_proxy 127.0.0.1:$p_up
}
http://127.0.0.1:$p_relay {
	outstatic_relay {
		public_url http://127.0.0.1:$p_relay
		project blog {
			callback_origin http://127.0.0.1:$p_guard/outstatic
			repo acme/blog
			plan pro
			member octocat owner
			key_sha256 $key_sha
		}
		github {
			client_id Iv1.bench
			client_secret {env.BENCH_GITHUB_SECRET}
		}
		secret {env.BENCH_RELAY_SECRET}
	}
}
http://127.0.0.1:$p_fauth {
	forward_auth 127.0.0.1:$p_authz {
		uri /auth
		copy_headers X-Outstatic-Pro X-Outstatic-Features X-Outstatic-Project
	}
	reverse_proxy 127.0.0.1:$p_up
}
http://127.0.0.1:$p_fo2p {
	forward_auth 127.0.0.1:$p_o2p {
		uri /oauth2/auth
		copy_headers X-Auth-Request-User X-Auth-Request-Email
	}
	reverse_proxy 127.0.0.1:$p_up
}
EOF
XDG_DATA_HOME=$tmp/data XDG_CONFIG_HOME=$tmp/config start caddy "$tmp/caddy" run --config "$tmp/Caddyfile" --adapter caddyfile
wait_http "http://127.0.0.1:$p_up/"
wait_http "http://127.0.0.1:$p_plain/"

# --- oauth2-proxy and its session --------------------------------------
cookie=""
if [ -z "$o2p_skip" ]; then
	start mockoidc "$tmp/mockoidc" -addr "127.0.0.1:$p_oidc"
	for _ in $(seq 100); do grep -q '^client_secret=' "$tmp/mockoidc.log" && break; sleep 0.1; done
	issuer=$(sed -n 's/^issuer=//p' "$tmp/mockoidc.log")
	client_id=$(sed -n 's/^client_id=//p' "$tmp/mockoidc.log")
	client_secret=$(sed -n 's/^client_secret=//p' "$tmp/mockoidc.log")
	start oauth2-proxy "$tmp/gobin/oauth2-proxy" \
		--http-address="127.0.0.1:$p_o2p" --provider=oidc --oidc-issuer-url="$issuer" \
		--client-id="$client_id" --client-secret="$client_secret" \
		--redirect-url="http://127.0.0.1:$p_o2p/oauth2/callback" \
		--upstream="http://127.0.0.1:$p_up/" --email-domain='*' \
		--cookie-secret="$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')" --cookie-secure=false \
		--set-xauthrequest --skip-provider-button \
		--request-logging=false --auth-logging=false --standard-logging=false
	wait_http "http://127.0.0.1:$p_o2p/ping"
	# one login: start, mockoidc's authorize (logs in its default user at
	# once), the callback that sets the session cookie
	curl -s -L -o /dev/null -c "$tmp/jar" -b "$tmp/jar" "http://127.0.0.1:$p_o2p/oauth2/start?rd=%2F"
	cookie=$(awk -F'\t' '$6 ~ /^_oauth2_proxy/ { printf "%s%s=%s", sep, $6, $7; sep = "; " }' "$tmp/jar")
	code=$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $cookie" "http://127.0.0.1:$p_o2p/oauth2/auth")
	if [ -z "$cookie" ] || [ "${code:0:1}" != 2 ]; then
		o2p_skip="no oauth2-proxy session (cookie '${cookie:0:20}...', /oauth2/auth $code); see the logs"
		say "oauth2-proxy rows left out: $o2p_skip"
		tail -5 "$tmp/oauth2-proxy.log" >&2 || true
	fi
fi

# --- what wrk sends, and a check of each config --------------------------
# A browser's page request with a spoofed flag; every config gets the same
# request, the oauth2-proxy session cookie included.
hdrs=(-H "User-Agent: Mozilla/5.0" -H "Accept: text/html" -H "Accept-Language: en"
	-H "X_Outstatic_Pro: true" -H "Cookie: a=b${cookie:+; $cookie}")

names=() ports=()
add() { names+=("$1") ports+=("$2"); }
add "reverse_proxy" "$p_plain"
add "reverse_proxy (copy)" "$p_control"
add "request_header" "$p_headers"
add "outstatic guard" "$p_guard"
add "forward_auth (Go)" "$p_fauth"
if [ -z "$o2p_skip" ]; then
	add "forward_auth oauth2-proxy" "$p_fo2p"
	add "oauth2-proxy" "$p_o2p"
fi

# The guard's verdict: the first request starts the key check; wait until
# the app sees the Pro flag.
for _ in $(seq 100); do
	curl -s "${hdrs[@]}" "http://127.0.0.1:$p_guard/echo" | grep -q '^X-Outstatic-Pro: true' && break
	sleep 0.1
done
for i in "${!names[@]}"; do
	echo_out=$(curl -s -w '\n%{http_code}' "${hdrs[@]}" "http://127.0.0.1:${ports[$i]}/echo")
	status=$(echo "$echo_out" | tail -1)
	[ "$status" = 200 ] || { say "${names[$i]}: /echo answered $status"; exit 1; }
	case "${names[$i]}" in
	"request_header" | "outstatic guard" | "forward_auth (Go)")
		echo "$echo_out" | grep -q '^X-Outstatic-Pro: true' ||
			{ say "${names[$i]}: the app did not get X-Outstatic-Pro: true"; exit 1; }
		! echo "$echo_out" | grep -qi '^X_Outstatic_Pro' ||
			{ say "${names[$i]}: the spoofed X_Outstatic_Pro reached the app"; exit 1; }
		;;
	"forward_auth oauth2-proxy")
		echo "$echo_out" | grep -qi '^X-Auth-Request-Email: .*@' ||
			{ say "${names[$i]}: the app did not get the session's user"; exit 1; }
		;;
	"oauth2-proxy")
		echo "$echo_out" | grep -qi '^X-Forwarded-Email: .*@' ||
			{ say "${names[$i]}: the app did not get the session's user"; exit 1; }
		;;
	esac
done
say "every config answers /echo as expected (the flags set, the spoofed one gone, the oauth2-proxy session's user passed on)"
[ -n "$cookie" ] && say "oauth2-proxy session cookie: ${#cookie} bytes, sent to every config alike"

# --- the measurement -----------------------------------------------------
wrk_port() { # port, duration -> "req/s p50_us p99_us errors" (bench/lib.sh)
	run_wrk "http://127.0.0.1:$1/" "$2" "${hdrs[@]}"
}

n=${#names[@]}
say "warm-up: 1s per config"
for i in "${!names[@]}"; do wrk_port "${ports[$i]}" 1s >/dev/null; done
say "measuring: $ROUNDS rounds x $n configs x $DURATION ($CONNS connections, $THREADS wrk thread(s))"
: >"$tmp/results"
for r in $(seq "$ROUNDS"); do
	for k in $(seq 0 $((n - 1))); do
		i=$(((k + r - 1) % n))
		read -r rps p50 p99 bad < <(wrk_port "${ports[$i]}" "$DURATION")
		echo "$r	$i	$rps	$p50	$p99	$bad" >>"$tmp/results"
		[ "$bad" = 0 ] || say "${names[$i]} round $r: $bad errors or non-2xx/3xx answers"
	done
	say "round $r/$ROUNDS done"
done

# --- the report ------------------------------------------------------------
echo
echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
echo "$(go version | cut -d' ' -f3-), caddy $("$tmp/caddy" version | cut -d' ' -f1), wrk $(wrk -v 2>&1 | head -1 | cut -d' ' -f2)"
echo "rounds $ROUNDS x $DURATION, $CONNS connections, $THREADS wrk thread(s), $pinning"
[ -n "$o2p_skip" ] && echo "oauth2-proxy rows left out: $o2p_skip"
echo
printf '%s\n' "${names[@]}" >"$tmp/names"
awk -F'\t' -v n="$n" '
function median(a, k,   i, j, t) {
	for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
	return (k % 2) ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
}
FILENAME ~ /names$/ { name[FNR - 1] = $0; next }
{ rps[$1, $2] = $3; p50[$1, $2] = $4; p99[$1, $2] = $5; bad[$2] += $6; if ($1 > R) R = $1 }
END {
	printf "| %-26s | %9s | %8s | %8s | %-17s |\n", "config", "req/s", "p50 ms", "p99 ms", "ratio to rev_proxy"
	printf "|%s|%s|%s|%s|%s|\n", "----------------------------", "-----------", "----------", "----------", "-------------------"
	for (i = 0; i < n; i++) {
		delete a; delete b; delete c; delete q
		for (r = 1; r <= R; r++) { a[r] = rps[r, i]; b[r] = p50[r, i]; c[r] = p99[r, i]; q[r] = rps[r, i] / rps[r, 0] }
		lo = 1e18; hi = 0
		for (r = 1; r <= R; r++) { if (q[r] < lo) lo = q[r]; if (q[r] > hi) hi = q[r] }
		ratio[i] = median(q, R); rlo[i] = lo; rhi[i] = hi
		printf "| %-26s | %9.0f | %8.3f | %8.3f | %.3f (%.2f-%.2f)%s |\n", name[i], median(a, R), median(b, R) / 1000, median(c, R) / 1000, ratio[i], lo, hi, bad[i] ? " !" : ""
	}
	for (r = 1; r <= R; r++) g[r] = rps[r, 3] / rps[r, 2]
	printf "\ncontrol pair (identical configs): ratio %.3f, rounds %.2f-%.2f: the noise of this run: ratios closer than that are no difference\n", ratio[1], rlo[1], rhi[1]
	printf "guard / request_header: %.3f (median of the rounds; target >= 0.97)\n", median(g, R)
}' "$tmp/names" "$tmp/results"
