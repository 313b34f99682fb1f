#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
#
# replicas.sh - the daemon follows replicas incrementally (issue 7,
# docs/architecture.md, decision 1): a hot standby (pg_basebackup -R of the test
# cluster), where NOTIFY does not exist and the change log is read by the poll,
# and a logical-replication subscriber, where the apply worker fires row-level
# triggers only.  Each COMMIT on the primary must be answered through the daemon
# within 2 s, by change-log catch-ups ("applied generation"), never by full
# reloads.  Called by `make check-integration`; never skips silently.
#
#   tests/integration/replicas.sh          uses ./tlspolicyd of this tree
#   TLSPOLICYD=/path/to/bin replicas.sh    another binary (the asan build)
#   IT_KEEP=1 replicas.sh                  keep the temp dir (logs)
#   IT_VERBOSE=1 replicas.sh               print the logs at the end
#
# Output as run.sh: "ok N - ..." / "not ok N - ..." with "#" diagnostics
# (the COMMIT -> answer figures among them), then "N passed, M failed".
#
# Clusters: the first (lib.sh, restarted with wal_level = logical) is the
# physical primary and the publisher; "standby" is its hot standby;
# "sub" subscribes to it.  Roles: tlsd (the daemon, SELECT on the three
# tables; on the subscriber too) and dba (the writer, on the primary).
# dba commits with synchronous_commit = on, as a production primary would:
# the test cluster runs with it off, which delays WAL to the standby by up
# to wal_writer_delay.

set -u

# shellcheck source=lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

SQL_DONE_US=
SCHEMA=$IT_REPO/contrib/postgresql/schema.sql

# daemon_role PORT: create tlsd with the README's rights in that cluster.
daemon_role() {
	PGPORT=$1 sql "CREATE ROLE tlsd LOGIN;
		GRANT SELECT ON public.tls_policy, public.tlspolicyd_state,
			public.tlspolicyd_changes TO tlsd"
}

# follow NAME DAEMON_PORT OP...: each OP is "SQL|ok|KEY|VALUE" or
# "SQL|notfound|KEY": dba commits SQL on the primary, the answer through
# the daemon must follow within 2 s.  LATS collects the figures (ms, from
# psql's return after COMMIT to the lookup that saw the change), LATS_PSQL
# the same from psql's start (an upper bound that includes its round trip).
follow() {
	local name=$1 port=$2 op stmt kind key val t0 t1
	shift 2
	LATS=()
	LATS_PSQL=()
	for op in "$@"; do
		IFS='|' read -r stmt kind key val <<<"$op"
		t0=$(now_us)
		sql_as dba "$stmt" || continue
		t1=$SQL_DONE_US
		if [ "$kind" = ok ]; then
			Q_PORT=$port DESC="$name: $key -> OK $val" \
				within_ms 2000 expect_ok "$key" "$val"
		else
			Q_PORT=$port DESC="$name: $key -> NOTFOUND" \
				within_ms 2000 expect_notfound "$key"
		fi
		if [ -n "$WITHIN_MS_LAT" ]; then
			LATS+=("$WITHIN_MS_LAT")
			LATS_PSQL+=("$((WITHIN_MS_LAT + (t1 - t0) / 1000))")
		fi
	done
}

# incremental NAME FROM: no full load in NAME's log but the first (since
# the start: a reconnect right after it would count too), and at least one
# change-log catch-up since line FROM.
incremental() {
	local name=$1 from=$2 loads reloads applied
	loads=$(it_log_count "$name" 'pgsync: loaded ')
	reloads=$(it_log_count "$name" 'pgsync: reloaded ')
	applied=$(IT_LOG_FROM=$from it_log_count "$name" 'pgsync: applied generation ')
	echo "# $name: $loads first load(s), then $applied change-log catch-up(s) and $reloads full reload(s)"
	if [ "$loads" = 1 ] && [ "$reloads" = 0 ]; then
		pass "one full load, the first"
	else
		fail "one full load, the first" "$loads \"loaded\", $reloads \"reloaded\":" \
			"$(it_log_lines "$name" 'pgsync: ' | grep 'loaded ' | head -n 5)"
	fi
	if [ "$applied" -ge 1 ]; then
		pass "the edits came by the change log (\"applied generation\" x $applied)"
	else
		fail "the edits came by the change log (\"applied generation\")" \
			"$(IT_LOG_FROM=$from it_log_lines "$name" 'pgsync: ' | tail -n 8)"
	fi
}

