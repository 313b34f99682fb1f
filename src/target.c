/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * target - canonical keys and the parent walk (docs/architecture.md,
 * decisions 4 and 5; docs/protocol.md, "Keys").
 *
 * Postfix sends the next-hop verbatim: mixed case, U-labels, any spelling
 * of an IP literal (Postfix's smtp_tls_policy.c).  Table targets are typed
 * by people.  Both go through target_canon(), so one canonical string is
 * compared with another:
 *
 *   Example.COM.            -> example.com            (exact only)
 *   Bücher.Example          -> xn--bcher-kva.example  (walked)
 *   [IPv6:2001:DB8:0::1]:25 -> [ipv6:2001:db8::1]:25  (exact only)
 *   192.0.2.1               -> [192.0.2.1]            (what Postfix sends)
 *   mx.example.com:587      -> mx.example.com:587     (exact only)
 *   *.example.com           -> never; as a table target -> .example.com,
 *                              stored invalid (target_wildcard)
 *
 * Invariants: the output is the same for every spelling of one destination
 * and never longer than TARGET_MAX_LEN (IDNA may lengthen a name, and a
 * canonical form must itself be acceptable input); a name IDNA cannot
 * convert keeps its lowercase UTF-8 form, so a key still meets its row.
 * Limits: TARGET_MAX_LEN.
 */
#include <arpa/inet.h>
#include <idn2.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "hostname.h"
#include "target.h"

/* Strict UTF-8 without control characters, spaces or '*'. */
static bool
acceptable_bytes(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n;
		uint32_t cp;

		if (c < 0x80) {
			if (c <= 0x20 || c == 0x7f || c == '*')
				return false;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (len - i - 1 < n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		/* overlong, surrogate or beyond U+10FFFF */
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return false;
		i += n + 1;
	}
	return true;
}

struct out {
	char *buf;
	size_t len;
	bool never;	/* too long, or IDNA made something unusable */
};

static void
put(struct out *o, const char *s, size_t n)
{
	/*
	 * Bounded by the input limit, not by the buffer: a canonical form must
	 * canonicalise to itself, so it must be acceptable input too.
	 */
	if (o->never || n > TARGET_MAX_LEN - o->len) {
		o->never = true;
		return;
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

static void
puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

/*
 * A host name: lowercase ASCII, trailing dot dropped, U-labels to A-labels.
 * s is already ASCII-lowercased.  Sets *dotted when a trailing dot was cut.
 */
static void
put_host(struct out *o, const char *s, size_t n, bool *dotted)
{
	char tmp[TARGET_MAX_LEN + 1];
	char *ace = NULL;
	bool ascii = true;
	size_t i;

	*dotted = false;
	while (n > 1 && s[n - 1] == '.') {
		n--;
		*dotted = true;
	}
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			ascii = false;
	if (ascii) {
		put(o, s, n);
		return;
	}
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	/* UTS #46 non-transitional, as Postfix's SMTPUTF8 support does. */
	if (idn2_to_ascii_8z(tmp, &ace, IDN2_NONTRANSITIONAL | IDN2_NFC_INPUT) ==
	    IDN2_OK) {
		/*
		 * UTS #46 mapping can turn a no-break space into a space, a
		 * fullwidth '*' or ':' into ASCII, fullwidth digits into an IPv4
		 * address, or delete a soft hyphen or zero-width space and leave
		 * an empty label or an IPv6 address.  Anything but an A-label
		 * host name can never be what Postfix delivers to.
		 */
		size_t an = strlen(ace);

		if (an == 0 || ace[0] == '.' || ace[an - 1] == '.' ||
		    strstr(ace, "..") != NULL ||
		    strspn(ace, "abcdefghijklmnopqrstuvwxyz0123456789-_.") != an ||
		    strspn(ace, "0123456789.") == an)
			o->never = true;
		else
			put(o, ace, an);
		idn2_free(ace);
	} else {
		put(o, s, n);
	}
}

/* An IP address spelled one way; false if s is no address. */
static bool
put_ip(struct out *o, const char *s, size_t n, bool v6_only)
{
	char tmp[INET6_ADDRSTRLEN + 8];
	unsigned char addr[sizeof(struct in6_addr)];
	char text[INET6_ADDRSTRLEN];

	if (n == 0 || n >= sizeof(tmp))
		return false;
	/* most keys are names: spare them two inet_pton() calls */
	if (strspn(s, "0123456789abcdef:.") < n)
		return false;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (!v6_only && inet_pton(AF_INET, tmp, addr) == 1) {
		inet_ntop(AF_INET, addr, text, sizeof(text));
		puts_(o, "[");
	} else if (inet_pton(AF_INET6, tmp, addr) == 1) {
		inet_ntop(AF_INET6, addr, text, sizeof(text));
		puts_(o, "[ipv6:");
	} else {
		return false;
	}
	puts_(o, text);
	puts_(o, "]");
	return true;
}

/* A port number or service name: [a-z0-9-]+ (input is lowercased). */
static bool
valid_port(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' &&
		    s[i] <= '9') || s[i] == '-'))
			return false;
	return n > 0;
}

/* Length without trailing dots: "192.0.2.1." is the address, too. */
static size_t
undotted(const char *s, size_t n)
{
	while (n > 1 && s[n - 1] == '.')
		n--;
	return n;
}

enum target_status
target_canon(const char *in, size_t len, struct target *t)
{
	char low[TARGET_MAX_LEN + 1];
	struct out o = {t->canon, 0, false};
	const char *close;
	const char *colon;
	bool dotted;
	size_t i;

	t->canon[0] = '\0';
	t->len = 0;
	t->walk = false;
	if (len == 0 || len > TARGET_MAX_LEN ||
	    !acceptable_bytes((const unsigned char *)in, len))
		return TARGET_NEVER;
	for (i = 0; i < len; i++) {
		char c = in[i];

		low[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 'a' - 'A') : c;
	}
	low[len] = '\0';

	if (low[0] == '[' && (close = memchr(low, ']', len)) != NULL) {
		/* [host], [a.b.c.d], [ipv6:addr], each with an optional :port */
		const char *h = low + 1;
		size_t hn = undotted(h, (size_t)(close - h));

		if (hn > 5 && strncmp(h, "ipv6:", 5) == 0) {
			if (!put_ip(&o, h + 5, hn - 5, true))
				put(&o, low, (size_t)(close + 1 - low));
		} else if (!put_ip(&o, h, hn, false)) {
			puts_(&o, "[");
			put_host(&o, h, (size_t)(close - h), &dotted);
			puts_(&o, "]");
		}
		put(&o, close + 1, len - (size_t)(close + 1 - low));
	} else if (memchr(low, '/', len) != NULL || low[0] == '[') {
		put(&o, low, len);	/* an LMTP socket path, or junk */
	} else if (put_ip(&o, low, undotted(low, len), false)) {
		/* a bare address: Postfix sends it bracketed */
	} else if ((colon = memchr(low, ':', len)) != NULL) {
		/* host:port, never walked; anything else with ':' is opaque */
		if (valid_port(colon + 1, len - (size_t)(colon + 1 - low))) {
			put_host(&o, low, (size_t)(colon - low), &dotted);
			put(&o, colon, len - (size_t)(colon - low));
		} else {
			put(&o, low, len);
		}
	} else {
		size_t lead = low[0] == '.' ? 1 : 0;

		put(&o, low, lead);
		put_host(&o, low + lead, len - lead, &dotted);
		t->walk = !dotted && !o.never &&
		    hostname_valid(t->canon + lead, o.len - lead);
	}
	if (o.never)
		return TARGET_NEVER;
	t->len = o.len;
	return TARGET_OK;
}

bool
target_wildcard(const char *in, size_t len, struct target *t)
{
	if (len > 2 && in[0] == '*' && in[1] == '.' &&
	    target_canon(in + 1, len - 1, t) == TARGET_OK && t->walk)
		return true;
	t->canon[0] = '\0';
	t->len = 0;
	t->walk = false;
	return false;
}

bool
target_parent(const char *canon, size_t len, size_t *off)
{
	const char *p;

	if (*off + 1 >= len)
		return false;
	p = memchr(canon + *off + 1, '.', len - *off - 1);
	if (p == NULL)
		return false;
	*off = (size_t)(p - canon);
	return true;
}
