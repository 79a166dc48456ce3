# sjtalign — build, test, demo, bench, install.
# `make deps` installs the Debian packages the build and tests need.

PREFIX  ?= /usr/local
CC      ?= cc
BUILD   ?= build
SAN     ?=
OPT     ?= -O2 -g

DEB_PACKAGES := libgsl-dev libopenblas-dev libcsv-dev libcjson-dev pkg-config libcmocka-dev nettle-dev \
                python3 python3-numpy clang libclang-rt-14-dev libomp-dev valgrind \
                libopenmpi-dev openmpi-bin

# `override`: flags given on the command line (make CFLAGS=-O3) come after
# the ones the build needs, so they add to them (and win where they differ)
# but never put them out of place.
override CPPFLAGS := -Iinclude -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(CPPFLAGS)
override CFLAGS   := -std=c11 $(OPT) -Wall -Wextra -Werror -fopenmp -MMD -MP $(CFLAGS)
# GSL is linked against OpenBLAS (its CBLAS), never against libgslcblas.
override LDLIBS   += -lgsl -lopenblas -lcsv -lcjson -lnettle -lm -fopenmp

# The MPI build (make mpi): the same sources through Open MPI's mpicc, with
# src/dist/dist.c's MPI calls compiled in. Every other build has no MPI.
ifeq ($(MPI),1)
override CPPFLAGS += -DSJ_WITH_MPI
endif

ifeq ($(SAN),1)
override CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
override LDFLAGS += -fsanitize=address,undefined
endif
# libFuzzer builds (clang): the library is instrumented for coverage; each
# fuzz target links libFuzzer's main.
# Under the sanitizers clang cannot always honour `omp simd`; that is a lost
# optimisation, not a defect, so -Wpass-failed is off in this build only.
ifeq ($(SAN),fuzz)
override CFLAGS  += -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
                    -fno-sanitize-recover=undefined -Wno-pass-failed
override LDFLAGS += -fsanitize=address,undefined
endif