# wait_sql SECS PORT QUERY WANT: until it_val QUERY on PORT prints WANT.
wait_sql() {
	local secs=$1 port=$2 query=$3 want=$4 deadline
	deadline=$(($(now_us) + secs * 1000000))
	while :; do
		WAIT_GOT=$(PGPORT=$port it_val postgres "$query")
		[ "$WAIT_GOT" = "$want" ] && return 0
		[ "$(now_us)" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

# ------------------------------------------------------------------ setup

SCEN=setup
it_setup_or_bail
PRIMARY=$PGPORT
sql "ALTER SYSTEM SET wal_level = logical" || bail "ALTER SYSTEM SET wal_level"
it_cluster_restart "$PGC_DIR" ||
	bail "primary restarted" "$(tail -n 5 "$PGC_DIR/server.log")"
if [ "$(it_val postgres 'SHOW wal_level')" = logical ]; then
	pass "primary on port $PRIMARY with schema.sql and wal_level = logical"
else
	bail "primary on port $PRIMARY with wal_level = logical" \
		"$(it_val postgres 'SHOW wal_level')"
fi
it_fn_names
daemon_role "$PRIMARY" || bail "daemon role tlsd"
sql "CREATE ROLE dba LOGIN;
	GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON public.tls_policy TO dba;
	SELECT $FN_ALLOW_WRITER('dba');
	ALTER ROLE dba SET synchronous_commit = on" || bail "writer role dba"
sql_as dba "INSERT INTO public.tls_policy (target, policy) VALUES
	('p1.standby.example', 'may'),
	('p2.standby.example', 'encrypt'),
	('p3.standby.example', 'may'),
	('p4.standby.example', 'may'),
	('p1.logical.example', 'may'),
	('p2.logical.example', 'may'),
	('l2.logical.example', 'encrypt')" || bail "dba fills the table"

# ------------------------------------------------------------ g: standby
SCEN="g hot standby"
if it_standby_start standby; then
	STANDBY=$IT_CL_PORT
	pass "pg_basebackup -R of the primary, started as a hot standby on port $STANDBY"
else
	bail "pg_basebackup -R of the primary, started as a hot standby"
fi
wait_sql 10 "$STANDBY" "SELECT pg_is_in_recovery() AND EXISTS (SELECT 1
	FROM public.tls_policy WHERE target = 'p4.standby.example')" t ||
	bail "the standby is in recovery and has the rows" "got: $WAIT_GOT"

it_free_port
PORT_S=$IT_PORT
it_daemon standby "$PORT_S" "$(it_conninfo "$STANDBY" tlsd)" \
	--poll-interval 200ms --log-level debug
case $? in
0) ;;
2) bail "daemon on the standby starts" "exit status $DAEMON_RC: $(tail -n 3 "$IT_TMP/standby.log")" ;;
*) bail "daemon on the standby answers within 10 s" "last lookup: $(got)" ;;
esac
STANDBY_PID=$IT_PID
it_wait_ready "$PORT_S" 10 "$STANDBY_PID" ||
	bail "daemon as tlsd on the standby loads" "last lookup: $(got)"
pass "daemon as tlsd on the standby (--poll-interval 200ms) answers"
Q_PORT=$PORT_S expect_ok p2.standby.example encrypt
FROM_S=$(it_log_mark standby)

follow standby "$PORT_S" \
	"INSERT INTO public.tls_policy (target, policy) VALUES ('s1.standby.example', 'encrypt')|ok|s1.standby.example|encrypt" \
	"UPDATE public.tls_policy SET policy = 'verify' WHERE target = 's1.standby.example'|ok|s1.standby.example|verify" \
	"UPDATE public.tls_policy SET policy = 'secure', parameters = 'match=nexthop' WHERE target = 'p1.standby.example'|ok|p1.standby.example|secure match=nexthop" \
	"INSERT INTO public.tls_policy (target, policy) VALUES ('.s2.standby.example', 'dane')|ok|mx.s2.standby.example|dane" \
	"DELETE FROM public.tls_policy WHERE target = 's1.standby.example'|notfound|s1.standby.example" \
	"UPDATE public.tls_policy SET active = false WHERE target = 'p2.standby.example'|notfound|p2.standby.example" \
	"UPDATE public.tls_policy SET policy = 'encrypt' WHERE target IN ('p3.standby.example', 'p4.standby.example')|ok|p4.standby.example|encrypt" \
	"UPDATE public.tls_policy SET target = 'P3.Standby.Example', policy = 'dane-only' WHERE target = 'p3.standby.example'|ok|p3.standby.example|dane-only" \
	"INSERT INTO public.tls_policy (target, policy) VALUES ('s3.standby.example', 'none')|ok|s3.standby.example|none" \
	"UPDATE public.tls_policy SET policy = 'may', parameters = '' WHERE target = 'p1.standby.example'|ok|p1.standby.example|may"
echo "# standby COMMIT -> answer: $(it_stats "${LATS[@]}")"
echo "# standby psql start -> answer: $(it_stats "${LATS_PSQL[@]}")"
Q_PORT=$PORT_S expect_ok mx.s2.standby.example dane
Q_PORT=$PORT_S expect_ok p4.standby.example encrypt
incremental standby "$FROM_S"

