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
 * One string as --check prints it (log_quote()): a target of TARGET_MAX_LEN
 * bytes fits whole, with its quotes; one that escapes make longer, or a
 * longer column value, is cut at a character and marked "...".
 */
#define LOG_QUOTE_SIZE (TARGET_MAX_LEN + 8)

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

/*
 * Bytes of an expiring row's comment kept in memory, for the line logged
 * when it expires; log_printable() shows no more than this anyway.
 */
#define SNAPSHOT_MAX_COMMENT 200

/*
 * A stored row's target as the table spells it, and an invalid row's
 * reason (which quotes it), have 16-bit lengths in memory and in the
 * state file.
 */
#define SNAPSHOT_MAX_STORED 65535

/*
 * The identity line of a state file (the database's host, hostaddr, port
 * and dbname, table, columns, postfix_compat, fingerprint_digest): SQL
 * identifiers are at most 63 bytes, so a few hundred bytes hold it (a
 * longer one is cut here, the same way when written and when read); the
 * bound stops a corrupt length early.
 */
#define SNAPFILE_MAX_IDENTITY 4096

/*
 * The encoder hands its output on in pieces of this size: one write(2)
 * per 64 KiB keeps the system calls of a 100 MB file at about 1 500.
 */
#define SNAPFILE_CHUNK 65536

/*
 * When the state file is written (statefile.c).  A change waits until the
 * table has been quiet for STATEFILE_QUIET_MS (a DBA's script of many
 * statements is one write), but no longer than STATEFILE_MAX_DELAY_MS
 * (edits that never stop are still saved).  Writes start at least
 * STATEFILE_MIN_INTERVAL_MS apart: one of 1 000 000 rows keeps a core busy
 * for about a second in the writer process, so at most a fifth of one.
 * With nothing changed the file is written again every
 * STATEFILE_REFRESH_MS, or max_stale / 4 if that is shorter, so after a
 * crash its saved time lags the truth by at most that: a small part of
 * the hour max_stale gives by default.  After a failed write the next
 * waits STATEFILE_RETRY_MS (a full disk is not fixed in seconds), and the
 * same failure is logged again after STATEFILE_WARN_MS.
 */
#define STATEFILE_QUIET_MS 1000
#define STATEFILE_MAX_DELAY_MS 30000
#define STATEFILE_MIN_INTERVAL_MS 5000
#define STATEFILE_REFRESH_MS 300000
#define STATEFILE_RETRY_MS 60000
#define STATEFILE_WARN_MS 3600000

/*
 * Serving the state file (statefile.c).  It is served once the first
 * connection attempt failed, or STATEFILE_SERVE_GRACE_MS after the
 * session started without a load: a database host that drops packets, or
 * accepts and never speaks, fails only after connect_timeout (10 s by
 * default), and a second is far longer than a connection to a live
 * database takes.  A file saved more than STATEFILE_AHEAD_MS later than
 * the local clock says now is refused, not served as fresh: a minute
 * covers the steps NTP makes, a time further ahead is not one this daemon
 * wrote.  At SIGTERM a write under way is waited for STATEFILE_STOP_WAIT_MS
 * (a writer of 1 000 000 rows takes about 0.6 s, most of it done when the
 * signal comes), then killed, and the last write done in the daemon
 * (0.4 s at 1 000 000 rows): a stop stays about a second, 1.5 s at worst
 * with SERVICE_STOP_FLUSH_MS spent on a client that does not read.
 */
#define STATEFILE_SERVE_GRACE_MS 1000
#define STATEFILE_AHEAD_MS 60000
#define STATEFILE_STOP_WAIT_MS 300

/*
 * Frames answered per callback before yielding to other connections; the
 * rest are answered on later loop turns, after the other sockets were
 * polled (PgBouncer's sbuf_loopcnt).
 */
#define CONN_MAX_FRAMES_PER_READ 32

/*
 * Frames answered per loop turn for all pipelining connections together
 * (a client's first frame of a read is always answered).  A turn then
 * stays well under a millisecond however many clients pipeline, and that
 * is how long a client that sends one request at a time can wait.
 */
#define CONN_MAX_FRAMES_PER_TURN 256

/*
 * Unsent reply bytes per connection before we stop reading from it.  A
 * client that pipelines and never reads gets TCP backpressure, not our
 * memory: what one connection holds is bounded by this plus one batch of
 * replies (CONN_BATCH) and one read (CONN_READ_MAX).
 */
#define CONN_MAX_OUTPUT (64 * 1024)

/*
 * Bytes one read() takes, on the stack.  At least one whole request frame,
 * so a partial frame kept from the last read always leaves room.
 */
#define CONN_READ_MAX 16384

/*
 * Replies gathered on the stack before they go out in one write().  32
 * typical replies fit many times; a batch that cannot take one more
 * largest reply is written out first.
 */
#define CONN_BATCH 16384

/*
 * The idle sweep runs this often, and connections are stamped with a
 * clock it refreshes, instead of a timer re-armed on every request.  An
 * idle connection is closed at most this much after idle_timeout.
 */
#define CONN_TICK_MS 250

