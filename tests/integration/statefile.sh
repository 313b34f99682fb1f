#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
#
# statefile.sh - the persisted snapshot (issue 9, items 4, 5 and 8): a
# daemon restarted while the database is down answers as before from its
# state_file (OK, NOTFOUND, an invalid row's TEMP, a conflict, the parent
# walk, a corrected policy, expiry still honoured, also after a SIGHUP
# that starts a new session), until max_stale of the file's saved time,
# and within a second when the database host accepts and never speaks;
# the first load after the outage replaces it; a file that is corrupt,
# truncated, not ours, of a newer version, of another table or database,
# a FIFO, a symbolic link, of another owner, writable by others or in a
# directory others may write, holding a policy the parser would not
# write, or saved in the future is refused with one log line and never
# used; rows served after a SIGHUP keep the identity they were loaded
# with; a burst of 1 000 edits writes the file a few times, not 1 000;
# the writer keeps no descriptor of the daemon's, passes a FIFO or a
# stranger's file at FILE.tmp, and is killed 300 ms into SIGTERM; SIGTERM
# writes the file last if the rows changed, not if a young file holds
# them; a missing directory is one warning, an unwritable file a warning
# naming the path and errno, and the daemon serves either way.
# Called by `make check-integration`; never skips silently (the file of
# another owner says "# skip" when not root).
#
#   tests/integration/statefile.sh          uses ./tlspolicyd of this tree
#   TLSPOLICYD=/path/to/bin statefile.sh    another binary (the asan build)
#   IT_KEEP=1 statefile.sh                  keep the temp dir (logs)
#   IT_VERBOSE=1 statefile.sh               print the logs at the end
#
# Output as run.sh: "ok N - ..." / "not ok N - ..." with "#" diagnostics,
# then "N passed, M failed".  The file's layout (src/snapfile.c): magic at
# byte 0, version at 8, saved time (i64, little-endian) at 24.

set -u

# shellcheck source=lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

SQL_DONE_US=

# saved FILE: the saved time in the file's header, epoch seconds.
saved() {
	od -An -t d8 -j 24 -N 8 "$1" 2>/dev/null | tr -d ' '
}

