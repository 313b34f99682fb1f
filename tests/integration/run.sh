#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
#
# run.sh - integration tests: a throwaway PostgreSQL cluster, the real
# daemon, and Postfix's own client (postmap -q).  Called by `make check`
# with the daemon already built; never skips silently.
#
#   tests/integration/run.sh            uses ./tlspolicyd of this tree
#   TLSPOLICYD=/path/to/bin run.sh      another binary
#   IT_KEEP=1 run.sh                    keep the temp dir (logs) afterwards
#   IT_VERBOSE=1 run.sh                 print the daemon log at the end
#
# Output is TAP-like: "ok N - ..." / "not ok N - ..." with "#" diagnostics,
# and a closing line "N passed, M failed".  Exit status 0 only if none
# failed.
#
# Expected answers come from docs/protocol.md ("Replies", "Keys", "The
# parent walk"), docs/architecture.md (decisions 2-5) and tlspolicyd(8).
# What postmap prints, checked by experiment with Postfix 3.7.11:
#   OK <v>        exit 0, stdout <v>, stderr empty
#   NOTFOUND      exit 1, silent
#   TEMP <r>      exit 1, stderr "postmap: warning: socketmap:...:<map>
#                 socketmap server temporary error: <r>" + "postmap: fatal:
#                 table ...: query error..."
#   PERM <r>      the same with "permanent error: <r>"
#   batch (-q -)  "key<TAB>value" per hit, fatal at the first error
# postmap exits through msg_fatal() on TEMP/PERM, which sleeps 1 s: each
# such check costs a second (see within_ms for the timing consequence).
#
# Scenarios (one table, state carried from one to the next):
#    1 TEMP before the first load (a second instance, database unreachable)
#    2 found, case-insensitive          10 --check
#    3 not found, inactive rows         11 postmap -q - (batch)
#    4 parent walk                      12 configuration errors
#    5 exact-only keys (brackets/ports) 13 canonical keys (IDNA, IP literals)
#    6 live edits, each within 1 s      14 inactive rows in the walk, text
#    7 invalid and conflicting rows     15 parent_walk = no
#    8 another map name -> PERM         16 other table names, no triggers
#    9 --query                          17 bulk edits, open transactions
#                                       18 database outage and restart

set -u

# shellcheck source=lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

# Reporting, expectations and SQL helpers: lib.sh.

# ------------------------------------------------------------------ setup

SCEN=setup
it_setup_or_bail
pass "PostgreSQL cluster on port $PGPORT with contrib/postgresql/schema.sql"

# Config files keep the runs hermetic: no /etc/tlspolicyd.conf, and each
# instance its own state file (a persisted snapshot must not leak between
# instances or runs, and none may touch /var/lib/tlspolicyd).  empty.conf
# turns the state file off.
mkdir -p "$IT_TMP/state"
printf '# empty on purpose\nstate_file =\n' >"$IT_TMP/empty.conf"
printf 'state_file = %s\n' "$IT_TMP/state/main" >"$IT_TMP/main.conf"
printf 'state_file = %s\n' "$IT_TMP/state/nodb" >"$IT_TMP/nodb.conf"

# start_daemon NAME CONF PORT CONNINFO [OPTION]...: sets DAEMON_RC (0
# started, 2 exited) and IT_PID.
start_daemon() {
	local name=$1 conf=$2 port=$3 db=$4
	shift 4
	it_spawn "$name" "$TLSPOLICYD" -c "$conf" -f \
		--listen "inet:127.0.0.1:$port" --database "$db" \
		--poll-interval 1 "$@"
	# Started means answering (anything); the callers wait for more.
	it_wait_listening "$port" 10 "$IT_PID"
	if [ $? != 2 ]; then
		return 0
	fi
	wait "$IT_PID"
	DAEMON_RC=$?
	it_forget "$IT_PID"
	return 2
}

it_free_port
PORT=$IT_PORT
if ! start_daemon daemon "$IT_TMP/main.conf" "$PORT" "$PGC_CONNINFO"; then
	bail "daemon starts (-f --listen inet:127.0.0.1:$PORT --database ... --poll-interval 1)" \
		"it exited with status $DAEMON_RC: see daemon.log below"
fi
DAEMON_PID=$IT_PID
it_wait_ready "$PORT" 10 "$DAEMON_PID"
case $? in
0) pass "daemon answers on 127.0.0.1:$PORT after its first load" ;;
2)
	wait "$DAEMON_PID"
	rc=$?
	it_forget "$DAEMON_PID"
	bail "daemon answers on 127.0.0.1:$PORT after its first load" \
		"it exited with status $rc: see daemon.log below"
	;;
*) bail "daemon answers on 127.0.0.1:$PORT within 10 s" "last lookup: $(got)" ;;
esac
# A port where nothing listens: an unreachable database.
it_free_port
NOWHERE_PORT=$IT_PORT
NODB="hostaddr=127.0.0.1 port=$NOWHERE_PORT user=postgres dbname=postgres connect_timeout=1"

# ------------------------------------------------------------- scenario 1
SCEN="1 before first load"
it_free_port
PORT2=$IT_PORT
start_daemon nodb "$IT_TMP/nodb.conf" "$PORT2" "$NODB"
NODB_PID=$IT_PID
if it_wait_listening "$PORT2" 10 "$NODB_PID"; then
	pass "second daemon with an unreachable database listens on $PORT2"
	Q_PORT=$PORT2 expect_temp example.com "no policy data loaded yet"
	Q_PORT=$PORT2 expect_temp .example.com "no policy data loaded yet"
	Q_PORT=$PORT2 expect_temp "[mx.example.net]:2525" "no policy data loaded yet"
	key1000=/$(printf 'a%.0s' $(seq 1 999))
	Q_PORT=$PORT2 expect_temp "$key1000" "no policy data loaded yet"
	Q_PORT=$PORT2 expect_notfound "$key1000"a
	Q_PORT=$PORT2 expect_notfound "$(printf 'a%.0s' $(seq 1 1001))"
	Q_PORT=$PORT2 DESC="empty key -> NOTFOUND" expect_notfound ""
	# Non-UTF-8: postmap only sends raw bytes with smtputf8_enable = no.
	mkdir -p "$IT_TMP/postfix-noutf8"
	printf 'compatibility_level = 3.6\nsmtputf8_enable = no\n' \
		>"$IT_TMP/postfix-noutf8/main.cf"
	Q_PORT=$PORT2 Q_PFCONF=$IT_TMP/postfix-noutf8 \
		DESC="non-UTF-8 key x\\xff.example -> NOTFOUND" \
		expect_notfound "$(printf 'x\xff.example')"
	Q_PORT=$PORT2 Q_MAP=other expect_perm example.com "unknown map other"
	it_stop "$NODB_PID"
	if [ "$IT_STATUS" = 0 ]; then
		pass "SIGTERM -> exit 0"
	else
		fail "SIGTERM -> exit 0" "got: exit status $IT_STATUS"
	fi
else
	fail "second daemon with an unreachable database listens on $PORT2" \
		"last lookup: $(got)"
	it_stop "$NODB_PID"
fi

# ------------------------------------------------------------- scenario 2
SCEN="2 found"
sql "INSERT INTO tls_policy (target, policy, parameters) VALUES
	('example.com', 'may', ''),
	('secure.example', 'secure', 'match=nexthop:dot-nexthop'),
	('Mixed.Case.Example', 'encrypt', '')"
within_1s expect_ok example.com may
expect_ok EXAMPLE.COM may
expect_ok Example.Com may
expect_ok mixed.case.example encrypt
expect_ok MIXED.case.EXAMPLE encrypt
expect_ok Mixed.Case.Example encrypt
expect_ok secure.example "secure match=nexthop:dot-nexthop"

# ------------------------------------------------------------- scenario 3
SCEN="3 not found"
expect_notfound absent.example
expect_notfound .example
expect_notfound com
sql "INSERT INTO tls_policy (target, policy, parameters, active) VALUES
	('off.example', 'encrypt', '', false),
	('on.example', 'may', '', true)"
