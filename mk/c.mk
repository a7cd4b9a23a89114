# mk/c.mk -- the C test suite (Tests/c) and the C examples (examples/).
#
#   make test-c     (part of make test) stage the library in build/stage-c, then
#                   Tests/c/run.sh: the C tests built through pkg-config against that
#                   install and run once per backend (epoll, poll), the libffi test,
#                   the header in C99/C11/C17/C++11..20 with gcc and clang, the
#                   artifact checks (exports, SONAME, libc only), and the examples
#                   (per backend); ends with "N passed, N failed"
#   make examples   build the library, stage it, build examples/*.c with
#                   cc x.c $(pkg-config --cflags --libs swiftpoll) and run them
#                   (then again with SWIFTPOLL_BACKEND=poll)
#
# Tests/c/run.sh STAGE_DIR takes CC, EXTRA_CFLAGS, EXTRA_LDFLAGS, OUT and
# SKIP="alloc ffi header artifact examples" for runs against other builds
# (the sanitized ones of mk/reliability.mk).

C_STAGE        := $(BUILD)/stage-c
EXAMPLES_STAGE := $(BUILD)/stage-examples
EXAMPLES_OUT   := $(BUILD)/examples

TEST_TARGETS += test-c
# gcc/g++ and the toolchain's clang compile the tests and the header; binutils for
# readelf/nm; libffi-dev for the FFI test; python3 for the ctypes load check.
APT_PACKAGES += gcc g++ binutils pkg-config libffi-dev python3

.PHONY: test-c examples

test-c:
	@$(MAKE) --no-print-directory stage STAGE=$(C_STAGE)
	$(CURDIR)/Tests/c/run.sh $(C_STAGE)

examples:
	@$(MAKE) --no-print-directory stage STAGE=$(EXAMPLES_STAGE)
	@mkdir -p $(EXAMPLES_OUT)
	@set -e; export PKG_CONFIG_PATH=$(EXAMPLES_STAGE)/lib/pkgconfig; \
	for src in examples/*.c; do \
		name=$$(basename $$src .c); \
		echo "== $$src: $(CC) $$src \$$(pkg-config --cflags --libs swiftpoll)"; \
		$(CC) -std=c11 -O2 -Wall -Wextra $$src -o $(EXAMPLES_OUT)/$$name \
			$$(pkg-config --cflags --libs swiftpoll) -Wl,-rpath,$(EXAMPLES_STAGE)/lib; \
		timeout 60 $(EXAMPLES_OUT)/$$name; \
		echo "== $$name again over poll(2): SWIFTPOLL_BACKEND=poll"; \
		SWIFTPOLL_BACKEND=poll timeout 60 $(EXAMPLES_OUT)/$$name; \
	done
