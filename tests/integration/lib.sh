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
# and, for hostile.sh, replicas.sh, lifecycle.sh, service.sh, statefile.sh
# and metrics.sh (see the second half of this file): the TAP reporting and
# expect_* helpers (copies of run.sh's, and expect_eq),
# it_setup_or_bail, it_stop_daemons (the closing checks), it_daemon,
# sql_as/it_val (SQL as a given role), log counting, and extra clusters
# (it_cluster_start, it_standby_start, it_cluster_restart) that the EXIT
# trap stops too.
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
	it_clusters_stop
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

# One postmap lookup.  Postfix sends the key verbatim (docs/protocol.md),
# including case, brackets, ports and an empty key.
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

# ======================================================================
# Shared by run.sh, hostile.sh and replicas.sh.
#
# --- TAP reporting and expectations; within_ms also leaves the latency in
# --- WITHIN_MS_LAT.

T_N=0
T_PASS=0
T_FAIL=0
SCEN=
SQL_DONE_US=

# ---------------------------------------------------------------- reporting

T_START_US=$(now_us)
T_LAST_SCEN=

# A header line when the scenario changes, with the time since the start.
scen_header() {
	[ "$SCEN" = "$T_LAST_SCEN" ] && return
	T_LAST_SCEN=$SCEN
	local t=$(($(now_us) - T_START_US))
	printf '# --- %s (+%d.%d s)\n' "${SCEN:-end}" $((t / 1000000)) \
		$((t / 100000 % 10))
}

pass() {
	scen_header
	T_N=$((T_N + 1))
	T_PASS=$((T_PASS + 1))
	echo "ok $T_N - ${SCEN:+[$SCEN] }$1"
}

# fail DESCRIPTION [DIAGNOSTIC LINE]...
fail() {
	local l
	scen_header
	T_N=$((T_N + 1))
	T_FAIL=$((T_FAIL + 1))
	echo "not ok $T_N - ${SCEN:+[$SCEN] }$1"
	shift
	for l in "$@"; do
		printf '%s\n' "$l" | sed 's/^/#   /'
	done
}

