# frozen_string_literal: true

require_relative "test_helper"

# Errors are the Errno::* classes with the library's text; bad input raises
# TypeError/ArgumentError before any call into the library.
class TestErrors < Minitest::Test
  I = SwiftPoll::Interest

  def setup
    @poll = SwiftPoll::Poll.new
    @r, @w = IO.pipe
  end

  def teardown
    @poll.close
    [@r, @w].each { |io| io.close unless io.closed? }
  end

  def test_errno_classes_and_messages
    @poll.registry.register(@r, 1, I::READABLE)
    e = assert_raises(Errno::EEXIST) { @poll.registry.register(@r, 1, I::READABLE) }
    assert_kind_of SystemCallError, e
    assert_equal Errno::EEXIST::Errno, e.errno
    text = SwiftPoll::Native.strerror(Errno::EEXIST::Errno)
    assert_equal "#{text} @ swiftpoll_registry_register - fd #{@r.fileno}", e.message

    assert_raises(Errno::ENOENT) { @poll.registry.reregister(@w, 1, I::WRITABLE) }
    assert_raises(Errno::ENOENT) { @poll.registry.deregister(@w) }
    assert_raises(Errno::EBADF) { @poll.registry.register(999_999, 1, I::READABLE) }
    File.open(__FILE__) do |f|
      assert_raises(Errno::EPERM) { @poll.registry.register(f, 1, I::READABLE) }
    end
  end

  def test_strerror_is_the_librarys
    assert_equal SwiftPoll::Native.strerror(-9), SwiftPoll::Native.strerror(9)
    refute_empty SwiftPoll::Native.strerror(9)
  end

  def test_wrong_types_raise_before_the_library_is_called
    r = @poll.registry
    assert_raises(TypeError) { r.register(@r, "1", I::READABLE) }
    assert_raises(TypeError) { r.register(@r, 1.0, I::READABLE) }
    assert_raises(TypeError) { r.register(@r, nil, I::READABLE) }
    assert_raises(ArgumentError) { r.register(@r, -1, I::READABLE) }
    assert_raises(ArgumentError) { r.register(@r, 2**64, I::READABLE) }
    assert_raises(ArgumentError) { r.register(-1, 1, I::READABLE) }
    assert_raises(ArgumentError) { r.register(2**31, 1, I::READABLE) }
    assert_raises(TypeError) { r.register("3", 1, I::READABLE) }
    assert_raises(TypeError) { r.register(Object.new, 1, I::READABLE) }
    assert_raises(ArgumentError) { r.register(@r, 1, :readabel) }
    assert_raises(TypeError) { r.register(@r, 1, "readable") }
    assert_raises(TypeError) { r.register(@r, 1, [:readable, "x"]) }
    assert_raises(ArgumentError) { r.register(@r, 1, 0) }
    assert_raises(ArgumentError) { r.register(@r, 1, 0x8) }
    assert_raises(ArgumentError) { r.register(@r, 1, I::LEVEL) }
    assert_raises(ArgumentError) { r.register(@r, 1, 0x301) }
    assert_raises(ArgumentError) { r.register(@r, 1, :level) }
    # none of them reached the library: the fd is still unregistered
    r.register(@r, 1, I::READABLE)
  end

  def test_validation_comes_before_the_closed_check
    @poll.close
    assert_raises(TypeError) { @poll.registry.register(@r, "x", I::READABLE) }
    assert_raises(IOError) { @poll.registry.register(@r, 1, I::READABLE) }
  end

  def test_bad_timeouts_and_events
    events = SwiftPoll::Events.new(4)
    assert_raises(ArgumentError) { @poll.poll(events, -1) }
    assert_raises(ArgumentError) { @poll.poll(events, -0.5) }
    assert_raises(ArgumentError) { @poll.poll(events, Float::NAN) }
    assert_raises(TypeError) { @poll.poll(events, "1") }
    assert_raises(TypeError) { @poll.poll([], 0) }
    assert_raises(TypeError) { SwiftPoll::Events.new("1") }
    assert_raises(ArgumentError) { SwiftPoll::Events.new(0) }
    assert_raises(ArgumentError) { SwiftPoll::Events.new(2**40) }
    assert_raises(TypeError) { events["0"] }
  end

  def test_bad_backend_and_waker_arguments
    assert_raises(ArgumentError) { SwiftPoll::Poll.new(backend: :nope) }
    assert_raises(TypeError) { SwiftPoll::Poll.new(backend: 1) }
    assert_raises(TypeError) { SwiftPoll::Waker.new(Object.new, 1) }
    assert_raises(TypeError) { SwiftPoll::Waker.new(@poll, "1") }
  end

  def test_closed_io_raises_ioerror
    @r.close
    assert_raises(IOError) { @poll.registry.register(@r, 1, I::READABLE) }
  end

  def test_a_second_waiting_thread_gets_ebusy
    events = SwiftPoll::Events.new(4)
    waker = SwiftPoll::Waker.new(@poll, 1)
    t = Thread.new { @poll.poll(events, 10) }
    wait_until { t.status == "sleep" || !t.alive? }
    sleep 0.02
    e = assert_raises(Errno::EBUSY) { @poll.poll(SwiftPoll::Events.new(4), 1) }
    assert_match(/another thread/, e.message)
    waker.wake
    assert_equal 1, bounded { t.value }
  ensure
    waker&.close
  end
end