LIB_SRC  := $(sort $(filter-out src/cli/%,$(wildcard src/*/*.c)))
CLI_SRC  := $(sort $(wildcard src/cli/*.c))
TEST_SRC := $(sort $(wildcard tests/unit/test_*.c))
BENCH_SRC := $(sort $(wildcard bench/*.c))

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
TEST_BIN := $(TEST_SRC:tests/unit/%.c=$(BUILD)/tests/%)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

LIB := $(BUILD)/libsjtalign.a
BIN := $(BUILD)/sjtalign
ifeq ($(shell uname -m),x86_64)
FAST_ARCH ?= x86-64-v3
endif
ifneq ($(FAST_ARCH),)
FAST_LM_OBJ := $(patsubst $(BUILD)/obj/%,$(BUILD)/obj-$(FAST_ARCH)/%,$(filter $(BUILD)/obj/src/lm/%,$(LIB_OBJ)))
FAST_BIN := $(BUILD)/sjtalign-$(FAST_ARCH)
endif

.PHONY: all deps test test-asan install clean format cppcheck bench demo study fuzz fuzz-build valgrind \
        mpi test-mpi

all: $(BIN) $(FAST_BIN) $(LIB)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

# The language model's element-wise kernels (exp, GELU, softmax, LayerNorm)
# vectorise much better with AVX2/FMA. The library and `sjtalign` are built
# for the compiler's default target and run on any CPU of the architecture.
# On x86-64 a second program, `sjtalign-x86-64-v3`, links the same objects
# with the lm compiled for x86-64-v3 (CPUs from 2015 on); `sjtalign` hands
# over to it at start when the CPU can run it (SJTALIGN_KERNELS=portable
# keeps the portable kernels). FAST_ARCH= builds the portable program only.
# No code in the lm relies on floating-point traps, which would block
# vectorising.
ifneq ($(FAST_ARCH),)
$(BUILD)/obj-$(FAST_ARCH)/src/lm/%.o: src/lm/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -march=$(FAST_ARCH) -fno-trapping-math -c $< -o $@
$(FAST_BIN): $(CLI_OBJ) $(filter-out $(BUILD)/obj/src/lm/%,$(LIB_OBJ)) $(FAST_LM_OBJ)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@
endif

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(BIN): $(CLI_OBJ) $(LIB)
	$(CC) $(LDFLAGS) $(CLI_OBJ) $(LIB) $(LDLIBS) -o $@

$(BUILD)/tests/%: tests/unit/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Itests $(LDFLAGS) $< $(LIB) -lcmocka $(LDLIBS) -o $@

# The option-table tests also link the command layer (all of it but main),
# whose specs they check against the library's defaults.
CLI_TEST_OBJ := $(filter-out $(BUILD)/obj/src/cli/main.o,$(CLI_OBJ))
$(BUILD)/tests/test_cli_options: tests/unit/test_cli_options.c $(CLI_TEST_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Itests -Isrc/cli $(LDFLAGS) $< $(CLI_TEST_OBJ) $(LIB) -lcmocka $(LDLIBS) -o $@

$(BUILD)/bench/%: bench/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) $< $(LIB) $(LDLIBS) -o $@

deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else echo "all build and test packages are present"; fi

test: $(BIN) $(FAST_BIN) $(TEST_BIN)
	@SJTALIGN_SANITIZED=$(SAN) tests/run_tests.sh $(BUILD)

test-asan:
	$(MAKE) BUILD=build/asan SAN=1 OPT="-O1 -g" test

# build/sjtalign-mpi (and on x86-64 build/sjtalign-mpi-x86-64-v3, which it
# hands over to as sjtalign does): every module compiled by mpicc in
# build/mpi/, linked under the names beside the default build's programs.
MPICC ?= mpicc
MPI_BUILD := build/mpi
mpi:
	$(MAKE) BUILD=$(MPI_BUILD) CC=$(MPICC) MPI=1 $(MPI_BUILD)/sjtalign \
	  $(if $(FAST_ARCH),$(MPI_BUILD)/sjtalign-$(FAST_ARCH)) $(MPI_BUILD)/tests/grad_check \
	  $(MPI_BUILD)/tests/grad_check_ppo
	ln -f $(MPI_BUILD)/sjtalign build/sjtalign-mpi
	$(if $(FAST_ARCH),ln -f $(MPI_BUILD)/sjtalign-$(FAST_ARCH) build/sjtalign-mpi-$(FAST_ARCH))

# The gradient identity of data-parallel training (tests/mpi/test_mpi_train.sh
# and test_mpi_ppo.sh): programs on the library that run the training steps'
# own share and exchange code (PPO's internal update) under mpirun.
$(BUILD)/tests/grad_check: tests/mpi/grad_check.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Isrc/align $(LDFLAGS) $< $(LIB) $(LDLIBS) -o $@
$(BUILD)/tests/grad_check_ppo: tests/mpi/grad_check_ppo.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Isrc/align $(LDFLAGS) $< $(LIB) $(LDLIBS) -o $@

# The MPI tests (tests/mpi/): mpirun -np 1, 2 and 3 on this machine.
test-mpi: mpi $(BIN) $(FAST_BIN)
	@tests/mpi/run_mpi_tests.sh $(BUILD)

# Memory check: CLI tests with every sjtalign process under valgrind
# (definite leaks and invalid accesses fail); VALGRIND_TESTS picks the tests.
VALGRIND_TESTS ?=
valgrind: $(BIN) $(FAST_BIN)
	@tests/valgrind/run_valgrind.sh $(BUILD) $(VALGRIND_TESTS)

# Renders the report pages in headless Chromium (installed when missing):
# screenshot not blank, print-to-PDF page counts on A4 and Letter.
.PHONY: test-browser
test-browser: $(BIN) $(FAST_BIN)
	@tests/report/browser_test.sh $(BUILD)

# The whole demo: simulate, train, align, audit, compare (instruments/demo/pipeline.json).
# Re-running skips finished stages.
demo: $(BIN) $(FAST_BIN)
	$(BIN) run instruments/demo/pipeline.json

# The replication study: the pipeline over 10 seeds x 3 conditions
# (instruments/study/study.json) into runs/study/. Re-running skips finished
# replications.
study: $(BIN) $(FAST_BIN)
	$(BIN) study instruments/study/study.json

bench: $(BIN) $(FAST_BIN) $(BENCH_BIN)
	@bench/run_bench.sh $(BUILD)

# Fuzzing: `make fuzz` runs every target in tests/fuzz/ for FUZZ_SECONDS each,
# starting from its seed corpus; crashes land in build/fuzz/crashes/.
FUZZ_SECONDS ?= 60
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
# Every CLI object but main: the pipeline checks its settings against the
# commands' option tables, which live beside each command.
FUZZ_CLI_OBJ := $(filter-out $(BUILD)/obj/src/cli/main.o,$(CLI_OBJ))

$(BUILD)/fuzz/%: tests/fuzz/%.c $(LIB) $(FUZZ_CLI_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Isrc/cli -fsanitize=fuzzer $< $(FUZZ_CLI_OBJ) $(LIB) $(LDLIBS) -o $@

fuzz-build: $(FUZZ_BIN)

fuzz:
	$(MAKE) BUILD=build/fuzz SAN=fuzz CC=clang OPT="-O1 -g" fuzz-build
	tests/fuzz/run_fuzz.sh build/fuzz $(FUZZ_SECONDS)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/sjtalign
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/sjtalign
	$(if $(FAST_BIN),install -m 755 $(FAST_BIN) $(DESTDIR)$(PREFIX)/bin/sjtalign-$(FAST_ARCH))
	install -m 644 $(LIB) $(DESTDIR)$(PREFIX)/lib/libsjtalign.a
	install -m 644 include/sjtalign/*.h $(DESTDIR)$(PREFIX)/include/sjtalign/

format:
	clang-format -i $(LIB_SRC) $(CLI_SRC) $(TEST_SRC) $(BENCH_SRC) include/sjtalign/*.h $(wildcard src/*/*.h tests/*.h)

cppcheck:
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
	  --inline-suppr --suppress=missingIncludeSystem -Iinclude src include

clean:
	rm -rf build

-include $(LIB_OBJ:.o=.d) $(FAST_LM_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_BIN:=.d) $(BENCH_BIN:=.d) $(FUZZ_BIN:=.d)
