#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# bench/run.sh - make bench: figures, never assertions.  One unattended run
# (about 6 minutes on 2 cores) that writes docs/benchmarks.md and
# docs/benchmarks.png.
#
#   1. lookups/s and latency at 1, 10 and 100 connections, 10 000 rows,
#      half hits and half misses, rounds alternating the systems (A B C A B
#      C ...), medians: tlspolicyd; tests/bench/responder.c, a minimal epoll
#      socketmap server (netstring, hash lookup, reply, nothing else); and
#      PostgreSQL answering the exact-match query of a Postfix pgsql: table
#      (pgbench, custom script, prepared statements)
#   2. postmap -q - batches through socketmap: and through pgsql:
#   3. what a request costs: system calls (strace -c) and user-space
#      instructions and malloc() calls (valgrind --tool=callgrind)
#   4. connections: RSS per idle connection at 10 000 (lookups answered
#      meanwhile), 16 384 idle connections from one user, 2 000 clients
#      pipelining without reading
#   5. COMMIT -> answer over 100 edits (tests/integration/bench_edit.sh)
#   6. a 1 000 000-row table: load time, RSS per row, lookups during a
#      full reload
#
# BENCH_BEFORE=/path/to/older/tlspolicyd measures an older build beside the
# current one in 1, 3 and 4 (BENCH_BEFORE_NAME names it in the report).  BENCH_SECONDS (3), BENCH_ROUNDS (3),
# BENCH_BIG_ROWS (1000000) and BENCH_OUT (docs/benchmarks.md) scale it.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
source "$top/tests/lib/pgcluster.sh"
bin=${TLSPOLICYD:-$top/tlspolicyd}
before=${BENCH_BEFORE:-}
secs=${BENCH_SECONDS:-3}
rounds=${BENCH_ROUNDS:-3}
bigrows=${BENCH_BIG_ROWS:-1000000}
out=${BENCH_OUT:-$top/docs/benchmarks.md}
png=${out%.md}.png
rows=10000
dir=$(mktemp -d /tmp/tlspolicyd-bench.XXXXXX)
chmod 755 "$dir"
pids=
cleanup() {
	# shellcheck disable=SC2086
	[ -n "$pids" ] && kill $pids 2>/dev/null && wait $pids 2>/dev/null
	pgc_stop
	rm -rf "$dir"
}
trap cleanup EXIT
say() { echo "== $*" >&2; }

# Servers on one core, load generators on the other: each system gets the
# same core to itself, and a run does not depend on where the scheduler
# happens to put a ping-pong pair (same core or not: 10 or 45 us a trip).
srv= cli=
if [ "$(nproc)" -ge 2 ]; then
	srv="taskset -c 1" cli="taskset -c 0"
fi

cc -O2 -o "$dir/sockmap_bench" "$top/tests/bench/sockmap_bench.c" &&
	cc -O2 -o "$dir/responder" "$top/tests/bench/responder.c" &&
	cc -O2 -o "$dir/crowd" "$top/tests/bench/crowd.c" || exit 1
start_all=$(date +%s)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

say "a throwaway PostgreSQL cluster with $rows rows"
pgc_start "$dir/pg" || exit 1
pgc_schema "$top/contrib/postgresql/schema.sql"
# 100 pgbench clients, the daemons' sessions and psql
psql -X -q -c "ALTER SYSTEM SET max_connections = 300" &&
	pgc_as "$PGC_BINDIR/pg_ctl" -D "$PGC_DIR/data" -w restart >/dev/null ||
	exit 1
if [ -n "$srv" ]; then
	pm=$(head -1 "$PGC_DIR/data/postmaster.pid")
	# backends are forked later and inherit the postmaster's core
	for p in $pm $(pgrep -P "$pm"); do
		taskset -a -c -p 1 "$p" >/dev/null
	done
fi
psql -X -q -v ON_ERROR_STOP=1 -c "INSERT INTO tls_policy (target, policy, parameters)
	SELECT 'host' || g || '.example', CASE WHEN g % 3 = 0 THEN 'may'
	WHEN g % 3 = 1 THEN 'encrypt' ELSE 'secure' END,
	CASE WHEN g % 3 = 2 THEN 'match=nexthop:dot-nexthop' ELSE '' END
	FROM generate_series(0, $rows - 1) g" || exit 1
