#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# run.sh - end-to-end test: real Postfix, real PostgreSQL, the real daemon.
#
# Starts, all on loopback and all inside one temporary directory, a
# throwaway PostgreSQL cluster with the schema, the daemon, smtp-sink
# (never offers STARTTLS) and a private Postfix instance whose
# smtp_tls_policy_maps is the daemon.  Messages are injected with
# sendmail(1); each outcome is read from the maillog, correlated by the
# message's unique Message-ID (-> queue id) and recipient.
#
# Usage: tests/e2e/run.sh            (as root; TLSPOLICYD=path overrides
#                                     the daemon, default ./tlspolicyd)
# Output: one "ok N - ..." / "not ok N - ..." line per scenario, then
# "N passed, M failed"; exit status 0 only if nothing failed.
#
# Self-check: TLSPOLICYD=tests/e2e/fake-tlspolicyd.py passes with the
# default FAKE_MODE=db, and fails with FAKE_MODE=notfound or may.

set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TLS_REQUIRED='TLS is required, but was not offered'
CONFIG_PROBLEM='client TLS configuration problem'

# expect LABEL MSGID RCPT STATUS DSN [WHY [SKIP]]: wait for the outcome of
# one message and print the scenario line.  SKIP = earlier outcomes of the
# same queue id and recipient to pass over (after a flush).
expect() {
	local label=$1 msgid=$2 rcpt=$3 status=$4 dsn=$5 why=${6:-} skip=${7:-0}
	if ! e2e_wait_outcome "$msgid" "$rcpt" "$skip"; then
		e2e_notok "$label" "no delivery outcome for <$rcpt> (Message-ID <$msgid>, queue id ${E2E_QID:-none}) within the deadline" \
			"$(context "$rcpt")"
		return 1
	fi
	if [ "$E2E_STATUS" = "$status" ] && [ "$E2E_DSN" = "$dsn" ] &&
		[[ $E2E_WHY == *"$why"* ]]; then
		return 0
	fi
	e2e_notok "$label" "want status=$status dsn=$dsn${why:+ ($why)}" \
		"got: ${E2E_LINE#* postfix-e2e/}" "$(context "$rcpt")"
	return 1
}

