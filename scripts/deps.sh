#!/usr/bin/env bash
# Installs what the tests need and a fresh machine may lack: redis-server
# (the Redis store tests start their own: single servers, TLS with a CA made
# in the test, ACL users, Sentinel with `redis-server --sentinel`, all built
# into Debian's package) and redis-cli (its redis-tools dependency: the
# Cluster tests join nodes with `redis-cli --cluster create`), chromium (the browser test),
# node and npm (the fuzz oracle and the stock site). Debian packages, with
# apt-get, when running as root; otherwise it says what is missing.
set -euo pipefail

need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v redis-cli >/dev/null || need+=(redis-tools)
command -v chromium >/dev/null || need+=(chromium)
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)

if [ ${#need[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "deps: missing ${need[*]}: install them (Debian: apt-get install ${need[*]})" >&2
		exit 1
	fi
	echo "deps: installing ${need[*]}"
	apt-get update -qq
	# policy-rc.d keeps Debian from starting redis-server as a service: the
	# tests start their own, on free ports.
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
		chmod +x /usr/sbin/policy-rc.d
		trap 'rm -f /usr/sbin/policy-rc.d' EXIT
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
