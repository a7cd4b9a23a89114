#!/usr/bin/env luajit
-- An edge-triggered TCP echo server on swiftpoll's Poll / Registry / Events,
-- with its client in the same program and the same poll (Lua has no threads):
--
--   make examples        (or, from a build:)
--   SWIFTPOLL_LIBRARY=build/lib/libswiftpoll.so.0 \
--   LUA_PATH="bindings/lua/?.lua;bindings/lua/?/init.lua;;" luajit examples/echo_server.lua
--
-- Edge-triggered, as in mio: after an event, read (or accept, or write) until
-- EAGAIN, because the next event comes only when more data arrives.  The client
-- sends three messages, checks each echo, then shuts down; the server sees the
-- end of the stream and closes.  Prints what happens; exits 0 when every echo
-- matched.  Bounded by timeouts.
local sp = require "swiftpoll"
local socket = require "posix.sys.socket"
local unistd = require "posix.unistd"
local fcntl = require "posix.fcntl"
local perrno = require "posix.errno"

local R, W = sp.Interest.READABLE, sp.Interest.WRITABLE
local EAGAIN, EINPROGRESS = perrno.EAGAIN, perrno.EINPROGRESS
local LISTENER, CLIENT = 0, 1 -- tokens; server-side connections get 2, 3, ...

local function nonblocking(fd)
  assert(fcntl.fcntl(fd, fcntl.F_SETFL, bit.bor(fcntl.fcntl(fd, fcntl.F_GETFL), fcntl.O_NONBLOCK)))
  return fd
end

local poll = assert(sp.Poll.new())
local registry = poll:registry()
local events = sp.Events.new(64)

-- the server: a listener on an ephemeral loopback port
local listener = nonblocking(assert(socket.socket(socket.AF_INET, socket.SOCK_STREAM, 0)))
assert(socket.setsockopt(listener, socket.SOL_SOCKET, socket.SO_REUSEADDR, 1))
assert(socket.bind(listener, { family = socket.AF_INET, addr = "127.0.0.1", port = 0 }))
assert(socket.listen(listener, 16))
local port = assert(socket.getsockname(listener)).port
assert(registry:register(listener, LISTENER, R))
print(("server: listening on 127.0.0.1:%d (backend %s)"):format(port, poll:backend()))

local conns = {}   -- token -> { fd = fd, out = pending bytes }
local next_token = 2

-- the client: a non-blocking connect, driven by the same poll
local messages = { "hello", "edge-triggered", ("swiftpoll "):rep(1000) }
local client = { fd = nonblocking(assert(socket.socket(socket.AF_INET, socket.SOCK_STREAM, 0))),
  connected = false, i = 0, sent = "", got = "", ok = 0 }
do
  local ok, msg, e = socket.connect(client.fd, { family = socket.AF_INET, addr = "127.0.0.1", port = port })
  assert(ok or e == EINPROGRESS, msg)
end
assert(registry:register(client.fd, CLIENT, R + W))

-- Writes as much of `data` as the socket takes now; returns what is left.
local function send_some(fd, data)
  while #data > 0 do
    local n, msg, e = socket.send(fd, data)
    if not n then
      if e == EAGAIN then break end
      error("send: " .. msg)
    end
    data = data:sub(n + 1)
  end
  return data
end

local function client_next()
  client.i = client.i + 1
  local m = messages[client.i]
  if not m then -- all echoed: end the stream, the server closes its side
    assert(socket.shutdown(client.fd, socket.SHUT_WR))
    return
  end
  client.sent, client.got = m, ""
  client.pending = send_some(client.fd, m)
end

local function on_client(ev)
  if ev:writable() and not client.connected then
    client.connected = true
    print("client: connected")
    client_next()
  elseif ev:writable() and client.pending and #client.pending > 0 then
    client.pending = send_some(client.fd, client.pending)
  end
  if ev:readable() then
    while true do -- read until EAGAIN: edge-triggered
      local data, msg, e = socket.recv(client.fd, 65536)
      if not data then
        if e == EAGAIN then break end
        error("client recv: " .. msg)
      end
      if data == "" then
        print("client: server closed the connection")
        client.done = true
        break
      end
      client.got = client.got .. data
    end
    if not client.done and #client.sent > 0 and #client.got >= #client.sent then
      local same = client.got == client.sent
      print(("client: sent %d bytes, echo %s"):format(#client.sent, same and "matches" or "DIFFERS"))
      if same then client.ok = client.ok + 1 end
      client.sent = ""
      client_next()
    end
  end
end

local function on_listener()
  while true do -- accept until EAGAIN
    local fd, msg, e = socket.accept(listener)
    if not fd then
      if e == EAGAIN then break end
      error("accept: " .. msg)
    end
    nonblocking(fd)
    conns[next_token] = { fd = fd, out = "" }
    assert(registry:register(fd, next_token, R + W))
    print(("server: accepted a connection as token %d"):format(next_token))
    next_token = next_token + 1
  end
end

local function on_conn(token, ev)
  local c = conns[token]
  if ev:readable() then
    while true do -- read until EAGAIN, echo back
      local data, msg, e = socket.recv(c.fd, 65536)
      if not data then
        if e == EAGAIN then break end
        error("server recv: " .. msg)
      end
      if data == "" then
        print(("server: token %d reached the end of its stream, closing"):format(token))
        assert(registry:deregister(c.fd))
        unistd.close(c.fd)
        conns[token] = nil
        return
      end
      c.out = c.out .. data
    end
  end
  if #c.out > 0 then c.out = send_some(c.fd, c.out) end -- rest on the next writable edge
end

local deadline = os.time() + 20
while not client.done and os.time() < deadline do
  local n, msg, e = poll:poll(events, 5)
  if not n then
    if e ~= sp.EINTR then error("poll: " .. msg) end
  elseif n == 0 then
    print("server: timed out")
    break
  end
  for ev in events:iter() do
    local token = ev:token()
    if token == LISTENER then on_listener()
    elseif token == CLIENT then on_client(ev)
    elseif conns[token] then on_conn(token, ev)
    end
  end
end

unistd.close(client.fd)
for _, c in pairs(conns) do unistd.close(c.fd) end
unistd.close(listener)
poll:close()
local ok = client.ok == #messages and client.done
print(ok and "echo ok" or "echo FAILED")
os.exit(ok and 0 or 1)
