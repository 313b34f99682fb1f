#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
#
# lifecycle.sh - overrides that are temporary and documented (issue 10,
# items 1, 2, 3 and 7): a row stops being served at its expires_at with no
# write to the database, an expired row is absent from a load, the history
# records who changed what (as the writer role of the README, not only the
# superuser), the stamps cannot be forged, the schema upgrades in place
# from the two previous versions without losing a row, and --check warns
# of undocumented weakening overrides and of overrides about to expire.
# Called by `make check-integration`; never skips silently.
#
#   tests/integration/lifecycle.sh          uses ./tlspolicyd of this tree
#   TLSPOLICYD=/path/to/bin lifecycle.sh    another binary (the asan build)
#   IT_KEEP=1 lifecycle.sh                  keep the temp dir (logs)
#   IT_VERBOSE=1 lifecycle.sh               print the logs at the end
#
# Output as run.sh: "ok N - ..." / "not ok N - ..." with "#" diagnostics,
# then "N passed, M failed".
#
# Roles, as README.md and docs/dba.md set them up: tlsd (the daemon:
# SELECT on the three tables, nothing on the history), dba (a writer: its
# table privileges and tlspolicyd.allow_writer()), auditor (SELECT on the
# history), ops (a login that may SET ROLE dba) and nobody (may connect).
#
# The schemas of the two previous versions are kept verbatim in
# old-schemas/ (named by the commit that last changed them), so the
# upgrade is tested from what was really shipped.

set -u

# shellcheck source=lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

SQL_DONE_US=
SCHEMA=$IT_REPO/contrib/postgresql/schema.sql
OLD=$IT_LIB_DIR/old-schemas

# psql_db DB FILE: apply a schema file to database DB (ON_ERROR_STOP), as
# $AS (default postgres); PSQL_OUT is what psql said.
psql_db() {
	PSQL_OUT=$(psql -X -q -U "${AS:-postgres}" -v ON_ERROR_STOP=1 -d "$1" \
		-f "$2" 2>&1)
}

# val_db DB QUERY: one value, unaligned, as postgres in database DB.
val_db() {
	PGOPTIONS="-c search_path=pg_catalog,pg_temp" \
		psql -X -A -t -q -d "$1" -v ON_ERROR_STOP=1 -c "$2" 2>&1
}

# gen: the generation of the main database.
gen() {
	it_val postgres "SELECT generation FROM public.tlspolicyd_state"
}

# ------------------------------------------------------------------ setup

SCEN=setup
it_setup_or_bail
sql "CREATE ROLE tlsd LOGIN;
	GRANT SELECT ON public.tls_policy, public.tlspolicyd_state,
		public.tlspolicyd_changes TO tlsd;
	CREATE ROLE dba LOGIN;
	GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON public.tls_policy TO dba;
	SELECT tlspolicyd.allow_writer('dba');
	CREATE ROLE auditor LOGIN;
	GRANT SELECT ON public.tls_policy_history TO auditor;
	CREATE ROLE ops LOGIN IN ROLE dba;
	CREATE ROLE nobody LOGIN" || bail "roles tlsd, dba, auditor, ops, nobody"
pass "PostgreSQL cluster on port $PGPORT with schema.sql and the README's roles"

# The daemon as tlsd, with a reconcile every 2 s: rows expiring between
# full loads must leave the incremental state and a load alike.
it_free_port
PORT=$IT_PORT
it_daemon main "$PORT" "$(it_conninfo "$PGPORT" tlsd)" --poll-interval 1 \
	--reconcile-interval 2s
case $? in
0) ;;
2) bail "daemon as tlsd starts" "exit status $DAEMON_RC: $(tail -n 3 "$IT_TMP/main.log")" ;;
*) bail "daemon as tlsd answers within 10 s" "last lookup: $(got)" ;;
esac
MAIN_PID=$IT_PID
it_wait_ready "$PORT" 10 "$MAIN_PID" || bail "daemon as tlsd loads" "last lookup: $(got)"
pass "daemon as tlsd (SELECT on three tables, none on the history) answers"

# ------------------------------------------------------- 1 expiry, no write
SCEN="1 expiry without a write"
sql_as dba "INSERT INTO public.tls_policy (target, policy, comment, expires_at)
	VALUES ('two.example', 'may', 'ticket 1: broken TLSA',
		now() + interval '2 seconds'),
	('mx.walk.example', 'encrypt', 'walk', now() + interval '2 seconds'),
	('.walk.example', 'verify', 'the domain''s rule', NULL)"
T0=$SQL_DONE_US
DESC="a row expiring in 2 s is served: two.example -> OK may" \
	within_1s expect_ok two.example may
expect_ok mx.walk.example encrypt
G0=$(gen)
if holds_for $((1500 - ($(now_us) - T0) / 1000)) 0.1 check_ok two.example may; then
	pass "served until 1.5 s after the COMMIT"
