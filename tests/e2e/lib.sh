# SPDX-License-Identifier: BSD-2-Clause
# lib.sh - shared harness of the end-to-end tests (run.sh, agreement.sh):
# a throwaway PostgreSQL cluster, the daemon, smtp-sink and a private
# Postfix instance, all on loopback and all inside one temporary directory.
#
# Source it from bash.  The caller sets nothing; everything lives under
# $E2E_TMP, and e2e_cleanup (installed as the EXIT trap by e2e_init) stops
# every process this harness started, by pid, and removes the directory.
#
# Layout of $E2E_TMP:
#   pg/            the PostgreSQL cluster (tests/lib/pgcluster.sh)
#   daemon.log     the daemon's stderr (it runs with -f)
#   sink.log       smtp-sink's output
#   maillog        Postfix's log (maillog_file, written by postlogd)
#   pf/etc/        config_directory: main.cf, master.cf, transport
#   pf/spool/      queue_directory; also the smtp(8) chroot:
#                  etc/hosts maps the test domains to 127.0.0.1,
#                  etc/nsswitch.conf says "hosts: files"
#   pf/data/       data_directory (owned by postfix)
#
# Why smtp(8) stays chrooted: that is how Debian ships it, and it is where the
# socketmap connection is opened (after the chroot, at the first lookup) and
# where tafile= is read (inside the chroot too), so the test sees what
# production sees.  The chroot also gives smtp(8) its own etc/hosts, so the test
# domains resolve to 127.0.0.1 without DNS and without touching the system's
# /etc/hosts: smtp_dns_support_level = disabled makes smtp(8) use native lookups
# (getaddrinfo), which read files inside the jail.  Every other service runs
# unchrooted: they need no name service and no jail files.
#
# Tunables (environment): TLSPOLICYD (the daemon binary, default the
# repository's ./tlspolicyd), E2E_KEEP=1 (keep $E2E_TMP for debugging),
# E2E_VERBOSE=1 (say what is being waited for).

# Many E2E_* variables are set here and read by the sourcing scripts.
# shellcheck disable=SC2034
E2E_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
E2E_TOP=$(cd "$E2E_LIB_DIR/../.." && pwd)
# shellcheck source=../lib/pgcluster.sh
. "$E2E_TOP/tests/lib/pgcluster.sh"

TLSPOLICYD=${TLSPOLICYD:-$E2E_TOP/tlspolicyd}
E2E_MAP=tlspolicy
E2E_HOST=tlspolicyd-e2e.invalid   # myhostname; never one of the test domains
E2E_SENDER=e2e@$E2E_HOST

E2E_DAEMON_STATUS=
E2E_TMP=
E2E_DAEMON_PID=
E2E_SINK_PID=
E2E_PF_STARTED=
E2E_PASS=0
E2E_FAIL=0
E2E_N=0
E2E_T0=${EPOCHREALTIME/./}

e2e_log() {
	[ -n "${E2E_VERBOSE:-}" ] &&
		printf '# %6d ms: %s\n' $((($(e2e_now) - E2E_T0) / 1000)) "$*" >&2
	return 0
}
# A setup failure: still end with the summary line, counted as a failure.
e2e_die() {
	printf 'Bail out! %s\n' "$*"
	printf '%d passed, %d failed\n' "$E2E_PASS" $((E2E_FAIL + 1))
	exit 2
}

# Microseconds since the epoch.
e2e_now() { echo "${EPOCHREALTIME/./}"; }

# e2e_wait SECONDS CMD...: run CMD until it succeeds or SECONDS pass.
# Polls every 50 ms; this is a deadline, not a fixed sleep.
e2e_wait() {
	local limit=$1 end
	shift
	end=$(($(e2e_now) + limit * 1000000))
	while :; do
		"$@" && return 0
		[ "$(e2e_now)" -ge "$end" ] && return 1
		sleep 0.05
	done
}

# TAP-ish result lines.
e2e_ok() {
	E2E_N=$((E2E_N + 1)) E2E_PASS=$((E2E_PASS + 1))
	printf 'ok %d - %s\n' "$E2E_N" "$1"
}
e2e_notok() {
	E2E_N=$((E2E_N + 1)) E2E_FAIL=$((E2E_FAIL + 1))
	printf 'not ok %d - %s\n' "$E2E_N" "$1"
	shift
	local l
	for l in "$@"; do
		[ -n "$l" ] && printf '%s\n' "$l" | sed 's/^/#   /'
	done
	return 0
}
e2e_summary() {
	local us=$(($(e2e_now) - E2E_T0))
	if [ "$E2E_FAIL" -gt 0 ] && [ -s "$E2E_TMP/daemon.log" ]; then
		echo "# last lines of the daemon's log:"
		tail -15 "$E2E_TMP/daemon.log" | sed 's/^/#   /'
	fi
	printf '# wall time %d.%02d s\n' $((us / 1000000)) $((us / 10000 % 100))
	printf '%d passed, %d failed\n' "$E2E_PASS" "$E2E_FAIL"
	[ "$E2E_FAIL" -eq 0 ]
}