within_1s expect_ok on.example may
DESC="inactive row off.example -> NOTFOUND" expect_notfound off.example
expect_notfound host.off.example

# ------------------------------------------------------------- scenario 4
SCEN="4 parent walk"
sql "INSERT INTO tls_policy (target, policy, parameters) VALUES
	('.parent.example', 'verify', '')"
within_1s expect_ok host.sub.parent.example verify
expect_ok HOST.Sub.Parent.EXAMPLE verify
expect_ok .sub.parent.example verify
expect_ok .parent.example verify
expect_ok sub.parent.example verify
DESC="parent.example -> NOTFOUND (.parent.example covers subdomains only)" \
	expect_notfound parent.example
expect_notfound otherparent.example
# Only keys that Postfix's valid_hostname() accepts are walked (util/
# valid_hostname.c: letters, digits, '_' ("grr.."), inner hyphens, labels
# of at most 63, at most 255 bytes, not all-numeric, no empty label).
label63=$(printf 'a%.0s' $(seq 1 63))
expect_ok a_b.parent.example verify
expect_ok "$label63.parent.example" verify
DESC="64-byte label is not walked -> NOTFOUND" \
	expect_notfound "${label63}a.parent.example"
expect_notfound -bad.parent.example
expect_notfound bad-.parent.example
expect_ok in-ner.parent.example verify
expect_notfound a..parent.example
long=$(for i in $(seq 1 50); do printf 'abcd.'; done)parent.example
DESC="over 255 bytes is not walked -> NOTFOUND" expect_notfound "$long"
sql "INSERT INTO tls_policy (target, policy, parameters) VALUES
	('.5678', 'may', '')"
within_1s expect_ok x.5678 may
DESC="all-numeric is not walked: 1234.5678 -> NOTFOUND" \
	expect_notfound 1234.5678
sql "INSERT INTO tls_policy (target, policy, parameters) VALUES
	('sub.parent.example', 'may', '')"
DESC="exact row beats parent: sub.parent.example -> OK may" \
	within_1s expect_ok sub.parent.example may
expect_ok host.sub.parent.example verify
expect_ok .sub.parent.example verify
DESC="trailing dot normalised: example.com. -> OK may" \
	expect_ok example.com. may
expect_ok EXAMPLE.COM. may
# Decision 5: a trailing-dot key is exact only (Postfix does not walk it).
DESC="trailing dot is exact only: host.sub.parent.example. -> NOTFOUND" \
	expect_notfound host.sub.parent.example.

# ------------------------------------------------------------- scenario 5
SCEN="5 exact-only keys"
sql "INSERT INTO tls_policy (target, policy, parameters) VALUES
	('[mx.example.net]:2525', 'encrypt', ''),
	('[192.0.2.1]', 'may', '')"
within_1s expect_ok "[mx.example.net]:2525" encrypt
expect_ok "[MX.Example.NET]:2525" encrypt
expect_notfound "[mx.example.net]"
expect_notfound "mx.example.net"
expect_notfound "[mx.example.net]:25"
expect_ok "[192.0.2.1]" may
expect_notfound "[192.0.2.1]:25"
sql "INSERT INTO tls_policy (target, policy, parameters) VALUES
	('.example.net', 'secure', '')"
within_1s expect_ok host.example.net secure
expect_ok "[mx.example.net]:2525" encrypt
DESC="no walk for brackets: [other.example.net] -> NOTFOUND" \
	expect_notfound "[other.example.net]"
DESC="no walk with a port: other.example.net:25 -> NOTFOUND" \
	expect_notfound "other.example.net:25"
# A target of exactly the key limit (1000 bytes, an LMTP-like path) is found.
key1000=/$(printf 'a%.0s' $(seq 1 999))
sql "INSERT INTO tls_policy (target, policy, parameters) VALUES
	('$key1000', 'encrypt', '')"
within_1s expect_ok "$key1000" encrypt
expect_notfound "${key1000}a"

# ------------------------------------------------------------- scenario 6
SCEN="6 live edits"
sql "UPDATE tls_policy SET policy = 'encrypt' WHERE target = 'example.com'"
DESC="UPDATE policy: example.com -> OK encrypt" \
	within_1s expect_ok example.com encrypt
sql "INSERT INTO tls_policy (target, policy, parameters) VALUES
	('live.example', 'verify', '')"
DESC="INSERT: live.example -> OK verify" within_1s expect_ok live.example verify
sql "DELETE FROM tls_policy WHERE target = 'live.example'"
DESC="DELETE: live.example -> NOTFOUND" within_1s expect_notfound live.example
sql "UPDATE tls_policy SET active = false WHERE target = 'example.com'"
DESC="deactivate: example.com -> NOTFOUND" within_1s expect_notfound example.com
sql "UPDATE tls_policy SET active = true WHERE target = 'example.com'"
DESC="reactivate: example.com -> OK encrypt" \
	within_1s expect_ok example.com encrypt
sql "UPDATE tls_policy SET target = 'renamed.example'
	WHERE target = 'secure.example'"
DESC="rename: renamed.example -> OK secure ..." \
	within_1s expect_ok renamed.example "secure match=nexthop:dot-nexthop"
DESC="rename: secure.example -> NOTFOUND" within_1s expect_notfound secure.example
sql "UPDATE tls_policy SET parameters = 'match=example.org'
	WHERE target = 'renamed.example'"
DESC="UPDATE parameters: renamed.example -> OK secure match=example.org" \
	within_1s expect_ok renamed.example "secure match=example.org"
# Old and new target are the same canonical key: it must stay present.
sql "UPDATE tls_policy SET target = 'EXAMPLE.com', policy = 'verify'
	WHERE target = 'example.com'"
DESC="rename to another spelling: example.com -> OK verify" \
	within_1s expect_ok example.com verify
sql "UPDATE tls_policy SET target = 'example.com', policy = 'may'
	WHERE target = 'EXAMPLE.com'"
DESC="and back: example.com -> OK may" within_1s expect_ok example.com may
# Edits of parent rows change walked answers.
sql "UPDATE tls_policy SET policy = 'encrypt' WHERE target = '.parent.example'"
DESC="UPDATE parent row: host.sub.parent.example -> OK encrypt" \
	within_1s expect_ok host.sub.parent.example encrypt
sql "INSERT INTO tls_policy (target, policy, parameters) VALUES
	('.sub.parent.example', 'secure', '')"
DESC="INSERT closer parent: host.sub.parent.example -> OK secure" \
	within_1s expect_ok host.sub.parent.example secure
sql "DELETE FROM tls_policy WHERE target = '.sub.parent.example'"
DESC="DELETE closer parent: host.sub.parent.example -> OK encrypt" \
	within_1s expect_ok host.sub.parent.example encrypt
# One statement, several rows.
sql "UPDATE tls_policy SET policy = 'verify'
	WHERE target IN ('on.example', 'Mixed.Case.Example')"
DESC="multi-row UPDATE: on.example -> OK verify" \
	within_1s expect_ok on.example verify
DESC="multi-row UPDATE: mixed.case.example -> OK verify" \
	within_1s expect_ok mixed.case.example verify
# One transaction, several statements.
sql "BEGIN;
	UPDATE tls_policy SET policy = 'encrypt' WHERE target = 'on.example';
	DELETE FROM tls_policy WHERE target = 'Mixed.Case.Example';
	INSERT INTO tls_policy (target, policy, parameters)
		VALUES ('tx.example', 'may', '');
	COMMIT"
DESC="transaction: tx.example -> OK may" within_1s expect_ok tx.example may
DESC="transaction: on.example -> OK encrypt" within_1s expect_ok on.example encrypt
DESC="transaction: mixed.case.example -> NOTFOUND" \
	within_1s expect_notfound mixed.case.example