else
	fail "served until 1.5 s after the COMMIT" "$CHK_GOT"
fi
gone=
while [ $(($(now_us) - T0)) -lt 4000000 ]; do
	if check_notfound two.example; then
		gone=$((($(now_us) - T0) / 1000))
		break
	fi
	sleep 0.02
done
if [ -n "$gone" ] && [ "$gone" -le 2600 ]; then
	pass "then not served: two.example -> NOTFOUND at +$gone ms (expires_at +2000 ms)"
else
	fail "then not served: two.example -> NOTFOUND by +2600 ms" \
		"first NOTFOUND at +${gone:-never} ms; last $CHK_GOT"
fi
DESC="the walk goes on past the expired row: mx.walk.example -> OK verify" \
	expect_ok mx.walk.example verify
expect_eq "no write in between: the generation is still $G0" "$(gen)" "$G0"
expect_eq "logged once: override for two.example expired (comment: ...)" \
	"$(it_log_count main 'pgsync: override for two.example expired (comment: ticket 1: broken TLSA)')" 1
# a full reload (SIGHUP) and a reconcile later: absent, and not logged again
kill -HUP "$MAIN_PID"
sleep 2.5
expect_notfound two.example
expect_eq "... still once after a reload and a reconcile" \
	"$(it_log_count main 'override for two.example expired')" 1
expect_eq "no reconcile difference in the log" \
	"$(it_log_count main 'reconcile:' 'differed')" 0

# ---------------------------------------------------- 2 expired at load
SCEN="2 expired at load"
sql_as dba "INSERT INTO public.tls_policy (target, policy, comment, expires_at)
	VALUES ('past.example', 'encrypt', 'over', now() - interval '1 minute'),
	('minf.example', 'may', 'never served', '-infinity'),
	('inf.example', 'secure', 'for good', 'infinity'),
	('sentinel.example', 'secure', 'arrives with them', NULL)"
within_1s expect_ok sentinel.example secure
DESC="already expired when refreshed: past.example -> NOTFOUND" \
	expect_notfound past.example
DESC="expires_at = '-infinity': minf.example -> NOTFOUND" expect_notfound minf.example
DESC="expires_at = 'infinity': inf.example -> OK secure" expect_ok inf.example secure
it_free_port
PORT2=$IT_PORT
it_daemon fresh "$PORT2" "$(it_conninfo "$PGPORT" tlsd)"
FRESH_PID=$IT_PID
it_wait_ready "$PORT2" 10 "$FRESH_PID" || fail "a second daemon loads" "last lookup: $(got)"
Q_PORT=$PORT2 DESC="a full load leaves it out: past.example -> NOTFOUND" \
	expect_notfound past.example
Q_PORT=$PORT2 expect_ok sentinel.example secure
run_cmd "$TLSPOLICYD" -c "$IT_TMP/main.conf" --database "$(it_conninfo "$PGPORT" tlsd)" \
	--query past.example
expect_cmd "--query past.example: NOTFOUND, exit 1" 1 '^NOTFOUND ?$'
expect_eq "an override never served is not logged as expired" \
	"$(it_log_count main 'override for past.example') $(it_log_count fresh 'override for past.example')" "0 0"
it_stop "$FRESH_PID"
sql_as dba "UPDATE public.tls_policy SET expires_at = now() + interval '7 days'
	WHERE target = 'past.example'"
DESC="extended: past.example -> OK encrypt" within_1s expect_ok past.example encrypt

# ----------------------------------------------------------- 3 history
SCEN="3 history"
sql_as dba "INSERT INTO public.tls_policy (target, policy, comment)
	VALUES ('hist.example', 'may', 'first')"
sql_as dba "UPDATE public.tls_policy SET policy = 'encrypt', comment = 'second'
	WHERE target = 'hist.example'"
sql_as ops "SET ROLE dba; UPDATE public.tls_policy SET comment = 'by ops'
	WHERE target = 'hist.example'"
sql_as dba "DELETE FROM public.tls_policy WHERE target = 'hist.example'"
got=$(it_val auditor "SELECT string_agg(concat_ws(' ', operation, changed_by,
		login_role, table_name, old_row->>'policy', new_row->>'policy',
		new_row->>'updated_by'), ' | ' ORDER BY id)
	FROM public.tls_policy_history WHERE target = 'hist.example'")
expect_eq "history as read by the auditor: INSERT, UPDATE, UPDATE after SET ROLE, DELETE, each by dba" \
	"$got" "INSERT dba dba public.tls_policy may dba | UPDATE dba dba public.tls_policy may encrypt dba | UPDATE dba ops public.tls_policy encrypt encrypt dba | DELETE dba dba public.tls_policy encrypt"