# patch FILE OFFSET BYTE: overwrite one byte (BYTE in octal, e.g. 377).
patch() {
	printf "\\$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# temp_bg TAG PORT KEY: one postmap lookup in the background (a TEMP
# reply costs postmap a second), its result in $IT_TMP/bg.TAG.
BG_PIDS=()
temp_bg() {
	(
		timeout 10 postmap -c "$IT_PFCONF" -q "$3" \
			"socketmap:inet:127.0.0.1:$2:tlspolicy" \
			>/dev/null 2>"$IT_TMP/bg.$1.err"
		printf '%s\n' "$?" >"$IT_TMP/bg.$1"
		cat "$IT_TMP/bg.$1.err" >>"$IT_TMP/bg.$1"
	) &
	BG_PIDS+=($!)
}

# expect_temp_bg TAG SUBSTRING DESC: the background lookup TAG was a TEMP
# whose reason contains SUBSTRING.
expect_temp_bg() {
	local rc err reason
	rc=$(sed -n 1p "$IT_TMP/bg.$1" 2>/dev/null)
	err=$(sed -n '2,$p' "$IT_TMP/bg.$1" 2>/dev/null)
	reason=${err#*"socketmap server temporary error: "}
	reason=${reason%%$'\n'*}
	if { [ "$rc" = 1 ] || [ "$rc" = 75 ]; } &&
		[[ $err == *"socketmap server temporary error: "* ]] &&
		[[ $reason == *"$2"* ]]; then
		pass "$3"
	else
		fail "$3" "want: TEMP containing \"$2\"" "got: exit $rc, [$err]"
	fi
}

# forge SRC DST SAVED [KEY=TEXT...]: a file with SRC's identity, the saved
# time SAVED and the rows given (valid, no expiry; none: SRC's rows), its
# checksum right: what another user could write, the CRC being no secret.
forge() {
	python3 - "$@" <<'PY'
import struct, sys
src, dst, saved = sys.argv[1], sys.argv[2], int(sys.argv[3])
b = open(src, 'rb').read()
idlen = struct.unpack_from('<I', b, 12)[0]
gen, nrows = struct.unpack_from('<qQ', b, 32)
body = b[48 + idlen:-4]
if len(sys.argv) > 4:
    body, nrows = b'', len(sys.argv) - 4
    for kv in sys.argv[4:]:
        k, t = (x.encode() for x in kv.split('=', 1))
        body += struct.pack('<BH', 0, len(k)) + k + struct.pack('<H', len(t)) + t
data = b'TLSPSNAP' + struct.pack('<IIQqqQ', 1, idlen, 48 + idlen + len(body) + 4,
    saved, gen, nrows) + b[48:48 + idlen] + body
crc = 0xffffffff
for c in data:
    crc ^= c
    for _ in range(8):
        crc = (crc >> 1) ^ (0x82f63b78 if crc & 1 else 0)
open(dst, 'wb').write(data + struct.pack('<I', crc ^ 0xffffffff))
PY
}

# ident FILE: the identity lines of a state file.
ident() {
	python3 -c 'import struct, sys
b = open(sys.argv[1], "rb").read()
sys.stdout.write(b[48:48 + struct.unpack_from("<I", b, 12)[0]].decode())' "$1"
}

# children PID: the processes whose parent is PID.
children() {
	awk -v p="$1" '{ sub(/.*\) /, ""); if ($2 == p) print FILENAME }' \
		/proc/[0-9]*/stat 2>/dev/null | sed 's|/proc/||; s|/stat||'
}

pg_stop() {
	pgc_as "$PGC_BINDIR/pg_ctl" -D "$PGC_DIR/data" -m fast -w stop \
		>/dev/null 2>&1
}

pg_start() {
	pgc_as "$PGC_BINDIR/pg_ctl" -D "$PGC_DIR/data" -l "$PGC_DIR/server.log" \
		-w -t 30 -o "-c listen_addresses=127.0.0.1 -p $PGPORT -k $PGC_DIR -c fsync=off -c full_page_writes=off -c synchronous_commit=off" \
		start >/dev/null 2>&1
}

# ------------------------------------------------------------------ setup

SCEN=setup
it_setup_or_bail
sql "ALTER TABLE tls_policy DROP CONSTRAINT tls_policy_level_check;
	CREATE ROLE tlsd LOGIN;
	GRANT SELECT ON public.tls_policy, public.tlspolicyd_state,
		public.tlspolicyd_changes TO tlsd;
	INSERT INTO tls_policy (target, policy, parameters, comment) VALUES
	('ok.example', 'secure', '', 'a'),
	('bad.example', 'bogus', '', 'an invalid row'),
	('dup.example', 'may', '', 'one of two'),
	('dup.example.', 'encrypt', '', 'two of two'),
	('.parent.example', 'encrypt', '', 'the walk'),
	('proto.example', 'encrypt', 'protocols=!SSLv2,!SSLv3', 'corrected'),
	('gone.example', 'none', '', 'expires first'),
	('soon.example', 'may', '', 'expires later')" ||
	bail "role tlsd and the rows"
DB=$(it_conninfo "$PGPORT" tlsd)
ST=$IT_TMP/state
pass "PostgreSQL cluster on port $PGPORT with schema.sql and 8 rows"

# ------------------------------------------------- written after the load

SCEN=write
# a FIFO where the writer puts FILE.tmp: removed, never opened (a writer
# blocked in open() would never write, nor let SIGTERM end)
{ mkdir -p "$ST" && mkfifo "$ST/a.tmp"; } || bail "a FIFO at $ST/a.tmp"
it_free_port
PA=$IT_PORT
it_daemon a "$PA" "$DB" --log-level debug || bail "daemon a answers"
A_PID=$IT_PID
it_wait_ready "$PA" 10 "$A_PID" || bail "daemon a loads"
Q_PORT=$PA
expect_ok ok.example secure
deadline=$(($(now_us) + 5000000))
while [ ! -s "$ST/a" ] && [ "$(now_us)" -lt "$deadline" ]; do
	sleep 0.1
done
if [ -s "$ST/a" ] && [ "$(head -c 8 "$ST/a")" = TLSPSNAP ]; then
	pass "the state file is written after the first load, past a FIFO at FILE.tmp"
else
	fail "the state file is written after the first load, past a FIFO at FILE.tmp" \
		"$(ls -l "$ST" 2>&1)"
fi
perm=$(stat -c %a "$ST/a" 2>/dev/null)
expect_eq "the state file is readable by the daemon's user only" "$perm" 600
id_a=$(ident "$ST/a")
if grep -qx "hostaddr=127.0.0.1" <<<"$id_a" &&
	grep -qx "port=$PGPORT" <<<"$id_a" &&
	grep -qx "dbname=postgres" <<<"$id_a" &&
	! grep -q "user\|password" <<<"$id_a"; then
	pass "the identity names the database: hostaddr, port, dbname"
else
	fail "the identity names the database: hostaddr, port, dbname" "$id_a"
fi

# ------------------------------------------- the writer process, held up

SCEN=writer
# fsync() sleeps in any process but the daemon (an LD_PRELOAD shim): the
# writer child is held where its descriptors and signals can be seen, and
# SIGTERM finds a write under way that does not end.
cat >"$IT_TMP/slowsync.c" <<'EOF'
#include <sys/syscall.h>
#include <unistd.h>
static pid_t daemon_pid;
__attribute__((constructor)) static void init(void) { daemon_pid = getpid(); }
int fsync(int fd)
{
	if (getpid() != daemon_pid)
		sleep(30);
	return (int)syscall(SYS_fsync, fd);
}
EOF
cc -shared -fPIC -o "$IT_TMP/slowsync.so" "$IT_TMP/slowsync.c" ||
	bail "build the fsync shim"
# someone's file at FILE.tmp, writable by all: not reused
printf 'x' >"$ST/slow.tmp" && chmod 666 "$ST/slow.tmp"
it_free_port
PW=$IT_PORT
# (an ASan build wants its runtime first in the list; the shim only wraps
# fsync, so let it run second)
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0 \
LD_PRELOAD=$IT_TMP/slowsync.so it_daemon slow "$PW" "$DB" --log-level debug ||
	bail "daemon slow answers"
W_PID=$IT_PID
it_wait_ready "$PW" 10 "$W_PID" || bail "daemon slow loads"
# the write starts a second after the load; wait for its file to be open
child=
deadline=$(($(now_us) + 5000000))
while [ "$(now_us)" -lt "$deadline" ]; do
	child=$(children "$W_PID" | head -n 1)
	[ -n "$child" ] && for f in "/proc/$child"/fd/*; do
		[ "$(readlink "$f")" = "$ST/slow.tmp" ] && break 2
	done
	sleep 0.05
done
others=
pipes=0
for f in "/proc/$child"/fd/*; do
	n=${f##*/}
	[ "$n" -le 2 ] 2>/dev/null && continue
	t=$(readlink "$f")
	case $t in
	pipe:*) pipes=$((pipes + 1)) ;;
	"$ST/slow.tmp") ;;
	*) others+=" $n:$t" ;;
	esac