# What Postfix and the daemon said about a recipient's domain.
context() {
	local dom=${1#*@}
	grep -i -F -e "\"$dom\"" -e "$dom/" "$E2E_MAILLOG" | grep -F warning |
		tail -3 | sed 's/^.* postfix-e2e\//maillog: /'
}

# check LABEL MSGID RCPT STATUS DSN [WHY [SKIP]]: expect + "ok" line.
check() {
	expect "$@" && e2e_ok "$1"
}

# check_answer KEY WANT LABEL MSGID ...: as check, and the daemon's answer
# for KEY (postmap -q) must be WANT.  For outcomes that a plain delivery
# cannot tell apart ('may', 'none' and NOTFOUND all deliver to a server
# without STARTTLS).
check_answer() {
	local key=$1 want=$2 got
	shift 2
	got=$(e2e_query "$key")
	if [ "$got" != "$want" ]; then
		e2e_notok "$1" "postmap -q $key: want '$want', got '$got'"
		return 1
	fi
	check "$@"
}

# ------------------------------------------------------------------ setup

e2e_start_all

SINK=$E2E_SINK_PORT
NEXTHOP="[127.0.0.1]:$SINK"
e2e_transport_add routed.test "smtp:$NEXTHOP"
e2e_hosts_add may.test none.test encrypt.test secure.test verify.test \
	host.parent.test parent.test mixed.test routed.test unlisted.test \
	dba.test rev.test down-may.test down-enc.test down-unlisted.test

e2e_sql "INSERT INTO tls_policy (target, policy, parameters) VALUES
	('may.test', 'may', ''),
	('none.test', 'none', ''),
	('encrypt.test', 'encrypt', ''),
	('secure.test', 'secure', 'match=nexthop:dot-nexthop'),
	('verify.test', 'verify', ''),
	('.parent.test', 'encrypt', ''),
	('mixed.test', 'encrypt', ''),
	('$NEXTHOP', 'encrypt', ''),
	('routed.test', 'may', ''),
	('dba.test', 'encrypt', ''),
	('rev.test', 'may', ''),
	('down-may.test', 'may', ''),
	('down-enc.test', 'encrypt', '')" >/dev/null ||
	e2e_die "could not insert the policy rows"

e2e_daemon_start
DAEMON_PID=$E2E_DAEMON_PID
e2e_postfix_start
e2e_log "setup done"

# ------------------------------------------- independent messages: one batch

m() { echo "$1.$$@$E2E_HOST"; }   # unique Message-ID per scenario
e2e_send "s1@may.test" "$(m s1)"
e2e_send "s2@none.test" "$(m s2)"
e2e_send "s3@encrypt.test" "$(m s3)"
e2e_send "s4@secure.test" "$(m s4)"
e2e_send "s5@verify.test" "$(m s5)"
e2e_send "s6@host.parent.test" "$(m s6)"
e2e_send "s7@parent.test" "$(m s7)"
e2e_send "s8@MiXeD.Test" "$(m s8)"
e2e_send "s9@routed.test" "$(m s9)"
e2e_send "s10@unlisted.test" "$(m s10)"
e2e_send "s11@dba.test" "$(m s11)"
e2e_send "s12a@rev.test" "$(m s12a)"

check_answer may.test "OK may" "row 'may' -> answer 'OK may', delivered" \
	"$(m s1)" s1@may.test sent 2.0.0
check_answer none.test "OK none" "row 'none' -> answer 'OK none', delivered" \
	"$(m s2)" s2@none.test sent 2.0.0
check "row 'encrypt' -> deferred 4.7.4, TLS not offered" \
	"$(m s3)" s3@encrypt.test deferred 4.7.4 "$TLS_REQUIRED"
check "row 'secure match=nexthop:dot-nexthop' -> deferred 4.7.4, TLS not offered" \
	"$(m s4)" s4@secure.test deferred 4.7.4 "$TLS_REQUIRED"
check "row 'verify' -> deferred 4.7.4, TLS not offered" \
	"$(m s5)" s5@verify.test deferred 4.7.4 "$TLS_REQUIRED"
check "row '.parent.test' (encrypt) governs host.parent.test" \
	"$(m s6)" s6@host.parent.test deferred 4.7.4 "$TLS_REQUIRED"
check_answer parent.test NOTFOUND \
	"row '.parent.test' does not govern parent.test itself (NOTFOUND, global may, delivered)" \
	"$(m s7)" s7@parent.test sent 2.0.0
check "recipient domain MiXeD.Test matches row 'mixed.test' (encrypt)" \
	"$(m s8)" s8@MiXeD.Test deferred 4.7.4 "$TLS_REQUIRED"
check "transport nexthop $NEXTHOP governed by its exact row (encrypt), not by the domain's row (may)" \
	"$(m s9)" s9@routed.test deferred 4.7.4 "$TLS_REQUIRED"
check_answer unlisted.test NOTFOUND \
	"unlisted domain -> NOTFOUND, global level may, delivered" \
	"$(m s10)" s10@unlisted.test sent 2.0.0

# ------------------------------------------------ the DBA changes a row

# The daemon follows the table without a restart, Postfix without a
# reload.  Before flushing, wait (at most 5 s: NOTIFY is immediate, the
# generation poll runs every second) until the daemon's answer has changed
# (Postfix's own client, postmap -q): that latency (an upper bound: it
# includes one postmap run, ~15 ms) is reported, not hidden.
answer_is() { [ "$(e2e_query "$1")" = "$2" ]; }

dba_label="DBA: 'encrypt' row deferred, UPDATE to 'may', postqueue -f -> delivered (no reload, no restart)"
if expect "$dba_label" "$(m s11)" s11@dba.test deferred 4.7.4 "$TLS_REQUIRED"; then
	e2e_sql "UPDATE tls_policy SET policy = 'may' WHERE target = 'dba.test'"
	t=$(e2e_now)
	if ! e2e_wait 5 answer_is dba.test "OK may"; then
		e2e_notok "$dba_label" "daemon still answers '$(e2e_query dba.test)' 5 s after the UPDATE (poll interval 1 s)"
	else
		lat=$((($(e2e_now) - t) / 1000))
		e2e_flush "$E2E_QID"
		if expect "$dba_label" "$(m s11)" s11@dba.test sent 2.0.0 "" 1; then
			if [ "$E2E_MASTER_PID" = "$(e2e_master_pid)" ] &&
				[ "$DAEMON_PID" = "$E2E_DAEMON_PID" ] &&
				kill -0 "$DAEMON_PID" 2>/dev/null; then
				e2e_ok "$dba_label (answer changed <= $lat ms after COMMIT)"
			else
				e2e_notok "$dba_label" "Postfix master or daemon was restarted"
			fi
		fi
	fi
fi

rev_label="DBA: 'may' row delivered, UPDATE to 'encrypt' -> next message deferred 4.7.4"
if expect "$rev_label" "$(m s12a)" s12a@rev.test sent 2.0.0; then
	e2e_sql "UPDATE tls_policy SET policy = 'encrypt' WHERE target = 'rev.test'"
	t=$(e2e_now)
	if ! e2e_wait 5 answer_is rev.test "OK encrypt"; then
		e2e_notok "$rev_label" "daemon still answers '$(e2e_query rev.test)' 5 s after the UPDATE (poll interval 1 s)"
	else
		lat=$((($(e2e_now) - t) / 1000))
		e2e_send "s12b@rev.test" "$(m s12b)"
		check "$rev_label (answer changed <= $lat ms after COMMIT)" \
			"$(m s12b)" s12b@rev.test deferred 4.7.4 "$TLS_REQUIRED"
	fi
fi

# ------------------------------------------------------ the daemon is down

e2e_daemon_stop
e2e_send "d1@down-may.test" "$(m d1)"
e2e_send "d2@down-enc.test" "$(m d2)"
e2e_send "d3@down-unlisted.test" "$(m d3)"
down_label="daemon stopped (SIGTERM, exit 0) -> 'may' row, 'encrypt' row and unlisted domain all deferred 4.7.5"
down_qids=()
if [ "$E2E_DAEMON_STATUS" -ne 0 ]; then
	e2e_notok "$down_label" "daemon exited with status $E2E_DAEMON_STATUS after SIGTERM"
else
	expect "$down_label" "$(m d1)" d1@down-may.test deferred 4.7.5 "$CONFIG_PROBLEM" &&
		down_qids+=("$E2E_QID") &&
		expect "$down_label" "$(m d2)" d2@down-enc.test deferred 4.7.5 "$CONFIG_PROBLEM" &&
		down_qids+=("$E2E_QID") &&
		expect "$down_label" "$(m d3)" d3@down-unlisted.test deferred 4.7.5 "$CONFIG_PROBLEM" &&
		down_qids+=("$E2E_QID") &&
		e2e_ok "$down_label"
fi

e2e_daemon_start
e2e_flush "${down_qids[@]}"
up_label="daemon started again, postqueue -f -> 'may' row and unlisted delivered, 'encrypt' row deferred 4.7.4"
expect "$up_label" "$(m d1)" d1@down-may.test sent 2.0.0 "" 1 &&
	expect "$up_label" "$(m d2)" d2@down-enc.test deferred 4.7.4 "$TLS_REQUIRED" 1 &&
	expect "$up_label" "$(m d3)" d3@down-unlisted.test sent 2.0.0 "" 1 &&
	e2e_ok "$up_label"

e2e_summary
