#!/usr/bin/env bash
# The native relay under load. One Caddy (built from ./cmd/caddy) serves,
# each on its own loopback port:
#
#   respond               Caddy's respond with the key check's JSON body and
#                         headers: the reference (ratio 1.00)
#   respond (copy)        the identical config on another port: the control
#                         pair, whose ratio shows the run's noise
#   key check, 1 project  the native relay's GET /outstatic/project with a
#                         stored key, one project
#   key check, 10,000     the same with 10,000 projects in the relay
#
# measured with wrk, ROUNDS times, interleaved, the order rotated each round,
# each round's req/s divided by that round's respond (target: the key check
# at least 0.9 of respond, flat from 1 to 10,000 projects). Then:
#
#   native login          whole logins (github-exchange, the relay's start,
#                         a fake GitHub's authorize, the relay's callback,
#                         exchange-token) CONC_LOGIN (50) at a time, with the
#                         file store and with Redis: logins/s, p50, p99
#   media                 time to first byte of a 256 KB image through the
#                         relay's media route, and straight from the fake
#                         GitHub's contents API
#   AI stream             time to first byte of a completion stream through a
#                         forward relay, and straight from the service
#
# The servers (Caddy, the fake GitHub, Redis, the stream service) run pinned
# to CPU SERVER_CPU (0), wrk and the load driver (bench/relayload) to WRK_CPU
# (1). Needs go, curl; installs wrk and redis-server from Debian when missing
# (as root).
#
# Usage: bash bench/relay.sh
#   ROUNDS=5 DURATION=10s CONNS=32 THREADS=1    the key check rounds
#   LOGIN_DURATION=5s CONC_LOGIN=50             each login run (once a round)
#   TTFB_N=100                                  requests per TTFB run (once a round)
#   BASE_PORT=19400   the ports BASE_PORT..BASE_PORT+20 on 127.0.0.1 must be free
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-32}
THREADS=${THREADS:-1}
LOGIN_DURATION=${LOGIN_DURATION:-5s}
CONC_LOGIN=${CONC_LOGIN:-50}
TTFB_N=${TTFB_N:-100}
BASE_PORT=${BASE_PORT:-19400}
SERVER_CPU=${SERVER_CPU:-0}
WRK_CPU=${WRK_CPU:-1}

. bench/lib.sh
# --- tools -------------------------------------------------------------
bench_start

say "building caddy (./cmd/caddy), the fake GitHub (internal/benchtools/fakegh) and the load tools (bench/)"
go build -o "$tmp/caddy" ./cmd/caddy
go build -o "$tmp/fakegh" ./internal/benchtools/fakegh
(cd bench && go build -o "$tmp/" ./relayload ./streamsvc)

# --- ports ---------------------------------------------------------------
p_admin=$BASE_PORT p_redis=$((BASE_PORT + 1)) p_svc=$((BASE_PORT + 2))
p_respond=$((BASE_PORT + 10)) p_control=$((BASE_PORT + 11)) p_relay1=$((BASE_PORT + 12))
p_relay10k=$((BASE_PORT + 13)) p_relayr=$((BASE_PORT + 14)) p_fwd=$((BASE_PORT + 15))
ports_free $p_admin $p_redis $p_svc $p_respond $p_control $p_relay1 $p_relay10k $p_relayr $p_fwd

# --- the fakes -----------------------------------------------------------
export BENCH_FWD_KEY
BENCH_FWD_KEY=$("$tmp/caddy" outstatic key generate | awk '/^key:/ { print $2 }')
start_fakegh server
gh_token=$(sed -n 's/^token=//p' "$tmp/fakegh.log")
[ -n "$gh_token" ] || { say "the fake GitHub did not start"; cat "$tmp/fakegh.log" >&2; exit 1; }
start redis "$(command -v redis-server)" --port "$p_redis" --bind 127.0.0.1 --save '' --appendonly no
start streamsvc "$tmp/streamsvc" -addr "127.0.0.1:$p_svc" -key "$BENCH_FWD_KEY"

