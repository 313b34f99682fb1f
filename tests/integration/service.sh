#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
#
# service.sh - running as a service (issue 9, items 2, 3, 5 and 8): the
# systemd notifications captured on a NOTIFY_SOCKET (READY=1, STATUS=,
# RELOADING=1/READY=1, STOPPING=1, WATCHDOG=1; path and abstract sockets);
# SIGHUP applying log_level and max_stale live without dropping an open
# connection, reporting a bad file and keeping the running config, and
# keeping a changed listen ("needs a restart"), max_stale raised and
# postfix_compat changed while the database is down (what the log says);
# SIGTERM with clients connected, and a SIGHUP during that drain ignored;
# as root, the privilege drop (/proc uid, gid, groups, capabilities; a
# root-only file it can no longer open), the unix socket's owner, group
# and mode, with postmap as a user in the group and one outside it, the
# socket directory rule (refused: one of the daemon user's, a group-
# writable one; accepted: root's 0750, a sticky one), a link planted at
# the socket path never followed, unknown listen_owner/listen_group exit
# 2, and /etc/tlspolicyd.conf (no -c) gone at SIGHUP keeps the running
# configuration (only when no such file exists already).  Called by `make check-integration`; the root-only part
# says "# skip" when not root.
#
#   tests/integration/service.sh          uses ./tlspolicyd of this tree
#   TLSPOLICYD=/path/to/bin service.sh    another binary
#   IT_KEEP=1 service.sh                  keep the temp dir (logs)
#
# Output as run.sh: "ok N - ..." / "not ok N - ..." with "#" diagnostics,
# then "N passed, M failed".

set -u

# shellcheck source=lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

SQL_DONE_US=

# expect_true DESC COMMAND...: the command succeeds.
expect_true() {
	local desc=$1
	shift
	if "$@"; then
		pass "$desc"
	else
		fail "$desc" "${WHY:-}"
	fi
}

# --- helpers in python3 (tools/deps.sh's check profile installs it)

write_helpers() {
	# notify.py SOCKET OUT: receive sd_notify datagrams, one line each in
	# OUT ("|" for the newlines inside one), until killed.  "@name" is an
	# abstract socket.  Binds, then creates OUT.ready.
	cat >"$IT_TMP/notify.py" <<'EOF'
import socket, sys
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\0" + path[1:] if path.startswith("@") else path)
open(out + ".ready", "w").close()
with open(out, "a", buffering=1) as f:
    while True:
        msg = s.recv(4096).decode("utf-8", "replace")
        f.write(msg.replace("\n", "|") + "\n")
EOF
	# probe.py PORT: one socketmap connection held open; each stdin line
	# is a key, answered by one stdout line: the reply payload, or
	# "EOF"/"ERROR ..." when the connection broke.
	cat >"$IT_TMP/probe.py" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
def reply():
    buf = b""
    while b":" not in buf:
        c = s.recv(1)
        if not c:
            return "EOF"
        buf += c
    n = int(buf[:-1])
    data = b""
    while len(data) < n + 1:
        c = s.recv(n + 1 - len(data))
        if not c:
            return "EOF"
        data += c
    return data[:-1].decode()
for line in sys.stdin:
    key = line.rstrip("\n")
    req = ("tlspolicy " + key).encode()
    try:
        s.sendall(b"%d:%s," % (len(req), req))
        print(reply(), flush=True)
    except OSError as e:
        print("ERROR", e, flush=True)
EOF
	# stopper.py PID PORT [hup]: SIGTERM with clients connected.  Opens
	# idle connections, one holding half a request, and one with a 4 KiB
	# receive buffer that pipelines requests for 0.3 s without reading,
	# so replies are still owed (in the daemon's buffer) at the signal;
	# sends SIGTERM (with "hup": and SIGHUP 50 ms later, while those
	# replies are still owed); then reads every connection to EOF.  Prints:
	# sent=N answered=N complete=yes|no partial_reply=BYTES
	# idle_eof=yes|no exit_ms=MS.
	cat >"$IT_TMP/stopper.py" <<'EOF'
import os, signal, socket, sys, time
pid, port = int(sys.argv[1]), int(sys.argv[2])
def conn():
    return socket.create_connection(("127.0.0.1", port), timeout=5)
idle = [conn() for _ in range(3)]
partial = conn()
req = b"tlspolicy example.com"
partial.sendall(b"%d:%s" % (len(req), req[:8]))
busy = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
busy.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
busy.connect(("127.0.0.1", port))
frame = b"%d:%s," % (len(req), req)
chunk, sent = frame * 1000, 0
busy.settimeout(0.3)
end = time.monotonic() + 0.3
try:
    while time.monotonic() < end:
        sent += busy.send(chunk)
except OSError:
    pass
busy.settimeout(5)
t0 = time.monotonic()
os.kill(pid, signal.SIGTERM)
if sys.argv[3:] == ["hup"]:
    time.sleep(0.05)
    os.kill(pid, signal.SIGHUP)
def drain(s):
    out = b""
    while True:
        try:
            c = s.recv(65536)
        except OSError:
            break
        if not c:
            break
        out += c
    return out
data = drain(busy)
n, off, complete = 0, 0, True
while off < len(data):
    colon = data.find(b":", off)
    if colon < 0:
        complete = False
        break
    ln = int(data[off:colon])
    if len(data) < colon + 1 + ln + 1 or data[colon + 1 + ln:colon + 2 + ln] != b",":
        complete = False
        break
    if not data[colon + 1:colon + 1 + ln].startswith(b"OK "):
        complete = False
    n += 1
    off = colon + 2 + ln
pr = drain(partial)
eofs = all(drain(s) == b"" for s in idle)
def gone():
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] in ("Z", "X")
    except OSError:
        return True