got=$(it_val auditor "SELECT bool_and(changed_at <= now() AND changed_at > now() - interval '1 minute')
	FROM public.tls_policy_history WHERE target = 'hist.example'")
expect_eq "changed_at is the time of the change" "$got" t
for stmt in "INSERT INTO public.tls_policy_history (target, operation, changed_by,
		changed_at, login_role, table_name) VALUES ('x', 'DELETE', 'alice', now(), 'alice', 'x')" \
	"UPDATE public.tls_policy_history SET changed_by = 'alice'" \
	"DELETE FROM public.tls_policy_history" \
	"SELECT tlspolicyd.log_history('public.tls_policy', 'DELETE', 'x', 'alice', NULL, NULL)"; do
	try_as dba "$stmt"
	if [ "$TRY_RC" != 0 ] && [[ $TRY_OUT == *"permission denied"* ||
		$TRY_OUT == *"written by the tlspolicyd_history triggers only"* ]]; then
		pass "a writer cannot: ${stmt%%(*}"
	else
		fail "a writer cannot: ${stmt%%(*}" "psql exit $TRY_RC: $TRY_OUT"
	fi
done
try_as nobody "SELECT count(*) FROM public.tls_policy_history"
if [ "$TRY_RC" != 0 ] && [[ $TRY_OUT == *"permission denied"* ]]; then
	pass "a role without the GRANT cannot read the history"
else
	fail "a role without the GRANT cannot read the history" "$TRY_OUT"
fi
try_as tlsd "SELECT count(*) FROM public.tls_policy_history"
if [ "$TRY_RC" != 0 ]; then
	pass "the daemon's role cannot read it either (it needs nothing of it)"
else
	fail "the daemon's role cannot read it either" "$TRY_OUT"
fi
expect_eq "history rows are only those the triggers wrote" \
	"$(it_val auditor "SELECT count(*) FROM public.tls_policy_history WHERE changed_by = 'alice'")" 0

# ------------------------------------------------------------- 4 stamps
SCEN="4 stamps"
sql_as dba "INSERT INTO public.tls_policy (target, policy, comment, created_at,
		created_by, updated_at, updated_by)
	VALUES ('stamp.example', 'may', 'x', '2000-01-01', 'alice',
		'2000-01-01', 'alice')"
got=$(it_val postgres "SELECT concat_ws(' ', created_by, updated_by,
		created_at > now() - interval '1 minute',
		updated_at = created_at)
	FROM public.tls_policy WHERE target = 'stamp.example'")
expect_eq "INSERT: created_*/updated_* are dba and now(), not what it wrote" \
	"$got" "dba dba t t"
C_AT=$(it_val postgres "SELECT created_at FROM public.tls_policy WHERE target = 'stamp.example'")
sleep 0.2
sql_as ops "SET ROLE dba; UPDATE public.tls_policy SET created_at = '1999-01-01',
	created_by = 'mallory', updated_by = 'mallory', updated_at = '1999-01-01',
	policy = 'encrypt' WHERE target = 'stamp.example'"
got=$(it_val postgres "SELECT concat_ws(' ', created_by, updated_by,
		created_at = '$C_AT', updated_at > created_at)
	FROM public.tls_policy WHERE target = 'stamp.example'")
expect_eq "UPDATE: created_* kept, updated_* are dba and now()" "$got" "dba dba t t"
got=$(it_val auditor "SELECT new_row->>'created_by' || ' ' || (new_row->>'updated_by')
	FROM public.tls_policy_history
	WHERE target = 'stamp.example' AND operation = 'UPDATE'")
expect_eq "the history shows the stamps as written" "$got" "dba dba"

# --------------------------------------------------- 5 attached tables
SCEN="5 attached tables"
sql "CREATE TABLE public.tlspolicies (domain text PRIMARY KEY,
		policy text NOT NULL, params text NOT NULL DEFAULT '');
	SELECT tlspolicyd.attach('public.tlspolicies', 'domain');
	GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON public.tlspolicies TO dba;
	GRANT SELECT ON public.tlspolicies TO tlsd;
	CREATE TABLE public.override_stamped (dest text PRIMARY KEY,
		policy text NOT NULL, created_at timestamptz, created_by text,
		updated_at timestamptz, updated_by text, valid_until timestamptz,
		why text);
	SELECT tlspolicyd.attach('public.override_stamped', 'dest');
	GRANT SELECT, INSERT, UPDATE, DELETE ON public.override_stamped TO dba;
	GRANT SELECT ON public.override_stamped TO tlsd"