# ---------------------------------------------------------------- setup

e2e_init() {
	[ "$(id -u)" = 0 ] || e2e_die "needs root (a private Postfix instance)"
	local t
	for t in postfix postconf postmap postqueue sendmail smtp-sink psql; do
		command -v "$t" >/dev/null || e2e_die "$t not found"
	done
	id postfix >/dev/null 2>&1 || e2e_die "no postfix user"
	E2E_TMP=$(mktemp -d "${TMPDIR:-/tmp}/tlspolicyd-e2e.XXXXXX") ||
		e2e_die "mktemp failed"
	# postgres (the cluster) and postfix (the jail) must traverse it.
	chmod 0755 "$E2E_TMP"
	trap e2e_cleanup EXIT
	trap 'exit 130' INT TERM HUP
}

e2e_cleanup() {
	local rc=$?
	trap - EXIT
	e2e_postfix_stop
	e2e_daemon_stop
	e2e_sink_stop
	pgc_stop >/dev/null 2>&1
	if [ -n "$E2E_TMP" ]; then
		if [ -n "${E2E_KEEP:-}" ]; then
			printf '# kept %s\n' "$E2E_TMP" >&2
		else
			rm -rf "$E2E_TMP"
		fi
	fi
	exit "$rc"
}

e2e_pg_start() {
	pgc_start "$E2E_TMP/pg" || e2e_die "PostgreSQL did not start"
	pgc_schema "$E2E_TOP/contrib/postgresql/schema.sql" ||
		e2e_die "schema did not apply"
}

# e2e_sql SQL: run one statement batch, quietly, stopping at the first error.
e2e_sql() { psql -X -q -v ON_ERROR_STOP=1 -At -c "$1"; }

# Is something listening on 127.0.0.1:$1?
e2e_listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
e2e_not_listening() { ! e2e_listening "$1"; }

# ---------------------------------------------------------------- daemon

# e2e_daemon_start: start the daemon on E2E_DPORT (picked once, reused by
# restarts) and wait until it answers authoritatively.
e2e_daemon_start() {
	[ -n "${E2E_DPORT:-}" ] || E2E_DPORT=$(free_port)
	E2E_SOCKETMAP=socketmap:inet:127.0.0.1:$E2E_DPORT:$E2E_MAP
	# Keep the daemon's state file (if it has one) inside the temp dir.
	local extra=()
	if "$TLSPOLICYD" --help 2>&1 | grep -q -- '--state-file'; then
		extra+=(--state-file "$E2E_TMP/snapshot")
	fi
	"$TLSPOLICYD" -f --listen "inet:127.0.0.1:$E2E_DPORT" \
		--database "$PGC_CONNINFO" --poll-interval 1 "${extra[@]}" \
		>>"$E2E_TMP/daemon.log" 2>&1 </dev/null &
	E2E_DAEMON_PID=$!
	e2e_log "daemon pid $E2E_DAEMON_PID on port $E2E_DPORT"
	# Ready = a definitive answer (NOTFOUND, as no row has that key) instead
	# of TEMP, which the daemon gives before its first load
	# (docs/protocol.md, "Replies").
	if ! e2e_wait 15 e2e_daemon_ready_or_dead ||
		e2e_pid_gone "$E2E_DAEMON_PID"; then
		sed 's/^/#   daemon: /' "$E2E_TMP/daemon.log" | tail -20
		e2e_die "daemon did not become ready on port $E2E_DPORT"
	fi
}

e2e_daemon_ready_or_dead() {
	e2e_pid_gone "$E2E_DAEMON_PID" && return 0
	case $(e2e_raw_query no-such-row.invalid) in
	NOTFOUND* | "OK "*) return 0 ;;
	*) return 1 ;;
	esac
}

# e2e_raw_query KEY: one socketmap request over bash's /dev/tcp; prints
# the raw reply payload.  Only for polling readiness: postmap(1) exits
# through msg_fatal() on a TEMP answer, and msg_fatal() sleeps 1 s.
e2e_raw_query() {
	local req="$E2E_MAP $1" reply LC_ALL=C
	exec 3<>"/dev/tcp/127.0.0.1/$E2E_DPORT" || return 1
	printf '%d:%s,' "${#req}" "$req" >&3
	IFS= read -r -d , -t 2 -u 3 reply
	exec 3>&-
	printf '%s\n' "${reply#*:}"
} 2>/dev/null

