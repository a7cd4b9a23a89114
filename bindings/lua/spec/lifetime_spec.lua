-- Finalizers, explicit close, signals (EINTR) and a blocking wait.
local sp = require "swiftpoll"
local H = require "spec.helper"
local ffi = require "ffi"

local R = sp.Interest.READABLE

describe("lifetime", function()
  after_each(function() H.close_all() end)

  it("frees forgotten polls, clones and wakers through the GC", function()
    collectgarbage(); collectgarbage()
    local before = H.fd_count()
    for _ = 1, 200 do
      local p = assert(sp.Poll.new())
      local c = assert(p:registry():try_clone())
      local w = assert(sp.Waker.new(c, 1))
      assert(w:wake())
    end
    assert.is_true(H.fd_count() >= before + 200) -- not freed yet: still garbage
    collectgarbage(); collectgarbage()
    assert.are.equal(before, H.fd_count())
  end)

  it("frees each handle once when close() and the GC both run", function()
    -- glibc aborts the process on a double free: a second free here kills the suite
    collectgarbage(); collectgarbage()
    local before = H.fd_count()
    for _ = 1, 200 do
      local p = assert(sp.Poll.new())
      local c = assert(p:registry():try_clone())
      local w = assert(sp.Waker.new(p, 1))
      w:close(); c:close(); p:close()
      w:close(); c:close(); p:close()
    end
    collectgarbage(); collectgarbage()
    assert.are.equal(before, H.fd_count())
  end)

  it("frees nothing twice: close() then the GC, under valgrind", function()
    local src = debug.getinfo(1, "S").source:sub(2)
    if src:sub(1, 1) ~= "/" then src = os.getenv("PWD") .. "/" .. src end
    local script = src:gsub("lifetime_spec%.lua$", "close_twice.lua")
    local status, out = H.run("command -v valgrind")
    if status ~= 0 then return pending("valgrind is not installed") end
    status, out = H.run(("valgrind -q --error-exitcode=99 %s %s"):format(
      os.getenv("LUAJIT") or "luajit", H.shquote(script)))
    assert.are.equal(0, status, out)
    assert.matches("close_twice ok", out, 1, true)
  end)

  it("keeps a poll alive while its borrowed registry is used", function()
    local reg = assert(sp.Poll.new()):registry() -- the Poll itself is not kept
    collectgarbage(); collectgarbage()
    local r = H.pipe()
    assert.is_true(reg:register(r, 1, R))
  end)

  it("frees a poll once its borrowed registry is unreachable too", function()
    collectgarbage(); collectgarbage()
    local before = H.fd_count()
    do
      local reg = assert(sp.Poll.new()):registry()
      local r, w = H.pipe()
      assert(reg:register(r, 1, R))
      H.close(r); H.close(w)
    end
    collectgarbage(); collectgarbage()
    assert.are.equal(before, H.fd_count())
  end)

  it("returns nil, message, EINTR when a signal interrupts a wait; the Lua handler runs", function()
    local signal = H.signal
    local got = 0
    local old = signal.signal(signal.SIGUSR1, function() got = got + 1 end)
    local parent = H.unistd.getpid()
    -- signals keep coming until the parent kills the child, so one of them
    -- lands while the parent is blocked in the wait (no timing assumption)
    local pid = H.fork(function()
      while true do
        signal.kill(parent, signal.SIGUSR1)
        H.sleep(0.02)
      end
    end)
    local poll = assert(sp.Poll.new())
    local events = sp.Events.new(4)
    local n, msg, e
    local t0 = H.now()
    repeat
      n, msg, e = poll:poll(events, 10)
    until n == nil or H.now() - t0 > 10
    H.reap(pid, true)
    for _ = 1, 10 do local _ = {} end -- a few VM instructions: the hook runs the handler
    signal.signal(signal.SIGUSR1, old or signal.SIG_DFL)
    assert.is_nil(n)
    assert.are.equal(sp.EINTR, e)
    assert.are.equal("Interrupted system call", msg)
    assert.are.equal(0, #events)
    assert.is_true(got >= 1)
    poll:close()
  end)

  it("can retry an interrupted wait with the remaining time (the documented loop)", function()
    local signal = H.signal
    local old = signal.signal(signal.SIGUSR1, function() end)
    local parent = H.unistd.getpid()
    local r, w = H.pipe()
    local pid = H.fork(function()
      for _ = 1, 5 do signal.kill(parent, signal.SIGUSR1); H.sleep(0.02) end
      H.write(w, "x")
      H.sleep(30)
    end)
    local poll = assert(sp.Poll.new())
    assert(poll:registry():register(r, 3, R))
    local events = sp.Events.new(4)
    local deadline = H.now() + 10
    local n, msg, e
    repeat
      n, msg, e = poll:poll(events, math.max(0, deadline - H.now()))
    until n ~= nil or e ~= sp.EINTR
    H.reap(pid, true)
    signal.signal(signal.SIGUSR1, old or signal.SIG_DFL)
    assert.are.equal(1, n, msg)
    assert.are.equal(3, events[1]:token())
    poll:close()
  end)
end)
