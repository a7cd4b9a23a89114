# mk/reliability.mk -- reliability suite (issue 5): thread stress, resource
# exhaustion, libFuzzer, sanitizers and the ABI guard.  See docs/RELIABILITY.md.
#
#   make test-reliability  (part of make test) stress 20 s (10 s per backend: epoll,
#                          poll), exhaustion over each backend, ABI guard,
#                          FUZZ_SECONDS (60) of fuzzing (the input picks the backend)
#   make sanitize          (part of make test) Swift tests under ASan and TSan; stress, exhaustion and the
#                          C suite (Tests/c) against an ASan+UBSan and a TSan build of
#                          the library; the Python suite with the ASan runtime preloaded
#   make test-stress       STRESS_SECONDS=600 make test-stress for a long run
#   make test-exhaust
#   make fuzz              FUZZ_SECONDS=3600 make fuzz for a long run (FUZZ_JOBS=2)
#   make abi-check         compare the shipped library and header with Tests/abi/
#   make abi-baseline      record an intended ABI change in Tests/abi/ (then commit it)
#
# The stress and exhaustion programs link against a private install
# (make stage STAGE=build/stage-rel) through pkg-config, as users do.  The sanitized
# library is a normal-mode (not Embedded) SwiftPM build of the same sources, with
# ASan (+ UBSan for the C shim) in .build-asan, TSan in .build-tsan; those scratch
# folders are shared with the sanitized `swift test` runs.

APT_PACKAGES += abigail-tools pkg-config
# make sanitize took 214 s on a clean clone (2 cores, builds included): it is part of
# make test too.
TEST_TARGETS += test-reliability sanitize

REL_DIR        := $(BUILD)/rel
REL_STAGE      := $(BUILD)/stage-rel
REL_CC         ?= $(CC)
REL_CFLAGS     ?= -O2 -g -std=gnu11 -Wall -Wextra -Werror
REL_PC          = PKG_CONFIG_PATH=$(REL_STAGE)/lib/pkgconfig pkg-config
SAN_CLANG      ?= /opt/swift/usr/bin/clang
SWIFT_RT_DIR   ?= /opt/swift/usr/lib/swift/linux
SAN_CLANG_RT   := $(shell $(SAN_CLANG) -print-resource-dir 2>/dev/null)/lib/linux
ASAN_SCRATCH   := $(CURDIR)/.build-asan
TSAN_SCRATCH   := $(CURDIR)/.build-tsan
ASAN_SWIFT_FLAGS := --scratch-path $(ASAN_SCRATCH) --sanitize=address \
	-Xcc -fsanitize=undefined -Xcc -fno-sanitize-recover=undefined
TSAN_SWIFT_FLAGS := --scratch-path $(TSAN_SCRATCH) --sanitize=thread
ASAN_CFLAGS    := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
TSAN_CFLAGS    := -O1 -g -fsanitize=thread
TSAN_LDFLAGS   := -L$(SWIFT_RT_DIR) -Wl,-rpath,$(SWIFT_RT_DIR) -ldispatch -lBlocksRuntime
# Leak checking stays on for the C programs; halt at the first report everywhere.
SAN_ENV        := SWIFT_BACKTRACE=enable=no \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
STRESS_SECONDS ?= 20
# Each sanitized stress run (ASan, TSan) is shorter: the sanitizers slow it 3-10x.
SAN_STRESS_SECONDS ?= 10
FUZZ_SECONDS   ?= 60
# The backends stress, exhaustion and the sanitized C runs go over.
REL_BACKENDS   ?= epoll poll
# $(call rel_share,SECONDS): one backend's share of SECONDS (at least 1).
rel_share = $$(( $(1) / $(words $(REL_BACKENDS)) > 0 ? $(1) / $(words $(REL_BACKENDS)) : 1 ))
FUZZ_JOBS      ?= 1
FUZZ_DIR       := $(BUILD)/fuzz
SAN_TIME_LOG   := $(BUILD)/sanitize-times.txt

.PHONY: test-reliability test-stress test-exhaust rel-stage rel-bin abi-check abi-baseline \
	fuzz fuzz-bin sanitize san-lib-asan san-lib-tsan san-swift-asan san-swift-tsan \
	san-c-asan san-c-tsan san-python