while not gone() and time.monotonic() - t0 < 5:
    time.sleep(0.005)
ms = int((time.monotonic() - t0) * 1000)
print("sent=%d answered=%d complete=%s partial_reply=%d idle_eof=%s "
      "exit_ms=%d" % (sent // len(frame), n, "yes" if complete else "no",
      len(pr), "yes" if eofs else "no", ms))
EOF
}

# notify_start NAME SOCKET: a listener writing $IT_TMP/NAME.notify.
notify_start() {
	local i
	it_spawn "$1-listener" python3 "$IT_TMP/notify.py" "$2" \
		"$IT_TMP/$1.notify"
	for i in $(seq 1 50); do
		[ -f "$IT_TMP/$1.notify.ready" ] && return 0
		sleep 0.05
	done
	return 1
}

# notify_wait SECS NAME FROM REGEX: a message matching REGEX (grep -E) at
# line FROM or later of NAME.notify; NOTIFY_LINE is the first such line
# number.
notify_wait() {
	local secs=$1 f=$IT_TMP/$2.notify from=$3 re=$4 deadline l
	deadline=$(($(now_us) + secs * 1000000))
	while :; do
		l=$(tail -n "+$from" "$f" 2>/dev/null | grep -nE -- "$re" | head -n 1)
		if [ -n "$l" ]; then
			NOTIFY_LINE=$((from + ${l%%:*} - 1))
			return 0
		fi
		[ "$(now_us)" -lt "$deadline" ] || return 1
		sleep 0.05
	done
}

notify_mark() {
	local n=0
	[ -f "$IT_TMP/$1.notify" ] && n=$(wc -l <"$IT_TMP/$1.notify")
	echo $((n + 1))
}

notify_tail() {
	tail -n 8 "$IT_TMP/$1.notify" 2>/dev/null | tr '\n' '/'
}

# probe_ask KEY: one lookup on the held connection; PROBE_OUT.
probe_ask() {
	PROBE_OUT=
	printf '%s\n' "$1" >&"${PROBE[1]}" 2>/dev/null || {
		PROBE_OUT="probe gone"
		return 1
	}
	read -r -t 5 PROBE_OUT <&"${PROBE[0]}" || PROBE_OUT="no answer"
}

# hup_and_wait NAME PID STRING: SIGHUP, then a log line with STRING.
hup_and_wait() {
	IT_LOG_FROM=$(it_log_mark "$1")
	kill -HUP "$2"
	it_wait_log 5 "$1" "$3"
}

# ------------------------------------------------------------------ setup

SCEN=setup
it_setup_or_bail
command -v python3 >/dev/null || bail "python3 is installed"
write_helpers
sql "INSERT INTO public.tls_policy (target, policy) VALUES
	('example.com', 'secure'), ('example.org', 'encrypt')" ||
	bail "example rows"
pass "PostgreSQL cluster on port $PGPORT with two rows"