# A key as shown in a test description: long keys abbreviated.
show() {
	local k=$1
	if [ ${#k} -gt 48 ]; then
		printf '%s...(%d bytes)' "${k:0:16}" ${#k}
	elif [ -z "$k" ]; then
		printf "''"
	else
		printf '%s' "$k"
	fi
}

got() {
	printf 'got: exit %s, stdout [%s], stderr [%s]' "$Q_RC" "$Q_OUT" \
		"$(printf '%s' "$Q_ERR" | tr '\n' '|' | cut -c1-600)"
}

# ------------------------------------------------------ checks (no output)
#
# check_* KEY ... run one lookup and return 0 if it is as expected; they
# set CHK_WANT (what was expected) and CHK_GOT.  The map, port and postmap
# config are $Q_MAP, $Q_PORT and $Q_PFCONF when set (see lib.sh q).

check_ok() {
	local key=$1 want=$2
	CHK_WANT="OK $want"
	q "$key"
	CHK_GOT=$(got)
	[ "$Q_RC" = 0 ] && [ "$Q_OUT" = "$want" ] && [ -z "$Q_ERR" ]
}

check_notfound() {
	CHK_WANT="NOTFOUND"
	q "$1"
	CHK_GOT=$(got)
	[ "$Q_RC" = 1 ] && [ -z "$Q_OUT" ] && [ -z "$Q_ERR" ]
}

# check_err KIND KEY [SUBSTRING]: KIND is "temporary" or "permanent".
check_err() {
	local kind=$1 key=$2 sub=${3:-}
	CHK_WANT="$kind error${sub:+ containing \"$sub\"}"
	q "$key"
	CHK_GOT=$(got)
	[ "$Q_RC" = 1 ] || [ "$Q_RC" = 75 ] || return 1
	[ -z "$Q_OUT" ] || return 1
	[[ $Q_ERR == *"socketmap server $kind error: "* ]] || return 1
	[ -z "$sub" ] && return 0
	# The reason must carry the substring (not just anywhere in stderr).
	local reason=${Q_ERR#*"socketmap server $kind error: "}
	reason=${reason%%$'\n'*}
	[[ $reason == *"$sub"* ]]
}

check_temp() { check_err temporary "$@"; }
check_perm() { check_err permanent "$@"; }

# ------------------------------------------------ expectations (one test)
#
# expect_ok KEY VALUE, expect_notfound KEY, expect_temp KEY [SUBSTRING],
# expect_perm KEY [SUBSTRING].  DESC=... overrides the description.

report() {
	local kind=$1 key=$2 rc=$3 extra=${4:-}
	local desc=${DESC:-"$(show "$key") -> $CHK_WANT"}
	if [ "$rc" = 0 ]; then
		pass "$desc$extra"
	else
		fail "$desc$extra" "map ${Q_MAP:-tlspolicy}, key [$(show "$key")]" \
			"want: $CHK_WANT" "$CHK_GOT"
	fi
}

expect_ok() { check_ok "$@"; report ok "$1" $?; }
expect_notfound() { check_notfound "$@"; report notfound "$1" $?; }
expect_temp() { check_temp "$@"; report temp "$1" $?; }
expect_perm() { check_perm "$@"; report perm "$1" $?; }

# within_1s expect_X ARGS...: retry the expectation until it holds; fail if
# it does not within 1 s of the last SQL commit (or of the call, when no SQL
# ran since).  For edits becoming visible without a restart.
#
# Timing is taken at the start of each lookup: postmap exits through
# msg_fatal() on a TEMP or PERM reply, which sleeps 1 s after the answer
# has arrived (measured: 1.01 s for a TEMP, 8 ms for a NOTFOUND).  So "the
# lookup that started at +X ms got the right answer", X <= 1000.
within_1s() { within_ms 1000 "$@"; }

# within_ms MS expect_X ARGS...: the same with another bound.
within_ms() {
	local ms=$1 fn=$2
	shift 2
	local check=check_${fn#expect_} start ts rc tries=0 lim
	lim=$((ms * 1000))
	start=${SQL_DONE_US:-$(now_us)}
	SQL_DONE_US=
	WITHIN_MS_LAT=
	while :; do
		ts=$(now_us)
		if [ "$tries" -gt 0 ] && [ $((ts - start)) -gt "$lim" ]; then
			CHK_GOT="still wrong in the lookup started at +$(((ts - start) / 1000)) ms; last $CHK_GOT"
			report "$fn" "$1" 1 " (within $ms ms)"
			return
		fi
		"$check" "$@"
		rc=$?
		tries=$((tries + 1))
		if [ "$rc" = 0 ]; then
			if [ $((ts - start)) -le "$lim" ]; then
				WITHIN_MS_LAT=$(((ts - start) / 1000))
				report "$fn" "$1" 0 \
					" (within $ms ms: +$(((ts - start) / 1000)) ms)"
			else
				CHK_GOT="first lookup only at +$(((ts - start) / 1000)) ms (the harness was slow)"
				report "$fn" "$1" 1 " (within $ms ms)"
			fi
			return
		fi
		sleep 0.01
	done
}

# holds_for MS GAP check_X ARGS...: the check passes on every try for MS
# milliseconds, GAP seconds apart; on the first failure CHK_GOT says why.
holds_for() {
	local ms=$1 gap=$2 end
	shift 2
	end=$(($(now_us) + ms * 1000))
	while [ "$(now_us)" -lt "$end" ]; do
		"$@" || return 1
		sleep "$gap"
	done
}

# sql STATEMENTS: one psql -c (one transaction); a failure is a test failure.
sql() {
	local out
	out=$(psql -X -q -v ON_ERROR_STOP=1 -c "$1" 2>&1)
	local rc=$?
	SQL_DONE_US=$(now_us)
	if [ "$rc" != 0 ]; then
		fail "SQL: $1" "psql exit $rc: $out"
		return 1
	fi
	return 0
}

# run_cmd ARGS...: run a one-shot command (bounded); C_OUT C_ERR C_RC.
run_cmd() {
	C_OUT=$(timeout 20 "$@" 2>"$IT_TMP/cmd.err")
	C_RC=$?
	C_ERR=$(cat "$IT_TMP/cmd.err")
}

cmd_got() {
	printf 'got: exit %s, stdout [%s], stderr [%s]' "$C_RC" \
		"$(printf '%s' "$C_OUT" | tr '\n' '|' | cut -c1-600)" \
		"$(printf '%s' "$C_ERR" | tr '\n' '|' | cut -c1-600)"
}

# expect_eq DESC GOT WANT: pass when GOT is exactly WANT.
expect_eq() {
	if [ "$2" = "$3" ]; then
		pass "$1"
	else
		fail "$1" "want: [$3]" "got:  [$2]"
	fi
}

# expect_cmd DESC WANT_RC [STDOUT-REGEX|""] [OUTPUT-SUBSTRING (stdout+stderr)]
expect_cmd() {
	local desc=$1 want_rc=$2 re=${3:-} sub=${4:-} ok=1
	[ "$C_RC" = "$want_rc" ] || ok=0
	if [ -n "$re" ] && ! printf '%s\n' "$C_OUT" | grep -Eq -- "$re"; then
		ok=0
	fi
	if [ -n "$sub" ] && [[ "$C_OUT$C_ERR" != *"$sub"* ]]; then
		ok=0
	fi
	if [ "$ok" = 1 ]; then
		pass "$desc"
	else
		fail "$desc" "want: exit $want_rc${re:+, a stdout line matching /$re/}${sub:+, output containing \"$sub\"}" \
			"$(cmd_got)"
	fi
}

# run_cmd_ms ARGS...: run_cmd, and C_MS the milliseconds it took.
run_cmd_ms() {
	local t0
	t0=$(now_us)
	run_cmd "$@"
	C_MS=$((($(now_us) - t0) / 1000))
}

# expect_cmd_within MS DESC WANT_RC [REGEX] [SUBSTRING]: expect_cmd for a
# command run by run_cmd_ms, which must also have ended within MS ms.
expect_cmd_within() {
	local ms=$1
	shift
	if [ "$C_MS" -gt "$ms" ]; then
		fail "$1" "took $C_MS ms, want at most $ms" "$(cmd_got)"
		return
	fi
	expect_cmd "$@"
}

finish() {
	local log
	if [ "$T_FAIL" != 0 ] || [ -n "${IT_VERBOSE:-}" ]; then
		for log in "$IT_TMP"/*.log; do
			[ -f "$log" ] || continue
			echo "# ---- last lines of $(basename "$log") ----"
			tail -n 40 "$log" | sed 's/^/# /'
		done
	fi
	echo "$T_PASS passed, $T_FAIL failed"
	[ "$T_FAIL" = 0 ]
	exit $?
}

bail() {
	fail "$1" "${@:2}"
	echo "# Bail out: cannot continue"
	finish
}

# it_setup_or_bail: the daemon binary exists and it_setup succeeds, or the
# script bails out.
it_setup_or_bail() {
	if [ ! -x "$TLSPOLICYD" ]; then
		# finish needs IT_TMP for logs; without a daemon there are none.
		IT_TMP=$(mktemp -d)
		trap 'rm -rf "$IT_TMP"' EXIT
		bail "daemon binary $TLSPOLICYD exists (build it first)"
	fi
	it_setup || bail "temp dir, PostgreSQL cluster and schema"
}

# it_stop_daemons PID:NAME...: each daemon is still running and SIGTERM ends
# it with exit status 0 (one check each).  An empty PID is skipped.
it_stop_daemons() {
	local pn pid name
	for pn in "$@"; do
		pid=${pn%%:*}
		name=${pn#*:}
		[ -n "$pid" ] || continue
		if kill -0 "$pid" 2>/dev/null; then
			it_stop "$pid"
			if [ "$IT_STATUS" = 0 ]; then
				pass "daemon $name still running, SIGTERM -> exit 0"
			else
				fail "daemon $name still running, SIGTERM -> exit 0" \
					"exit status $IT_STATUS"
			fi
		else
			wait "$pid"
			fail "daemon $name still running" "it exited with $?"
			it_forget "$pid"
		fi
	done
}

# --- SQL as a given role.  $PGPORT selects the cluster (PGPORT=... sql_as).

# it_conninfo PORT ROLE: a connection string for the daemon (numeric
# hostaddr, as PGC_CONNINFO).
it_conninfo() {
	printf 'hostaddr=127.0.0.1 port=%s user=%s dbname=postgres' "$1" "$2"
}

# sql_as ROLE STATEMENTS: one psql -c (one transaction) as ROLE, with that
# role's own default search_path (which is where an attacker plants
# things); a failure is a test failure.  SQL_DONE_US as sql; SQL_OUT is
# psql's output.
sql_as() {
	local role=$1 rc
	SQL_OUT=$(psql -X -q -U "$role" -v ON_ERROR_STOP=1 -c "$2" 2>&1)
	rc=$?
	SQL_DONE_US=$(now_us)
	if [ "$rc" != 0 ]; then
		fail "SQL as $role: $2" "psql exit $rc: $SQL_OUT"
		return 1
	fi
	return 0
}

# try_as ROLE STATEMENTS: the same, expected to fail or not: no test.
# TRY_RC is psql's exit status, TRY_OUT its stdout and stderr.
try_as() {
	TRY_OUT=$(psql -X -q -U "$1" -v ON_ERROR_STOP=1 -c "$2" 2>&1)
	TRY_RC=$?
	SQL_DONE_US=$(now_us)
}

# it_val ROLE QUERY: print the result unaligned, without headers.  The
# search_path is pinned to pg_catalog: the harness's own reads must not
# call what a hostile role planted in public or in "$user".
it_val() {
	PGOPTIONS="-c search_path=pg_catalog,pg_temp" \
		psql -X -A -t -q -U "$1" -v ON_ERROR_STOP=1 -c "$2" 2>&1
}

# it_fn_names: where the applied schema.sql put its functions.  Sets
# FN_SCHEMA and the qualified names FN_ALLOW_WRITER FN_ATTACH FN_LOCK
# FN_LOG: tlspolicyd.allow_writer, .attach, .take_lock, .log_changes (their
# own schema), or public.tlspolicyd_allow_writer, _attach, _lock, _log.
it_fn_names() {
	if [ "$(it_val postgres "SELECT to_regprocedure('tlspolicyd.allow_writer(regrole)') IS NOT NULL")" = t ]; then
		FN_SCHEMA=tlspolicyd
		FN_ALLOW_WRITER=tlspolicyd.allow_writer
		FN_ATTACH=tlspolicyd.attach
		FN_LOCK=tlspolicyd.take_lock
		FN_LOG=tlspolicyd.log_changes
	else
		FN_SCHEMA=public
		FN_ALLOW_WRITER=public.tlspolicyd_allow_writer
		FN_ATTACH=public.tlspolicyd_attach
		FN_LOCK=public.tlspolicyd_lock
		FN_LOG=public.tlspolicyd_log
	fi
}

# --- the daemon and its log

# it_daemon NAME PORT CONNINFO [OPTION]...: start the daemon (-f, logging
# to $IT_TMP/NAME.log) on 127.0.0.1:PORT with a config file of its own (a
# state_file of its own, $IT_TMP/state/NAME, so no persisted snapshot leaks
# between instances or runs) and wait until it answers at
# all.  Returns 0 (IT_PID is its pid), 1 (not answering within 10 s) or 2
# (it exited; DAEMON_RC is its status).
it_daemon() {
	local name=$1 port=$2 db=$3 conf rc
	shift 3
	conf=$IT_TMP/$name.conf
	mkdir -p "$IT_TMP/state"
	printf 'state_file = %s\n' "$IT_TMP/state/$name" >"$conf"
	it_spawn "$name" "$TLSPOLICYD" -c "$conf" -f \
		--listen "inet:127.0.0.1:$port" --database "$db" "$@"
	it_wait_listening "$port" 10 "$IT_PID"
	rc=$?
	if [ "$rc" = 2 ]; then
		wait "$IT_PID"
		DAEMON_RC=$?
		it_forget "$IT_PID"
	fi
	return "$rc"
}

# it_log_lines NAME STRING...: the lines of $IT_TMP/NAME.log that contain
# every STRING (fixed strings), from line $IT_LOG_FROM (default 1) on.
# it_log_count: how many.  it_log_mark NAME: the line number after the
# last, to pass as IT_LOG_FROM ("what was logged since").
it_log_lines() {
	local f=$IT_TMP/$1.log
	shift
	[ -f "$f" ] || return 0
	tail -n "+${IT_LOG_FROM:-1}" "$f" | _it_filter "$@"
}

_it_filter() {
	if [ $# = 0 ]; then
		cat
		return 0
	fi
	local s=$1
	shift
	grep -F -e "$s" | _it_filter "$@"
}

it_log_count() {
	it_log_lines "$@" | wc -l | tr -d ' '
}

it_log_mark() {
	local n=0
	[ -f "$IT_TMP/$1.log" ] && n=$(wc -l <"$IT_TMP/$1.log")
	echo $((n + 1))
}

# it_wait_log SECS NAME STRING...: until a line with every STRING appears
# (honours IT_LOG_FROM); 1 on timeout.
it_wait_log() {
	local secs=$1 deadline
	shift
	deadline=$(($(now_us) + secs * 1000000))
	while :; do
		[ "$(it_log_count "$@")" -gt 0 ] && return 0
		[ "$(now_us)" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

# it_stats MS...: "min A ms, median B ms, max C ms (n=N)" (lower median).
it_stats() {
	[ $# -gt 0 ] || {
		echo "no samples"
		return 0
	}
	printf '%s\n' "$@" | sort -n | awk '
		{ v[NR] = $1 }
		END {
			printf "min %d ms, median %d ms, max %d ms (n=%d)\n",
			    v[1], v[int((NR + 1) / 2)], v[NR], NR
		}'
}

# --- more clusters.  pgcluster.sh runs one cluster per shell (the PG*
# --- variables); these start others next to it, in $IT_TMP/NAME, and
# --- leave PG* pointing at the first.  Each sets IT_CL_DIR and
# --- IT_CL_PORT; the EXIT trap stops them all (it_clusters_stop).

IT_CLUSTERS=()

# _it_pg_start DIR [SERVER_OPTION]...: pg_ctl start DIR/data on a free
# port (five tries, as pgc_start), socket in DIR, log DIR/server.log.
_it_pg_start() {
	local dir=$1 port i
	shift
	for i in 1 2 3 4 5; do
		port=$(free_port) || continue
		if pgc_as "$PGC_BINDIR/pg_ctl" -D "$dir/data" -l "$dir/server.log" \
			-w -t 30 -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c full_page_writes=off -c synchronous_commit=off $*" \
			start >/dev/null 2>&1; then
			IT_CL_PORT=$port
			return 0
		fi
	done
	tail -n 20 "$dir/server.log" >&2
	return 1
}

# it_cluster_start NAME [SERVER_OPTION]...: initdb (as pgc_start does) and
# start, e.g. it_cluster_start pub -c wal_level=logical.
it_cluster_start() {
	local dir=$IT_TMP/$1
	shift
	mkdir -p "$dir/data" || return 1
	[ "$(id -u)" = 0 ] && chown -R postgres: "$dir"
	IT_CLUSTERS+=("$dir")
	IT_CL_DIR=$dir
	pgc_as "$PGC_BINDIR/initdb" -D "$dir/data" -U postgres -A trust \
		--no-sync -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
		cat "$dir/initdb.log" >&2
		return 1
	}
	_it_pg_start "$dir" "$@"
}

# it_standby_start NAME [SERVER_OPTION]...: a hot standby of the first
# cluster ($PGPORT): pg_basebackup -R (it writes primary_conninfo and
# standby.signal), started with hot_standby = on.
it_standby_start() {
	local dir=$IT_TMP/$1
	shift
	mkdir -p "$dir" || return 1
	[ "$(id -u)" = 0 ] && chown postgres: "$dir"
	IT_CLUSTERS+=("$dir")
	IT_CL_DIR=$dir
	pgc_as "$PGC_BINDIR/pg_basebackup" -R -D "$dir/data" -h 127.0.0.1 \
		-p "$PGPORT" -U postgres -X stream --checkpoint=fast --no-sync \
		>"$dir/basebackup.log" 2>&1 || {
		cat "$dir/basebackup.log" >&2
		return 1
	}
	_it_pg_start "$dir" -c hot_standby=on "$@"
}

# it_cluster_restart DIR: a fast restart with the options it was started
# with (pg_ctl keeps them in postmaster.opts), e.g. after ALTER SYSTEM SET
# wal_level.  DIR is $PGC_DIR for the first cluster.
it_cluster_restart() {
	pgc_as "$PGC_BINDIR/pg_ctl" -D "$1/data" -l "$1/server.log" -m fast \
		-w -t 30 restart >/dev/null 2>&1
}

# it_cluster_stop DIR: stop by its postmaster pid (pg_ctl), remove DIR
# (kept with IT_KEEP=1), forget it.
it_cluster_stop() {
	local dir=$1 i
	if [ -f "$dir/data/postmaster.pid" ]; then
		pgc_as "$PGC_BINDIR/pg_ctl" -D "$dir/data" -m immediate -w stop \
			>/dev/null 2>&1
	fi
	[ -n "$IT_KEEP" ] || rm -rf "$dir"
	for i in "${!IT_CLUSTERS[@]}"; do
		[ "${IT_CLUSTERS[$i]}" = "$dir" ] && IT_CLUSTERS[i]=
	done
}

# Standbys and subscribers first: the last started is stopped first.
it_clusters_stop() {
	local i
	for ((i = ${#IT_CLUSTERS[@]} - 1; i >= 0; i--)); do
		[ -n "${IT_CLUSTERS[$i]}" ] && it_cluster_stop "${IT_CLUSTERS[$i]}"
	done
	IT_CLUSTERS=()
}