psql -X -q -c "VACUUM ANALYZE tls_policy"
# the responder answers the same rows, as the daemon's canonical text
psql -X -At -F "$(printf '\t')" -c "SELECT lower(target), policy ||
	CASE WHEN parameters <> '' THEN ' ' || parameters ELSE '' END
	FROM tls_policy" >"$dir/table"
mkdir -p "$dir/postfix"
printf 'compatibility_level = 3.6\n' >"$dir/postfix/main.cf"
# Postfix sends the key lower-cased; lower(target) is the unique index.
cat >"$dir/pgsql.cf" <<EOF
hosts = inet:127.0.0.1:$PGPORT
user = postgres
password = unused
dbname = postgres
query = SELECT policy || CASE WHEN parameters <> '' THEN ' ' || parameters ELSE '' END FROM tls_policy WHERE lower(target) = '%s' AND active
EOF
cat >"$dir/pgbench.sql" <<'EOF'
\set k random(0, 19999)
SELECT policy || CASE WHEN parameters <> '' THEN ' ' || parameters ELSE '' END FROM tls_policy WHERE lower(target) = 'host' || :k || '.example' AND active;
EOF

# daemon NAME BIN ARGS...: start, wait for the load; port in NAME_port,
# pid in NAME_pid.
daemon() {
	local name=$1 b=$2 p i sf=()
	shift 2
	p=$(free_port)
	# a state file of its own, as in production (an older build may not
	# know the key); never /var/lib/tlspolicyd
	"$b" --help 2>&1 | grep -q -- --state-file &&
		sf=(--state-file "$dir/$name.snapshot")
	$srv "$b" -f --listen "inet:127.0.0.1:$p" --database "$PGC_CONNINFO" \
		"${sf[@]}" "$@" 2>"$dir/$name.log" &
	printf -v "${name}_pid" %s "$!"
	pids="$pids $!"
	printf -v "${name}_port" %s "$p"
	for i in $(seq 1 600); do
		grep -q 'pgsync: loaded' "$dir/$name.log" && return 0
		sleep 0.1
	done
	echo "bench: $name did not load" >&2
	return 1
}
stop() {
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}
rss() { awk '/^VmRSS/ { print $2 * 1024 }' "/proc/$1/status"; }

systems="tlspolicyd responder postgresql"
daemon tlspolicyd "$bin" || exit 1
if [ -n "$before" ]; then
	daemon before "$before" || exit 1
	systems="tlspolicyd before responder postgresql"
fi
responder_port=$(free_port)
$srv "$dir/responder" "$responder_port" "$dir/table" &
responder_pid=$!
pids="$pids $!"
sleep 0.3

# ---------------------------------------------------------------- 1
say "lookups/s: $rounds rounds of ${secs}s runs, systems alternating"
# one run: "rate p50 p99 errors", microseconds
run_one() {
	local sys=$1 c=$2 tag=$3 port
	if [ "$sys" = postgresql ]; then
		$cli pgbench -n -M prepared -f "$dir/pgbench.sql" -c "$c" -j 1 \
			-T "$secs" -l --log-prefix="$dir/pgb.$tag" postgres \
			>"$dir/pgb.$tag.out" 2>&1
		cat "$dir"/pgb."$tag".[0-9]* | awk '{ print $3 }' | sort -n |
			awk -v tps="$(awk '/^tps/ { print $3; exit }' "$dir/pgb.$tag.out")" \
			-v fail="$(awk '/failed transactions/ { print $4 }' "$dir/pgb.$tag.out")" '
			{ v[NR] = $1 }
			END { printf "%.0f %d %d %d\n", tps, v[int(NR * 0.5) + 1],
			    v[int(NR * 0.99) + 1], fail + 0 }'
		rm -f "$dir"/pgb."$tag".[0-9]*
	else
		port=${sys}_port
		$cli "$dir/sockmap_bench" 127.0.0.1 "${!port}" "$c" "$secs" \
			'host%d.example' $((2 * rows)) |
			sed 's/[a-z0-9]*=//g; s/\/s//; s/us//g' |
			awk '{ print $3, $4, $5, $7 }'
	fi
}
for r in $(seq 1 "$rounds"); do
	for c in 1 10 100; do
		for s in $systems; do
			echo "$s $c $r $(run_one "$s" "$c" "$s.$c.$r")" >>"$dir/tput"
		done
	done
