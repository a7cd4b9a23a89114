# mk/bench.mk -- benchmarks (issues 4 and 8): swiftpoll side by side with raw
# epoll, mio, smol-rs/polling, libuv and libevent; swiftpoll over its poll(2)
# backend (the same bench-swiftpoll binary, SWIFTPOLL_BACKEND=poll) beside raw
# poll(2).  Sources in bench/ (bench/python/ is the Python suite's).
#
#   make bench          full run (5 interleaved rounds), writes docs/BENCHMARKS.md
#                       and docs/bench-*.png (installs matplotlib from PyPI);
#                       ~13 minutes quiet, ~17 on a loaded 2-core machine, plus
#                       the Python, Ruby and Lua suites' benchmarks when present
#   make bench-quick    the same at a tenth of the counts (~2 minutes + Python)
#   make test-bench     smoke test (part of make test): every workload for
#                       every implementation at tiny counts, correctness only
#   make bench-bin      just build the programs into build/bench/ (the Rust ones
#                       with cargo, offline: ~10 s from scratch, then incremental)
#
# swiftpoll is linked the way users link it: a private install
# (make stage STAGE=build/stage-bench) found through pkg-config.

# cargo: Debian's (with its rustc), which builds bench/rust offline against the
# crate sources of librust-mio-dev and librust-polling-dev.
APT_PACKAGES += libuv1-dev libevent-dev valgrind cargo librust-mio-dev librust-polling-dev
TEST_TARGETS += test-bench

BENCH_DIR    := $(BUILD)/bench
BENCH_STAGE  := $(BUILD)/stage-bench
BENCH_SRC    := $(CURDIR)/bench/src
BENCH_CC     ?= $(CC)
BENCH_CFLAGS ?= -O2 -g -Wall -Wextra -Werror -std=gnu11 -fno-omit-frame-pointer
BENCH_IMPLS  := epoll poll swiftpoll libuv libevent
BENCH_PC      = PKG_CONFIG_PATH=$(BENCH_STAGE)/lib/pkgconfig pkg-config
BENCH_LIBS_epoll     :=
BENCH_LIBS_libuv      = $$(pkg-config --cflags --libs libuv)
BENCH_LIBS_libevent   = $$(pkg-config --cflags --libs libevent_core libevent_pthreads)
BENCH_LIBS_swiftpoll  = $$($(BENCH_PC) --cflags --libs swiftpoll) -Wl,-rpath,$(BENCH_STAGE)/lib
# The Rust peers (bench/rust): Debian's cargo and rustc when installed (what a
# fresh machine gets from make deps), else whatever cargo is on PATH.  Offline,
# against /usr/share/cargo/registry (bench/rust/.cargo/config.toml).  The
# lock file is not kept: it records whichever crate versions Debian ships, and
# Debian's cargo cannot read a newer cargo's lock format.
BENCH_CARGO  ?= $(if $(wildcard /usr/bin/cargo),/usr/bin/cargo,$(shell command -v cargo))
BENCH_RUSTC  ?= $(if $(wildcard /usr/bin/rustc),/usr/bin/rustc,$(shell command -v rustc))
BENCH_RUST_TARGET := $(BENCH_DIR)/rust-target
BENCH_PY     := $(PYTHON) $(CURDIR)/bench/run.py --bin $(BENCH_DIR) --stage $(BENCH_STAGE)

.PHONY: bench bench-quick bench-bin bench-stage test-bench bench-plot-deps

bench-stage:
	@$(MAKE) --no-print-directory stage STAGE=$(BENCH_STAGE)

