# frozen_string_literal: true

# One measurement in this process: ruby workloads.rb IMPL WORKLOAD COUNT
# prints "RATE" (operations per second of process CPU time).  bench/ruby/run.rb
# starts one process per measurement, with the flags the implementation needs:
#   poll       SwiftPoll::Poll                    (-I bindings/ruby/lib)
#   nio-ours   NIO::Selector of swiftpoll/nio     (-I bindings/ruby/lib -rswiftpoll/nio)
#   nio4r      NIO::Selector of the nio4r gem     (-rnio; libev)
#   io-select  IO.select
# `ruby workloads.rb costs ROUNDS [CALLS]` prints "ns name" lines (per-call costs).
#
# Workloads (the same system calls for every implementation):
#   ring       one byte hops over 64 pipes; one event per (blocking) wait
#   burst      1,024 pipes ready at once (level-triggered); every wait
#              returns all of them (capacity 1,024)
#   ring-idle  the ring with 1,000 more pipes registered that never become
#              ready (IO.select passes all 1,064 every call)
#   burst-poll the burst with both selectors over poll(2) instead of epoll

require "socket"

RING_PIPES = 64
BURST_PIPES = 1024
IDLE_PIPES = 1000

def cpu_now = Process.clock_gettime(Process::CLOCK_PROCESS_CPUTIME_ID)

def ring_pipes(extra_idle)
  ring = Array.new(RING_PIPES) { IO.pipe }
  idle = Array.new(extra_idle) { IO.pipe }
  [ring, idle]
end

# --------------------------------------------------------------------- ring

def ring_poll(hops, idle_count)
  ring, idle = ring_pipes(idle_count)
  poll = SwiftPoll::Poll.new
  events = SwiftPoll::Events.new(64)
  readers = ring.map(&:first)
  nexts = ring.each_index.map { |i| ring[(i + 1) % RING_PIPES][1] }
  readers.each_with_index { |r, i| poll.registry.register(r, i, SwiftPoll::Interest::READABLE) }
  idle.each_with_index { |(r, _), i| poll.registry.register(r, 1_000 + i, SwiftPoll::Interest::READABLE) }
  ring[0][1].write("x")
  t = cpu_now
  done = 0
  while done < hops
    poll.poll(events, nil)
    events.each_pair do |token, _flags|
      readers[token].read_nonblock(1)
      nexts[token].write_nonblock("x")
      done += 1
    end
  end
  dt = cpu_now - t
  poll.close
  hops / dt
ensure
  (ring + idle).flatten.each(&:close)
end

def ring_nio(hops, idle_count)
  ring, idle = ring_pipes(idle_count)
  sel = NIO::Selector.new
  ring.each_with_index do |(r, _), i|
    sel.register(r, :r).value = ring[(i + 1) % RING_PIPES][1]
  end
  idle.each { |r, _| sel.register(r, :r) }
  ring[0][1].write("x")
  t = cpu_now
  done = 0
  while done < hops
    sel.select do |m|
      m.io.read_nonblock(1)
      m.value.write_nonblock("x")
      done += 1
    end
  end
  dt = cpu_now - t
  sel.close
  hops / dt
ensure
  (ring + idle).flatten.each(&:close)
end

def ring_io_select(hops, idle_count)
  ring, idle = ring_pipes(idle_count)
  readers = ring.map(&:first) + idle.map(&:first)
  nexts = {}.compare_by_identity
  ring.each_with_index { |(r, _), i| nexts[r] = ring[(i + 1) % RING_PIPES][1] }
  ring[0][1].write("x")
  t = cpu_now
  done = 0
  while done < hops
    ready, = IO.select(readers)
    ready.each do |r|
      r.read_nonblock(1)
      nexts[r].write_nonblock("x")
      done += 1
    end
  end
  dt = cpu_now - t
  hops / dt
ensure
  (ring + idle).flatten.each(&:close)
end

# -------------------------------------------------------------------- burst

def burst_pipes
  pipes = Array.new(BURST_PIPES) { IO.pipe }
  pipes.each { |_, w| w.write("x") } # readable for good
  pipes
end

