# SPDX-License-Identifier: Apache-2.0
# mod_cmp: CMP CA/RA inside Apache httpd.
#
#   make            build the core library, both modules and the tools
#   make run        install what is missing, build, start PostgreSQL + httpd
#                   under $(VAR_DIR) in the foreground, with the demo seeded
#   make start/stop the same in the background
#   make test       unit + integration tests (what CI runs)
#   make bench      benchmarks (not part of make test); QUICK=1 the headline
#                   only, BENCH_ALSO=trixie the same again in a Debian 13 root
#   make sancheck   the integration suite again, the core and both modules
#                   under ASan, UBSan and LeakSanitizer (in build/san)
#   make fuzz       the libFuzzer targets of tests/fuzz, FUZZ_SECONDS each

SHELL      := /bin/bash
VAR_DIR    ?= var
HTTP_PORT  ?= 8080
HTTPS_PORT ?= 8443
PG_PORT    ?= 55432
export VAR_DIR HTTP_PORT HTTPS_PORT PG_PORT

APXS       := $(shell command -v apxs 2>/dev/null || command -v apxs2 2>/dev/null)
HTTPD_INC  := $(if $(APXS),$(shell $(APXS) -q INCLUDEDIR 2>/dev/null))
APR_INC    := $(shell apr-1-config --includes 2>/dev/null)
APR_CPP    := $(shell apr-1-config --cppflags 2>/dev/null)
PG_INC     := $(shell pg_config --includedir 2>/dev/null || echo /usr/include/postgresql)

BUILD      ?= build
WARN       := -Wall -Wextra -Werror -Wmissing-prototypes -Wstrict-prototypes \
              -Wshadow -Wformat-security -Wno-unused-parameter
SAN        ?=
CFLAGS     ?= -O2 -g
# The core is one shared library per httpd process (libcmpcore.so.N, beside
# the modules, found through their RUNPATH $ORIGIN), exporting its cmp_* API
# (mod_cmp/cmp_core.map); the admin code is hidden inside mod_cmp_admin.so.
BASE_CFLAGS := $(CFLAGS) $(SAN) -fPIC -fno-semantic-interposition -std=gnu11 $(WARN) \
               $(APR_CPP) $(APR_INC) -I$(PG_INC) -Imod_cmp
ALL_CFLAGS := $(BASE_CFLAGS) -fvisibility=hidden
CORE_LIBS  := -lssl -lcrypto -lpq -ljansson -lapr-1 -laprutil-1
CMP_VERSION := $(shell sed -n 's/^\#define CMP_VERSION "\(.*\)"/\1/p' mod_cmp/cmp_version.h)
CORE_SONAME := libcmpcore.so.$(firstword $(subst ., ,$(CMP_VERSION)))

CORE_SRCS  := $(sort $(wildcard mod_cmp/cmp_*.c))
CORE_OBJS  := $(patsubst mod_cmp/%.c,$(BUILD)/core/%.o,$(CORE_SRCS))
CORE_LIB   := $(BUILD)/libcmpcore.a
CORE_SO    := $(BUILD)/$(CORE_SONAME)
ADMIN_SRCS := $(sort $(wildcard mod_cmp_admin/admin_*.c))
ADMIN_OBJS := $(patsubst mod_cmp_admin/%.c,$(BUILD)/admin/%.o,$(ADMIN_SRCS)) \
              $(BUILD)/admin/openapi_json.o
ADMIN_LIB  := $(BUILD)/libcmpadmin.a
MODULES    := $(CORE_SO) $(BUILD)/mod_cmp.so $(BUILD)/mod_cmp_admin.so
TOOLS      := $(BUILD)/cmpadm
# the fuzz targets once more without libFuzzer: make test replays the
# checked-in corpus with them (tests/fuzz/replay.c)
REPLAY_BINS := $(patsubst tests/fuzz/%.c,$(BUILD)/replay/%,$(wildcard tests/fuzz/fuzz_*.c))
TEST_TOOLS := $(BUILD)/cmpclient $(BUILD)/cmpmutate $(BUILD)/cmpbench $(BUILD)/skew/mod_cmp_admin.so \
              $(REPLAY_BINS)