done
# median of column $2 for system $s at conns $c
med() {
	awk -v s="$1" -v c="$2" -v col="$3" '$1 == s && $2 == c { print $col }' \
		"$dir/tput" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
errs() {
	awk -v s="$1" '$1 == s { n += $7 } END { print n + 0 }' "$dir/tput"
}

# ---------------------------------------------------------------- 2
say "postmap -q - batches of $rows keys"
awk -v n="$rows" 'BEGIN { srand(2); for (i = 0; i < n; i++)
	printf "host%d.example\n", int(rand() * 2 * n) }' >"$dir/keys"
batch() {
	local t0 t1
	t0=$(date +%s.%N)
	$cli postmap -c "$dir/postfix" -q - "$1" <"$dir/keys" >"$dir/batch.out" 2>"$dir/batch.err"
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" -v n="$rows" -v got="$(wc -l <"$dir/batch.out")" \
		'BEGIN { printf "%.0f %d\n", n / (b - a), got }'
}
for r in $(seq 1 "$rounds"); do
	echo "socketmap $(batch "socketmap:inet:127.0.0.1:$tlspolicyd_port:tlspolicy")" >>"$dir/batches"
	echo "pgsql $(batch "pgsql:$dir/pgsql.cf")" >>"$dir/batches"
done
bmed() {
	awk -v s="$1" -v col="$2" '$1 == s { print $col }' "$dir/batches" |
		sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# ---------------------------------------------------------------- 3
say "system calls per request (strace -c), 10 connections"
# percall NAME PORT PID: "syscalls/request" and the breakdown
percall() {
	local name=$1 port=$2 pid=$3 spid n
	strace -c -f -o "$dir/strace.$name" -p "$pid" 2>/dev/null &
	spid=$!
	sleep 0.5
	n=$($cli "$dir/sockmap_bench" 127.0.0.1 "$port" 10 "$secs" \
		'host%d.example' $((2 * rows)) | sed 's/.*requests=\([0-9]*\).*/\1/')
	kill -INT "$spid"
	wait "$spid" 2>/dev/null
	awk -v n="$n" '$NF == "total" { printf "%.2f", $4 / n }' "$dir/strace.$name"
	awk -v n="$n" '$1 ~ /^[0-9.]+$/ && $NF != "total" && $4 / n >= 0.01 {
		printf " %s %.2f,", $NF, $4 / n }' "$dir/strace.$name" | sed 's/,$//'
	echo
}
{
	echo "tlspolicyd $(percall tlspolicyd "$tlspolicyd_port" "$tlspolicyd_pid")"
	[ -n "$before" ] && echo "before $(percall before "$before_port" "$before_pid")"
	echo "responder $(percall responder "$responder_port" "$responder_pid")"
} >"$dir/syscalls"

say "instructions and malloc() per request (callgrind), 10 connections"
# cg NAME BIN: "instructions/request mallocs/request"
cg() {
	local name=$1 b=$2 p pid n f
	p=$(free_port)
	valgrind --tool=callgrind --compress-strings=no --compress-pos=no \
		--callgrind-out-file="$dir/cg.$name" "$b" -f \
		--listen "inet:127.0.0.1:$p" --database "$PGC_CONNINFO" \
		2>"$dir/cg.$name.log" &
	pid=$!
	for _ in $(seq 1 600); do
		grep -q 'pgsync: loaded' "$dir/cg.$name.log" && break
		sleep 0.1
	done
	callgrind_control -z "$pid" >/dev/null
	n=$("$dir/sockmap_bench" 127.0.0.1 "$p" 10 "$secs" 'host%d.example' \
		$((2 * rows)) | sed 's/.*requests=\([0-9]*\).*/\1/')
	callgrind_control -d "$pid" >/dev/null
	kill "$pid"
	wait "$pid" 2>/dev/null
	f=$(ls -t "$dir/cg.$name".* | grep -v log | head -1)
	awk -v n="$n" '
		/^summary:/ || /^totals:/ { ir = $2 }
		/^cfn=/ { fn = $0; sub(/^cfn=(\([0-9]+\) )?/, "", fn); sub(/ .*/, "", fn) }
		/^calls=/ { split($1, a, "="); if (fn ~ /^(malloc|calloc|realloc)$/) m += a[2] }
		END { printf "%.0f %.2f\n", ir / n, m / n }' "$f"
}
{
	echo "tlspolicyd $(cg tlspolicyd "$bin")"
	[ -n "$before" ] && echo "before $(cg before "$before")"
} >"$dir/instr"

