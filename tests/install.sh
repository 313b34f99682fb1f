#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# install.sh - make install and make uninstall into temporary trees, the
# man pages and the systemd unit (make check-install).
#
#   VARIANT=release bash tests/install.sh
#
# What it proves:
#  - install puts exactly the expected files, with their modes, where
#    DESTDIR, PREFIX, SBINDIR, MANDIR, SYSCONFDIR, PKGDATADIR,
#    SYSTEMDUNITDIR and SYSUSERSDIR say, for three layouts; each file is
#    the source's, and the units' ExecStart names the installed binary and
#    configuration file (nothing else in a unit changes);
#  - a tlspolicyd.conf that exists (edited, or there before the first
#    install) is never overwritten, while the .sample is refreshed; a new
#    one is 0640 (database may hold a password), group tlspolicyd when
#    that group exists and there is no DESTDIR (as root: a temporary
#    group tlspolicyd if there is none), else the install prints the
#    chgrp to run;
#    uninstall removes everything else it installed and never the config;
#  - man --warnings is silent for both pages, and man finds them under
#    MANDIR;
#  - the unit says what issue 9 asks of it, systemd-analyze security
#    --offline=true rates it <= 1.5, systemd-analyze verify accepts the
#    installed units, and the sysusers.d file creates the user they run
#    as.  Only the systemd-analyze checks are skipped, with a "# skip:"
#    line, where systemd-analyze is not installed;
#  - tools/deps.sh on a system without dpkg says what it could not check
#    and succeeds (make check's first step).
# Needs neither root nor PostgreSQL.  TAP-like output; exit 1 on any
# failure.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
VARIANT=${VARIANT:-release}
# A caller's make variables must not leak into the trees checked here.
unset MAKEFLAGS MFLAGS MAKELEVEL DESTDIR PREFIX SBINDIR MANDIR SYSCONFDIR \
	PKGDATADIR SYSTEMDUNITDIR SYSUSERSDIR
MAX_EXPOSURE=1.5

