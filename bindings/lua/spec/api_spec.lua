-- The API against real kernel objects: pipes, socketpairs, loopback TCP.
local sp = require "swiftpoll"
local H = require "spec.helper"
local ffi = require "ffi"
local bit = require "bit"

local R, W = sp.Interest.READABLE, sp.Interest.WRITABLE
local LEVEL, ONESHOT = sp.Interest.LEVEL, sp.Interest.ONESHOT

describe("swiftpoll", function()
  local poll, reg, events

  before_each(function()
    poll = assert(sp.Poll.new())
    reg = poll:registry()
    events = sp.Events.new(16)
  end)

  after_each(function()
    poll:close()
    H.close_all()
  end)

  describe("module", function()
    it("has ABI version 1 and the header's version", function()
      assert.are.equal(1, sp.abi_version())
      assert.are.equal(sp.constants.SWIFTPOLL_VERSION_STRING, sp.version())
    end)

    it("exposes the header's interest and event constants", function()
      assert.are.equal(sp.constants.SWIFTPOLL_READABLE, sp.Interest.READABLE)
      assert.are.equal(sp.constants.SWIFTPOLL_ONESHOT, sp.Interest.ONESHOT)
      assert.are.equal(0, sp.Interest.EDGE)
      assert.are.equal(sp.constants.SWIFTPOLL_EVENT_WRITE_CLOSED, sp.Event.WRITE_CLOSED)
    end)

    it("gives the library's error texts", function()
      assert.are.equal("File exists", sp.strerror(-sp.EEXIST))
      assert.are.equal("File exists", sp.strerror(sp.EEXIST))
    end)
  end)

  describe("Poll", function()
    it("has its own registry, a backend and (epoll) an fd", function()
      assert.are.equal(reg, poll:registry())
      local name, n = poll:backend()
      assert.are.equal(H.backend(), name)
      assert.are.equal(sp.BACKENDS[name], n)
      if name == "poll" then
        local fd, msg, e = poll:fileno()
        assert.is_nil(fd); assert.are.equal(sp.ENOTSUP, e); assert.is_string(msg)
        assert.matches("swiftpoll.Poll %(poll%)", tostring(poll))
      else
        assert.is_true(poll:fileno() >= 0)
        assert.matches("swiftpoll.Poll %(" .. name .. ", fd %d+%)", tostring(poll))
      end
    end)

    it("runs over the backend it is asked for", function()
      for _, name in ipairs({ "epoll", "poll" }) do
        local p = assert(sp.Poll.new({ backend = name }))
        assert.are.equal(name, (p:backend()))
        local r, w = H.pipe()
        assert(p:registry():register(r, 8, R))
        H.write(w, "x")
        assert.are.equal(1, p:poll(events, 1))
        assert.are.equal(8, events[1]:token())
        p:close()
      end
      local p = assert(sp.Poll.new({ backend = "default" }))
      assert.are.equal(H.backend(), (p:backend()))
      p:close()
      assert.are.equal(sp.BACKENDS.poll, (select(2, assert(sp.Poll.new({ backend = sp.BACKENDS.poll })):backend())))
    end)

    it("returns ENOTSUP for kqueue on Linux and EINVAL for an unknown number; raises for an unknown name", function()
      local p, msg, e = sp.Poll.new({ backend = "kqueue" })
      assert.is_nil(p); assert.are.equal(sp.ENOTSUP, e); assert.is_string(msg)
      p, msg, e = sp.Poll.new({ backend = 99 })
      assert.is_nil(p); assert.are.equal(sp.EINVAL, e)
      assert.has_error(function() sp.Poll.new({ backend = "select" }) end)
      assert.has_error(function() sp.Poll.new({ backend = true }) end)
    end)

    it("times out with 0 events (timeout 0 and a short positive timeout)", function()
      assert.are.equal(0, poll:poll(events, 0))
      assert.are.equal(0, poll:poll(events, 0.001))
      assert.are.equal(0, #events)
    end)

    it("closes once; using it after close raises, never crashes", function()
      assert.is_true(poll:close())
      assert.is_true(poll:close())
      assert.is_true(poll:is_closed())
      assert.has_error(function() poll:poll(events, 0) end, "attempt to use a closed swiftpoll.Poll")
      assert.has_error(function() poll:fileno() end)
      assert.has_error(function() poll:registry() end)
      assert.has_error(function() reg:register(0, 1, R) end, "attempt to use a closed swiftpoll.Registry")
      assert.has_error(function() reg:deregister(0) end)
      assert.has_error(function() reg:try_clone() end)
      assert.has_error(function() sp.Waker.new(poll, 1) end)
      assert.matches("closed", tostring(poll))
    end)

    it("converts seconds to nanoseconds rounding up (a tiny timeout never becomes 0)", function()
      local ns = sp._timeout_ns
      assert.are.equal(-1, ns(nil))
      assert.are.equal(0, ns(0))
      assert.are.equal(1, ns(1e-12))
      assert.are.equal(1500000, ns(0.0015))
      assert.are.equal(2000000000, ns(2))
      assert.are.equal(-1, ns(math.huge))
      assert.are.equal(-1, ns(1e10)) -- beyond 292 years: forever
    end)

    it("rejects bad arguments before calling the library", function()
      assert.has_error(function() poll:poll({}, 0) end)
      assert.has_error(function() poll:poll(events, -1) end)
      assert.has_error(function() poll:poll(events, 0 / 0) end)
      assert.has_error(function() poll:poll(events, "1") end)
      assert.has_error(function() sp.Poll.new("epoll") end)
      assert.has_error(function() sp.Poll.new({ backnd = "epoll" }) end)
    end)

    it("blocks with a nil timeout until an event comes (from another process)", function()
      local r, w = H.pipe()
      assert(reg:register(r, 5, R))
      local pid = H.fork(function() H.sleep(0.05); H.write(w, "x") end)
      assert.are.equal(1, poll:poll(events))
      assert.are.equal(5, events[1]:token())
      H.reap(pid)
    end)
  end)

  describe("Registry", function()
    it("reports a readable pipe with its token, once (edge-triggered)", function()
      local r, w = H.pipe()
      assert.is_true(reg:register(r, 42, R))
      assert.are.equal(0, poll:poll(events, 0))
      H.write(w, "x")
      assert.are.equal(1, poll:poll(events, 1))
      local ev = events[1]
      assert.are.equal(42, ev:token())
      assert.is_true(ev:readable())
      assert.is_false(ev:writable())
      assert.is_false(ev:error())
      assert.is_false(ev:read_closed())
      assert.is_true(bit.band(ev:raw(), 0x1) ~= 0) -- EPOLLIN / POLLIN
      if H.backend() == "epoll" then
        assert.are.equal(0, poll:poll(events, 0)) -- edge: not again
      else -- poll(2) reports edge registrations level-triggered (header, "Backends")
        assert.are.equal(1, poll:poll(events, 0))
      end
    end)

    it("reports again and again with LEVEL", function()
      local r, w = H.pipe()
      assert(reg:register(r, 1, R + LEVEL))
      H.write(w, "x")
      assert.are.equal(1, poll:poll(events, 1))
      assert.are.equal(1, poll:poll(events, 0))
      H.read(r)
      assert.are.equal(0, poll:poll(events, 0))
    end)

    it("reports ONESHOT once until reregistered", function()
      local r, w = H.pipe()
      assert(reg:register(r, 1, R + ONESHOT))
      H.write(w, "x")
      assert.are.equal(1, poll:poll(events, 1))
      H.write(w, "y")
      assert.are.equal(0, poll:poll(events, 0))
      assert.is_true(reg:reregister(r, 2, R + ONESHOT))
      assert.are.equal(1, poll:poll(events, 1))
      assert.are.equal(2, events[1]:token())
    end)

    it("reregister replaces token and interest", function()
      local a, b = H.socketpair()
      assert(reg:register(a, 1, R))
      assert.are.equal(0, poll:poll(events, 0))
      assert.is_true(reg:reregister(a, 9, W))
      assert.are.equal(1, poll:poll(events, 1))
      assert.are.equal(9, events[1]:token())
      assert.is_true(events[1]:writable())
      assert.is_false(events[1]:readable())
    end)

    it("deregister stops the events", function()
      local r, w = H.pipe()
      assert(reg:register(r, 1, R + LEVEL))
      H.write(w, "x")
      assert.is_true(reg:deregister(r))
      assert.are.equal(0, poll:poll(events, 0))
    end)

    it("reports a peer's close as read_closed, and writable + read", function()
      local a, b = H.socketpair()
      assert(reg:register(a, 3, R + W))
      assert.are.equal(1, poll:poll(events, 1))
      assert.is_true(events[1]:writable())
      H.close(b)
      assert.are.equal(1, poll:poll(events, 1))
      assert.is_true(events[1]:readable())
      assert.is_true(events[1]:read_closed())
    end)

    it("reports a write end whose reader is gone as error and write_closed", function()
      local r, w = H.pipe()
      assert(reg:register(w, 4, W))
      assert.are.equal(1, poll:poll(events, 1))
      H.close(r)
      assert.are.equal(1, poll:poll(events, 1))
      assert.is_true(events[1]:error())
      assert.is_true(events[1]:write_closed())
    end)

    it("reports out-of-band TCP data as priority", function()
      local c, s = H.tcp_pair()
      assert(reg:register(s, 6, sp.Interest.PRIORITY))
      assert.are.equal(1, H.send_oob(c, "!"))
      assert.are.equal(1, poll:poll(events, 2))
      assert.is_true(events[1]:priority())
      assert.is_true(events[1]:readable())
    end)

    it("returns nil, message, errno for the library's errors", function()
      local r, w = H.pipe()
      assert(reg:register(r, 1, R))
      local ok, msg, e = reg:register(r, 1, R)
      assert.is_nil(ok); assert.are.equal("File exists", msg); assert.are.equal(sp.EEXIST, e)
      ok, msg, e = reg:reregister(w, 1, W)
      assert.is_nil(ok); assert.are.equal(sp.ENOENT, e); assert.are.equal("No such file or directory", msg)
      ok, msg, e = reg:deregister(w)
      assert.is_nil(ok); assert.are.equal(sp.ENOENT, e)
      H.close(w)
      ok, msg, e = reg:register(w, 1, R) -- w is closed now
      assert.is_nil(ok); assert.are.equal(sp.EBADF, e); assert.are.equal("Bad file descriptor", msg)
      if poll:fileno() then
        ok, msg, e = reg:register(poll:fileno(), 1, R)
        assert.is_nil(ok); assert.are.equal(sp.EINVAL, e)
      end
    end)

    it("returns EPERM for a regular file", function()
      local fd = H.open_file("/etc/hostname")
      local ok, _, e = reg:register(fd, 1, R)
      assert.is_nil(ok); assert.are.equal(sp.EPERM, e)
    end)

    it("raises for bad fds, tokens and interests, and registers nothing", function()
      local r, w = H.pipe()
      H.write(w, "x")
      local bad = {
        function() reg:register(-1, 1, R) end,
        function() reg:register(1.5, 1, R) end,
        function() reg:register("3", 1, R) end,
        function() reg:register(2 ^ 31, 1, R) end,
        function() reg:register(r, "1", R) end,
        function() reg:register(r, -1, R) end,
        function() reg:register(r, 0.5, R) end,
        function() reg:register(r, 2 ^ 64, R) end,
        function() reg:register(r, true, R) end,
        function() reg:register(r, ffi.new("int64_t", -1), R) end,
        function() reg:register(r, ffi.new("int[1]"), R) end,
        function() reg:register(r, 1, 0) end,
        function() reg:register(r, 1, 0x8) end,
        function() reg:register(r, 1, LEVEL) end,
        function() reg:register(r, 1, R + LEVEL + ONESHOT) end,
        function() reg:register(r, 1, -1) end,
        function() reg:register(r, 1, "r") end,
        function() reg:register(r, 1, nil) end,
        function() reg:reregister(r, "x", R) end,
        function() reg:deregister(-3) end,
        function() reg:register(io.stdout, 1, R) end, -- a Lua file: no getfd/fileno
        function() reg:register(newproxy(), 1, R) end, -- a userdata that cannot be indexed
        function() reg:register(r, 1, 2 ^ 40) end,
      }
      for i, f in ipairs(bad) do
        local ok, err = pcall(f)
        assert.is_false(ok, "case " .. i .. " did not raise")
        assert.matches("bad argument", tostring(err), 1, true)
      end
      assert.are.equal(0, poll:poll(events, 0)) -- nothing got registered
      assert.is_true(reg:register(r, 1, R)) -- and r is still free to register
    end)

    it("points a bad-argument error at the caller's line", function()
      local ok, err = pcall(function() reg:register(-1, 1, R) end)
      assert.is_false(ok)
      assert.matches("api_spec.lua:%d+: bad argument #1 to 'register'", err)
    end)

    it("accepts objects with getfd() or fileno()", function()
      local r, w = H.pipe()
      assert.is_true(reg:register({ getfd = function() return r end }, 1, R))
      assert.is_true(reg:deregister({ fileno = function() return r end }))
      assert.has_error(function() reg:register({ getfd = function() return -1 end }, 1, R) end)
    end)

    it("carries every 64-bit token exactly", function()
      local r, w = H.pipe()
      local cases = {
        { 0, 0 },
        { 2 ^ 53, 2 ^ 53 },
        { 2 ^ 63, ffi.new("uint64_t", 2 ^ 63) },
        { 0xffffffffffffffffULL, 0xffffffffffffffffULL },
        { 0x20000000000001ULL, 0x20000000000001ULL }, -- 2^53 + 1: not a double
        { ffi.new("int64_t", 7), 7 },
      }
      H.write(w, "x")
      for _, c in ipairs(cases) do
        assert(reg:register(r, c[1], R + LEVEL))
        assert.are.equal(1, poll:poll(events, 1))
        local t = events[1]:token()
        if type(c[2]) == "number" then
          assert.are.equal("number", type(t))
          assert.are.equal(c[2], t)
        else
          assert.are.equal("cdata", type(t))
          assert.is_true(t == c[2], tostring(t) .. " ~= " .. tostring(c[2]))
        end
        assert.is_true(events[1]:token64() == ffi.new("uint64_t", c[2]))
        assert(reg:deregister(r))
      end
    end)
  end)

  describe("Registry:try_clone", function()
    it("registers on the same poll and outlives it", function()
      local clone = assert(reg:try_clone())
      local r, w = H.pipe()
      assert.is_true(clone:register(r, 11, R))
      H.write(w, "x")
      assert.are.equal(1, poll:poll(events, 1))
      assert.are.equal(11, events[1]:token())
      poll:close()
      local r2 = H.pipe()
      assert.is_true(clone:register(r2, 12, R)) -- the epoll instance lives on
      assert.is_true(clone:close())
      assert.is_true(clone:close())
      assert.has_error(function() clone:register(r2, 1, R) end, "attempt to use a closed swiftpoll.Registry")
    end)

    it("close() on the poll's own registry does nothing", function()
      assert.is_true(reg:close())
      local r = H.pipe()
      assert.is_true(reg:register(r, 1, R))
      assert.is_false(reg:is_closed())
    end)
  end)

  describe("Events", function()
    it("has a capacity, a count, 1-based indexing and two iterators", function()
      assert.are.equal(16, events:capacity())
      assert.are.equal(0, events:count())
      assert.is_true(events:is_empty())
      local pipes = {}
      for i = 1, 3 do
        local r, w = H.pipe()
        assert(reg:register(r, 100 + i, R))
        H.write(w, "x")
        pipes[i] = r
      end
      assert.are.equal(3, poll:poll(events, 1))
      assert.are.equal(3, #events)
      assert.are.equal(3, events:count())
      assert.is_nil(events[0]); assert.is_nil(events[4]); assert.is_nil(events[1.5])
      local seen, n = {}, 0
      for ev in events:iter() do seen[ev:token()] = true; n = n + 1 end
      assert.are.equal(3, n)
      assert.is_true(seen[101] and seen[102] and seen[103])
      local idx = {}
      for i, ev in events:ipairs() do idx[i] = ev:token() end
      assert.are.same({ events[1]:token(), events[2]:token(), events[3]:token() }, idx)
      assert.are.equal(events[2]:token(), events:get(2):token())
      events:clear()
      assert.are.equal(0, #events)
      for _ in events:iter() do error("no events after clear") end
    end)

    it("leaves events beyond the capacity to the next poll", function()
      local small = sp.Events.new(2)
      for i = 1, 3 do
        local r, w = H.pipe()
        assert(reg:register(r, i, R))
        H.write(w, "x")
      end
      local seen = {}
      assert.are.equal(2, poll:poll(small, 1))
      for ev in small:iter() do seen[ev:token()] = true end
      local n = poll:poll(small, 1)
      for ev in small:iter() do seen[ev:token()] = true end
      assert.is_true(seen[1] and seen[2] and seen[3])
      if H.backend() == "epoll" then
        assert.are.equal(1, n)
        assert.are.equal(0, poll:poll(small, 0))
      end
    end)

    it("gives views into the event array, not copies", function()
      local r, w = H.pipe()
      assert(reg:register(r, 1, R + LEVEL))
      H.write(w, "x")
      assert.are.equal(1, poll:poll(events, 1))
      local view = events[1]
      local copy = view:copy()
      -- the view is the array slot the library wrote into
      assert.are.equal(ffi.cast("uintptr_t", events.ev), ffi.cast("uintptr_t", view))
      assert(reg:reregister(r, 2, R + LEVEL))
      assert.are.equal(1, poll:poll(events, 1))
      assert.are.equal(2, view:token()) -- the same view shows the new event
      assert.are.equal(1, copy:token()) -- the copy does not
      assert.matches("swiftpoll.Event%(token=2, readable", tostring(view))
    end)

    it("reads events without allocating in a JIT-compiled loop", function()
      if not (jit and jit.status()) then return pending("JIT off") end
      local r, w = H.pipe()
      assert(reg:register(r, 3, R + LEVEL))
      H.write(w, "x")
      local function run(n)
        local s = 0
        for _ = 1, n do
          poll:poll(events, 0)
          for ev in events:iter() do s = s + ev:token() end
          for _, ev in events:ipairs() do s = s + ev:token() end
          s = s + events[1]:token()
        end
        return s
      end
      run(2000) -- compiled
      collectgarbage(); collectgarbage("stop")
      local before = collectgarbage("count")
      local s = run(50000)
      local grown = collectgarbage("count") - before
      collectgarbage("restart")
      assert.are.equal(50000 * 9, s)
      -- one boxed view per event would be ~150,000 objects (megabytes); allow noise
      assert.is_true(grown < 64, ("%.1f KB allocated"):format(grown))
    end)

    it("rejects bad capacities", function()
      for _, c in ipairs({ 0, -1, 1.5, "8", 2 ^ 31 }) do
        assert.has_error(function() sp.Events.new(c) end)
      end
    end)
  end)

  describe("Waker", function()
    it("wakes a wait with its token, readable", function()
      local waker = assert(sp.Waker.new(poll, 77))
      assert.are.equal(77, waker:token())
      assert.is_true(waker:wake())
      assert.is_true(waker:wake()) -- coalesces
      assert.are.equal(1, poll:poll(events, 1))
      assert.are.equal(77, events[1]:token())
      assert.is_true(events[1]:readable())
      assert.are.equal(0, poll:poll(events, 0))
      waker:close()
    end)

    it("allows one live waker per poll (EEXIST), a new one after close", function()
      local w1 = assert(sp.Waker.new(reg, 1))
      local ok, msg, e = sp.Waker.new(poll, 2)
      assert.is_nil(ok); assert.are.equal(sp.EEXIST, e); assert.are.equal("File exists", msg)
      local clone = assert(reg:try_clone())
      assert.are.equal(sp.EEXIST, select(3, sp.Waker.new(clone, 3)))
      w1:close()
      local w2 = assert(sp.Waker.new(clone, 4))
      w2:close(); clone:close()
    end)

    it("outlives its poll; closed, it raises", function()
      local waker = assert(sp.Waker.new(poll, 1))
      poll:close()
      assert.is_true(waker:wake())
      assert.is_true(waker:close())
      assert.is_true(waker:close())
      assert.has_error(function() waker:wake() end, "attempt to use a closed swiftpoll.Waker")
    end)

    it("wakes a wait from another OS thread (pthread running swiftpoll_waker_wake)", function()
      local waker = assert(sp.Waker.new(poll, 6))
      -- the thread's start routine is the library's own wake: no Lua in that thread
      local start = ffi.cast("void *(*)(void *)", sp.lib.swiftpoll_waker_wake)
      local tid = ffi.new("pthread_t[1]")
      assert.are.equal(0, ffi.C.pthread_create(tid, nil, start, waker._ptr))
      assert.are.equal(1, poll:poll(events, 10))
      assert.are.equal(6, events[1]:token())
      assert.are.equal(0, ffi.C.pthread_join(tid[0], nil))
      waker:close()
    end)

    it("wakes a blocking wait from a forked child (epoll: the eventfd is shared)", function()
      -- the poll(2) backend keeps a wake flag in the process's memory, which a
      -- child does not share: across fork only epoll's eventfd carries a wake
      if H.backend() ~= "epoll" then return pending("epoll only") end
      local waker = assert(sp.Waker.new(poll, 5))
      local pid = H.fork(function() H.sleep(0.05); assert(waker:wake()) end)
      assert.are.equal(1, poll:poll(events, 10))
      assert.are.equal(5, events[1]:token())
      local how, status = H.reap(pid)
      assert.are.equal("exited", how); assert.are.equal(0, status)
      waker:close()
    end)

    it("rejects a bad registry or token", function()
      assert.has_error(function() sp.Waker.new({}, 1) end)
      assert.has_error(function() sp.Waker.new(poll, "1") end)
    end)
  end)
end)