done
if [ -n "$child" ] && [ -z "$others" ] && [ "$pipes" = 1 ]; then
	pass "the writer keeps no descriptor of the daemon's but its pipe"
else
	fail "the writer keeps no descriptor of the daemon's but its pipe" \
		"child [$child], $pipes pipe(s), others:$others"
fi
sig=$(grep -E '^(SigBlk|SigCgt):' "/proc/$child/status" 2>/dev/null |
	tr -s '\t ' ' ' | tr '\n' ' ')
expect_eq "the writer runs no handler of the daemon's, blocks no signal" \
	"$sig" "SigBlk: 0000000000000000 SigCgt: 0000000000000000 "
t0=$(now_us)
it_stop "$W_PID"
stop_ms=$((($(now_us) - t0) / 1000))
if [ "$IT_STATUS" = 0 ] && [ "$stop_ms" -lt 1000 ] &&
	[ "$(it_log_count slow "did not finish within 300 ms")" = 1 ] &&
	[ "$(it_log_count slow "statefile: saved" "rows to $ST/slow")" = 1 ]; then
	pass "SIGTERM, the writer stuck: killed at 300 ms, the daemon writes, exit in $stop_ms ms"
else
	fail "SIGTERM, the writer stuck: killed at 300 ms, the daemon writes, exit within 1 s" \
		"exit $IT_STATUS after $stop_ms ms" \
		"$(it_log_lines slow statefile:)"
