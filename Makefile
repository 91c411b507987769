# ctxcache -- one Makefile for the library, the command, tests, fuzzers and
# benchmarks.  Sources are picked up by folder, so adding a module is adding
# a file.  `make help` lists the targets.
#
#   make            library (build/libctxcache.a) and command (build/ctxcache)
#   make run        the main job on the built-in default workload
#   make test       build and run every test (cmocka unit tests + CLI tests)
#   make bench      benchmarks; figures in build/bench/bench.json
#   make check      the suite under ASan+UBSan (build-asan/), the threaded
#                   tests under ThreadSanitizer (build-tsan/)
#   make fuzz       libFuzzer harnesses (clang); make fuzz-run FUZZ_SECONDS=300
#   make deps       install the Debian packages the project needs (idempotent)
#   make install PREFIX=/usr/local   the command, its profiles, man page, docs
#   CUDA=0          build without the CUDA parts even when nvcc is present
#   MPI=auto|1|0    `ctxcache sweep` across processes with Open MPI (auto: when
#                   mpicc is present; 0: threads only; the tests work either way)

.DEFAULT_GOAL := all
SHELL := /bin/bash

BUILD ?= build
CC ?= cc
NVCC ?= nvcc
HAVE_NVCC := $(shell command -v $(NVCC) >/dev/null 2>&1 && echo 1 || echo 0)
CUDA ?= $(HAVE_NVCC)
# MPI: only the command (cli/) is compiled against it; the library and the
# tests are not, so MPI=0 changes nothing but `ctxcache sweep` under mpirun.
MPI ?= auto
HAVE_MPICC := $(shell command -v mpicc >/dev/null 2>&1 && echo 1 || echo 0)
ifeq ($(MPI),auto)
MPI_ON := $(HAVE_MPICC)
else
MPI_ON := $(MPI)
endif
ifeq ($(MPI_ON),1)
ifeq ($(HAVE_MPICC),0)
$(error MPI=1 but mpicc is not installed (make deps, or MPI=0))
endif
MPI_CFLAGS := $(shell mpicc --showme:compile)
MPI_LIBS := $(shell mpicc --showme:link)
endif

# Debian packages: build libraries, test and plot tools.
DEB_PACKAGES := build-essential pkg-config libhdf5-dev hdf5-tools libgsl-dev \
    libcmocka-dev libjansson-dev libxxhash-dev libopenblas-dev gnuplot-nox \
    libopenmpi-dev openmpi-bin clang libfuzzer-14-dev python3 python3-h5py \
    python3-numpy libonig-dev libutf8proc-dev libomp-14-dev

# openblas first: GSL adds -lgslcblas, and cblas_* must resolve to OpenBLAS.
PKGS := openblas hdf5 gsl jansson libxxhash oniguruma libutf8proc
# Deferred (=) so that pkg-config runs after `deps` has installed it.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lhdf5_hl

WARN := -Wall -Wextra -Wshadow -Wno-unused-parameter -Wstrict-prototypes -Wno-format-truncation
CFLAGS ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) -fopenmp -I. $(PKG_CFLAGS) \
    -DCC_HAVE_CUDA=$(CUDA) $(SAN_FLAGS)
# SAN=address|thread: a sanitized build (make check sets it, with its own BUILD).
SAN ?=
ifeq ($(SAN),address)
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
endif
ifeq ($(SAN),thread)
SAN_FLAGS := -fsanitize=thread
endif
LDLIBS = $(PKG_LIBS) -lm -fopenmp -lpthread
ifeq ($(CUDA),1)
CUDA_HOME ?= $(patsubst %/bin/nvcc,%,$(shell command -v $(NVCC)))
LDLIBS += -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcublas -lcudart -lstdc++
NVFLAGS ?= -O2 -std=c++17 -I. --generate-code arch=compute_80,code=sm_80 \
    --generate-code arch=compute_90,code=sm_90
endif

