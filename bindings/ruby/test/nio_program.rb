# frozen_string_literal: true

# A program written for nio4r (it requires "nio"), run unchanged by
# test_nio_compat.rb against the real nio4r and against swiftpoll/nio
# (ruby -rswiftpoll/nio): the two outputs must be identical.  Everything it
# prints is deterministic (no backend names, no timings).
require "nio"
require "socket"

def show(label, value)
  value = value.map(&:value).sort if value.is_a?(Array) && value.all? { |m| m.is_a?(NIO::Monitor) }
  puts "#{label}: #{value.inspect}"
end

def error_of
  yield
  "no error"
rescue StandardError => e
  e.class.name
end

sel = NIO::Selector.new
show "backends are symbols", NIO::Selector.backends.all? { |b| b.is_a?(Symbol) }
show "empty", sel.empty?

r1, w1 = IO.pipe
r2, w2 = IO.pipe
m1 = sel.register(r1, :r)
m1.value = "pipe1"
m2 = sel.register(r2, :r)
m2.value = "pipe2"
show "registered", [sel.registered?(r1), sel.registered?(w1)]
show "twice", error_of { sel.register(r1, :r) }
show "non-io", error_of { sel.register(42, :r) }
show "bad interest", error_of { sel.register(w1, :x) }
show "nothing ready", sel.select(0)
w1 << "a"
show "one ready", sel.select(0)
show "still ready (level)", sel.select(0)
w2 << "b"
seen = []
show "block count", sel.select(1) { |m| seen << m }
show "block monitors", seen
show "readiness", [m1.readiness, m1.readable?, m1.writable?]
r1.read(1)
r2.read(1)
show "drained", sel.select(0)
show "timeout", sel.select(0.05)
show "negative timeout", error_of { sel.select(-1) }

t = Thread.new { sel.select }
Thread.pass until t.status == "sleep"
sel.wakeup
show "woken", t.value

a, b = UNIXSocket.pair
ma = sel.register(a, :rw)
ma.value = "sock"
show "writable", sel.select(1)
show "sock readiness", ma.readiness
b << "x"
show "rw", sel.select(1).map { |m| [m.value, m.readiness] }.sort
show "interests=", (ma.interests = :r)
show "add_interest", ma.add_interest(:w)
show "remove_interest", ma.remove_interest(:w)
show "remove all", ma.remove_interest(:r)
show "none", sel.select(0)
show "interests nil", ma.interests
ma.interests = :r
show "read again", sel.select(1)
show "bogus add", error_of { ma.add_interest(:derp) }

b.close
a.read_nonblock(10)
show "peer closed", sel.select(1).map { |m| [m.value, m.readiness] }

w1.close
show "writer closed", sel.select(1)

dm = sel.deregister(r1)
show "deregistered", [dm.closed?, sel.registered?(r1), dm.selector.nil?]
show "deregister again", sel.deregister(r1)
r2.close
show "deregister closed io", sel.deregister(r2).closed?
ma.close
show "monitor close", [ma.closed?, sel.registered?(a)]
show "closed monitor interests=", error_of { ma.interests = :w }
show "empty at the end", sel.empty?
sel.close
show "closed", sel.closed?
show "select closed", error_of { sel.select(0) }
show "register closed", error_of { sel.register(w2, :w) }
show "wakeup closed", error_of { sel.wakeup }
show "close twice", sel.close