# ---------------------------------------------------------------- 4
say "connections: idle RSS, slot exhaustion, pipelining floods"
ulimit -n "$(ulimit -Hn)"
# hold NAME PORT PID N MODE: start a crowd, wait until it is in place
hold() {
	# at nice 19: the flood shares the load generators' core with the
	# normal client, whose wait for that core is not the daemon's doing
	$cli nice -n 19 "$dir/crowd" 127.0.0.1 "$2" "$4" "$5" \
		>"$dir/crowd.$1" 2>&1 &
	crowd_pid=$!
	for _ in $(seq 1 600); do
		grep -q ready "$dir/crowd.$1" && break
		sleep 0.1
	done
}
conns_for() {
	local name=$1 b=$2 port pid r0 r1 look
	# fresh daemons: the throughput runs leave nothing behind, but be sure
	daemon "c$name" "$b" || return
	port=c${name}_port pid=c${name}_pid
	port=${!port} pid=${!pid}
	r0=$(rss "$pid")
	hold "$name.idle" "$port" "$pid" 10000 idle
	sleep 1
	r1=$(rss "$pid")
	look=$($cli "$dir/sockmap_bench" 127.0.0.1 "$port" 1 2 'host%d.example' \
		$((2 * rows)))
	echo "idle $name $(sed 's/ready //' "$dir/crowd.$name.idle") $(( (r1 - r0) / 10000 )) $look"
	stop "$crowd_pid"
	stop "$pid"

	# 16 384 idle connections from one user, then a Postfix lookup
	daemon "s$name" "$b" || return
	port=s${name}_port pid=s${name}_pid
	port=${!port} pid=${!pid}
	hold "$name.slots" "$port" "$pid" 16384 idle
	sleep 2
	if postmap -c "$dir/postfix" -q host1.example \
		"socketmap:inet:127.0.0.1:$port:tlspolicy" >"$dir/pm.$name" 2>&1; then
		look="answered: $(cat "$dir/pm.$name")"
	else
		look="not answered (postmap: $(tail -1 "$dir/pm.$name" | sed 's/.*: //'))"
	fi
	echo "slots $name $(sed 's/ready //' "$dir/crowd.$name.slots") $look"
	stop "$crowd_pid"
	stop "$pid"

	# 2 000 clients pipelining without reading, and one normal client
	daemon "p$name" "$b" || return
	port=p${name}_port pid=p${name}_pid
	port=${!port} pid=${!pid}
	# measured from the moment they start writing: the flood, not its end
	hold "$name.pipe" "$port" "$pid" 2000 pipeline
	look=$($cli "$dir/sockmap_bench" 127.0.0.1 "$port" 1 "$secs" \
		'host%d.example' $((2 * rows)))
	echo "pipe $name $(sed 's/ready //' "$dir/crowd.$name.pipe") $look"
	stop "$crowd_pid"
	stop "$pid"
}
{
	conns_for tlspolicyd "$bin"
	[ -n "$before" ] && conns_for before "$before"
} >"$dir/conns"

# ---------------------------------------------------------------- 5
say "COMMIT -> answer, 100 edits"
TLSPOLICYD=$bin BENCH_ROWS=$rows bash "$top/tests/integration/bench_edit.sh" 100 \
	>"$dir/edit" 2>&1