# Built every time (a second of compiling): the library under them changes.
bench-bin: bench-stage
	@mkdir -p $(BENCH_DIR)
	@set -e; for impl in $(BENCH_IMPLS); do \
		case $$impl in \
		epoll|poll) libs="";; \
		swiftpoll) libs="$(BENCH_LIBS_swiftpoll)";; \
		libuv) libs="$(BENCH_LIBS_libuv)";; \
		libevent) libs="$(BENCH_LIBS_libevent)";; \
		esac; \
		$(BENCH_CC) $(BENCH_CFLAGS) -DBACKEND="\"be_$$impl.h\"" -I$(BENCH_SRC) \
			-o $(BENCH_DIR)/bench-$$impl $(BENCH_SRC)/workloads.c $$libs -lpthread; \
		$(BENCH_CC) $(filter-out -g,$(BENCH_CFLAGS)) -DBACKEND="\"be_$$impl.h\"" -I$(BENCH_SRC) \
			-o $(BENCH_DIR)/cost-$$impl $(BENCH_SRC)/cost.c $$libs -lpthread; \
	done
	@# cabi: the reference C build of the ABI's hot paths (bench/src/cabi.c), linked
	@# into bench-cabi exactly as libswiftpoll is linked into bench-swiftpoll.
	@mkdir -p $(BENCH_DIR)/cabi
	@$(BENCH_CC) -O2 -fPIC -shared -fvisibility=hidden -Wall -Wextra -Werror -I$(CURDIR)/include \
		-Wl,-soname,libswiftpoll.so.0 -o $(BENCH_DIR)/cabi/libswiftpoll.so.0 $(BENCH_SRC)/cabi.c
	@ln -sf libswiftpoll.so.0 $(BENCH_DIR)/cabi/libswiftpoll.so
	@for prog in workloads:bench cost:cost; do \
		$(BENCH_CC) $(filter-out -g,$(BENCH_CFLAGS)) -DBACKEND='"be_swiftpoll.h"' -DBK_NAME_OVERRIDE='"cabi"' \
			-I$(BENCH_SRC) -I$(CURDIR)/include -o $(BENCH_DIR)/$${prog#*:}-cabi $(BENCH_SRC)/$${prog%:*}.c \
			-L$(BENCH_DIR)/cabi -lswiftpoll -Wl,-rpath,$(BENCH_DIR)/cabi -lpthread || exit 1; \
	done
	@if [ -n "$(BENCH_CARGO)" ] && ls -d /usr/share/cargo/registry/mio-0.* /usr/share/cargo/registry/polling-2.* >/dev/null 2>&1; then \
		rm -f bench/rust/Cargo.lock; \
		(cd bench/rust && CARGO_TARGET_DIR=$(BENCH_RUST_TARGET) RUSTC=$(BENCH_RUSTC) \
			$(BENCH_CARGO) build --release --offline --quiet) || exit 1; \
		rm -f bench/rust/Cargo.lock; \
		for b in mio polling; do cp $(BENCH_RUST_TARGET)/release/bench-$$b $(BENCH_DIR)/bench-$$b; done; \
	else \
		rm -f $(BENCH_DIR)/bench-mio $(BENCH_DIR)/bench-polling; \
		echo "bench-bin: no cargo or no librust-mio-dev: the mio and polling rows are skipped (make deps)"; \
	fi
	@$(BENCH_CC) -O2 -shared -fPIC -o $(BENCH_DIR)/alloccount.so $(BENCH_SRC)/alloccount.c
	@$(BENCH_CC) -O2 -o $(BENCH_DIR)/dlopen_time $(BENCH_SRC)/dlopen_time.c -ldl
	@echo "bench programs built in $(BENCH_DIR)"

# matplotlib only for the charts: installed here, not by make deps / make test.
bench-plot-deps:
	@$(PYTHON) -c 'import matplotlib' 2>/dev/null || \
		$(PYTHON) -m pip install -q --disable-pip-version-check matplotlib

# The Python rows are the Python suite's (bench/python, target bench-python in
# mk/python.mk); run them first when that suite is there, and include its report.
BENCH_PY_MD_FULL  := $(CURDIR)/docs/BENCHMARKS-python.md
BENCH_PY_MD_QUICK := $(BENCH_DIR)/python-quick.md

bench: deps bench-bin bench-plot-deps
	@if [ -f bench/python/run.py ]; then \
		$(MAKE) --no-print-directory bench-python || echo "bench: the Python benchmarks failed"; fi
	@# The Ruby and Lua reports (docs/BENCHMARKS-ruby.md, -lua.md) are made by their
	@# fragments, which add bench-ruby / bench-lua as prerequisites of bench (so they
	@# run first); run.py links and includes whichever files are there.
	$(BENCH_PY) --rounds 5 --doc docs/BENCHMARKS.md --charts docs --command "make bench" \
		--python-md $(BENCH_PY_MD_FULL)

bench-quick: deps bench-bin bench-plot-deps
	@rm -f $(BENCH_PY_MD_QUICK)
	@if [ -f bench/python/run.py ]; then \
		$(MAKE) --no-print-directory bench-python PY_BENCH_ARGS="--quick --out $(BENCH_PY_MD_QUICK)" \
			|| echo "bench-quick: the Python benchmarks failed"; fi
	$(BENCH_PY) --rounds 5 --quick --doc docs/BENCHMARKS.md --charts docs --command "make bench-quick" \
		--python-md $(BENCH_PY_MD_QUICK)

# The smoke test builds the Rust peers too (bench-bin): from scratch cargo takes
# ~10 s here (measured), cheap enough for make test, and without it their rows
# would have no correctness check.
test-bench: bench-bin
	$(BENCH_PY) --smoke
