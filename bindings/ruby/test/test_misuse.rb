# frozen_string_literal: true

require_relative "test_helper"

# Random bad (and good) arguments to every entry point: only the documented
# exceptions come out, the interpreter never crashes, and the objects stay
# usable.  A fixed seed, so that a failure can be replayed.
class TestMisuse < Minitest::Test
  ALLOWED = [TypeError, ArgumentError, IOError, SystemCallError].freeze

  def test_random_calls_raise_only_documented_errors
    rng = Random.new(20_261_201)
    r, w = IO.pipe
    closed_r, closed_w = IO.pipe
    closed_r.close
    closed_w.close
    values = [nil, -1, 0, 1, 2**31, 2**64, 2**64 - 1, -2**70, 1.5, Float::NAN, -0.5, "x", :readable,
              :bogus, [], [:readable, :level], Object.new, r, w, closed_r, r.fileno, 999_999, STDIN,
              SwiftPoll::Interest::READABLE, SwiftPoll::Interest::LEVEL, 0x301, Rational(1, 3)]
    pick = -> { values[rng.rand(values.size)] }
    # timeouts that end (nil or 2**64 s would block this test for good)
    timeouts = [0, 0.001, Rational(1, 1000), -1, -0.5, Float::NAN, "x", :a, [], Object.new, 1i]
    polls = [SwiftPoll::Poll.new, SwiftPoll::Poll.new]
    events = SwiftPoll::Events.new(8)
    raised = Hash.new(0)
    3_000.times do
      poll = polls[rng.rand(2)]
      begin
        case rng.rand(10)
        when 0 then poll.registry.register(pick.call, pick.call, pick.call)
        when 1 then poll.registry.reregister(pick.call, pick.call, pick.call)
        when 2 then poll.registry.deregister(pick.call)
        when 3 then poll.poll([events, pick.call].sample(random: rng), timeouts[rng.rand(timeouts.size)])
        when 4 then SwiftPoll::Waker.new([poll, pick.call].sample(random: rng), pick.call).close
        when 5 then SwiftPoll::Events.new(pick.call)
        when 6 then SwiftPoll::Interest::READABLE | pick.call
        when 7 then SwiftPoll::Poll.new(backend: pick.call).close
        when 8 then events[pick.call]
        when 9 then poll.registry.try_clone.close
        end
      rescue *ALLOWED => e
        raised[e.class] += 1
      end
    end
    assert_operator raised.values.sum, :>, 1_000, raised.inspect
    assert_operator raised.size, :>=, 4, raised.inspect
    # still usable
    polls.each do |p|
      p.registry.deregister(r) rescue Errno::ENOENT
      p.registry.register(r, 5, SwiftPoll::Interest::READABLE | SwiftPoll::Interest::LEVEL)
      w.write("x")
      assert_equal 1, p.poll(events, 1)
      r.read(1)
    end
  ensure
    polls&.each(&:close)
    [r, w].each { |io| io&.close }
  end

  def test_threads_racing_to_wait_on_one_poll
    poll = SwiftPoll::Poll.new
    r, w = IO.pipe
    w.write("x")
    poll.registry.register(r, 7, %i[readable level])
    stop = monotonic + 0.3
    results = Array.new(3) do
      Thread.new do
        events = SwiftPoll::Events.new(4) # each thread its own buffer
        seen = Hash.new(0)
        while monotonic < stop
          begin
            n = poll.poll(events, [0, 0.001, nil].sample)
            events.each { |e| seen[e.token] += 1 }
            seen[:n] += n
          rescue Errno::EBUSY
            seen[:busy] += 1
          end
        end
        seen
      end
    end.map { |t| bounded { t.value } }
    # a thread preempted inside its wait (holding the poll's one-waiter lock)
    # makes the others' waits Errno::EBUSY meanwhile: the library's rule
    results.each do |seen|
      assert_empty seen.keys - %i[n busy] - [7], "only the registered token, in each thread's own buffer"
      assert_equal seen[:n], seen[7]
    end
    assert_operator results.sum { |seen| seen[7] }, :>, 0
  ensure
    poll&.close
    [r, w].each { |io| io&.close }
  end

  def test_gc_stress_over_create_use_close_cycles
    code = <<~RUBY
      require "swiftpoll"
      r, w = IO.pipe
      w.write("x")
      GC.stress = 0x01 # a (minor) GC at every allocation
      12.times do |i|
        p = SwiftPoll::Poll.new
        e = SwiftPoll::Events.new(4)
        p.registry.register(r, i, [:readable, :level])
        raise "no event" unless p.poll(e, 1) == 1 && e.first.token == i
        c = p.registry.try_clone
        k = SwiftPoll::Waker.new(p, 99)
        k.wake
        p.close if i.odd?   # the rest are left to the GC
        c.close if i % 3 == 0
      end
      GC.stress = false
      GC.start
      puts "ok"
    RUBY
    out, status = run_ruby(code)
    assert status.success?, out
    assert_equal "ok\n", out
  end
end