# ---------------------------------------------------------------- 6
say "a $bigrows-row table: load, RSS, lookups during a full reload"
stop "$tlspolicyd_pid"
[ -n "$before" ] && stop "$before_pid"
psql -X -q -c "INSERT INTO tls_policy (target, policy, parameters)
	SELECT 'host' || g || '.example', CASE WHEN g % 3 = 0 THEN 'may'
	WHEN g % 3 = 1 THEN 'encrypt' ELSE 'secure' END,
	CASE WHEN g % 3 = 2 THEN 'match=nexthop:dot-nexthop' ELSE '' END
	FROM generate_series($rows, $bigrows - 1) g"
psql -X -q -c "VACUUM ANALYZE tls_policy"
r0=$(date +%s.%N)
daemon big "$bin" || exit 1
r1=$(date +%s.%N)
loaded=$(grep 'pgsync: loaded' "$dir/big.log" | head -1 | sed 's/.*pgsync: //')
bigrss=$(rss "$big_pid")
$cli "$dir/sockmap_bench" 127.0.0.1 "$big_port" 10 $((secs * 2)) 'host%d.example' \
	$((2 * bigrows)) >"$dir/during" &
bpid=$!
sleep 1
kill -HUP "$big_pid"
wait "$bpid"
sleep 1
reloaded=$(grep 'pgsync: reloaded\|pgsync: loaded' "$dir/big.log" | tail -1 | sed 's/.*pgsync: //')
peak=$(awk '/^VmHWM/ { print $2 * 1024 }' "/proc/$big_pid/status")

# ---------------------------------------------------------------- report
say "writing $out and $png"
# a section measured by hand (## Metrics cost) survives the rewrite
keep=$(awk '/^## / { k = ($0 ~ /^## Metrics cost/) } k' "$out" 2>/dev/null)
for c in 1 10 100; do
	printf '%d' "$c"
	for s in tlspolicyd responder postgresql; do
		printf ' %s' "$(med "$s" "$c" 4)"
	done
	echo
done >"$dir/plot.dat"
gnuplot <<EOF
set terminal pngcairo size 800,480 font "sans,10"
set output "$png"
set title "Lookups/s by connection count ($rows rows, half hits; medians of $rounds runs)"
set xlabel "client connections"
set ylabel "lookups/s"
set logscale x
set xtics ("1" 1, "10" 10, "100" 100)
set xrange [0.8:130]
set yrange [0:*]
set key top left
set grid
plot "$dir/plot.dat" using 1:2 with linespoints lw 2 title "tlspolicyd", \
     "" using 1:3 with linespoints lw 2 title "minimal epoll responder", \
     "" using 1:4 with linespoints lw 2 title "PostgreSQL (pgbench, prepared)"
