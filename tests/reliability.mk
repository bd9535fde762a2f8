# tests/reliability.mk - fuzzing, valgrind and the soak (docs/RELIABILITY.md).
# Included by the Makefile; the hostile-client tests are e2e binaries
# (tests/e2e/test_hostile*.c) and run with make check / make asan.
include tests/fuzz/fuzz.mk