sql "TRUNCATE tls_policy"
DESC="TRUNCATE: example.com -> NOTFOUND" within_1s expect_notfound example.com
for k in renamed.example host.sub.parent.example sub.parent.example \
	"[mx.example.net]:2525" "[192.0.2.1]" host.example.net on.example \
	tx.example "$key1000"; do
	DESC="TRUNCATE: $(show "$k") -> NOTFOUND" within_1s expect_notfound "$k"
done
sql "INSERT INTO tls_policy (target, policy, parameters) VALUES
	('example.com', 'may', ''),
	('secure.example', 'secure', 'match=nexthop:dot-nexthop'),
	('Mixed.Case.Example', 'encrypt', ''),
	('.parent.example', 'verify', ''),
	('[mx.example.net]:2525', 'encrypt', '')"
DESC="re-INSERT after TRUNCATE: example.com -> OK may" \
	within_1s expect_ok example.com may
for kv in "secure.example|secure match=nexthop:dot-nexthop" \
	"MIXED.case.EXAMPLE|encrypt" "host.parent.example|verify" \
	"[mx.example.net]:2525|encrypt"; do
	within_1s expect_ok "${kv%%|*}" "${kv#*|}"
done

# ------------------------------------------------------------- scenario 7
SCEN="7 invalid rows"
# The schema rejects unknown levels at INSERT time; an upgraded table may
# still hold them (the constraint then stays NOT VALID), so drop it.
sql "ALTER TABLE tls_policy DROP CONSTRAINT tls_policy_level_check"
sql "INSERT INTO tls_policy (target, policy, parameters) VALUES
	('bad.example', 'bogus', '')"
within_1s expect_temp bad.example "invalid policy for bad.example"
expect_temp BAD.Example "invalid policy for bad.example"
# An exact row covers only itself, invalid or not: host.bad.example walks
# .bad.example and .example and meets no row.
expect_notfound host.bad.example
sql "INSERT INTO tls_policy (target, policy, parameters) VALUES
	('.badparent.example', 'bogus', '')"
DESC="walk through an invalid parent row: x.badparent.example -> TEMP" \
	within_1s expect_temp x.badparent.example \
	"invalid policy for .badparent.example"
expect_temp .badparent.example "invalid policy for .badparent.example"
DESC="badparent.example is not covered by .badparent.example -> NOTFOUND" \
	expect_notfound badparent.example
# Valid level, attribute Postfix would reject.
sql "INSERT INTO tls_policy (target, policy, parameters) VALUES
	('badattr.example', 'secure', 'frobnicate=1')"
within_1s expect_temp badattr.example "invalid policy for badattr.example"
# Canonical text: lowercase level, single spaces, comma list normalised
# (docs/architecture.md, decision 3; docs/protocol.md, "Replies").
sql "INSERT INTO tls_policy (target, policy, parameters) VALUES
	('upper.example', 'SECURE', 'match=nexthop'),
	('proto.example', 'encrypt', 'protocols=!SSLv2,!SSLv3')"
within_1s expect_ok upper.example "secure match=nexthop"
expect_ok proto.example "encrypt protocols=!SSLv2:!SSLv3"
# Two rows with one canonical target conflict.
sql "INSERT INTO tls_policy (target, policy, parameters) VALUES
	('dup.example', 'may', ''),
	('dup.example.', 'encrypt', '')"
within_1s expect_temp dup.example "conflicting rows for dup.example"
# Issue 7 item 6: the invalid rows and the conflicts are logged once per
# change of their set, not at every load.  The first reload reports the
# set the edits built; a second one that finds the same set logs neither.
# hup_reload: SIGHUP, then wait for its reload line (returns 1 if none).
hup_reload() {
	local n
	n=$(grep -c '(SIGHUP)' "$IT_TMP/daemon.log")
	kill -HUP "$DAEMON_PID"
	for _ in $(seq 1 50); do
		[ "$(grep -c '(SIGHUP)' "$IT_TMP/daemon.log")" -gt "$n" ] && return 0
		sleep 0.1
	done
	return 1
}
hup_reload || fail "SIGHUP reloads the table"
sum_before=$(grep -c "row(s) Postfix would reject" "$IT_TMP/daemon.log")
con_before=$(grep -c 'conflicting rows "dup.example' "$IT_TMP/daemon.log")
if hup_reload; then
	sum_after=$(grep -c "row(s) Postfix would reject" "$IT_TMP/daemon.log")
	con_after=$(grep -c 'conflicting rows "dup.example' "$IT_TMP/daemon.log")
	if [ "$sum_before" -ge 1 ] && [ "$con_before" -ge 1 ] &&
		[ "$sum_after" = "$sum_before" ] && [ "$con_after" = "$con_before" ]; then
		pass "a reload with the same invalid rows and conflict logs neither again"
	else
		fail "a reload with the same invalid rows and conflict logs neither again" \
			"summary lines $sum_before -> $sum_after, conflict lines $con_before -> $con_after"
	fi
else
	fail "a second SIGHUP reloads the table"
fi
sql "INSERT INTO tls_policy (target, policy) VALUES ('bad2.example', 'maybe')"
within_1s expect_temp bad2.example "invalid policy for bad2.example"
hup_reload || fail "a third SIGHUP reloads the table"
if grep "row(s) Postfix would reject" "$IT_TMP/daemon.log" | tail -n 1 |
	grep -q 'bad2.example'; then
	pass "a new invalid row: the next load logs the summary again, naming it"
else
	fail "a new invalid row: the next load logs the summary again, naming it" \
		"$(grep "row(s) Postfix would reject" "$IT_TMP/daemon.log" | tail -n 2)"
fi
sql "DELETE FROM tls_policy WHERE target = 'bad2.example'"

# ------------------------------------------------------------- scenario 8
SCEN="8 other map"
Q_MAP=other expect_perm example.com "unknown map other"
Q_MAP=other check_perm example.com
if [[ $Q_ERR == *"socketmap server permanent error"* ]]; then
	pass "stderr says \"socketmap server permanent error\""
else
	fail "stderr says \"socketmap server permanent error\"" "$(got)"
fi
Q_MAP=TLSPOLICY DESC="map names are case-sensitive: TLSPOLICY -> PERM" \
	expect_perm example.com "unknown map TLSPOLICY"

# ------------------------------------------------------------- scenario 9
SCEN="9 --query"
QRY=("$TLSPOLICYD" -c "$IT_TMP/empty.conf" --database "$PGC_CONNINFO")
run_cmd "${QRY[@]}" --query example.com
expect_cmd "--query example.com prints \"OK may\", exit 0" 0 '^OK may$'
run_cmd "${QRY[@]}" --query host.parent.example
expect_cmd "--query host.parent.example prints \"OK verify\", exit 0" 0 '^OK verify$'
run_cmd "${QRY[@]}" --query absent.example
expect_cmd "--query absent.example prints NOTFOUND, exit 1" 1 '^NOTFOUND$'
if [ "$C_OUT" = NOTFOUND ]; then
	pass "... exactly \"NOTFOUND\", no trailing space"
else
	fail "... exactly \"NOTFOUND\", no trailing space" "$(cmd_got)"
fi
run_cmd "${QRY[@]}" --query bad.example
expect_cmd "--query bad.example (invalid row) prints TEMP, exit 2" 2 \
	'^TEMP invalid policy for bad\.example'
run_cmd "$TLSPOLICYD" -c "$IT_TMP/empty.conf" --database "$NODB" \
	--query example.com
expect_cmd "--query with the database unreachable: exit 2" 2

# ------------------------------------------------------------ scenario 10
SCEN="10 --check"
CHK=("$TLSPOLICYD" -c "$IT_TMP/empty.conf" --database "$PGC_CONNINFO" --check)
run_cmd "${CHK[@]}"
expect_cmd "--check with invalid rows: exit 1, line \"bad.example: error: ...\"" \
	1 '^bad\.example: error: .+'