EOF

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b ? a / b : 0 }'; }
# thousands grouped with spaces
fmt() {
	awk -v v="$1" 'BEGIN { s = sprintf("%.0f", v); o = ""
		while (length(s) > 3) { o = " " substr(s, length(s) - 2) o
			s = substr(s, 1, length(s) - 3) }
		print s o }'
}
row() {
	local s=$1 c=$2
	printf '| %s | %s | %s | %s | %s |\n' "$3" "$(fmt "$(med "$s" "$c" 4)")" \
		"$(med "$s" "$c" 5)" "$(med "$s" "$c" 6)" "$(ratio "$(med "$s" "$c" 4)" "$(med responder "$c" 4)")"
}
edit=$(grep 'COMMIT -> new answer' "$dir/edit" | sed 's/.*answer: //')
upd=$(grep 'UPDATE round trip' "$dir/edit" | sed 's/.*trip: *//')
{
cat <<EOF
# Benchmarks

Written by \`make bench\` (\`tests/bench/run.sh\`) on $(date -u +%Y-%m-%d); figures,
never assertions. Every system ran on the same machine as its load
generator: $( [ -n "$srv" ] && echo "the servers (the daemons, the responder, PostgreSQL) pinned to
one core, the load generators to the other, so every system has one core
to itself" || echo "one core, no pinning").

## Machine

| | |
| --- | --- |
| CPU | $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), $(nproc) cores |
| memory | $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) |
| system | Debian $(cat /etc/debian_version), Linux $(uname -r) |
| software | PostgreSQL $(psql -XAtc 'SHOW server_version' | sed 's/ .*//'), Postfix $(postconf -d -h mail_version 2>/dev/null), libevent $(pkg-config --modversion libevent) |
| run | $rounds rounds, ${secs} s a run; the whole bench took $(( $(date +%s) - start_all )) s |
| load average | $load_before before the run, $(cut -d' ' -f1-3 /proc/loadavg) after: other work on the machine shows in the figures |

Commands: \`make bench\`; with an older build beside the current one,
\`make bench BENCH_BEFORE=/path/to/old/tlspolicyd\` (this file:
$( [ -n "$before" ] && echo "the older build is commit \`${BENCH_BEFORE_NAME:-before}\`" || echo "no older build" )).

## Lookups per second

$(fmt "$rows") rows (\`host<N>.example\`, a third each \`may\`, \`encrypt\`,
\`secure match=…\`), keys drawn from twice as many names: half hit, half
miss (tlspolicyd walks a miss to its parent \`.example\`). Each connection
sends a request and waits for its reply, as Postfix does
(\`tests/bench/sockmap_bench.c\`). The systems alternate run by run
(in the order $(echo $systems | sed 's/ /, /g'), then again), $rounds rounds;
the table gives medians.

- **responder**: \`tests/bench/responder.c\`, epoll, netstring, a hash
  lookup, the reply, one \`write()\` per read; nothing else (no key
  normalisation, parent walk, map check, limits or timeouts). The floor.
- **PostgreSQL**: \`pgbench -M prepared -j 1\` running the query a Postfix
  \`pgsql:\` table would send (\`SELECT policy … WHERE lower(target) =
  '%s' AND active\`, the unique index), same keys, same mix. Latency from
  pgbench's per-transaction log.

| system, connections | lookups/s | p50 µs | p99 µs | × responder |
| --- | --- | --- | --- | --- |
EOF
for c in 1 10 100; do
	row tlspolicyd "$c" "tlspolicyd, $c"
	[ -n "$before" ] && row before "$c" "older build, $c"
	row responder "$c" "responder, $c"
	row postgresql "$c" "PostgreSQL, $c"
done
cat <<EOF

Errors (replies other than OK/NOTFOUND, failed transactions) over all
runs: tlspolicyd $(errs tlspolicyd)$( [ -n "$before" ] && echo ", older build $(errs before)"), responder $(errs responder), PostgreSQL $(errs postgresql).

p99 at 100 connections, tlspolicyd ÷ responder: $(ratio "$(med tlspolicyd 100 6)" "$(med responder 100 6)").

![lookups/s by connections]($(basename "$png"))

## postmap -q - batches

$(fmt "$rows") keys (the same mix) through one \`postmap -q -\` process: Postfix's
own client, one lookup at a time. Medians of $rounds batches.

| map | lookups/s | keys found |
| --- | --- | --- |
| \`socketmap:\` tlspolicyd | $(fmt "$(bmed socketmap 2)") | $(bmed socketmap 3) |
| \`pgsql:\` PostgreSQL | $(fmt "$(bmed pgsql 2)") | $(bmed pgsql 3) |

## What a request costs

10 connections for ${secs} s. System calls: \`strace -c -f -p\` attached
to the running process, divided by the requests answered (strace slows the
process, so more requests wait per \`epoll_wait\`; the ratio is what
matters). Instructions: user space only, \`valgrind --tool=callgrind\`,
counters zeroed after the load and dumped after the run, divided by the
requests; \`malloc\` counts every \`malloc\`/\`calloc\`/\`realloc\` call.

| process | system calls / request | of which |
| --- | --- | --- |
EOF
while read -r name n rest; do
	echo "| $name | $n | $rest |"
done <"$dir/syscalls"
cat <<EOF

| process | instructions / request | malloc calls / request |
| --- | --- | --- |
EOF
while read -r name ir m; do
	echo "| $name | $(fmt "$ir") | $m |"
done <"$dir/instr"
cat <<EOF

## Connections

\`tests/bench/crowd.c\` opens the connections from one process, at nice
19 on the load generators' core (the flood is what the kernel lets 2 000
sockets queue with default buffers). The normal client starts when the
crowd is connected, so it runs through the flood, not after it.

| build | what | connections held | result |
| --- | --- | --- | --- |
EOF
while read -r what name n rest; do
	case $what in
	idle) echo "| $name | idle, RSS per connection; 1 client's lookups meanwhile | $n | ${rest%% *} B each; ${rest#* } |" ;;
	slots) echo "| $name | idle from one user, then one \`postmap -q\` | $n | $rest |" ;;
	pipe) echo "| $name | pipelining without reading; 1 normal client for ${secs} s | $n | $rest |" ;;
	esac
done <"$dir/conns" | sed 's/conns=1 //'

# issue 8's targets, from the figures above
field() { sed -n "s/.*$1=\([0-9]*\).*/\1/p"; }
met() { awk "BEGIN { exit !($1) }" && echo met || echo "**missed**"; }
r10=$(ratio "$(med tlspolicyd 10 4)" "$(med responder 10 4)")
r100=$(ratio "$(med tlspolicyd 100 4)" "$(med responder 100 4)")
p99r=$(ratio "$(med tlspolicyd 100 6)" "$(med responder 100 6)")
sc=$(awk '$1 == "tlspolicyd" { print $2 }' "$dir/syscalls")
ml=$(awk '$1 == "tlspolicyd" { print $3 }' "$dir/instr")
idleb=$(awk '$1 == "idle" && $2 == "tlspolicyd" { print $4 }' "$dir/conns")
idlerr=$(grep '^idle tlspolicyd' "$dir/conns" | field errors)
idlereq=$(grep '^idle tlspolicyd' "$dir/conns" | field requests)
slots=$(grep -c '^slots tlspolicyd 16384 answered' "$dir/conns")
pipep99=$(grep '^pipe tlspolicyd' "$dir/conns" | field p99)
cat <<EOF

## Issue 8's targets

| target | measured | |
| --- | --- | --- |
| ≥ 0.95× the responder's lookups/s at 10 and 100 connections | $r10× and $r100× | $(met "$r10 >= 0.95 && $r100 >= 0.95") |
| p99 at 100 connections ≤ 1.2× the responder's | $p99r× | $(met "$p99r <= 1.2") |
| zero errors | $(errs tlspolicyd) | $(met "$(errs tlspolicyd) == 0") |
| ≤ 2.5 system calls and 0 allocations per request | $sc and $ml | $(met "$sc <= 2.5 && $ml == 0") |
| ≤ 500 bytes per idle connection, 10 000 held while lookups are answered | $idleb B, $idlereq lookups, $idlerr errors | $(met "${idleb:-9999} <= 500 && ${idlereq:-0} > 0 && ${idlerr:-1} == 0") |
| 16 384 idle connections from one user: a new Postfix client is answered | $( [ "$slots" = 1 ] && echo answered || echo "not answered") | $(met "$slots == 1") |
| 2 000 pipelining non-readers: a normal client's p99 ≤ 2 ms | ${pipep99} µs | $(met "${pipep99:-99999} <= 2000") |
EOF
cat <<EOF

## COMMIT → answer

\`tests/integration/bench_edit.sh 100\` with $(fmt "$rows") rows: an UPDATE
committed through libpq, then the daemon polled until it answers the new
policy.

| | |
| --- | --- |
| COMMIT → new answer | $edit |
| the UPDATE's own round trip | $upd |

## $(fmt "$bigrows") rows

| | |
| --- | --- |
| initial load | $loaded (the daemon was ready $(awk -v a="$r0" -v b="$r1" 'BEGIN { printf "%.1f", b - a }') s after it started) |
| RSS after the load | $(awk -v r="$bigrss" -v n="$bigrows" 'BEGIN { printf "%.1f MB, %.0f B/row", r / 1e6, r / n }') |
| peak RSS across a full reload (two snapshots) | $(awk -v r="$peak" 'BEGIN { printf "%.1f MB", r / 1e6 }') |
| the reload | $reloaded |
| lookups during it, 10 connections | $(sed 's/conns=10 //' "$dir/during") |
EOF
} >"$out"
[ -z "$keep" ] || printf '\n%s\n' "$keep" >>"$out"
say "done in $(( $(date +%s) - start_all )) s"
