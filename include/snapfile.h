/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * snapfile - the state file's format: a snapshot and the time it was last
 * known current, as bytes, and back.  Pure: no I/O, no clock, no logging;
 * statefile.c does the files, the timing and the log.
 *
 * A file is refused whole or taken whole: snapfile_decode() builds a new
 * snapshot and hands it over only when every byte checked out.
 */
#ifndef TLSPOLICYD_SNAPFILE_H
#define TLSPOLICYD_SNAPFILE_H

#include <stddef.h>
#include <stdint.h>

#include "policy.h"
#include "snapshot.h"

#define SNAPFILE_MAGIC "TLSPSNAP"	/* 8 bytes, no NUL */
#define SNAPFILE_VERSION 1

/* What a file says besides its rows. */
struct snapfile_meta {
	int64_t saved;		/* wall clock, epoch seconds: last current */
	int64_t generation;	/* the table's generation then (-1: none) */
	uint64_t rows;
};

enum snapfile_status {
	SNAPFILE_OK,
	SNAPFILE_ERR_MAGIC,	/* not a state file */
	SNAPFILE_ERR_VERSION,	/* written by a newer tlspolicyd */
	SNAPFILE_ERR_TRUNCATED,	/* shorter than its header says */
	SNAPFILE_ERR_CHECKSUM,	/* a byte changed */
	SNAPFILE_ERR_IDENTITY,	/* another database, table, columns, settings */
	SNAPFILE_ERR_FORMAT,	/* the checksum holds, the contents do not */
};

/*
 * Receives the encoded bytes in order, in pieces of up to
 * SNAPFILE_CHUNK bytes.  Returns 0, or -1 to stop the encoding.
 */
typedef int snapfile_sink(void *arg, const void *buf, size_t len);

/*
 * Encode every row of s with meta (meta->rows is ignored) and identity, a
 * string naming what the rows were made from (at most
 * SNAPFILE_MAX_IDENTITY bytes; lines "key=value" read best in messages).
 * Returns 0, or -1 if the sink failed or identity is too long.
 */
int snapfile_encode(const struct snapshot *s, const char *identity,
    const struct snapfile_meta *meta, snapfile_sink *sink, void *arg);

/*
 * Decode len bytes of a file made with the same identity.  Every valid
 * row's policy is parsed again with opts and must give its own text, byte
 * for byte (SNAPFILE_ERR_FORMAT otherwise): the file holds nothing the
 * table could not have said.  On SNAPFILE_OK, *out is a new snapshot
 * (caller frees) and *meta says what the file said; otherwise *out is
 * NULL and detail (may be NULL) says more, in a sentence part that
 * follows snapfile_status_name().
 */
enum snapfile_status snapfile_decode(const void *buf, size_t len,
    const char *identity, const struct policy_opts *opts,
    struct snapfile_meta *meta, struct snapshot **out, char *detail,
    size_t detailsz);

/* "bad magic", "checksum mismatch", ...: static storage. */
const char *snapfile_status_name(enum snapfile_status st);

/* CRC-32C (Castagnoli) of n bytes, continuing crc (start with 0). */
uint32_t snapfile_crc32c(uint32_t crc, const void *p, size_t n);

#endif