expect_cmd "--check names .badparent.example" 1 '^\.badparent\.example: error: .+'
expect_cmd "--check names badattr.example" 1 '^badattr\.example: error: .+'
expect_cmd "--check names both conflicting rows" 1 \
	'^dup\.example: error: conflicting rows "dup\.example\.?" and "dup\.example\.?"'
expect_cmd "--check warns of the comma list and shows the corrected form" 1 \
	'^proto\.example: warning: .* -> encrypt protocols=!SSLv2:!SSLv3$'
sql "DELETE FROM tls_policy WHERE target IN ('bad.example',
	'.badparent.example', 'badattr.example', 'dup.example', 'dup.example.')"
within_1s expect_notfound bad.example
run_cmd "${CHK[@]}"
expect_cmd "--check after deleting the bad rows: exit 0 (warnings allowed)" 0
if printf '%s\n' "$C_OUT" | grep -q ': error: '; then
	fail "--check after deleting the bad rows prints no error line" "$(cmd_got)"
else
	pass "--check after deleting the bad rows prints no error line"
fi
run_cmd "$TLSPOLICYD" -c "$IT_TMP/empty.conf" --database "$NODB" --check
expect_cmd "--check with the database unreachable: exit 2" 2

# ------------------------------------------------------------ scenario 11
SCEN="11 batch"
out=$(printf '%s\n' example.com absent.example MIXED.case.EXAMPLE \
	"[mx.example.net]:2525" host.parent.example "[mx.example.net]" |
	timeout 10 postmap -c "$IT_PFCONF" -q - \
		"socketmap:inet:127.0.0.1:$PORT:tlspolicy" 2>"$IT_TMP/batch.err")
rc=$?
want=$(printf '%s\t%s\n' example.com may MIXED.case.EXAMPLE encrypt \
	"[mx.example.net]:2525" encrypt host.parent.example verify)
if [ "$rc" = 0 ] && [ "$out" = "$want" ] && [ ! -s "$IT_TMP/batch.err" ]; then
	pass "postmap -q - prints key<TAB>value for the 4 hits of 6 keys"
else
	fail "postmap -q - prints key<TAB>value for the 4 hits of 6 keys" \
		"want: exit 0, stdout [$(printf '%s' "$want" | tr '\t\n' '>|')]" \
		"got: exit $rc, stdout [$(printf '%s' "$out" | tr '\t\n' '>|')], stderr [$(tr '\n' '|' <"$IT_TMP/batch.err")]"
fi

# ------------------------------------------------------------ scenario 12
SCEN="12 config errors"
run_cmd "$TLSPOLICYD" --poll-interval banana
if [ "$C_RC" = 2 ] && [[ "$C_OUT$C_ERR" == *poll_interval* ||
	"$C_OUT$C_ERR" == *poll-interval* ]]; then
	pass "--poll-interval banana: exit 2 naming poll_interval"
else
	fail "--poll-interval banana: exit 2 naming poll_interval" "$(cmd_got)"
fi
printf 'frobnicate = 1\n' >"$IT_TMP/frob.conf"
# The option as typed, not the key it sets: --max-stale, not --max_stale.
run_cmd "$TLSPOLICYD" -c "$IT_TMP/empty.conf" --max-stale banana
expect_cmd "--max-stale banana: exit 2, \"option --max-stale: \"banana\" is not ...\"" \
	2 "" 'tlspolicyd: option --max-stale: "banana" is not a duration'
if [[ "$C_OUT$C_ERR" == *--max_stale* ]]; then
	fail "... never \"--max_stale\"" "$(cmd_got)"
else
	pass "... never \"--max_stale\""
fi
run_cmd "$TLSPOLICYD" -c "$IT_TMP/empty.conf" --idle-timeout=-1
expect_cmd "--idle-timeout=-1: exit 2, \"option --idle-timeout: \"-1\" ...\"" 2 "" \
	'tlspolicyd: option --idle-timeout: "-1" '
run_cmd "$TLSPOLICYD" -c "$IT_TMP/frob.conf"
expect_cmd "-c FILE with unknown key frobnicate: exit 2 naming it" 2 "" frobnicate
printf 'poll_interval = banana\n' >"$IT_TMP/poll.conf"
run_cmd "$TLSPOLICYD" -c "$IT_TMP/poll.conf"
expect_cmd "-c FILE with poll_interval = banana: exit 2 naming it" 2 "" \
	poll_interval
run_cmd "$TLSPOLICYD" -c /nonexistent/tlspolicyd.conf
expect_cmd "-c /nonexistent/tlspolicyd.conf: exit 2" 2
if [ -n "$C_OUT$C_ERR" ]; then
	pass "-c /nonexistent/tlspolicyd.conf: says why"
else
	fail "-c /nonexistent/tlspolicyd.conf: says why" "$(cmd_got)"
fi

# A connection string libpq cannot parse is a configuration error at start
# (tlspolicyd.conf(5)), and never echoed: it may hold a password.  --query
# and --check never hang: whatever fails before or during the load ends
# them with exit 2 and one line.
run_cmd_ms "$TLSPOLICYD" -c "$IT_TMP/empty.conf" -f \
	--listen "inet:127.0.0.1:$NOWHERE_PORT" --database 'password=s3cret bogus=1'
expect_cmd_within 15000 "daemon with --database 'bogus=1': exit 2 at start" 2 "" \
	"database: not a valid libpq connection string"
if [[ "$C_OUT$C_ERR" == *s3cret* ]]; then
	fail "the unparsable connection string is not echoed" "$(cmd_got)"
else
	pass "the unparsable connection string is not echoed"
fi
run_cmd_ms "$TLSPOLICYD" -c "$IT_TMP/empty.conf" --query k --database 'bogus=1'
expect_cmd_within 15000 "--query k --database 'bogus=1': exit 2 within 15 s" 2 \
	"" "database: not a valid libpq connection string"
run_cmd_ms "$TLSPOLICYD" -c "$IT_TMP/empty.conf" --check --database 'bogus=1'
expect_cmd_within 15000 "--check --database 'bogus=1': exit 2 within 15 s" 2 \
	"" "database: not a valid libpq connection string"
run_cmd_ms "$TLSPOLICYD" -c "$IT_TMP/empty.conf" --check \
	--database 'host=/nonexistent'
expect_cmd_within 15000 "--check --database 'host=/nonexistent': exit 2 within 15 s, one line" \
	2 '^database: error: could not check: '
run_cmd_ms "$TLSPOLICYD" -c "$IT_TMP/empty.conf" --query k \
	--database 'host=/nonexistent'
expect_cmd_within 15000 "--query k --database 'host=/nonexistent': exit 2 within 15 s, a TEMP line" \
	2 '^TEMP '
# A server that takes the connection and never answers (a listening socket
# nobody accepts from): only the deadline, connect_timeout +
# statement_timeout, ends the wait.
it_free_port
HANG_PORT=$IT_PORT
perl -MIO::Socket::INET -e '
	my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1",
	    LocalPort => $ARGV[0], Listen => 16, ReuseAddr => 1) or exit 1;
	sleep 60;' "$HANG_PORT" &
HANG_PID=$!
IT_PIDS+=("$HANG_PID")
sleep 0.3
HANG_DB="hostaddr=127.0.0.1 port=$HANG_PORT user=postgres dbname=postgres"
run_cmd_ms "$TLSPOLICYD" -c "$IT_TMP/empty.conf" --check --database "$HANG_DB" \
	--connect-timeout 1 --statement-timeout 1
expect_cmd_within 15000 "--check against a server that never answers: exit 2 within 15 s" \
	2 '^database: error: could not check: '
run_cmd_ms "$TLSPOLICYD" -c "$IT_TMP/empty.conf" --query k --database "$HANG_DB" \
	--connect-timeout 1 --statement-timeout 1
expect_cmd_within 15000 "--query k against a server that never answers: exit 2 within 15 s, a TEMP line" \
	2 '^TEMP '
