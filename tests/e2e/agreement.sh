#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# agreement.sh - does real Postfix accept what the daemon answers?
#
# For each line of the policy corpus (`level<TAB>params<TAB>expect`,
# default tests/e2e/policy-corpus.txt, CORPUS=path overrides), insert a row
# for a unique domain, ask the daemon through Postfix's own client
# (postmap -q), and compare with `expect`:
#   OK | valid          the daemon must answer OK
#   OK <text>           ... with exactly that policy text
#   TEMP | invalid      the daemon must answer TEMP (a row Postfix would
#                       reject, at the lookup or later at the handshake)
# Then, in one batch, send a message to every domain the daemon answered
# OK or TEMP for, wait once, and judge each outcome from the maillog:
#   OK   -> delivered (status=sent), or deferred for a TLS reason only
#           (dsn=4.7.4: smtp-sink never offers STARTTLS); never 4.7.5,
#           "client TLS configuration problem" or "policy table lookup
#           error", which mean Postfix rejected the daemon's text.
#   TEMP -> deferred 4.7.5 (fail closed: nothing leaves).
#
# What a STARTTLS-less sink cannot judge, and how it is handled:
#   - dane, dane-only need DNSSEC-validated DNS (TLSA records).  This
#     instance has no DNS at all (smtp_dns_support_level = disabled: a
#     validating resolver with signed test zones is out of scope), so
#     Postfix degrades dane to may and defers dane-only with 4.7.5.  Both
#     are judged by Postfix's own log: the policy text was accepted iff
#     Postfix logged "<domain>: dane[-only] configured with dnssec lookups
#     disabled" (it gets there only after parsing succeeded) and no
#     "next-hop destination" parse warning.
#   - tafile=PATH is read inside the smtp(8) chroot when the policy is
#     evaluated; a missing or unreadable file is a 4.7.5.  Every tafile
#     path of the corpus is created in the jail as a real PEM certificate,
#     so such rows are judged like any other.
#   - ciphers=, protocols= and exclude= values are only checked when a
#     TLS handshake starts, which never happens here: such rows are judged
#     on their syntax only, and the line says so.
#
# For comparison, each row's raw text ("level params", as stored) also
# goes straight to Postfix, through a texthash policy map of a second
# smtp transport (rawsmtp), and the verdict is printed under the row as a
# "#" note: it shows where the daemon corrected a row Postfix would have
# rejected, and where it rejects a row Postfix's lookup would accept
# (e.g. a cipher grade that only fails at the TLS handshake).  These
# notes never change the result.
#
# Usage: tests/e2e/agreement.sh      (as root; TLSPOLICYD and CORPUS
#                                     override the daemon and the corpus)
# Output: one "ok N - ..." / "not ok N - ..." line per corpus row, then
# "N passed, M failed"; exit status 0 only if nothing failed.
#
# The schema's level CHECK constraint is dropped in this throwaway
# database: an upgraded table may hold rows that break it (it then stays
# NOT VALID), and a table attached with tlspolicyd.attach has none, and
# the daemon must answer TEMP for such rows.

set -u
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CORPUS=${CORPUS:-$E2E_LIB_DIR/policy-corpus.txt}
DOMAIN_SUFFIX=agreement.test

# --------------------------------------------------------- read the corpus