it_free_port || bail "a free port"
PORT=$IT_PORT
it_free_port || bail "a free port"
PORT2=$IT_PORT
CONF=$IT_TMP/svc.conf
mkdir -p "$IT_TMP/state"
write_conf() {
	{
		printf 'listen = inet:127.0.0.1:%s\n' "${1:-$PORT}"
		printf 'database = %s\n' "$PGC_CONNINFO"
		printf 'poll_interval = 200ms\n'
		printf 'reconnect_max = 200ms\n'
		printf 'state_file = %s\n' "$IT_TMP/state/svc"
		printf '%s\n' "${@:2}"
	} >"$CONF"
}
write_conf "$PORT" 'max_stale = 1h'

# ------------------------------------------------------------- sd_notify

SCEN=sd_notify
notify_start svc "$IT_TMP/notify.sock" || bail "notification listener"
it_spawn svc env NOTIFY_SOCKET="$IT_TMP/notify.sock" WATCHDOG_USEC=200000 \
	"$TLSPOLICYD" -f -c "$CONF"
SVC=$IT_PID
it_wait_ready "$PORT" 10 "$SVC" || bail "daemon answers on $PORT"
Q_PORT=$PORT

if notify_wait 5 svc 1 '^READY=1$'; then
	pass "READY=1 once listening"
else
	fail "READY=1 once listening" "messages: $(notify_tail svc)"
fi
if notify_wait 5 svc 1 '^STATUS=2 rows, fresh; database connected$'; then
	pass "STATUS= says the rows, fresh, database connected"
else
	fail "STATUS= says the rows, fresh, database connected" \
		"messages: $(notify_tail svc)"
fi
# STATUS= only when it changes: no repeats of the same text
dups=$(grep '^STATUS=' "$IT_TMP/svc.notify" | uniq -d | wc -l)
expect_eq "STATUS= is sent only when its text changes" "$dups" 0
from=$(notify_mark svc)
sleep 1
pings=$(tail -n "+$from" "$IT_TMP/svc.notify" | grep -c '^WATCHDOG=1$')
if [ "$pings" -ge 7 ] && [ "$pings" -le 13 ]; then
	pass "WATCHDOG_USEC=200000: a WATCHDOG=1 every 100 ms ($pings in 1 s)"
else
	fail "WATCHDOG_USEC=200000: a WATCHDOG=1 every 100 ms" "$pings in 1 s"
fi

# abstract socket, and WATCHDOG_PID naming another process: no pings
abs=@tlspolicyd-it-$$-$RANDOM
notify_start abs "$abs" || bail "abstract notification listener"
it_free_port || bail "a free port"
PORT3=$IT_PORT
it_spawn abs env NOTIFY_SOCKET="$abs" WATCHDOG_USEC=100000 WATCHDOG_PID=1 \
	"$TLSPOLICYD" -f -c /dev/null --listen "inet:127.0.0.1:$PORT3" \
	--database "$PGC_CONNINFO" --state-file ''
ABS=$IT_PID
if notify_wait 5 abs 1 '^READY=1$'; then
	pass "READY=1 on an abstract NOTIFY_SOCKET (@name)"
else
	fail "READY=1 on an abstract NOTIFY_SOCKET (@name)" \
		"messages: $(notify_tail abs); log: $(tail -n 3 "$IT_TMP/abs.log")"
fi
sleep 0.3
expect_eq "WATCHDOG_PID of another process: no pings" \
	"$(grep -c '^WATCHDOG=1$' "$IT_TMP/abs.notify")" 0
it_stop_daemons "$ABS:abstract"

# ------------------------------------------------------------ SIGHUP

SCEN="SIGHUP, unchanged file"
coproc PROBE { python3 "$IT_TMP/probe.py" "$PORT"; }
probe_ask example.com
expect_eq "held connection: example.com" "$PROBE_OUT" "OK secure"
from=$(notify_mark svc)
if hup_and_wait svc "$SVC" "reloading the policy table" &&
	it_wait_log 5 svc "pgsync: reloaded" "(SIGHUP)"; then
	pass "SIGHUP with an unchanged file reloads the table in full"
else
	fail "SIGHUP with an unchanged file reloads the table in full" \
		"$(tail -n 5 "$IT_TMP/svc.log")"
