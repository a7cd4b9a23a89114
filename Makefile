# swiftpoll -- build, install and test.
#
#   make            the shipped library, build/lib/libswiftpoll.so.0.1.0 (Embedded Swift)
#   make examples   build the library and run the examples
#   make test       every test suite (Swift, C against the installed library, Python, ...)
#   make install    PREFIX=/usr/local (default), DESTDIR honoured
#   make deps       the Debian and PyPI packages the tests need
#
# Each suite that is not the Swift core lives in its own mk/*.mk fragment, which
# adds its targets to TEST_TARGETS and its packages to APT_PACKAGES/PIP_PACKAGES.

SHELL        := /bin/bash
PREFIX       ?= /usr/local
DESTDIR      ?=
SWIFT        ?= swift
PYTHON       ?= python3
CC           ?= cc

VERSION      := $(shell sed -n 's/^\#define SWIFTPOLL_VERSION_STRING "\(.*\)"/\1/p' include/swiftpoll.h)
SOVERSION    := 0
LIBNAME      := libswiftpoll.so
REALNAME     := $(LIBNAME).$(VERSION)
SONAME       := $(LIBNAME).$(SOVERSION)

BUILD        := $(CURDIR)/build
LIBDIR_B     := $(BUILD)/lib
# The shipped library: Embedded Swift (libc only), its own scratch folder so that
# `swift test` (normal mode) and this build never invalidate each other.
EMBEDDED_SCRATCH := $(CURDIR)/.build-embedded
EMBEDDED_FLAGS := -c release --product swiftpoll --scratch-path $(EMBEDDED_SCRATCH) --disable-local-rpath \
	-Xswiftc -use-ld=lld \
	-Xswiftc -enable-experimental-feature -Xswiftc Embedded -Xswiftc -wmo \
	-Xlinker -soname=$(SONAME) \
	-Xlinker --version-script=$(CURDIR)/Sources/CPollABI/swiftpoll.map \
	-Xlinker --gc-sections -Xlinker -z -Xlinker now -Xlinker -z -Xlinker relro
# A staged install used by the C and Python tests: the tests link the way users do.
STAGE        := $(BUILD)/stage

APT_PACKAGES := pkg-config libffi-dev
PIP_PACKAGES :=
TEST_TARGETS := test-swift

.PHONY: all lib examples install uninstall stage test test-swift deps clean

all: lib

SWIFT_SOURCES := Package.swift $(shell find Sources -type f) include/swiftpoll.h

# Serialised with flock: several suites (and people) may ask for it at once.
lib:
	@mkdir -p $(BUILD)
	@flock $(BUILD)/.lock $(MAKE) --no-print-directory $(LIBDIR_B)/$(REALNAME)

# SwiftPM does not notice a changed C header (swift-package-manager#4551): when one
# changes, touch the Swift sources that import it so both builds recompile them.
HEADERS := include/swiftpoll.h Sources/CPollSys/include/CPollSys.h
$(BUILD)/.headers.stamp: $(HEADERS)
	@mkdir -p $(BUILD)
	@if [ -f $@ ]; then touch Sources/PollCore/*.swift Sources/CPollABI/*.swift; fi
	@touch $@

$(LIBDIR_B)/$(REALNAME): $(SWIFT_SOURCES) $(BUILD)/.headers.stamp
	$(SWIFT) build $(EMBEDDED_FLAGS)
	@mkdir -p $(LIBDIR_B)
	cp $(EMBEDDED_SCRATCH)/release/$(LIBNAME) $@.tmp
	strip --strip-unneeded $@.tmp
	mv $@.tmp $@
	ln -sf $(REALNAME) $(LIBDIR_B)/$(SONAME)
	ln -sf $(SONAME) $(LIBDIR_B)/$(LIBNAME)
	@echo "built $@ ($$(stat -c %s $@) bytes)"

install: lib
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include \
		$(DESTDIR)$(PREFIX)/share/licenses/swiftpoll
	install -m 0644 LICENSE $(DESTDIR)$(PREFIX)/share/licenses/swiftpoll/LICENSE
	install -m 0755 $(LIBDIR_B)/$(REALNAME) $(DESTDIR)$(PREFIX)/lib/$(REALNAME)
	ln -sf $(REALNAME) $(DESTDIR)$(PREFIX)/lib/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(PREFIX)/lib/$(LIBNAME)
	install -m 0644 include/swiftpoll.h $(DESTDIR)$(PREFIX)/include/swiftpoll.h
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' pkgconfig/swiftpoll.pc.in \
		> $(DESTDIR)$(PREFIX)/lib/pkgconfig/swiftpoll.pc
	chmod 0644 $(DESTDIR)$(PREFIX)/lib/pkgconfig/swiftpoll.pc

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/lib/$(REALNAME) $(DESTDIR)$(PREFIX)/lib/$(SONAME) \
		$(DESTDIR)$(PREFIX)/lib/$(LIBNAME) $(DESTDIR)$(PREFIX)/include/swiftpoll.h \
		$(DESTDIR)$(PREFIX)/lib/pkgconfig/swiftpoll.pc \
		$(DESTDIR)$(PREFIX)/share/licenses/swiftpoll/LICENSE

# A private install for one test suite: `make stage STAGE=build/stage-NAME`
# (PREFIX is the stage itself, so the .pc file points at it).
stage: lib
	@rm -rf $(STAGE)
	@$(MAKE) --no-print-directory install PREFIX=$(abspath $(STAGE)) DESTDIR= >/dev/null

# The Swift suite once per Linux backend: SWIFTPOLL_BACKEND picks what `Poll()` runs
# over; tests that hold on epoll only say so in their skip message.
test-swift: $(BUILD)/.headers.stamp
	$(SWIFT) build --build-tests -Xswiftc -warnings-as-errors
	@echo "== Swift tests over epoll"
	SWIFTPOLL_BACKEND=epoll $(SWIFT) test --skip-build
	@echo "== Swift tests over poll(2)"
	SWIFTPOLL_BACKEND=poll $(SWIFT) test --skip-build

deps:
	@if ! dpkg -s $(sort $(APT_PACKAGES)) >/dev/null 2>&1; then \
		echo "installing Debian packages: $(APT_PACKAGES)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(sort $(APT_PACKAGES)) >/dev/null; \
	fi
	@if [ -n "$(strip $(PIP_PACKAGES))" ]; then \
		$(PYTHON) -m pip install -q --disable-pip-version-check $(PIP_PACKAGES); \
	fi

clean:
	rm -rf $(BUILD) .build $(EMBEDDED_SCRATCH)

-include mk/*.mk

test: deps
	@$(MAKE) --no-print-directory $(TEST_TARGETS)