/*
 * At max_connections a new connection closes the longest-idle one, if
 * that one has been idle at least this long: between two requests, where
 * Postfix reconnects without a word (dict_sockmap.c retries once).
 */
#define CONN_EVICT_IDLE_MS 1000

/*
 * listen() backlog: a burst of Postfix processes connecting at once waits
 * in the kernel rather than being refused (somaxconn caps it anyway).
 */
#define SERVER_BACKLOG 1024

/* Pause of a listener after EMFILE/ENFILE, in milliseconds. */
#define SERVER_ACCEPT_BACKOFF_MS 1000

/*
 * After the first eviction at max_connections, at most one line with the
 * count per this many milliseconds: a flood must not flood the log.
 */
#define SERVER_EVICT_LOG_MS 60000

/*
 * The metrics_listen HTTP server (/metrics, /health) answers a scraper
 * and a health probe, a few requests a minute, so each bound is what one
 * client may hold, small enough that a local user flooding the port holds
 * nothing the lookups need (the descriptors come out of main.c's
 * FD_RESERVE of 64, beside the database's).  At most METRICS_MAX_CONNS
 * connections are open; a new one over that is closed at once: 8 leaves
 * room for a few scrapers and probes at the same moment.  Each lives at
 * most METRICS_DEADLINE_MS from accept, whatever it sends: a scrape takes
 * milliseconds, and a client dripping a byte a second is closed all the
 * same (an idle timeout would be reset by every byte).  The request line
 * and headers: a scraper sends a few hundred bytes, so 8 KiB is generous,
 * and more is refused (431) before it is kept; a body is never read.
 * After the reply, up to METRICS_DRAIN_MAX bytes the client still sends
 * (a body) are read and dropped until it closes, so the close does not
 * reset the connection before the reply is read.  A burst waits in a
 * listen backlog of METRICS_BACKLOG.  The exposition text is about
 * 5 KiB; METRICS_MAX_TEXT leaves room for it to grow, and
 * metrics_format() never writes past it.
 */
#define METRICS_MAX_CONNS 8
#define METRICS_DEADLINE_MS 5000
#define METRICS_MAX_HEADERS 8192
#define METRICS_DRAIN_MAX 65536
#define METRICS_BACKLOG 16
#define METRICS_MAX_TEXT 16384

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

/*
 * How long --check and --review wait for one `postconf -xh NAME`: a
 * local program reading main.cf, normally a few milliseconds.
 */
#define POSTCONF_TIMEOUT_MS 5000

/*
 * --review runs posttls-finger(1) once per weakening override.  MX host
 * names are HOSTNAME_MAX_LEN like any host name; a target's first
 * REVIEW_MAX_MX of them key the one-probe-per-host rule (Postfix's own
 * smtp_mx_address_limit is 5 addresses).  One verdict's explanation
 * quotes one line of posttls-finger's; of its output, REVIEW_MAX_OUTPUT
 * bytes are kept: room for a whole session with its SMTP chat, and what
 * a server says beyond that is not read into memory.
 */
#define REVIEW_MAX_MX 16
#define REVIEW_MAX_DETAIL 400
#define REVIEW_MAX_OUTPUT (64 * 1024)

/*
 * Probes at a time (--review-jobs): each is a process and a connection to
 * a remote MX, so a review stays a polite client and far below any
 * process limit.
 */
#define REVIEW_MAX_JOBS 64
#define REVIEW_DEFAULT_JOBS 4

/*
 * One probe, all MX hosts of its target (--review-timeout): posttls-finger
 * gets a third of it per connection and per SMTP command, then it is
 * killed.  An MX query is tried twice, REVIEW_DNS_TIMEOUT_S each.
 */
#define REVIEW_DEFAULT_TIMEOUT_MS 60000
#define REVIEW_DNS_TIMEOUT_S 2

/*
 * systemd's STATUS= line is compared with the last one sent this often:
 * `systemctl status` is read by people, so a second is fresh enough, and
 * a steady daemon sends nothing.  A status line is one short sentence;
 * systemd itself truncates what it shows.
 */
#define SDNOTIFY_STATUS_MS 1000
#define SDNOTIFY_MAX_MESSAGE 256

/*
 * After SIGTERM/SIGINT, replies already owed are flushed for at most this
 * long, then the rest is dropped: systemd's stop timeout and Postfix's
 * retry on a closed connection both cope, and a stop stays well under a
 * second plus the state file.  Checked every SERVICE_STOP_POLL_MS.
 */
#define SERVICE_STOP_FLUSH_MS 800
#define SERVICE_STOP_POLL_MS 20

/* Defaults (tlspolicyd.conf(5)). */
#define CONFIG_DEFAULT_LISTEN "inet:127.0.0.1:8463"
#define CONFIG_DEFAULT_MAP "tlspolicy"
#define CONFIG_DEFAULT_FILE "/etc/tlspolicyd.conf"
#define CONFIG_DEFAULT_STATE_FILE "/var/lib/tlspolicyd/snapshot"
#define CONFIG_MAX_LISTEN 16
#define CONFIG_MAX_MAPS 16

#endif