def burst_poll(waits, backend = nil)
  pipes = burst_pipes
  poll = SwiftPoll::Poll.new(backend: backend)
  events = SwiftPoll::Events.new(BURST_PIPES)
  level = SwiftPoll::Interest::READABLE | SwiftPoll::Interest::LEVEL
  pipes.each_with_index { |(r, _), i| poll.registry.register(r, i, level) }
  seen = 0
  t = cpu_now
  waits.times do
    poll.poll(events, 0)
    events.each_pair { |_token, _flags| seen += 1 }
  end
  dt = cpu_now - t
  poll.close
  raise "burst: #{seen} events" unless seen == waits * BURST_PIPES

  seen / dt
ensure
  pipes.flatten.each(&:close)
end

def burst_nio(waits, backend = nil)
  pipes = burst_pipes
  sel = NIO::Selector.new(backend)
  pipes.each { |r, _| sel.register(r, :r) }
  seen = 0
  5.times { sel.select(0) { |_m| nil } } # warm-up: libev grows its event array
  t = cpu_now
  waits.times do
    sel.select(0) { |m| seen += 1 if m.readable? }
  end
  dt = cpu_now - t
  sel.close
  # libev returns at most its event array (64 at first, doubled when full)
  raise "burst: #{seen} events" unless seen > waits * BURST_PIPES / 2

  seen / dt
ensure
  pipes.flatten.each(&:close)
end

def burst_io_select(waits)
  pipes = burst_pipes
  readers = pipes.map(&:first)
  seen = 0
  t = cpu_now
  waits.times do
    ready, = IO.select(readers, nil, nil, 0)
    ready.each { |_r| seen += 1 }
  end
  dt = cpu_now - t
  raise "burst: #{seen} events" unless seen == waits * BURST_PIPES

  seen / dt
ensure
  pipes.flatten.each(&:close)
end

# -------------------------------------------------------- per-call costs

def best_ns(rounds, n)
  best = Float::INFINITY
  rounds.times do
    t = Process.clock_gettime(Process::CLOCK_THREAD_CPUTIME_ID, :nanosecond)
    yield n
    dt = Process.clock_gettime(Process::CLOCK_THREAD_CPUTIME_ID, :nanosecond) - t
    best = [best, dt.fdiv(n)].min
  end
  best.round
end

def loop_n(n)
  i = 0
  while i < n
    yield
    i += 1
  end
end

# user and system CPU time per event of select(0) { } over 1,024 ready pipes
# (the burst): the system part is the kernel's epoll_wait, the same call for
# both selectors; the user part is the selector's own work
def burst_split(label, rounds, waits)
  pipes = burst_pipes
  sel = NIO::Selector.new
  pipes.each { |r, _| sel.register(r, :r) }
  5.times { sel.select(0) { |_m| nil } }
  best = nil
  rounds.times do
    seen = 0
    t0 = Process.times
    waits.times { sel.select(0) { |_m| seen += 1 } }
    t1 = Process.times
    u = (t1.utime - t0.utime) / seen * 1e9
    s = (t1.stime - t0.stime) / seen * 1e9
    best = [u, s] if best.nil? || u + s < best.sum
  end
  sel.close
  [["burst, #{label}: user CPU per event", best[0].round],
   ["burst, #{label}: system CPU per event (epoll_wait)", best[1].round]]
ensure
  pipes&.flatten&.each(&:close)
end

