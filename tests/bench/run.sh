#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# bench/run.sh - figures, never assertions (make bench).
#
#   1. steady-state lookups: 1, 10 and 100 connections, hits and misses
#   2. one `postmap -q -` batch of 20000 keys
#   3. a 1 000 000-row table: load time, peak RSS, and the longest lookup
#      wait while the daemon reloads it (sliced building at work)
# BENCH_ROWS (default 1000000) and BENCH_SECONDS (default 5) scale it.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
source "$top/tests/lib/pgcluster.sh"
bin=${TLSPOLICYD:-$top/tlspolicyd}
rows=${BENCH_ROWS:-1000000}
secs=${BENCH_SECONDS:-5}
dir=$(mktemp -d /tmp/tlspolicyd-bench.XXXXXX)
chmod 755 "$dir"
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	pgc_stop
	rm -rf "$dir"
}
trap cleanup EXIT

cc -O2 -o "$dir/sockmap_bench" "$top/tests/bench/sockmap_bench.c" || exit 1
pgc_start "$dir/pg" || exit 1
pgc_schema "$top/contrib/postgresql/schema.sql"
mkdir -p "$dir/postfix" && printf 'compatibility_level = 3.6\n' >"$dir/postfix/main.cf"

echo "== loading $rows rows into PostgreSQL"
psql -X -q -c "INSERT INTO tls_policy (target, policy, parameters)
	SELECT 'host' || g || '.example', CASE WHEN g % 3 = 0 THEN 'may'
	WHEN g % 3 = 1 THEN 'encrypt' ELSE 'secure' END,
	CASE WHEN g % 3 = 2 THEN 'match=nexthop:dot-nexthop' ELSE '' END
	FROM generate_series(1, $rows) g"
psql -X -q -c "VACUUM ANALYZE tls_policy"

port=$(free_port)
"$bin" -f --listen "inet:127.0.0.1:$port" --database "$PGC_CONNINFO" \
	2>"$dir/daemon.log" &
pid=$!
for _ in $(seq 1 300); do
	grep -q 'pgsync: loaded' "$dir/daemon.log" && break
	sleep 0.1
done
echo "== initial load"
grep 'pgsync: loaded' "$dir/daemon.log" | sed 's/.*pgsync: //'
echo "peak RSS: $(awk '/VmHWM/ {print $2, $3}' /proc/$pid/status), bytes/row: $(awk -v r="$rows" '/VmHWM/ {printf "%.0f", $2 * 1024 / r}' /proc/$pid/status)"

echo "== steady state, ${secs}s each (hits: existing rows; misses: absent names, walked to their parents)"
for c in 1 10 100; do
	printf 'hits   '
	"$dir/sockmap_bench" 127.0.0.1 "$port" "$c" "$secs" 'host%d.example' "$rows"
	printf 'misses '
	"$dir/sockmap_bench" 127.0.0.1 "$port" "$c" "$secs" 'mx%d.nowhere.example' "$rows"
done

echo "== one postmap -q - batch of 20000 keys"
seq 1 20000 | sed 's/^/host/; s/$/.example/' >"$dir/keys"
start=$(date +%s.%N)
postmap -c "$dir/postfix" -q - "socketmap:inet:127.0.0.1:$port:tlspolicy" <"$dir/keys" >"$dir/out"
end=$(date +%s.%N)
awk -v n="$(wc -l <"$dir/out")" -v a="$start" -v b="$end" \
	'BEGIN { printf "%d answers in %.2f s: %.0f lookups/s\n", n, b - a, 20000 / (b - a) }'

echo "== lookups during a full reload of $rows rows (SIGHUP), 10 connections"
"$dir/sockmap_bench" 127.0.0.1 "$port" 10 "$secs" 'host%d.example' "$rows" >"$dir/during" &
bpid=$!
sleep 1
kill -HUP "$pid"
wait "$bpid"
sed 's/^/during reload: /' "$dir/during"
grep 'pgsync: reloaded' "$dir/daemon.log" | tail -1 | sed 's/.*pgsync: //'
echo "peak RSS after reload: $(awk '/VmHWM/ {print $2, $3}' /proc/$pid/status) (old and new snapshot coexist during the swap)"