expect_eq "tlspolicies(domain, policy, params): history triggers, no stamp trigger" \
	"$(it_val postgres "SELECT string_agg(tgname, ' ' ORDER BY tgname) FROM pg_trigger
		WHERE tgrelid = 'public.tlspolicies'::regclass AND tgname LIKE 'tlspolicyd_h%'
		OR tgrelid = 'public.tlspolicies'::regclass AND tgname = 'tlspolicyd_stamp'")" \
	"tlspolicyd_history tlspolicyd_history_truncate"
sql_as dba "INSERT INTO public.tlspolicies VALUES ('legacy.example', 'may', '')"
sql_as dba "TRUNCATE public.tlspolicies"
expect_eq "its history: INSERT and TRUNCATE of legacy.example, by dba" \
	"$(it_val auditor "SELECT string_agg(operation || ' ' || target || ' ' || changed_by, ', ' ORDER BY id)
		FROM public.tls_policy_history WHERE table_name = 'public.tlspolicies'")" \
	"INSERT legacy.example dba, TRUNCATE legacy.example dba"
sql_as dba "INSERT INTO public.override_stamped (dest, policy, created_by)
	VALUES ('stamped.example', 'may', 'alice')"
expect_eq "a table with the four stamp columns is stamped" \
	"$(it_val postgres "SELECT created_by || ' ' || updated_by FROM public.override_stamped")" "dba dba"

# The defaults of column_expires and column_comment are read only where
# the columns exist: the test suite's tlspolicies table loads as before.
sql_as dba "INSERT INTO public.tlspolicies VALUES ('legacy.example', 'encrypt', '')"
LEGACY=("$TLSPOLICYD" -c "$IT_TMP/main.conf" --database "$(it_conninfo "$PGPORT" tlsd)"
	--table tlspolicies --column-target domain --column-parameters params
	--column-active "")
run_cmd "${LEGACY[@]}" --query legacy.example
expect_cmd "tlspolicies with the default column_expires: --query -> OK encrypt" 0 '^OK encrypt$'
run_cmd "${LEGACY[@]}" --column-expires valid_until --query legacy.example
expect_cmd "column_expires set to a column the table lacks: TEMP naming it, exit 2" 2 \
	'^TEMP no policy data loaded yet: no column valid_until in tlspolicies$'
STAMPED=("$TLSPOLICYD" -c "$IT_TMP/main.conf" --database "$(it_conninfo "$PGPORT" tlsd)"
	--table override_stamped --column-target dest --column-parameters ""
	--column-active "" --column-expires valid_until --column-comment why)
sql_as dba "INSERT INTO public.override_stamped (dest, policy, valid_until, why) VALUES
	('old.stamped.example', 'may', now() - interval '1 second', 'done'),
	('new.stamped.example', 'may', now() + interval '1 hour', 'not yet')"
run_cmd "${STAMPED[@]}" --query old.stamped.example
expect_cmd "column_expires = valid_until: an expired row -> NOTFOUND" 1 '^NOTFOUND ?$'
run_cmd "${STAMPED[@]}" --query new.stamped.example
expect_cmd "column_expires = valid_until: a row expiring later -> OK may" 0 '^OK may$'
run_cmd "${STAMPED[@]}" --global-level dane --check
expect_cmd "--check names the configured comment column" 0 \
	'^stamped\.example: warning: weakening override \(may, below dane\) with no valid_until and no why$'

# ---------------------------------------------------------- 6 --check
SCEN="6 --check hygiene"
sql "CREATE DATABASE hygiene"
psql_db hygiene "$SCHEMA" || fail "schema.sql on database hygiene" "$PSQL_OUT"
psql -X -q -d hygiene -v ON_ERROR_STOP=1 -c "INSERT INTO public.tls_policy
	(target, policy, comment, expires_at) VALUES
	('undoc.example', 'may', NULL, NULL),
	('nocomment.example', 'encrypt', '', now() + interval '30 days'),
	('noexpiry.example', 'none', 'lab, no TLS', NULL),
	('documented.example', 'may', 'ticket 7', now() + interval '30 days'),
	('soon.example', 'secure', NULL, now() + interval '2 days'),
	('strict.example', 'secure', NULL, NULL),
	('dane.example', 'dane', NULL, NULL),
	('gone.example', 'may', NULL, now() - interval '1 day')" >/dev/null
HYG=("$TLSPOLICYD" -c "$IT_TMP/main.conf" --database "hostaddr=127.0.0.1 port=$PGPORT user=postgres dbname=hygiene" --check)
run_cmd "${HYG[@]}" --global-level dane
expect_cmd "--check with warnings only: exit 0" 0
for re in '^undoc\.example: warning: weakening override \(may, below dane\) with no expires_at and no comment$' \
	'^nocomment\.example: warning: weakening override \(encrypt, below dane\) with no comment$' \
	'^noexpiry\.example: warning: weakening override \(none, below dane\) with no expires_at$' \
	'^soon\.example: warning: secure override expires in 1d 23h \([0-9T:Z-]+\), within expiry_warning$'; do
	expect_cmd "--check: /$re/" 0 "$re"
