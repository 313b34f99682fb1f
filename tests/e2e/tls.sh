#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# tls.sh - end-to-end test on the wire: real TLS, real DANE, real Postfix
# on both sides, the real daemon, and tlspolicyd --review.
#
# Everything runs in private network, mount and PID namespaces (unshare;
# the script re-executes itself inside them):
#   - the network namespace has its own loopback, so the test owns
#     127.0.0.1:53 (DNS) and 127.0.0.{2,3,5}:25 (SMTP) and nothing of the
#     host's network is reachable or touched;
#   - the mount namespace bind-mounts a private resolv.conf over
#     /etc/resolv.conf (for posttls-finger and --review; the chrooted
#     smtp(8) reads the copy in its jail);
#   - the PID namespace ends every process of the test when the script
#     exits, even one the cleanup missed.
#
# The pieces, all under one temporary directory (lib.sh's layout, plus):
#   dnsd.py       a tiny authoritative DNS server on 127.0.0.1:53 that sets
#                 the AD bit on every answer.  Postfix validates nothing
#                 itself: it trusts the AD bit of the resolver in
#                 resolv.conf (and asks glibc to pass it on, RES_TRUSTAD),
#                 so the MX, A and TLSA answers count as DNSSEC-validated,
#                 for smtp(8) and for posttls-finger alike.  resolv.conf is
#                 the plain "nameserver 127.0.0.1" of a production MTA
#                 with a local validating resolver.
#   rcv/          a receiving Postfix: smtpd on 127.0.0.3:25 with a
#                 certificate from a test CA, and on 127.0.0.2:25 with a
#                 self-signed one; STARTTLS offered, mail discarded.
#                 (Not 127.0.0.1: the sender listens there, and smtp(8)
#                 refuses an MX host that is itself, "loops back to
#                 myself".)
#   pf/           the sending Postfix of lib.sh, switched to DNS with
#                 DNSSEC, smtp_tls_security_level = dane, the test CA as
#                 smtp_tls_CAfile, and smtp_tls_policy_maps = the daemon.
# Each outcome is read from the sending Postfix's maillog (status line,
# and the TLS line its smtp(8) process logged just before it).
#
# Usage: tests/e2e/tls.sh   (as root; TLSPOLICYD=path overrides the
#                            daemon, E2E_KEEP=1 keeps the directory)
# Output: "ok N - ..." / "not ok N - ..." lines, then "N passed, M
# failed"; exit status 0 only if nothing failed.

set -u

tls_bail() {
	printf 'Bail out! %s\n0 passed, 1 failed\n' "$*"
	exit 2
}

# ------------------------------------------------ into the namespaces

if [ -z "${E2E_TLS_INSIDE:-}" ]; then
	[ "$(id -u)" = 0 ] || tls_bail "needs root (namespaces, private Postfix instances)"
	for t in unshare ip mount; do
		command -v "$t" >/dev/null || tls_bail "$t not found"
	done
	unshare --net --mount --pid --fork --mount-proc true 2>/dev/null ||
		tls_bail "cannot create network, mount and PID namespaces (unshare)"
	exec env E2E_TLS_INSIDE=1 unshare --net --mount --pid --fork --kill-child=TERM \
		--mount-proc --propagation private -- bash "${BASH_SOURCE[0]}" "$@"
fi

# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

for t in posttls-finger openssl; do
	command -v "$t" >/dev/null || e2e_die "$t not found"
done
PYTHON=$(command -v /usr/bin/python3 || command -v python3) ||
	e2e_die "python3 not found (python3-minimal)"

ip link set lo up || e2e_die "cannot bring up lo in the network namespace"

TLS_DNS_PID=
TLS_RCV_ETC=
TLS_RCV_STARTED=
TLS_SILENT_PID=
TLS_BUSY_PID=
TLS_RESOLV_MOUNTED=