test-reliability: test-stress test-exhaust abi-check fuzz

rel-stage:
	@$(MAKE) --no-print-directory stage STAGE=$(REL_STAGE)

rel-bin: rel-stage
	@mkdir -p $(REL_DIR)
	@for t in stress exhaust; do \
		$(REL_CC) $(REL_CFLAGS) -o $(REL_DIR)/$$t $(CURDIR)/Tests/stress/$$t.c \
			$$($(REL_PC) --cflags --libs swiftpoll) -Wl,-rpath,$(REL_STAGE)/lib -lpthread || exit 1; \
	done

# Stress and exhaustion run over every Linux backend (SWIFTPOLL_BACKEND); stress
# gives each backend its share of STRESS_SECONDS, so the total does not grow.
test-stress: rel-bin
	@set -e; for b in $(REL_BACKENDS); do \
		echo "== stress over $$b ($(call rel_share,$(STRESS_SECONDS)) s)"; \
		SWIFTPOLL_BACKEND=$$b STRESS_SECONDS=$(call rel_share,$(STRESS_SECONDS)) $(REL_DIR)/stress; \
	done

test-exhaust: rel-bin
	@set -e; for b in $(REL_BACKENDS); do \
		echo "== exhaustion over $$b"; SWIFTPOLL_BACKEND=$$b $(REL_DIR)/exhaust; \
	done

# ---------------------------------------------------------------- ABI guard

abi-check: lib
	@CC=$(CC) $(CURDIR)/Tests/abi/check.sh check $(LIBDIR_B)/$(REALNAME) $(CURDIR)/include $(BUILD)/abi

abi-baseline: lib
	@CC=$(CC) $(CURDIR)/Tests/abi/check.sh update $(LIBDIR_B)/$(REALNAME) $(CURDIR)/include $(BUILD)/abi

# ------------------------------------------------------------ sanitized builds

# The library under a sanitizer, installed like a stage (lib, header, .pc) so that
# Tests/c/run.sh and the programs here link it exactly as they link the real one.
san-lib-asan:
	$(SWIFT) build $(ASAN_SWIFT_FLAGS) --product swiftpoll
	@$(call rel_san_stage,$(ASAN_SCRATCH)/debug/$(LIBNAME),$(BUILD)/stage-asan)

san-lib-tsan:
	$(SWIFT) build $(TSAN_SWIFT_FLAGS) --product swiftpoll
	@$(call rel_san_stage,$(TSAN_SCRATCH)/debug/$(LIBNAME),$(BUILD)/stage-tsan)

define rel_san_stage
	rm -rf $(2) && mkdir -p $(2)/lib/pkgconfig $(2)/include && \
	cp $(1) $(2)/lib/$(LIBNAME) && ln -s $(LIBNAME) $(2)/lib/$(SONAME) && \
	cp $(CURDIR)/include/swiftpoll.h $(2)/include/ && \
	sed -e 's|@PREFIX@|$(2)|g' -e 's|@VERSION@|$(VERSION)|g' $(CURDIR)/pkgconfig/swiftpoll.pc.in \
		> $(2)/lib/pkgconfig/swiftpoll.pc
endef

# ------------------------------------------------------------------ fuzzing

# The library for fuzzing: ASan + UBSan (C shim) + libFuzzer's coverage instrumentation
# (8-bit counters, PC table, comparison tracing) in the Swift and C code, so that the
# fuzzer is guided by the library's branches, not only the harness's.
FUZZ_SCRATCH := $(CURDIR)/.build-fuzz
FUZZ_SWIFT_FLAGS := --scratch-path $(FUZZ_SCRATCH) --sanitize=address \
	-Xswiftc -sanitize-coverage=edge,inline-8bit-counters,pc-table,trace-cmp \
	-Xcc -fsanitize=undefined -Xcc -fno-sanitize-recover=undefined \
	-Xcc -fsanitize-coverage=inline-8bit-counters,pc-table,trace-cmp

