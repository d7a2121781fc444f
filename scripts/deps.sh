#!/usr/bin/env bash
# Installs what the tests need and a fresh machine may lack: redis-server
# (the Redis store tests start their own: single servers, TLS with a CA made
# in the test, ACL users, Sentinel with `redis-server --sentinel`, all built
# into Debian's package) and redis-cli (its redis-tools dependency: the
# Cluster tests join nodes with `redis-cli --cluster create`), chromium (the browser test),
# node and npm (the fuzz oracle and the stock site). Debian packages, with
# apt-get, when running as root; otherwise it says what is missing. Before
# apt-get runs it prints each package it will install and what needs it.
set -euo pipefail

need=()
why=()
want() { # want COMMAND PACKAGE WHY: PACKAGE, unless COMMAND is there
	if ! command -v "$1" >/dev/null; then
		need+=("$2")
		why+=("$3")
	fi
}
want redis-server redis-server "the Redis store tests start their own servers"
want redis-cli redis-tools "the Redis Cluster tests join nodes with redis-cli --cluster create"
want chromium chromium "the browser test (scripts/e2e.sh) drives headless Chromium"
want node nodejs "the fuzz oracle (Node's URL parser) and the stock Outstatic site"
want npm npm "installs the stock site's locked packages"

if [ ${#need[@]} -gt 0 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "deps: missing ${need[*]}: install them (Debian: apt-get install ${need[*]})" >&2
		exit 1
	fi
	echo "deps: running as root, so installing these Debian packages with apt-get:"
	for i in "${!need[@]}"; do
		printf '  %-14s %s\n' "${need[$i]}" "${why[$i]}"
	done
	apt-get update -qq
	# policy-rc.d keeps Debian from starting redis-server as a service: the
	# tests start their own, on free ports.
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
		chmod +x /usr/sbin/policy-rc.d
		trap 'rm -f /usr/sbin/policy-rc.d' EXIT
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
	echo "deps: installed ${need[*]}"
fi
