# frozen_string_literal: true

require_relative "test_helper"
require "swiftpoll/nio"

# nio4r's documented selector behaviour (its README and specs, rewritten here
# as minitest) against swiftpoll/nio.
class TestNIOSelector < Minitest::Test
  def setup
    @selector = NIO::Selector.new
    @reader, @writer = IO.pipe
  end

  def teardown
    @selector.close
    [@reader, @writer].each { |io| io.close unless io.closed? }
  end

  def test_backends
    assert_kind_of Array, NIO::Selector.backends
    assert_kind_of Symbol, NIO::Selector.backends.first
    backend = NIO::Selector.backends.first
    s = NIO::Selector.new(backend)
    assert_equal backend, s.backend
    s.close
    assert_equal NIO::Selector.new.backend, NIO::Selector.new(nil).backend
    assert_raises(ArgumentError) { NIO::Selector.new(:derp) }
    assert_raises(ArgumentError) { NIO::Selector.new(42) }
    assert_kind_of Symbol, @selector.backend
  end

  def test_register
    monitor = @selector.register(@reader, :r)
    refute monitor.closed?
    assert_raises(TypeError) { @selector.register(42, :r) }
    assert_raises(ArgumentError) { @selector.register(@reader, :r) }
    assert_raises(ArgumentError) { @selector.register(@writer, :x) }
    assert_raises(TypeError) { @selector.register(@writer, "r") }
  end

  def test_register_after_close_and_a_closed_io
    r, w = IO.pipe
    r.close
    assert_raises(IOError) { @selector.register(r, :r) }
    refute @selector.registered?(r)
    @selector.close
    assert_raises(IOError) { @selector.register(w, :r) }
  ensure
    w&.close
  end

  def test_registered_deregister_empty
    assert @selector.empty?
    @selector.register(@reader, :r)
    refute @selector.empty?
    assert @selector.registered?(@reader)
    refute @selector.registered?(@writer)
    monitor = @selector.deregister(@reader)
    refute @selector.registered?(@reader)
    assert monitor.closed?
    assert_nil @selector.deregister(@reader)
  end

  def test_deregistering_a_closed_io
    @selector.register(@reader, :r)
    @reader.close
    @selector.deregister(@reader)
    refute @selector.registered?(@reader)
  end

  def test_reregistration_across_selects
    monitor = @selector.register(@reader, :r)
    @writer << "ohai"
    assert_includes @selector.select, monitor
    assert_equal "ohai", @reader.read(4)
    @selector.deregister(@reader)
    new_monitor = @selector.register(@reader, :r)
    @writer << "thar"
    assert_includes @selector.select, new_monitor
    assert_equal "thar", @reader.read(4)
  end

  def test_timeouts
    assert_nil @selector.select(0.05)
    monitor = @selector.register(@reader, :r)
    @writer << "hi there"
    assert_includes @selector.select(2), monitor
    @reader.read_nonblock(8)
    assert_nil @selector.select(0.05)
    assert_raises(ArgumentError) { @selector.select(-1) }
    assert_nil bounded(2) { @selector.select(1e-4) }
  end

  def test_select_zero_returns_at_once_and_is_level_triggered
    @writer << "x"
    unready = IO.pipe
    m = @selector.register(@reader, :r)
    u = @selector.register(unready.first, :r)
    3.times do
      selected = @selector.select(0)
      assert_equal [m], selected, "level-triggered: reported until read"
      refute_includes selected, u
    end
  ensure
    unready&.each(&:close)
  end

  def test_wakeup_from_another_thread
    @selector.register(@reader, :r)
    t = Thread.new { @selector.select }
    wait_until { t.status == "sleep" }
    @selector.wakeup
    assert_equal [], bounded { t.value }
  end

  def test_wakeup_before_select_returns_at_once
    @selector.wakeup
    @selector.wakeup
    assert_nil bounded(2) { @selector.select(5) }
    assert_nil @selector.select(0), "wakeups before a select count once"
  end

  def test_wakeup_on_a_closed_selector
    @selector.close
    assert @selector.closed?
    assert_raises(IOError) { @selector.wakeup }
    assert_raises(IOError) { @selector.select(0) }
    assert_nil @selector.close
  end

  def test_selects_closed_io_objects
    monitor = @selector.register(@reader, :r)
    assert_nil @selector.select(0)
    t = Thread.new { @selector.select }
    wait_until { t.status == "sleep" }
    @writer.close
    assert_includes bounded { t.value }, monitor
  end

  def test_select_with_a_block
    r1, w1 = IO.pipe
    w1 << "ohai"
    r2, w2 = IO.pipe
    w2 << "ohai"
    unready = IO.pipe
    m1 = @selector.register(r1, :r)
    m2 = @selector.register(r2, :r)
    m3 = @selector.register(unready.first, :r)
    seen = []
    assert_equal 2, @selector.select { |m| seen << m }
    assert_includes seen, m1
    assert_includes seen, m2
    refute_includes seen, m3
  ensure
    [r1, w1, r2, w2, *unready].each { |io| io&.close }
  end

  def test_register_and_deregister_inside_the_block
    @writer << "x"
    m = @selector.register(@reader, :r)
    r2, w2 = IO.pipe
    @selector.select do |mon|
      assert_same m, mon
      @selector.deregister(@reader)
      @selector.register(w2, :w)
    end
    assert_equal [w2], @selector.select(0).map(&:io)
  ensure
    [r2, w2].each { |io| io&.close }
  end

  def test_readable_writable_and_rw
    a, b = UNIXSocket.pair
    m = @selector.register(a, :rw)
    @selector.select(1)
    assert_equal :w, m.readiness
    assert m.writable?
    refute m.readable?
    b << "data"
    @selector.select(1) { |mon| assert_equal :rw, mon.readiness }
    a.close
    assert_equal :rw, m.readiness, "readiness is kept after the IO is closed"
  ensure
    [a, b].each { |s| s.close unless s.closed? }
  end

  def test_unwritable_pipe
    begin
      loop { @writer.write_nonblock("x" * 65_536) }
    rescue IO::WaitWritable
      nil
    end
    @selector.register(@writer, :w)
    assert_nil @selector.select(0)
    @reader.read_nonblock(1 << 20)
    assert_equal 1, @selector.select(1).size
  end

  def test_peer_close_on_a_tcp_stream
    server = TCPServer.new("127.0.0.1", 0)
    client = TCPSocket.new("127.0.0.1", server.addr[1])
    peer = server.accept
    m = @selector.register(client, :r)
    assert_nil @selector.select(0.05)
    peer.close
    assert_includes @selector.select(1), m
    assert m.readable?
  ensure
    [server, client, peer].each { |s| s&.close }
  end

  def test_fd_reused_after_an_io_closed_while_registered
    @selector.register(@reader, :r)
    fd = @reader.fileno
    @reader.close # the kernel drops it; the selector still has its monitor
    r, w = IO.pipe
    r, w = w, r if w.fileno == fd # the read end should get the old number
    skip "fd #{fd} not reused" unless r.fileno == fd
    m = @selector.register(r, :r)
    w << "x"
    assert_equal [m], @selector.select(1)
  ensure
    [r, w].each { |io| io&.close }
  end

  def test_concurrent_selects_are_serialised
    t = Thread.new { @selector.select(5) }
    wait_until { t.status == "sleep" }
    u = Thread.new { @selector.select(0) } # waits for the first to end, no EBUSY
    sleep 0.05
    @selector.wakeup
    assert_equal [], bounded { t.value }
    assert_nil bounded { u.value }
  end

  def test_close_while_another_thread_selects
    @selector.register(@reader, :r)
    t = Thread.new { @selector.select }
    wait_until { t.status == "sleep" }
    @selector.close # ends that select (as a wakeup would), then closes
    assert bounded { t.join }
    assert_includes [nil, []], t.value
    assert @selector.closed?
    assert_raises(IOError) { @selector.select(0) }
  end

  def test_close_inside_a_select_block
    @writer << "x"
    @selector.register(@reader, :r)
    assert_equal 1, @selector.select { @selector.close }
    assert @selector.closed?
  end

  def test_select_inside_a_select_block
    @writer << "x"
    @selector.register(@reader, :r)
    inner = nil
    @selector.select { inner = @selector.select(0) }
    assert_equal 1, inner.size
  end

  def test_conflicts_with_real_nio4r
    out, status = run_ruby('require "nio"; require "swiftpoll/nio"')
    refute status.success?
    assert_match(/NIO is already defined by the nio4r gem/, out)
    out, status = run_ruby('require "swiftpoll/nio"; p require("nio"); p NIO.engine; p NIO::Selector.new.backend')
    assert status.success?, out
    assert_equal "false\n\"swiftpoll\"\n:epoll\n", out.sub(/:poll\n\z/, ":epoll\n")
  end
