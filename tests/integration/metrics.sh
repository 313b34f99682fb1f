#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
#
# metrics.sh - /metrics and /health over HTTP (issue 9, items 6 and 8):
# /health is 503 with the TEMP reply's reason before the first load and
# after max_stale, 200 in between; lookups are counted by result exactly,
# and the histogram counts the same frames; connections, rows, invalid
# rows, conflicts, overrides and the generation match the table; the
# database gauge follows PostgreSQL going away; other paths are 404,
# other methods 405; a request with huge headers is refused (431) and the
# daemon still answers; a taken metrics_listen stops the daemon at start.
# The endpoint bounds what a client holds (metrics.c): an HTTP/1.1 client
# gets Content-Type, Content-Length and Connection: close and the server
# closes; HEAD has the length and no body; a request cut in pieces works;
# a flood of 300 slow-drip connections on a daemon with 200 descriptors
# (the review's slowloris) leaves lookups answering, holds at most 8 at a
# time, closes the rest at once and the held ones at the 5 s deadline
# (measured), costs little CPU, and a scrape works after it.
# Called by `make check-integration`; never skips silently.
#
#   tests/integration/metrics.sh          uses ./tlspolicyd of this tree
#   TLSPOLICYD=/path/to/bin metrics.sh    another binary (the asan build)
#   IT_KEEP=1 metrics.sh                  keep the temp dir (logs)
#
# Output as run.sh: "ok N - ..." / "not ok N - ..." with "#" diagnostics,
# then "N passed, M failed".  HTTP is spoken with bash's /dev/tcp: no
# client to install.

set -u

# shellcheck source=lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

# http METHOD PATH [HEADER]: one HTTP/1.0 request to the metrics port
# ($MPORT); H_CODE is the status ("none" when the server closed without
# one), H_BODY the body.
http() {
	local out
	out=$(timeout 5 bash -c '
		exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 7
		printf "%s %s HTTP/1.0\r\nHost: test\r\n%s\r\n" "$2" "$3" "$4" >&3
		cat <&3' _ "$MPORT" "$1" "$2" "${3:+$3$'\r\n'}" 2>/dev/null)
	H_CODE=$(printf '%s\n' "$out" | head -1 | cut -d' ' -f2)
	[ -n "$H_CODE" ] || H_CODE=none
	H_BODY=$(printf '%s\n' "$out" | sed '1,/^\r$/d')
	H_TYPE=$(printf '%s\n' "$out" | sed -n 's/^Content-Type: \(.*\)\r$/\1/p')
}

# probe PORT MODE METHOD PATH: one request from python (an HTTP/1.1 client
# as a scraper is, no Connection: close), read until the server closes.
# MODE "whole" sends it at once, "pieces" in three writes 0.2 s apart.
# P_OUT: "STATUS|Content-Type|Content-Length|Connection|body bytes|ms
# until the server closed" (FIELD "-" when absent, STATUS "none").
probe() {
	P_OUT=$(python3 - "$@" <<'PY' 2>&1
import socket, sys, time
port, mode, method, path = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
req = ('%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: probe\r\n'
       'Accept: text/plain;version=0.0.4\r\n\r\n' % (method, path)).encode()
s = socket.create_connection(('127.0.0.1', port), timeout=4)
t0 = time.monotonic()
if mode == 'pieces':
    for part in (req[:2], req[2:20], req[20:]):
        s.sendall(part)
        time.sleep(0.2)
else:
    s.sendall(req)
data = b''
try:
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
except OSError:
    pass
ms = int((time.monotonic() - t0) * 1000)
head, _, body = data.partition(b'\r\n\r\n')
lines = head.decode('latin-1').split('\r\n')
st = lines[0].split(' ')
h = {}
for l in lines[1:]:
    k, _, v = l.partition(':')
    h[k.strip().lower()] = v.strip()
print('%s|%s|%s|%s|%d|%d' % (st[1] if len(st) > 1 and st[0] == 'HTTP/1.1' else 'none',
      h.get('content-type', '-'), h.get('content-length', '-'),
      h.get('connection', '-'), len(body), ms))
PY
)
}

# cpu_ticks PID: user + system clock ticks the process used so far.
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null
}

