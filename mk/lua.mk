# mk/lua.mk -- the LuaJIT module `swiftpoll` (issue 9): bindings/lua.
#
#   make test-lua       (part of make test) the busted suite under LuaJIT against a
#                       private install (make stage STAGE=build/stage-lua), once over
#                       the default backend and once over poll(2) (SWIFTPOLL_BACKEND=poll)
#                       when the library has backends
#   make examples-lua   (part of make examples) examples/echo_server.lua
#   make bench-lua      (part of make bench) bench/lua/run.lua: ring and burst against
#                       luaposix's poll, per-call FFI cost; writes docs/BENCHMARKS-lua.md
#   make lua-cdef       regenerate bindings/lua/swiftpoll/cdef.lua from include/swiftpoll.h
#                       (the suite fails while it is stale)
#
# The module is found through LUA_PATH (bindings/lua), the library through
# SWIFTPOLL_LIBRARY (the module's first lookup place), as users of a build do.

# luajit, busted and luaposix run the suite; valgrind checks that no handle is freed
# twice; binutils (nm) compares the exports with the header; gcc builds a fake
# library of another ABI version.
APT_PACKAGES += luajit lua-busted lua-posix valgrind binutils gcc
TEST_TARGETS += test-lua

LUAJIT     ?= luajit
LUA_DIR    := $(CURDIR)/bindings/lua
LUA_STAGE  := $(BUILD)/stage-lua
LUA_ENV     = SWIFTPOLL_LIBRARY=$(LUA_STAGE)/lib/$(SONAME) SWIFTPOLL_HEADER=$(LUA_STAGE)/include/swiftpoll.h \
	LUAJIT=$(LUAJIT) LUA_PATH="$(LUA_DIR)/?.lua;$(LUA_DIR)/?/init.lua;;"
LUA_BENCH_ARGS ?=

.PHONY: test-lua lua-stage examples-lua bench-lua lua-cdef

lua-stage:
	@$(MAKE) --no-print-directory stage STAGE=$(LUA_STAGE)

test-lua: lua-stage
	cd $(LUA_DIR) && $(LUA_ENV) timeout 300 busted --lua=$(LUAJIT) spec
	@if grep -q swiftpoll_poll_new_backend $(LUA_STAGE)/include/swiftpoll.h; then \
		echo "cd $(LUA_DIR) && SWIFTPOLL_BACKEND=poll busted --lua=$(LUAJIT) spec"; \
		cd $(LUA_DIR) && $(LUA_ENV) SWIFTPOLL_BACKEND=poll timeout 300 busted --lua=$(LUAJIT) spec; \
	else echo "test-lua: this library has one backend: the poll(2) run is skipped"; fi

examples: examples-lua
examples-lua: lua-stage
	@echo "== examples/echo_server.lua: luajit examples/echo_server.lua"
	$(LUA_ENV) timeout 60 $(LUAJIT) examples/echo_server.lua

bench: bench-lua
bench-lua: lua-stage
	$(LUA_ENV) $(LUAJIT) bench/lua/run.lua --out $(CURDIR)/docs/BENCHMARKS-lua.md $(LUA_BENCH_ARGS)

lua-cdef:
	$(LUAJIT) bindings/lua/tools/gen_cdef.lua include/swiftpoll.h > bindings/lua/swiftpoll/cdef.lua.tmp
	mv bindings/lua/swiftpoll/cdef.lua.tmp bindings/lua/swiftpoll/cdef.lua