[ -r "$CORPUS" ] || e2e_die "no corpus: $CORPUS"
declare -a LNO LEVEL PARAMS EXPECT DOM ANSWER MSGID RCPT RAWDOM RAWMSGID RAWTEXT
n=0
lno=0
bad=()
while IFS= read -r line || [ -n "$line" ]; do
	lno=$((lno + 1))
	line=${line%$'\r'}
	case $line in '' | '#'*) continue ;; esac
	if [[ $line != *$'\t'*$'\t'* ]]; then
		bad+=("$lno")
		continue
	fi
	LNO[n]=$lno
	LEVEL[n]=${line%%$'\t'*}
	rest=${line#*$'\t'}
	PARAMS[n]=${rest%%$'\t'*}
	EXPECT[n]=${rest#*$'\t'}
	DOM[n]=c$n.$DOMAIN_SUFFIX
	RCPT[n]=r$n@${DOM[n]}
	MSGID[n]=c$n.$$@$E2E_HOST
	RAWDOM[n]=raw$n.$DOMAIN_SUFFIX
	RAWMSGID[n]=raw$n.$$@$E2E_HOST
	n=$((n + 1))
done <"$CORPUS"
[ "$n" -gt 0 ] || e2e_die "empty corpus: $CORPUS"

# ------------------------------------------------------------------ setup

e2e_start_all
e2e_hosts_add "${DOM[@]}" "${RAWDOM[@]}"

# The raw-text comparison: rawN.agreement.test -> rawsmtp, whose policy
# map is a texthash of the rows' stored text.  (An empty text cannot be
# written to texthash; such rows get no raw verdict.)
e2e_master_add "rawsmtp   unix  -       -       y       -       -       smtp
  -o smtp_tls_policy_maps=texthash:$E2E_PF_ETC/raw-policy"
for ((i = 0; i < n; i++)); do
	t="${LEVEL[i]} ${PARAMS[i]}"
	t=${t#"${t%%[![:space:]]*}"}
	t=${t%"${t##*[![:space:]]}"}
	RAWTEXT[i]=$t
	[ -n "$t" ] || continue
	printf '%s\t%s\n' "${RAWDOM[i]}" "$t"
	e2e_transport_add "${RAWDOM[i]}" rawsmtp:
done >"$E2E_PF_ETC/raw-policy"
e2e_backdate

sq() { printf "'%s'" "${1//\'/\'\'}"; }
{
	echo 'BEGIN;'
	echo 'ALTER TABLE tls_policy DROP CONSTRAINT IF EXISTS tls_policy_level_check;'
	for ((i = 0; i < n; i++)); do
		printf 'INSERT INTO tls_policy (target, policy, parameters) VALUES (%s, %s, %s);\n' \
			"$(sq "${DOM[i]}")" "$(sq "${LEVEL[i]}")" "$(sq "${PARAMS[i]}")"
	done
	echo 'COMMIT;'
} >"$E2E_TMP/corpus.sql"
psql -X -q -v ON_ERROR_STOP=1 -f "$E2E_TMP/corpus.sql" >/dev/null ||
	e2e_die "could not insert the corpus rows"

# Trust anchors: every tafile= path, as a PEM certificate inside the jail.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-subj /CN=tlspolicyd-e2e-anchor -days 2 -keyout /dev/null \
	-out "$E2E_TMP/anchor.pem" >/dev/null 2>&1 ||
	e2e_die "openssl could not make a trust anchor"
for ((i = 0; i < n; i++)); do
	for tok in ${PARAMS[i]//,/ }; do
		case $tok in
		[Tt][Aa][Ff][Ii][Ll][Ee]=?*)
			f=$E2E_PF_SPOOL/${tok#*=}
			f=${f/\/\///}
			case $f in *..*) continue ;; esac # stay inside the jail
			mkdir -p "$(dirname "$f")" &&
				install -m 0644 "$E2E_TMP/anchor.pem" "$f"
			;;
		esac
	done
done

e2e_log "setup done"
e2e_daemon_start
e2e_postfix_start
e2e_log "daemon and Postfix up"

# ------------------------------------------------- what the daemon answers

# In parallel, at most 32 at a time: every TEMP costs postmap 1 s.
# (Wait by pid: the daemon and smtp-sink are children of this shell too.)
mkdir "$E2E_TMP/answers"
jobs_=()
for ((i = 0; i < n; i++)); do
	e2e_query "${DOM[i]}" >"$E2E_TMP/answers/$i" &
	jobs_+=($!)
	if [ "${#jobs_[@]}" -ge 32 ] || [ "$i" -eq $((n - 1)) ]; then
		wait "${jobs_[@]}"
		jobs_=()
	fi
done
for ((i = 0; i < n; i++)); do
	ANSWER[i]=$(<"$E2E_TMP/answers/$i")
done

e2e_log "asked the daemon $n times"

# ------------------------------------------------------ one batch of mail

# sendmail(1) in parallel, 16 at a time, waited for by pid.
sent=0
jobs_=()
for ((i = 0; i < n; i++)); do
	case ${ANSWER[i]} in
	"OK "* | "TEMP "*)
		e2e_send "${RCPT[i]}" "${MSGID[i]}" &
		jobs_+=($!)
		sent=$((sent + 1))
		;;
	esac
	if [ -n "${RAWTEXT[i]}" ]; then
		e2e_send "r$i@${RAWDOM[i]}" "${RAWMSGID[i]}" &
		jobs_+=($!)
		sent=$((sent + 1))
	fi
	if [ "${#jobs_[@]}" -ge 16 ] || [ "$i" -eq $((n - 1)) ]; then
		[ "${#jobs_[@]}" -gt 0 ] && wait "${jobs_[@]}"
		jobs_=()
	fi
done

# Wait once, for all of them: map Message-ID -> queue id -> first outcome.
declare -A OUTCOME
collect() {
	OUTCOME=()
	local id line
	while IFS=$'\t' read -r id line; do
		OUTCOME[$id]=$line
	done < <(awk -v suffix=".$DOMAIN_SUFFIX>," '
		/\/cleanup\[[0-9]+\]: [0-9A-Za-z]+: message-id=</ {
			q = $0; sub(/.*\]: /, "", q); sub(/:.*/, "", q)
			m = $0; sub(/.*message-id=</, "", m); sub(/>$/, "", m)
			qid2msg[q] = m
		}
		/: to=<.*, status=/ && index($0, suffix) {
			q = $0; sub(/.*\]: /, "", q); sub(/:.*/, "", q)
			if ((q in qid2msg) && !(q in done)) {
				done[q] = 1
				print qid2msg[q] "\t" $0
			}
		}' "$E2E_MAILLOG")
	[ "${#OUTCOME[@]}" -ge "$sent" ]
}
e2e_log "sent $sent messages"
e2e_wait 40 collect
e2e_log "collected ${#OUTCOME[@]} outcomes"

# --------------------------------------------------------------- judge

expect_kind() {
	case $1 in
	[Oo][Kk] | [Vv]alid) echo OK ;;
	[Oo][Kk]" "*) echo EXACT ;;
	[Tt][Ee][Mm][Pp] | [Ii]nvalid) echo TEMP ;;
	*) echo UNKNOWN ;;
	esac
}

