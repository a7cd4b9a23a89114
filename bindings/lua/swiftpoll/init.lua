-- swiftpoll for LuaJIT: Poll, Registry, Events, Event, Interest and Waker over
-- libswiftpoll through LuaJIT's ffi.  See bindings/lua/README.md for the API and
-- docs/BINDINGS.md for the rules every binding follows.
--
-- Conventions (luaposix's):
--   * a call that can fail at run time returns a true value (or its result) on
--     success and `nil, message, errno` on failure (message from
--     swiftpoll_strerror, errno a positive number such as swiftpoll.EEXIST);
--   * a programming error (a string as a token, a negative fd, an unknown
--     interest bit, using a closed object) raises a Lua error before anything
--     is passed to the library.

local ffi = require "ffi"
local bit = require "bit"
local defs = require "swiftpoll.cdef"

local band, bor = bit.band, bit.bor
local type, tonumber, tostring, error, setmetatable = type, tonumber, tostring, error, setmetatable
local floor, huge = math.floor, math.huge

-- The declarations of include/swiftpoll.h (generated; see tools/gen_cdef.lua).
-- A second `require` after package.loaded was cleared must not redefine them.
if not pcall(ffi.typeof, "swiftpoll_event") then
  ffi.cdef(defs.cdef)
end

-- The Event view: swiftpoll_event with its fields renamed, so that the methods
-- ev:token(), ev:flags(), ev:raw() are not shadowed by struct fields.  Same
-- layout, checked here against the header's struct (which is what the library
-- writes); the header's own static assertions say 16 bytes, offsets 0, 8, 12.
if not pcall(ffi.typeof, "swiftpoll_lua_event") then
  ffi.cdef [[
    typedef struct swiftpoll_lua_event { uint64_t token_; uint32_t flags_; uint32_t raw_; } swiftpoll_lua_event;
    typedef struct swiftpoll_lua_events { int32_t n; uint32_t cap; swiftpoll_lua_event ev[?]; } swiftpoll_lua_events;
  ]]
end
assert(ffi.sizeof("swiftpoll_event") == 16 and ffi.alignof("swiftpoll_event") == 8
  and ffi.offsetof("swiftpoll_event", "token") == 0
  and ffi.offsetof("swiftpoll_event", "flags") == 8
  and ffi.offsetof("swiftpoll_event", "raw") == 12
  and ffi.sizeof("swiftpoll_lua_event") == 16
  and ffi.offsetof("swiftpoll_lua_event", "flags_") == 8
  and ffi.offsetof("swiftpoll_lua_event", "raw_") == 12,
  "swiftpoll: swiftpoll_event is not the 16-byte layout this binding was written for")

local K = defs.constants
local ABI_VERSION = 1

local M = {
  ABI_VERSION = ABI_VERSION,
  -- errno values the library returns (negated); Linux's numbers, which the BSDs
  -- and macOS share except ENOTSUP.
  EPERM = 1, ENOENT = 2, EINTR = 4, EBADF = 9, ENOMEM = 12, EBUSY = 16, EEXIST = 17,
  EINVAL = 22, ENFILE = 23, EMFILE = 24, ENOSPC = 28, ELOOP = 40,
  ENOTSUP = ffi.os == "Linux" and 95 or 45,
}

---------------------------------------------------------------- the library

local function file_exists(p)
  local f = io.open(p, "rb")
  if f then f:close() return true end
  return false
end

local function module_dir()
  local src = debug.getinfo(1, "S").source
  if src:sub(1, 1) == "@" then
    return src:sub(2):match("^(.*)/[^/]*$") or "."
  end
  return nil
end

