# frozen_string_literal: true

require_relative "test_helper"

# Poll, Registry, Events, Event, Interest, Waker against real pipes, sockets
# and threads.
class TestPoll < Minitest::Test
  I = SwiftPoll::Interest

  def setup
    @poll = SwiftPoll::Poll.new
    @events = SwiftPoll::Events.new(16)
    @r, @w = IO.pipe
  end

  def teardown
    @poll.close
    [@r, @w].each { |io| io.close unless io.closed? }
  end

  def test_library_and_abi
    assert_match(/\A\d+\.\d+\.\d+\z/, SwiftPoll.library_version)
    header = File.read(File.join(ROOT, "include", "swiftpoll.h"))
    assert_equal header[/SWIFTPOLL_VERSION_STRING "([^"]+)"/, 1], SwiftPoll::VERSION, "gem and header versions"
    assert_equal 1, SwiftPoll::Native::ABI.call
    assert_includes SwiftPoll.backends, :epoll
    assert_includes SwiftPoll.backends, @poll.backend
  end

  def test_readable_event_with_token
    @poll.registry.register(@r, 42, I::READABLE)
    assert_equal 0, @poll.poll(@events, 0)
    assert_empty @events
    @w.write("x")
    assert_equal 1, @poll.poll(@events, 5)
    ev = @events.first
    assert_equal 42, ev.token
    assert ev.readable?
    refute ev.writable?
    refute ev.error?
    refute ev.read_closed?
    assert_equal [[42, ev.flags]], @events.each_pair.to_a
    assert_equal ev, @events[0]
    assert_equal ev, @events[-1]
    assert_nil @events[1]
  end

  def test_edge_triggered_by_default_level_and_oneshot
    @w.write("x")
    @poll.registry.register(@r, 1, I::READABLE)
    assert_equal 1, @poll.poll(@events, 1)
    if @poll.backend == :poll
      # poll(2) has no edge mode: reported as level-triggered (include/swiftpoll.h)
      assert_equal 1, @poll.poll(@events, 0), "poll backend: edge behaves as level"
    else
      assert_equal 0, @poll.poll(@events, 0), "edge: reported once until new data"
    end

    @poll.registry.reregister(@r, 2, I::READABLE | I::LEVEL)
    2.times do
      assert_equal 1, @poll.poll(@events, 1)
      assert_equal 2, @events.first.token
    end

    @poll.registry.reregister(@r, 3, I::READABLE | I::ONESHOT)
    assert_equal 1, @poll.poll(@events, 1)
    @w.write("y")
    assert_equal 0, @poll.poll(@events, 0), "oneshot: disarmed"
    @poll.registry.reregister(@r, 4, I::READABLE | I::ONESHOT)
    assert_equal 1, @poll.poll(@events, 1)
    assert_equal 4, @events.first.token
  end

  def test_writable_and_read_closed_and_write_closed
    a, b = UNIXSocket.pair
    @poll.registry.register(a, 7, I::READABLE | I::WRITABLE)
    assert_equal 1, @poll.poll(@events, 1)
    assert @events.first.writable?
    b.close_write
    assert_equal 1, @poll.poll(@events, 1)
    ev = @events.first
    assert ev.read_closed?, ev.inspect
    b.close
    assert_equal 1, @poll.poll(@events, 1)
    assert @events.first.write_closed?, @events.first.inspect
  ensure
    [a, b].each { |s| s&.close unless s&.closed? }
  end

  def test_error_flag_on_a_refused_connection
    server = TCPServer.new("127.0.0.1", 0)
    port = server.addr[1]
    server.close # nothing listens there now
    sock = Socket.new(:INET, :STREAM)
    begin
      sock.connect_nonblock(Socket.sockaddr_in(port, "127.0.0.1"))
    rescue IO::WaitWritable, Errno::ECONNREFUSED
      nil
    end
    @poll.registry.register(sock, 5, I::WRITABLE)
    assert_equal 1, bounded { @poll.poll(@events, 5) }
    assert @events.first.error?, @events.first.inspect
  ensure
    sock&.close
  end

  def test_priority_from_out_of_band_data
    server = TCPServer.new("127.0.0.1", 0)
    client = TCPSocket.new("127.0.0.1", server.addr[1])
    peer = server.accept
    @poll.registry.register(peer, 9, I::PRIORITY)
    client.send("!", Socket::MSG_OOB)
    assert_equal 1, bounded { @poll.poll(@events, 5) }
    assert @events.first.priority?
  ensure
    [server, client, peer].each { |s| s&.close }
  end

  def test_many_events_in_one_poll_and_capacity
    pipes = Array.new(20) { IO.pipe }
    pipes.each_with_index do |(r, w), i|
      @poll.registry.register(r, 100 + i, I::READABLE)
      w.write("x")
    end
    assert_equal 16, @poll.poll(@events, 1), "at most capacity"
    first = @events.map(&:token)
    first.each { |t| pipes[t - 100][0].read(1) } # drained: not ready again on any backend
    assert_equal 4, @poll.poll(@events, 1), "the rest on the next poll"
    assert_equal (100...120).to_a, (first + @events.map(&:token)).sort
  ensure
    pipes&.flatten&.each(&:close)
  end

  def test_deregister_and_register_an_integer_fd
    @poll.registry.register(@r.fileno, 1, :readable)
    @poll.registry.deregister(@r)
    @w.write("x")
    assert_equal 0, @poll.poll(@events, 0)
    @poll.registry.register(@r, 2, %i[readable level])
    assert_equal 1, @poll.poll(@events, 1)
  end

  def test_objects_with_to_io_or_fileno
    wrapper = Struct.new(:to_io).new(@r)
    @poll.registry.register(wrapper, 1, I::READABLE)
    @poll.registry.deregister(wrapper)
    fileno = Struct.new(:fileno).new(@r.fileno)
    @poll.registry.register(fileno, 1, I::READABLE)
  end

  def test_largest_token
    @poll.registry.register(@r, 2**64 - 1, I::READABLE)
    @w.write("x")
    @poll.poll(@events, 1)
    assert_equal 2**64 - 1, @events.first.token
  end

  def test_try_clone_outlives_the_poll
    clone = @poll.registry.try_clone
    clone.register(@r, 11, I::READABLE)
    @w.write("x")
    assert_equal 1, @poll.poll(@events, 1)
    assert_equal 11, @events.first.token
    @poll.close
    clone.deregister(@r) # the epoll instance lives on with the clone
    clone.close
    assert clone.closed?
    assert_raises(IOError) { clone.register(@r, 1, I::READABLE) }
  end

  def test_waker_and_the_single_waker_rule
    waker = SwiftPoll::Waker.new(@poll, 77)
    err = assert_raises(Errno::EEXIST) { SwiftPoll::Waker.new(@poll.registry, 78) }
    assert_match(/swiftpoll_waker_new/, err.message)
    3.times { waker.wake }
    assert_equal 1, @poll.poll(@events, 1), "wakes coalesce"
    assert_equal 77, @events.first.token
    assert @events.first.readable?
    waker.close
    assert_raises(IOError) { waker.wake }
    again = SwiftPoll::Waker.new(@poll, 79) # after close, a new one may be made
    again.close
  end

  def test_timeouts_in_seconds
    t = monotonic
    assert_equal 0, @poll.poll(@events, 0.05)
    assert_operator monotonic - t, :>=, 0.04
    assert_equal 0, @poll.poll(@events, 0)
    assert_equal 0, @poll.poll(@events, Rational(1, 100))
  end

  def test_block_form_closes
    kept = nil
    result = SwiftPoll::Poll.open do |poll|
      kept = poll
      refute poll.closed?
      :value
    end
    assert_equal :value, result
    assert kept.closed?
    assert_raises(RuntimeError) { SwiftPoll::Poll.open { |p| kept = p; raise "boom" } }
    assert kept.closed?, "closed also when the block raises"
  end

  def test_interest_values
    both = I::READABLE | I::WRITABLE
    assert both.readable? && both.writable? && !both.priority?
    assert_same both, I::WRITABLE | I::READABLE
    assert_equal 0x103, (both | I::LEVEL).to_i
    assert (both | :level).level?
    assert I::READABLE.edge?
    assert_equal I::WRITABLE, both.remove(I::READABLE)
    assert_nil I::READABLE.remove(:readable)
    assert_equal "READABLE | WRITABLE", both.to_s
    assert_raises(ArgumentError) { I::LEVEL | I::ONESHOT }
    assert_raises(NoMethodError) { I.new(1) }
  end

  def test_backends
    assert_equal %i[epoll poll], SwiftPoll.backends & %i[epoll poll] # both on Linux
    SwiftPoll.backends.each do |name|
      SwiftPoll::Poll.open(backend: name) { |p| assert_equal name, p.backend }
    end
    expected = ENV["SWIFTPOLL_BACKEND"].to_s.empty? ? :epoll : ENV["SWIFTPOLL_BACKEND"].to_sym
    assert_equal expected, @poll.backend, "the default honours $SWIFTPOLL_BACKEND"
    assert_raises(Errno::ENOTSUP) { SwiftPoll::Poll.new(backend: :kqueue) } unless SwiftPoll.backends.include?(:kqueue)
  end

  def test_fileno_and_inspect
    if @poll.backend == :poll
      assert_raises(Errno::ENOTSUP) { @poll.fileno } # poll(2) has no descriptor
    else
      assert_kind_of Integer, @poll.fileno
    end
    assert_match(/SwiftPoll::Poll #{@poll.backend}/, @poll.inspect)
    assert_match(/Events capacity=16 size=0/, @events.inspect)
  end

  def test_events_enumerable
    @poll.registry.register(@r, 3, I::READABLE)
    @w.write("x")
    @poll.poll(@events, 1)
    assert_kind_of Enumerable, @events
    assert_equal [3], @events.map(&:token)
    assert_equal 1, @events.size
    @events.clear
    assert_empty @events.to_a
  end
end