it_stop "$HANG_PID"

# ------------------------------------------------------------ scenario 13
# Beyond the brief's list, straight from decision 4 (docs/architecture.md): one
# canonical form for table targets and keys (IDNA, IP literals, bare IP rows).
SCEN="13 canonical keys"
sql "INSERT INTO tls_policy (target, policy, parameters) VALUES
	('xn--bcher-kva.example', 'encrypt', ''),
	('müller.example', 'verify', ''),
	('.café.example', 'secure', ''),
	('[IPv6:2001:db8::1]:25', 'encrypt', ''),
	('[ipv6:2001:DB8:0::2]', 'may', ''),
	('192.0.2.7', 'verify', '')"
DESC="U-label key, A-label row: bücher.example -> OK encrypt" \
	within_1s expect_ok bücher.example encrypt
expect_ok Bücher.EXAMPLE encrypt
expect_ok xn--bcher-kva.example encrypt
DESC="A-label key, U-label row: xn--mller-kva.example -> OK verify" \
	expect_ok xn--mller-kva.example verify
expect_ok müller.example verify
DESC="U-label walk: mx.café.example -> OK secure" \
	expect_ok mx.café.example secure
expect_ok mx.xn--caf-dma.example secure
expect_ok "[IPv6:2001:db8::1]:25" encrypt
expect_ok "[ipv6:2001:DB8:0::1]:25" encrypt
expect_ok "[ipv6:2001:db8:0:0:0:0:0:1]:25" encrypt
expect_ok "[2001:db8::1]:25" encrypt
DESC="port kept: [IPv6:2001:db8::1] -> NOTFOUND" \
	expect_notfound "[IPv6:2001:db8::1]"
expect_ok "[IPv6:2001:db8::2]" may
DESC="bare IP row 192.0.2.7 matches [192.0.2.7] -> OK verify" \
	expect_ok "[192.0.2.7]" verify
sql "INSERT INTO tls_policy (target, policy, parameters) VALUES
	('192.0.2.9', 'may', ''),
	('[192.0.2.9]', 'encrypt', '')"
DESC="rows 192.0.2.9 and [192.0.2.9] conflict -> TEMP" \
	within_1s expect_temp "[192.0.2.9]" "conflicting rows for"
sql "DELETE FROM tls_policy WHERE target = '192.0.2.9'"
DESC="conflict resolved by DELETE: [192.0.2.9] -> OK encrypt" \
	within_1s expect_ok "[192.0.2.9]" encrypt

# ------------------------------------------------------------ scenario 14
# Decisions 3 and 5 (docs/architecture.md): inactive rows are absent (also in
# the walk, and even when invalid); attribute text is normalised.
SCEN="14 inactive rows, normalised text"
sql "INSERT INTO tls_policy (target, policy, parameters, active) VALUES
	('.walk.example', 'verify', '', true),
	('host.walk.example', 'encrypt', '', false),
	('offbad.example', 'bogus', '', false),
	('.offbadparent.example', 'bogus', '', false),
	('norm.example', ' Secure ', E'match=nexthop,dot-nexthop\n\t ciphers=high  ', true)"
within_1s expect_ok norm.example "secure match=nexthop:dot-nexthop ciphers=high"
DESC="inactive exact row, active parent: host.walk.example -> OK verify" \
	expect_ok host.walk.example verify
DESC="inactive invalid row is absent: offbad.example -> NOTFOUND" \
	expect_notfound offbad.example
DESC="inactive invalid parent is absent: x.offbadparent.example -> NOTFOUND" \
	expect_notfound x.offbadparent.example
sql "UPDATE tls_policy SET active = true WHERE target = 'offbad.example'"
DESC="activating an invalid row: offbad.example -> TEMP" \
	within_1s expect_temp offbad.example "invalid policy for offbad.example"
sql "DELETE FROM tls_policy WHERE target IN ('offbad.example',
	'.offbadparent.example')"
within_1s expect_notfound offbad.example

# ------------------------------------------------------------ scenario 15
# Decision 5 (docs/architecture.md): parent_walk = no restores Postfix's plain
# behaviour.
SCEN="15 parent_walk no"
it_free_port
PORT3=$IT_PORT
printf 'state_file = %s\n' "$IT_TMP/state/nowalk" >"$IT_TMP/nowalk.conf"
start_daemon nowalk "$IT_TMP/nowalk.conf" "$PORT3" "$PGC_CONNINFO" \
	--parent-walk no
NOWALK_PID=$IT_PID
if it_wait_ready "$PORT3" 10 "$NOWALK_PID"; then
	pass "daemon with --parent-walk no answers on $PORT3"
	Q_PORT=$PORT3 DESC="host.parent.example -> NOTFOUND (no walk)" \
		expect_notfound host.parent.example
	Q_PORT=$PORT3 DESC="Postfix's own parent key .parent.example -> OK verify" \
		expect_ok .parent.example verify
	Q_PORT=$PORT3 expect_ok example.com may
	Q_PORT=$PORT3 expect_ok "[mx.example.net]:2525" encrypt
else
	fail "daemon with --parent-walk no answers on $PORT3" "last lookup: $(got)"
fi
it_stop "$NOWALK_PID"

# ------------------------------------------------------------ scenario 16
# README.md, "Existing tables": tlspolicyd.attach() puts the triggers on a table
# with other names; without triggers, a full reload every poll_interval.
SCEN="16 other tables"
sql "CREATE TABLE tlspolicies (domain text PRIMARY KEY, policy text NOT NULL,
		params text NOT NULL DEFAULT '');
	SELECT tlspolicyd.attach('tlspolicies', 'domain');
	INSERT INTO tlspolicies VALUES ('legacy.example', 'encrypt', '');
	CREATE TABLE plain_policy (target text PRIMARY KEY, policy text NOT NULL,
		parameters text NOT NULL DEFAULT '', active boolean NOT NULL DEFAULT true);
	INSERT INTO plain_policy VALUES ('plain.example', 'encrypt', '', true)"
it_free_port
PORT4=$IT_PORT
printf 'state_file = %s\n' "$IT_TMP/state/legacy" >"$IT_TMP/legacy.conf"
start_daemon legacy "$IT_TMP/legacy.conf" "$PORT4" "$PGC_CONNINFO" \
	--table tlspolicies --column-target domain --column-parameters params \
	--column-active ""
LEGACY_PID=$IT_PID
if it_wait_ready "$PORT4" 10 "$LEGACY_PID"; then
	pass "daemon on table tlspolicies(domain, policy, params) answers"
	Q_PORT=$PORT4 expect_ok legacy.example encrypt
	Q_PORT=$PORT4 expect_notfound example.com
	sql "UPDATE tlspolicies SET policy = 'verify', params = 'match=nexthop'
		WHERE domain = 'legacy.example'"
	Q_PORT=$PORT4 within_1s expect_ok legacy.example "verify match=nexthop"
	sql "DELETE FROM tlspolicies"
	Q_PORT=$PORT4 within_1s expect_notfound legacy.example
else
	fail "daemon on table tlspolicies(domain, policy, params) answers" \
		"last lookup: $(got)"
fi
it_stop "$LEGACY_PID"
it_free_port
PORT5=$IT_PORT
printf 'state_file = %s\n' "$IT_TMP/state/plain" >"$IT_TMP/plain.conf"
start_daemon plain "$IT_TMP/plain.conf" "$PORT5" "$PGC_CONNINFO" \
	--table plain_policy
