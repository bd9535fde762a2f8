# glorotd - build, run and test.
#
#   make            build everything into build/
#   make run        install missing packages, build, start glorotd on 127.0.0.1:8080
#   make check      install missing packages, build, run every test
#   make asan       the same tests under AddressSanitizer + UBSan (build-asan/)
#   make install PREFIX=/usr/local   client library, header, pkg-config file, binaries
#   make lint       clang-format in check mode, banned functions, every C file compiled
#                   with the warnings (-Wmissing-prototypes) - tests and bench included
#   make fuzz / fuzz-ci / valgrind / soak   reliability runs (tests/reliability.mk, docs/RELIABILITY.md)

VERSION := 0.1.0
PREFIX  ?= /usr/local
SAN     ?=
CC      ?= cc

ifeq ($(SAN),asan)
B       ?= build-asan
SANFLAGS = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
OPT      = -O1
else
B       ?= build
SANFLAGS =
OPT      = -O2
endif

# -ffp-contract=off: tensor bits must not depend on a*b+c being fused.
CFLAGS  := -std=c11 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L \
           -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla \
           $(OPT) -g -fPIC -ffp-contract=off -fno-fast-math -fvisibility=hidden \
           -DGLOROT_VERSION='"$(VERSION)"' -Iproto -Iclient/include $(SANFLAGS) $(EXTRA_CFLAGS)
LDFLAGS := $(SANFLAGS) $(EXTRA_LDFLAGS)

PROTO_LIBS  := -ljansson -lsodium -lm
SERVER_LIBS := -lmicrohttpd -ljansson -lsodium -lpthread -lm
CLIENT_LIBS := -lcurl -ljansson -lsodium -lm
TEST_LIBS   := -lcriterion

