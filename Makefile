# SPDX-License-Identifier: BSD-2-Clause
# tlspolicyd - plain GNU make, one file, objects under build/<variant>/.
#
#   make               the daemon, ./tlspolicyd
#   make check         installs missing packages (as root), then unit,
#                      integration (real PostgreSQL + postmap) and
#                      end-to-end (real Postfix; real TLS and DANE in
#                      private namespaces) tests, and docs-check
#   make demo          a throwaway cluster with example rows, the daemon in
#                      the foreground, and a postmap line to try
#   make check-asan    the unit, black-box and integration tests under
#                      ASan + UBSan
#   make fuzz          every fuzz harness for FUZZ_SECONDS (default 60)
#   make bench         benchmarks, never part of check: docs/benchmarks.md
#   make install       the binary, both man pages, the sample config (and
#                      tlspolicyd.conf when there is none: a live config is
#                      never overwritten), schema.sql and example-rows.sql,
#                      the systemd units (ExecStart rewritten to SBINDIR and
#                      SYSCONFDIR) and the sysusers.d file, under DESTDIR:
#                      PREFIX (/usr/local), SBINDIR, MANDIR, SYSCONFDIR
#                      (/etc), PKGDATADIR ($(PREFIX)/share/tlspolicyd),
#                      SYSTEMDUNITDIR ($(PREFIX)/lib/systemd/system) and
#                      SYSUSERSDIR ($(PREFIX)/lib/sysusers.d), all searched
#                      by systemd
#   make uninstall     removes what install put there, never tlspolicyd.conf
#   make check-install the installed tree, man --warnings, the unit's
#                      systemd-analyze exposure (tests/install.sh; part of
#                      check; needs neither root nor PostgreSQL)

CC ?= cc
CFLAGS ?= -O2 -g
PKG_CONFIG ?= pkg-config
PREFIX ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR ?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
PKGDATADIR ?= $(PREFIX)/share/tlspolicyd
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
VARIANT ?= release
FUZZ_SECONDS ?= 60

STD = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
WARN = -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
       -Wmissing-prototypes -Wformat=2 -Wvla
ifeq ($(WERROR),1)
WARN += -Werror
endif
ifeq ($(VARIANT),asan)
SAN = -fsanitize=address,undefined -fno-omit-frame-pointer \
      -fno-sanitize-recover=all
endif

DEPS = libevent libidn2
# Recursive (=) so pkg-config runs when a recipe needs it, after deps.sh.
PQ_CFLAGS = $(shell $(PKG_CONFIG) --cflags libpq 2>/dev/null || \
	    echo -I$$(pg_config --includedir))
PQ_LIBS = $(shell $(PKG_CONFIG) --libs libpq 2>/dev/null || \
	  echo -L$$(pg_config --libdir) -lpq)
ALL_CFLAGS = $(STD) $(WARN) -Iinclude $(shell $(PKG_CONFIG) --cflags $(DEPS)) \
	     $(PQ_CFLAGS) $(SAN) -MMD -MP $(CFLAGS) $(CPPFLAGS)
ALL_LDFLAGS = $(SAN) $(LDFLAGS)
LIBS = $(shell $(PKG_CONFIG) --libs $(DEPS)) $(PQ_LIBS)