# e2e_daemon_stop: SIGTERM the daemon by pid, wait for it, and for the
# port to be free again.  E2E_DAEMON_STATUS: its exit status (tlspolicyd(8):
# 0 after SIGTERM; anything else, e.g. a sanitizer report, is a bug).
e2e_daemon_stop() {
	[ -n "$E2E_DAEMON_PID" ] || return 0
	kill -TERM "$E2E_DAEMON_PID" 2>/dev/null
	if ! e2e_wait 10 e2e_pid_gone "$E2E_DAEMON_PID"; then
		kill -KILL "$E2E_DAEMON_PID" 2>/dev/null
	fi
	wait "$E2E_DAEMON_PID" 2>/dev/null
	E2E_DAEMON_STATUS=$?
	E2E_DAEMON_PID=
	e2e_wait 5 e2e_not_listening "$E2E_DPORT"
}

e2e_pid_gone() { ! kill -0 "$1" 2>/dev/null; }

# e2e_query KEY: ask the daemon through Postfix's own client (postmap -q).
# Prints "OK <value>", "NOTFOUND", "TEMP <reason>", "PERM <reason>" or
# "ERROR <postmap's message>".  Any answer but OK and NOTFOUND costs 1 s
# (postmap ends in msg_fatal(), which sleeps): run those in parallel.
e2e_query() {
	local out err rc f=$E2E_TMP/query.$BASHPID.err
	out=$(postmap -c "$E2E_PF_ETC" -q "$1" "$E2E_SOCKETMAP" 2>"$f")
	rc=$?
	err=$(<"$f")
	rm -f "$f"
	e2e_classify "$rc" "$out" "$err"
}

