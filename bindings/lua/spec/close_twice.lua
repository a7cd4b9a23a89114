-- Run under valgrind by lifetime_spec.lua: every handle closed explicitly (twice)
-- and then collected, and others only collected.  A second free of any handle is
-- an invalid read/free that valgrind reports (a plain run may not crash on it).
local sp = require "swiftpoll"
for _ = 1, 20 do
  local p = assert(sp.Poll.new())
  local c = assert(p:registry():try_clone())
  local w = assert(sp.Waker.new(c, 1))
  assert(w:wake())
  w:close(); c:close(); p:close()
  w:close(); c:close(); p:close()
  local p2 = assert(sp.Poll.new())
  local c2 = assert(p2:registry():try_clone())
  local w2 = assert(sp.Waker.new(p2, 1))
  p2:close() -- the clone and the waker outlive it, then go to the GC
end
collectgarbage(); collectgarbage()
io.write("close_twice ok\n")