B = build/$(VARIANT)
SRCS = $(wildcard src/*.c)
OBJS = $(SRCS:src/%.c=$(B)/%.o)

ifeq ($(VARIANT),release)
BIN = tlspolicyd
else
BIN = $(B)/tlspolicyd
endif

.PHONY: all check check-unit check-blackbox check-integration check-e2e \
	check-agreement check-tls check-asan docs-check fuzz fuzz-build bench bench-run demo \
	install uninstall check-install clean

all: $(BIN)

$(BIN): $(OBJS)
	$(CC) $(ALL_LDFLAGS) -o $@ $(OBJS) $(LIBS)

$(B)/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# --- unit tests: one binary per pure module; the source lists are the
# --- dependency graph (a test that needs more than three is a smell)
UT = $(B)/tests
UNIT_CFLAGS = $(ALL_CFLAGS) -Itests/lib -DUNIT_TESTING
UNIT_TESTS = netstring sockmap hostname target policy snapshot snapfile \
	config syncplan syncsql answer review lifecycle log metrics
unit_src_netstring = src/netstring.c
unit_src_log = src/log.c
unit_src_sockmap = src/sockmap.c src/netstring.c
unit_src_hostname = src/hostname.c
unit_src_target = src/target.c src/hostname.c
unit_src_policy = src/policy.c src/hostname.c
unit_src_snapshot = src/snapshot.c src/target.c src/policy.c src/hostname.c src/xalloc.c
unit_src_snapfile = src/snapfile.c src/snapshot.c src/target.c src/policy.c src/hostname.c src/xalloc.c
unit_src_config = src/config.c src/log.c src/xalloc.c src/policy.c src/hostname.c
unit_src_lifecycle = src/lifecycle.c src/policy.c src/hostname.c
unit_src_answer = src/answer.c src/sockmap.c src/netstring.c src/snapshot.c src/target.c src/policy.c src/hostname.c src/xalloc.c src/lifecycle.c
unit_src_syncplan = src/syncplan.c
unit_src_metrics = src/metrics.c src/inetlisten.c src/snapshot.c src/lifecycle.c src/target.c src/policy.c src/hostname.c src/log.c src/xalloc.c
unit_libs_metrics = $(shell $(PKG_CONFIG) --libs libevent)
unit_src_syncsql = src/syncsql.c src/xalloc.c
unit_src_review = src/review.c src/lifecycle.c src/policy.c src/postconf.c src/target.c src/hostname.c src/log.c src/xalloc.c

define unit_rule
$(UT)/test_$(1): tests/unit/test_$(1).c $(unit_src_$(1)) $(wildcard include/*.h) tests/lib/test.h
	@mkdir -p $$(@D)
	$$(CC) $$(UNIT_CFLAGS) -o $$@ tests/unit/test_$(1).c $(unit_src_$(1)) \
		$$(ALL_LDFLAGS) $$(shell $$(PKG_CONFIG) --libs libidn2) \
		$(unit_libs_$(1)) -lcmocka
endef
$(foreach t,$(UNIT_TESTS),$(eval $(call unit_rule,$(t))))

check-unit: $(UNIT_TESTS:%=$(UT)/test_%)
	@set -e; for t in $^; do echo "== $$t"; $$t; done

check-blackbox: $(BIN) tests/blackbox/framing
	TLSPOLICYD=$(CURDIR)/$(BIN) bash tests/blackbox/run.sh

tests/blackbox/framing: tests/blackbox/framing.c
	$(CC) $(STD) $(WARN) -O2 -o $@ $<

# Every script runs even when one fails; the target fails if any did.
check-integration: $(BIN) tests/integration/sockmap_probe
	@rc=0; for t in run hostile replicas lifecycle service statefile \
		metrics; do \
		echo "TLSPOLICYD=$(CURDIR)/$(BIN) bash tests/integration/$$t.sh"; \
		TLSPOLICYD=$(CURDIR)/$(BIN) bash tests/integration/$$t.sh || rc=1; \
	done; exit $$rc

check-e2e: $(BIN)
	TLSPOLICYD=$(CURDIR)/$(BIN) bash tests/e2e/run.sh

check-agreement: $(BIN)
	TLSPOLICYD=$(CURDIR)/$(BIN) bash tests/e2e/agreement.sh

# Real TLS and DANE, and --review, in private network/mount/pid namespaces.
check-tls: $(BIN)
	TLSPOLICYD=$(CURDIR)/$(BIN) bash tests/e2e/tls.sh

tests/integration/sockmap_probe: tests/integration/sockmap_probe.c
	$(CC) $(STD) $(WARN) -O2 $(PQ_CFLAGS) -o $@ $< $(PQ_LIBS)

docs-check:
	@bash tests/docs_check.sh

# The package step first, then each stage in order (pkg-config must see
# the installed packages, so it runs in a fresh make).
check:
	@sh tools/deps.sh check
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory check-unit
	@$(MAKE) --no-print-directory check-blackbox
	@$(MAKE) --no-print-directory docs-check
	@$(MAKE) --no-print-directory check-install
	@$(MAKE) --no-print-directory check-integration
	@$(MAKE) --no-print-directory check-e2e
	@$(MAKE) --no-print-directory check-agreement
	@$(MAKE) --no-print-directory check-tls

check-asan:
	@sh tools/deps.sh asan
	@$(MAKE) --no-print-directory VARIANT=asan check-unit check-blackbox \
		check-integration

# --- fuzzing (clang libFuzzer)
FUZZERS = netstring sockmap target policy config review snapfile metrics
fuzz_src_snapfile = src/snapfile.c src/snapshot.c src/target.c src/policy.c src/hostname.c src/xalloc.c
FZ = build/fuzz
fuzz_src_netstring = src/netstring.c
fuzz_src_sockmap = src/sockmap.c src/netstring.c
fuzz_src_target = src/target.c src/hostname.c
fuzz_src_policy = src/policy.c src/hostname.c
fuzz_src_config = src/config.c src/log.c src/xalloc.c src/policy.c src/hostname.c
fuzz_src_review = src/review.c src/lifecycle.c src/policy.c src/postconf.c src/target.c src/hostname.c src/log.c src/xalloc.c
fuzz_src_metrics = src/metrics.c src/inetlisten.c src/snapshot.c src/lifecycle.c src/target.c src/policy.c src/hostname.c src/log.c src/xalloc.c
fuzz_libs_metrics = $(shell $(PKG_CONFIG) --libs libevent)
FUZZ_CFLAGS = $(STD) -g -O1 -Iinclude -fsanitize=fuzzer,address,undefined

define fuzz_rule
$(FZ)/fuzz_$(1): tests/fuzz/fuzz_$(1).c $(fuzz_src_$(1)) $(wildcard include/*.h)
	@mkdir -p $$(@D)
	clang $$(FUZZ_CFLAGS) -o $$@ tests/fuzz/fuzz_$(1).c $(fuzz_src_$(1)) \
		$$(shell $$(PKG_CONFIG) --libs libidn2) $(fuzz_libs_$(1))
endef
$(foreach f,$(FUZZERS),$(eval $(call fuzz_rule,$(f))))

fuzz-build:
	@sh tools/deps.sh fuzz
	@$(MAKE) --no-print-directory $(FUZZERS:%=$(FZ)/fuzz_%)

fuzz: fuzz-build
	@set -e; for f in $(FUZZERS); do \
		mkdir -p $(FZ)/corpus-$$f; \
		dict=; [ -f tests/fuzz/dict/$$f ] && dict=-dict=tests/fuzz/dict/$$f; \
		echo "== fuzz_$$f for $(FUZZ_SECONDS)s"; \
		$(FZ)/fuzz_$$f -max_total_time=$(FUZZ_SECONDS) $$dict \
			$(FZ)/corpus-$$f tests/fuzz/corpus/$$f 2>&1 | tail -3; \
	done

# --- benchmarks: figures, never assertions
# bench-run writes docs/benchmarks.md and docs/benchmarks.png; set
# BENCH_BEFORE=/path/to/tlspolicyd to measure an older build beside it.
bench:
	@sh tools/deps.sh bench
	@$(MAKE) --no-print-directory bench-run

bench-run: $(BIN) $(B)/bench_snapshot tests/integration/sockmap_probe
	$(B)/bench_snapshot
	TLSPOLICYD=$(CURDIR)/$(BIN) bash tests/bench/run.sh
	TLSPOLICYD=$(CURDIR)/$(BIN) bash tests/bench/statefile.sh

$(B)/bench_snapshot: tests/bench/bench_snapshot.c src/snapshot.c src/target.c src/policy.c src/hostname.c src/xalloc.c
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(ALL_LDFLAGS) $(shell $(PKG_CONFIG) --libs libidn2)

demo:
	@sh tools/deps.sh demo
	@$(MAKE) --no-print-directory all
	@bash tools/demo.sh

# The units name the binary and the config where PREFIX=/usr/local and
# SYSCONFDIR=/etc put them; install rewrites their ExecStart lines.
UNIT_SED = -e '/^ExecStart=/s|/usr/local/sbin/tlspolicyd|$(SBINDIR)/tlspolicyd|' \
	   -e '/^ExecStart=/s| -c /etc/tlspolicyd.conf| -c $(SYSCONFDIR)/tlspolicyd.conf|'
UNITS = tlspolicyd.service tlspolicyd-review.service tlspolicyd-review.timer
SHARED = schema.sql example-rows.sql

install: $(BIN)
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(SYSCONFDIR) \
		$(DESTDIR)$(PKGDATADIR) $(DESTDIR)$(SYSTEMDUNITDIR) \
		$(DESTDIR)$(SYSUSERSDIR)
	install -m 0755 $(BIN) $(DESTDIR)$(SBINDIR)/tlspolicyd
	install -m 0644 docs/tlspolicyd.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 docs/tlspolicyd.conf.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 contrib/tlspolicyd.conf.sample \
		$(DESTDIR)$(SYSCONFDIR)/tlspolicyd.conf.sample
	@# 0640: database may hold a password; group tlspolicyd reads it
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/tlspolicyd.conf ]; then \
		echo "$(DESTDIR)$(SYSCONFDIR)/tlspolicyd.conf exists: kept"; \
	else \
		echo install -m 0640 contrib/tlspolicyd.conf.sample \
			$(DESTDIR)$(SYSCONFDIR)/tlspolicyd.conf; \
		install -m 0640 contrib/tlspolicyd.conf.sample \
			$(DESTDIR)$(SYSCONFDIR)/tlspolicyd.conf; \
		if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && \
		    getent group tlspolicyd >/dev/null 2>&1; then \
			echo chgrp tlspolicyd $(SYSCONFDIR)/tlspolicyd.conf; \
			chgrp tlspolicyd $(SYSCONFDIR)/tlspolicyd.conf; \
		else \
			echo "note: tlspolicyd.conf is 0640 without the group" \
				"tlspolicyd; once it exists (systemd-sysusers):" \
				"chgrp tlspolicyd $(SYSCONFDIR)/tlspolicyd.conf"; \
		fi; \
	fi
	install -m 0644 $(SHARED:%=contrib/postgresql/%) $(DESTDIR)$(PKGDATADIR)/
	@set -e; for u in $(UNITS); do \
		f=$(DESTDIR)$(SYSTEMDUNITDIR)/$$u; \
		echo "sed ... contrib/systemd/$$u > $$f"; \
		sed $(UNIT_SED) contrib/systemd/$$u > $$f; chmod 0644 $$f; \
	done
	install -m 0644 contrib/systemd/tlspolicyd.sysusers \
		$(DESTDIR)$(SYSUSERSDIR)/tlspolicyd.conf
	@[ -n "$(DESTDIR)" ] || echo "next: systemd-sysusers &&" \
		"systemctl daemon-reload && systemctl enable --now tlspolicyd"

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/tlspolicyd \
		$(DESTDIR)$(MANDIR)/man8/tlspolicyd.8 \
		$(DESTDIR)$(MANDIR)/man5/tlspolicyd.conf.5 \
		$(DESTDIR)$(SYSCONFDIR)/tlspolicyd.conf.sample \
		$(SHARED:%=$(DESTDIR)$(PKGDATADIR)/%) \
		$(UNITS:%=$(DESTDIR)$(SYSTEMDUNITDIR)/%) \
		$(DESTDIR)$(SYSUSERSDIR)/tlspolicyd.conf
	rmdir $(DESTDIR)$(PKGDATADIR) 2>/dev/null || true

check-install: $(BIN)
	@VARIANT=$(VARIANT) bash tests/install.sh

clean:
	rm -rf build tlspolicyd tests/integration/sockmap_probe \
		tests/blackbox/framing

-include $(OBJS:.o=.d)