PLAIN_PID=$IT_PID
if it_wait_ready "$PORT5" 10 "$PLAIN_PID"; then
	pass "daemon on table plain_policy (no triggers) answers"
	Q_PORT=$PORT5 expect_ok plain.example encrypt
	sql "UPDATE plain_policy SET policy = 'secure'"
	# poll_interval is 1 s; allow one more for the reload itself.
	Q_PORT=$PORT5 within_ms 2000 expect_ok plain.example secure
	sql "UPDATE plain_policy SET active = false"
	Q_PORT=$PORT5 within_ms 2000 expect_notfound plain.example
	# Triggers attached while the daemon runs: it notices at the next
	# poll, reloads once, and from then on follows the change log.
	sql "SELECT tlspolicyd.attach('plain_policy', 'target')"
	attach_seen=0
	for _ in $(seq 1 50); do
		grep -q 'triggers on "public"."plain_policy" are as attached again' \
			"$IT_TMP/plain.log" 2>/dev/null &&
			grep -q 'reloaded .*(triggers changed)' "$IT_TMP/plain.log" &&
			{ attach_seen=1; break; }
		sleep 0.1
	done
	if [ "$attach_seen" = 1 ]; then
		pass "tlspolicyd.attach() while running: the daemon switches to the change log"
	else
		fail "tlspolicyd.attach() while running: the daemon switches to the change log" \
			"$(tail -n 5 "$IT_TMP/plain.log" 2>/dev/null)"
	fi
	sleep 1
	sql "UPDATE plain_policy SET active = true, policy = 'verify'"
	Q_PORT=$PORT5 within_ms 500 expect_ok plain.example verify
else
	fail "daemon on table plain_policy (no triggers) answers" "last lookup: $(got)"
fi
it_stop "$PLAIN_PID"

# NULL in a table without NOT NULL constraints: NULL parameters are empty,
# a NULL target is reported as unusable, never skipped in silence.
sql "CREATE TABLE nullable_policy (target text, policy text, params text);
	INSERT INTO nullable_policy VALUES ('nullparams.example', 'verify', NULL),
		(NULL, 'secure', NULL)"
NULLABLE=("$TLSPOLICYD" -c "$IT_TMP/empty.conf" --database "$PGC_CONNINFO"
	--table nullable_policy --column-parameters params --column-active "")
run_cmd "${NULLABLE[@]}" --query nullparams.example
expect_cmd "NULL parameters are empty: --query nullparams.example -> OK verify" 0 '^OK verify$'
run_cmd "${NULLABLE[@]}" --check
expect_cmd "--check reports the NULL target as an error, named \"(null target)\"" 1 \
	'^\(null target\): error: target can never match'
# --check shows a target so that it can be found in the table: UTF-8 as it
# is (never "??"), quoted with a space, escaped where invisible; an empty
# target is "", not a NULL one.
sql "INSERT INTO nullable_policy VALUES ('', 'may', NULL),
	(E'b\\u00fccher.example', 'bogus', NULL),
	(E'caf\\u00e9 menu.example', 'may', NULL),
	(E'tab\\there.example', 'may', NULL),
	(E'zero\\u200bwidth.example', 'bogus', NULL),
	(E'quote\"d.example', 'may', NULL)"
run_cmd "${NULLABLE[@]}" --check
expect_cmd "--check: an empty target is \"\"" 1 '^"": error: target can never match'
expect_cmd "--check: bücher.example as UTF-8" 1 \
	"^b$(printf '\303\274')cher\\.example: error: invalid security level"
expect_cmd "--check: a target with a space, quoted" 1 \
	"^\"caf$(printf '\303\251') menu\\.example\": error: "
expect_cmd "--check: a tab as \\t, quoted" 1 '^"tab\\there\.example": error: '
expect_cmd "--check: a zero-width space as \\u200b, quoted" 1 \
	'^"zero\\u200bwidth\.example": error: '
expect_cmd "--check: a quote escaped, quoted" 1 '^"quote\\"d\.example": '
if [[ $C_OUT == *'?'* ]]; then
	fail "--check prints no \"?\" for these targets" "$(cmd_got)"
else
	pass "--check prints no \"?\" for these targets"
fi
sql "DELETE FROM nullable_policy WHERE target <> 'nullparams.example'"
# "*.wild.example", the wildcard habit, in a table without the schema's
# CHECK: the names it was meant for answer TEMP (never a silent NOTFOUND)
# and --check says what to write instead.
sql "INSERT INTO nullable_policy VALUES ('*.wild.example', 'secure', NULL)"
run_cmd "${NULLABLE[@]}" --query mx.wild.example
expect_cmd "a \"*.wild.example\" row: --query mx.wild.example -> TEMP, exit 2" 2 \
	'^TEMP invalid policy for \*\.wild\.example: .*write "\.wild\.example"'
run_cmd "${NULLABLE[@]}" --check
expect_cmd "--check names the \"*.wild.example\" row and what to write instead" 1 \
	'^\*\.wild\.example: error: .*write "\.wild\.example"'

# What README.md shows works as shown: its fingerprint row answers OK (an
# abbreviated fingerprint answers TEMP), and its tlspolicyd.conf lines for
# mailcow's tls_policy_override(id, dest, policy, parameters, created,
# modified, active), a table attached with tlspolicyd.attach(), serve it.
FP=$(grep -o "'match=[0-9A-F:]*'" "$IT_REPO/README.md" | head -n 1)
MAILCOW_CONF=$(awk '/^# tlspolicyd.conf for mailcow/ { on = 1; next }
	on && /^$/ { exit } on && !/^#/' "$IT_REPO/README.md")
printf '%s\n' "$MAILCOW_CONF" >"$IT_TMP/mailcow.conf"
sql "CREATE TABLE public.tls_policy_override (id serial PRIMARY KEY,
		dest varchar(255) NOT NULL UNIQUE, policy text NOT NULL,
		parameters varchar(255) DEFAULT '', created timestamp NOT NULL
		DEFAULT now(), modified timestamp, active smallint NOT NULL DEFAULT 1);
	SELECT tlspolicyd.attach('public.tls_policy_override', 'dest');
	INSERT INTO public.tls_policy_override (dest, policy, parameters, active)
	VALUES ('partner.example', 'fingerprint', $FP, 1),
		('nullparams.example', 'may', NULL, 1),
		('off.example', 'secure', '', 0)"
MAILCOW=("$TLSPOLICYD" -c "$IT_TMP/mailcow.conf" --database "$PGC_CONNINFO")
run_cmd "${MAILCOW[@]}" --query partner.example
expect_cmd "README's mailcow config and fingerprint row: partner.example -> OK fingerprint match=<32 bytes>" \
	0 '^OK fingerprint match=([0-9A-F]{2}:){31}[0-9A-F]{2}$'
run_cmd "${MAILCOW[@]}" --query nullparams.example
expect_cmd "... NULL parameters: nullparams.example -> OK may" 0 '^OK may$'
run_cmd "${MAILCOW[@]}" --query off.example
expect_cmd "... active = 0: off.example -> NOTFOUND" 1 '^NOTFOUND$'
sql "DROP TABLE public.tls_policy_override"

# ------------------------------------------------------------ scenario 17
# The schema's NOTIFY paths for big statements (over 1000 targets: one bare
# generation, a full resync) and for many small statements in one
# transaction (more pending targets than the daemon keeps), and an open
# transaction that must stay invisible until COMMIT.
SCEN="17 bulk edits"
sql "INSERT INTO tls_policy (target, policy, parameters)
	SELECT 'h' || i || '.bulk.example', 'may', ''
	FROM generate_series(1, 1500) AS i"
DESC="INSERT of 1500 rows: h1500.bulk.example -> OK may" \
	within_1s expect_ok h1500.bulk.example may
expect_ok h1.bulk.example may
sql "UPDATE tls_policy SET policy = 'encrypt' WHERE target LIKE '%.bulk.example'"
DESC="UPDATE of 1500 rows: h777.bulk.example -> OK encrypt" \
	within_1s expect_ok h777.bulk.example encrypt
expect_ok h1.bulk.example encrypt
expect_ok h1500.bulk.example encrypt
sql "DO \$\$ BEGIN FOR i IN 1..1200 LOOP
	UPDATE tls_policy SET policy = 'verify'
		WHERE target = 'h' || i || '.bulk.example';
	END LOOP; END \$\$"
