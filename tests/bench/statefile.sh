#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
#
# statefile.sh - what writing the state file costs the lookups, at
# BENCH_BIG_ROWS (1 000 000) rows: one client doing back-to-back lookups
# for a few seconds with no write, then again while a write runs (an edit
# starts one a second later); the longest single wait of each run is the
# figure (a stalled loop turn shows there).  Also the fork, the writer's
# time, the file's size, and the last write at SIGTERM, done in the
# daemon itself.  Run by `make bench` after run.sh (never by check); it
# replaces its own section of docs/benchmarks.md (BENCH_OUT).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
source "$top/tests/lib/pgcluster.sh"
bin=${TLSPOLICYD:-$top/tlspolicyd}
rows=${BENCH_BIG_ROWS:-1000000}
out=${BENCH_OUT:-$top/docs/benchmarks.md}
dir=$(mktemp -d /tmp/tlspolicyd-bench-state.XXXXXX)
chmod 755 "$dir"
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	pgc_stop
	rm -rf "$dir"
}
trap cleanup EXIT
say() { echo "== $*" >&2; }
srv= cli=
if [ "$(nproc)" -ge 2 ]; then
	srv="taskset -c 1" cli="taskset -c 0"
fi

cc -O2 -o "$dir/sockmap_bench" "$top/tests/bench/sockmap_bench.c" || exit 1
say "state file: a throwaway cluster with $rows rows"
pgc_start "$dir/pg" || exit 1
pgc_schema "$top/contrib/postgresql/schema.sql" || exit 1
psql -X -q -v ON_ERROR_STOP=1 -c "INSERT INTO tls_policy (target, policy)
	SELECT 'host' || i || '.example', 'may'
	FROM generate_series(1, $rows) AS i" || exit 1

port=$(free_port)
log=$dir/daemon.log
printf 'state_file = %s\n' "$dir/snapshot" >"$dir/bench.conf"
$srv "$bin" -c "$dir/bench.conf" -f --listen "inet:127.0.0.1:$port" \
	--database "$PGC_CONNINFO" --log-level debug 2>"$log" &
pid=$!
wait_log() {
	local i
	for i in $(seq 1 600); do
		[ "$(grep -c -- "$1" "$log")" -ge "$2" ] && return 0
		sleep 0.1
	done
	echo "bench: no \"$1\" in the log" >&2
	return 1
}
wait_log 'pgsync: loaded' 1 || exit 1
wait_log 'statefile: wrote' 1 || exit 1
sleep 5			# past STATEFILE_MIN_INTERVAL_MS

say "state file: lookups without a write, then during one"
quiet=$($cli "$dir/sockmap_bench" 127.0.0.1 "$port" 1 4 'host%d.example' \
	"$rows")
$cli "$dir/sockmap_bench" 127.0.0.1 "$port" 1 4 'host%d.example' "$rows" \
	>"$dir/during" &
bench=$!
sleep 0.5
psql -X -q -c "UPDATE tls_policy SET policy = 'encrypt'
	WHERE target = 'host1.example'" || exit 1
wait "$bench"
during=$(cat "$dir/during")
wait_log 'statefile: wrote' 2 || exit 1
wrote=$(grep 'statefile: wrote' "$log" | tail -n 1 | sed 's/.*statefile: //')
size=$(stat -c %s "$dir/snapshot")

say "state file: the last write at SIGTERM"
psql -X -q -c "UPDATE tls_policy SET policy = 'verify'
	WHERE target = 'host2.example'" || exit 1
sleep 0.3
t0=${EPOCHREALTIME/./}
kill "$pid"
wait "$pid"
stop_ms=$(((${EPOCHREALTIME/./} - t0) / 1000))
pid=
saved=$(grep 'statefile: saved' "$log" | tail -n 1 | sed 's/.*statefile: //')

longest() { sed -n 's/.*max=\([0-9]*us\).*/\1/p' <<<"$1"; }
section=$(
	cat <<EOF
## State file at $rows rows

Written by \`tests/bench/statefile.sh\` ($(date -u +%Y-%m-%d), $(nproc) cores;
daemon on core 1, one client on core 0 doing back-to-back lookups for 4 s).
The writer is a forked child (src/statefile.c): the loop pays for fork()
only, copying the page tables of the snapshot.

| | |
| --- | --- |
| file size | $((size / 1024)) KiB ($((size / rows)) B/row) |
| the write (child: encode, write, fsync, rename, fsync the directory) | $wrote |
| longest lookup wait, no write | $(longest "$quiet") ($quiet) |
| longest lookup wait, a write during the run | $(longest "$during") ($during) |
| the last write at SIGTERM, in the daemon (a row changed 0.3 s before) | $saved; SIGTERM to exit $stop_ms ms |

With the rows unchanged since a file younger than the refresh interval,
SIGTERM writes nothing (src/statefile.c).
EOF
)
# replace this script's section, or append it
awk -v sect="$section" '
	/^## State file at / { skip = 1; print sect; done = 1; next }
	skip && /^## / { skip = 0 }
	!skip { print }
	END { if (!done) { print ""; print sect } }
' "$out" >"$dir/out.md" && cp "$dir/out.md" "$out"
echo "$section"
