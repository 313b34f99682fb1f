# SPDX-License-Identifier: BSD-2-Clause
# lib.sh - shared harness for tests/integration/run.sh and bench_edit.sh.
#
# Source it (bash).  It provides:
#   it_setup               temp dir, throwaway PostgreSQL cluster + schema,
#                          postmap config dir, EXIT trap that cleans up
#   it_free_port           IT_PORT = a port below the ephemeral range, unused
#   it_spawn NAME ARGS...  start a process in the background, remember its pid
#                          (output to $IT_TMP/NAME.log); pid in $IT_PID
#   it_stop PID            SIGTERM, wait up to 5 s, then SIGKILL; status in
#                          $IT_STATUS (128+signal when killed); forgets PID
#   it_forget PID          the EXIT trap no longer kills PID (already reaped)
#   it_wait_ready PORT [SECS] [PID]
#                          poll with postmap until the daemon on PORT answers
#                          anything but TEMP "no policy data loaded yet"
#   it_wait_listening PORT [SECS] [PID]
#                          poll until the daemon on PORT answers at all
#   q KEY [PORT] [MAP]     one postmap -q; sets Q_OUT Q_ERR Q_RC (defaults:
#                          $Q_PORT or $PORT, $Q_MAP or tlspolicy, postmap
#                          config dir $Q_PFCONF or $IT_PFCONF)
#
# Nothing here uses set -e; every failure is a return status.  The EXIT
# trap kills what it_spawn started, by pid only, stops the cluster (by its
# postmaster pid, pgcluster.sh) and removes the temp dir (IT_KEEP=1 keeps it).

# Variables set here are read by the sourcing scripts.
# shellcheck disable=SC2034

IT_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IT_REPO=$(cd "$IT_LIB_DIR/../.." && pwd)
TLSPOLICYD=${TLSPOLICYD:-$IT_REPO/tlspolicyd}
IT_PIDS=()
IT_TMP=
IT_KEEP=${IT_KEEP:-}

# shellcheck source=../lib/pgcluster.sh
. "$IT_REPO/tests/lib/pgcluster.sh"

it_cleanup() {
	local pid
	for pid in "${IT_PIDS[@]}"; do
		[ -n "$pid" ] || continue
		if kill -0 "$pid" 2>/dev/null; then
			kill -TERM "$pid" 2>/dev/null
		fi
	done
	for pid in "${IT_PIDS[@]}"; do
		[ -n "$pid" ] && it_reap "$pid"
	done
	IT_PIDS=()
	pgc_stop
	if [ -n "$IT_TMP" ] && [ -d "$IT_TMP" ]; then
		if [ -n "$IT_KEEP" ]; then
			echo "# kept $IT_TMP" >&2
		else
			rm -rf "$IT_TMP"
		fi
	fi
}

# it_free_port: sets IT_PORT (no subshell: it remembers what it handed out)
# to a TCP port for a daemon to listen on: below the ephemeral range (a client
# socket or a TIME-WAIT there can make bind fail), not used by any socket,
# and not handed out before in this run.  pgcluster.sh's free_port picks
# from the ephemeral range too, which is fine for PostgreSQL (it retries).
IT_PORTS_USED=" "
it_free_port() {
	local lo=32768 p i
	read -r lo _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null
	[ "$lo" -gt 12000 ] || lo=32768
	for i in $(seq 1 500); do
		p=$((10000 + (RANDOM * 32768 + RANDOM) % (lo - 10000)))
		case $IT_PORTS_USED in *" $p "*) continue ;; esac
		if command -v ss >/dev/null 2>&1 &&
			[ -n "$(ss -Htan "sport = :$p" 2>/dev/null)" ]; then
			continue
		fi
		if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			continue
		fi
		IT_PORTS_USED="$IT_PORTS_USED$p "
		IT_PORT=$p
		return 0
	done
	return 1
}

it_setup() {
	IT_TMP=$(mktemp -d "${TMPDIR:-/tmp}/tlspolicyd-it.XXXXXX") || return 1
	# The cluster runs as postgres when we are root: it must reach its dir.
	chmod 755 "$IT_TMP"
	trap it_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	mkdir -p "$IT_TMP/postfix" || return 1
	printf 'compatibility_level = 3.6\nsmtputf8_enable = yes\n' \
		>"$IT_TMP/postfix/main.cf"
	IT_PFCONF=$IT_TMP/postfix
	pgc_start "$IT_TMP/pg" || return 1
	pgc_schema "$IT_REPO/contrib/postgresql/schema.sql" || return 1
}

it_spawn() {
	local name=$1
	shift
	"$@" >"$IT_TMP/$name.log" 2>&1 &
	IT_PID=$!
	IT_PIDS+=("$IT_PID")
}

it_forget() {
	local pid=$1 i
	for i in "${!IT_PIDS[@]}"; do
		[ "${IT_PIDS[$i]}" = "$pid" ] && IT_PIDS[i]=
	done
}

# it_reap PID: wait up to 5 s for a signalled PID, then SIGKILL it;
# IT_STATUS is its exit status.
it_reap() {
	local pid=$1 i
	for i in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	IT_STATUS=$?
}

it_stop() {
	local pid=$1
	kill -TERM "$pid" 2>/dev/null
	it_reap "$pid"
	it_forget "$pid"
}

# One postmap lookup.  Postfix sends the key verbatim (spec 1.3), including
# case, brackets, ports and an empty key.
q() {
	local key=$1 port=${2:-${Q_PORT:-${PORT:-}}} map=${3:-${Q_MAP:-tlspolicy}}
	# postmap waits 100 s for a reply that never comes: bound it.
	Q_OUT=$(timeout 10 postmap -c "${Q_PFCONF:-$IT_PFCONF}" -q "$key" \
		"socketmap:inet:127.0.0.1:$port:$map" 2>"$IT_TMP/q.err")
	Q_RC=$?
	Q_ERR=$(cat "$IT_TMP/q.err")
}

now_us() {
	local t=${EPOCHREALTIME/./}
	echo "$t"
}

# it_wait_listening PORT [SECS] [PID]: until the daemon answers at all
# (any socketmap reply, not a connect error).
# it_wait_ready PORT [SECS] [PID]: until it answers something other than
# TEMP "no policy data loaded yet".
# Both return 1 on timeout, 2 if PID (when given) has exited.
it_wait_listening() { IT_WAIT_LOADED= it_wait "$@"; }
it_wait_ready() { IT_WAIT_LOADED=1 it_wait "$@"; }

it_wait() {
	local port=$1 secs=${2:-10} pid=${3:-} deadline
	deadline=$(($(now_us) + secs * 1000000))
	while [ "$(now_us)" -lt "$deadline" ]; do
		if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
			return 2
		fi
		q readiness.probe.invalid "$port" tlspolicy
		# exit 0, exit 1 silent (NOTFOUND), or a socketmap server error
		if [ "$Q_RC" = 0 ] || [ -z "$Q_ERR" ]; then
			return 0
		fi
		if [[ $Q_ERR == *"socketmap server"* ]] &&
			{ [ -z "$IT_WAIT_LOADED" ] ||
				[[ $Q_ERR != *"no policy data loaded yet"* ]]; }; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}