DESC="1200 one-row UPDATEs in one transaction: h1200.bulk.example -> OK verify" \
	within_1s expect_ok h1200.bulk.example verify
expect_ok h1.bulk.example verify
expect_ok h600.bulk.example verify
expect_ok h1201.bulk.example encrypt
sql "DELETE FROM tls_policy WHERE target LIKE '%.bulk.example'"
DESC="DELETE of 1500 rows: h1.bulk.example -> NOTFOUND" \
	within_1s expect_notfound h1.bulk.example
expect_notfound h1500.bulk.example
# An open transaction is invisible; its COMMIT is visible.
psql -X -q -v ON_ERROR_STOP=1 -c "BEGIN;
	UPDATE tls_policy SET policy = 'secure' WHERE target = 'example.com';
	SELECT pg_sleep(1.5); COMMIT" >"$IT_TMP/opentx.out" 2>&1 &
OPENTX_PID=$!
IT_PIDS+=("$OPENTX_PID")
sleep 0.5
expect_ok example.com may
sleep 0.3
DESC="uncommitted UPDATE still invisible after 0.8 s: example.com -> OK may" \
	expect_ok example.com may
wait "$OPENTX_PID"
rc=$?
it_forget "$OPENTX_PID"
SQL_DONE_US=$(now_us)
if [ "$rc" = 0 ]; then
	DESC="after its COMMIT: example.com -> OK secure" \
		within_1s expect_ok example.com secure
else
	fail "open transaction committed" "$(cat "$IT_TMP/opentx.out")"
fi
sql "UPDATE tls_policy SET policy = 'may' WHERE target = 'example.com'"
within_1s expect_ok example.com may

# ------------------------------------------------------------ scenario 18
# Decision 2 (docs/architecture.md): a database outage degrades freshness, not
# availability; NOTIFYs lost while the session is down are caught up by the
# resync.  Bounds: reconnect_max (5 s) + poll_interval (1 s) + 1 s.
SCEN="18 database outage"
sql "UPDATE tls_policy SET policy = 'may' WHERE target = 'example.com'"
within_1s expect_ok example.com may
sql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
	WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
expect_ok example.com may
sql "UPDATE tls_policy SET policy = 'verify' WHERE target = 'example.com'"
DESC="edit while the daemon's session is gone: example.com -> OK verify" \
	within_ms 7000 expect_ok example.com verify
# A second daemon with max_stale = 1s: past it, the last data is no longer
# authoritative and every lookup answers TEMP (Postfix defers).
it_free_port
PORT6=$IT_PORT
printf 'state_file = %s\n' "$IT_TMP/state/stale" >"$IT_TMP/stale.conf"
start_daemon stale "$IT_TMP/stale.conf" "$PORT6" "$PGC_CONNINFO" \
	--max-stale 1s
STALE_PID=$IT_PID
it_wait_ready "$PORT6" 10 "$STALE_PID" ||
	fail "daemon with --max-stale 1s answers" "last lookup: $(got)"
pg_ctl_opts="-c listen_addresses=127.0.0.1 -p $PGPORT -k $PGC_DIR -c fsync=off -c full_page_writes=off -c synchronous_commit=off"
if pgc_as "$PGC_BINDIR/pg_ctl" -D "$PGC_DIR/data" -m fast -w stop >/dev/null 2>&1; then
	pass "PostgreSQL stopped"
	if holds_for 2000 0.2 check_ok example.com verify; then
		pass "database down for 2 s: example.com keeps answering OK verify"
	else
		fail "database down for 2 s: example.com keeps answering OK verify" \
			"$CHK_GOT"
	fi
	Q_PORT=$PORT6 DESC="down past max_stale = 1s: example.com -> TEMP stale" \
		expect_temp example.com "policy data stale since"
	if pgc_as "$PGC_BINDIR/pg_ctl" -D "$PGC_DIR/data" -l "$PGC_DIR/server.log" \
		-w -t 30 -o "$pg_ctl_opts" start >/dev/null 2>&1; then
		pass "PostgreSQL started again on port $PGPORT"
		sql "UPDATE tls_policy SET policy = 'encrypt' WHERE target = 'example.com'"
		DESC="edit after the restart: example.com -> OK encrypt" \
			within_ms 7000 expect_ok example.com encrypt
		Q_PORT=$PORT6 DESC="back within max_stale after the restart: example.com -> OK encrypt" \
			within_ms 7000 expect_ok example.com encrypt
		# Issue 7 item 6: the switch to stale and back is logged once each.
		n_stale=$(grep -c 'max_stale exceeded: answering TEMP for every key since' "$IT_TMP/stale.log")
		n_back=$(grep -c 'policy data current again' "$IT_TMP/stale.log")
		if [ "$n_stale" = 1 ] && [ "$n_back" = 1 ]; then
			pass "the switch to stale and back is logged once each"
		else
			fail "the switch to stale and back is logged once each" \
				"$n_stale stale line(s), $n_back back line(s)"
		fi
		sql "UPDATE tls_policy SET policy = 'may' WHERE target = 'example.com'"
		DESC="and the next one: example.com -> OK may" \
			within_1s expect_ok example.com may
	else
		fail "PostgreSQL started again on port $PGPORT" \
			"$(tail -n 5 "$PGC_DIR/server.log")"
	fi
else
	fail "PostgreSQL stopped"
fi

it_stop "$STALE_PID"

# ------------------------------------------------------------ scenario 19
# Found in review: the schema's rights and locking, reloads racing
# concurrent writers, and typos that must not downgrade a policy.
SCEN="19 writers and races"

# A writer needs rights on the policy table and tlspolicyd.allow_writer(),
# never rights on tlspolicyd_state.
sql "CREATE ROLE it_writer LOGIN;
	GRANT SELECT, INSERT, UPDATE, DELETE ON tls_policy TO it_writer;
	SELECT tlspolicyd.allow_writer('it_writer')"
if psql -X -q -U it_writer -v ON_ERROR_STOP=1 -c "INSERT INTO tls_policy
	(target, policy) VALUES ('writer.example', 'encrypt')" >/dev/null 2>&1; then
	SQL_DONE_US=$(now_us)
	DESC="INSERT by a role without rights on tlspolicyd_state: writer.example -> OK encrypt" \
		within_1s expect_ok writer.example encrypt
else
	fail "INSERT by a role without rights on tlspolicyd_state"
fi
# Nobody else may take the generation lock and hold every writer up.
sql "CREATE ROLE it_idle LOGIN"
if psql -X -q -U it_idle -c "SELECT tlspolicyd.take_lock()" 2>&1 |
	grep -q 'permission denied'; then
	pass "a role that may only connect cannot call tlspolicyd.take_lock()"
else
	fail "a role that may only connect cannot call tlspolicyd.take_lock()"
fi

# The trigger function runs with the writer's rights: a role that can make
# its own table and cast cannot borrow the schema owner's.
sql "CREATE ROLE it_mallory LOGIN; CREATE SCHEMA it_mallory AUTHORIZATION it_mallory"
psql -X -q -U it_mallory >/dev/null 2>&1 <<'SQL'
SET search_path = it_mallory;
CREATE TYPE evilt AS (a int);
CREATE FUNCTION evil(evilt) RETURNS text LANGUAGE sql
	AS $$ ALTER ROLE it_mallory SUPERUSER; SELECT 'x'::text $$;
CREATE CAST (evilt AS text) WITH FUNCTION evil(evilt);
CREATE TABLE t (target evilt);
CREATE TRIGGER t_notify AFTER INSERT ON t REFERENCING NEW TABLE AS tlspolicyd_new
	FOR EACH STATEMENT EXECUTE FUNCTION tlspolicyd.after_statement('target');
INSERT INTO t VALUES (ROW(1));
SQL
if [ "$(psql -X -A -t -c "SELECT rolsuper FROM pg_roles WHERE rolname = 'it_mallory'")" = f ]; then
	pass "tlspolicyd.after_statement() on a table with a hostile cast grants nothing"