# ---- sources ---------------------------------------------------------------
PROTO_SRC  := $(wildcard proto/*/*.c proto/*/*/*.c)
SERVER_SRC := $(wildcard server/*.c)
SERVER_MAIN:= server/main.c
CLIENT_SRC := $(wildcard client/lib/*.c)
CLI_SRC    := $(wildcard client/cli/*.c)
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
SUNIT_SRC  := $(wildcard tests/unit/server/test_*.c)
CUNIT_SRC  := $(wildcard tests/unit/client/test_*.c)
E2E_SRC    := $(wildcard tests/e2e/test_*.c)
SUPPORT_SRC:= $(wildcard tests/support/*.c)

obj = $(patsubst %.c,$(B)/%.o,$(1))

PROTO_LIB  := $(B)/libgproto.a
SERVER_LIB := $(B)/libglorotd.a
CLIENT_A   := $(B)/libglorot-client.a
CLIENT_SO  := $(B)/libglorot-client.so
GLOROTD    := $(B)/glorotd
GLOROT     := $(B)/glorot
PAGE_EMBED := $(B)/tools/page_embed
PAGE_OBJ   := $(B)/gen/page_data.o
UNIT_BINS  := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRC))
SUNIT_BINS := $(patsubst tests/unit/server/%.c,$(B)/tests/%,$(SUNIT_SRC))
CUNIT_BINS := $(patsubst tests/unit/client/%.c,$(B)/tests/%,$(CUNIT_SRC))
E2E_BINS   := $(patsubst tests/e2e/%.c,$(B)/tests/e2e_%,$(E2E_SRC))

BINS := $(PROTO_LIB)
ifneq ($(SERVER_SRC),)
BINS += $(GLOROTD)
endif
ifneq ($(CLIENT_SRC),)
BINS += $(CLIENT_A) $(CLIENT_SO) $(B)/glorot-client.pc
endif
ifneq ($(CLI_SRC),)
BINS += $(GLOROT)
endif

.PHONY: all run check test test-unit test-unit-server test-unit-client test-e2e test-python asan deps \
        deps-run deps-check install lint clean
all: $(BINS)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(PROTO_LIB): $(call obj,$(PROTO_SRC))
	@rm -f $@
	ar rcs $@ $^

# Everything of the daemon but main(), for glorotd and the server unit tests.
$(SERVER_LIB): $(call obj,$(filter-out $(SERVER_MAIN),$(SERVER_SRC))) $(PAGE_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(GLOROTD): $(call obj,$(SERVER_MAIN)) $(SERVER_LIB) $(PROTO_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(SERVER_LIBS)

# The page at / : server/page.html into a C array with its CSP hashes and ETag
# (server/tools/page_embed.c, built for the build host; needs only libsodium).
$(PAGE_EMBED): server/tools/page_embed.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -O1 -Wall -Wextra -Werror -Wmissing-prototypes -o $@ $< -lsodium

$(B)/gen/page_data.c: server/page.html $(PAGE_EMBED)
	@mkdir -p $(dir $@)
	$(PAGE_EMBED) $< $@.tmp && mv $@.tmp $@

$(PAGE_OBJ): $(B)/gen/page_data.c server/page.h
	$(CC) $(CFLAGS) -Iserver -c $< -o $@

# The client library carries the proto objects inside it (hidden symbols).
$(CLIENT_A): $(call obj,$(CLIENT_SRC)) $(call obj,$(PROTO_SRC))
	@rm -f $@
	ar rcs $@ $^

$(CLIENT_SO): $(call obj,$(CLIENT_SRC)) $(call obj,$(PROTO_SRC))
	$(CC) -shared -Wl,-soname,libglorot-client.so.0 $(LDFLAGS) -o $@ $^ $(CLIENT_LIBS)

$(B)/glorot-client.pc: client/glorot-client.pc.in Makefile
	@mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' $< > $@

$(GLOROT): $(call obj,$(CLI_SRC)) $(CLIENT_A)
	$(CC) $(LDFLAGS) -o $@ $^ $(CLIENT_LIBS)

# Unit tests: proto's (tests/unit/) against libgproto.a, the daemon's
# (tests/unit/server/) against libglorotd.a, the client library's
# (tests/unit/client/) against libglorot-client.a; all as build/tests/<name>.
UNIT_NAMES := $(notdir $(UNIT_SRC) $(SUNIT_SRC) $(CUNIT_SRC))
ifneq ($(words $(UNIT_NAMES)),$(words $(sort $(UNIT_NAMES))))
$(error two unit tests share a file name: build/tests/<name> must be unique)
endif

# Kept after linking (not intermediates), so make lint does not compile them again.
.SECONDARY: $(call obj,$(UNIT_SRC) $(SUNIT_SRC) $(CUNIT_SRC) $(E2E_SRC))

$(B)/tests/%: $(B)/tests/unit/%.o $(PROTO_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(TEST_LIBS) $(PROTO_LIBS)

# The private headers they test sit next to the sources (server/, client/lib/).
$(B)/tests/unit/server/%.o: CFLAGS += -Iserver
$(B)/tests/unit/client/%.o: CFLAGS += -Iclient/lib

$(SUNIT_BINS): $(B)/tests/%: $(B)/tests/unit/server/%.o $(call obj,$(SUPPORT_SRC)) $(SERVER_LIB) \
               $(PROTO_LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(TEST_LIBS) $(SERVER_LIBS)

$(CUNIT_BINS): $(B)/tests/%: $(B)/tests/unit/client/%.o $(CLIENT_A)
	$(CC) $(LDFLAGS) -o $@ $^ $(TEST_LIBS) $(CLIENT_LIBS)

$(B)/tests/e2e_%: $(B)/tests/e2e/%.o $(call obj,$(SUPPORT_SRC)) $(CLIENT_A)
	$(CC) $(LDFLAGS) -o $@ $^ $(TEST_LIBS) $(CLIENT_LIBS)

# ---- packages ------------------------------------------------------------
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
RUN_PKGS   := gcc make libc6-dev pkg-config libmicrohttpd-dev libjansson-dev libsodium-dev \
              libcurl4-openssl-dev
CHECK_PKGS := $(RUN_PKGS) libcriterion-dev curl python3 python3-numpy python3-scipy python3-mpmath \
              python3-torch python3-pytest openssl chromium fonts-dejavu-core

define install_missing
	@missing=$$(for p in $(1); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; \
	  done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
endef

deps-run:
	$(call install_missing,$(RUN_PKGS))
deps-check:
	$(call install_missing,$(CHECK_PKGS))
deps: deps-check

# ---- the two set-up commands -------------------------------------------------
run: deps-run
	$(MAKE) all
	exec $(GLOROTD) --listen 127.0.0.1:8080 $$([ "$$(id -u)" = 0 ] && echo --allow-root)

check: deps-check
	$(MAKE) test

asan:
	$(MAKE) check SAN=asan

# ---- tests ---------------------------------------------------------------
TEST_ENV := GLOROTD_BIN=$(abspath $(GLOROTD)) GLOROT_BIN=$(abspath $(GLOROT)) \
            GLOROT_TESTS=$(abspath tests) GLOROT_PYTHON=/usr/bin/python3 \
            GLOROT_LIBRARY=$(abspath $(CLIENT_SO)) \
            ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1

test: test-unit test-unit-server test-unit-client test-e2e test-python

test-unit: $(BINS) $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; $(TEST_ENV) $$t --jobs 2; done

test-unit-server: $(BINS) $(SUNIT_BINS)
	@set -e; for t in $(SUNIT_BINS); do echo "== $$t"; $(TEST_ENV) $$t --jobs 2; done

test-unit-client: $(BINS) $(CUNIT_BINS)
	@set -e; for t in $(CUNIT_BINS); do echo "== $$t"; $(TEST_ENV) $$t --jobs 2; done

test-e2e: $(BINS) $(E2E_BINS)
	@set -e; for t in $(E2E_BINS); do echo "== $$t"; $(TEST_ENV) $$t --jobs 2; done

# The Python package (client/python) against this build's library and a real
# glorotd; pytest's own exit status (5 = no tests collected) fails the step.
# Under ASan the interpreter needs the sanitizer runtimes preloaded to load
# the instrumented library, and its own exit-time allocations are not ours.
# The multi-process torch.distributed test (minutes of torch under the
# sanitizers, and no C call the other Python tests do not make) runs in make
# check only.
ifeq ($(SAN),asan)
PY_ENV := LD_PRELOAD="$$($(CC) -print-file-name=libasan.so) $$($(CC) -print-file-name=libubsan.so)" \
          ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
PY_ARGS := --ignore=tests/test_distributed.py
endif
test-python: $(BINS)
	cd client/python && $(TEST_ENV) $(PY_ENV) PYTHONPATH=$(abspath client/python) \
	  PYTHONDONTWRITEBYTECODE=1 timeout 1200 /usr/bin/python3 -m pytest -q -p no:cacheprovider \
	  $(PY_ARGS) tests

# ---- containers and scale-out (docs/DEPLOY.md) --------------------------------
#   make docker-test   build docker/Dockerfile with podman, run the image, check it
#   make deploy-test   replicas behind nginx (no containers); the k8s manifests checked
DOCKER_IMAGE    := glorotd:$(VERSION)
GLOROT_CI_CACHE ?= /var/cache/glorotd-ci
DOCKER_PKGS := podman runc netavark aardvark-dns iptables debootstrap zstd curl git python3
DEPLOY_PKGS := nginx python3 python3-yaml

.PHONY: docker-test deploy-test deps-docker deps-deploy
deps-docker:
	$(call install_missing,$(DOCKER_PKGS))
deps-deploy:
	$(call install_missing,$(DEPLOY_PKGS))

docker-test: deps-run deps-docker
	$(MAKE) all
	$(TEST_ENV) GLOROT_IMAGE=$(DOCKER_IMAGE) GLOROT_VERSION=$(VERSION) \
	  GLOROT_CI_CACHE=$(GLOROT_CI_CACHE) timeout 900 docker/test.sh

deploy-test: deps-run deps-deploy
	$(MAKE) all
	@set -e; for t in tests/deploy/test_*.py; do echo "== $$t"; \
	  $(TEST_ENV) GLOROT_IMAGE=$(DOCKER_IMAGE) timeout 300 /usr/bin/python3 $$t; done

# ---- benchmarks (not part of check; bench/README.md) ---------------------------
BENCH_PKGS := $(CHECK_PKGS) nginx wrk python3-torch
BENCH_BINS := $(B)/bench/bench_kernels $(B)/bench/bench_fetch $(B)/bench/bench_inits
.PHONY: bench deps-bench
.PRECIOUS: $(B)/bench/%.o

deps-bench:
	$(call install_missing,$(BENCH_PKGS))

$(B)/bench/%: $(B)/bench/%.o $(CLIENT_A)
	$(CC) $(LDFLAGS) -o $@ $^ $(CLIENT_LIBS)

bench: deps-bench
	$(MAKE) all $(BENCH_BINS)
	B=$(abspath $(B)) timeout 1200 bench/run.sh

# ---- install -----------------------------------------------------------------
# The Python package goes where Debian's python3 looks: /usr/lib/python3/dist-packages
# for PREFIX=/usr, $(PREFIX)/lib/python3.X/dist-packages for other prefixes
# (/usr/local/lib/python3.11/dist-packages is on Debian 12's sys.path).
PY_VER := $(shell /usr/bin/python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
ifeq ($(PREFIX),/usr)
PYTHON_SITE ?= $(PREFIX)/lib/python3/dist-packages
else
PYTHON_SITE ?= $(PREFIX)/lib/python$(if $(PY_VER),$(PY_VER),3)/dist-packages
endif
install: all
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include/glorot $(DESTDIR)$(PREFIX)/bin
	install -m 644 client/include/glorot/client.h $(DESTDIR)$(PREFIX)/include/glorot/
	install -m 644 $(CLIENT_A) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(CLIENT_SO) $(DESTDIR)$(PREFIX)/lib/libglorot-client.so.0
	ln -sf libglorot-client.so.0 $(DESTDIR)$(PREFIX)/lib/libglorot-client.so
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' client/glorot-client.pc.in \
	  > $(DESTDIR)$(PREFIX)/lib/pkgconfig/glorot-client.pc
	install -m 755 $(GLOROTD) $(GLOROT) $(DESTDIR)$(PREFIX)/bin/
	install -d $(DESTDIR)$(PYTHON_SITE)/glorot
	install -m 644 client/python/glorot/*.py client/python/glorot/py.typed $(DESTDIR)$(PYTHON_SITE)/glorot/

# ---- lint --------------------------------------------------------------------
# Every C file we own: format, no banned calls (STYLE.md: they hide a missing
# bound), and compiled with CFLAGS, whose -Werror -Wmissing-prototypes makes a
# function that is neither static nor declared in a header an error; then read
# by clang-14 too, whose warnings differ (the fuzz build uses it). The SIMD
# files need per-file targets under clang: the fuzz build compiles those.
LINT_PKGS   := clang-format clang-14
LINT_SRC    := $(PROTO_SRC) $(SERVER_SRC) $(CLIENT_SRC) $(CLI_SRC) $(UNIT_SRC) $(SUNIT_SRC) \
               $(CUNIT_SRC) $(E2E_SRC) \
               $(SUPPORT_SRC) $(wildcard bench/*.c tests/fuzz/*.c client/examples/*.c server/tools/*.c)
LINT_HDR    := $(wildcard proto/*.h proto/*/*.h proto/*/*/*.h server/*.h client/lib/*.h \
               client/cli/*.h client/include/glorot/*.h tests/*/*.h tests/unit/*/*.h)
BANNED_RE   := atoi|atol|atoll|atof|sprintf|vsprintf|strcpy|strcat|strncpy|strncat|strtok|gets
LINT_OBJS   := $(call obj,$(filter-out tests/fuzz/% client/examples/% server/tools/%,$(LINT_SRC)))
.PHONY: deps-lint
deps-lint:
	$(call install_missing,$(LINT_PKGS))

lint: deps-lint
	clang-format --dry-run --Werror $(LINT_SRC) $(LINT_HDR)
	@hits=$$(grep -nE '\b($(BANNED_RE))[[:space:]]*\(' $(LINT_SRC) $(LINT_HDR) | \
	  grep -vE '^[^:]+:[0-9]+:[[:space:]]*(/\*|\*|//)'); \
	if [ -n "$$hits" ]; then echo "$$hits"; echo "lint: banned function (STYLE.md)"; exit 1; fi
	$(MAKE) --no-print-directory $(LINT_OBJS)
	$(CC) $(CFLAGS) -fsyntax-only -Iclient/include client/examples/*.c
	@echo "clang-14 -fsyntax-only (the fuzz build's compiler warns where gcc does not)"
	@clang-14 -fsyntax-only $(filter-out -fPIC,$(CFLAGS)) -Wno-unknown-pragmas \
	  $(filter-out proto/gen/simd/%,$(PROTO_SRC)) $(SERVER_SRC) $(CLIENT_SRC) $(CLI_SRC) \
	  $(UNIT_SRC) $(E2E_SRC) $(SUPPORT_SRC) $(wildcard bench/*.c)
	@clang-14 -fsyntax-only $(filter-out -fPIC,$(CFLAGS)) -Wno-unknown-pragmas -Iserver $(SUNIT_SRC)
	@clang-14 -fsyntax-only $(filter-out -fPIC,$(CFLAGS)) -Wno-unknown-pragmas -Iclient/lib \
	  $(CUNIT_SRC)
	$(CC) $(CFLAGS) -fsyntax-only server/tools/page_embed.c
	$(CC) $(CFLAGS) -fsyntax-only -Iserver tests/fuzz/fuzz_*.c

clean:
	rm -rf build build-asan

# optional: the image's build stage copies only the sources, not tests/
-include tests/reliability.mk

-include $(shell find $(B) -name '*.d' 2>/dev/null)
