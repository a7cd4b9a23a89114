# frozen_string_literal: true

# An edge-triggered TCP echo server on SwiftPoll::Poll, checking itself: it
# listens on 127.0.0.1 (a free port), three client threads send messages of
# different sizes (one larger than the socket buffers, so that the server
# must wait for writability), each checks that it got back exactly what it
# sent, and the program exits 0 (1 on a mismatch or after 30 s).
#
#   SWIFTPOLL_LIBRARY=build/lib/libswiftpoll.so ruby -Ibindings/ruby/lib examples/echo_server.rb
#
# Edge-triggered (mio's default): an event says "something changed", so on
# every event the server reads until EAGAIN and writes until EAGAIN or done.
require "socket"
require "swiftpoll"

I = SwiftPoll::Interest
SERVER = 0 # token of the listening socket; clients get 1, 2, ...
WAKE = 2**64 - 1 # token of the waker that tells the loop to stop

server = TCPServer.new("127.0.0.1", 0)
port = server.local_address.ip_port
poll = SwiftPoll::Poll.new
poll.registry.register(server, SERVER, I::READABLE)
waker = SwiftPoll::Waker.new(poll, WAKE)

# each connection: its socket, the bytes read but not yet written back, and
# whether the peer has finished sending
Conn = Struct.new(:sock, :pending, :eof)
conns = {}
next_token = 1

# Reads everything available into conn.pending and writes as much of it as
# the socket takes; false once the peer has finished and all is written back.
def pump(conn)
  until conn.eof
    begin
      conn.pending << conn.sock.read_nonblock(65_536)
    rescue IO::WaitReadable
      break
    rescue EOFError
      conn.eof = true
    end
  end
  until conn.pending.empty?
    n = conn.sock.write_nonblock(conn.pending, exception: false)
    return true if n == :wait_writable # the next WRITABLE edge goes on

    conn.pending = conn.pending.byteslice(n..)
  end
  !conn.eof
end

messages = ["hello", "x" * 10_000, (0..255).map(&:chr).join * 8_000] # the last is ~2 MB
clients = messages.map do |msg|
  Thread.new do
    s = TCPSocket.new("127.0.0.1", port)
    writer = Thread.new do
      s.write(msg)
      s.close_write
    end
    got = s.read
    writer.join
    s.close
    got == msg.b ? :ok : "mismatch: sent #{msg.bytesize} bytes, got #{got.bytesize}"
  end
end
stopper = Thread.new do
  results = clients.map(&:value)
  waker.wake # the loop below stops
  results
end

events = SwiftPoll::Events.new(64)
deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + 30
running = true
while running
  left = deadline - Process.clock_gettime(Process::CLOCK_MONOTONIC)
  abort "echo_server: no answer in 30 s" if left <= 0

  poll.poll(events, left)
  events.each do |ev|
    case ev.token
    when WAKE
      running = false
    when SERVER
      loop do
        sock = server.accept_nonblock
        token = next_token
        next_token += 1
        conns[token] = Conn.new(sock, +"", false)
        # readable and writable, edge-triggered: one registration for good
        poll.registry.register(sock, token, I::READABLE | I::WRITABLE)
      rescue IO::WaitReadable
        break
      end
    else
      conn = conns[ev.token] or next
      next if pump(conn)

      poll.registry.deregister(conn.sock)
      conn.sock.close
      conns.delete(ev.token)
    end
  end
end

results = stopper.value
waker.close
poll.close
server.close
results.each_with_index do |r, i|
  puts "echo_server: client #{i + 1} (#{messages[i].bytesize} bytes): #{r}"
end
exit(results.all?(:ok) ? 0 : 1)
