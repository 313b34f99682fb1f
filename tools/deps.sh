#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# deps.sh PROFILE - install the Debian packages a make target needs.
#
# Profiles: build (the daemon), check (build + every test), demo
# (build + PostgreSQL + postmap), bench (demo + pgbench, Postfix's pgsql
# client, gnuplot, strace, valgrind), fuzz (check + clang), all.
# As root, missing packages are installed with apt-get; otherwise the
# apt-get line to run is printed and the script fails.  Without dpkg (not
# Debian) nothing can be checked: it says so, names the packages, and
# succeeds, so the build and tests go on with what the system has.
set -eu

build="gcc make pkg-config libevent-dev libpq-dev libidn2-dev"
case "${1:-build}" in
build) want="$build" ;;
# tests/e2e/tls.sh: python3-minimal (its DNS server), iproute2 (lo up in
# its network namespace); posttls-finger comes with postfix.
# tests/install.sh: man-db (man --warnings), systemd (systemd-analyze
# security and verify, systemd-sysusers; installs without systemd running).
check) want="$build libcmocka-dev postgresql postfix openssl python3-minimal \
	iproute2 man-db systemd" ;;
demo) want="$build postgresql postfix" ;;
bench) want="$build postgresql postgresql-contrib postfix postfix-pgsql gnuplot-nox strace valgrind" ;;
fuzz) want="$build libcmocka-dev clang" ;;
asan) want="$build libcmocka-dev postgresql postfix openssl" ;;
all) want="$build libcmocka-dev postgresql postfix clang valgrind \
	man-db systemd" ;;
*) echo "deps.sh: unknown profile $1" >&2; exit 2 ;;
esac

if ! command -v dpkg-query >/dev/null 2>&1; then
	echo "deps.sh: no dpkg-query, not Debian: cannot check the packages" \
	    "of profile ${1:-build}; going on without them:" >&2
	# shellcheck disable=SC2086
	echo " " $want >&2
	exit 0
fi

missing=
for p in $want; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = installed ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps.sh: missing Debian packages; run as root:" >&2
	echo "  apt-get update && apt-get install -y$missing" >&2
	exit 1
fi
echo "deps.sh: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# Postfix without asking, and without touching a mail setup: "No configuration".
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