# scrape: M_TEXT is /metrics now.  m NAME: a sample's value ("" if absent).
scrape() {
	http GET /metrics
	M_TEXT=$H_BODY
}
m() {
	printf '%s\n' "$M_TEXT" | awk -v n="$1" '$1 == n { print $2 }'
}

# expect_http DESC CODE BODY-SUBSTRING
expect_http() {
	if [ "$H_CODE" = "$2" ] && [[ $H_BODY == *"$3"* ]]; then
		pass "$1"
	else
		fail "$1" "want: $2 with a body containing \"$3\"" \
			"got:  $H_CODE [$H_BODY]"
	fi
}

# until_ok SECS CMD...: retry CMD until it succeeds; 1 on timeout.
until_ok() {
	local deadline=$(($(now_us) + $1 * 1000000))
	shift
	while ! "$@"; do
		[ "$(now_us)" -lt "$deadline" ] || return 1
		sleep 0.05
	done
}

health_is() {
	http GET /health
	[ "$H_CODE" = "$1" ] && [[ $H_BODY == *"$2"* ]]
}
metric_is() {
	scrape
	[ "$(m "$1")" = "$2" ]
}

SCEN=setup
it_setup_or_bail
it_free_port || bail "a free port"
DPORT=$IT_PORT
it_free_port || bail "a free port"
MPORT=$IT_PORT
it_free_port || bail "a free port"
NOPG=$IT_PORT		# nobody listens: the database is unreachable
Q_PORT=$DPORT
pass "PostgreSQL cluster on port $PGPORT; daemon $DPORT, metrics $MPORT"

# ------------------------------------------------------- before any load
SCEN="before the first load"
it_daemon early "$DPORT" "$(it_conninfo "$NOPG" postgres)" \
	--metrics-listen "inet:127.0.0.1:$MPORT" --reconnect-max 200ms ||
	bail "daemon without a database starts" "$(tail -5 "$IT_TMP/early.log")"
EARLY=$IT_PID
until_ok 3 health_is 503 "database unreachable"
expect_http "/health is 503 with the TEMP reply's reason" 503 \
	"no policy data loaded yet: database unreachable"
q example.com "$DPORT"
if [[ $Q_ERR == *"no policy data loaded yet: database unreachable"* ]]; then
	pass "a lookup's TEMP gives the same reason"
else
	fail "a lookup's TEMP gives the same reason" "$(got)"
fi
scrape
expect_eq "/metrics: database_connected 0" \
	"$(m tlspolicyd_database_connected)" 0
expect_eq "/metrics: data age +Inf before any data" \
	"$(m tlspolicyd_data_age_seconds)" +Inf
expect_eq "/metrics: no generation sample before the first load" \
	"$(m tlspolicyd_snapshot_generation)" ""
if [[ $H_TYPE == "text/plain; version=0.0.4"* ]]; then
	pass "/metrics is text/plain; version=0.0.4"
else
	fail "/metrics is text/plain; version=0.0.4" "Content-Type: [$H_TYPE]"
fi
if [ "$(printf '%s\n' "$M_TEXT" | grep -c '^# TYPE tlspolicyd_')" -ge 20 ] &&
	! printf '%s\n' "$M_TEXT" | grep -v '^#' | grep -vqE \
		'^tlspolicyd_[a-z_]+(\{[a-z]+="[^"]*"\})? [-+0-9.eInfNa]+$'; then
	pass "every line is a comment or a well-formed tlspolicyd_ sample"
else
	fail "every line is a comment or a well-formed tlspolicyd_ sample" \
		"$(printf '%s\n' "$M_TEXT" | head -20)"
fi
it_free_port || bail "a free port"
run_cmd "$TLSPOLICYD" -c "$IT_TMP/early.conf" -f --listen \
	"inet:127.0.0.1:$IT_PORT" --database "$(it_conninfo "$NOPG" postgres)" \
	--metrics-listen "inet:127.0.0.1:$MPORT"
expect_cmd "a metrics_listen already taken stops the daemon at start" 1 "" \
	"metrics_listen: inet:127.0.0.1:$MPORT"
it_stop_daemons "$EARLY:early"

