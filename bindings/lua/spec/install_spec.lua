-- The module against the installed library: the cdef is the header's, every
-- symbol is there, and the library is found the way the README says.
local sp = require "swiftpoll"
local H = require "spec.helper"
local defs = require "swiftpoll.cdef"

local src = debug.getinfo(1, "S").source:sub(2)
if src:sub(1, 1) ~= "/" then src = os.getenv("PWD") .. "/" .. src end
local here = assert(src:match("^(.*)/spec/[^/]*$"), src) -- bindings/lua
local header = os.getenv("SWIFTPOLL_HEADER") or (here .. "/../../include/swiftpoll.h")
local libpath = os.getenv("SWIFTPOLL_LIBRARY")
local luajit = os.getenv("LUAJIT") or "luajit"

local function read(p)
  local f = assert(io.open(p, "rb")); local s = f:read("*a"); f:close(); return s
end

-- Runs `luajit -e CODE` with the module on LUA_PATH and the environment ENV
-- (a shell prefix); returns the exit status and the output.
local function lua_child(env, code, path)
  path = path or (here .. "/?.lua;" .. here .. "/?/init.lua;;")
  return H.run(("env -u SWIFTPOLL_LIBRARY %s LUA_PATH=%s %s -e %s"):format(
    env, H.shquote(path), luajit, H.shquote(code)))
end

describe("install", function()
  it("has the cdef that tools/gen_cdef.lua makes of the installed header", function()
    local status, out = H.run(("%s %s/tools/gen_cdef.lua %s"):format(luajit, here, H.shquote(header)))
    assert.are.equal(0, status, out)
    assert.are.equal(out, read(here .. "/swiftpoll/cdef.lua"),
      "bindings/lua/swiftpoll/cdef.lua is stale: run make lua-cdef")
  end)

  it("makes the generator refuse a header it does not understand", function()
    local tmp = os.tmpname()
    local f = assert(io.open(tmp, "wb"))
    f:write(read(header):gsub("#define SWIFTPOLL_ABI_VERSION 1", "#define SWIFTPOLL_ABI_VERSION (1 + 0)"))
    f:close()
    local status, out = H.run(("%s %s/tools/gen_cdef.lua %s"):format(luajit, here, tmp))
    os.remove(tmp)
    assert.are_not.equal(0, status)
    assert.matches("SWIFTPOLL_ABI_VERSION", out)
  end)

  it("declares exactly the functions the library exports", function()
    local status, out = H.run("nm -D --defined-only " .. H.shquote(libpath))
    assert.are.equal(0, status, out)
    local exported = {}
    for name in out:gmatch("%s[TW]%s+(swiftpoll_[%w_]+)") do exported[name] = true end
    local declared = {}
    for _, name in ipairs(defs.functions) do
      declared[name] = true
      assert.is_true(exported[name] == true, name .. " declared but not exported")
    end
    for name in pairs(exported) do
      assert.is_true(declared[name] == true, name .. " exported but not in the header")
    end
  end)

  it("loads the library from SWIFTPOLL_LIBRARY", function()
    local status, out = lua_child("SWIFTPOLL_LIBRARY=" .. H.shquote(libpath),
      'local sp = require "swiftpoll"; io.write(sp.library_origin, " ", sp.library_path)')
    assert.are.equal(0, status, out)
    assert.are.equal("SWIFTPOLL_LIBRARY " .. libpath, out)
  end)

  it("tries nothing else when SWIFTPOLL_LIBRARY is set but wrong", function()
    local dir = libpath:match("^(.*)/[^/]*$")
    local status, out = lua_child("LD_LIBRARY_PATH=" .. H.shquote(dir) .. " SWIFTPOLL_LIBRARY=/nonexistent/libswiftpoll.so",
      'require "swiftpoll"')
    assert.are_not.equal(0, status)
    assert.matches("cannot load libswiftpoll; tried: SWIFTPOLL_LIBRARY /nonexistent/libswiftpoll.so", out, 1, true)
    assert.is_nil(out:find("system loader path", 1, true))
  end)

  it("names every place it tried when the library is nowhere", function()
    local status, out = lua_child("LD_LIBRARY_PATH=/nonexistent", 'require "swiftpoll"')
    if status == 0 then return pending("a libswiftpoll is installed system-wide") end
    assert.matches("bundled copy " .. here .. "/swiftpoll/libswiftpoll.so: not there", out, 1, true)
    assert.matches("system loader path libswiftpoll.so.0", out, 1, true)
    assert.matches("system loader path swiftpoll", out, 1, true)
    assert.matches("SWIFTPOLL_LIBRARY", out, 1, true)
  end)

  it("finds the library on the system loader path (SONAME)", function()
    local dir = libpath:match("^(.*)/[^/]*$")
    local status, out = lua_child("LD_LIBRARY_PATH=" .. H.shquote(dir),
      'local sp = require "swiftpoll"; io.write(sp.library_origin, " ", sp.library_path, " ", sp.version())')
    assert.are.equal(0, status, out)
    assert.are.equal("system loader path libswiftpoll.so.0 " .. sp.version(), out)
  end)

  it("prefers a copy bundled next to the module to the system's", function()
    local tmp = os.tmpname(); os.remove(tmp)
    local dir = libpath:match("^(.*)/[^/]*$")
    assert.are.equal(0, (H.run(("mkdir -p %s/swiftpoll && cp %s/swiftpoll/init.lua %s/swiftpoll/cdef.lua %s/swiftpoll/ && cp %s %s/swiftpoll/libswiftpoll.so"):format(
      tmp, here, here, tmp, H.shquote(libpath), tmp))))
    local status, out = lua_child("LD_LIBRARY_PATH=" .. H.shquote(dir),
      'local sp = require "swiftpoll"; io.write(sp.library_origin, " ", sp.library_path)',
      tmp .. "/?.lua;" .. tmp .. "/?/init.lua;;")
    H.run("rm -rf " .. tmp)
    assert.are.equal(0, status, out)
    assert.are.equal("bundled " .. tmp .. "/swiftpoll/libswiftpoll.so", out)
  end)

  it("returns nil, message, EINVAL from Poll.new when SWIFTPOLL_BACKEND names no backend", function()
    local status, out = lua_child("SWIFTPOLL_LIBRARY=" .. H.shquote(libpath) .. " SWIFTPOLL_BACKEND=bogus",
      'local sp = require "swiftpoll"; local p, msg, e = sp.Poll.new(); ' ..
      'local q = assert(sp.Poll.new{backend = "epoll"}); io.write(tostring(p), " ", e, " ", msg, " ", (q:backend()))')
    assert.are.equal(0, status, out)
    assert.matches("^nil 22 .+ epoll$", out)
  end)

  it("refuses a library of another ABI version", function()
    local tmp = os.tmpname(); os.remove(tmp)
    local status, out = H.run(("mkdir -p %s && printf 'unsigned swiftpoll_abi_version(void){return 2;}\\n' > %s/fake.c && cc -shared -fPIC -o %s/libfake.so %s/fake.c"):format(tmp, tmp, tmp, tmp))
    if status ~= 0 then H.run("rm -rf " .. tmp); return pending("no C compiler: " .. out) end
    status, out = lua_child("SWIFTPOLL_LIBRARY=" .. tmp .. "/libfake.so", 'require "swiftpoll"')
    H.run("rm -rf " .. tmp)
    assert.are_not.equal(0, status)
    assert.matches("has C ABI version 2, this module needs version 1", out, 1, true)
  end)
end)