# Postfix's warnings per test domain (one pass over the maillog):
# WARN[domain] = its warning lines, without timestamp and program prefix.
declare -A WARN
while IFS=$'\t' read -r d w; do
	WARN[$d]+=$w$'\n'
done < <(awk -v suffix="$DOMAIN_SUFFIX" '
	/ warning: / {
		w = $0; sub(/^.* postfix-e2e\//, "", w)
		rest = $0
		while (match(rest, "[A-Za-z0-9-]+\\." suffix)) {
			d = substr(rest, RSTART, RLENGTH)
			if (!((d, NR) in seen)) { seen[d, NR] = 1; print d "\t" w }
			rest = substr(rest, RSTART + RLENGTH)
		}
	}' "$E2E_MAILLOG")

# parse_outcome LINE: DSN, STATUS, WHY of one delivery-status line.
parse_outcome() {
	DSN='' STATUS='' WHY=''
	[[ $1 =~ \ dsn=([0-9.]+), ]] && DSN=${BASH_REMATCH[1]}
	[[ $1 =~ \ status=([a-z]+) ]] && STATUS=${BASH_REMATCH[1]}
	[[ $1 =~ \ status=[a-z]+\ \((.*)\)$ ]] && WHY=${BASH_REMATCH[1]}
	return 0
}

# policy_warnings DOMAIN: the warnings where Postfix judged the policy
# text (parse errors, "ignoring attribute" at none, fingerprints, DNSSEC).
policy_warnings() {
	local l
	while IFS= read -r l; do
		case $l in
		*"next-hop destination \"$1\""* | *"nexthop domain $1:"* | *" $1: dane"*)
			printf '%s\n' "${l#*: warning: }"
			;;
		esac
	done <<<"${WARN[$1]:-}"
}

# raw_verdict I: what Postfix itself made of row I's stored text.
raw_verdict() {
	local i=$1 d=${RAWDOM[$1]} w
	[ -n "${RAWTEXT[i]}" ] || { echo "(empty text, not tried)"; return; }
	parse_outcome "${OUTCOME[${RAWMSGID[i]}]:-}"
	w=$(policy_warnings "$d")
	w=${w%%$'\n'*}
	w=${w#smtp_tls_policy_maps, next-hop destination \""$d"\": }
	case $STATUS:$DSN in
	:) echo "no outcome" ;;
	sent:*) echo "accepted (delivered)${w:+; $w}" ;;
	deferred:4.7.4) echo "accepted (deferred 4.7.4)" ;;
	deferred:4.7.5)
		case $w in
		*"dnssec lookups disabled") echo "accepted (4.7.5 only for want of DNSSEC: $w)" ;;
		*) echo "rejected (4.7.5: ${w:-?})" ;;
		esac
		;;
	*) echo "$STATUS $DSN ($WHY)" ;;
	esac
}