done
for t in documented strict dane gone; do
	if printf '%s\n' "$C_OUT" | grep -q "^$t\.example:"; then
		fail "--check says nothing of $t.example" "$(cmd_got)"
	else
		pass "--check says nothing of $t.example"
	fi
done
run_cmd "${HYG[@]}" --global-level secure --expiry-warning 1d
expect_cmd "--global-level secure: dane is weakening too" 0 \
	'^dane\.example: warning: weakening override \(dane, below secure\) with no expires_at and no comment$'
if printf '%s\n' "$C_OUT" | grep -q '^soon\.example:'; then
	fail "--expiry-warning 1d: soon.example (2 days) is not warned of" "$(cmd_got)"
else
	pass "--expiry-warning 1d: soon.example (2 days) is not warned of"
fi
# Without global_level, postconf says what the level is.
mkdir -p "$IT_TMP/bin"
printf '#!/bin/sh\n[ "$1 $2" = "-xh smtp_tls_security_level" ] && echo verify\n' \
	>"$IT_TMP/bin/postconf"
chmod 755 "$IT_TMP/bin/postconf"
C_OUT=$(PATH=$IT_TMP/bin:$PATH timeout 20 "${HYG[@]}" 2>"$IT_TMP/cmd.err")
C_RC=$?
C_ERR=$(cat "$IT_TMP/cmd.err")
expect_cmd "global_level empty: postconf's smtp_tls_security_level (verify) is used" 0 \
	'^dane\.example: warning: weakening override \(dane, below verify\)'
printf '#!/bin/sh\necho "postconf: fatal: open /etc/postfix/main.cf" >&2\nexit 1\n' \
	>"$IT_TMP/bin/postconf"
C_OUT=$(PATH=$IT_TMP/bin:$PATH timeout 20 "${HYG[@]}" 2>"$IT_TMP/cmd.err")
C_RC=$?
C_ERR=$(cat "$IT_TMP/cmd.err")
expect_cmd "postconf failing: dane, and its message is not shown" 0 \
	'^undoc\.example: warning: weakening override \(may, below dane\)'
if [[ "$C_OUT$C_ERR" == *fatal* ]] || printf '%s\n' "$C_OUT" | grep -q '^dane\.example:'; then
	fail "... no dane.example line, no postconf message" "$(cmd_got)"
else
	pass "... no dane.example line, no postconf message"
fi

# ------------------------------------------------------------ 7 upgrades
# Every row kept, from each of the two previous versions and across both;
# writers allowed by them keep writing; tables attached by them get the
# history; the new schema applied twice changes nothing.
SCEN="7 upgrade"
ROWS="SELECT string_agg(concat_ws('|', target, policy, parameters, active), ',' ORDER BY target)
	FROM public.tls_policy"
FILL="INSERT INTO tls_policy (target, policy, parameters, active)
	SELECT 'h' || i || '.upgrade.example', (ARRAY['may', 'encrypt', 'secure'])[i % 3 + 1],
		CASE WHEN i % 3 = 2 THEN 'match=nexthop' ELSE '' END, i % 5 <> 0
	FROM generate_series(1, 300) AS i;
	INSERT INTO tls_policy (target, policy) VALUES ('Mixed.Case.Example', 'may'),
		('.parent.example', 'verify'), ('[192.0.2.1]:25', 'encrypt')"
sql "CREATE ROLE tableowner LOGIN; CREATE ROLE schemaowner LOGIN"
for db in up_a up_c; do sql "CREATE DATABASE $db"; done
sql "CREATE DATABASE up_b OWNER schemaowner"
# a: HEAD~2's schema (functions in public), with rows, a writer and an
# attached table; then the previous schema; then this one.
psql_db up_a "$OLD/f07a3c2.sql" || fail "f07a3c2's schema on up_a" "$PSQL_OUT"
psql -X -q -d up_a -v ON_ERROR_STOP=1 -c "$FILL" >/dev/null
BEFORE_A=$(val_db up_a "$ROWS")
psql_db up_a "$OLD/72502a1.sql" || fail "72502a1's schema over f07a3c2's" "$PSQL_OUT"
expect_eq "f07a3c2 -> 72502a1: every row kept" "$(val_db up_a "$ROWS")" "$BEFORE_A"
if psql_db up_a "$SCHEMA"; then
	pass "this schema over 72502a1's over f07a3c2's, with 303 rows"
else
	fail "this schema over 72502a1's over f07a3c2's, with 303 rows" "$PSQL_OUT"