else
	fail "tlspolicyd.after_statement() on a table with a hostile cast grants nothing" \
		"it_mallory became superuser"
fi

# Two writers touching rows in opposite order must not deadlock on the
# generation row.
psql -X -q -v ON_ERROR_STOP=1 -c "BEGIN;
	UPDATE tls_policy SET policy = 'may' WHERE target = 'example.com';
	SELECT pg_sleep(0.6);
	UPDATE tls_policy SET policy = 'may' WHERE target = 'writer.example';
	COMMIT" >"$IT_TMP/writer_a.out" 2>&1 &
WA=$!
IT_PIDS+=("$WA")
sleep 0.2
if psql -X -q -v ON_ERROR_STOP=1 -c "UPDATE tls_policy SET policy = 'verify'
	WHERE target = 'writer.example'" >"$IT_TMP/writer_b.out" 2>&1; then
	rb=0
else
	rb=1
fi
wait "$WA"
ra=$?
it_forget "$WA"
if [ "$ra" = 0 ] && [ "$rb" = 0 ]; then
	pass "concurrent writers in opposite order both commit (no deadlock)"
else
	fail "concurrent writers in opposite order both commit (no deadlock)" \
		"A: $(cat "$IT_TMP/writer_a.out") B: $(cat "$IT_TMP/writer_b.out")"
fi
SQL_DONE_US=$(now_us)
within_1s expect_ok writer.example verify

# A reload (SIGHUP) that waits for a bulk change holding the table lock
# must end up with that change: it was lost for good when the reload's
# snapshot predated the change and its "<gen>" notification was dropped.
sql "INSERT INTO tls_policy (target, policy)
	SELECT 'r' || i || '.race.example', 'secure' FROM generate_series(1, 1500) i"
within_1s expect_ok r1.race.example secure
psql -X -q -v ON_ERROR_STOP=1 -c "BEGIN;
	LOCK TABLE tls_policy IN ACCESS EXCLUSIVE MODE;
	SELECT pg_sleep(1);
	UPDATE tls_policy SET policy = 'none' WHERE target LIKE '%.race.example';
	COMMIT" >"$IT_TMP/race.out" 2>&1 &
RX=$!
IT_PIDS+=("$RX")
sleep 0.3
kill -HUP "$DAEMON_PID"
wait "$RX"
it_forget "$RX"
sql "INSERT INTO tls_policy (target, policy) VALUES ('after.race.example', 'may')"
DESC="bulk change committed while a reload waited: r1500.race.example -> OK none" \
	within_ms 3000 expect_ok r1500.race.example none

# A reload that waits for a TRUNCATE + re-INSERT must never serve the
# empty table in between (TRUNCATE is not MVCC-safe).
psql -X -q -v ON_ERROR_STOP=1 -c "BEGIN;
	CREATE TEMP TABLE keep AS SELECT * FROM tls_policy;
	TRUNCATE tls_policy;
	INSERT INTO tls_policy SELECT * FROM keep;
	SELECT pg_sleep(1);
	COMMIT" >"$IT_TMP/trunc.out" 2>&1 &
TX=$!
IT_PIDS+=("$TX")
sleep 0.3
kill -HUP "$DAEMON_PID"
holds_for 2500 0.05 check_ok writer.example verify
trunc_rc=$?
wait "$TX"
it_forget "$TX"
if [ "$trunc_rc" = 0 ]; then
	pass "reload racing TRUNCATE + re-INSERT: writer.example never lost its row"
else
	fail "reload racing TRUNCATE + re-INSERT: writer.example never lost its row" "$CHK_GOT"
fi

# Whitespace around a target is a typo for the destination: its key answers
# TEMP (never NOTFOUND, which would drop a strict override).
sql "INSERT INTO tls_policy (target, policy) VALUES (' ws.example ', 'secure')"
within_1s expect_temp ws.example whitespace
sql "DELETE FROM tls_policy WHERE target LIKE '%.race.example' OR target = ' ws.example '"
within_1s expect_notfound ws.example

run_cmd "$TLSPOLICYD" --listen inet:8463 --check
expect_cmd "--listen inet:8463 (no host part): exit 2 naming listen" 2 "" listen

# The change log, not the notification, says what changed: a change the
# ordinary trigger did not log (disabled inside the transaction) but that
# reaches the log another way is applied like any other, with no reload.
sql "INSERT INTO tls_policy (target, policy) VALUES ('gap.example', 'secure')"
within_1s expect_ok gap.example secure
before=$(grep -c 'pgsync: reloaded' "$IT_TMP/daemon.log")
sql "BEGIN;
	ALTER TABLE tls_policy DISABLE TRIGGER tlspolicyd_update;
	UPDATE tls_policy SET policy = 'encrypt' WHERE target = 'gap.example';
	SELECT tlspolicyd.log_changes(ARRAY['gap.example']);
	ALTER TABLE tls_policy ENABLE ALWAYS TRIGGER tlspolicyd_update;
	COMMIT"
DESC="a change logged by hand is refreshed: gap.example -> OK encrypt" \
	within_1s expect_ok gap.example encrypt
after=$(grep -c 'pgsync: reloaded' "$IT_TMP/daemon.log")
if [ "$after" = "$before" ]; then
	pass "... incrementally: no full reload"
else
	fail "... incrementally: no full reload" "$((after - before)) reload(s)"
fi

# A notification's payload is never read: forged ones, with a generation
# far ahead, an absurd one or a target, cost no reload and change nothing.
before=$(grep -c 'pgsync: reloaded' "$IT_TMP/daemon.log")
sql "NOTIFY tlspolicyd, '9000000000000000000'"
sql "NOTIFY tlspolicyd, '999999 gap.example'"
sql "NOTIFY tlspolicyd, ''"
sleep 2
after=$(grep -c 'pgsync: reloaded' "$IT_TMP/daemon.log")
if [ "$after" = "$before" ]; then
	pass "forged NOTIFYs (generation 9e18, a target, empty): no reload"
else
	fail "forged NOTIFYs (generation 9e18, a target, empty): no reload" \
		"$((after - before)) reloads in 2 s"
fi
expect_ok gap.example encrypt

# Triggers that exist but do not fire are no triggers: the daemon falls
# back to reloading every poll_interval, and back again when re-enabled.
sql "ALTER TABLE tls_policy DISABLE TRIGGER tlspolicyd_update"
sleep 1.5
sql "UPDATE tls_policy SET policy = 'may' WHERE target = 'gap.example'"
DESC="tlspolicyd_update disabled: the change still arrives by reload" \
	within_ms 3500 expect_ok gap.example may
sql "ALTER TABLE tls_policy ENABLE ALWAYS TRIGGER tlspolicyd_update"
sleep 1.5
sql "UPDATE tls_policy SET policy = 'secure' WHERE target = 'gap.example'"
DESC="re-enabled: gap.example -> OK secure" within_ms 1000 expect_ok gap.example secure

if psql -X -q -c "SELECT tlspolicyd.attach('tls_policy', 'nosuchcolumn')" 2>&1 |
	grep -q 'has no column'; then
	pass "tlspolicyd.attach() refuses a column that does not exist"
else
	fail "tlspolicyd.attach() refuses a column that does not exist"
fi

# ------------------------------------------------------------ shutdown
SCEN="shutdown"
if kill -0 "$DAEMON_PID" 2>/dev/null; then
	pass "daemon still running after all scenarios"
	it_stop "$DAEMON_PID"
	if [ "$IT_STATUS" = 0 ]; then
		pass "SIGTERM -> exit 0"
	else
		fail "SIGTERM -> exit 0" "got: exit status $IT_STATUS"
	fi
else
	wait "$DAEMON_PID"
	fail "daemon still running after all scenarios" "it exited with $?"
	it_forget "$DAEMON_PID"
fi

SCEN=
finish
