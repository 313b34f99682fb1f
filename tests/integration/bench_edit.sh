#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
#
# bench_edit.sh - edit -> answer latency (the goal: p99 <= 5 ms).  Not part
# of `make check`: benchmarks are run on purpose, never timed inside tests.
#
#   tests/integration/bench_edit.sh [EDITS]      default 50 edits
#   TLSPOLICYD=/path/to/bin bench_edit.sh
#   BENCH_ROWS=100000 bench_edit.sh              table size (default 1000)
#   BENCH_GAP_US=50 bench_edit.sh                sleep between polls (default 0)
#   BENCH_RAW=1 bench_edit.sh                    also print every sample
#
# A throwaway cluster, the daemon (--poll-interval 1), and sockmap_probe:
# one persistent socketmap connection plus one libpq session that commits
# an UPDATE, then polls the daemon in a tight loop until the new answer.
# Reports p50/p99/max of "COMMIT acknowledged -> new answer" (µs, including
# the last poll's round trip) and, for reference, the UPDATE's own round
# trip.

set -u

# shellcheck source=lib.sh
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

EDITS=${1:-50}
ROWS=${BENCH_ROWS:-1000}
GAP=${BENCH_GAP_US:-0}

die() {
	echo "bench_edit: $*" >&2
	exit 1
}

[ -x "$TLSPOLICYD" ] || die "no daemon at $TLSPOLICYD (build it first)"
it_setup || die "cluster setup failed"

# The Makefile builds tests/integration/sockmap_probe; build it here if not.
PROBE=$IT_LIB_DIR/sockmap_probe
if [ ! -x "$PROBE" ] || [ "$IT_LIB_DIR/sockmap_probe.c" -nt "$PROBE" ]; then
	PROBE=$IT_TMP/sockmap_probe
	gcc -std=c11 -O2 -Wall -Wextra -o "$PROBE" "$IT_LIB_DIR/sockmap_probe.c" \
		-I"$(pg_config --includedir)" -L"$(pg_config --libdir)" -lpq ||
		die "cannot build sockmap_probe"
fi

psql -X -q -v ON_ERROR_STOP=1 -c "INSERT INTO tls_policy (target, policy)
	SELECT 'host' || i || '.bench.example', 'may'
	FROM generate_series(1, $ROWS) AS i;
	INSERT INTO tls_policy (target, policy)
	VALUES ('edit.bench.example', 'verify')" || die "cannot fill the table"

# not /etc/tlspolicyd.conf; a state file of its own, as in production
printf 'state_file = %s\n' "$IT_TMP/snapshot" >"$IT_TMP/bench.conf"
it_free_port
PORT=$IT_PORT
it_spawn daemon "$TLSPOLICYD" -c "$IT_TMP/bench.conf" -f \
	--listen "inet:127.0.0.1:$PORT" --database "$PGC_CONNINFO" \
	--poll-interval 1
it_wait_ready "$PORT" 30 "$IT_PID" || {
	tail -n 20 "$IT_TMP/daemon.log" >&2
	die "daemon not ready"
}

"$PROBE" -p "$PORT" -d "$PGC_CONNINFO" \
	-k edit.bench.example -n "$EDITS" -a encrypt -b verify -i "$GAP" \
	>"$IT_TMP/samples" || {
	cat "$IT_TMP/samples" >&2
	tail -n 20 "$IT_TMP/daemon.log" >&2
	die "probe failed"
}

# Nearest-rank percentiles over column $1 of the samples.
stats() {
	awk -v col="$1" '{ print $col }' "$IT_TMP/samples" | sort -n | awk '
		{ v[NR] = $1 }
		END {
			p50 = int(NR * 0.50); if (p50 < NR * 0.50) p50++
			p99 = int(NR * 0.99); if (p99 < NR * 0.99) p99++
			printf "p50 %d us, p99 %d us, max %d us (n=%d)\n",
			    v[p50], v[p99], v[NR], NR
		}'
}

if [ -n "${BENCH_RAW:-}" ]; then
	echo "# edit_us visible_us polls"
	cat "$IT_TMP/samples"
fi
echo "table rows: $((ROWS + 1)); edits: $EDITS; poll gap: $GAP us; daemon: $TLSPOLICYD"
echo "COMMIT -> new answer: $(stats 2)"
echo "UPDATE round trip:    $(stats 1)"
echo "polls per edit:       $(stats 3 | sed 's/ us//g')"