def costs(rounds, n = 50_000)
  r, w = IO.pipe
  w.write("x")
  out = []
  out << ["an empty Ruby method call (for scale)", best_ns(rounds, n) { |k| loop_n(k) { r.closed? } }]
  if defined?(SwiftPoll)
    nat = SwiftPoll::Native
    abi_nogvl = Fiddle::Function.new(nat.handle["swiftpoll_abi_version"], [], -Fiddle::TYPE_INT, need_gvl: false)
    reg = nat::REGISTER
    out << ["Fiddle call of an empty C function (swiftpoll_abi_version), GVL held",
            best_ns(rounds, n) { |k| loop_n(k) { nat::ABI.call } }]
    out << ["the same, Fiddle releasing the GVL (need_gvl: false)",
            best_ns(rounds, n) { |k| loop_n(k) { abi_nogvl.call } }]
    out << ["Fiddle call with 4 arguments (swiftpoll_registry_register(NULL, ...))",
            best_ns(rounds, n) { |k| loop_n(k) { reg.call(0, 1, 2, 1) } }]
    poll = SwiftPoll::Poll.new
    events = SwiftPoll::Events.new(64)
    poll.registry.register(r, 1, SwiftPoll::Interest::READABLE | SwiftPoll::Interest::LEVEL)
    poll.poll(events, 0)
    args = poll.instance_variable_get(:@args_addr)
    out << ["swiftpoll_poll_wait_args(&args), timeout 0, 1 fd ready, GVL held",
            best_ns(rounds, n) { |k| loop_n(k) { nat::WAIT_ARGS.call(args) } }]
    out << ["the same through rb_thread_call_without_gvl (the blocking path)",
            best_ns(rounds, n) { |k| loop_n(k) { nat::NOGVL.call(nat::WAIT_ARGS_ADDR, args, nat::RUBY_UBF_IO, 0) } }]
    out << ["Poll#poll(events, 0), 1 fd ready", best_ns(rounds, n) { |k| loop_n(k) { poll.poll(events, 0) } }]
    out << ["Poll#poll(events, 0) + each_pair", best_ns(rounds, n) do |k|
      loop_n(k) { poll.poll(events, 0); events.each_pair { |_t, _f| nil } }
    end]
    out << ["Poll#poll(events, 0) + each (Event objects)", best_ns(rounds, n) do |k|
      loop_n(k) { poll.poll(events, 0); events.each { |_e| nil } }
    end]
    out << ["Poll#poll(events, 1.0) (blocking path), 1 fd ready", best_ns(rounds, n) { |k| loop_n(k) { poll.poll(events, 1.0) } }]
    poll.close
  end
  if defined?(NIO::Selector)
    sel = NIO::Selector.new
    sel.register(r, :r)
    label = NIO.engine == "swiftpoll" ? "ours" : "nio4r #{NIO.engine}"
    out << ["NIO::Selector#select(0) (#{label}), 1 fd ready", best_ns(rounds, n) { |k| loop_n(k) { sel.select(0) } }]
    out << ["NIO::Selector#select(0) { } (#{label}), 1 fd ready", best_ns(rounds, n) { |k| loop_n(k) { sel.select(0) { |_m| nil } } }]
    out << ["NIO::Selector#select(1.0) (#{label}, blocking path), 1 fd ready",
            best_ns(rounds, n) { |k| loop_n(k) { sel.select(1.0) } }]
    sel.close
    out.concat(burst_split(label, [rounds, 3].min, [n / 25, 2].max))
  end
  unless defined?(SwiftPoll) || defined?(NIO::Selector)
    out << ["IO.select([r], nil, nil, 0), 1 fd ready", best_ns(rounds, n) { |k| loop_n(k) { IO.select([r], nil, nil, 0) } }]
  end
  out.each { |name, ns| puts "#{ns} #{name}" }
ensure
  r&.close
  w&.close
end

if $PROGRAM_NAME == __FILE__
  impl, workload, count = ARGV
  if impl == "costs"
    costs(Integer(workload), Integer(count || 50_000))
    exit
  end
  count = Integer(count)
  kind = { "poll" => :poll, "nio-ours" => :nio, "nio4r" => :nio, "io-select" => :io_select }.fetch(impl)
  if kind == :nio
    expected = impl == "nio4r" ? "libev" : "swiftpoll"
    raise "#{impl}: NIO.engine is #{NIO.engine}" unless NIO.engine == expected
  end
  rate = case workload
         when "ring" then send(:"ring_#{kind}", count, 0)
         when "ring-idle" then send(:"ring_#{kind}", count, IDLE_PIPES)
         when "burst" then send(:"burst_#{kind}", count)
         when "burst-poll" then send(:"burst_#{kind}", count, :poll) # both over poll(2)
         else raise "unknown workload #{workload}"
         end
  puts rate
end
