/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bounds.h - every hard limit and default of tlspolicyd, with its reason.
 *
 * A number that limits input lives here and nowhere else, and it is
 * enforced at the byte boundary before anything is allocated.
 */
#ifndef TLSPOLICYD_BOUNDS_H
#define TLSPOLICYD_BOUNDS_H

/*
 * Request frame payload.  Postfix 3.12's socketmap_max_query_size (10000)
 * bounds the key alone; the map name and one space come on top.  Postfix
 * 3.7 has no limit at all, so longer frames are hostile or broken.
 */
#define NETSTRING_MAX_PAYLOAD 10100

/* Digits of a length prefix: 5 digits already exceed the payload cap. */
#define NETSTRING_MAX_DIGITS 5

/* A whole request frame: digits, ':', payload, ','. */
#define NETSTRING_MAX_FRAME (NETSTRING_MAX_DIGITS + 1 + NETSTRING_MAX_PAYLOAD + 1)

/*
 * Keys longer than this can never match a row: DNS names are at most 253
 * bytes, "[host]:port" and LMTP socket paths a little more.  The schema
 * bounds targets to the same length, so a NOTIFY payload always fits.
 */
#define TARGET_MAX_LEN 1000	/* also bounds the canonical form */

/*
 * Postfix's VALID_HOSTNAME_LEN and VALID_LABEL_LEN (util/valid_hostname.h):
 * a longer name is not a host name to Postfix, so it is not walked and not
 * accepted where a policy attribute wants a host name.
 */
#define HOSTNAME_MAX_LEN 255
#define HOSTNAME_MAX_LABEL 63

/* Map names are configured by the operator; Postfix forbids ':' in them. */
#define SOCKMAP_MAX_NAME 64

/*
 * Reply payload.  Postfix 3.7 accepts 100000 bytes (DICT_SOCKMAP_DEF_MAX_REPLY);
 * policies are short, and a reply that can never be truncated needs no
 * special case.  Canonical policy texts are bounded below that at build time.
 */
#define SOCKMAP_MAX_REPLY 4096

/* The canonical policy text, so "OK " + text always fits a reply. */
#define POLICY_MAX_TEXT (SOCKMAP_MAX_REPLY - 8)

/* Human-readable reasons (invalid rows, TEMP replies). */
#define POLICY_MAX_PROBLEM 256

/* Frames decoded per read callback before yielding to other connections. */
#define CONN_MAX_FRAMES_PER_READ 32

/*
 * Pending reply bytes per connection before we stop reading from it.  A
 * client that pipelines and never reads gets TCP backpressure, not our
 * memory.
 */
#define CONN_MAX_OUTPUT (64 * 1024)

/* Pause of a listener after EMFILE/ENFILE, in milliseconds. */
#define SERVER_ACCEPT_BACKOFF_MS 1000

/*
 * How long one loop turn may spend building a snapshot from a full load
 * before yielding, in microseconds.  Lookups wait at most about this long.
 */
#ifndef PGSYNC_SLICE_USEC	/* overridable only to measure its effect */
#define PGSYNC_SLICE_USEC 2000
#endif

/*
 * Targets named by notifications are refreshed in one query.  More than
 * this many pending targets and a full resync is cheaper.
 */
#define PGSYNC_MAX_PENDING_TARGETS 1000

/* Config file line length. */
#define CONFIG_MAX_LINE 4096

/* Defaults (DESIGN.md, "Config keys"). */
#define CONFIG_DEFAULT_LISTEN "inet:127.0.0.1:8463"
#define CONFIG_DEFAULT_MAP "tlspolicy"
#define CONFIG_DEFAULT_FILE "/etc/tlspolicyd.conf"
#define CONFIG_MAX_LISTEN 16
#define CONFIG_MAX_MAPS 16

#endif
