/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * privdrop - the privilege drop (OpenSMTPD's privsep processes, Postfix's
 * set_ugid() are the models).
 *
 * Order matters: supplementary groups first (initgroups() needs root), so
 * a membership the operator gave the user - `postfix`, say, for a socket
 * in Postfix's spool - is kept and root's own groups are not; then the
 * primary group (setgid() needs root too), then the uid.  Started as root,
 * setuid() sets the real, effective and saved uid together, and the
 * kernel clears every capability with them.  The proof that it worked is
 * asked of the kernel, not assumed: setuid(0) must fail.
 *
 * Invariants: after PRIVDROP_OK with a user set, no uid or gid of the
 * process is 0 unless the user itself is root; a failure part way leaves
 * the caller to exit, never to run half dropped.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "log.h"
#include "privdrop.h"

enum privdrop_status
privdrop_to(const char *user, char *err, size_t errsz)
{
	struct passwd *pw;
	uid_t uid;
	gid_t gid;

	if (user == NULL || user[0] == '\0')
		return PRIVDROP_OK;
	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		snprintf(err, errsz, "user: no such user \"%s\"%s%s", user,
		    errno != 0 ? ": " : "", errno != 0 ? strerror(errno) : "");
		return PRIVDROP_CONFIG;
	}
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	if (geteuid() != 0) {
		if (getuid() == uid && geteuid() == uid)
			return PRIVDROP_OK;
		snprintf(err, errsz, "user: \"%s\" is set, but tlspolicyd "
		    "was started as uid %ld, neither root nor that user: "
		    "start it as root, as %s, or without user", user,
		    (long)geteuid(), user);
		return PRIVDROP_CONFIG;
	}
	if (uid == 0) {
		log_info("privdrop: user %s is root: keeping every privilege",
		    user);
		return PRIVDROP_OK;
	}
	if (initgroups(pw->pw_name, gid) < 0) {
		snprintf(err, errsz, "user %s: initgroups: %s", user,
		    strerror(errno));
		return PRIVDROP_FAILED;
	}
	if (setgid(gid) < 0) {
		snprintf(err, errsz, "user %s: setgid(%ld): %s", user,
		    (long)gid, strerror(errno));
		return PRIVDROP_FAILED;
	}
	if (setuid(uid) < 0) {
		snprintf(err, errsz, "user %s: setuid(%ld): %s", user,
		    (long)uid, strerror(errno));
		return PRIVDROP_FAILED;
	}
	if (setuid(0) != -1 || getuid() != uid || geteuid() != uid ||
	    getgid() != gid || getegid() != gid ||
	    (gid != 0 && (setgid(0) != -1 || getegid() == 0))) {
		snprintf(err, errsz, "user %s: the privilege drop did not hold "
		    "(root could be regained)", user);
		return PRIVDROP_FAILED;
	}
	log_info("privdrop: running as user %s (uid %ld, gid %ld)", user,
	    (long)uid, (long)gid);
	return PRIVDROP_OK;
}
