#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# demo.sh - run tlspolicyd for real against a throwaway PostgreSQL cluster
# with example rows.  Ctrl-C stops the daemon and removes everything.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../tests/lib/pgcluster.sh
source "$top/tests/lib/pgcluster.sh"

dir=$(mktemp -d /tmp/tlspolicyd-demo.XXXXXX)
chmod 755 "$dir"
cleanup() {
	pgc_stop
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

pgc_start "$dir/pg" || exit 1
pgc_schema "$top/contrib/postgresql/schema.sql" || exit 1
pgc_schema "$top/contrib/postgresql/example-rows.sql" || exit 1

port=8463
if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
	port=$(free_port)
fi
# postmap needs a Postfix config directory; "No configuration" has none.
mkdir -p "$dir/postfix"
printf 'compatibility_level = 3.6\n' >"$dir/postfix/main.cf"

map="socketmap:inet:127.0.0.1:$port:tlspolicy"
cat <<MSG

tlspolicyd demo: PostgreSQL on 127.0.0.1:$PGPORT with these rows:
$(psql -X -A -F '  ' -t -c "SELECT target, policy, parameters FROM tls_policy ORDER BY target" | sed 's/^/    /')

Postfix main.cf:
    smtp_tls_policy_maps = $map

Try, in another shell:
    postmap -c $dir/postfix -q broken-dane.example $map
    postmap -c $dir/postfix -q HOST.Subsidiary.Example $map
    psql "$PGC_CONNINFO" -c "UPDATE tls_policy SET policy = 'verify' WHERE target = 'broken-dane.example'"
    postmap -c $dir/postfix -q broken-dane.example $map

The daemon runs in the foreground; Ctrl-C stops it and removes $dir.

MSG
"$top/tlspolicyd" -f --listen "inet:127.0.0.1:$port" --database "$PGC_CONNINFO" \
	--state-file "$dir/snapshot" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; exit 0' INT TERM
wait $pid