fi
state=$(sed -n 's/^State:[[:space:]]*\(.\).*/\1/p' "/proc/$child/status" \
	2>/dev/null)
perm=$(stat -c %a "$ST/slow" 2>/dev/null)
if [ "$state" != S ] && [ "$state" != D ] && [ "$perm" = 600 ] &&
	[ "$(head -c 8 "$ST/slow")" = TLSPSNAP ] && [ ! -e "$ST/slow.tmp" ]; then
	pass "the writer is gone, the file whole and 0600, no FILE.tmp left"
else
	fail "the writer is gone, the file whole and 0600, no FILE.tmp left" \
		"writer state [$state]" "$(ls -l "$ST")"
fi

# ------------------------------------------------- a burst of 1 000 edits

SCEN=burst
IT_LOG_FROM=$(it_log_mark a)
t0=$(now_us)
# a 50 ms pause every 50 edits: the daemon applies the burst in at least
# a handful of refreshes however fast psql runs, each well inside the
# state file's second of quiet
for i in $(seq 1 1000); do
	if [ $((i % 2)) = 0 ]; then l=secure; else l=verify; fi
	echo "UPDATE tls_policy SET policy = '$l' WHERE target = 'ok.example';"
	[ $((i % 50)) = 0 ] && echo "SELECT pg_sleep(0.05);"
done | psql -X -q -v ON_ERROR_STOP=1 >/dev/null 2>"$IT_TMP/burst.err" ||
	fail "1 000 single-row UPDATE transactions" "$(cat "$IT_TMP/burst.err")"
burst_ms=$((($(now_us) - t0) / 1000))
gen=$(it_val postgres "SELECT generation FROM public.tlspolicyd_state")
# the file catches up: a write of the last generation
if it_wait_log 15 a "statefile: wrote" "generation $gen,"; then
	pass "the burst ($burst_ms ms) is in the file (generation $gen)"
else
	fail "the burst ($burst_ms ms) is in the file (generation $gen)" \
		"$(it_log_lines a "statefile:" | tail -n 5)"
fi
sleep 1.5	# a write due now would show
applied=$(it_log_count a "pgsync: applied generation")
writes=$(it_log_count a "statefile: wrote")
# the quiet time, the minimum interval and the maximum delay bound it
bound=$((2 + burst_ms / 5000))
if [ "$applied" -ge 10 ] && [ "$writes" -ge 1 ] && [ "$writes" -le "$bound" ]
then
	pass "1 000 edits, $applied refreshes applied: $writes write(s), at most $bound"
else
	fail "1 000 edits, $applied refreshes applied: $writes write(s), at most $bound" \
		"$(it_log_lines a "statefile:" | tail -n 5)"
fi
expect_ok ok.example secure
unset IT_LOG_FROM

# ------------------------------------------------------ SIGTERM writes it

SCEN=sigterm
# expiring rows for the restart: one gone before it, one a little after
sql "UPDATE tls_policy SET expires_at = now() + interval '1.6 s'
		WHERE target = 'gone.example';
	UPDATE tls_policy SET expires_at = now() + interval '6 s'
		WHERE target = 'soon.example'"
SOON_US=$(($(now_us) + 6000000))
within_1s expect_ok soon.example may
before=$(saved "$ST/a")
sleep 1.2	# the polls move "last known current" on
IT_LOG_FROM=$(it_log_mark a)
t0=$(now_us)
it_stop "$A_PID"
stop_ms=$((($(now_us) - t0) / 1000))
if [ "$IT_STATUS" = 0 ] && [ "$stop_ms" -lt 1500 ]; then
	pass "SIGTERM -> exit 0 in $stop_ms ms"
else
	fail "SIGTERM -> exit 0 within 1.5 s" "exit $IT_STATUS after $stop_ms ms"
fi
after=$(saved "$ST/a")
if [ -n "$before" ] && [ -n "$after" ] && [ "$after" -gt "$before" ] &&
	[ "$(it_log_count a "statefile: saved" "rows to $ST/a")" = 1 ]; then
	pass "SIGTERM writes the file: saved time $before -> $after"
else
	fail "SIGTERM writes the file: saved time advances" \
		"before [$before] after [$after]" \
		"$(it_log_lines a statefile: | tail -n 3)"
