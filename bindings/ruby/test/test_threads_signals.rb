# frozen_string_literal: true

require_relative "test_helper"

# A blocking wait releases the GVL; signals, Thread#raise/kill and Timeout
# interrupt it as they interrupt IO.select.  Every test runs in both wait
# modes: :ubf (rb_thread_call_without_gvl + RUBY_UBF_IO, the default) and
# :sliced (Fiddle's own GVL-free call in slices, the fallback).
module ThreadsAndSignals
  def setup
    @saved_mode = SwiftPoll::Native.wait_mode
    SwiftPoll::Native.wait_mode = self.class::MODE
    @poll = SwiftPoll::Poll.new
    @events = SwiftPoll::Events.new(8)
  end

  def teardown
    @poll.close
    SwiftPoll::Native.wait_mode = @saved_mode
    Signal.trap(:USR1, "DEFAULT")
  end

  def test_other_threads_run_during_a_wait_and_can_wake_it
    waker = SwiftPoll::Waker.new(@poll, 5)
    counter = 0
    stop = false
    counting = Thread.new { counter += 1 until stop }
    at_start = nil
    waking = Thread.new do
      sleep 0.05
      at_start = counter
      sleep 0.15
      waker.wake
    end
    n = bounded { @poll.poll(@events, 10) } # blocks until the other thread wakes it
    stop = true
    counting.join
    waking.join
    assert_equal 1, n
    assert_equal 5, @events.first.token
    assert_operator counter, :>, at_start, "the counting thread ran while the main thread waited"
    assert_operator at_start, :>, 0
  ensure
    stop = true
    waker&.close
  end

  def test_a_trap_handler_runs_and_the_wait_goes_on_with_the_time_left
    trapped = 0
    Signal.trap(:USR1) { trapped += 1 }
    # a real signal from another process, while this thread waits
    pid = Process.spawn("sleep 0.1; kill -USR1 #{Process.pid}")
    t = monotonic
    n = bounded { @poll.poll(@events, 0.4) }
    elapsed = monotonic - t
    Process.wait(pid)
    assert_equal 0, n
    assert_equal 1, trapped
    # a lower bound only: load can make it longer, never shorter
    assert_operator elapsed, :>=, 0.39, "retried with the remaining time, not returned early"
  end

  def test_a_trap_handler_that_raises_ends_the_wait
    Signal.trap(:USR1) { raise Interrupt, "from the trap" }
    pid = Process.spawn("sleep 0.1; kill -USR1 #{Process.pid}")
    t = monotonic
    e = assert_raises(Interrupt) { bounded { @poll.poll(@events, 20) } }
    Process.wait(pid)
    assert_equal "from the trap", e.message
    assert_operator monotonic - t, :<, 10
    # the poll stays usable
    assert_equal 0, @poll.poll(@events, 0)
  end

  def test_a_signal_while_another_thread_waits
    trapped = false
    Signal.trap(:USR1) { trapped = true }
    waker = SwiftPoll::Waker.new(@poll, 9)
    t = Thread.new { @poll.poll(@events, 10) }
    wait_until { t.status == "sleep" }
    Process.kill(:USR1, Process.pid)
    wait_until { trapped }
    waker.wake
    assert_equal 1, bounded { t.value }
  ensure
    waker&.close
  end

  def test_thread_raise_kill_and_timeout_interrupt_a_wait
    t = Thread.new do
      @poll.poll(@events, nil)
    rescue RuntimeError => e
      e.message
    end
    wait_until { t.status == "sleep" }
    t.raise(RuntimeError, "stop")
    assert_equal "stop", bounded { t.value }

    t = Thread.new { @poll.poll(@events, nil) }
    wait_until { t.status == "sleep" }
    t.kill
    assert bounded { t.join }
    refute t.alive?

    assert_raises(Timeout::Error) { Timeout.timeout(0.1) { @poll.poll(@events, nil) } }
    assert_equal 0, @poll.poll(@events, 0), "usable after an interrupted wait"
  end

  def test_thread_wakeup_does_not_end_a_wait_early
    t = Thread.new { [@poll.poll(@events, 0.3), monotonic] }
    wait_until { t.status == "sleep" }
    started = monotonic
    t.wakeup
    n, ended = bounded { t.value }
    assert_equal 0, n
    assert_operator ended - started, :>=, 0.2
  end
end

class TestThreadsSignalsUbf < Minitest::Test
  MODE = :ubf
  include ThreadsAndSignals

  def test_the_default_mode_is_ubf
    assert_equal :ubf, @saved_mode
  end
end

class TestThreadsSignalsSliced < Minitest::Test
  MODE = :sliced
  include ThreadsAndSignals
end