# ------------------------------------------------------ h: subscriber
SCEN="h logical replication"
if it_cluster_start sub; then
	SUB=$IT_CL_PORT
	pass "subscriber cluster on port $SUB"
else
	bail "subscriber cluster starts"
fi
PGPORT=$SUB pgc_schema "$SCHEMA" || bail "schema.sql on the subscriber"
daemon_role "$SUB" || bail "daemon role tlsd on the subscriber"
sql "CREATE PUBLICATION p FOR TABLE public.tls_policy" ||
	bail "CREATE PUBLICATION on the primary"
PGPORT=$SUB sql "CREATE SUBSCRIPTION s
	CONNECTION 'hostaddr=127.0.0.1 port=$PRIMARY user=postgres dbname=postgres'
	PUBLICATION p" || bail "CREATE SUBSCRIPTION on the subscriber"
NROWS=$(it_val postgres "SELECT count(*) FROM public.tls_policy")
if wait_sql 20 "$SUB" "SELECT (SELECT count(*) FROM public.tls_policy)::text || ' '
	|| (SELECT count(*) FROM pg_subscription_rel WHERE srsubstate <> 'r')::text" "$NROWS 0"; then
	pass "the subscriber has the publisher's $NROWS rows, table synchronised"
else
	bail "the subscriber has the publisher's $NROWS rows, table synchronised" \
		"got: rows, tables not ready = $WAIT_GOT"
fi

it_free_port
PORT_L=$IT_PORT
it_daemon logical "$PORT_L" "$(it_conninfo "$SUB" tlsd)" \
	--poll-interval 1s --log-level debug
case $? in
0) ;;
2) bail "daemon on the subscriber starts" "exit status $DAEMON_RC: $(tail -n 3 "$IT_TMP/logical.log")" ;;
*) bail "daemon on the subscriber answers within 10 s" "last lookup: $(got)" ;;
esac
LOGICAL_PID=$IT_PID
it_wait_ready "$PORT_L" 10 "$LOGICAL_PID" ||
	bail "daemon as tlsd on the subscriber loads" "last lookup: $(got)"
pass "daemon as tlsd on the subscriber (--poll-interval 1s) answers"
Q_PORT=$PORT_L expect_ok l2.logical.example encrypt
Q_PORT=$PORT_L expect_ok p1.standby.example may
FROM_L=$(it_log_mark logical)

follow subscriber "$PORT_L" \
	"INSERT INTO public.tls_policy (target, policy) VALUES ('l1.logical.example', 'encrypt')|ok|l1.logical.example|encrypt" \
	"UPDATE public.tls_policy SET policy = 'verify' WHERE target = 'l1.logical.example'|ok|l1.logical.example|verify" \
	"UPDATE public.tls_policy SET policy = 'secure' WHERE target IN ('p1.logical.example', 'p2.logical.example')|ok|p2.logical.example|secure" \
	"UPDATE public.tls_policy SET target = 'l3.logical.example' WHERE target = 'l2.logical.example'|notfound|l2.logical.example" \
	"UPDATE public.tls_policy SET active = false WHERE target = 'p1.logical.example'|notfound|p1.logical.example" \
	"DELETE FROM public.tls_policy WHERE target = 'l1.logical.example'|notfound|l1.logical.example" \
	"INSERT INTO public.tls_policy (target, policy) VALUES ('.l4.logical.example', 'dane')|ok|mx.l4.logical.example|dane"
echo "# subscriber COMMIT -> answer: $(it_stats "${LATS[@]}")"
echo "# subscriber psql start -> answer: $(it_stats "${LATS_PSQL[@]}")"
Q_PORT=$PORT_L expect_ok l3.logical.example encrypt
Q_PORT=$PORT_L expect_ok p2.logical.example secure
Q_PORT=$PORT_L expect_ok p1.standby.example may
incremental logical "$FROM_L"

# TRUNCATE replicates too (statement-level, "reload everything"): no row
# may survive it on the subscriber's daemon.
sql_as dba "TRUNCATE public.tls_policy"
Q_PORT=$PORT_L DESC="TRUNCATE on the publisher: subscriber: p2.logical.example -> NOTFOUND" \
	within_ms 2000 expect_notfound p2.logical.example
Q_PORT=$PORT_L expect_notfound mx.l4.logical.example
Q_PORT=$PORT_S DESC="TRUNCATE on the primary: standby: p4.standby.example -> NOTFOUND" \
	within_ms 2000 expect_notfound p4.standby.example

# ------------------------------------------------------------ shutdown
SCEN="shutdown"
it_stop_daemons "$STANDBY_PID:standby" "$LOGICAL_PID:logical"

SCEN=
finish
