#!/usr/bin/env bash
# docs_check.sh - every config key in src/config.c's table is documented in
# docs/tlspolicyd.conf.5 and the sample config, and every key documented
# there exists (PgBouncer's optscan.sh).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
keys=$(sed -n 's/^[[:space:]]*{"\([a-z_]*\)", T_.*/\1/p' "$top/src/config.c")
documented=$(sed -n 's/^\.It Cm \([a-z_]*\).*/\1/p' "$top/docs/tlspolicyd.conf.5")
pass=0 fail=0
for k in $keys; do
	if grep -qx "$k" <<<"$documented"; then pass=$((pass + 1)); else
		echo "not ok - config key $k is not in docs/tlspolicyd.conf.5"; fail=$((fail + 1)); fi
	if grep -q "^#\?$k =" "$top/contrib/tlspolicyd.conf.sample"; then pass=$((pass + 1)); else
		echo "not ok - config key $k is not in contrib/tlspolicyd.conf.sample"; fail=$((fail + 1)); fi
done
for k in $documented; do
	if grep -qx "$k" <<<"$keys"; then pass=$((pass + 1)); else
		echo "not ok - docs/tlspolicyd.conf.5 documents $k, which does not exist"; fail=$((fail + 1)); fi
done
echo "docs-check: $pass passed, $fail failed"
[ "$fail" = 0 ]