fi
if notify_wait 3 svc "$from" '^RELOADING=1\|MONOTONIC_USEC=[0-9]+$' &&
	r=$NOTIFY_LINE && notify_wait 3 svc "$r" '^READY=1$'; then
	pass "RELOADING=1 (with MONOTONIC_USEC) then READY=1"
else
	fail "RELOADING=1 (with MONOTONIC_USEC) then READY=1" \
		"messages: $(notify_tail svc)"
fi

SCEN="SIGHUP, log_level"
write_conf "$PORT" 'max_stale = 1h' 'log_level = debug'
if hup_and_wait svc "$SVC" "SIGHUP: log_level changed"; then
	pass "log_level = debug taken on SIGHUP"
else
	fail "log_level = debug taken on SIGHUP" "$(tail -n 5 "$IT_TMP/svc.log")"
fi
IT_LOG_FROM=$(it_log_mark svc)
probe_ask example.org
expect_eq "the connection held across SIGHUP still answers" "$PROBE_OUT" \
	"OK encrypt"
sleep 0.1
n=$(it_log_count svc "debug: conn:" 'request "tlspolicy example.org"')
expect_eq "debug lines appear at once (the lookup is logged)" "$n" 1

SCEN="SIGHUP, bad file"
write_conf "$PORT" 'max_stale = 1h' 'log_level = debug' 'idle_timeout = soon'
from=$(notify_mark svc)
if hup_and_wait svc "$SVC" "keeping the running configuration"; then
	line=$(it_log_lines svc "keeping the running configuration")
	if [[ $line == *"$CONF:8: idle_timeout"* ]] &&
		[ "$(it_log_count svc "error:")" = 1 ]; then
		pass "a bad file is one error line naming file:line and key"
	else
		fail "a bad file is one error line naming file:line and key" \
			"$(it_log_lines svc "error:")"
	fi
else
	fail "a bad file on SIGHUP is reported" "$(tail -n 5 "$IT_TMP/svc.log")"
fi
probe_ask example.com
expect_eq "... and the daemon keeps answering on the same connection" \
	"$PROBE_OUT" "OK secure"
if notify_wait 3 svc "$from" '^READY=1$'; then
	pass "READY=1 after a refused reload"
else
	fail "READY=1 after a refused reload" "messages: $(notify_tail svc)"
fi

SCEN="SIGHUP, listen"
write_conf "$PORT2" 'max_stale = 1h' 'log_level = debug'
if hup_and_wait svc "$SVC" "listen changed: needs a restart"; then
	pass "a changed listen logs \"listen changed: needs a restart\""
else
	fail "a changed listen logs \"listen changed: needs a restart\"" \
		"$(tail -n 5 "$IT_TMP/svc.log")"
fi
expect_ok example.com secure
q example.com "$PORT2"
if [ "$Q_RC" != 0 ] && [[ $Q_ERR == *"connect"* || $Q_ERR == *"refused"* ]]; then
	pass "the new listen address is not bound"
else
	fail "the new listen address is not bound" "$(got)"
fi

SCEN="SIGHUP, max_stale"
pgc_as "$PGC_BINDIR/pg_ctl" -D "$PGC_DIR/data" -m fast -w stop \
	>/dev/null 2>&1 || bail "stop PostgreSQL"
if notify_wait 5 svc 1 '^STATUS=2 rows, stale since [0-9-]+T[0-9:]+Z; database not connected$'; then
	pass "STATUS= says stale since <UTC> and not connected"
else
	fail "STATUS= says stale since <UTC> and not connected" \
		"messages: $(notify_tail svc)"
fi
probe_ask example.com
expect_eq "within max_stale (1h) the last data is served" "$PROBE_OUT" \
	"OK secure"
write_conf "$PORT2" 'max_stale = 1s' 'log_level = debug'
hup_and_wait svc "$SVC" "SIGHUP: max_stale changed"
sleep 1.2
probe_ask example.com
if [[ $PROBE_OUT == "TEMP policy data stale since "* ]]; then
	pass "max_stale shrunk to 1s by SIGHUP: TEMP stale, same connection"
else
	fail "max_stale shrunk to 1s by SIGHUP: TEMP stale, same connection" \
		"got [$PROBE_OUT]"
fi
if notify_wait 3 svc 1 'past max_stale: answering TEMP; database not connected$'; then
	pass "STATUS= says past max_stale"
