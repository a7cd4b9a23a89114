-- Real kernel objects for the specs, through luaposix (and libc through the ffi
-- where luaposix has no binding: send with MSG_OOB).
local ffi = require "ffi"
local unistd = require "posix.unistd"
local fcntl = require "posix.fcntl"
local socket = require "posix.sys.socket"
local dirent = require "posix.dirent"
local ptime = require "posix.time"
local wait = require "posix.sys.wait"
local signal = require "posix.signal"

pcall(ffi.cdef, "long send(int fd, const void *buf, size_t len, int flags);")
pcall(ffi.cdef, [[
typedef unsigned long pthread_t;
int pthread_create(pthread_t *thread, const void *attr, void *(*start)(void *), void *arg);
int pthread_join(pthread_t thread, void **retval);
]])

local H = {}
local opened = {}

function H.nonblock(fd)
  local fl = assert(fcntl.fcntl(fd, fcntl.F_GETFL))
  assert(fcntl.fcntl(fd, fcntl.F_SETFL, bit.bor(fl, fcntl.O_NONBLOCK)))
  return fd
end

-- Tracked so that H.close_all() (after each test) leaves no descriptor behind.
local function track(...)
  for i = 1, select("#", ...) do opened[select(i, ...)] = true end
  return ...
end

function H.pipe()
  local r, w = assert(unistd.pipe())
  H.nonblock(r); H.nonblock(w)
  return track(r, w)
end

function H.socketpair()
  local a, b = assert(socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM, 0))
  H.nonblock(a); H.nonblock(b)
  return track(a, b)
end

-- A connected loopback TCP pair (client, server side).
function H.tcp_pair()
  local l = assert(socket.socket(socket.AF_INET, socket.SOCK_STREAM, 0))
  assert(socket.bind(l, { family = socket.AF_INET, addr = "127.0.0.1", port = 0 }))
  assert(socket.listen(l, 4))
  local sa = assert(socket.getsockname(l))
  local c = assert(socket.socket(socket.AF_INET, socket.SOCK_STREAM, 0))
  assert(socket.connect(c, { family = socket.AF_INET, addr = "127.0.0.1", port = sa.port }))
  local s = assert(socket.accept(l))
  unistd.close(l)
  H.nonblock(c); H.nonblock(s)
  return track(c, s)
end

function H.send_oob(fd, data)
  return tonumber(ffi.C.send(fd, data, #data, 1 --[[MSG_OOB]]))
end

function H.open_file(path)
  return track(assert(fcntl.open(path, fcntl.O_RDONLY)))
end

function H.write(fd, s) return assert(unistd.write(fd, s)) end
function H.read(fd, n) return unistd.read(fd, n or 4096) end

function H.close(fd)
  opened[fd] = nil
  return unistd.close(fd)
end

function H.close_all()
  for fd in pairs(opened) do unistd.close(fd) end
  opened = {}
end

function H.fd_count()
  local n = 0
  for name in dirent.files("/proc/self/fd") do
    if name ~= "." and name ~= ".." then n = n + 1 end
  end
  return n - 1 -- the directory's own fd
end

function H.sleep(seconds)
  local s = math.floor(seconds)
  ptime.nanosleep({ tv_sec = s, tv_nsec = math.floor((seconds - s) * 1e9) })
end

function H.now()
  local t = ptime.clock_gettime(ptime.CLOCK_MONOTONIC)
  return t.tv_sec + t.tv_nsec * 1e-9
end

-- Runs fn in a child process, which then _exits (never returns into busted).
function H.fork(fn)
  local pid = assert(unistd.fork())
  if pid == 0 then
    local ok = pcall(fn)
    unistd._exit(ok and 0 or 1)
  end
  return pid
end

function H.reap(pid, kill)
  if kill then signal.kill(pid, signal.SIGKILL) end
  local _, how, status = wait.wait(pid)
  return how, status
end

-- The backend the suite runs over (SWIFTPOLL_BACKEND, as swiftpoll_poll_new reads it).
function H.backend()
  local b = os.getenv("SWIFTPOLL_BACKEND")
  if b == nil or b == "" then return "epoll" end
  return b
end

-- Runs a shell command; returns its exit status and its output.
function H.run(cmd)
  local f = assert(io.popen(cmd .. " 2>&1; echo \"exit=$?\""))
  local out = f:read("*a")
  f:close()
  local status = tonumber(out:match("exit=(%d+)%s*$"))
  return status, out:gsub("exit=%d+%s*$", "")
end

function H.shquote(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

H.unistd, H.signal, H.socket = unistd, signal, socket
return H