tls_cleanup() {
	local rc=$? p
	trap - EXIT
	if [ -n "$TLS_RCV_STARTED" ]; then
		p=$(tls_rcv_master_pid)
		postfix -c "$TLS_RCV_ETC" stop >/dev/null 2>&1
		[ -n "$p" ] && ! e2e_wait 15 e2e_pid_gone "$p" &&
			kill -KILL "$p" 2>/dev/null
	fi
	for p in $TLS_DNS_PID $TLS_SILENT_PID $TLS_BUSY_PID; do
		kill -TERM "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	[ -n "$TLS_RESOLV_MOUNTED" ] && umount /etc/resolv.conf 2>/dev/null
	(exit "$rc")
	e2e_cleanup
}

e2e_init
trap tls_cleanup EXIT
[ -x "$TLSPOLICYD" ] || e2e_die "daemon not found: $TLSPOLICYD (build it, or set TLSPOLICYD)"
T=$E2E_TMP

# ---------------------------------------------------------- certificates

# tls_cert NAME SUBJECT_CN SANS [CA]: NAME.key, NAME.pem, NAME-chain.pem
# (key then certificate, for smtpd_tls_chain_files); self-signed without
# CA.
tls_cert() {
	local name=$1 cn=$2 sans=$3 ca=${4:-}
	if [ -z "$ca" ]; then
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
			-nodes -subj "/CN=$cn" -addext "subjectAltName=$sans" \
			-days 2 -keyout "$T/$name.key" -out "$T/$name.pem"
	else
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-subj "/CN=$cn" -keyout "$T/$name.key" -out "$T/$name.csr" &&
			printf 'subjectAltName=%s\n' "$sans" >"$T/$name.ext" &&
			openssl x509 -req -in "$T/$name.csr" -CA "$T/$ca.pem" \
				-CAkey "$T/$ca.key" -CAcreateserial -days 2 \
				-extfile "$T/$name.ext" -out "$T/$name.pem"
	fi >/dev/null 2>&1 &&
		cat "$T/$name.key" "$T/$name.pem" >"$T/$name-chain.pem" &&
		chmod 0644 "$T/$name-chain.pem" "$T/$name.pem"
}

# SHA-256 of the certificate's public key (TLSA 3 1 1), hex.
tls_spki_sha256() {
	openssl x509 -in "$1" -noout -pubkey |
		openssl pkey -pubin -outform DER |
		openssl dgst -sha256 -r | cut -d' ' -f1
}

# SHA-256 of the whole certificate, AB:CD:... (Postfix's fingerprint).
tls_cert_sha256() {
	openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/^.*=//'
}

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-subj /CN=tlspolicyd-e2e-test-ca -days 2 -keyout "$T/ca.key" \
	-out "$T/ca.pem" >/dev/null 2>&1 || e2e_die "openssl: no test CA"
chmod 0644 "$T/ca.pem"
# The CA-signed server (127.0.0.3) carries every name a secure check of
# a domain routed to it might want; the self-signed one (127.0.0.2)
# carries its names too, so only trust can fail there.
tls_cert mx mx.tlspolicyd-e2e.test \
	"DNS:mx.bad.test,DNS:mx.dane.test,DNS:mx.fp.test,DNS:mx.fpbad.test,DNS:mx.none.test,DNS:mx.secok.test,DNS:secok.test" ca ||
	e2e_die "openssl: no CA-signed server certificate"
tls_cert self mx.self.test "DNS:mx.self.test,DNS:enc.test,DNS:enc2.test,DNS:sec.test" ||
	e2e_die "openssl: no self-signed certificate"