LIB_DIRS := core policies traces sim gpu analysis
LIB_SRC := $(sort $(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.c)))
CU_SRC := $(sort $(wildcard gpu/*.cu))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
ifeq ($(CUDA),1)
LIB_OBJ += $(CU_SRC:%.cu=$(BUILD)/obj/%.cu.o)
endif
CLI_SRC := $(sort $(wildcard cli/*.c))
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
TEST_SRC := $(sort $(wildcard tests/test_*.c))
TEST_BIN := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
# test_ghost once more with the ghost table's plain-C bucket compare (what
# machines without SSE2 build; see its rule below)
TEST_BIN += $(BUILD)/tests/test_ghost_scalar
BENCH_SRC := $(sort $(wildcard bench/bench_*.c))
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
comma := ,
FUZZ_SRC := $(sort $(wildcard fuzz/fuzz_*.c))
FUZZ_BIN := $(FUZZ_SRC:fuzz/%.c=$(BUILD)/fuzz/%)

LIB := $(BUILD)/libctxcache.a
BIN := $(BUILD)/ctxcache
HEADERS := $(wildcard */*.h)

.PHONY: all deps run test bench fuzz fuzz-run fuzz-corpus check clean help install
all: $(BIN)

# Idempotent and quick once done: one dpkg-query, apt-get only for what is
# missing.  Skipped when not root and everything is present.
deps:
	@missing=$$(for p in $(DEB_PACKAGES); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; \
	  done); \
	if [ -n "$$missing" ]; then \
	  echo "deps: installing $$missing"; \
	  if [ "$$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# A stamp per CUDA setting: switching CUDA=0/1 rebuilds the objects (the
# no-CUDA twins compile to nothing when CUDA=1).
CUDA_STAMP := $(BUILD)/.cuda-$(CUDA)
$(CUDA_STAMP):
	@mkdir -p $(BUILD) && rm -f $(BUILD)/.cuda-* && touch $@

MPI_STAMP := $(BUILD)/.mpi-$(MPI_ON)
$(MPI_STAMP):
	@mkdir -p $(BUILD) && rm -f $(BUILD)/.mpi-* && touch $@
$(CLI_OBJ): $(MPI_STAMP)
$(CLI_OBJ): ALL_CFLAGS += $(MPI_CFLAGS) -DCC_HAVE_MPI=$(MPI_ON)

# The version the build reports: CC_VERSION_BASE (core/core.h) plus `git
# describe` of the checkout when there is one.  Only core/version.o gets it;
# a stamp per value rebuilds that one object when it changes.
GIT_VERSION := $(shell git describe --tags --always --dirty 2>/dev/null | tr -cd 'A-Za-z0-9._-')
VERSION_STAMP := $(BUILD)/.version-$(GIT_VERSION)
$(VERSION_STAMP):
	@mkdir -p $(BUILD) && rm -f $(BUILD)/.version-* && touch $@
$(BUILD)/obj/core/version.o: $(VERSION_STAMP)
ifneq ($(GIT_VERSION),)
$(BUILD)/obj/core/version.o: ALL_CFLAGS += -DCC_GIT_VERSION='"$(GIT_VERSION)"'
endif

$(BUILD)/obj/%.o: %.c $(HEADERS) $(CUDA_STAMP) | deps
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/obj/%.cu.o: %.cu $(HEADERS) $(wildcard gpu/*.cuh) $(CUDA_STAMP) | deps
	@mkdir -p $(dir $@)
	$(NVCC) $(NVFLAGS) -c $< -o $@

# Under TSan the CPU kernels stay uninstrumented: their target_clones
# resolvers (ifuncs) run while the loader relocates, before TSan has started,
# and an instrumented resolver crashes there.  The threaded code that
# `make check` runs under TSan (sweep, mrc) is not in that file.
ifeq ($(SAN),thread)
$(BUILD)/obj/gpu/ops_cpu.o: SAN_FLAGS :=
endif

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BIN): $(CLI_OBJ) $(LIB)
	$(CC) $(ALL_CFLAGS) -o $@ $(CLI_OBJ) $(LIB) $(LDLIBS) $(MPI_LIBS)

$(BUILD)/tests/%: tests/%.c $(LIB) $(HEADERS) tests/testutil.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB) $(LDLIBS) -lcmocka

# policies/ghost.c and core/block_index.c compiled with __SSE2__ undefined,
# linked ahead of the library's copies, so that the x86 build tests the
# portable path as well.
$(BUILD)/tests/test_ghost_scalar: tests/test_ghost.c policies/ghost.c core/block_index.c $(LIB) $(HEADERS) tests/testutil.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -U__SSE2__ -o $@ tests/test_ghost.c policies/ghost.c core/block_index.c $(LIB) $(LDLIBS) -lcmocka

$(BUILD)/bench/%: bench/%.c $(LIB) $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB) $(LDLIBS)

# Developer tools (tools/*.c): never needed by tests or the build.
$(BUILD)/tools/%: tools/%.c $(LIB) $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB) $(LDLIBS)

# The main job on the built-in default workload: generate it, describe it,
# replay it through a two-tier prefix cache (HBM then DRAM, LRU) in the
# serving simulator (requests overlapping, continuous batching: the replay's
# default), beside the same run without the cache, and keep the figures as
# JSON.
RUN_CACHE := --tiers hbm:2000,dram:10000 --policy lru
run: $(BIN)
	@mkdir -p $(BUILD)/run
	./$(BIN) gen default -o $(BUILD)/run/default.h5 --seed 1
	./$(BIN) trace stats $(BUILD)/run/default.h5
	./$(BIN) trace stats $(BUILD)/run/default.h5 --json > $(BUILD)/run/default_stats.json
	./$(BIN) replay $(BUILD)/run/default.h5 $(RUN_CACHE) --compare-no-cache
	./$(BIN) replay $(BUILD)/run/default.h5 $(RUN_CACHE) --json \
	  -o $(BUILD)/run/results.h5 > $(BUILD)/run/replay.json
	./$(BIN) replay $(BUILD)/run/default.h5 $(RUN_CACHE) --no-cache \
	  -o $(BUILD)/run/results_nocache.h5 > /dev/null
	./$(BIN) replay $(BUILD)/run/default.h5 --tiers hbm:2000,dram:10000 --policy s3fifo \
	  -o $(BUILD)/run/results_s3fifo.h5 > /dev/null
	./$(BIN) mrc $(BUILD)/run/default.h5 --policy lru --sizes auto -o $(BUILD)/run/mrc.csv > /dev/null
	./$(BIN) cost $(BUILD)/run/default.h5 --pricing gemini-explicit,moonshot-2024,anthropic-5m \
	  --ttl-sweep 60,300,900,3600 --csv $(BUILD)/run/cost.csv > /dev/null
	./$(BIN) sweep examples/sweep.spec -o $(BUILD)/run/sweep.h5 > /dev/null
	./$(BIN) report $(BUILD)/run/results.h5 $(BUILD)/run/results_nocache.h5 \
	  $(BUILD)/run/results_s3fifo.h5 $(BUILD)/run/sweep.h5 $(BUILD)/run/mrc.csv \
	  $(BUILD)/run/cost.csv -o $(BUILD)/run/report.html --title "ctxcache: default workload"
	@echo "results: $(BUILD)/run/results.h5 (per-request table and configuration)," \
	  "$(BUILD)/run/replay.json (summary), $(BUILD)/run/default.h5 (the trace)"
	@echo "report: $(BUILD)/run/report.html (open it in a browser; figures in $(BUILD)/run/report_plots)"

test: $(BIN) $(TEST_BIN)
	@BUILD=$(BUILD) bash tests/run_all.sh $(TEST_BIN)

bench: $(BIN) $(BENCH_BIN)
	@mkdir -p $(BUILD)/bench
	@BUILD=$(BUILD) bash bench/run.sh $(BENCH_BIN)

# Fuzzers: clang + libFuzzer + ASan/UBSan, linked against a sanitized copy of
# the library so that bugs inside it are caught too.
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -I. $(PKG_CFLAGS)
FUZZ_LIB_OBJ = $(LIB_SRC:%.c=$(BUILD)/fuzzobj/%.o)
$(BUILD)/fuzzobj/%.o: %.c $(HEADERS) | deps
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS:-fsanitize=fuzzer,%=-fsanitize=fuzzer-no-link,%) -fopenmp=libgomp -c $< -o $@
$(BUILD)/fuzz/%: fuzz/%.c $(wildcard fuzz/*.h) $(FUZZ_LIB_OBJ)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_LIB_OBJ) $(PKG_LIBS) -lgomp -lm
fuzz: $(FUZZ_BIN)
FUZZ_SECONDS ?= 60
# Seed corpora: written by fuzz/make_corpus.py (none in the repository); the
# HDF5 seeds are made with the command.
fuzz-corpus: $(BIN)
	python3 fuzz/make_corpus.py $(BUILD)/fuzz-corpus --ctxcache $(BIN)
# FUZZERS=fuzz_h5,fuzz_azure (names) runs only those.
FUZZERS ?=
fuzz-run: $(FUZZ_BIN) fuzz-corpus
	@BUILD=$(BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) bash fuzz/run.sh \
	  $(if $(FUZZERS),$(patsubst %,$(BUILD)/fuzz/%,$(subst $(comma), ,$(FUZZERS))),$(FUZZ_BIN))

# make check: the whole suite again under AddressSanitizer + UBSan (gcc,
# build-asan/), then the threaded tests (sweep with pthreads, mrc with OpenMP
# threads) under ThreadSanitizer (clang, build-tsan/).  TSan does not see the
# ordering that an uninstrumented OpenMP runtime's barriers give, so the TSan
# build links LLVM's libomp and loads its Archer tool (OMP_TOOL_LIBRARIES),
# which tells TSan about those barriers: no suppressions.  CUDA and MPI are
# left out of both (their runtimes are not instrumented); BLAS runs on one
# thread under TSan.  On a 2-core machine shared with ~8 other jobs the
# ASan suite took about 10 minutes and the TSan tests about 13 (plus the two
# builds); an idle CI machine should need well under half that.
CHECK_TSAN_TESTS := test_sweep test_mrc test_cli_sweep test_cli_mrc
ARCHER := $(firstword $(wildcard /usr/lib/llvm-*/lib/libarcher.so))
check: deps
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
	  $(MAKE) BUILD=build-asan SAN=address CUDA=0 MPI=0 CFLAGS='-O1 -g' NO_STDBUF=1 test
	$(MAKE) BUILD=build-tsan SAN=thread CC=clang CUDA=0 MPI=0 CFLAGS='-O1 -g' \
	  build-tsan/ctxcache $(CHECK_TSAN_TESTS:%=build-tsan/tests/%)
	@test -n "$(ARCHER)" || { echo "check: libarcher.so not found (make deps installs libomp-14-dev)"; exit 1; }
	@BUILD=build-tsan NO_STDBUF=1 OMP_TOOL_LIBRARIES=$(ARCHER) OPENBLAS_NUM_THREADS=1 \
	  TSAN_OPTIONS='halt_on_error=1 exitcode=66 ignore_noninstrumented_modules=1' \
	  bash tests/run_all.sh $(CHECK_TSAN_TESTS:%=build-tsan/tests/%)

# PREFIX/bin/ctxcache finds its profiles in PREFIX/share/ctxcache/profiles
# (relative to the binary, so DESTDIR staging works; sim/profile.c).
PREFIX ?= /usr/local
DESTDIR ?=
install: $(BIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/ctxcache/profiles/hardware \
	  $(DESTDIR)$(PREFIX)/share/ctxcache/profiles/model $(DESTDIR)$(PREFIX)/share/man/man1 \
	  $(DESTDIR)$(PREFIX)/share/doc/ctxcache
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/ctxcache
	install -m 644 sim/profiles/hardware/*.profile $(DESTDIR)$(PREFIX)/share/ctxcache/profiles/hardware/
	install -m 644 sim/profiles/model/*.profile $(DESTDIR)$(PREFIX)/share/ctxcache/profiles/model/
	install -m 644 sim/profiles/README.md $(DESTDIR)$(PREFIX)/share/ctxcache/profiles/
	bash tools/mkman.sh $(BIN) > $(DESTDIR)$(PREFIX)/share/man/man1/ctxcache.1
	install -m 644 README.md LICENSE docs/*.md $(DESTDIR)$(PREFIX)/share/doc/ctxcache/
	@echo "installed: $(DESTDIR)$(PREFIX)/bin/ctxcache (man ctxcache; profiles in $(PREFIX)/share/ctxcache/profiles)"

clean:
	rm -rf $(BUILD)

help:
	@sed -n '1,13p' Makefile | sed 's/^# \{0,1\}//'
