# tests/fuzz/fuzz.mk - libFuzzer harnesses (included by the Makefile).
#
#   make fuzz       every harness for FUZZ_SECONDS (default 60) each
#   make fuzz-ci    every harness for FUZZ_CI_SECONDS (default 15) each (.ci/run)
#   make fuzz-regress  replay the checked-in corpora and findings once
#
# clang-14 with -fsanitize=fuzzer,address,undefined; proto and the few server
# files the harnesses drive are compiled again with the same flags into
# build-fuzz/. Seeds: tests/fuzz/corpus/<harness>/ (checked in); what a run
# adds goes to build-fuzz/corpus/<harness>/; crashes to build-fuzz/crash-*.
FUZZ_CC       ?= clang-14
FUZZ_SECONDS  ?= 60
FUZZ_CI_SECONDS ?= 15
FB            := build-fuzz
FUZZ_NAMES    := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS     := $(patsubst %,$(FB)/fuzz_%,$(FUZZ_NAMES))
FUZZ_SERVER   := server/tensor.c server/params.c server/errors.c server/stats.c server/routes.c \
                 server/range.c server/reply.c server/metrics.c
FUZZ_CFLAGS   := -std=c11 -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -Wmissing-prototypes \
                 -Wshadow -Wstrict-prototypes -Wvla -Wno-unknown-pragmas -O1 -g -ffp-contract=off \
                 -fno-fast-math -fno-omit-frame-pointer -DGLOROT_VERSION='"$(VERSION)"' -Iproto -Iserver \
                 -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_OBJS     := $(patsubst %.c,$(FB)/%.o,$(PROTO_SRC) $(FUZZ_SERVER))
FUZZ_PKGS     := clang-14 libclang-rt-14-dev

.PHONY: fuzz fuzz-ci fuzz-build fuzz-regress deps-fuzz
.SECONDARY: $(FUZZ_OBJS)
# The SIMD kernels select their target with gcc's "#pragma GCC target", which
# clang ignores (-Wno-unknown-pragmas): give clang the target per file instead
# (proto/gen/cpu.c still calls them only on CPUs that have it).
$(FB)/proto/gen/simd/simd_avx2.o: FUZZ_TARGET := -mavx2
$(FB)/proto/gen/simd/simd_avx512.o: FUZZ_TARGET := -mavx512f -mavx512bw -mavx512vl -mavx512dq
$(FB)/proto/gen/simd/simd_cnormal_avx2.o: FUZZ_TARGET := -mavx2
$(FB)/proto/gen/simd/simd_cnormal_avx512.o: FUZZ_TARGET := -mavx512f -mavx512bw -mavx512vl -mavx512dq
$(FB)/proto/gen/simd/simd_normal_avx2.o: FUZZ_TARGET := -mavx2 -mfma -mf16c
$(FB)/proto/gen/simd/simd_normal_avx512.o: FUZZ_TARGET := -mavx512f -mavx512bw -mavx512vl -mavx512dq
deps-fuzz:
	$(call install_missing,$(FUZZ_PKGS) $(RUN_PKGS))

$(FB)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_TARGET) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FB)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz_util.h $(FUZZ_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJS) \
	  -lmicrohttpd -ljansson -lsodium -lm

fuzz-build: deps-fuzz
	$(MAKE) $(FUZZ_BINS)

# Run each harness for $(1) seconds on its corpus; any crash, leak, sanitizer
# report or failed check stops it with a nonzero status and a crash-* file.
define fuzz_run
	@set -e; for n in $(FUZZ_NAMES); do \
	  mkdir -p $(FB)/corpus/$$n; \
	  echo "== fuzz_$$n ($(1) s)"; \
	  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  $(FB)/fuzz_$$n -max_total_time=$(1) -timeout=10 -rss_limit_mb=1024 -max_len=4096 \
	    -print_final_stats=1 -artifact_prefix=$(FB)/crash-$$n- \
	    $(FB)/corpus/$$n tests/fuzz/corpus/$$n 2>$(FB)/fuzz_$$n.log \
	    || { tail -n 60 $(FB)/fuzz_$$n.log; exit 1; }; \
	  grep -E 'stat::number_of_executed_units|DONE' $(FB)/fuzz_$$n.log | tr '\n' ' '; echo; \
	done
endef

fuzz: fuzz-build fuzz-regress
	$(call fuzz_run,$(FUZZ_SECONDS))

fuzz-ci: fuzz-build fuzz-regress
	$(call fuzz_run,$(FUZZ_CI_SECONDS))

# Every checked-in input (seeds and past findings) once: a finding fixed
# stays fixed.
fuzz-regress: fuzz-build
	@set -e; for n in $(FUZZ_NAMES); do \
	  ASAN_OPTIONS=detect_leaks=1 $(FB)/fuzz_$$n -runs=0 tests/fuzz/corpus/$$n >/dev/null 2>&1 \
	    || { echo "fuzz_$$n: a checked-in input fails"; \
	         $(FB)/fuzz_$$n -runs=0 tests/fuzz/corpus/$$n 2>&1 | tail -n 40; exit 1; }; \
	done; echo "fuzz-regress: every checked-in input passes"

-include $(shell find $(FB) -name '*.d' 2>/dev/null)