fi
expect_eq "... every row kept" "$(val_db up_a "$ROWS")" "$BEFORE_A"
expect_eq "... 303 rows, the new columns NULL" \
	"$(val_db up_a "SELECT count(*) || ' ' || count(comment) || ' ' || count(expires_at) || ' ' || count(created_by) FROM public.tls_policy")" \
	"303 0 0 0"
psql_db up_a "$SCHEMA" || fail "this schema applied twice" "$PSQL_OUT"
expect_eq "applied again: every row kept" "$(val_db up_a "$ROWS")" "$BEFORE_A"
# b: the previous schema, applied by a role that is no superuser, with
# rows, a writer allowed by it, a table attached by it, and one that
# belongs to another role since.
AS=schemaowner psql_db up_b "$OLD/72502a1.sql" || fail "72502a1's schema on up_b" "$PSQL_OUT"
psql -X -q -U schemaowner -d up_b -v ON_ERROR_STOP=1 -c "$FILL;
	GRANT SELECT, INSERT, UPDATE, DELETE ON tls_policy TO dba;
	SELECT tlspolicyd.allow_writer('dba');
	CREATE TABLE public.tlspolicies (domain text PRIMARY KEY, policy text NOT NULL);
	SELECT tlspolicyd.attach('public.tlspolicies', 'domain');
	INSERT INTO public.tlspolicies VALUES ('legacy.example', 'may');
	GRANT SELECT, INSERT, UPDATE, DELETE ON public.tlspolicies TO dba;
	CREATE TABLE public.theirs (dest text PRIMARY KEY, policy text NOT NULL);
	SELECT tlspolicyd.attach('public.theirs', 'dest')" >/dev/null
psql -X -q -d up_b -v ON_ERROR_STOP=1 -c "ALTER TABLE public.theirs OWNER TO tableowner"
BEFORE_B=$(val_db up_b "$ROWS")
if AS=schemaowner psql_db up_b "$SCHEMA"; then
	pass "this schema over 72502a1's, with 303 rows and two attached tables"
else
	fail "this schema over 72502a1's, with 303 rows and two attached tables" "$PSQL_OUT"
fi
expect_eq "... every row kept" "$(val_db up_b "$ROWS")" "$BEFORE_B"
expect_eq "... legacy.example kept in the attached table" \
	"$(val_db up_b "SELECT domain || ' ' || policy FROM public.tlspolicies")" "legacy.example may"
if [[ $PSQL_OUT == *'public.theirs has no history trigger'*"tlspolicyd.attach('public.theirs', 'dest')"* ]]; then
	pass "... a table it may not alter is named in a warning, with the attach() to run"
else
	fail "... a table it may not alter is named in a warning" "psql said: $PSQL_OUT"
fi
PGDATABASE=up_b sql_as dba "INSERT INTO public.tls_policy (target, policy) VALUES ('w.example', 'may');
	UPDATE public.tlspolicies SET policy = 'encrypt'"
expect_eq "... the writer allowed by the old schema writes, and is in the history" \
	"$(val_db up_b "SELECT string_agg(table_name || ' ' || operation || ' ' || target || ' ' || changed_by, ', ' ORDER BY id) FROM public.tls_policy_history")" \
	"public.tls_policy INSERT w.example dba, public.tlspolicies UPDATE legacy.example dba"
# c: HEAD~2's schema straight to this one: its writer keeps writing too.
psql_db up_c "$OLD/f07a3c2.sql" || fail "f07a3c2's schema on up_c" "$PSQL_OUT"
psql -X -q -d up_c -v ON_ERROR_STOP=1 -c "$FILL;
	GRANT SELECT, INSERT, UPDATE, DELETE ON tls_policy TO dba;
	SELECT tlspolicyd_allow_writer('dba')" >/dev/null
BEFORE_C=$(val_db up_c "$ROWS")
psql_db up_c "$SCHEMA" || fail "this schema over f07a3c2's" "$PSQL_OUT"
expect_eq "f07a3c2 -> this one: every row kept" "$(val_db up_c "$ROWS")" "$BEFORE_C"
PGDATABASE=up_c sql_as dba "INSERT INTO public.tls_policy (target, policy) VALUES ('w.example', 'may')"
expect_eq "... the writer allowed by f07a3c2's schema writes, and is in the history" \
	"$(val_db up_c "SELECT operation || ' ' || changed_by FROM public.tls_policy_history")" "INSERT dba"

# The level, length and pattern checks: valid on a new install (\d shows
# no NOT VALID); validated by an upgrade when every row passes them (those
# of f07a3c2's schema were always NOT VALID); left NOT VALID, with a
# warning naming the check, while an old row breaks one.
CHECKS="SELECT string_agg(conname || '=' || convalidated, ' ' ORDER BY conname)
	FROM pg_constraint WHERE conrelid = 'public.tls_policy'::regclass
	AND contype = 'c'"