-- Lookup order (as the Python package's): $SWIFTPOLL_LIBRARY (if set, nothing
-- else is tried: an explicit choice is never silently replaced), then a copy
-- bundled next to this file, then the system's loader path (the SONAME
-- libswiftpoll.so.0 first, the development link libswiftpoll.so second).
local function load_library()
  local tried = {}
  local env = os.getenv("SWIFTPOLL_LIBRARY")
  local candidates = {}
  if env and env ~= "" then
    candidates[1] = { "SWIFTPOLL_LIBRARY", env }
  else
    local dir = module_dir()
    if dir then
      local bundled = dir .. "/libswiftpoll.so"
      if file_exists(bundled) then
        candidates[#candidates + 1] = { "bundled", bundled }
      else
        tried[#tried + 1] = "bundled copy " .. bundled .. ": not there"
      end
    end
    candidates[#candidates + 1] = { "system loader path", "libswiftpoll.so.0" }
    candidates[#candidates + 1] = { "system loader path", "swiftpoll" }
  end
  for _, c in ipairs(candidates) do
    local ok, lib = pcall(ffi.load, c[2])
    if ok then return lib, c[2], c[1] end
    tried[#tried + 1] = ("%s %s: %s"):format(c[1], c[2], tostring(lib))
  end
  error("swiftpoll: cannot load libswiftpoll; tried: " .. table.concat(tried, "; ")
    .. " (set SWIFTPOLL_LIBRARY to the library's path, or install it: make install)", 0)
end

local lib, lib_path, lib_origin = load_library()
M.library_path, M.library_origin = lib_path, lib_origin

local ok_abi, abi = pcall(function() return lib.swiftpoll_abi_version() end)
if not ok_abi then
  error(("swiftpoll: %s is not a libswiftpoll (%s)"):format(lib_path, tostring(abi)), 0)
end
if abi ~= ABI_VERSION then
  error(("swiftpoll: %s has C ABI version %d, this module needs version %d"):format(lib_path, abi, ABI_VERSION), 0)
end

-- Every function of the header must be in the library, except the additions a
-- library older than the header may lack (they make the features that need them
-- return nil, message, ENOTSUP instead).
local OPTIONAL = { swiftpoll_poll_new_backend = true, swiftpoll_poll_backend = true,
  swiftpoll_backend_name = true }
local has = {}
for _, name in ipairs(defs.functions) do
  local ok = pcall(function() return lib[name] end)
  if not ok and not OPTIONAL[name] then
    error(("swiftpoll: %s lacks %s: not a libswiftpoll of this header (%s)"):format(
      lib_path, name, K.SWIFTPOLL_VERSION_STRING), 0)
  end
  has[name] = ok
end

M.lib = lib -- the raw ffi namespace, for what the objects below do not cover
M.constants = K

function M.abi_version() return lib.swiftpoll_abi_version() end
function M.version() return ffi.string(lib.swiftpoll_version()) end
function M.strerror(e) return ffi.string(lib.swiftpoll_strerror(e)) end

local strerror = lib.swiftpoll_strerror
local function fail(rc)
  return nil, ffi.string(strerror(rc)), -rc
end

----------------------------------------------------------------- arguments

M.Interest = {
  READABLE = K.SWIFTPOLL_READABLE, WRITABLE = K.SWIFTPOLL_WRITABLE, PRIORITY = K.SWIFTPOLL_PRIORITY,
  EDGE = K.SWIFTPOLL_EDGE, LEVEL = K.SWIFTPOLL_LEVEL, ONESHOT = K.SWIFTPOLL_ONESHOT,
}
local INTEREST_BITS = bor(K.SWIFTPOLL_READABLE, K.SWIFTPOLL_WRITABLE, K.SWIFTPOLL_PRIORITY)
local MODE_BITS = bor(K.SWIFTPOLL_LEVEL, K.SWIFTPOLL_ONESHOT)
local ALL_BITS = bor(INTEREST_BITS, MODE_BITS)

local F_READABLE, F_WRITABLE = K.SWIFTPOLL_EVENT_READABLE, K.SWIFTPOLL_EVENT_WRITABLE
local F_ERROR, F_PRIORITY = K.SWIFTPOLL_EVENT_ERROR, K.SWIFTPOLL_EVENT_PRIORITY
local F_READ_CLOSED, F_WRITE_CLOSED = K.SWIFTPOLL_EVENT_READ_CLOSED, K.SWIFTPOLL_EVENT_WRITE_CLOSED

local INT_MAX = 2147483647
local TWO64 = 18446744073709551616 -- 2^64, exact as a double
local TWO53 = 9007199254740992
local uint64_t = ffi.typeof("uint64_t")
local int64_t = ffi.typeof("int64_t")
local TWO53ULL = ffi.new(uint64_t, TWO53)

-- level 3: the caller of the function that called argerror; the check_*
-- helpers below use 4 (the caller of the API function that called them).
local function argerror(n, fname, msg, level)
  error(("bad argument #%d to '%s' (%s)"):format(n, fname, msg), level or 3)
end

local function check_fd(fd, n, fname)
  local t = type(fd)
  if t == "number" then
    if fd >= 0 and fd <= INT_MAX and fd == floor(fd) then return fd end
    argerror(n, fname, "invalid file descriptor: " .. tostring(fd), 4)
  end
  if t == "table" or t == "userdata" then -- luasocket's getfd(), or fileno()
    local ok, get = pcall(function() return fd.getfd or fd.fileno end) -- a userdata may not be indexable
    if not ok then get = nil end
    if type(get) == "function" then
      local v = get(fd)
      if type(v) == "number" and v >= 0 and v <= INT_MAX and v == floor(v) then return v end
      argerror(n, fname, "invalid file descriptor from getfd/fileno: " .. tostring(v), 4)
    end
  end
  if t == "cdata" and ffi.istype("int", fd) then return check_fd(tonumber(fd), n, fname) end
  argerror(n, fname, "file descriptor (integer) or object with getfd()/fileno() expected, got " .. t, 4)
end

local function check_token(token, n, fname)
  local t = type(token)
  if t == "number" then
    if token >= 0 and token < TWO64 and token == floor(token) then return token end
    argerror(n, fname, "token must be an integer in 0 .. 2^64-1, got " .. tostring(token), 4)
  elseif t == "cdata" then
    if ffi.istype(uint64_t, token) then return token end
    if ffi.istype(int64_t, token) then
      if token >= 0 then return token end
      argerror(n, fname, "token must be in 0 .. 2^64-1, got " .. tostring(token), 4)
    end
  end
  argerror(n, fname, "token (integer number or uint64_t cdata) expected, got " .. (t == "cdata" and tostring(ffi.typeof(token)) or t), 4)
end

local function check_interest(i, n, fname)
  if type(i) ~= "number" then
    argerror(n, fname, "interest (number, e.g. swiftpoll.Interest.READABLE) expected, got " .. type(i), 4)
  end
  if i < 0 or i ~= floor(i) or i > ALL_BITS or band(i, bit.bnot(ALL_BITS)) ~= 0 then
    argerror(n, fname, "unknown interest bits: " .. (i >= 0 and i <= 0x7fffffff and i == floor(i)
      and ("0x%x"):format(i) or tostring(i)), 4)
  end
  if band(i, INTEREST_BITS) == 0 then
    argerror(n, fname, "interest needs READABLE, WRITABLE or PRIORITY", 4)
  end
  if band(i, MODE_BITS) == MODE_BITS then
    argerror(n, fname, "LEVEL and ONESHOT are mutually exclusive", 4)
  end
  return i
end

-- Seconds (nil: block) to the C timeout in nanoseconds, rounded up so that a
-- positive timeout never becomes a busy loop; beyond 292 years: forever.
local function timeout_ns(timeout, n, fname)
  if timeout == nil then return -1 end
  if type(timeout) ~= "number" then
    argerror(n, fname, "timeout (seconds, or nil to block) expected, got " .. type(timeout), 4)
  end
  if timeout ~= timeout then argerror(n, fname, "timeout is NaN", 4) end
  if timeout < 0 then argerror(n, fname, "timeout must be >= 0 or nil, got " .. tostring(timeout), 4) end
  if timeout == 0 then return 0 end
  local ns = timeout * 1e9
  if ns >= 9.2e18 then return -1 end
  ns = math.ceil(ns)
  return ns < 1 and 1 or ns
end

M._timeout_ns = timeout_ns -- internal: exposed for the suite

local closed_error = function(kind)
  error("attempt to use a closed swiftpoll." .. kind, 3)
end

------------------------------------------------------------------- Event

local Event = {
  READABLE = F_READABLE, WRITABLE = F_WRITABLE, ERROR = F_ERROR,
  READ_CLOSED = F_READ_CLOSED, WRITE_CLOSED = F_WRITE_CLOSED, PRIORITY = F_PRIORITY,
}
M.Event = Event

local event_methods = {}
-- The token as a Lua number when it is at most 2^53 (exact), else the exact
-- uint64_t cdata.  Tokens are usually fd numbers or table indexes, and a number
-- works as a table key where a cdata would be compared by identity.
function event_methods.token(ev)
  local t = ev.token_
  if t <= TWO53ULL then return tonumber(t) end
  return t
end
function event_methods.token64(ev) return ev.token_ + 0ULL end
function event_methods.flags(ev) return ev.flags_ end
function event_methods.raw(ev) return ev.raw_ end
function event_methods.readable(ev) return band(ev.flags_, F_READABLE) ~= 0 end
function event_methods.writable(ev) return band(ev.flags_, F_WRITABLE) ~= 0 end
function event_methods.error(ev) return band(ev.flags_, F_ERROR) ~= 0 end
function event_methods.read_closed(ev) return band(ev.flags_, F_READ_CLOSED) ~= 0 end
function event_methods.write_closed(ev) return band(ev.flags_, F_WRITE_CLOSED) ~= 0 end
function event_methods.priority(ev) return band(ev.flags_, F_PRIORITY) ~= 0 end
-- An owned copy, valid after the next poll and after its Events is gone.
function event_methods.copy(ev) return ffi.new("swiftpoll_lua_event", ev.token_, ev.flags_, ev.raw_) end

local FLAG_NAMES = { { F_READABLE, "readable" }, { F_WRITABLE, "writable" }, { F_ERROR, "error" },
  { F_READ_CLOSED, "read_closed" }, { F_WRITE_CLOSED, "write_closed" }, { F_PRIORITY, "priority" } }

ffi.metatype("swiftpoll_lua_event", {
  __index = event_methods,
  __tostring = function(ev)
    local names = {}
    for _, f in ipairs(FLAG_NAMES) do
      if band(ev.flags_, f[1]) ~= 0 then names[#names + 1] = f[2] end
    end
    return ("swiftpoll.Event(token=%s, %s, raw=0x%x)"):format(
      tostring(ev.token_):gsub("ULL$", ""), #names > 0 and table.concat(names, "|") or "none", ev.raw_)
  end,
})

------------------------------------------------------------------- Events

local Events = {}
M.Events = Events
local events_methods = {}
local events_ct = ffi.typeof("swiftpoll_lua_events")
local event_ptr_ct = ffi.typeof("swiftpoll_event *")

-- Events are a variable-length cdata: the count, the capacity and the event
-- array itself, which swiftpoll_poll_wait writes into.  events[i] (1-based) and
-- the iterators give views into that array (swiftpoll_lua_event pointers), not
-- copies: a view shows the event of the last poll at its index and is valid as
-- long as the Events object is reachable.
function Events.new(capacity)
  if type(capacity) ~= "number" or capacity ~= floor(capacity) then
    argerror(1, "Events.new", "capacity (integer) expected, got " .. (type(capacity) == "number" and tostring(capacity) or type(capacity)))
  end
  if capacity <= 0 then argerror(1, "Events.new", "capacity must be positive, got " .. capacity) end
  if capacity > floor(INT_MAX / 12) then argerror(1, "Events.new", "capacity too large: " .. capacity) end
  local e = events_ct(capacity)
  e.cap = capacity
  return e
end

function events_methods.capacity(e) return e.cap end
function events_methods.count(e) return e.n end
function events_methods.is_empty(e) return e.n == 0 end
function events_methods.clear(e) e.n = 0 end
function events_methods.get(e, i)
  if i >= 1 and i <= e.n then return e.ev + (i - 1) end
  return nil
end

-- for ev in events:iter() do ... end  (stateless: the control value is the view)
local function iter_next(e, prev)
  local p
  if prev == nil then p = e.ev + 0 else p = prev + 1 end
  if p < e.ev + e.n then return p end
  return nil
end
function events_methods.iter(e) return iter_next, e, nil end

-- for i, ev in events:ipairs() do ... end
local function ipairs_next(e, i)
  if i < e.n then return i + 1, e.ev + i end
  return nil
end
function events_methods.ipairs(e) return ipairs_next, e, 0 end

ffi.metatype(events_ct, {
  __index = function(e, k)
    if type(k) == "number" then
      if k >= 1 and k <= e.n and k == floor(k) then return e.ev + (k - 1) end
      return nil
    end
    return events_methods[k]
  end,
  __len = function(e) return e.n end,
  __tostring = function(e) return ("swiftpoll.Events(capacity=%d, count=%d)"):format(e.cap, e.n) end,
})

local function is_events(v) return type(v) == "cdata" and ffi.istype(events_ct, v) end

------------------------------------------------------------------- backends

-- Backend names from the header's SWIFTPOLL_BACKEND_* constants (none in a
-- header before the backend ABI: then only the default exists).
local BACKENDS = { default = 0 }
for name, v in pairs(K) do
  local b = name:match("^SWIFTPOLL_BACKEND_(%u+)$")
  if b then BACKENDS[b:lower()] = v end
end
M.BACKENDS = BACKENDS

local function backend_number(b)
  if type(b) == "string" then
    local v = BACKENDS[b]
    if v == nil then argerror(1, "Poll.new", "unknown backend: " .. b, 4) end
    return v
  elseif type(b) == "number" and b == floor(b) then
    return b -- the library says -EINVAL for an unknown number
  end
  argerror(1, "Poll.new", "backend (name or number) expected, got " .. type(b), 4)
end

local function backend_name(n)
  if has.swiftpoll_backend_name then
    local s = lib.swiftpoll_backend_name(n)
    if s ~= nil then return ffi.string(s) end
    return nil
  end
  for k, v in pairs(BACKENDS) do if v == n then return k end end
  return nil
end

--------------------------------------------------------------------- Poll

local Poll = {}
Poll.__index = Poll
M.Poll = Poll
local Registry = {}
Registry.__index = Registry
M.Registry = Registry

local poll_out_ct = ffi.typeof("swiftpoll_poll *[1]")
local reg_out_ct = ffi.typeof("swiftpoll_registry *[1]")
local waker_out_ct = ffi.typeof("swiftpoll_waker *[1]")
local poll_free, registry_free, waker_free = lib.swiftpoll_poll_free, lib.swiftpoll_registry_free, lib.swiftpoll_waker_free
local wait = lib.swiftpoll_poll_wait

--- swiftpoll.Poll.new([{backend = "epoll" | "poll" | "kqueue" | "default"}])
-- Returns a Poll, or nil, message, errno.
function Poll.new(opts)
  local backend = 0
  if opts ~= nil then
    if type(opts) ~= "table" then argerror(1, "Poll.new", "options table expected, got " .. type(opts)) end
    for k in pairs(opts) do
      if k ~= "backend" then argerror(1, "Poll.new", "unknown option: " .. tostring(k)) end
    end
    if opts.backend ~= nil then backend = backend_number(opts.backend) end
  end
  local out = poll_out_ct()
  local rc
  if backend == 0 then
    rc = lib.swiftpoll_poll_new(out)
  elseif not has.swiftpoll_poll_new_backend then
    return nil, "backend selection needs libswiftpoll 0.2 (" .. lib_path .. " is " .. M.version() .. ")", M.ENOTSUP
  else
    rc = lib.swiftpoll_poll_new_backend(out, backend)
  end
  if rc < 0 then return fail(rc) end
  -- From here on the handle is freed exactly once: by close() (which detaches
  -- this finaliser first) or by the finaliser when the Poll is collected.
  local ptr = ffi.gc(out[0], poll_free)
  local self = setmetatable({ _ptr = ptr, _reg = lib.swiftpoll_poll_registry(ptr),
    _fd = lib.swiftpoll_poll_fd(ptr) }, Poll)
  -- the poll's own registry: borrowed, valid exactly as long as the poll (it
  -- holds the Poll, so the Poll is not collected while the registry is in use)
  self._registry = setmetatable({ _poll = self }, Registry)
  return self
end

--- poll:fileno() -> fd | nil, message, errno: the epoll (or kqueue) fd, owned
-- by the poll (do not close it); the poll(2) backend has none (ENOTSUP).
function Poll:fileno()
  if self._ptr == nil then closed_error("Poll") end
  local fd = self._fd
  if fd < 0 then return fail(fd) end
  return fd
end

function Poll:registry()
  if self._ptr == nil then closed_error("Poll") end
  return self._registry
end

--- poll:backend() -> name, number ("epoll", 1)
function Poll:backend()
  local ptr = self._ptr
  if ptr == nil then closed_error("Poll") end
  if not has.swiftpoll_poll_backend then return "epoll", 1 end -- libswiftpoll 0.1: epoll only
  local n = lib.swiftpoll_poll_backend(ptr)
  return backend_name(n), n
end

--- poll:poll(events [, timeout]) -> n | nil, message, errno
-- timeout in seconds (nil blocks, 0 returns at once).  A signal ends the wait
-- with nil, "Interrupted system call", swiftpoll.EINTR (never retried inside).
function Poll:poll(events, timeout)
  local ptr = self._ptr
  if ptr == nil then closed_error("Poll") end
  if not is_events(events) then
    argerror(1, "poll", "swiftpoll.Events expected, got " .. type(events))
  end
  local ns = -1
  if timeout ~= nil then ns = timeout_ns(timeout, 2, "poll") end
  events.n = 0
  local n = wait(ptr, ffi.cast(event_ptr_ct, events.ev), events.cap, ns)
  if n < 0 then return fail(n) end
  events.n = n
  return n
end

--- poll:close() frees the poll (its epoll fd and its own registry).  Cloned
-- registries and wakers stay valid.  Closing twice does nothing.
function Poll:close()
  local ptr = self._ptr
  if ptr ~= nil then
    self._ptr, self._reg = nil, nil
    ffi.gc(ptr, nil)
    poll_free(ptr)
  end
  return true
end

function Poll:is_closed() return self._ptr == nil end

function Poll:__tostring()
  if self._ptr == nil then return "swiftpoll.Poll (closed)" end
  if self._fd < 0 then return "swiftpoll.Poll (" .. tostring((self:backend())) .. ")" end
  return ("swiftpoll.Poll (%s, fd %d)"):format(self:backend(), self._fd)
end

----------------------------------------------------------------- Registry

-- The C registry of a Registry object, or a raised error if it (or, for the
-- poll's own registry, its poll) is closed.
local function reg_handle(self)
  local p = self._poll
  local r
  if p then r = p._reg else r = self._ptr end
  if r == nil then error("attempt to use a closed swiftpoll.Registry", 3) end
  return r
end

--- registry:register(fd, token, interest) -> true | nil, message, errno
function Registry:register(fd, token, interest)
  fd = check_fd(fd, 1, "register")
  token = check_token(token, 2, "register")
  interest = check_interest(interest, 3, "register")
  local rc = lib.swiftpoll_registry_register(reg_handle(self), fd, token, interest)
  if rc < 0 then return fail(rc) end
  return true
end

--- registry:reregister(fd, token, interest) -> true | nil, message, errno
function Registry:reregister(fd, token, interest)
  fd = check_fd(fd, 1, "reregister")
  token = check_token(token, 2, "reregister")
  interest = check_interest(interest, 3, "reregister")
  local rc = lib.swiftpoll_registry_reregister(reg_handle(self), fd, token, interest)
  if rc < 0 then return fail(rc) end
  return true
end

--- registry:deregister(fd) -> true | nil, message, errno
function Registry:deregister(fd)
  fd = check_fd(fd, 1, "deregister")
  local rc = lib.swiftpoll_registry_deregister(reg_handle(self), fd)
  if rc < 0 then return fail(rc) end
  return true
end

--- registry:try_clone() -> Registry | nil, message, errno
-- An independent registry of the same poll; it stays usable after the poll
-- is closed.  Close it when done (or let the GC free it).
function Registry:try_clone()
  local out = reg_out_ct()
  local rc = lib.swiftpoll_registry_try_clone(reg_handle(self), out)
  if rc < 0 then return fail(rc) end
  return setmetatable({ _ptr = ffi.gc(out[0], registry_free) }, Registry)
end

--- registry:close(): frees a cloned registry; on the poll's own registry it
-- does nothing (that one lives as long as its poll).  Closing twice is fine.
function Registry:close()
  local ptr = self._ptr
  if ptr ~= nil then
    self._ptr = nil
    ffi.gc(ptr, nil)
    registry_free(ptr)
  end
  return true
end

function Registry:is_closed()
  local p = self._poll
  if p then return p._ptr == nil end
  return self._ptr == nil
end

function Registry:__tostring()
  return ("swiftpoll.Registry (%s%s)"):format(self._poll and "borrowed" or "cloned",
    self:is_closed() and ", closed" or "")
end

-------------------------------------------------------------------- Waker

local Waker = {}
Waker.__index = Waker
M.Waker = Waker

--- swiftpoll.Waker.new(poll_or_registry, token) -> Waker | nil, message, errno
-- One live waker per poll: a second gives nil, "File exists", EEXIST.
function Waker.new(registry, token)
  if getmetatable(registry) == Poll then
    if registry._ptr == nil then closed_error("Poll") end
    registry = registry._registry
  end
  if getmetatable(registry) ~= Registry then
    argerror(1, "Waker.new", "swiftpoll.Registry or swiftpoll.Poll expected, got " .. type(registry))
  end
  token = check_token(token, 2, "Waker.new")
  local out = waker_out_ct()
  local rc = lib.swiftpoll_waker_new(reg_handle(registry), token, out)
  if rc < 0 then return fail(rc) end
  return setmetatable({ _ptr = ffi.gc(out[0], waker_free), _token = token }, Waker)
end

--- waker:wake() -> true | nil, message, errno
function Waker:wake()
  local ptr = self._ptr
  if ptr == nil then closed_error("Waker") end
  local rc = lib.swiftpoll_waker_wake(ptr)
  if rc < 0 then return fail(rc) end
  return true
end

function Waker:token() return self._token end

function Waker:close()
  local ptr = self._ptr
  if ptr ~= nil then
    self._ptr = nil
    ffi.gc(ptr, nil)
    waker_free(ptr)
  end
  return true
end

function Waker:is_closed() return self._ptr == nil end

function Waker:__tostring()
  return ("swiftpoll.Waker (token %s%s)"):format(tostring(self._token), self._ptr == nil and ", closed" or "")
end

return M