# --- Caddy ---------------------------------------------------------------
# The respond reference answers what the relay answers for project k00000
# (the 10,000-project relay's measured project, p05000, has a body of the
# same length), with the relay's three headers.
site=http://site.example/outstatic
callback=$site/api/outstatic/callback
body='{"account_slug":"acme","callback_origins":["'$site'"],"is_pro":true,"monorepo_path":"","plan":"pro","project_id":"k00000","project_slug":"k00000","repo_owner":"acme","repo_slug":"blog"}'
relay_block() { # port, storage line, project blocks...
	local port=$1 storage=$2
	shift 2
	cat <<EOB
http://127.0.0.1:$port {
	outstatic_relay {
		public_url http://127.0.0.1:$port
		$storage
$(relay_github)
$(for slug in "$@"; do printf '\t\tproject %s {\n\t\t\tcallback_origin %s\n\t\t\trepo acme/blog\n\t\t\tplan pro\n\t\t\tmember ada owner\n\t\t}\n' "$slug" "$site"; done)
	}
}
EOB
}
{
	cat <<EOF
{
	admin 127.0.0.1:$p_admin
	auto_https off
	storage file_system $tmp/data
	servers {
		protocols h1
	}
}
EOF
	for port in $p_respond $p_control; do
		cat <<EOF
http://127.0.0.1:$port {
	header Content-Type application/json
	header Cache-Control no-store
	header X-Content-Type-Options nosniff
	respond \`$body
\` 200
}
EOF
	done
	relay_block $p_relay1 "" k00000
	# shellcheck disable=SC2046
	relay_block $p_relay10k "" $(seq -f 'p%05g' 0 9999)
	relay_block $p_relayr "storage redis 127.0.0.1:$p_redis" r00000
	cat <<EOF
http://127.0.0.1:$p_fwd {
	outstatic_relay {
		upstream http://127.0.0.1:$p_svc/api
		api_key {env.BENCH_FWD_KEY}
		callback_origin $site
	}
}
EOF
} >"$tmp/Caddyfile"
XDG_DATA_HOME=$tmp/data XDG_CONFIG_HOME=$tmp/config start caddy "$tmp/caddy" run --config "$tmp/Caddyfile" --adapter caddyfile
wait_http "http://127.0.0.1:$p_respond/"
wait_http "http://127.0.0.1:$p_svc/"

newkey() { # project -> its stored key, made through the admin API
	"$tmp/caddy" outstatic key create --project "$1" --address "127.0.0.1:$p_admin" | awk '/^key:/ { print $2 }'
}
key1=$(newkey k00000) key10k=$(newkey p05000) keyr=$(newkey r00000)
[ -n "$key1" ] && [ -n "$key10k" ] && [ -n "$keyr" ] || { say "no keys made"; tail -5 "$tmp/caddy.log" >&2; exit 1; }

# --- checks --------------------------------------------------------------
got=$(curl -s -H "Authorization: Bearer $key1" "http://127.0.0.1:$p_relay1/outstatic/project")
want=$(curl -s "http://127.0.0.1:$p_respond/")
[ "$got" = "$want" ] || { say "the relay answers $got, respond $want: not the same body"; exit 1; }
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $key10k" "http://127.0.0.1:$p_relay10k/outstatic/project")
[ "$code" = 200 ] || { say "10,000-project relay: key check $code"; exit 1; }
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $key1" "http://127.0.0.1:$p_relay10k/outstatic/project")
[ "$code" = 401 ] || { say "10,000-project relay: another relay's key answered $code"; exit 1; }
say "the relay's key check answers respond's body byte for byte; a foreign key gets 401"

# --- the measurement -----------------------------------------------------
names=("respond" "respond (copy)" "key check, 1 project" "key check, 10,000 projects")
urls=("http://127.0.0.1:$p_respond/" "http://127.0.0.1:$p_control/"
	"http://127.0.0.1:$p_relay1/outstatic/project" "http://127.0.0.1:$p_relay10k/outstatic/project")
keys=("$key1" "$key1" "$key1" "$key10k")
n=${#names[@]}
say "warm-up: 1s per config"
for i in "${!names[@]}"; do run_wrk "${urls[$i]}" 1s -H "Authorization: Bearer ${keys[$i]}" >/dev/null; done

# the session for media, from one login on the file-store relay
access=$("${pin_wrk[@]}" "$tmp/relayload" session -relay "http://127.0.0.1:$p_relay1" -key "$key1" -callback "$callback")
media_path=outstatic/media/acme/blog/main/public/images/bench.png
ttfb() { # name, relayload ttfb args...: one run, into $tmp/ttfb
	local name=$1
	shift
	read -r p50 p99 bad < <("${pin_wrk[@]}" "$tmp/relayload" ttfb -n "$TTFB_N" "$@")
	echo "$r	$name	$p50	$p99	$bad" >>"$tmp/ttfb"
	[ "$bad" = 0 ] || say "$name round $r: $bad failed requests"
}
login() { # name, port, key: one run, into $tmp/logins
	read -r lps p50 p99 bad < <("${pin_wrk[@]}" "$tmp/relayload" login -relay "http://127.0.0.1:$2" -key "$3" \
		-callback "$callback" -conc "$CONC_LOGIN" -duration "$LOGIN_DURATION" 2>>"$tmp/relayload.log")
	echo "$r	$1	$lps	$p50	$p99	$bad" >>"$tmp/logins"
	[ "$bad" = 0 ] || say "$1 round $r: $bad failed logins (first: $(tail -1 "$tmp/relayload.log"))"
}
gen_body='{"prompt":"Hello","option":"continue","command":""}'

say "measuring: $ROUNDS rounds x ($n configs x $DURATION, 2 login runs x $LOGIN_DURATION, 4 TTFB runs x $TTFB_N requests)"
: >"$tmp/results"
: >"$tmp/ttfb"
: >"$tmp/logins"
for r in $(seq "$ROUNDS"); do
	for k in $(seq 0 $((n - 1))); do
		i=$(((k + r - 1) % n))
		read -r rps p50 p99 bad < <(run_wrk "${urls[$i]}" "$DURATION" -H "Authorization: Bearer ${keys[$i]}")
		echo "$r	$i	$rps	$p50	$p99	$bad" >>"$tmp/results"
		[ "$bad" = 0 ] || say "${names[$i]} round $r: $bad errors or non-2xx/3xx answers"
	done
	if [ $((r % 2)) = 1 ]; then order="file redis"; else order="redis file"; fi
	for s in $order; do
		case $s in
		file) login "login, file store" "$p_relay1" "$key1" ;;
		redis) login "login, Redis" "$p_relayr" "$keyr" ;;
		esac
	done
	ttfb "media via relay" -url "http://127.0.0.1:$p_relay1/$media_path" -H "Authorization: Bearer $access" -H "Referer: $site/media-library"
	ttfb "media direct" -url "$gh_api/repos/acme/blog/contents/public/images/bench.png?ref=main" -H "Authorization: Bearer $gh_token" -H "Accept: application/vnd.github.raw"
	ttfb "AI stream via relay" -method POST -url "http://127.0.0.1:$p_fwd/outstatic/generate" -H "Authorization: Bearer $BENCH_FWD_KEY" -H "Content-Type: application/json" -body "$gen_body"
	ttfb "AI stream direct" -method POST -url "http://127.0.0.1:$p_svc/api/outstatic/generate" -H "Authorization: Bearer $BENCH_FWD_KEY" -H "Content-Type: application/json" -body "$gen_body"
	say "round $r/$ROUNDS done"
done

# --- the report ------------------------------------------------------------
echo
machine_lines
echo "redis $(redis-server --version | awk '{ print $3 }' | cut -d= -f2)"
echo "key check: rounds $ROUNDS x $DURATION, $CONNS connections, $THREADS wrk thread(s); logins: $CONC_LOGIN at a time, $LOGIN_DURATION a run; TTFB: $TTFB_N requests a run, one at a time, each on a new connection; $pinning"
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
	printf "| %-28s | %9s | %8s | %8s | %-17s |\n", "config", "req/s", "p50 ms", "p99 ms", "ratio to respond"
	printf "|%s|%s|%s|%s|%s|\n", "------------------------------", "-----------", "----------", "----------", "-------------------"
	for (i = 0; i < n; i++) {
		delete a; delete b; delete c; delete q
		for (r = 1; r <= R; r++) { a[r] = rps[r, i]; b[r] = p50[r, i]; c[r] = p99[r, i]; q[r] = rps[r, i] / rps[r, 0] }
		lo = 1e18; hi = 0
		for (r = 1; r <= R; r++) { if (q[r] < lo) lo = q[r]; if (q[r] > hi) hi = q[r] }
		ratio[i] = median(q, R); rlo[i] = lo; rhi[i] = hi
		printf "| %-28s | %9.0f | %8.3f | %8.3f | %.3f (%.2f-%.2f)%s |\n", name[i], median(a, R), median(b, R) / 1000, median(c, R) / 1000, ratio[i], lo, hi, bad[i] ? " !" : ""
	}
	for (r = 1; r <= R; r++) f[r] = rps[r, 3] / rps[r, 2]
	printf "\ncontrol pair (identical configs): ratio %.3f, rounds %.2f-%.2f: the noise of this run\n", ratio[1], rlo[1], rhi[1]
	printf "key check / respond: %.3f with 1 project, %.3f with 10,000 (target >= 0.9)\n", ratio[2], ratio[3]
	printf "10,000 projects / 1 project: %.3f (median of the rounds; flat is 1.0)\n", median(f, R)
}' "$tmp/names" "$tmp/results"
echo
awk -F'\t' '
function median(a, k,   i, j, t) {
	for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
	return (k % 2) ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
}
{ k = ++cnt[$2]; lps[$2, k] = $3; p50[$2, k] = $4; p99[$2, k] = $5; bad[$2] += $6; if (!seen[$2]++) order[++no] = $2 }
END {
	printf "| %-28s | %9s | %8s | %8s | %6s |\n", "native login", "logins/s", "p50 ms", "p99 ms", "failed"
	printf "|%s|%s|%s|%s|%s|\n", "------------------------------", "-----------", "----------", "----------", "--------"
	for (o = 1; o <= no; o++) {
		s = order[o]; delete a; delete b; delete c
		for (k = 1; k <= cnt[s]; k++) { a[k] = lps[s, k]; b[k] = p50[s, k]; c[k] = p99[s, k] }
		printf "| %-28s | %9.1f | %8.1f | %8.1f | %6d |\n", s, median(a, cnt[s]), median(b, cnt[s]), median(c, cnt[s]), bad[s]
	}
}' "$tmp/logins"
echo
awk -F'\t' '
function median(a, k,   i, j, t) {
	for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
	return (k % 2) ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
}
{ k = ++cnt[$2]; p50[$2, k] = $3; p99[$2, k] = $4; bad[$2] += $5; if (!seen[$2]++) order[++no] = $2 }
END {
	printf "| %-28s | %8s | %8s | %6s |\n", "time to first byte", "p50 ms", "p99 ms", "failed"
	printf "|%s|%s|%s|%s|\n", "------------------------------", "----------", "----------", "--------"
	for (o = 1; o <= no; o++) {
		s = order[o]; delete a; delete b
		for (k = 1; k <= cnt[s]; k++) { a[k] = p50[s, k]; b[k] = p99[s, k] }
		m50[s] = median(a, cnt[s]); m99[s] = median(b, cnt[s])
		printf "| %-28s | %8.3f | %8.3f | %6d |\n", s, m50[s], m99[s], bad[s]
	}
	printf "\nmedia: relay / direct, p50 %.2f, p99 %.2f\n", m50["media via relay"] / m50["media direct"], m99["media via relay"] / m99["media direct"]
	printf "AI stream: relay / direct, p50 %.2f, p99 %.2f\n", m50["AI stream via relay"] / m50["AI stream direct"], m99["AI stream via relay"] / m99["AI stream direct"]
}' "$tmp/ttfb"
