# SPDX-License-Identifier: BSD-2-Clause
# pgcluster.sh - a throwaway PostgreSQL cluster for tests and the demo.
#
# Source it, then:
#   pgc_start DIR      initdb + pg_ctl start in DIR (as user postgres when
#                      run as root); exports PGHOST PGPORT PGDATABASE PGUSER
#                      and PGC_CONNINFO (numeric hostaddr: libpq name
#                      resolution blocks, the daemon's loop must not)
#   pgc_schema FILE    apply a schema file with ON_ERROR_STOP
#   pgc_stop           stop the cluster (by its postmaster pid) and remove DIR
#   free_port          print a TCP port on 127.0.0.1 that nobody listens on

pgc_bindir() {
	local d
	for d in "$(pg_config --bindir 2>/dev/null)" /usr/lib/postgresql/*/bin; do
		[ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }
	done
	echo "pgcluster: no initdb/pg_ctl found (apt-get install postgresql)" >&2
	return 1
}

free_port() {
	local p i
	for i in $(seq 1 200); do
		# below the ephemeral range (32768-60999), where nobody binds at random
		p=$((20000 + (RANDOM * 7 + i) % 12000))
		if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

pgc_as() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

pgc_start() {
	PGC_DIR=$1
	local bindir port tries
	bindir=$(pgc_bindir) || return 1
	mkdir -p "$PGC_DIR/data"
	[ "$(id -u)" = 0 ] && chown -R postgres: "$PGC_DIR"
	pgc_as "$bindir/initdb" -D "$PGC_DIR/data" -U postgres -A trust \
		--no-sync -E UTF8 --locale=C.UTF-8 >"$PGC_DIR/initdb.log" 2>&1 || {
		cat "$PGC_DIR/initdb.log" >&2
		return 1
	}
	for tries in 1 2 3 4 5; do
		port=$(free_port)
		if pgc_as "$bindir/pg_ctl" -D "$PGC_DIR/data" -l "$PGC_DIR/server.log" \
			-w -t 30 -o "-c listen_addresses=127.0.0.1 -p $port -k $PGC_DIR -c fsync=off -c full_page_writes=off -c synchronous_commit=off" \
			start >/dev/null 2>&1; then
			break
		fi
		port=
	done
	if [ -z "$port" ]; then
		cat "$PGC_DIR/server.log" >&2
		return 1
	fi
	PGC_BINDIR=$bindir
	export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres PGDATABASE=postgres
	export PGC_CONNINFO="hostaddr=127.0.0.1 port=$port user=postgres dbname=postgres"
}

pgc_schema() {
	psql -X -q -v ON_ERROR_STOP=1 -f "$1" >/dev/null
}

pgc_stop() {
	[ -n "${PGC_DIR:-}" ] || return 0
	if [ -f "$PGC_DIR/data/postmaster.pid" ]; then
		pgc_as "$PGC_BINDIR/pg_ctl" -D "$PGC_DIR/data" -m immediate -w stop >/dev/null 2>&1
	fi
	rm -rf "$PGC_DIR"
	PGC_DIR=
}