fuzz-bin:
	$(SWIFT) build $(FUZZ_SWIFT_FLAGS) --product swiftpoll
	@$(call rel_san_stage,$(FUZZ_SCRATCH)/debug/$(LIBNAME),$(BUILD)/stage-fuzz)
	@mkdir -p $(FUZZ_DIR)/corpus
	$(SAN_CLANG) -fuse-ld=lld -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -g -O1 \
		-Wall -Wextra -Werror -I$(CURDIR)/include -o $(FUZZ_DIR)/fuzz_abi $(CURDIR)/Tests/fuzz/fuzz_abi.c \
		-L$(BUILD)/stage-fuzz/lib -Wl,-rpath,$(BUILD)/stage-fuzz/lib -lswiftpoll

# New inputs go to build/fuzz/corpus; the committed seeds in Tests/fuzz/corpus are read only.
# A crash leaves build/fuzz/crash-* (replay: build/fuzz/fuzz_abi build/fuzz/crash-...).
fuzz: fuzz-bin
	cd $(FUZZ_DIR) && $(SAN_ENV) ./fuzz_abi -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
		-rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix=$(FUZZ_DIR)/ \
		$(if $(filter-out 1,$(FUZZ_JOBS)),-jobs=$(FUZZ_JOBS) -workers=$(FUZZ_JOBS)) \
		$(FUZZ_DIR)/corpus $(CURDIR)/Tests/fuzz/corpus 2>&1 | tee $(FUZZ_DIR)/last-run.log \
		| grep -v -e '^#[0-9]*.*\(NEW\|REDUCE\)' -e NEW_FUNC; \
	status=$${PIPESTATUS[0]}; \
	if [ $$status -eq 0 ]; then echo "fuzz: 1 passed, 0 failed"; else echo "fuzz: 0 passed, 1 failed"; fi; \
	exit $$status

# --------------------------------------------------------------- sanitizers

# Every part runs even if an earlier one failed; the result and time of each go to
# build/sanitize-times.txt, and the target fails if any part failed.
SAN_PARTS := san-swift-asan san-swift-tsan san-c-asan san-c-tsan san-python
sanitize:
	@mkdir -p $(BUILD) && : > $(SAN_TIME_LOG)
	@failed=0; for t in $(SAN_PARTS); do \
		start=$$(date +%s); \
		if $(MAKE) --no-print-directory $$t; then r=passed; else r=FAILED; failed=$$((failed + 1)); fi; \
		echo "$$t $$r $$(( $$(date +%s) - start )) s" >> $(SAN_TIME_LOG); \
	done; \
	echo "== make sanitize:"; cat $(SAN_TIME_LOG); \
	echo "sanitize: $$(( $(words $(SAN_PARTS)) - failed )) passed, $$failed failed"; \
	[ $$failed -eq 0 ]

# ASan's leak checker reports the Swift test frameworks' own allocations: off for
# the Swift tests only.
# Both over each Linux backend (one build; the second run costs seconds).
san-swift-asan:
	$(SAN_ENV) ASAN_OPTIONS=detect_leaks=0:halt_on_error=1 SWIFTPOLL_BACKEND=epoll $(SWIFT) test $(ASAN_SWIFT_FLAGS)
	$(SAN_ENV) ASAN_OPTIONS=detect_leaks=0:halt_on_error=1 SWIFTPOLL_BACKEND=poll $(SWIFT) test $(ASAN_SWIFT_FLAGS)

san-swift-tsan:
	$(SAN_ENV) SWIFTPOLL_BACKEND=epoll $(SWIFT) test $(TSAN_SWIFT_FLAGS)
	$(SAN_ENV) SWIFTPOLL_BACKEND=poll $(SWIFT) test $(TSAN_SWIFT_FLAGS)

