# mk/kqueue.mk -- the kqueue backend on Linux, against libkqueue (a kqueue over epoll).
#
#   make test-kqueue KQUEUE_PREFIX=/opt/libkqueue  (= test-kqueue-swift + test-kqueue-c)
#       NOT part of make test (CI has no libkqueue: it is not packaged in Debian;
#       build it yourself from github.com/mheily/libkqueue with cmake and install it
#       under KQUEUE_PREFIX). Builds, each in its own scratch path:
#         1. the Swift tests with -DSWIFTPOLL_KQUEUE (normal mode, .build-kqueue) and
#            runs them with SWIFTPOLL_BACKEND=kqueue, minus KQUEUE_SWIFT_SKIP below;
#         2. the library in Embedded mode with -DSWIFTPOLL_KQUEUE (.build-kqueue-
#            embedded: proves the backend compiles as shipped), staged in
#            build/stage-kqueue, and runs Tests/c/run.sh on it with
#            SWIFTPOLL_BACKEND=kqueue (and BACKENDS=kqueue for the backend-aware
#            run.sh: this variant also has epoll and poll), the artifact checks
#            skipped (this library needs libkqueue.so and has a RUNPATH, by
#            construction) and t_alloc too (libkqueue mallocs a knote per filter);
#            the kqueue forms of backend-specific checks: Tests/c/README.md.
#       docs/BACKENDS.md (kqueue in detail) has the results and the reasons for each skip.
#
# The kqueue translation tests (Tests/PollCoreTests/KqueueTranslationTests.swift)
# need no kqueue and run in the normal make test (test-swift).

KQUEUE_PREFIX        ?= /opt/libkqueue
KQUEUE_SCRATCH       := $(CURDIR)/.build-kqueue
KQUEUE_EMBED_SCRATCH := $(CURDIR)/.build-kqueue-embedded
KQUEUE_STAGE         := $(BUILD)/stage-kqueue
KQUEUE_DEFS := -Xswiftc -DSWIFTPOLL_KQUEUE -Xcc -DSWIFTPOLL_KQUEUE \
	-Xcc -I$(KQUEUE_PREFIX)/include/kqueue \
	-Xlinker -L$(KQUEUE_PREFIX)/lib -Xlinker -lkqueue -Xlinker -rpath -Xlinker $(KQUEUE_PREFIX)/lib

# Swift tests that assert epoll's own mechanism, not swiftpoll's contract, or a
# behaviour kqueue/libkqueue does not have (one regex per test; reasons in
# docs/BACKENDS.md (kqueue in detail), "Expected differences"):
#   ReadinessFlagsTests    every case checks `raw` = the EPOLL bits and flags = the
#                          epoll formulas of those bits; kqueue has its own raw bits and
#                          formulas (KqueueReadinessTests has the kqueue cases)
#   tokenAndReadable       expects raw = EPOLLIN for a wake (kqueue: the USER bit)
#   counterOverflow        writes to the waker's eventfd (kqueue: EVFILT_USER, no fd)
#   timeoutFallbackRoundsUp  forces epoll_wait's millisecond fallback
#   tryCloneOutlivesPoll   calls epoll_wait on the clone's descriptor
#   releaseClosesDescriptors  reads epoll registrations and the eventfd from fdinfo
#   nestedPolls            libkqueue's kqueue fd never becomes readable, and nothing
#                          detects a loop (ELOOP) between two kqueues
#   closeRemoves           registers an eventfd again after closing one: when the new
#                          one gets the old number, the backend's fd table cannot tell
#                          them apart (every eventfd has the same anonymous inode) and
#                          says EEXIST -- a Linux (libkqueue) case only; on a BSD the
#                          table's (st_dev, st_ino) check tells files apart
#   BackendTests/selection asserts that a Linux build has no kqueue (this one has)
KQUEUE_SWIFT_SKIP := BackendTests/selection ReadinessFlagsTests tokenAndReadable counterOverflow timeoutFallbackRoundsUp \
	tryCloneOutlivesPoll releaseClosesDescriptors nestedPolls closeRemoves

.PHONY: test-kqueue test-kqueue-swift test-kqueue-c lib-kqueue kqueue-prefix-check

test-kqueue: test-kqueue-swift test-kqueue-c

kqueue-prefix-check:
	@test -f $(KQUEUE_PREFIX)/include/kqueue/sys/event.h || { \
		echo "no libkqueue under KQUEUE_PREFIX=$(KQUEUE_PREFIX) (want include/kqueue/sys/event.h and lib/libkqueue.so)" >&2; exit 2; }

test-kqueue-swift: kqueue-prefix-check $(BUILD)/.headers.stamp
	$(SWIFT) build --build-tests --scratch-path $(KQUEUE_SCRATCH) $(KQUEUE_DEFS) -Xswiftc -warnings-as-errors
	SWIFTPOLL_BACKEND=kqueue $(SWIFT) test --skip-build --scratch-path $(KQUEUE_SCRATCH) $(KQUEUE_DEFS) \
		$(foreach t,$(KQUEUE_SWIFT_SKIP),--skip $(t))

# The Embedded library with the kqueue backend, staged like `make stage` does.
lib-kqueue: kqueue-prefix-check $(BUILD)/.headers.stamp
	$(SWIFT) build $(subst $(EMBEDDED_SCRATCH),$(KQUEUE_EMBED_SCRATCH),$(EMBEDDED_FLAGS)) $(KQUEUE_DEFS)
	@rm -rf $(KQUEUE_STAGE)
	@install -d $(KQUEUE_STAGE)/lib/pkgconfig $(KQUEUE_STAGE)/include
	install -m 0755 $(KQUEUE_EMBED_SCRATCH)/release/$(LIBNAME) $(KQUEUE_STAGE)/lib/$(REALNAME)
	@ln -sf $(REALNAME) $(KQUEUE_STAGE)/lib/$(SONAME)
	@ln -sf $(SONAME) $(KQUEUE_STAGE)/lib/$(LIBNAME)
	@install -m 0644 include/swiftpoll.h $(KQUEUE_STAGE)/include/swiftpoll.h
	@sed -e 's|@PREFIX@|$(KQUEUE_STAGE)|g' -e 's|@VERSION@|$(VERSION)|g' pkgconfig/swiftpoll.pc.in \
		> $(KQUEUE_STAGE)/lib/pkgconfig/swiftpoll.pc
	@echo "built $(KQUEUE_STAGE)/lib/$(REALNAME) ($$(stat -c %s $(KQUEUE_STAGE)/lib/$(REALNAME)) bytes, kqueue over libkqueue)"

test-kqueue-c: lib-kqueue
	SWIFTPOLL_BACKEND=kqueue BACKENDS=kqueue SKIP="alloc artifact" OUT=$(BUILD)/c-tests-kqueue \
		$(CURDIR)/Tests/c/run.sh $(KQUEUE_STAGE)