else
	fail "STATUS= says past max_stale" "messages: $(notify_tail svc)"
fi
write_conf "$PORT2" 'max_stale = 1h'
hup_and_wait svc "$SVC" "SIGHUP: max_stale changed"
probe_ask example.com
expect_eq "max_stale back to 1h: served again, same connection" \
	"$PROBE_OUT" "OK secure"
if it_wait_log 3 svc "warning: pgsync: policy data no longer past max_stale" &&
	[ "$(it_log_count svc "current again")" = 0 ]; then
	pass "max_stale raised, database still down: \"no longer past max_stale\", not \"current again\""
else
	fail "max_stale raised, database still down: \"no longer past max_stale\"" \
		"$(it_log_lines svc "pgsync:" | tail -n 3)"
fi

SCEN="SIGHUP, postfix_compat while down"
write_conf "$PORT2" 'max_stale = 1h' 'postfix_compat = 3.10'
if hup_and_wait svc "$SVC" "SIGHUP: postfix_compat: the database is not connected" &&
	[ "$(it_log_count svc "warning:" "applies from the next successful load")" = 1 ]; then
	pass "postfix_compat changed while the database is down: logged as applying at the next load"
else
	fail "postfix_compat changed while the database is down: logged as applying at the next load" \
		"$(tail -n 5 "$IT_TMP/svc.log")"
fi
probe_ask example.com
expect_eq "... the data served stays" "$PROBE_OUT" "OK secure"
exec {PROBE[1]}>&-
wait "$PROBE_PID" 2>/dev/null

