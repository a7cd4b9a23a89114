-- The example and the benchmark run (the benchmark at tiny counts, so neither can rot).
local H = require "spec.helper"

local src = debug.getinfo(1, "S").source:sub(2)
if src:sub(1, 1) ~= "/" then src = os.getenv("PWD") .. "/" .. src end
local root = assert(src:match("^(.*)/bindings/lua/spec/[^/]*$"), src)
local luajit = os.getenv("LUAJIT") or "luajit"

describe("examples", function()
  it("echo_server.lua echoes every message and exits 0", function()
    local status, out = H.run(("timeout 60 %s %s/examples/echo_server.lua"):format(luajit, root))
    assert.are.equal(0, status, out)
    assert.matches("echo ok", out, 1, true)
    assert.is_nil(out:find("DIFFERS", 1, true))
  end)

  it("bench/lua/run.lua runs every workload at tiny counts (--smoke)", function()
    local status, out = H.run(("timeout 120 %s %s/bench/lua/run.lua --smoke"):format(luajit, root))
    assert.are.equal(0, status, out)
    assert.matches("smoke: ok", out, 1, true)
  end)
end)