fi
unset IT_LOG_FROM Q_PORT
if ls "$ST"/*.tmp >/dev/null 2>&1; then
	fail "no temporary file left behind" "$(ls "$ST")"
else
	pass "no temporary file left behind"
fi

# ------------------------------------------------- restart during an outage

SCEN=outage
# a daemon whose table changes by SIGHUP while the database is down, a
# write still pending: the old rows are written with the old identity
it_free_port
PH=$IT_PORT
it_daemon hup "$PH" "$DB" --log-level debug || bail "daemon hup answers"
H_PID=$IT_PID
it_wait_ready "$PH" 10 "$H_PID" || bail "daemon hup loads"
it_wait_log 5 hup "statefile: wrote" ||
	fail "[hup] the file is written after the load" "$(cat "$IT_TMP/hup.log")"
# changed while no daemon but hup runs: the file of a has the old value
sql "UPDATE tls_policy SET policy = 'verify' WHERE target = 'ok.example'"
it_wait_log 5 hup "pgsync: applied generation" ||
	fail "[hup] the change is applied" "$(cat "$IT_TMP/hup.log")"
pg_stop || bail "stop the cluster"
printf 'table = public.other_policy\n' >>"$IT_TMP/hup.conf"
kill -HUP "$H_PID"
cp "$ST/a" "$ST/b"
cp "$ST/a" "$ST/stale"
# the damaged copies: each refused, never half-used
size=$(stat -c %s "$ST/a")
DAMAGED="flip trunc magic version other fifo mode owner garbage future
	otherdb symlink opendir"
for n in flip trunc magic version other mode owner; do cp "$ST/a" "$ST/$n"; done
patch "$ST/flip" $((size / 2)) "$(printf '%03o' $((0x$(od -An -tx1 -j $((size / 2)) -N 1 "$ST/a" | tr -d ' ') ^ 0xff)))"
truncate -s $((size - 10)) "$ST/trunc"
patch "$ST/magic" 0 130
patch "$ST/version" 8 002
mkfifo "$ST/fifo"
chmod 620 "$ST/mode"
chown nobody "$ST/owner" 2>/dev/null || DAMAGED=${DAMAGED/owner/}
[ -z "${DAMAGED##*owner*}" ] || echo "# skip a file of another owner: not root"
forge "$ST/a" "$ST/garbage" "$(date +%s)" "ok.example=secure foo=bar"
forge "$ST/a" "$ST/future" $(($(date +%s) + 1000000000))
cp "$ST/a" "$ST/otherdb"
ln -s a "$ST/symlink"
mkdir -m 777 "$IT_TMP/open" && cp "$ST/a" "$IT_TMP/open/opendir"
it_free_port
OTHER_DB=$(it_conninfo "$IT_PORT" tlsd)
OTHER_PORT=$IT_PORT
declare -A PATHOF WHY=([flip]="checksum mismatch" [trunc]="truncated"
	[magic]="not a tlspolicyd state file" [version]="unknown format version"
	[other]="saved for another source"
	[fifo]="not a regular file"
	[mode]="writable by its group or by others (mode 0620)"
	[owner]="owned by uid $(id -u nobody), not by the daemon's user (uid $(id -u))"
	[garbage]="malformed (row 1: a policy that is not one this daemon would serve)"
	[future]="saved later than now"
	[otherdb]="saved for another source (it has port=$PGPORT, this daemon port=$OTHER_PORT)"
	[symlink]="a symbolic link"
	[opendir]="its directory $IT_TMP/open is writable by others and not sticky")
for n in $DAMAGED; do PATHOF[$n]=$ST/$n; done
PATHOF[opendir]=$IT_TMP/open/opendir

it_free_port
PB=$IT_PORT
it_daemon b "$PB" "$DB" --reconnect-max 300ms || bail "daemon b answers"
B_PID=$IT_PID
# the file is served once the first connection attempt failed
it_wait_log 5 b "statefile: serving" ||
	fail "[b] the file is served" "$(cat "$IT_TMP/b.log")"
Q_PORT=$PB
expect_ok soon.example may
unset Q_PORT
it_free_port
PS=$IT_PORT
it_daemon stale "$PS" "$DB" --max-stale 1s || bail "daemon stale answers"
S_PID=$IT_PID
declare -A CP
CPIDS=()
for n in $DAMAGED; do
	it_free_port
	CP[$n]=$IT_PORT
	extra=()
	db=$DB
	[ "$n" = other ] && extra=(--table public.other_policy)
	[ "$n" = opendir ] && extra=(--state-file "${PATHOF[$n]}")
	[ "$n" = otherdb ] && db=$OTHER_DB
	it_daemon "$n" "$IT_PORT" "$db" "${extra[@]}" || bail "daemon $n answers"
	CPIDS+=("$IT_PID")
done
# each has met the unreachable database and judged its file
for n in stale $DAMAGED; do
	it_wait_log 5 "$n" "statefile:" ||
		fail "[$n] the file is judged" "$(cat "$IT_TMP/$n.log")"
done

# the background TEMP lookups first: they cost postmap a second each
temp_bg bad "$PB" bad.example
temp_bg dup "$PB" dup.example
temp_bg stale "$PS" ok.example
for n in $DAMAGED; do
	temp_bg "$n" "${CP[$n]}" ok.example
done
Q_PORT=$PB
expect_ok ok.example secure
expect_ok OK.Example. secure
expect_ok mx.parent.example encrypt
expect_ok proto.example "encrypt protocols=!SSLv2:!SSLv3"
expect_notfound absent.example
expect_notfound gone.example
unset Q_PORT

# a database host that accepts and never speaks: the file is served
# after STATEFILE_SERVE_GRACE_MS, not after connect_timeout
it_spawn mute python3 -c "
import socket, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', $PGPORT))
s.listen(64)
time.sleep(60)"
MUTE_PID=$IT_PID
sleep 0.3
cp "$ST/a" "$ST/mute_d"
it_free_port
PM=$IT_PORT
t0=$(now_us)
it_daemon mute_d "$PM" "$DB" ||
	bail "daemon mute_d answers"
M_PID=$IT_PID
it_wait_log 3 mute_d "statefile: serving"
serve_ms=$((($(now_us) - t0) / 1000))
Q_PORT=$PM
if [ "$(it_log_count mute_d "pgsync:")" = 0 ] && [ "$serve_ms" -le 1500 ] &&
	check_ok ok.example secure; then
	pass "a database that never answers: the file served after $serve_ms ms"
else
	fail "a database that never answers: the file served within 1.5 s" \
		"after $serve_ms ms: $(it_log_lines mute_d statefile:)" \
		"$(it_log_lines mute_d pgsync:)"
fi
unset Q_PORT
it_stop "$M_PID"
it_stop "$MUTE_PID"

# a SIGHUP that starts a new session while the database is down: the
# rows served still expire
printf 'poll_interval = 2s\n' >>"$IT_TMP/b.conf"
kill -HUP "$B_PID"
it_wait_log 3 b "main: SIGHUP: 1 key(s) changed: new database session" ||
	fail "[b] SIGHUP starts a new session" "$(it_log_lines b main:)"
wait "${BG_PIDS[@]}"	# not the daemons: only the lookups
expect_temp_bg bad "invalid policy for bad.example" \
	"[b] bad.example -> TEMP invalid policy, as before the restart"
expect_temp_bg dup "conflicting rows for dup.example" \
	"[b] dup.example -> TEMP conflicting rows, as before the restart"
expect_temp_bg stale "policy data stale since" \
	"[stale] a file older than max_stale -> TEMP stale"
n=$(it_log_count b "statefile: serving" "rows from $ST/b saved at" \
	"while the database is unreachable")
expect_eq "[b] one line says the file is served" "$n" 1

# the expiry passes during the outage, after that SIGHUP
while [ "$(now_us)" -lt $((SOON_US + 300000)) ]; do sleep 0.1; done
Q_PORT=$PB
SQL_DONE_US=
within_1s expect_notfound soon.example
unset Q_PORT
n=$(it_log_count b "pgsync: override for soon.example expired")
expect_eq "[b] after the SIGHUP the expiry is logged once" "$n" 1

for n in $DAMAGED; do
	expect_temp_bg "$n" "no policy data loaded yet" \
		"[$n] the file is not used: TEMP no policy data"
	c=$(it_log_count "$n" "statefile: ${PATHOF[$n]} refused: ${WHY[$n]}")
	t=$(it_log_count "$n" "statefile:")
	if [ "$c" = 1 ] && [ "$t" = 1 ]; then
		pass "[$n] one log line: $(it_log_lines "$n" statefile: | sed 's/.*refused: //')"
	else
		fail "[$n] one log line: refused: ${WHY[$n]}" \
			"$(it_log_lines "$n" statefile:)"
	fi
done
for pid in "${CPIDS[@]}"; do it_stop "$pid"; done
it_stop "$S_PID"

# hup's pending write came after its SIGHUP: the identity it was made with
deadline=$(($(now_us) + 8000000))
while [ "$(it_log_count hup "statefile: wrote")" -lt 2 ] &&
	[ "$(now_us)" -lt "$deadline" ]; do
	sleep 0.1
done
if [ "$(it_log_count hup "statefile: wrote")" = 2 ] &&
	[ "$(it_log_count hup "main: SIGHUP: table changed")" = 1 ] &&
	ident "$ST/hup" | grep -qx "table=public.tls_policy"; then
	pass "[hup] rows of the old table keep its identity after a SIGHUP"
else
	fail "[hup] rows of the old table keep its identity after a SIGHUP" \
		"$(ident "$ST/hup" | grep table=)" "$(it_log_lines hup statefile:)"
fi
unset IT_LOG_FROM
it_stop "$H_PID"

# ------------------------------------------ the database back: it replaces

SCEN=back
IT_LOG_FROM=$(it_log_mark b)
B_SAVED0=$(saved "$ST/b")
pg_start || bail "start the cluster again"
Q_PORT=$PB
within_ms 8000 expect_ok ok.example verify
unset Q_PORT
n=$(it_log_count b "pgsync: reloaded")
expect_eq "[b] the first load replaces the file's data" "$n" 1
unset IT_LOG_FROM

# ------------------------------------- a missing directory, an unwritable file

SCEN=unwritable
it_free_port
PD=$IT_PORT
it_daemon nodir "$PD" "$DB" --state-file "$IT_TMP/nodir/snapshot" ||
	bail "daemon nodir answers"
D_PID=$IT_PID
it_free_port
PE=$IT_PORT
it_daemon notdir "$PE" "$DB" --state-file /dev/null/snapshot ||
	bail "daemon notdir answers"
E_PID=$IT_PID
it_wait_ready "$PD" 10 "$D_PID"
it_wait_ready "$PE" 10 "$E_PID"
Q_PORT=$PD expect_ok ok.example verify
Q_PORT=$PE expect_ok ok.example verify
sleep 1.5	# a write is due a second after the load
n=$(it_log_count nodir "warning: statefile: directory $IT_TMP/nodir does not exist")
t=$(it_log_count nodir "statefile:")
if [ "$n" = 1 ] && [ "$t" = 1 ] && [ ! -e "$IT_TMP/nodir" ]; then
	pass "a missing directory: one warning, the daemon serves"
else
	fail "a missing directory: one warning, the daemon serves" \
		"$(it_log_lines nodir statefile:)"
fi
n=$(it_log_count notdir "warning: statefile: cannot save the policy data to /dev/null/snapshot: open /dev/null/snapshot.tmp: Not a directory")
expect_eq "an unwritable file: a warning naming the path and errno" "$n" 1

SCEN=end
# b's first load after the outage is in its file; with the rows unchanged
# since and the file younger than the refresh interval, SIGTERM does not
# write it again (the polls moved "last known current" on meanwhile)
deadline=$(($(now_us) + 5000000))
while [ "$(saved "$ST/b")" -le "$B_SAVED0" ] && [ "$(now_us)" -lt "$deadline" ]
do
	sleep 0.1
done
b_saved=$(saved "$ST/b")
it_stop_daemons "$B_PID:b" "$D_PID:nodir" "$E_PID:notdir"
if [ "$b_saved" -gt "$B_SAVED0" ] && [ "$(saved "$ST/b")" = "$b_saved" ] &&
	[ "$(it_log_count b "statefile: saved")" = 0 ]; then
	pass "[b] SIGTERM, rows unchanged in a young file: not written again"
else
	fail "[b] SIGTERM, rows unchanged in a young file: not written again" \
		"saved $B_SAVED0 -> $b_saved -> $(saved "$ST/b")" \
		"$(it_log_lines b statefile:)"
fi
finish