# ---------------------------------------------------------------- loaded
SCEN=loaded
sql "INSERT INTO tls_policy (target, policy, parameters, expires_at) VALUES
	('a.example', 'may', '', NULL),
	('b.example', 'encrypt', '', NULL),
	('s.example', 'secure', 'match=nexthop', NULL),
	('bad.example', 'secure', 'frobnicate=1', NULL),
	('dup.example', 'secure', '', NULL),
	('dup.example.', 'secure', '', NULL),
	('x.example', 'may', '', now() + interval '1 hour');
	INSERT INTO tls_policy (target, policy, active) VALUES
	('off.example', 'none', false)" || bail "rows"
it_daemon main "$DPORT" "$PGC_CONNINFO" \
	--metrics-listen "inet:127.0.0.1:$MPORT" --max-stale 2s \
	--poll-interval 200ms --reconnect-max 200ms ||
	bail "daemon starts" "$(tail -5 "$IT_TMP/main.log")"
MAIN=$IT_PID
it_wait_ready "$DPORT" 10 "$MAIN" || bail "daemon loads the table"
until_ok 3 health_is 200 ok
expect_http "/health is 200 after the load" 200 ok
[ "$H_BODY" = ok ] && pass "/health says just \"ok\" while in sync" ||
	fail "/health says just \"ok\" while in sync" "[$H_BODY]"
scrape
expect_eq "rows: 7 active rows stored" "$(m tlspolicyd_snapshot_rows)" 7
expect_eq "invalid rows: 1" "$(m tlspolicyd_snapshot_invalid_rows)" 1
expect_eq "conflicts: 1 key" "$(m tlspolicyd_snapshot_conflicts)" 1
expect_eq "overrides served with a policy: 6" \
	"$(m tlspolicyd_overrides_active)" 6
# may and encrypt without expiry weaken (global level dane); x expires
expect_eq "weakening overrides without expiry: 2" \
	"$(m tlspolicyd_overrides_weakening_without_expiry)" 2
ne=$(m tlspolicyd_next_expiry_seconds)
if awk -v v="$ne" 'BEGIN { exit !(v > 3500 && v <= 3600) }'; then
	pass "next expiry in about an hour ($ne s)"
else
	fail "next expiry in about an hour" "got [$ne]"
fi
expect_eq "generation equals the table's" \
	"$(m tlspolicyd_snapshot_generation)" \
	"$(it_val postgres "SELECT generation FROM public.tlspolicyd_state")"
expect_eq "one full load" "$(m tlspolicyd_loads_total)" 1
expect_eq "database_connected 1" "$(m tlspolicyd_database_connected)" 1
age=$(m tlspolicyd_data_age_seconds)
if awk -v v="$age" 'BEGIN { exit !(v >= 0 && v < 1.5) }'; then
	pass "data age below the poll interval and a margin ($age s)"
else
	fail "data age below the poll interval and a margin" "got [$age]"
fi
st=$(m tlspolicyd_start_time_seconds)
if awk -v v="$st" -v now="$(date +%s)" \
	'BEGIN { exit !(v > now - 60 && v <= now + 1) }'; then
	pass "start time is the process's"
else
	fail "start time is the process's" "got [$st]"
fi

SCEN="lookups counted"
scrape
declare -A before
for k in 'tlspolicyd_lookups_total{result="ok"}' \
	'tlspolicyd_lookups_total{result="notfound"}' \
	'tlspolicyd_lookups_total{result="temp"}' \
	'tlspolicyd_lookups_total{result="perm"}' \
	tlspolicyd_lookup_duration_seconds_count \
	tlspolicyd_connections_accepted_total; do
	before[$k]=$(m "$k")
done
# 3 of each kind, in parallel (postmap sleeps a second after TEMP/PERM)
pids=()
for i in 1 2 3; do
	for km in a.example:tlspolicy nothere.example:tlspolicy \
		bad.example:tlspolicy a.example:nomap; do
		timeout 10 postmap -c "$IT_PFCONF" -q "${km%%:*}" \
			"socketmap:inet:127.0.0.1:$DPORT:${km#*:}" \
			>"$IT_TMP/pm.$i.${km%%:*}.${km#*:}" 2>&1 &
		pids+=($!)
	done