ALL_VALID="tls_policy_level_check=true tls_policy_target_length=true tls_policy_target_pattern=true"
sql "CREATE DATABASE up_fresh"
psql_db up_fresh "$SCHEMA" || fail "schema.sql on a new database" "$PSQL_OUT"
if [[ $PSQL_OUT == *NOTICE* || $PSQL_OUT == *WARNING* ]]; then
	fail "a new install prints no NOTICE or WARNING" "psql said: $PSQL_OUT"
else
	pass "a new install prints no NOTICE or WARNING"
fi
expect_eq "a new install: the three checks are valid" \
	"$(val_db up_fresh "$CHECKS")" "$ALL_VALID"
out=$(psql -X -d up_fresh -c '\d public.tls_policy' 2>&1)
if [[ $out == *tls_policy_level_check* && $out != *"NOT VALID"* ]]; then
	pass "a new install: \\d public.tls_policy shows no NOT VALID"
else
	fail "a new install: \\d public.tls_policy shows no NOT VALID" "$out"
fi
# attach() drops the triggers it is about to create: on a table that has
# none, PostgreSQL would say "does not exist, skipping" nine times.
out=$(psql -X -d up_fresh -v ON_ERROR_STOP=1 -c "CREATE TABLE public.other
	(domain text PRIMARY KEY, policy text NOT NULL)" \
	-c "SELECT tlspolicyd.attach('public.other', 'domain')" \
	-c "SELECT tlspolicyd.attach('public.other', 'domain')" 2>&1)
rc=$?
if [ "$rc" = 0 ] && [[ $out != *NOTICE* && $out != *skipping* ]]; then
	pass "tlspolicyd.attach() on a new table, then again: no NOTICE"
else
	fail "tlspolicyd.attach() on a new table, then again: no NOTICE" \
		"psql exit $rc: $out"
fi
expect_eq "f07a3c2 -> 72502a1 -> this, rows all good: the three checks are valid" \
	"$(val_db up_a "$CHECKS")" "$ALL_VALID"
expect_eq "f07a3c2 -> this, rows all good: the three checks are valid" \
	"$(val_db up_c "$CHECKS")" "$ALL_VALID"
sql "CREATE DATABASE up_bad"
psql_db up_bad "$OLD/f07a3c2.sql" || fail "f07a3c2's schema on up_bad" "$PSQL_OUT"
psql -X -q -d up_bad -v ON_ERROR_STOP=1 -c "$FILL;
	ALTER TABLE tls_policy DROP CONSTRAINT tls_policy_level_check;
	INSERT INTO tls_policy (target, policy) VALUES ('bad.example', 'bogus')" \
	>/dev/null
psql_db up_bad "$SCHEMA" || fail "this schema over f07a3c2's with a bad level" "$PSQL_OUT"
if [[ $PSQL_OUT == *"WARNING:  tlspolicyd schema: rows of public.tls_policy break tls_policy_level_check, which stays NOT VALID"* ]] &&
	[ "$(printf '%s\n' "$PSQL_OUT" | grep -c WARNING)" = 1 ]; then
	pass "... a row with level bogus: one warning, naming tls_policy_level_check"
else
	fail "... a row with level bogus: one warning, naming tls_policy_level_check" \
		"psql said: $PSQL_OUT"
fi
expect_eq "... which stays NOT VALID; the others are valid" \
	"$(val_db up_bad "$CHECKS")" \
	"tls_policy_level_check=false tls_policy_target_length=true tls_policy_target_pattern=true"
psql -X -q -d up_bad -c "DELETE FROM tls_policy WHERE target = 'bad.example'" >/dev/null
psql_db up_bad "$SCHEMA" || fail "this schema again, the bad row gone" "$PSQL_OUT"
expect_eq "... applied again once the row is gone: all valid" \
	"$(val_db up_bad "$CHECKS")" "$ALL_VALID"

# The new table is covered by the ownership check: made first by another
# role, it stops the file before anything changes.
sql "CREATE ROLE squatter LOGIN"
sql "CREATE DATABASE up_squat"
psql_db up_squat "$OLD/72502a1.sql" || fail "72502a1's schema on up_squat" "$PSQL_OUT"
psql -X -q -d up_squat -v ON_ERROR_STOP=1 -c "GRANT CREATE ON SCHEMA public TO squatter" >/dev/null
psql -X -q -U squatter -d up_squat -v ON_ERROR_STOP=1 -c "CREATE TABLE public.tls_policy_history
	(id bigint, target text, operation text, changed_by text, changed_at timestamptz,
	 old_row jsonb, new_row jsonb, login_role text, table_name text)" >/dev/null
if psql_db up_squat "$SCHEMA"; then
	fail "a tls_policy_history made first by another role stops schema.sql" "it applied"
elif [[ $PSQL_OUT == *"table public.tls_policy_history belongs to role squatter"* ]] &&
	[ "$(val_db up_squat "SELECT count(*) FROM pg_attribute WHERE attrelid = 'public.tls_policy'::regclass AND attname = 'expires_at'")" = 0 ]; then
	pass "a tls_policy_history made first by another role stops schema.sql, naming it; nothing changed"
else
	fail "a tls_policy_history made first by another role stops schema.sql, naming it" "$PSQL_OUT"
fi

# Upgraded while the daemon runs: it takes the new columns at once.
sql "CREATE DATABASE up_live"
psql_db up_live "$OLD/72502a1.sql" || fail "72502a1's schema on up_live" "$PSQL_OUT"
psql -X -q -d up_live -v ON_ERROR_STOP=1 -c "INSERT INTO tls_policy (target, policy)
	VALUES ('live.example', 'may')" >/dev/null
it_free_port
PORT3=$IT_PORT
it_daemon live "$PORT3" "hostaddr=127.0.0.1 port=$PGPORT user=postgres dbname=up_live"
LIVE_PID=$IT_PID
it_wait_ready "$PORT3" 10 "$LIVE_PID" || fail "daemon on up_live loads" "last lookup: $(got)"
Q_PORT=$PORT3 expect_ok live.example may
if [ "$(it_log_count live 'has no column expires_at: its rows never expire')" = 1 ]; then
	pass "before: \"has no column expires_at: its rows never expire\", once"
else
	fail "before: \"has no column expires_at: its rows never expire\", once" \
		"$(tail -n 5 "$IT_TMP/live.log")"
fi
psql_db up_live "$SCHEMA" || fail "this schema on up_live while the daemon runs" "$PSQL_OUT"
psql -X -q -d up_live -v ON_ERROR_STOP=1 -c "UPDATE tls_policy
	SET expires_at = now() - interval '1 second' WHERE target = 'live.example'" >/dev/null
SQL_DONE_US=$(now_us)
Q_PORT=$PORT3 DESC="after the upgrade an expired row goes: live.example -> NOTFOUND" \
	within_ms 3000 expect_notfound live.example
expect_eq "... by a new session that reads the columns" \
	"$(it_log_count live 'the columns of "public"."tls_policy" changed: starting a new session')" 1
it_stop "$LIVE_PID"

# ------------------------------------------------- 8 logical replication
# The subscriber keeps the publisher's stamps (tlspolicyd_stamp does not
# fire in the apply worker) and records no history of its own for them.
SCEN="8 subscriber"
sql "ALTER SYSTEM SET wal_level = logical" &&
	it_cluster_restart "$PGC_DIR" || fail "wal_level = logical" "$(tail -n 3 "$PGC_DIR/server.log")"
if it_cluster_start sub; then
	SUB=$IT_CL_PORT
	PGPORT=$SUB pgc_schema "$SCHEMA" || fail "schema.sql on the subscriber"
	sql "CREATE PUBLICATION lp FOR TABLE public.tls_policy"
	PGPORT=$SUB sql "CREATE SUBSCRIPTION ls
		CONNECTION 'hostaddr=127.0.0.1 port=$PGPORT user=postgres dbname=postgres'
		PUBLICATION lp"
	sql_as dba "INSERT INTO public.tls_policy (target, policy, comment)
		VALUES ('sub.example', 'may', 'replicated')"
	want=$(it_val postgres "SELECT created_by || ' ' || created_at FROM public.tls_policy WHERE target = 'sub.example'")
	got=
	for _ in $(seq 1 100); do
		got=$(PGPORT=$SUB it_val postgres "SELECT created_by || ' ' || created_at FROM public.tls_policy WHERE target = 'sub.example'")
		[ -n "$got" ] && break
		sleep 0.1
	done
	expect_eq "the subscriber has the publisher's stamps" "$got" "$want"
	expect_eq "... and no history of its own for the replicated rows" \
		"$(PGPORT=$SUB it_val postgres "SELECT count(*) FROM public.tls_policy_history")" 0
	PGPORT=$SUB sql "DROP SUBSCRIPTION ls"
else
	fail "subscriber cluster starts"
fi

# ------------------------------------------------------------ shutdown
SCEN="shutdown"
expect_eq "no reconcile difference in the main daemon's log" \
	"$(it_log_count main 'reconcile:' 'differed')" 0
if kill -0 "$MAIN_PID" 2>/dev/null; then
	it_stop "$MAIN_PID"
	if [ "$IT_STATUS" = 0 ]; then
		pass "daemon still running, SIGTERM -> exit 0"
	else
		fail "daemon still running, SIGTERM -> exit 0" "exit status $IT_STATUS"
	fi
else
	wait "$MAIN_PID"
	fail "daemon still running" "it exited with $?"
	it_forget "$MAIN_PID"
fi

SCEN=
finish