tmp=$(mktemp -d "${TMPDIR:-/tmp}/tlspolicyd-install.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

n=0 npass=0 nfail=0
pass() { n=$((n + 1)); npass=$((npass + 1)); echo "ok $n - $1"; }
# fail DESCRIPTION [DIAGNOSTIC]...
fail() {
	local l
	n=$((n + 1)); nfail=$((nfail + 1))
	echo "not ok $n - $1"
	shift
	for l in "$@"; do printf '%s\n' "$l" | sed 's/^/#   /'; done
}
# check DESCRIPTION COMMAND...: pass if COMMAND succeeds.
check() {
	local d=$1 out
	shift
	if out=$("$@" 2>&1); then pass "$d"; else fail "$d" "$out"; fi
}

# mk LOG ARGS...: make ARGS in the source tree, output to LOG.
mk() {
	local log=$1
	shift
	make --no-print-directory -C "$top" VARIANT="$VARIANT" "$@" \
		>"$log" 2>&1
}

# tree DIR: every file under DIR as "MODE PATH", sorted.
tree() { (cd "$1" && find . -type f -printf '%m %P\n' | LC_ALL=C sort); }

# expected SBINDIR MANDIR SYSCONFDIR PKGDATADIR UNITDIR SYSUSERSDIR, all
# without a leading slash: the tree install must leave.
expected() {
	{
		echo "755 $1/tlspolicyd"
		echo "644 $2/man8/tlspolicyd.8"
		echo "644 $2/man5/tlspolicyd.conf.5"
		echo "${7:-640} $3/tlspolicyd.conf"
		echo "644 $3/tlspolicyd.conf.sample"
		echo "644 $4/schema.sql"
		echo "644 $4/example-rows.sql"
		echo "644 $5/tlspolicyd.service"
		echo "644 $5/tlspolicyd-review.service"
		echo "644 $5/tlspolicyd-review.timer"
		echo "644 $6/tlspolicyd.conf"
	} | LC_ALL=C sort
}

# same DESCRIPTION A B: files A and B are byte for byte the same.
same() {
	if cmp -s "$2" "$3"; then pass "$1"
	elif [ ! -e "$3" ]; then fail "$1" "$3 is missing"
	else fail "$1" "$2 differs from $3"; fi
}

bin=$top/build/$VARIANT/tlspolicyd
[ "$VARIANT" = release ] && bin=$top/tlspolicyd
echo "# make install / uninstall, VARIANT=$VARIANT"

# ------------------------------------------------------------- layouts
# layout NAME CONF "VARS" SBIN MAN ETC SHARE UNITS SYSUSERS: install with
# the make variables VARS; the directories are where the files must land
# (no leading slash).  CONF "kept": an operator's tlspolicyd.conf is there
# before the first install.
i=0
layout() {
	local name=$1 conf0=$2 sbin=$4 man=$5 etc=$6 share=$7 units=$8
	local sysusers=$9 d log want want_tree got f u dif conf
	local -a vars
	# shellcheck disable=SC2206
	vars=($3)
	i=$((i + 1))
	d=$tmp/dest$i
	log=$tmp/install$i.log
	echo "# --- $name: ${vars[*]:-(defaults)}"

	if [ "$conf0" = kept ]; then
		mkdir -p "$d/$etc"
		echo "listen = unix:/run/tlspolicyd/socket  # operator's" \
			>"$d/$etc/tlspolicyd.conf"
	fi
	if ! mk "$log" DESTDIR="$d" "${vars[@]}" install; then
		fail "[$name] make install" "$(tail -20 "$log")"
		return
	fi
	pass "[$name] make install"
	# an operator's file keeps its mode; a new one is 0640
	want_tree=$(expected "$sbin" "$man" "$etc" "$share" "$units" \
		"$sysusers" "$([ "$conf0" = kept ] && echo 644)")
	got=$(tree "$d")
	if [ "$got" = "$want_tree" ]; then pass "[$name] the installed tree"
	else
		fail "[$name] the installed tree" \
			"$(diff <(echo "$want_tree") <(echo "$got") | grep '^[<>]')"
	fi
	same "[$name] the binary" "$bin" "$d/$sbin/tlspolicyd"
	same "[$name] tlspolicyd(8)" "$top/docs/tlspolicyd.8" \
		"$d/$man/man8/tlspolicyd.8"
	same "[$name] tlspolicyd.conf(5)" "$top/docs/tlspolicyd.conf.5" \
		"$d/$man/man5/tlspolicyd.conf.5"
	same "[$name] the sample config" "$top/contrib/tlspolicyd.conf.sample" \
		"$d/$etc/tlspolicyd.conf.sample"
	same "[$name] schema.sql" "$top/contrib/postgresql/schema.sql" \
		"$d/$share/schema.sql"
	same "[$name] example-rows.sql" \
		"$top/contrib/postgresql/example-rows.sql" \
		"$d/$share/example-rows.sql"
	same "[$name] the sysusers.d file" \
		"$top/contrib/systemd/tlspolicyd.sysusers" \
		"$d/$sysusers/tlspolicyd.conf"
	same "[$name] the timer" "$top/contrib/systemd/tlspolicyd-review.timer" \
		"$d/$units/tlspolicyd-review.timer"
	if [ "$conf0" = kept ]; then
		if grep -q "operator's" "$d/$etc/tlspolicyd.conf" &&
		    [ "$(wc -l <"$d/$etc/tlspolicyd.conf")" = 1 ]; then
			pass "[$name] a config there before install is kept"
		else
			fail "[$name] a config there before install is kept" \
				"$(head -3 "$d/$etc/tlspolicyd.conf")"
		fi
	else
		same "[$name] tlspolicyd.conf, new, is the sample" \
			"$top/contrib/tlspolicyd.conf.sample" \
			"$d/$etc/tlspolicyd.conf"
		if grep -q "^note: tlspolicyd.conf is 0640 .*chgrp tlspolicyd /$etc/tlspolicyd.conf\$" "$log"
		then
			pass "[$name] DESTDIR: tlspolicyd.conf 0640, the chgrp to run is printed"
		else
			fail "[$name] DESTDIR: the chgrp to run is printed" \
				"$(grep -i tlspolicyd.conf "$log")"
		fi
	fi

	# ExecStart: the installed binary and config; nothing else changed.
	for u in tlspolicyd.service tlspolicyd-review.service; do
		f=$d/$units/$u
		want="ExecStart=/$sbin/tlspolicyd -c /$etc/tlspolicyd.conf"
		[ $u = tlspolicyd-review.service ] && want="$want --review"
		got=$(grep '^ExecStart' "$f")
		if [ "$got" = "$want" ]; then pass "[$name] $u: $got"; else
			fail "[$name] $u: ExecStart" "want: $want" "got:  $got"
		fi
		dif=$(diff <(grep -v '^ExecStart=' "$top/contrib/systemd/$u") \
			<(grep -v '^ExecStart=' "$f"))
		if [ -z "$dif" ]; then pass "[$name] $u: only ExecStart rewritten"
		else fail "[$name] $u: only ExecStart rewritten" "$dif"; fi
	done

	# Again: an edited config is kept, a damaged sample replaced.
	conf=$d/$etc/tlspolicyd.conf
	echo "log_level = debug  # edited" >>"$conf"
	cp "$conf" "$tmp/conf.edited"
	echo "# stale" >>"$d/$etc/tlspolicyd.conf.sample"
	if ! mk "$log" DESTDIR="$d" "${vars[@]}" install; then
		fail "[$name] make install, again" "$(tail -20 "$log")"
		return
	fi
	same "[$name] a second install keeps the edited tlspolicyd.conf" \
		"$tmp/conf.edited" "$conf"
	same "[$name] a second install refreshes the .sample" \
		"$top/contrib/tlspolicyd.conf.sample" \
		"$d/$etc/tlspolicyd.conf.sample"
	got=$(tree "$d")
	if [ "$got" = "$want_tree" ]; then
		pass "[$name] the tree after a second install"
	else
		fail "[$name] the tree after a second install" \
			"$(diff <(echo "$want_tree") <(echo "$got") | grep '^[<>]')"
	fi

	# Uninstall: only the config is left, and no directory of ours.
	if ! mk "$log" DESTDIR="$d" "${vars[@]}" uninstall; then
		fail "[$name] make uninstall" "$(tail -20 "$log")"
		return
	fi
	got=$(tree "$d")
	if [ "$got" = "$(grep " $etc/tlspolicyd.conf\$" <<<"$want_tree")" ]; then
		pass "[$name] uninstall leaves only tlspolicyd.conf"
	else
		fail "[$name] uninstall leaves only tlspolicyd.conf" \
			"${got:-no file at all}"
	fi
	same "[$name] uninstall keeps the edited tlspolicyd.conf" \
		"$tmp/conf.edited" "$conf"
	if [ ! -e "$d/$share" ]; then pass "[$name] uninstall removes /$share"
	else fail "[$name] uninstall removes /$share"; fi
	rm -f "$tmp/conf.edited"
}
layout default new "" usr/local/sbin usr/local/share/man etc \
	usr/local/share/tlspolicyd usr/local/lib/systemd/system \
	usr/local/lib/sysusers.d
layout PREFIX=/usr new PREFIX=/usr usr/sbin usr/share/man etc \
	usr/share/tlspolicyd usr/lib/systemd/system usr/lib/sysusers.d
layout "/opt, every directory set" kept "PREFIX=/opt/tp SBINDIR=/opt/tp/bin
	MANDIR=/opt/tp/man SYSCONFDIR=/opt/tp/etc PKGDATADIR=/opt/tp/sql
	SYSTEMDUNITDIR=/etc/systemd/system SYSUSERSDIR=/etc/sysusers.d" \
	opt/tp/bin opt/tp/man opt/tp/etc opt/tp/sql etc/systemd/system \
	etc/sysusers.d

# ------------------------------------------------- the config's group
# Without DESTDIR, as root, with a group tlspolicyd: the new config is
# given to it (a temporary group is made if there is none, and removed).
echo "# --- tlspolicyd.conf without DESTDIR"
tmpgroup=
if [ "$(id -u)" = 0 ] && ! getent group tlspolicyd >/dev/null &&
    command -v groupadd >/dev/null; then
	groupadd -r tlspolicyd && tmpgroup=tlspolicyd
	trap 'rm -rf "$tmp"; [ -z "$tmpgroup" ] || groupdel "$tmpgroup"' EXIT
fi
p=$tmp/nodest
if ! mk "$tmp/nodest.log" PREFIX="$p/usr" SYSCONFDIR="$p/etc" install; then
	fail "make install PREFIX=... (no DESTDIR)" \
		"$(tail -20 "$tmp/nodest.log")"
elif [ "$(id -u)" = 0 ] && getent group tlspolicyd >/dev/null; then
	got=$(stat -c '%a %U %G' "$p/etc/tlspolicyd.conf")
	if [ "$got" = "640 root tlspolicyd" ] &&
	    ! grep -q '^note:' "$tmp/nodest.log"; then
		pass "no DESTDIR, as root, group tlspolicyd: tlspolicyd.conf is 640 root tlspolicyd"
	else
		fail "no DESTDIR, as root, group tlspolicyd: tlspolicyd.conf 640 root tlspolicyd" \
			"got: $got" "$(grep -i tlspolicyd.conf "$tmp/nodest.log")"
	fi
else
	got=$(stat -c '%a' "$p/etc/tlspolicyd.conf")
	if [ "$got" = 640 ] && grep -q '^note:.*chgrp tlspolicyd' \
	    "$tmp/nodest.log"; then
		pass "no DESTDIR, no group tlspolicyd (or not root): 0640 and the chgrp printed"
	else
		fail "no DESTDIR, no group tlspolicyd: 0640 and the chgrp printed" \
			"mode $got" "$(grep -i tlspolicyd.conf "$tmp/nodest.log")"
	fi
fi
if [ -n "$tmpgroup" ]; then
	groupdel "$tmpgroup" && tmpgroup=
fi

# ------------------------------------------------------------- man pages
echo "# --- man pages"
if ! command -v man >/dev/null; then
	fail "man is installed (man-db: tools/deps.sh check)"
else
	for p in docs/tlspolicyd.8 docs/tlspolicyd.conf.5; do
		for w in 80 66; do
			err=$(MANWIDTH=$w man --warnings -E UTF-8 -l \
				"$top/$p" 2>&1 >/dev/null)
			if [ -z "$err" ]; then
				pass "man --warnings, $w columns: $p"
			else
				fail "man --warnings, $w columns: $p" "$err"
			fi
		done
	done
	d=$tmp/man
	if mk "$tmp/man.log" DESTDIR="$d" install; then
		for pg in "8 tlspolicyd" "5 tlspolicyd.conf"; do
			# shellcheck disable=SC2086
			got=$(man -M "$d/usr/local/share/man" -w $pg 2>&1)
			want=$d/usr/local/share/man/man${pg%% *}/${pg#* }.${pg%% *}
			if [ "$got" = "$want" ]; then
				pass "man -M MANDIR -w $pg: the installed page"
			else
				fail "man -M MANDIR -w $pg" "want $want" "got $got"
			fi
		done
	else
		fail "make install for man -w" "$(tail -20 "$tmp/man.log")"
	fi
fi

# ------------------------------------------------------------- the unit
echo "# --- contrib/systemd/tlspolicyd.service"
unit=$top/contrib/systemd/tlspolicyd.service
review=$top/contrib/systemd/tlspolicyd-review.service
# has KEY=VALUE: the unit sets it (the last assignment counts).
has() {
	local got
	got=$(grep "^${1%%=*}=" "$unit" | tail -1)
	if [ "$got" = "$1" ]; then pass "unit: $1"; else
		fail "unit: $1" "got: ${got:-(not set)}"; fi
}
# shellcheck disable=SC2016
for kv in Type=notify NotifyAccess=main WatchdogSec=30s \
    'ExecReload=/bin/kill -HUP $MAINPID' Restart=on-failure \
    StateDirectory=tlspolicyd RuntimeDirectory=tlspolicyd \
    User=tlspolicyd Group=tlspolicyd NoNewPrivileges=yes \
    CapabilityBoundingSet= AmbientCapabilities= ProtectSystem=strict \
    PrivateDevices=yes MemoryDenyWriteExecute=yes \
    'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6'; do
	has "$kv"
done
if grep -q '^SystemCallFilter=@system-service$' "$unit"; then
	pass "unit: SystemCallFilter=@system-service"
else
	fail "unit: SystemCallFilter=@system-service"
fi
for k in PrivateNetwork IPAddressDeny IPAddressAllow DynamicUser; do
	if grep -q "^$k=" "$unit"; then
		fail "unit: no $k= (it must reach the database)" \
			"$(grep "^$k=" "$unit")"
	else
		pass "unit: no $k="
	fi
done
if [ "$(sed -n 's/^User=//p' "$review")" = "$(sed -n 's/^User=//p' "$unit")" ]
then
	pass "tlspolicyd-review.service runs as the daemon's user"
else
	fail "tlspolicyd-review.service runs as the daemon's user"
fi
# The sysusers.d file creates that user (as non-root too: --root).
if command -v systemd-sysusers >/dev/null; then
	mkdir -p "$tmp/root/etc"
	if out=$(systemd-sysusers --root="$tmp/root" \
	    "$top/contrib/systemd/tlspolicyd.sysusers" 2>&1) &&
	    grep -q '^tlspolicyd:[^:]*:[0-9]*:[0-9]*:.*:/usr/sbin/nologin$' \
	    "$tmp/root/etc/passwd" &&
	    grep -q '^tlspolicyd:' "$tmp/root/etc/group"; then
		pass "sysusers.d: creates user and group tlspolicyd, no shell"
	else
		fail "sysusers.d: creates user and group tlspolicyd" "$out" \
			"$(cat "$tmp/root/etc/passwd" 2>/dev/null)"
	fi
else
	echo "# skip: systemd-sysusers not installed"
fi

if ! command -v systemd-analyze >/dev/null; then
	echo "# skip: systemd-analyze not installed (exposure and verify)"
else
	out=$(systemd-analyze security --offline=true "$unit" 2>&1)
	line=$(grep 'Overall exposure level' <<<"$out")
	fig=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' \
		<<<"$line")
	if [ -n "$fig" ] && awk -v f="$fig" -v m="$MAX_EXPOSURE" \
	    'BEGIN { exit !(f <= m) }'; then
		pass "systemd-analyze security --offline=true: exposure $fig <= $MAX_EXPOSURE"
	else
		fail "systemd-analyze security --offline=true: exposure <= $MAX_EXPOSURE" \
			"${line:-$(tail -5 <<<"$out")}"
	fi
	line=$(systemd-analyze security --offline=true "$review" 2>&1 |
		grep 'Overall exposure level')
	echo "# ${line#→ }"

	# verify needs ExecStart's binary where the unit says: install
	# without DESTDIR into a temporary PREFIX.  It needs no running
	# systemd; unknown keys are only warnings, so any output fails.
	p=$tmp/verify
	if mk "$tmp/verify.log" PREFIX="$p/usr" SYSCONFDIR="$p/etc" install
	then
		for u in tlspolicyd.service tlspolicyd-review.service \
		    tlspolicyd-review.timer; do
			if out=$(systemd-analyze verify --man=no \
			    "$p/usr/lib/systemd/system/$u" 2>&1) &&
			    [ -z "$out" ]; then
				pass "systemd-analyze verify, installed $u"
			else
				fail "systemd-analyze verify, installed $u" "$out"
			fi
		done
	else
		fail "make install PREFIX=... for verify" \
			"$(tail -20 "$tmp/verify.log")"
	fi
fi

# ------------------------------------------------------------- deps.sh
echo "# --- tools/deps.sh"
# An empty PATH: no dpkg-query (the script needs only shell builtins then).
mkdir -p "$tmp/nobin"
out=$(PATH=$tmp/nobin /bin/sh "$top/tools/deps.sh" check 2>&1)
rc=$?
if [ $rc = 0 ] && grep -q 'cannot check' <<<"$out" &&
    grep -q 'libcmocka-dev' <<<"$out"; then
	pass "deps.sh check without dpkg: names what it cannot check, exit 0"
else
	fail "deps.sh check without dpkg: names what it cannot check, exit 0" \
		"exit $rc: $out"
fi

echo "$npass passed, $nfail failed"
[ "$nfail" = 0 ]