end

class TestNIOMonitor < Minitest::Test
  def setup
    @server = TCPServer.new("127.0.0.1", 0)
    @writer = TCPSocket.new("127.0.0.1", @server.addr[1])
    @selector = NIO::Selector.new
    @monitor = @selector.register(@writer, :rw)
    @peer = @selector.register(@server, :r)
  end

  def teardown
    @server.close
    @writer.close
    @selector.close
  end

  def test_interests
    assert_equal :r, @peer.interests
    assert_equal :rw, @monitor.interests
    @monitor.interests = nil
    assert_nil @monitor.interests
    @monitor.interests = :w
    assert_equal :w, @monitor.interests
    assert_raises(ArgumentError) { @monitor.interests = :derp }
    @monitor.close
    assert_raises(EOFError) { @monitor.interests = :rw }
  end

  def test_add_and_remove_interest
    @monitor.interests = :r
    assert_equal :rw, @monitor.add_interest(:w)
    assert_equal :rw, @monitor.interests
    @monitor.interests = :r
    assert_equal :r, @monitor.add_interest(:r)
    assert_raises(ArgumentError) { @monitor.add_interest(:derp) }
    @monitor.interests = :rw
    assert_equal :w, @monitor.remove_interest(:r)
    assert_nil @monitor.remove_interest(:w)
    assert_nil @monitor.interests
    @monitor.interests = :w
    assert_equal :w, @monitor.remove_interest(:r)
    assert_raises(ArgumentError) { @monitor.remove_interest(:derp) }
  end

  def test_interests_take_effect
    @peer.close # the server is readable (a pending connection): out of the way
    assert_includes @selector.select(1), @monitor # writable
    @monitor.interests = nil
    assert_nil @selector.select(0)
    @monitor.interests = :r
    assert_nil @selector.select(0)
    @monitor.add_interest(:w)
    assert_equal [@monitor], @selector.select(1)
  end

  def test_io_selector_value
    assert_equal @writer, @monitor.io
    assert_equal @selector, @monitor.selector
    @monitor.value = 42
    assert_equal 42, @monitor.value
  end

  def test_readiness
    selected = @selector.select(0)
    assert_includes selected, @monitor
    assert_equal :w, @monitor.readiness
    refute @monitor.readable?
    assert @monitor.writable?
    assert @monitor.writeable?

    accepted = @server.accept
    @peer.close
    accepted << "testing 1 2 3"
    @monitor.interests = :r
    assert_includes @selector.select(1), @monitor
    assert_equal :r, @monitor.readiness
    assert @monitor.readable?
    refute @monitor.writable?
  ensure
    accepted&.close
  end

  def test_close
    refute @monitor.closed?
    assert @selector.registered?(@writer)
    @monitor.close
    assert @monitor.closed?
    refute @selector.registered?(@writer)
    assert_nil @monitor.selector
  end

  def test_close_without_deregistering
    @monitor.close(false)
    assert @monitor.closed?
    assert @selector.registered?(@writer), "close(false) leaves the selector's entry"
    refute_includes Array(@selector.select(0)), @monitor
  end

  def test_close_after_the_selector_was_shut_down
    @selector.close
    refute @monitor.closed?
    @monitor.close
    assert @monitor.closed?
  end
end
