# tests/reliability.mk - fuzzing, valgrind and the soak (docs/RELIABILITY.md).
# Included by the Makefile; the hostile-client tests are e2e binaries
# (tests/e2e/test_hostile*.c) and run with make check / make asan.
include tests/fuzz/fuzz.mk

# ---- valgrind: the daemon under memcheck with a scripted request mix ----------
.PHONY: valgrind deps-valgrind
deps-valgrind:
	$(call install_missing,$(RUN_PKGS) valgrind curl)

valgrind: deps-valgrind
	$(MAKE) all
	GLOROTD_BIN=$(abspath $(GLOROTD)) timeout 600 tests/valgrind/run.sh

# ---- soak: wrk + the client library on loopback, every answer checked ---------
SOAK_SECONDS ?= 300
.PHONY: soak deps-soak
deps-soak:
	$(call install_missing,$(RUN_PKGS) wrk curl)

soak: deps-soak
	$(MAKE) all
	GLOROTD_BIN=$(abspath $(GLOROTD)) GLOROT_BIN=$(abspath $(GLOROT)) SOAK_SECONDS=$(SOAK_SECONDS) \
	  timeout $$(( $(SOAK_SECONDS) + 300 )) tests/soak/run.sh