done
wait "${pids[@]}"
until_ok 3 metric_is tlspolicyd_connections_open 0
delta() { echo $(($(m "$1") - ${before[$1]})); }
expect_eq "OK lookups counted: +3" \
	"$(delta 'tlspolicyd_lookups_total{result="ok"}')" 3
expect_eq "NOTFOUND lookups counted: +3" \
	"$(delta 'tlspolicyd_lookups_total{result="notfound"}')" 3
expect_eq "TEMP lookups counted: +3" \
	"$(delta 'tlspolicyd_lookups_total{result="temp"}')" 3
expect_eq "PERM lookups counted: +3" \
	"$(delta 'tlspolicyd_lookups_total{result="perm"}')" 3
expect_eq "the histogram counts the same 12" \
	"$(delta tlspolicyd_lookup_duration_seconds_count)" 12
expect_eq "connections accepted: +12 (one per postmap)" \
	"$(delta tlspolicyd_connections_accepted_total)" 12
expect_eq "connections open: 0 after they closed" \
	"$(m tlspolicyd_connections_open)" 0
inf=$(m 'tlspolicyd_lookup_duration_seconds_bucket{le="+Inf"}')
expect_eq "the +Inf bucket equals the count" "$inf" \
	"$(m tlspolicyd_lookup_duration_seconds_count)"
run_cmd "$TLSPOLICYD" -c "$IT_TMP/main.conf" --database "$PGC_CONNINFO" \
	--query a.example
scrape
expect_eq "--query (another process) counts nothing here" \
	"$(delta 'tlspolicyd_lookups_total{result="ok"}')" 3

SCEN="refresh"
g0=$(m tlspolicyd_refreshes_total)
sql "UPDATE tls_policy SET policy = 'dane' WHERE target = 'b.example'"
within_1s expect_ok b.example dane
until_ok 2 metric_is tlspolicyd_snapshot_generation \
	"$(it_val postgres "SELECT generation FROM public.tlspolicyd_state")"
expect_eq "after an edit: generation equals the table's" \
	"$(m tlspolicyd_snapshot_generation)" \
	"$(it_val postgres "SELECT generation FROM public.tlspolicyd_state")"
expect_eq "the edit came as one incremental refresh" \
	"$(($(m tlspolicyd_refreshes_total) - g0))" 1
expect_eq "encrypt -> dane: one weakening override without expiry left" \
	"$(m tlspolicyd_overrides_weakening_without_expiry)" 1

# it_daemon gives the daemon a state file: written after a second of quiet
state_age_small() {
	scrape
	local a
	a=$(m tlspolicyd_state_file_age_seconds)
	[ -n "$a" ] && awk -v a="$a" 'BEGIN { exit !(a >= 0 && a < 30) }'
}
if until_ok 8 state_age_small; then
	pass "state_file_age_seconds reported once the state file is written"
else
	fail "state_file_age_seconds reported once the state file is written" \
		"got: [$(m tlspolicyd_state_file_age_seconds)]"
fi

SCEN="HTTP"
http GET /nope
expect_http "GET /nope -> 404" 404 "not found"
http POST /metrics
expect_http "POST /metrics -> 405" 405 "GET or HEAD"
http DELETE /health
expect_http "DELETE /health -> 405" 405 "GET or HEAD"
http HEAD /health
expect_eq "HEAD /health -> 200, no body" "$H_CODE:$H_BODY" "200:"
http GET /health "X-Filler: $(head -c 20000 /dev/zero | tr '\0' a)"
if [ "$H_CODE" != 200 ]; then
	pass "a request with 20 000 bytes of headers is refused ($H_CODE)"
else
	fail "a request with 20 000 bytes of headers is refused" "got 200"
fi
expect_eq "... with 431, the head over 8 KiB" "$H_CODE" 431
expect_ok a.example may
http GET /health
expect_http "... and /health still answers" 200 ok
http GET /health "X-Filler: $(head -c 7000 /dev/zero | tr '\0' a)"
expect_http "7 000 bytes of headers fit under the 8 KiB cap" 200 ok

