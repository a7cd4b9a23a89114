# frozen_string_literal: true

require_relative "test_helper"

# Handles are freed exactly once: by close, or by the GC if close never came;
# use after close raises IOError.
class TestLifetime < Minitest::Test
  I = SwiftPoll::Interest

  def test_close_twice_and_use_after_close
    poll = SwiftPoll::Poll.new
    events = SwiftPoll::Events.new(4)
    registry = poll.registry
    poll.close
    assert_nil poll.close
    assert poll.closed?
    assert registry.closed?
    assert_raises(IOError) { poll.poll(events, 0) }
    assert_raises(IOError) { poll.fileno }
    assert_raises(IOError) { poll.backend }
    assert_raises(IOError) { registry.register(0, 1, I::READABLE) }
    assert_raises(IOError) { registry.try_clone }
    assert_raises(IOError) { SwiftPoll::Waker.new(poll, 1) }
    assert_match(/closed/, poll.inspect)
  end

  def test_gc_frees_unclosed_handles_and_closed_ones_are_not_freed_again
    # in a child: a double free aborts the process (glibc), a leak shows in
    # the descriptor count
    code = <<~RUBY
      require "swiftpoll"
      fds = -> { Dir.children("/proc/self/fd").size }
      GC.start
      before = fds.call
      300.times do |i|
        p = SwiftPoll::Poll.new
        c = p.registry.try_clone
        w = SwiftPoll::Waker.new(p, 1)
        if i.even?
          w.close; c.close; p.close     # closed, then collected: no second free
        end
      end
      GC.start(full_mark: true, immediate_sweep: true)
      GC.start
      after = fds.call
      puts "leaked \#{after - before}"
      exit(after - before < 30) # the finalizers left run at exit: no double free there either
    RUBY
    out, status = run_ruby(code)
    assert status.success?, out
    assert_match(/leaked -?\d+/, out)
  end

  def test_close_while_another_thread_waits
    poll = SwiftPoll::Poll.new
    events = SwiftPoll::Events.new(4)
    fds = open_fds
    t = Thread.new do
      poll.poll(events, 30)
      :returned
    rescue IOError => e
      e
    end
    wait_until { t.status == "sleep" }
    sleep 0.02
    poll.close
    res = bounded(5) { t.value }
    assert_kind_of IOError, res
    assert_match(/closed in another thread/, res.message)
    assert_operator open_fds, :<, fds, "the poll (and the private pipe) are freed by the waiter"
  end

  def test_events_buffer_outlives_nothing_it_should_not
    # an Events used with several polls, and a poll with several Events
    r, w = IO.pipe
    w.write("x")
    a = SwiftPoll::Poll.new
    b = SwiftPoll::Poll.new
    e1 = SwiftPoll::Events.new(2)
    e2 = SwiftPoll::Events.new(2)
    a.registry.register(r, 1, %i[readable level])
    b.registry.register(r, 2, %i[readable level])
    [[a, e1, 1], [a, e2, 1], [b, e1, 2], [b, e2, 2]].each do |poll, ev, token|
      assert_equal 1, poll.poll(ev, 1)
      assert_equal token, ev.first.token
    end
  ensure
    [a, b].each { |p| p&.close }
    [r, w].each { |io| io&.close }
  end
end