e2e_classify() {
	local rc=$1 out=$2 err=$3
	if [ "$rc" -eq 0 ]; then
		printf 'OK %s\n' "$out"
	elif [ -z "$err" ]; then
		echo NOTFOUND
	elif [[ $err == *"socketmap server temporary error: "* ]]; then
		err=${err#*socketmap server temporary error: }
		printf 'TEMP %s\n' "${err%%$'\n'*}"
	elif [[ $err == *"socketmap server permanent error: "* ]]; then
		err=${err#*socketmap server permanent error: }
		printf 'PERM %s\n' "${err%%$'\n'*}"
	else
		printf 'ERROR %s\n' "${err//$'\n'/ | }"
	fi
}

# ---------------------------------------------------------------- smtp-sink

# e2e_sink_start: smtp-sink on a free loopback port.  It never announces
# STARTTLS (it has no TLS support at all), so every TLS-requiring level
# defers with 4.7.4 and every opportunistic one delivers in plaintext.
e2e_sink_start() {
	E2E_SINK_PORT=$(free_port)
	smtp-sink -4 -u postfix -h sink.tlspolicyd-e2e.invalid \
		"127.0.0.1:$E2E_SINK_PORT" 256 >>"$E2E_TMP/sink.log" 2>&1 </dev/null &
	E2E_SINK_PID=$!
	e2e_wait 10 e2e_listening "$E2E_SINK_PORT" ||
		e2e_die "smtp-sink did not listen on $E2E_SINK_PORT"
}

e2e_sink_stop() {
	[ -n "$E2E_SINK_PID" ] || return 0
	kill -TERM "$E2E_SINK_PID" 2>/dev/null
	wait "$E2E_SINK_PID" 2>/dev/null
	E2E_SINK_PID=
}

# ---------------------------------------------------------------- Postfix

# e2e_postfix_setup POLICY_MAPS: write the private instance's config.
# Needs E2E_SINK_PORT.  Test domains are added with e2e_hosts_add, extra
# main.cf lines with e2e_postconf.
e2e_postfix_setup() {
	local maps=$1
	E2E_PF=$E2E_TMP/pf
	E2E_PF_ETC=$E2E_PF/etc
	E2E_PF_SPOOL=$E2E_PF/spool
	E2E_MAILLOG=$E2E_TMP/maillog
	mkdir -p "$E2E_PF_ETC" "$E2E_PF_SPOOL/etc" "$E2E_PF/data"
	chown postfix: "$E2E_PF/data"
	: >"$E2E_MAILLOG"
	: >"$E2E_PF_ETC/transport"

	cat >"$E2E_PF_ETC/main.cf" <<EOF
# Private, throwaway instance of the tlspolicyd end-to-end test.
compatibility_level = 3.6
queue_directory = $E2E_PF_SPOOL
data_directory = $E2E_PF/data
# Log through postlogd into a file of our own; a path outside /var needs
# maillog_file_prefixes to allow it.
maillog_file = $E2E_MAILLOG
maillog_file_prefixes = $E2E_TMP
syslog_name = postfix-e2e
myhostname = $E2E_HOST
mydomain = tlspolicyd-e2e.invalid
myorigin = \$myhostname
# Nothing of the test domains is local: they all go out through smtp(8).
mydestination = \$myhostname
relay_domains =
relayhost =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
biff = no
# No DNS: smtp(8) resolves the test domains from its chroot's etc/hosts.
smtp_dns_support_level = disabled
smtp_host_lookup = native
smtp_tcp_port = $E2E_SINK_PORT
smtp_connect_timeout = 5s
transport_maps = texthash:$E2E_PF_ETC/transport
smtp_tls_security_level = may
smtp_tls_loglevel = 1
smtp_tls_policy_maps = $maps
# Fast and deterministic: no pickup or delivery pacing.
in_flow_delay = 0
delay_warning_time = 0
queue_run_delay = 300s
EOF

	# No smtpd listener at all: injection is by sendmail(1) into the
	# private maildrop, so no inet port of the system Postfix can collide.
	cat >"$E2E_PF_ETC/master.cf" <<'EOF'
# service type  private unpriv  chroot  wakeup  maxproc command
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
# smtp(8) chrooted into the queue directory, as Debian ships it.
smtp      unix  -       -       y       -       -       smtp
EOF

	e2e_backdate

	# The jail's name service: files only.
	printf 'hosts: files\n' >"$E2E_PF_SPOOL/etc/nsswitch.conf"
	printf '127.0.0.1\tlocalhost\n' >"$E2E_PF_SPOOL/etc/hosts"
	chmod 0644 "$E2E_PF_SPOOL/etc/nsswitch.conf" "$E2E_PF_SPOOL/etc/hosts"
}

# e2e_hosts_add DOMAIN...: make the domains resolve to 127.0.0.1 inside
# the smtp(8) chroot.  Takes effect at the next lookup (glibc reads the
# hosts file on every call), so it may run while Postfix is up.
e2e_hosts_add() {
	local d
	for d in "$@"; do
		printf '127.0.0.1\t%s\n' "$d"
	done >>"$E2E_PF_SPOOL/etc/hosts"
}

# e2e_transport_add DOMAIN NEXTHOP: route DOMAIN (texthash is read when a
# trivial-rewrite process starts, so call this before e2e_postfix_start).
e2e_transport_add() {
	printf '%s\t%s\n' "$1" "$2" >>"$E2E_PF_ETC/transport"
	e2e_backdate
}

# e2e_master_add LINE: one more master.cf service (before the start).
e2e_master_add() {
	printf '%s\n' "$1" >>"$E2E_PF_ETC/master.cf"
	e2e_backdate
}

e2e_postconf() {
	postconf -c "$E2E_PF_ETC" -e "$@"
	e2e_backdate
}

# Postfix rereads a main.cf that is less than about 2 s old (mtime), in
# 300 ms steps, until it is old enough (util/dict_file.c, "file is
# changing"): every command of a fresh instance then takes seconds.  The
# files are complete when written, so date them back instead of waiting.
e2e_backdate() {
	touch -d "@$(($(date +%s) - 60))" "$E2E_PF_ETC"/*
}

e2e_master_pid() {
	local f=$E2E_PF_SPOOL/pid/master.pid p
	[ -r "$f" ] || return 1
	read -r p <"$f" && [ -n "$p" ] && echo "$p"
}

e2e_postfix_running() {
	local p
	p=$(e2e_master_pid) && kill -0 "$p" 2>/dev/null
}

e2e_postfix_start() {
	local out
	out=$(postfix -c "$E2E_PF_ETC" start 2>&1) || {
		printf '%s\n' "$out" | sed 's/^/#   postfix: /'
		tail -20 "$E2E_MAILLOG" | sed 's/^/#   maillog: /'
		e2e_die "postfix start failed"
	}
	E2E_PF_STARTED=1
	# Ready when the master has logged its start and written its pid.
	e2e_wait 30 e2e_postfix_up || {
		tail -20 "$E2E_MAILLOG" | sed 's/^/#   maillog: /'
		e2e_die "private Postfix did not come up"
	}
	E2E_MASTER_PID=$(e2e_master_pid)
	e2e_log "postfix master pid $E2E_MASTER_PID"
}

e2e_postfix_up() {
	e2e_postfix_running &&
		grep -q 'postfix-e2e/master\[[0-9]*\]: daemon started' "$E2E_MAILLOG"
}

# Stop the instance; make sure the master (and with it its children) is
# gone.  The master pid is remembered, so a SIGKILL is the last resort.
e2e_postfix_stop() {
	[ -n "$E2E_PF_STARTED" ] || return 0
	E2E_PF_STARTED=
	local p
	p=${E2E_MASTER_PID:-$(e2e_master_pid)}
	postfix -c "$E2E_PF_ETC" stop >/dev/null 2>&1
	[ -n "$p" ] || return 0
	if ! e2e_wait 15 e2e_pid_gone "$p"; then
		printf '# postfix master %s did not stop; killing it\n' "$p" >&2
		kill -KILL "$p" 2>/dev/null
	fi
}

# ---------------------------------------------------------------- mail

# e2e_send RCPT MSGID: inject one message with a unique Message-ID.
e2e_send() {
	printf 'From: <%s>\nTo: <%s>\nSubject: tlspolicyd e2e\nMessage-ID: <%s>\n\nTest.\n' \
		"$E2E_SENDER" "$1" "$2" |
		sendmail -C "$E2E_PF_ETC" -i -f "$E2E_SENDER" -- "$1"
}

# e2e_qid MSGID: the queue id cleanup(8) logged for that Message-ID.
e2e_qid() {
	sed -n "s/^.* postfix-e2e\/cleanup\[[0-9]*\]: \([0-9A-Za-z]*\): message-id=<${1//./\\.}>\$/\1/p" \
		"$E2E_MAILLOG" | head -1
}

# e2e_outcome QID RCPT [SKIP]: the first delivery-status line for this
# queue id and recipient after the first SKIP (default 0) such lines.
# Case-insensitive on the recipient: Postfix logs it as written.
e2e_outcome() {
	local skip=${3:-0}
	grep -i -F -- " $1: to=<$2>," "$E2E_MAILLOG" | grep -F ' status=' |
		sed -n "$((skip + 1))p"
}

# e2e_wait_outcome MSGID RCPT [SKIP]: wait (deadline) for the queue id,
# then for its next status line; sets E2E_QID, E2E_LINE, E2E_DSN,
# E2E_STATUS (sent/deferred/bounced) and E2E_WHY (the text in parens).
e2e_wait_outcome() {
	local msgid=$1 rcpt=$2 skip=${3:-0}
	E2E_QID='' E2E_LINE='' E2E_DSN='' E2E_STATUS='' E2E_WHY=''
	e2e_wait 20 e2e__have_qid "$msgid" || return 1
	e2e_wait 20 e2e__have_outcome "$rcpt" "$skip" || return 1
	E2E_DSN=$(sed -n 's/.* dsn=\([0-9.]*\),.*/\1/p' <<<"$E2E_LINE")
	E2E_STATUS=$(sed -n 's/.* status=\([a-z]*\).*/\1/p' <<<"$E2E_LINE")
	E2E_WHY=$(sed -n 's/.* status=[a-z]* (\(.*\))$/\1/p' <<<"$E2E_LINE")
	return 0
}
e2e__have_qid() { E2E_QID=$(e2e_qid "$1"); [ -n "$E2E_QID" ]; }
e2e__have_outcome() {
	E2E_LINE=$(e2e_outcome "$E2E_QID" "$1" "$2")
	[ -n "$E2E_LINE" ]
}

# e2e_flush [QID...]: postqueue -f (which also un-throttles destinations
# qmgr marked dead), once the named messages are in the deferred queue:
# smtp(8) logs the deferral before qmgr moves the file there, and a flush
# in between would leave a message alone until the next queue run.
e2e_flush() {
	local q
	for q in "$@"; do
		e2e_wait 10 e2e_in_deferred "$q" ||
			printf '# %s not in the deferred queue; flushing anyway\n' "$q"
	done
	postqueue -c "$E2E_PF_ETC" -f
}

e2e_in_deferred() {
	[ -n "$(find "$E2E_PF_SPOOL/deferred" -name "$1" -print -quit 2>/dev/null)" ]
}

# e2e_start_all: the whole bench on loopback (cluster, sink, private
# Postfix pointed at the daemon's future port E2E_DPORT); the daemon itself
# is started by each test.
e2e_start_all() {
	e2e_init
	[ -x "$TLSPOLICYD" ] || e2e_die "daemon not found: $TLSPOLICYD (build it, or set TLSPOLICYD)"
	e2e_pg_start
	e2e_sink_start
	E2E_DPORT=$(free_port)
	e2e_postfix_setup "socketmap:inet:127.0.0.1:$E2E_DPORT:$E2E_MAP"
}