probe "$MPORT" whole GET /metrics
IFS='|' read -r st ct cl conn blen ms <<<"$P_OUT"
desc="Prometheus Content-Type, Content-Length, Connection: close"
if [ "$st" = 200 ] && [ "$ct" = "text/plain; version=0.0.4; charset=utf-8" ] &&
	[ "$cl" = "$blen" ] && [ "$blen" -gt 1000 ] && [ "$conn" = close ]; then
	pass "HTTP/1.1 GET /metrics: 200, $desc ($cl)"
else
	fail "HTTP/1.1 GET /metrics: 200, $desc" "got: $P_OUT"
fi
if [ "$st" = 200 ] && [ "$ms" -lt 1000 ]; then
	pass "... and the server closed after the reply (${ms} ms)"
else
	fail "... and the server closed after the reply (< 1 s)" "got: $P_OUT"
fi
probe "$MPORT" whole HEAD /metrics
IFS='|' read -r st ct cl conn blen ms <<<"$P_OUT"
if [ "$st" = 200 ] && [ "$cl" != - ] && [ "$cl" -gt 1000 ] &&
	[ "$blen" = 0 ] && [ "$ms" -lt 1000 ]; then
	pass "HTTP/1.1 HEAD /metrics: 200, Content-Length $cl, no body"
else
	fail "HTTP/1.1 HEAD /metrics: 200, Content-Length, no body" "got: $P_OUT"
fi
probe "$MPORT" pieces GET /health
IFS='|' read -r st ct cl conn blen ms <<<"$P_OUT"
expect_eq "a request in three pieces 0.2 s apart: 200, 3 bytes" \
	"$st:$cl:$blen" "200:3:3"

# The review's slowloris (/tmp/rev1/loris.py), adapted: 300 connections
# that each send a request line and then a byte every 0.25 s, against a
# daemon with 200 descriptors.  evhttp took them all, ran out of
# descriptors, and spun on accept(); lookups timed out.
SCEN="slow-drip flood"
it_free_port || bail "a free port"
FPORT=$IT_PORT
it_free_port || bail "a free port"
FMPORT=$IT_PORT
printf '#!/bin/sh\nulimit -n 200 || exit 1\nexec "%s" "$@"\n' "$TLSPOLICYD" \
	>"$IT_TMP/lowfd.sh"
chmod +x "$IT_TMP/lowfd.sh"
TLSPOLICYD=$IT_TMP/lowfd.sh it_daemon flood "$FPORT" "$PGC_CONNINFO" \
	--metrics-listen "inet:127.0.0.1:$FMPORT" ||
	bail "daemon with 200 descriptors starts" "$(tail -5 "$IT_TMP/flood.log")"
FLOOD=$IT_PID
it_wait_ready "$FPORT" 10 "$FLOOD" || bail "flood daemon loads the table"
cpu0=$(cpu_ticks "$FLOOD")
python3 - "$FMPORT" 300 >"$IT_TMP/loris.out" 2>&1 <<'PY' &
# Connections start every 5 ms (non-blocking: one the listen backlog
# drops completes on the SYN's retry); each sends a request line, then a
# byte every 0.25 s.  A connection's life is from its connect to the
# server's close.  "held" is the most open at once for over 1 s.
import errno, select, socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
conn, est, lives = set(), {}, []
started = failed = held = 0
t0 = time.monotonic()
nxt = drip = t0
while time.monotonic() - t0 < 20:
    now = time.monotonic()
    if started < n and now >= nxt:
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(('127.0.0.1', port))
        conn.add(s)
        started += 1
        nxt = now + 0.005
        if started == n:
            print('open', flush=True)
    if started == n and not conn and not est:
        break
    r, w, _ = select.select(list(est), list(conn), [], 0.005)
    now = time.monotonic()
    for s in w:
        conn.discard(s)
        if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
            failed += 1
            s.close()
            continue
        est[s] = now
        try:
            s.send(b'GET /metrics HTTP/1.1\r\nHost: loris\r\n')
        except OSError:
            lives.append(now - est.pop(s))
            s.close()
    for s in r:
        try:
            d = s.recv(4096)
        except OSError:
            d = b''
        if not d and s in est:
            lives.append(now - est.pop(s))
            s.close()
    if now >= drip:
        drip = now + 0.25
        for s in list(est):
            try:
                s.send(b'X')
            except OSError:
                lives.append(now - est.pop(s))
                s.close()
    held = max(held, sum(1 for t in est.values() if now - t > 1))