exempt=0
stricter=()
corrected=()
for ((i = 0; i < n; i++)); do
	d=${DOM[i]}
	what="corpus:${LNO[i]} '${LEVEL[i]}' '${PARAMS[i]}'"
	ans=${ANSWER[i]}

	# 1. The daemon's answer against the corpus.
	ansfail=
	case $(expect_kind "${EXPECT[i]}") in
	OK) [[ $ans == "OK "* ]] || ansfail="want OK" ;;
	EXACT) [ "$ans" = "${EXPECT[i]}" ] || ansfail="want '${EXPECT[i]}'" ;;
	TEMP) [[ $ans == "TEMP "* ]] || ansfail="want TEMP" ;;
	*) ansfail="unknown expectation '${EXPECT[i]}'" ;;
	esac
	case $ans in
	"OK "* | "TEMP "*) ;;
	*)
		e2e_notok "$what -> $ans: $ansfail"
		continue
		;;
	esac

	# 2. Postfix's verdict on that answer.
	line=${OUTCOME[${MSGID[i]}]:-}
	warn=${WARN[$d]:-}
	if [ -z "$line" ]; then
		e2e_notok "$what -> $ans: no delivery outcome in the maillog${ansfail:+ ($ansfail)}" "$warn"
		continue
	fi
	parse_outcome "$line"
	pw=$(policy_warnings "$d")
	level=${ans#OK }
	level=${level%% *}
	verdict='' note=''
	if [[ $ans == "TEMP "* ]]; then
		[ "$STATUS" = deferred ] && [ "$DSN" = 4.7.5 ] &&
			verdict="deferred 4.7.5 (fail closed)"
	elif [[ $pw == *"next-hop destination"* && $pw != *"ignoring attribute"* ]]; then
		: # Postfix could not use the text: never acceptable
	elif [ "$STATUS" = sent ]; then
		verdict=delivered
		# At level none Postfix ignores attributes, with a warning:
		# the text means what the row says; noted, not a failure.
		[[ $pw == *"ignoring attribute"* ]] && note=" [Postfix: ${pw##*: }]"
		if [ "$level" = dane ]; then
			verdict=''
			[[ $pw == *"$d: dane configured with dnssec lookups disabled"* ]] &&
				verdict="delivered (exempt: dane degraded to may without DNSSEC; text accepted)"
		fi
	elif [ "$STATUS" = deferred ] && [ "$DSN" = 4.7.4 ] &&
		[[ $WHY == *"TLS is required, but was not offered"* ]]; then
		verdict="deferred 4.7.4 (TLS not offered)"
	elif [ "$level" = dane-only ] && [ "$STATUS" = deferred ] &&
		[[ $pw == *"$d: dane-only configured with dnssec lookups disabled"* ]]; then
		verdict="deferred $DSN (exempt: dane-only needs DNSSEC; text accepted)"
	fi
	[[ $verdict == *exempt* ]] && exempt=$((exempt + 1))
	[[ $ans == "OK "* ]] && [[ ${ans,,} == *" ciphers="* || ${ans,,} == *" protocols="* || ${ans,,} == *" exclude="* ]] &&
		note="$note [ciphers/protocols/exclude values unchecked: no TLS handshake]"

	if [ -n "$verdict" ] && [ -z "$ansfail" ]; then
		e2e_ok "$what -> $ans -> $verdict$note"
	else
		e2e_notok "$what -> $ans -> ${verdict:-Postfix rejects it}${ansfail:+ ($ansfail)}" \
			"${line#* postfix-e2e/}" "$warn"
	fi
	raw=$(raw_verdict "$i")
	printf '#   raw text straight to Postfix: %s\n' "$raw"
	case $ans:$raw in
	"TEMP "*:accepted*) stricter+=("corpus:${LNO[i]}") ;;
	"OK "*:rejected*) corrected+=("corpus:${LNO[i]}") ;;
	esac
done

for l in "${bad[@]}"; do
	e2e_notok "corpus:$l malformed line (want level<TAB>params<TAB>expect)"
done
printf '# %d rows, %d messages, %d judged with the DNSSEC exemption\n' "$n" "$sent" "$exempt"
printf '# daemon corrected a text Postfix rejects: %s\n' "${corrected[*]:-none}"
printf '# daemon answers TEMP, Postfix lookup accepts the raw text: %s\n' "${stricter[*]:-none}"
e2e_summary
