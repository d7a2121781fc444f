#!/usr/bin/env bash
# The native relay's memory under a flood of unknown keys and many logins:
# Caddy's resident set (VmRSS) at start (after one login and one key
# check), after FLOOD distinct made-up well-formed keys (bench/relayload
# flood: each refused, 401), and after LOGINS whole native logins on the
# default file store (bench/relayload login -count, CONC at a time), and
# the ratio to the start (target: at most 1.5). One Caddy (built from
# ./cmd/caddy) with a native relay on Caddy's storage, and the fake GitHub
# (internal/benchtools/fakegh), on loopback; bounded by the counts.
#
# Usage: bash bench/memory.sh
#   FLOOD=100000 LOGINS=10000 CONC=10
#   BASE_PORT=19800   the ports BASE_PORT..BASE_PORT+2 on 127.0.0.1 must be free
set -euo pipefail
cd "$(dirname "$0")/.."

FLOOD=${FLOOD:-100000}
LOGINS=${LOGINS:-10000}
CONC=${CONC:-10}
BASE_PORT=${BASE_PORT:-19800}
SERVER_CPU=${SERVER_CPU:-0}
WRK_CPU=${WRK_CPU:-1}

tmp=$(mktemp -d)
. bench/lib.sh
trap bench_cleanup EXIT
command -v curl >/dev/null || { say "curl is required"; exit 1; }
set_pinning

say "building caddy (./cmd/caddy), the fake GitHub (internal/benchtools/fakegh) and relayload (bench/)"
go build -o "$tmp/caddy" ./cmd/caddy
go build -o "$tmp/fakegh" ./internal/benchtools/fakegh
(cd bench && go build -o "$tmp/" ./relayload)

p_admin=$BASE_PORT p_relay=$((BASE_PORT + 1))
ports_free $p_admin $p_relay
start_fakegh

site=http://site.example/outstatic
callback=$site/api/outstatic/callback
relay=http://127.0.0.1:$p_relay
cat >"$tmp/Caddyfile" <<EOF
{
	admin 127.0.0.1:$p_admin
	auto_https off
	storage file_system $tmp/data
	servers {
		protocols h1
	}
}
$relay {
	outstatic_relay {
		public_url $relay
$(relay_github)
		project blog {
			callback_origin $site
			repo acme/blog
			plan pro
			member ada owner
		}
	}
}
EOF
XDG_DATA_HOME=$tmp/data XDG_CONFIG_HOME=$tmp/config start caddy "$tmp/caddy" run --config "$tmp/Caddyfile" --adapter caddyfile
wait_http "$relay/"
caddy_pid=$(pgrep -P "${pids[-1]}" caddy 2>/dev/null || echo "${pids[-1]}")
key=$("$tmp/caddy" outstatic key create --project blog --address "127.0.0.1:$p_admin" | awk '/^key:/ { print $2 }')
[ -n "$key" ] || { say "no key made"; tail -5 "$tmp/caddy.log" >&2; exit 1; }
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$caddy_pid/status"; } # KiB

read -r _ _ _ bad < <("${pin_wrk[@]}" "$tmp/relayload" login -relay "$relay" -key "$key" -callback "$callback" -conc 1 -count 1)
[ "$bad" = 0 ] || { say "a login failed"; tail -5 "$tmp/caddy.log" >&2; exit 1; }
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $key" "$relay/outstatic/project")
[ "$code" = 200 ] || { say "key check: $code"; exit 1; }
start_kb=$(rss)
say "RSS at start: $start_kb KiB; flooding $FLOOD unknown keys"
"$tmp/relayload" keys -n "$FLOOD" >"$tmp/keys"
read -r frps _ _ fbad < <("${pin_wrk[@]}" "$tmp/relayload" flood -url "$relay/outstatic/project" -keys "$tmp/keys" -conc 32)
flood_kb=$(rss)
say "RSS after the flood: $flood_kb KiB; $LOGINS logins, $CONC at a time"
read -r lps _ _ lbad < <("${pin_wrk[@]}" "$tmp/relayload" login -relay "$relay" -key "$key" -callback "$callback" -conc "$CONC" -count "$LOGINS" 2>>"$tmp/relayload.log")
logins_kb=$(rss)

echo
machine_lines
echo
printf '| %-40s | %9s | %-8s |\n' "Caddy's RSS" "KiB" "/ start"
printf '|%s|%s|%s|\n' "------------------------------------------" "-----------" "----------"
printf '| %-40s | %9d | %8.2f |\n' "at start (one login, one key check)" "$start_kb" 1
printf '| %-40s | %9d | %8.2f |\n' "after $FLOOD unknown keys" "$flood_kb" "$(echo "$flood_kb $start_kb" | awk '{ print $1 / $2 }')"
printf '| %-40s | %9d | %8.2f |\n' "and after $LOGINS logins" "$logins_kb" "$(echo "$logins_kb $start_kb" | awk '{ print $1 / $2 }')"
echo
echo "flood: $frps requests/s, $fbad answers not 401; logins: $lps logins/s, $lbad failed (target: RSS at the end <= 1.5 x start)"
