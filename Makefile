# SPDX-License-Identifier: GPL-2.0
#
# kipsec top-level Makefile.
#
#   make            build kipsec.ko and tools/kipsec
#   make deps       install what building and testing need (Debian)
#   make check      run the test suites in a QEMU guest, then the
#                   two-guest strongSwan test
#   make demo       boot the guest and show kipsec at work
#   make bench      compare kipsec and Linux xfrm
#   make fuzz       a million mutated ESP packets at a live SA, and
#                   100,000 generated netlink requests
#   make lint       checkpatch --strict and sparse
#   make clean

# Kernel build directory: KDIR overrides.  Otherwise the running kernel's,
# when it has one, else the newest installed one that has a vmlinuz.
KDIR ?= $(shell scripts/find-kdir.sh)
KVER := $(shell basename $$(dirname $(KDIR)) 2>/dev/null)

CC ?= gcc
TOOL_CFLAGS := -O2 -g -Wall -Wextra -Werror -Wno-unused-parameter \
	-Iinclude $(shell pkg-config --cflags libmnl 2>/dev/null)
TOOL_LIBS := $(shell pkg-config --libs libmnl 2>/dev/null || echo -lmnl)
# tools/kipsec.c: a batch line's exit() returns to the batch loop
TOOL_LDFLAGS := -Wl,--wrap=exit
TOOL_SRCS := $(wildcard tools/*.c)
TOOL_HDRS := $(wildcard tools/*.h) include/uapi/linux/kipsec.h

.PHONY: all module tool deps check demo bench fuzz lint clean FORCE

all: module tool

module:
	@test -d "$(KDIR)" || { echo "kipsec: no kernel build directory (KDIR='$(KDIR)'); run 'make deps'" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

tool: tools/kipsec

tools/kipsec: $(TOOL_SRCS) $(TOOL_HDRS)
	$(CC) $(TOOL_CFLAGS) $(TOOL_LDFLAGS) -o $@ $(TOOL_SRCS) $(TOOL_LIBS)

deps:
	@scripts/deps.sh

# the suites dealt to two guests at once, then the two-guest test
# (tests/pair.sh) once a guest is done (tests/check.sh); every part runs
# even when another failed, and any failing fails check
check: deps
	@$(MAKE) --no-print-directory all
	@tests/check.sh

# the fuzz tests of 36-drops and 11-nlfuzz at full size (make check sends
# 20,000 packets and 3,000 requests); FUZZ_COUNT, NL_FUZZ_COUNT and
# FUZZ_SEED override
FUZZ_COUNT ?= 1000000
NL_FUZZ_COUNT ?= 100000
FUZZ_SEED ?= 1
FUZZ_ENV := DR_FUZZ_COUNT=$(FUZZ_COUNT) DR_FUZZ_SEED=$(FUZZ_SEED) \
	NL_FUZZ_COUNT=$(NL_FUZZ_COUNT) NL_FUZZ_SEED=$(FUZZ_SEED)
fuzz: deps
	@$(MAKE) --no-print-directory all
	@KIPSEC_VM_TIMEOUT=14400 tests/run-vm.sh shell '$(FUZZ_ENV) bash tests/lib/ktest.sh "36-drops:fuzzed|11-nlfuzz"'

demo: deps
	@$(MAKE) --no-print-directory all
	@tests/run-vm.sh demo

# Two boots: every row with 2 vCPUs, then the single-SA TCP row with 1 vCPU
# (the multi-core gain).  Rows also land in bench-results.json.  The guest
# gets 4 GB (100,000 SAs on each end) and up to 90 minutes.
# BENCH="BENCH_PROFILE=xfrm,kipsec" prints guest perf profiles instead.
BENCH_VM := KIPSEC_VM_MEM=4096 KIPSEC_VM_TIMEOUT=5400
bench: deps
	@$(MAKE) --no-print-directory all
	@mkdir -p tests/.build
	@$(BENCH_VM) tests/run-vm.sh bench "$(BENCH)" | tee tests/.build/bench-smp2.log
	@$(BENCH_VM) KIPSEC_VM_SMP=1 tests/run-vm.sh bench "BENCH_TAG=smp1 BENCH_ROWS=^tcp_1stream_gcm128$$ $(BENCH)" | tee tests/.build/bench-smp1.log
	@sed -n 's/^BENCH-JSON //p' tests/.build/bench-smp2.log tests/.build/bench-smp1.log | tr -d '\r' > bench-results.json
	@echo "bench: rows written to bench-results.json"

lint:
	@scripts/lint.sh

clean:
	@if [ -d "$(KDIR)" ]; then $(MAKE) -C $(KDIR) M=$(CURDIR) clean; fi
	rm -f tools/kipsec
	rm -rf tests/.build