TLSA_GOOD=$(tls_spki_sha256 "$T/mx.pem")
TLSA_WRONG=$(printf 'not the key' | openssl dgst -sha256 -r | cut -d' ' -f1)
FP_GOOD=$(tls_cert_sha256 "$T/mx.pem")
FP_WRONG=$(tls_cert_sha256 "$T/self.pem")
if [ ${#TLSA_GOOD} != 64 ] || [ ${#FP_GOOD} != 95 ]; then
	e2e_die "openssl: could not compute the digests"
fi

# ------------------------------------------------------------------ DNS

# tls_zone BAD_TLSA: the whole zone, written atomically (dnsd.py rereads
# a file whose inode or mtime changed).
tls_zone() {
	cat >"$T/zone.new" <<EOF
. NS ns.test
# served by the CA-signed smtpd on 127.0.0.3
bad.test MX 10 mx.bad.test
mx.bad.test A 127.0.0.3
_25._tcp.mx.bad.test TLSA 3 1 1 $1
dane.test MX 10 mx.dane.test
mx.dane.test A 127.0.0.3
_25._tcp.mx.dane.test TLSA 3 1 1 $TLSA_GOOD
fp.test MX 10 mx.fp.test
mx.fp.test A 127.0.0.3
fpbad.test MX 10 mx.fpbad.test
mx.fpbad.test A 127.0.0.3
none.test MX 10 mx.none.test
mx.none.test A 127.0.0.3
secok.test MX 10 mx.secok.test
mx.secok.test A 127.0.0.3
# served by the self-signed smtpd on 127.0.0.2 (no TLSA records)
enc.test MX 10 mx.self.test
enc2.test MX 10 mx.self.test
sec.test MX 10 mx.self.test
mx.self.test A 127.0.0.2
# accepts TCP, never says a word
slow.test MX 10 mx.slow.test
mx.slow.test A 127.0.0.5
# two domains, one MX host that counts its connections
busy1.test MX 10 mx.busy.test
busy2.test MX 10 mx.busy.test
mx.busy.test A 127.0.0.6
EOF
	mv "$T/zone.new" "$T/zone"
}

tls_zone "$TLSA_WRONG"
"$PYTHON" "$E2E_LIB_DIR/dnsd.py" "$T/zone" 127.0.0.1 53 >"$T/dns.log" 2>&1 &
TLS_DNS_PID=$!
e2e_wait 10 grep -q '^ready' "$T/dns.log" || {
	sed 's/^/#   dnsd: /' "$T/dns.log"
	e2e_die "the DNS server did not start"
}
printf 'nameserver 127.0.0.1\n' >"$T/resolv.conf"
chmod 0644 "$T/resolv.conf"
[ -e /etc/resolv.conf ] || e2e_die "/etc/resolv.conf missing (the private one is bind-mounted over it)"
mount --bind "$T/resolv.conf" /etc/resolv.conf ||
	e2e_die "cannot bind-mount the private resolv.conf"
TLS_RESOLV_MOUNTED=1

# An SMTP server that never speaks, and one that counts connections.
"$PYTHON" "$E2E_LIB_DIR/listener.py" silent 127.0.0.5 25 >"$T/silent.log" 2>&1 &
TLS_SILENT_PID=$!
"$PYTHON" "$E2E_LIB_DIR/listener.py" busy 127.0.0.6 25 "$T/busy.state" \
	>"$T/busy.log" 2>&1 &
TLS_BUSY_PID=$!
listeners_ready() {
	grep -q '^ready' "$T/silent.log" && grep -q '^ready' "$T/busy.log"
}
e2e_wait 10 listeners_ready ||
	e2e_die "the misbehaving SMTP listeners did not start"

# ------------------------------------------------------ receiving Postfix

TLS_RCV=$T/rcv
TLS_RCV_ETC=$TLS_RCV/etc
TLS_RCV_LOG=$T/rcv.maillog

tls_rcv_master_pid() {
	local p
	[ -r "$TLS_RCV/spool/pid/master.pid" ] &&
		read -r p <"$TLS_RCV/spool/pid/master.pid" && echo "$p"
}

mkdir -p "$TLS_RCV_ETC" "$TLS_RCV/spool" "$TLS_RCV/data"
chown postfix: "$TLS_RCV/data"
: >"$TLS_RCV_LOG"
cat >"$TLS_RCV_ETC/main.cf" <<EOF
# Receiving side of the tlspolicyd TLS test: accepts, then discards.
compatibility_level = 3.6
queue_directory = $TLS_RCV/spool
data_directory = $TLS_RCV/data
maillog_file = $TLS_RCV_LOG
maillog_file_prefixes = $T
syslog_name = postfix-rcv
myhostname = rcv.tlspolicyd-e2e.invalid
mydestination =
relay_domains =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
default_transport = discard:
relay_transport = discard:
local_transport = discard:
alias_maps =
alias_database =
biff = no
smtpd_tls_security_level = may
smtpd_tls_loglevel = 1
in_flow_delay = 0
EOF
cat >"$TLS_RCV_ETC/master.cf" <<EOF
# service type  private unpriv  chroot  wakeup  maxproc command
127.0.0.3:25 inet n     -       n       -       -       smtpd
  -o syslog_name=postfix-rcv/ca -o smtpd_tls_chain_files=$T/mx-chain.pem
127.0.0.2:25 inet n     -       n       -       -       smtpd
  -o syslog_name=postfix-rcv/self -o smtpd_tls_chain_files=$T/self-chain.pem
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
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
touch -d "@$(($(date +%s) - 60))" "$TLS_RCV_ETC"/*

# ------------------------------------------------ database, daemon, sender

e2e_pg_start
# shellcheck disable=SC2034 # read by e2e_postfix_setup: smtp_tcp_port
E2E_SINK_PORT=25 # the real SMTP port: every server here has its own address
E2E_DPORT=$(free_port)
e2e_postfix_setup "socketmap:inet:127.0.0.1:$E2E_DPORT:$E2E_MAP"
printf 'nameserver 127.0.0.1\n' >"$E2E_PF_SPOOL/etc/resolv.conf"
chmod 0644 "$E2E_PF_SPOOL/etc/resolv.conf"
e2e_postconf \
	"smtp_dns_support_level = dnssec" \
	"smtp_host_lookup = dns" \
	"smtp_tls_security_level = dane" \
	"smtp_tls_CAfile = $T/ca.pem" \
	"smtp_connection_cache_on_demand = no"

# Rows of the delivery scenarios; the review's rows come later.
e2e_sql "INSERT INTO tls_policy (target, policy, parameters) VALUES
	('dane.test', 'dane', ''),
	('fp.test', 'fingerprint', 'match=$FP_GOOD'),
	('fpbad.test', 'fingerprint', 'match=$FP_WRONG'),
	('enc.test', 'encrypt', ''),
	('sec.test', 'secure', ''),
	('secok.test', 'secure', ''),
	('none.test', 'none', '')" >/dev/null ||
	e2e_die "could not insert the policy rows"

e2e_daemon_start
DAEMON_PID=$E2E_DAEMON_PID
out=$(postfix -c "$TLS_RCV_ETC" start 2>&1) || {
	printf '%s\n' "$out" | sed 's/^/#   postfix-rcv: /'
	e2e_die "receiving postfix did not start"
}
TLS_RCV_STARTED=1
e2e_wait 30 grep -q 'postfix-rcv/master\[[0-9]*\]: daemon started' "$TLS_RCV_LOG" ||
	e2e_die "receiving postfix did not come up"
e2e_postfix_start
e2e_log "setup done"

# ---------------------------------------------------------------- helpers

# tls_line QID RCPT [SKIP]: the "... TLS connection established to ..."
# line that the smtp(8) process logged for the delivery attempt whose
# status line is the (SKIP+1)-th for QID and RCPT; empty for plain text.
tls_line() {
	awk -v qid="$1" -v rcpt="$2" -v skip="${3:-0}" '
		match($0, /postfix-e2e\/smtp\[[0-9]+\]: /) {
			pid = substr($0, RSTART, RLENGTH)
			if (index($0, "TLS connection established to ")) {
				tls[pid] = $0
			} else if (index($0, " status=")) {
				if (index($0, " " qid ": to=<" rcpt ">,") && n++ == skip) {
					sub(/^.*\]: /, "", tls[pid])
					print tls[pid]
					exit
				}
				tls[pid] = ""
			}
		}' "$E2E_MAILLOG"
}

# expect LABEL MSGID RCPT STATUS [WHY [SKIP]]: wait for the outcome; on a
# mismatch print "not ok" and fail.
expect() {
	local label=$1 msgid=$2 rcpt=$3 status=$4 why=${5:-} skip=${6:-0}
	if ! e2e_wait_outcome "$msgid" "$rcpt" "$skip"; then
		e2e_notok "$label" "no delivery outcome for <$rcpt> within the deadline" \
			"$(grep -F "${rcpt#*@}" "$E2E_MAILLOG" | tail -5)"
		return 1
	fi
	if [ "$E2E_STATUS" = "$status" ] && [[ $E2E_WHY == *"$why"* ]]; then
		return 0
	fi
	e2e_notok "$label" "want status=$status${why:+ ($why)}" \
		"got: ${E2E_LINE#* postfix-e2e/}" \
		"$(grep -F "${rcpt#*@}" "$E2E_MAILLOG" | grep -F warning | tail -3)"
	return 1
}

# expect_tls LABEL RCPT SKIP PATTERN: the delivery's TLS line must match
# PATTERN (a glob; '' = no TLS at all).
expect_tls() {
	local label=$1 rcpt=$2 skip=$3 want=$4 got
	got=$(tls_line "$E2E_QID" "$rcpt" "$skip")
	if [ -z "$want" ] && [ -z "$got" ]; then
		return 0
	fi
	# shellcheck disable=SC2053 # the pattern is meant to glob
	if [ -n "$want" ] && [[ $got == $want ]]; then
		return 0
	fi
	e2e_notok "$label" "want TLS line '${want:-none}'" "got: '${got:-none}'"
	return 1
}

answer_is() { [ "$(e2e_query "$1")" = "$2" ]; }

# answered KEY WANT LABEL: the daemon answers WANT for KEY (postmap -q),
# for levels the wire cannot tell from what Postfix does without a row
# (no row: dane, which is may for a name without TLSA records).
answered() {
	local got
	got=$(e2e_query "$1")
	[ "$got" = "$2" ] && return 0
	e2e_notok "$3" "postmap -q $1: want '$2', got '$got'"
	return 1
}

# wait_answer KEY WANT LABEL: the daemon must answer WANT within 5 s.
wait_answer() {
	e2e_wait 5 answer_is "$1" "$2" && return 0
	e2e_notok "$3" "daemon still answers '$(e2e_query "$1")' for $1, want '$2'"
	return 1
}

no_restart() {
	[ "$E2E_MASTER_PID" = "$(e2e_master_pid)" ] &&
		[ "$DAEMON_PID" = "$E2E_DAEMON_PID" ] &&
		kill -0 "$DAEMON_PID" 2>/dev/null
}

m() { echo "$1.$$@$E2E_HOST"; } # a unique Message-ID

# sent LABEL ID RCPT TLS: message ID to RCPT was sent, its TLS line
# matching TLS (as expect_tls).
sent() {
	expect "$1" "$(m "$2")" "$3" sent && expect_tls "$1" "$3" 0 "$4"
}

NOT_VERIFIED='Server certificate not verified'

# ------------------------------------------ independent messages: one batch

e2e_send b1@bad.test "$(m b1)"
e2e_send d1@dane.test "$(m d1)"
e2e_send f1@fp.test "$(m f1)"
e2e_send f2@fpbad.test "$(m f2)"
e2e_send e1@enc.test "$(m e1)"
e2e_send s1@sec.test "$(m s1)"
e2e_send s2@secok.test "$(m s2)"
e2e_send n1@none.test "$(m n1)"

l="'dane' row, correct TLSA record -> Verified TLS, sent"
answered dane.test "OK dane" "$l" &&
	sent "$l" d1 d1@dane.test 'Verified TLS connection established to mx.dane.test\[127.0.0.3\]:25: *' &&
	e2e_ok "$l"

l="'fingerprint' row with the certificate's SHA-256 -> Verified TLS, sent"
sent "$l" f1 f1@fp.test 'Verified TLS connection established to mx.fp.test\[127.0.0.3\]:25: *' &&
	e2e_ok "$l"

l="'fingerprint' row with a wrong SHA-256 -> deferred ($NOT_VERIFIED)"
expect "$l" "$(m f2)" f2@fpbad.test deferred "$NOT_VERIFIED" &&
	e2e_ok "$l"

l="'encrypt' row, self-signed server -> sent over (unverified) TLS"
answered enc.test "OK encrypt" "$l" &&
	sent "$l" e1 e1@enc.test '* TLS connection established to mx.self.test\[127.0.0.2\]:25: *' &&
	e2e_ok "$l"

l="'secure' row, self-signed server -> deferred ($NOT_VERIFIED)"
expect "$l" "$(m s1)" s1@sec.test deferred "$NOT_VERIFIED" &&
	e2e_ok "$l"

l="'secure' row, server certificate from the trusted test CA -> Verified TLS, sent (control)"
sent "$l" s2 s2@secok.test 'Verified TLS connection established to mx.secok.test\[127.0.0.3\]:25: *' &&
	e2e_ok "$l"

l="'none' row -> sent in plain text (STARTTLS offered, not used)"
answered none.test "OK none" "$l" &&
	sent "$l" n1 n1@none.test '' &&
	e2e_ok "$l"

# ------------------------------- the DBA works around a broken TLSA record

l="no row, wrong TLSA record -> deferred ($NOT_VERIFIED)"
if expect "$l" "$(m b1)" b1@bad.test deferred "$NOT_VERIFIED"; then
	e2e_ok "$l"
	BAD_QID=$E2E_QID
	l="INSERT 'may' row, postqueue -f -> the queued message leaves over TLS (no reload, no restart)"
	e2e_sql "INSERT INTO tls_policy (target, policy) VALUES ('bad.test', 'may')"
	if wait_answer bad.test "OK may" "$l"; then
		e2e_flush "$BAD_QID"
		expect "$l" "$(m b1)" b1@bad.test sent "" 1 &&
			expect_tls "$l" b1@bad.test 1 '* TLS connection established to mx.bad.test\[127.0.0.3\]:25: *' &&
			if no_restart; then e2e_ok "$l"; else
				e2e_notok "$l" "Postfix master or daemon was restarted"
			fi
	fi
	l="UPDATE the row to active = false -> the next message is deferred again"
	e2e_sql "UPDATE tls_policy SET active = false WHERE target = 'bad.test'"
	if wait_answer bad.test NOTFOUND "$l"; then
		e2e_send b2@bad.test "$(m b2)"
		expect "$l" "$(m b2)" b2@bad.test deferred "$NOT_VERIFIED" &&
			e2e_ok "$l"
	fi
else
	e2e_notok "INSERT 'may' row, postqueue -f -> sent" "skipped: the first delivery did not defer"
fi

# ------------------------------------------------------------- --review

# Only the rows under review are active: bad.test 'may' (its TLSA record
# still wrong), two 'encrypt' rows sharing one MX host without TLSA
# records, a name without DNS records, a silent server, two domains
# sharing the MX host that counts connections, a .domain pattern; and a
# 'dane' row, which weakens nothing.
e2e_sql "UPDATE tls_policy SET active = (target IN ('bad.test', 'enc.test', 'dane.test'));
	INSERT INTO tls_policy (target, policy) VALUES
	('enc2.test', 'encrypt'), ('nx.test', 'may'), ('slow.test', 'may'),
	('busy1.test', 'may'), ('busy2.test', 'may'),
	('.pattern.test', 'may')" >/dev/null || e2e_die "could not set up the review rows"

# Every row as stored, and the generation (bumped by any write).
rows_now() {
	e2e_sql "SELECT string_agg(concat_ws('|', target, policy, parameters,
		active), ',' ORDER BY target) FROM tls_policy;
		SELECT generation FROM tlspolicyd_state"
}

# review [ARGS...]: run --review as Postfix's own tools would see it
# (MAIL_CONFIG: the sending instance, smtp_tls_security_level = dane).
# Sets REVIEW_OUT, REVIEW_ERR, REVIEW_RC, REVIEW_MS.
review() {
	local t0
	t0=$(e2e_now)
	REVIEW_OUT=$(MAIL_CONFIG=$E2E_PF_ETC "$TLSPOLICYD" --review \
		--database "$PGC_CONNINFO" --review-timeout 3s --review-jobs 4 \
		"$@" 2>"$T/review.err")
	REVIEW_RC=$?
	REVIEW_ERR=$(<"$T/review.err")
	REVIEW_MS=$((($(e2e_now) - t0) / 1000))
}

# has LABEL TEXT LINE...: each LINE (a glob) must be a line of TEXT.
has() {
	local label=$1 text=$2 want line ok
	shift 2
	for want in "$@"; do
		ok=
		while IFS= read -r line; do
			# shellcheck disable=SC2053
			[[ $line == $want ]] && ok=1 && break
		done <<<"$text"
		if [ -z "$ok" ]; then
			e2e_notok "$label" "no line like: $want"
			return 1
		fi
	done
}

# jq_ JSON PATH...: a value out of JSON, by PostgreSQL (no jq needed).
jq_() {
	local json=$1 IFS=,
	shift
	# (psql interpolates variables on stdin, not in -c)
	printf "SELECT (:'j'::jsonb) #>> '{%s}';\n" "$*" |
		psql -X -q -At -v ON_ERROR_STOP=1 -v j="$json" 2>&1
}

rows_before=$(rows_now)

l="--review while the TLSA record is wrong: 'may' override still needed, exit 0"
review
if [ "$REVIEW_RC" -ne 0 ]; then
	e2e_notok "$l" "exit status $REVIEW_RC, want 0" "$REVIEW_OUT" "$REVIEW_ERR"
elif has "$l" "$REVIEW_OUT" \
	'bad.test: may override still needed: server certificate verification failed for mx.bad.test\[127.0.0.3\]:25: num=65:no matching DANE TLSA records' \
	'enc.test: encrypt override still needed: no TLSA records for mx.self.test\[127.0.0.2\]:25, so dane means may there, weaker than this override' \
	'enc2.test: encrypt override still needed: no TLSA records for mx.self.test*' \
	'nx.test: could not check: Destination address lookup failed: *' \
	'slow.test: could not check: timeout while reading server greeting' \
	'busy1.test: could not check: SMTP service not available: 421 4.3.2 busy' \
	'busy2.test: could not check: SMTP service not available: 421 4.3.2 busy' \
	'.pattern.test: could not check: a .domain pattern names no single destination to probe'; then
	if [ "$(printf '%s\n' "$REVIEW_OUT" | wc -l)" -ne 8 ] ||
		[[ $REVIEW_OUT == *dane.test* ]]; then
		e2e_notok "$l" "want exactly the eight weakening overrides (not dane.test)" "$REVIEW_OUT"
	else
		e2e_ok "$l (${REVIEW_MS} ms, a silent server included)"
	fi
fi
printf '%s\n' "$REVIEW_OUT" | sed 's/^/#   /'

# Never two probes against one MX host at a time, though four may run:
# mx.busy.test holds each connection for 0.5 s and counts.
l="--review: never two probes at one MX host at a time (busy1.test, busy2.test share mx.busy.test)"
busy=$(<"$T/busy.state")
if [ "$busy" = "1 2" ]; then
	e2e_ok "$l"
else
	e2e_notok "$l" "mx.busy.test: most connections at once, connections: $busy (want 1 2)"
fi

l="--review --format json while the TLSA record is wrong"
review --format json
if [ "$REVIEW_RC" -ne 0 ]; then
	e2e_notok "$l" "exit status $REVIEW_RC, want 0" "$REVIEW_OUT" "$REVIEW_ERR"
elif [ "$(jq_ "$REVIEW_OUT" level) $(jq_ "$REVIEW_OUT" removable) $(jq_ "$REVIEW_OUT" needed) $(jq_ "$REVIEW_OUT" unchecked)" != "dane 0 3 5" ] ||
	[ "$(jq_ "$REVIEW_OUT" overrides 1 target) $(jq_ "$REVIEW_OUT" overrides 1 verdict)" != "bad.test needed" ]; then
	e2e_notok "$l" "want level dane, 0 removable, 3 needed, 5 unchecked, bad.test needed" "$REVIEW_OUT"
else
	e2e_ok "$l"
fi

tls_zone "$TLSA_GOOD"

l="--review after the TLSA record is corrected: 'may' override no longer needed, exit 1"
review
if [ "$REVIEW_RC" -ne 1 ]; then
	e2e_notok "$l" "exit status $REVIEW_RC, want 1" "$REVIEW_OUT" "$REVIEW_ERR"
elif has "$l" "$REVIEW_OUT" \
	'bad.test: may override no longer needed: dane verified (Verified TLS connection established to mx.bad.test\[127.0.0.3\]:25: TLS*)' \
	'enc.test: encrypt override still needed: *'; then
	e2e_ok "$l (${REVIEW_MS} ms)"
fi
printf '%s\n' "$REVIEW_OUT" | sed 's/^/#   /'
printf '%s\n' "$REVIEW_ERR" | sed 's/^/#   stderr: /'

l="--review --format json after the fix"
review --format json
if [ "$REVIEW_RC" -ne 1 ]; then
	e2e_notok "$l" "exit status $REVIEW_RC, want 1" "$REVIEW_OUT" "$REVIEW_ERR"
elif [ "$(jq_ "$REVIEW_OUT" removable) $(jq_ "$REVIEW_OUT" overrides 1 target) $(jq_ "$REVIEW_OUT" overrides 1 verdict) $(jq_ "$REVIEW_OUT" overrides 1 level)" != "1 bad.test removable may" ] ||
	[[ $(jq_ "$REVIEW_OUT" overrides 1 detail) != "dane verified (Verified TLS connection established to mx.bad.test[127.0.0.3]:25: "* ]]; then
	e2e_notok "$l" "want 1 removable: bad.test, may, dane verified" "$REVIEW_OUT"
else
	e2e_ok "$l"
fi

l="--review changed no row (nor the generation)"
if [ "$(rows_now)" = "$rows_before" ]; then
	e2e_ok "$l"
else
	e2e_notok "$l" "before: $rows_before" "after: $(rows_now)"
fi

l="--review --review-level may: probes at may; the stricter 'encrypt' overrides are not probed"
self_connects() { grep -c 'postfix-rcv/self/smtpd\[[0-9]*\]: connect from' "$TLS_RCV_LOG"; }
self_before=$(self_connects)
review --review-level may
if [ "$REVIEW_RC" -ne 1 ]; then
	e2e_notok "$l" "exit status $REVIEW_RC, want 1" "$REVIEW_OUT" "$REVIEW_ERR"
elif has "$l" "$REVIEW_OUT" \
	'bad.test: may override no longer needed: may succeeded (* TLS connection established to mx.bad.test\[127.0.0.3\]:25: *)' \
	'enc.test: encrypt override still needed: stricter than may, the review level: only a review at a stricter level can tell' \
	'enc2.test: encrypt override still needed: stricter than may, *'; then
	if [ "$(self_connects)" = "$self_before" ]; then
		e2e_ok "$l"
	else
		e2e_notok "$l" "mx.self.test was probed anyway"
	fi
fi

l="--review could not run: no Postfix configuration -> exit 2"
REVIEW_OUT=$(MAIL_CONFIG=$T/no-such-dir "$TLSPOLICYD" --review \
	--database "$PGC_CONNINFO" --format json 2>/dev/null)
REVIEW_RC=$?
if [ "$REVIEW_RC" -eq 2 ] && [[ $(jq_ "$REVIEW_OUT" error) == postconf* ]]; then
	e2e_ok "$l"
else
	e2e_notok "$l" "exit status $REVIEW_RC, output:" "$REVIEW_OUT"
fi

l="--review could not run: database unreachable -> exit 2"
REVIEW_OUT=$(MAIL_CONFIG=$E2E_PF_ETC "$TLSPOLICYD" --review \
	--database "hostaddr=127.0.0.1 port=$(free_port) connect_timeout=2" 2>/dev/null)
REVIEW_RC=$?
if [ "$REVIEW_RC" -eq 2 ] && [[ $REVIEW_OUT == "review: error: could not run: "* ]]; then
	e2e_ok "$l"
else
	e2e_notok "$l" "exit status $REVIEW_RC, output:" "$REVIEW_OUT"
fi

e2e_summary
