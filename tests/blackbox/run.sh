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
printf '# empty\n' >"$dir/empty.conf"
"$bin" -c "$dir/empty.conf" -f --listen "inet:127.0.0.1:$port" \
	--database "hostaddr=127.0.0.1 port=$nodb connect_timeout=1" \
	--idle-timeout 1s 2>"$dir/daemon.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 1 50); do
	(exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break
	sleep 0.1
done
"$probe" "$port"