# Stress + exhaustion + the C suite against the ASan+UBSan library, leak checking on.
# RSS growth is not checked under sanitizers (their quarantine and shadow memory grow
# by design); descriptors are.
san-c-asan: san-lib-asan
	@mkdir -p $(REL_DIR)
	@for t in stress exhaust; do \
		$(SAN_CLANG) -fuse-ld=lld $(ASAN_CFLAGS) -std=gnu11 -Wall -Wextra -Werror -I$(CURDIR)/include \
			-o $(REL_DIR)/$$t-asan $(CURDIR)/Tests/stress/$$t.c \
			-L$(BUILD)/stage-asan/lib -Wl,-rpath,$(BUILD)/stage-asan/lib -lswiftpoll -lpthread || exit 1; \
	done
	@set -e; for b in $(REL_BACKENDS); do \
		echo "== stress-asan over $$b, then exhaust-asan"; \
		$(SAN_ENV) SWIFTPOLL_BACKEND=$$b STRESS_SECONDS=$(call rel_share,$(SAN_STRESS_SECONDS)) \
			STRESS_RSS_GROWTH_KIB=0 $(REL_DIR)/stress-asan; \
		$(SAN_ENV) SWIFTPOLL_BACKEND=$$b $(REL_DIR)/exhaust-asan; \
	done
	@if [ -x $(CURDIR)/Tests/c/run.sh ]; then \
		$(SAN_ENV) CC=$(SAN_CLANG) EXTRA_CFLAGS="$(ASAN_CFLAGS)" SKIP="alloc artifact" \
		OUT=$(BUILD)/c-tests-asan $(CURDIR)/Tests/c/run.sh $(BUILD)/stage-asan; \
	else echo "san-c-asan: Tests/c/run.sh not there yet: C suite skipped"; fi

san-c-tsan: san-lib-tsan
	@mkdir -p $(REL_DIR)
	$(SAN_CLANG) -fuse-ld=lld $(TSAN_CFLAGS) -std=gnu11 -Wall -Wextra -Werror -I$(CURDIR)/include \
		-o $(REL_DIR)/stress-tsan $(CURDIR)/Tests/stress/stress.c \
		-L$(BUILD)/stage-tsan/lib -Wl,-rpath,$(BUILD)/stage-tsan/lib -lswiftpoll -lpthread $(TSAN_LDFLAGS)
	@set -e; for b in $(REL_BACKENDS); do \
		echo "== stress-tsan over $$b"; \
		$(SAN_ENV) SWIFTPOLL_BACKEND=$$b STRESS_SECONDS=$(call rel_share,$(SAN_STRESS_SECONDS)) \
			STRESS_RSS_GROWTH_KIB=0 $(REL_DIR)/stress-tsan; \
	done
	@if [ -x $(CURDIR)/Tests/c/run.sh ]; then \
		$(SAN_ENV) CC=$(SAN_CLANG) EXTRA_CFLAGS="$(TSAN_CFLAGS)" EXTRA_LDFLAGS="$(TSAN_LDFLAGS)" \
		SKIP="alloc artifact" OUT=$(BUILD)/c-tests-tsan $(CURDIR)/Tests/c/run.sh $(BUILD)/stage-tsan; \
	else echo "san-c-tsan: Tests/c/run.sh not there yet: C suite skipped"; fi

# The Python suite on the ASan library, the ASan runtime preloaded into python3
# (CPython itself is not instrumented; leaks of the interpreter are not ours: off).
# test_install.py is left out: it checks the shipped, libc-only Embedded library
# (no Swift runtime mapped), which a sanitized normal-mode build is not by design.
SAN_PY_TESTS ?= $(CURDIR)/bindings/python/tests
SAN_PY_FLAGS ?= --ignore=$(SAN_PY_TESTS)/test_install.py
san-python: san-lib-asan
	@if [ -d $(SAN_PY_TESTS) ] && $(PYTHON) -c "import pytest" 2>/dev/null; then \
		$(SAN_ENV) ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:verify_asan_link_order=0 \
		LD_PRELOAD=$(SAN_CLANG_RT)/libclang_rt.asan-x86_64.so \
		SWIFTPOLL_LIBRARY=$(BUILD)/stage-asan/lib/$(LIBNAME) \
		PYTHONPATH=$(CURDIR)/bindings/python/src \
		$(PYTHON) -m pytest -q -p no:cacheprovider $(SAN_PY_FLAGS) $(SAN_PY_TESTS); \
	else echo "san-python: no Python tests or no pytest yet: skipped"; fi