UNIT_BIN   := $(BUILD)/unit_tests

.PHONY: all deps run start stop test unit integration bench fuzz clean install deb \
        sancheck testbins

all: $(MODULES) $(TOOLS)

deps:
	@bash scripts/deps.sh

$(BUILD)/core/%.o: mod_cmp/%.c $(wildcard mod_cmp/*.h)
	@test -n "$(APR_INC)" || { echo "apr-1-config not found: make deps (as root) installs libapr1-dev" >&2; false; }
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(BASE_CFLAGS) -c $< -o $@

$(BUILD)/admin/%.o: mod_cmp_admin/%.c $(wildcard mod_cmp_admin/*.h) $(wildcard mod_cmp/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(ALL_CFLAGS) -Imod_cmp_admin -c $< -o $@

$(BUILD)/admin/openapi_json.c: mod_cmp_admin/openapi.json scripts/embed.sh
	@mkdir -p $(dir $@)
	@bash scripts/embed.sh $< admin_openapi_json > $@

$(BUILD)/admin/openapi_json.o: $(BUILD)/admin/openapi_json.c
	@$(CC) $(ALL_CFLAGS) -c $< -o $@

$(ADMIN_LIB): $(ADMIN_OBJS)
	@echo "  AR      $@"
	@rm -f $@
	@ar rcs $@ $^

$(CORE_LIB): $(CORE_OBJS)
	@rm -f $@
	@echo "  AR      $@"
	@ar rcs $@ $^

$(CORE_SO): $(CORE_OBJS) mod_cmp/cmp_core.map
	@echo "  LD      $@"
	@$(CC) -shared $(SAN) -Wl,-soname,$(CORE_SONAME) -Wl,--version-script=mod_cmp/cmp_core.map \
	    -Wl,-z,defs -Wl,-Bsymbolic-functions $(CORE_OBJS) $(CORE_LIBS) -o $@.tmp && mv $@.tmp $@
	@ln -sf $(CORE_SONAME) $(BUILD)/libcmpcore.so

# The modules are compiled by apxs (libtool) against Debian's apache2-dev and
# link the core library dynamically; only the module symbol is exported.
# apxs-module DIR NAME SOURCE EXTRA-CFLAGS EXTRA-LIBS
define apxs-module
	@test -n "$(APXS)" || { echo "apxs not found: make deps (as root) installs apache2-dev" >&2; false; }
	@mkdir -p $(1)
	@echo "  APXS    $@"
	@cp $(3) $(1)/$(2).c
	@cd $(1) && $(APXS) -c -o $(2).la $(addprefix -Wc$(comma),$(WARN) $(SAN) -I$(CURDIR)/mod_cmp -I$(PG_INC) $(4)) \
	    $(addprefix -Wl$(comma),$(SAN)) '-Wl,-Wl,-rpath,\$$ORIGIN' $(2).c $(5) -L$(CURDIR)/$(BUILD) -lcmpcore $(CORE_LIBS) \
	    >$(2).log 2>&1 || { cat $(2).log; false; }
	@cp $(1)/.libs/$(2).so $@.tmp && mv $@.tmp $@
endef

$(BUILD)/mod_cmp.so: mod_cmp/mod_cmp.c mod_cmp/mod_cmp_private.h $(wildcard mod_cmp/*.h) $(CORE_SO)
	$(call apxs-module,$(BUILD)/apxs,mod_cmp,mod_cmp/mod_cmp.c,,)

$(BUILD)/mod_cmp_admin.so: mod_cmp_admin/mod_cmp_admin.c $(ADMIN_LIB) $(CORE_SO)
	$(call apxs-module,$(BUILD)/apxs,mod_cmp_admin,mod_cmp_admin/mod_cmp_admin.c,-I$(CURDIR)/mod_cmp_admin,$(CURDIR)/$(ADMIN_LIB))

# The test of the version handshake: an admin module built as another
# version (the same source, CMP_MODULE_VERSION set before it).
$(BUILD)/skew/mod_cmp_admin.c: mod_cmp_admin/mod_cmp_admin.c
	@mkdir -p $(dir $@)
	@{ echo '#define CMP_MODULE_VERSION "0.0.0-skew"'; echo '#line 1 "mod_cmp_admin.c"'; cat $<; } >$@

$(BUILD)/skew/mod_cmp_admin.so: $(BUILD)/skew/mod_cmp_admin.c $(ADMIN_LIB) $(CORE_SO)
	$(call apxs-module,$(BUILD)/apxs-skew,mod_cmp_admin,$<,-I$(CURDIR)/mod_cmp_admin,$(CURDIR)/$(ADMIN_LIB))

$(BUILD)/cmpadm: tools/cmpadm.c $(ADMIN_LIB) $(CORE_LIB)
	@echo "  LD      $@"
	@$(CC) $(ALL_CFLAGS) -Imod_cmp_admin $< $(ADMIN_LIB) $(CORE_LIB) $(CORE_LIBS) -o $@

$(BUILD)/cmpclient: tests/tools/cmpclient.c
	@echo "  LD      $@"
	@$(CC) $(ALL_CFLAGS) $< -lssl -lcrypto -o $@

$(BUILD)/cmpmutate: tests/tools/cmpmutate.c $(CORE_LIB)
	@echo "  LD      $@"
	@$(CC) $(ALL_CFLAGS) -Imod_cmp $< $(CORE_LIB) $(CORE_LIBS) -o $@

$(BUILD)/replay/%: tests/fuzz/%.c tests/fuzz/replay.c tests/fuzz/harness.h $(ADMIN_LIB) $(CORE_LIB)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(ALL_CFLAGS) -Imod_cmp_admin tests/fuzz/replay.c $< $(ADMIN_LIB) $(CORE_LIB) \
	    $(CORE_LIBS) -o $@

$(BUILD)/hdrcost: tests/bench/hdrcost.c $(CORE_LIB)
	@echo "  LD      $@"
	@$(CC) $(ALL_CFLAGS) -Imod_cmp $< $(CORE_LIB) $(CORE_LIBS) -o $@

$(BUILD)/cmpbench: tests/bench/cmpbench.c
	@echo "  LD      $@"
	@$(CC) $(ALL_CFLAGS) -pthread $< -lssl -lcrypto -o $@

$(UNIT_BIN): $(wildcard tests/unit/*.c) $(wildcard tests/unit/*.h) $(ADMIN_LIB) $(CORE_LIB)
	@echo "  LD      $@"
	@$(CC) $(ALL_CFLAGS) -Itests/unit -Imod_cmp_admin $(wildcard tests/unit/*.c) $(ADMIN_LIB) $(CORE_LIB) \
	    $(CORE_LIBS) $(shell pkg-config --libs check) -o $@

# The targets that install what is missing first build in a second make: this
# one read apxs and apr-1-config when it was parsed, before deps.sh ran.
run: deps
	@$(MAKE) --no-print-directory all
	@bash scripts/run.sh foreground

start: deps
	@$(MAKE) --no-print-directory all
	@bash scripts/run.sh background

stop:
	@bash scripts/run.sh stop

unit: $(UNIT_BIN)
	@CK_FORK=yes $(UNIT_BIN)

tests/browser/node_modules/.installed: tests/browser/package.json tests/browser/package-lock.json
	@cd tests/browser && npm ci --no-audit --no-fund --loglevel=error >/dev/null 2>&1 \
	    || npm ci --no-audit --no-fund --loglevel=error
	@bash tests/browser/node.sh --version >/dev/null
	@touch $@

integration: all $(TEST_TOOLS) $(UNIT_BIN) tests/browser/node_modules/.installed
	@bash tests/integration/run.sh

test: deps
	@$(MAKE) --no-print-directory all $(UNIT_BIN) $(TEST_TOOLS) tests/browser/node_modules/.installed
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory integration

testbins: all $(UNIT_BIN) $(TEST_TOOLS)

# The integration suite (and the unit suites) once more with everything of
# ours built into build/san under AddressSanitizer, UBSan and LeakSanitizer;
# httpd preloads the ASan runtime and its children report leaks when they
# exit (tests/san/run.sh, suppressions in tests/san/lsan.supp).
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
             -fno-omit-frame-pointer
sancheck: deps
	@$(MAKE) --no-print-directory BUILD=build/san SAN="$(SAN_FLAGS)" CFLAGS="-O1 -g" testbins
	@$(MAKE) --no-print-directory tests/browser/node_modules/.installed
	@BUILD_DIR=$(CURDIR)/build/san bash tests/san/run.sh

bench: deps
	@$(MAKE) --no-print-directory all $(BUILD)/cmpbench
	@bash tests/bench/run.sh

# libFuzzer targets (tests/fuzz/*.c): the core compiled again by clang with
# ASan and UBSan, each target run FUZZ_SECONDS (default 60) by run.sh;
# fuzz_server against a scratch PostgreSQL with the demo profiles.
FUZZ_CC     := clang
FUZZ_FLAGS  := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
               -fno-sanitize-recover=undefined -std=gnu11 $(APR_CPP) $(APR_INC) \
               -I$(PG_INC) -Imod_cmp
FUZZ_OBJS   := $(patsubst mod_cmp/%.c,$(BUILD)/fuzz/core/%.o,$(CORE_SRCS)) \
               $(patsubst mod_cmp_admin/%.c,$(BUILD)/fuzz/admin/%.o,$(ADMIN_SRCS))
FUZZ_BINS   := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c)) \
               $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/replay/%,$(wildcard tests/fuzz/fuzz_*.c))

$(BUILD)/fuzz/core/%.o: mod_cmp/%.c $(wildcard mod_cmp/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC      $< (fuzz)"
	@$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(BUILD)/fuzz/admin/%.o: mod_cmp_admin/%.c $(wildcard mod_cmp_admin/*.h) $(wildcard mod_cmp/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC      $< (fuzz)"
	@$(FUZZ_CC) $(FUZZ_FLAGS) -Imod_cmp_admin -fsanitize=fuzzer-no-link -c $< -o $@

$(BUILD)/fuzz/admin/openapi_json.o: $(BUILD)/admin/openapi_json.c
	@mkdir -p $(dir $@)
	@$(FUZZ_CC) $(FUZZ_FLAGS) -c $< -o $@

$(BUILD)/fuzz/%: tests/fuzz/%.c tests/fuzz/harness.h $(FUZZ_OBJS) $(BUILD)/fuzz/admin/openapi_json.o
	@echo "  LD      $@"
	@$(FUZZ_CC) $(FUZZ_FLAGS) -Imod_cmp_admin -fsanitize=fuzzer $< $(FUZZ_OBJS) \
	    $(BUILD)/fuzz/admin/openapi_json.o $(CORE_LIBS) -o $@

# the same without libFuzzer, for leaks judged at exit (tests/fuzz/run.sh)
$(BUILD)/fuzz/replay/%: tests/fuzz/%.c tests/fuzz/replay.c tests/fuzz/harness.h $(FUZZ_OBJS) $(BUILD)/fuzz/admin/openapi_json.o
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(FUZZ_CC) $(FUZZ_FLAGS) -Imod_cmp_admin -fsanitize=fuzzer-no-link tests/fuzz/replay.c $< \
	    $(FUZZ_OBJS) $(BUILD)/fuzz/admin/openapi_json.o $(CORE_LIBS) -o $@

.SECONDARY: $(FUZZ_OBJS)

fuzz:
	@bash scripts/deps.sh fuzz
	@$(MAKE) --no-print-directory all $(FUZZ_BINS)
	@bash tests/fuzz/run.sh

# Installs into Debian's Apache layout everything an existing Apache needs:
# the modules and their core library, the confs (never overwriting an edited
# one: the new version goes beside it as .dist), an example site, the
# console and JSON error documents, the migrations with cmp-db-migrate, and
# cmpadm. Then: README, "In an existing Apache".
LIBEXECDIR := $(if $(APXS),$(shell $(APXS) -q LIBEXECDIR 2>/dev/null))
PREFIX     ?= /usr/local
DATADIR    := $(PREFIX)/share/mod-cmp
CONFDIR    := /etc/mod-cmp
APACHEDIR  := /etc/apache2
# conf-install SOURCE TARGET: install; a TARGET edited since the last install
# (its sum is not the one recorded then) stays, the new version beside it
define conf-install
	@sums=$(DESTDIR)$(DATADIR)/conf-sums; touch $$sums; \
	if [ -e $(2) ] && ! cmp -s $(1) $(2) \
	    && ! grep -qx "$$(md5sum <$(2) | cut -d' ' -f1) $(2)" $$sums; then \
	  install -m 644 $(1) $(2).dist; \
	  echo "install: $(2) was edited; the new version is $(2).dist"; \
	else install -m 644 $(1) $(2); \
	  { grep -v " $(2)$$" $$sums || true; echo "$$(md5sum <$(1) | cut -d' ' -f1) $(2)"; } >$$sums.tmp \
	  && mv $$sums.tmp $$sums; fi
endef
install: all
	install -d $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(APACHEDIR)/mods-available \
	    $(DESTDIR)$(APACHEDIR)/sites-available $(DESTDIR)$(DATADIR)/ui $(DESTDIR)$(DATADIR)/api-errors \
	    $(DESTDIR)$(DATADIR)/sql $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/sbin \
	    $(DESTDIR)$(PREFIX)/share/doc/mod-cmp
	install -d -m 755 $(DESTDIR)$(CONFDIR)
	install -m 644 $(CORE_SO) $(BUILD)/mod_cmp.so $(BUILD)/mod_cmp_admin.so $(DESTDIR)$(LIBEXECDIR)/
	$(call conf-install,conf/cmp.load,$(DESTDIR)$(APACHEDIR)/mods-available/cmp.load)
	$(call conf-install,conf/cmp.conf,$(DESTDIR)$(APACHEDIR)/mods-available/cmp.conf)
	$(call conf-install,conf/cmp_admin.load,$(DESTDIR)$(APACHEDIR)/mods-available/cmp_admin.load)
	$(call conf-install,conf/cmp_admin.conf,$(DESTDIR)$(APACHEDIR)/mods-available/cmp_admin.conf)
	@sed 's|/usr/share/mod-cmp|$(DATADIR)|g' conf/mod-cmp-site.conf >$(BUILD)/mod-cmp-site.conf
	$(call conf-install,$(BUILD)/mod-cmp-site.conf,$(DESTDIR)$(APACHEDIR)/sites-available/mod-cmp.conf)
	install -m 644 htdocs/ui/* $(DESTDIR)$(DATADIR)/ui/
	install -m 644 htdocs/api-errors/* $(DESTDIR)$(DATADIR)/api-errors/
	install -m 644 sql/*.sql $(DESTDIR)$(DATADIR)/sql/
	sed 's|^sql_dir=.*|sql_dir=$${CMP_SQL_DIR:-$(DATADIR)/sql}|' scripts/db-migrate.sh \
	    >$(DESTDIR)$(PREFIX)/sbin/cmp-db-migrate
	chmod 755 $(DESTDIR)$(PREFIX)/sbin/cmp-db-migrate
	install -m 755 $(BUILD)/cmpadm $(DESTDIR)$(PREFIX)/bin/
	install -m 644 docs/directives.md README.md LICENSE $(DESTDIR)$(PREFIX)/share/doc/mod-cmp/

# The Debian package libapache2-mod-cmp (debian/, dh_apache2) in build/deb/.
deb: deps
	@bash scripts/deb.sh

clean:
	rm -rf $(BUILD)

comma := ,