SCEN="SIGTERM with clients"
from=$(notify_mark svc)
IT_LOG_FROM=$(it_log_mark svc)
out=$(python3 "$IT_TMP/stopper.py" "$SVC" "$PORT" hup)
wait "$SVC"
rc=$?
it_forget "$SVC"
expect_eq "SIGTERM with clients connected: exit 0" "$rc" 0
answered=${out#*answered=}
answered=${answered%% *}
ms=${out##*exit_ms=}
if [[ $out == *"complete=yes"* ]] && [ "${answered:-0}" -ge 1 ]; then
	pass "every answered request got its full reply ($answered answered, ${out%% *})"
else
	fail "every answered request got its full reply" "$out"
fi
if [[ $out == *"partial_reply=0 "* ]] && [[ $out == *"idle_eof=yes"* ]]; then
	pass "half a request gets no reply; idle connections see EOF"
else
	fail "half a request gets no reply; idle connections see EOF" "$out"
fi
if [ "${ms:-9999}" -lt 1000 ]; then
	pass "exited within a second of SIGTERM ($ms ms)"
else
	fail "exited within a second of SIGTERM" "$out"
fi
if notify_wait 2 svc "$from" '^STOPPING=1$'; then
	pass "STOPPING=1 at SIGTERM"
	after=$(tail -n "+$NOTIFY_LINE" "$IT_TMP/svc.notify" |
		grep -cE '^(RELOADING|READY)=1')
	if [ "$after" = 0 ] &&
		[ "$(it_log_count svc "SIGHUP while stopping: ignored")" = 1 ] &&
		[ "$(it_log_count svc "SIGHUP:")" = 0 ]; then
		pass "a SIGHUP during the drain is ignored: no reload, no RELOADING=1/READY=1 after STOPPING=1"
	else
		fail "a SIGHUP during the drain is ignored" \
			"messages: $(notify_tail svc)" \
			"$(it_log_lines svc "SIGHUP")"
	fi
else
	fail "STOPPING=1 at SIGTERM" "messages: $(notify_tail svc)"
fi

SCEN="unix socket directory"
run_cmd "$TLSPOLICYD" -f -c /dev/null --listen "unix:$IT_TMP/none/socket" \
	--database "$PGC_CONNINFO" --state-file ''
expect_cmd "a missing socket directory is a clear error" 1 "" \
	"directory $IT_TMP/none: No such file or directory"

# ---------------------------------------------- as root: privilege drop

SCEN="privilege drop"
if [ "$(id -u)" != 0 ]; then
	echo "# skip privilege drop and socket ownership: not root"
	finish
fi
for t in useradd groupadd userdel groupdel runuser; do
	command -v "$t" >/dev/null || {
		echo "# skip privilege drop and socket ownership: no $t"
		finish
	}
done
SUF=$$
GRP=tlsit_g$SUF
DUSER=tlsit_d$SUF
IN=tlsit_i$SUF
OUT=tlsit_o$SUF
ETC_CONF=
cleanup_users() {
	local u
	[ -n "$ETC_CONF" ] && rm -f "$ETC_CONF"
	for u in "$DUSER" "$IN" "$OUT"; do
		userdel "$u" >/dev/null 2>&1
	done
	groupdel "$GRP" >/dev/null 2>&1
	it_cleanup
}
trap cleanup_users EXIT
groupadd "$GRP" && useradd -M -N -s /usr/sbin/nologin -G "$GRP" "$DUSER" &&
	useradd -M -N -s /usr/sbin/nologin -G "$GRP" "$IN" &&
	useradd -M -N -s /usr/sbin/nologin "$OUT" ||
	bail "temporary group $GRP and users $DUSER, $IN, $OUT"
pgc_as "$PGC_BINDIR/pg_ctl" -D "$PGC_DIR/data" -l "$PGC_DIR/server.log" \
	-w -t 30 -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $PGC_DIR" \
	start >/dev/null 2>&1 || bail "PostgreSQL started again"
DUID=$(id -u "$DUSER")
DGID=$(id -g "$DUSER")
GGID=$(getent group "$GRP" | cut -d: -f3)

# started as root, the socket's directory is root's; sticky and writable
# by $GRP, so the daemon (in $GRP) can remove its socket at exit and
# nobody can swap root's socket before the chown; others may traverse
mkdir -m 1771 "$IT_TMP/run" && chown "root:$GRP" "$IT_TMP/run"
mkdir -m 0700 "$IT_TMP/rootonly"
SOCK=$IT_TMP/run/socket
RCONF=$IT_TMP/root.conf
{
	printf 'listen = unix:%s\n' "$SOCK"
	printf 'listen = inet:127.0.0.1:%s\n' "$PORT"
	printf 'database = %s\n' "$PGC_CONNINFO"
	printf 'user = %s\n' "$DUSER"
	printf 'listen_group = %s\n' "$GRP"
	printf 'state_file = %s\n' "$IT_TMP/rootonly/snapshot"
} >"$RCONF"
chmod 0644 "$RCONF"
it_spawn root "$TLSPOLICYD" -f -c "$RCONF"
ROOT=$IT_PID
it_wait_ready "$PORT" 10 "$ROOT" || bail "daemon started as root answers"
st=/proc/$ROOT/status
expect_eq "/proc: Uid is $DUSER's in all four" \
	"$(awk '/^Uid:/ {print $2, $3, $4, $5}' "$st")" \
	"$DUID $DUID $DUID $DUID"
expect_eq "/proc: Gid is $DUSER's in all four" \
	"$(awk '/^Gid:/ {print $2, $3, $4, $5}' "$st")" \
	"$DGID $DGID $DGID $DGID"
expect_eq "/proc: Groups are $DUSER's (with $GRP), not root's" \
	"$(awk '/^Groups:/ {$1 = ""; print}' "$st" | tr ' ' '\n' | sort -n |
		tr '\n' ' ' | sed 's/^ *//; s/ *$//')" \
	"$(printf '%s\n' "$DGID" "$GGID" | sort -nu | tr '\n' ' ' | sed 's/ *$//')"
expect_eq "/proc: no capabilities (CapEff, CapPrm)" \
	"$(awk '/^CapEff:|^CapPrm:/ {print $2}' "$st" | tr '\n' ' ')" \
	"0000000000000000 0000000000000000 "
IT_LOG_FROM=1
if it_wait_log 5 root "warning:" "$IT_TMP/rootonly" "Permission denied"; then
	pass "state_file in a root-only 0700 directory: a warning after the drop"
else
	fail "state_file in a root-only 0700 directory: a warning after the drop" \
		"$(tail -n 5 "$IT_TMP/root.log")"
fi
chmod 0600 "$RCONF"
if hup_and_wait root "$ROOT" "keeping the running configuration" &&
	[ "$(it_log_count root "$RCONF: Permission denied")" = 1 ]; then
	pass "a root-owned 0600 config file can no longer be opened (SIGHUP)"
else
	fail "a root-owned 0600 config file can no longer be opened (SIGHUP)" \
		"$(tail -n 3 "$IT_TMP/root.log")"
fi
chmod 0644 "$RCONF"

SCEN="unix socket"
expect_eq "socket mode, owner and group" "$(stat -c '%a %U %G' "$SOCK")" \
	"660 $DUSER $GRP"
PF=$IT_PFCONF
uq() {
	Q_OUT=$(cd / && timeout 10 runuser -u "$1" -- postmap -c "$PF" -q \
		example.com "socketmap:unix:$SOCK:tlspolicy" 2>&1)
	Q_RC=$?
}
uq "$IN"
expect_eq "postmap -q as $IN (in $GRP) over the unix socket" \
	"$Q_RC $Q_OUT" "0 secure"
uq "$OUT"
if [ "$Q_RC" != 0 ] && [[ $Q_OUT == *"Permission denied"* ]]; then
	pass "postmap -q as $OUT (not in $GRP): permission denied"
else
	fail "postmap -q as $OUT (not in $GRP): permission denied" \
		"exit $Q_RC: $Q_OUT"
fi
it_stop_daemons "$ROOT:root"
if [ ! -e "$SOCK" ]; then
	pass "the socket is removed at exit (by the unprivileged daemon)"
else
	fail "the socket is removed at exit (by the unprivileged daemon)"
fi

SCEN="user errors"
run_cmd "$TLSPOLICYD" -f -c /dev/null --listen "inet:127.0.0.1:$PORT2" \
	--database "$PGC_CONNINFO" --state-file '' --user "nosuch$SUF"
expect_cmd "an unknown user: exit 2 naming the key" 2 "" \
	"user: no such user \"nosuch$SUF\""
run_cmd runuser -u "$OUT" -- "$TLSPOLICYD" -f -c /dev/null \
	--listen "inet:127.0.0.1:$PORT2" --database "$PGC_CONNINFO" \
	--state-file '' --user "$DUSER"
expect_cmd "not root and another user set: exit 2 naming the key" 2 "" \
	"user: \"$DUSER\" is set, but tlspolicyd was started as uid"
run_cmd "$TLSPOLICYD" -f -c /dev/null --listen "unix:$IT_TMP/run/s2" \
	--database "$PGC_CONNINFO" --state-file '' \
	--listen-group "nosuch$SUF"
expect_cmd "an unknown listen_group: exit 2 naming the key" 2 "" \
	"listen_group: no such group \"nosuch$SUF\""
run_cmd "$TLSPOLICYD" -f -c /dev/null --listen "unix:$IT_TMP/run/s2" \
	--database "$PGC_CONNINFO" --state-file '' \
	--listen-owner "nosuch$SUF"
expect_cmd "an unknown listen_owner: exit 2 naming the key" 2 "" \
	"listen_owner: no such user \"nosuch$SUF\""
expect_eq "... and no socket was bound" "$(ls "$IT_TMP/run")" ""
run_cmd "$TLSPOLICYD" -f -c /dev/null --listen "inet:127.0.0.1:$PORT2" \
	--database "$PGC_CONNINFO" --state-file '' --listen-group "nosuch$SUF"
expect_cmd "an unknown listen_group with inet: listeners only: exit 2" 2 "" \
	"listen_group: no such group \"nosuch$SUF\""

SCEN="socket directory rule"
# root_sock DIR [OPTION...]: start as root with user and listen_group,
# unix:DIR/socket (timeout: a daemon that starts would hang here).
root_sock() {
	local dir=$1
	shift
	run_cmd timeout 5 "$TLSPOLICYD" -f -c /dev/null \
		--listen "unix:$dir/socket" --database "$PGC_CONNINFO" \
		--state-file '' --user "$DUSER" --listen-group "$GRP" "$@"
}
# the layout the README gave before: the daemon user's own directory
mkdir -m 0755 "$IT_TMP/userdir" && chown "$DUSER:" "$IT_TMP/userdir"
root_sock "$IT_TMP/userdir"
expect_cmd "as root, a socket directory of the user's: exit 2 naming it" 2 \
	"" "listen: unix:$IT_TMP/userdir/socket: directory $IT_TMP/userdir belongs to uid $DUID: started as root"
mkdir -m 0770 "$IT_TMP/gw" && chown "root:$GRP" "$IT_TMP/gw"
root_sock "$IT_TMP/gw"
expect_cmd "a group-writable socket directory without the sticky bit: exit 2" \
	2 "" "directory $IT_TMP/gw is writable by its group (mode 0770)"
expect_eq "... and nothing was bound in either" \
	"$(find "$IT_TMP/userdir" "$IT_TMP/gw" -name socket | wc -l)" 0
# the documented layout for a root start: root's, the Postfix group, 0750
mkdir -m 0750 "$IT_TMP/rootdir" && chown "root:$GRP" "$IT_TMP/rootdir"
echo secret >"$IT_TMP/victim" && chmod 0600 "$IT_TMP/victim"
ln -s "$IT_TMP/victim" "$IT_TMP/rootdir/socket"
root_sock "$IT_TMP/rootdir"
expect_cmd "a link planted at the socket path: not followed, not removed, exit 1" \
	1 "" "something that is not a socket is in the way"
expect_eq "... its target keeps owner, group and mode" \
	"$(stat -c '%a %U %G' "$IT_TMP/victim") $(readlink "$IT_TMP/rootdir/socket")" \
	"600 root root $IT_TMP/victim"
rm -f "$IT_TMP/rootdir/socket"
it_spawn rootdir "$TLSPOLICYD" -f -c /dev/null \
	--listen "unix:$IT_TMP/rootdir/socket" \
	--listen "inet:127.0.0.1:$PORT" --database "$PGC_CONNINFO" \
	--state-file '' --user "$DUSER" --listen-group "$GRP" \
	--listen-mode 0620
RD=$IT_PID
if it_wait_ready "$PORT" 10 "$RD"; then
	pass "as root, root's 0750 socket directory is accepted"
	expect_eq "listen_mode 0620 comes out exactly (umask at bind)" \
		"$(stat -c '%a %U %G' "$IT_TMP/rootdir/socket")" \
		"620 $DUSER $GRP"
	SOCK=$IT_TMP/rootdir/socket
	uq "$IN"
	expect_eq "postmap -q as $IN (in $GRP) over that socket" \
		"$Q_RC $Q_OUT" "0 secure"
	it_stop_daemons "$RD:rootdir"
else
	fail "as root, root's 0750 socket directory is accepted" \
		"$(tail -n 3 "$IT_TMP/rootdir.log")"
fi

SCEN="default config file at SIGHUP"
if [ -e /etc/tlspolicyd.conf ]; then
	echo "# skip /etc/tlspolicyd.conf gone at SIGHUP: the file exists"
else
	ETC_CONF=/etc/tlspolicyd.conf
	{
		printf 'listen = inet:127.0.0.1:%s\n' "$PORT2"
		printf 'database = %s\n' "$PGC_CONNINFO"
		printf 'state_file =\n'
	} >"$ETC_CONF"
	it_spawn etc "$TLSPOLICYD" -f
	ETC=$IT_PID
	it_wait_ready "$PORT2" 10 "$ETC" || bail "daemon without -c answers"
	rm -f "$ETC_CONF"
	if hup_and_wait etc "$ETC" "keeping the running configuration" &&
		[ "$(it_log_count etc "$ETC_CONF: No such file or directory")" = 1 ]
	then
		pass "no -c: /etc/tlspolicyd.conf gone at SIGHUP keeps the running configuration"
	else
		fail "no -c: /etc/tlspolicyd.conf gone at SIGHUP keeps the running configuration" \
			"$(tail -n 3 "$IT_TMP/etc.log")"
	fi
	IT_LOG_FROM=$(it_log_mark etc)
	sleep 0.5
	Q_PORT=$PORT2 expect_ok example.com secure
	expect_eq "... no key changed" "$(it_log_count etc "changed")" 0
	it_stop_daemons "$ETC:etc"
fi

SCEN="inet::PORT"
# an empty host is every address, as in Postfix's inet:HOST:PORT
it_free_port || bail "a free port"
PANY=$IT_PORT
it_free_port || bail "a free port"
PANY2=$IT_PORT
it_daemon anyaddr "$PANY" "$PGC_CONNINFO" --listen "inet::$PANY2" ||
	bail "daemon with inet::$PANY2 starts" "$(tail -n 3 "$IT_TMP/anyaddr.log")"
ANY=$IT_PID
it_wait_ready "$PANY" 10 "$ANY" || bail "daemon anyaddr loads"
Q_PORT=$PANY2 expect_ok example.com secure
it_stop_daemons "$ANY:anyaddr"

SCEN=
finish
