#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# blackbox/run.sh - the daemon's framing and limits over TCP, no database:
# it is pointed at a port where nothing listens, so it answers TEMP.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
source "$top/tests/lib/pgcluster.sh"
bin=${TLSPOLICYD:-$top/tlspolicyd}
probe=${FRAMING:-$top/tests/blackbox/framing}
dir=$(mktemp -d)
port=$(free_port)
nodb=$(free_port)
# not /etc/tlspolicyd.conf, and no state file (none in /var/lib either)
printf '# empty\nstate_file =\n' >"$dir/empty.conf"
"$bin" -c "$dir/empty.conf" -f --listen "inet:127.0.0.1:$port" \
	--database "hostaddr=127.0.0.1 port=$nodb connect_timeout=1" \
	--idle-timeout 1s 2>"$dir/daemon.log" &
pid=$!
# The sections below run in a pipeline's subshell: their daemons' pids go
# to files, for the subshell to stop them and for this trap if it did not.
trap 'kill $pid $(cat "$dir"/*.pid 2>/dev/null) 2>/dev/null
	wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
listening() {
	for _ in $(seq 1 50); do
		(exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
# spawn NAME ARGS...: another daemon with more options; its port in
# $NAME_port, its pid in $dir/NAME.pid, its log in $dir/NAME.log.  Its
# stdout is not the pipeline's, or tee would wait for it.
spawn() {
	local name=$1 p
	shift
	p=$(free_port)
	"$bin" -c "$dir/empty.conf" -f --listen "inet:127.0.0.1:$p" \
		--database "hostaddr=127.0.0.1 port=$nodb connect_timeout=1" \
		"$@" >/dev/null 2>"$dir/$name.log" &
	echo "$!" >"$dir/$name.pid"
	listening "$p"
	printf -v "${name}_port" %s "$p"
}
listening "$port"
# One closing line for the whole run: the sections print only ok/not ok.
{
"$probe" "$port"

# Under a hard limit of 100 descriptors the daemon keeps a reserve for
# itself and serves at most 100 / 2 = 50 connections (see main.c).
capport=$(free_port)
(
	ulimit -n 100
	exec "$bin" -c "$dir/empty.conf" -f --listen "inet:127.0.0.1:$capport" \
		--database "hostaddr=127.0.0.1 port=$nodb connect_timeout=1"
) 2>"$dir/cap.log" &
echo "$!" >"$dir/cap.pid"
for _ in $(seq 1 50); do
	(exec 3<>/dev/tcp/127.0.0.1/$capport) 2>/dev/null && break
	sleep 0.1
done
"$probe" "$capport" cap 50
if grep -q 'RLIMIT_NOFILE is 100: serving at most 50 connections' "$dir/cap.log"; then
	echo "ok - the daemon says why it serves fewer than max_connections"
else
	echo "not ok - the daemon says why it serves fewer than max_connections"
fi
kill "$(cat "$dir/cap.pid")" 2>/dev/null

# Idle connections fill max_connections: eviction, not refusal.
spawn evict --max-connections 4 --idle-timeout 60s
"$probe" "$evict_port" evict 4
kill "$(cat "$dir/evict.pid")" 2>/dev/null
if [ "$(grep -c 'closing the longest-idle connection' "$dir/evict.log")" = 1 ]; then
	echo "ok - the first eviction is logged, once"
else
	echo "not ok - the first eviction is logged, once"
fi

# Pipelining clients that never read: backpressure.
spawn pipe --idle-timeout 60s
"$probe" "$pipe_port" backpressure
kill "$(cat "$dir/pipe.pid")" 2>/dev/null
} | grep -v ' passed, .* failed$' | tee "$dir/out"
pass=$(grep -c '^ok ' "$dir/out")
fail=$(grep -c '^not ok ' "$dir/out")
echo "$pass passed, $fail failed"
[ "$fail" = 0 ] && [ "$pass" -gt 0 ]