slow = sorted(l for l in lives if l >= 1)
print('result %d %d %d %s %s %d %d' % (len(lives) - len(slow), len(slow),
      held, '%.2f' % slow[0] if slow else '-',
      '%.2f' % slow[-1] if slow else '-', len(est) + len(conn), failed),
      flush=True)
PY
LORIS=$!
until_ok 5 grep -q '^open' "$IT_TMP/loris.out"
Q_PORT=$FPORT
DESC="during the flood a lookup answers: a.example -> OK may" \
	expect_ok a.example may
t0=$(now_us)
MPORT=$FMPORT http GET /health
ms=$((($(now_us) - t0) / 1000))
if [ "$H_CODE" = none ] && [ "$ms" -lt 1000 ]; then
	pass "during the flood one more connection is closed at once (${ms} ms)"
else
	fail "during the flood one more connection is closed at once" \
		"got $H_CODE after $ms ms"
fi
wait "$LORIS"
read -r _ fast slow held dmin dmax alive failed \
	< <(grep '^result' "$IT_TMP/loris.out")
if [ "${held:-}" -ge 1 ] && [ "$held" -le 8 ] &&
	[ "$((fast + slow))" = 300 ] && [ "$alive:$failed" = 0:0 ]; then
	pass "at most 8 of 300 held at once ($held); $fast closed within 1 s"
else
	fail "at most 8 of 300 held at once, the rest closed within 1 s" \
		"$(cat "$IT_TMP/loris.out")"
fi
if [ "$slow" -ge 1 ] &&
	awk -v a="$dmin" -v b="$dmax" 'BEGIN { exit !(a >= 4.5 && b <= 6) }'; then
	pass "the $slow dripping a byte every 0.25 s closed at the 5 s deadline ($dmin-$dmax s)"
else
	fail "those dripping a byte every 0.25 s closed at the 5 s deadline" \
		"$(cat "$IT_TMP/loris.out")"
fi
cpu=$(($(cpu_ticks "$FLOOD") - cpu0))
hz=$(getconf CLK_TCK)
if [ "$cpu" -lt $((hz / 2)) ]; then
	pass "the flood cost the daemon $((cpu * 1000 / hz)) ms of CPU (no spin)"
else
	fail "the flood cost the daemon under 500 ms of CPU" \
		"$((cpu * 1000 / hz)) ms"
fi
expect_eq "no accept() error logged" \
	"$(it_log_count flood "Error from accept")" 0
DESC="after the flood a lookup answers: a.example -> OK may" \
	expect_ok a.example may
MPORT=$FMPORT scrape
expect_eq "after the flood a scrape works" "$H_CODE" 200
expect_eq "http_refused_total: those closed at once and the one more" \
	"$(m tlspolicyd_http_refused_total)" $((fast + 1))
expect_eq "http_timeouts_total: those closed at the deadline" \
	"$(m tlspolicyd_http_timeouts_total)" "$slow"
Q_PORT=$DPORT
it_stop_daemons "$FLOOD:flood"

SCEN="database away"
pgc_stop
until_ok 3 metric_is tlspolicyd_database_connected 0
expect_eq "PostgreSQL stopped: database_connected 0" \
	"$(m tlspolicyd_database_connected)" 0
http GET /health
expect_http "within max_stale: 200, stale since ..." 200 "ok (stale since "
until_ok 4 health_is 503 "stale since"
expect_http "past max_stale (2 s): 503 with the time" 503 \
	"policy data stale since 2"
scrape
rc=$(m tlspolicyd_database_reconnects_total)
if [ "${rc:-0}" -ge 1 ]; then
	pass "reconnect attempts counted ($rc)"
else
	fail "reconnect attempts counted" "got [$rc]"
fi
age=$(m tlspolicyd_data_age_seconds)
if awk -v v="$age" 'BEGIN { exit !(v > 2) }'; then
	pass "data age past max_stale ($age s)"
else
	fail "data age past max_stale" "got [$age]"
fi

SCEN=end
it_stop_daemons "$MAIN:main"
finish
