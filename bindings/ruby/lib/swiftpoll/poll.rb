# frozen_string_literal: true

module SwiftPoll
  # Argument checks shared by Poll, Registry and Waker: all of them run before
  # any call into the library.
  module Args # :nodoc:
    INT_MAX = 2**31 - 1
    TOKEN_MAX = 2**64 - 1
    NS_PER_S = 1_000_000_000
    # longer than this (about 292 years) is "forever"
    MAX_SECONDS = 9_223_372_036

    module_function

    def fd(io)
      fd = case io
           when Integer then io
           when IO then io.fileno # IOError for a closed IO
           else
             if io.respond_to?(:to_io)
               io.to_io.fileno
             elsif io.respond_to?(:fileno)
               io.fileno
             else
               raise TypeError, "expected an IO, an object with to_io or fileno, or an Integer fd, not #{io.class}"
             end
           end
      raise TypeError, "fileno must be an Integer, not #{fd.class}" unless fd.is_a?(Integer)
      raise ArgumentError, "negative file descriptor: #{fd}" if fd.negative?
      raise ArgumentError, "file descriptor out of range: #{fd}" if fd > INT_MAX

      fd
    end

    def token(token)
      raise TypeError, "token must be an Integer, not #{token.class}" unless token.is_a?(Integer)
      raise ArgumentError, "token must be in 0..2**64-1, got #{token}" if token.negative? || token > TOKEN_MAX

      token
    end

    # seconds (nil: block) -> the C timeout in ns; rounded up so that a
    # positive timeout never becomes a busy loop
    def timeout_ns(timeout)
      if timeout.is_a?(Float) && timeout > 0 && timeout < MAX_SECONDS # the common case, fast
        ns = (timeout * NS_PER_S).ceil
        return ns < 1 ? 1 : ns
      end
      case timeout
      when nil then -1
      when Integer
        raise ArgumentError, "timeout must be >= 0 or nil, got #{timeout}" if timeout.negative?
        return -1 if timeout > MAX_SECONDS

        timeout * NS_PER_S
      when Float, Rational
        raise ArgumentError, "timeout is NaN" if timeout.is_a?(Float) && timeout.nan?
        raise ArgumentError, "timeout must be >= 0 or nil, got #{timeout}" if timeout.negative?
        return 0 if timeout.zero?
        return -1 if timeout > MAX_SECONDS

        ns = (timeout * NS_PER_S).ceil
        ns < 1 ? 1 : ns
      else
        raise TypeError, "timeout must be a number of seconds (Integer or Float) or nil, not #{timeout.class}"
      end
    end

    def backend_id(backend)
      case backend
      when nil then 0
      when Symbol, String
        Native::BACKEND_IDS.fetch(backend.to_sym) do
          raise ArgumentError, "unknown backend #{backend.inspect} (expected one of " \
                               "#{Native::BACKEND_IDS.keys.map(&:inspect).join(', ')})"
        end
      else raise TypeError, "backend must be a Symbol or nil, not #{backend.class}"
      end
    end
  end

  # The backends this library can use here, as Symbols (e.g. [:epoll, :poll]).
  def self.backends
    @backends ||= if Native.backends?
                    out = Fiddle::Pointer.malloc(8, Fiddle::RUBY_FREE)
                    %i[epoll poll kqueue].select do |name|
                      next false unless Native::POLL_NEW_BACKEND.call(out.to_i, Native::BACKEND_IDS[name]).zero?

                      Native::POLL_FREE.call(out[0, 8].unpack1("J"))
                      true
                    end.freeze
                  else
                    %i[epoll].freeze # a 0.1 library: epoll only
                  end
  end

  # A poll: one epoll (or poll(2)) instance and the right to wait on it.
  # Register through #registry, wait with #poll.  Freed by #close (or the GC).
  class Poll
    # Opens a poll, yields it and closes it when the block ends.
    def self.open(**kw)
      poll = new(**kw)
      return poll unless block_given?

      begin
        yield poll
      ensure
        poll.close
      end
    end

    # backend: nil (the library's choice, which honours $SWIFTPOLL_BACKEND),
    # :epoll, :poll or :kqueue.
    def initialize(backend: nil)
      id = Args.backend_id(backend)
      out = Fiddle::Pointer.malloc(8, Fiddle::RUBY_FREE)
      rc = if id.zero?
             Native::POLL_NEW.call(out.to_i)
           elsif Native::POLL_NEW_BACKEND
             Native::POLL_NEW_BACKEND.call(out.to_i, id)
           elsif id == 1
             Native::POLL_NEW.call(out.to_i) # a 0.1 library is epoll only
           else
             -Errno::EOPNOTSUPP::Errno
           end
      raise Native.error(rc, "swiftpoll_poll_new", backend && "backend #{backend}") if rc.negative?

      @ptr = out[0, 8].unpack1("J")
      @holder = [@ptr]
      ObjectSpace.define_finalizer(self, Poll.finalizer(@holder))
      @closed = false
      @wait_lock = Thread::Mutex.new
      @wake_pipe = nil
      @registry = Registry.__send__(:borrowed, self, Native::POLL_REGISTRY.call(@ptr))
      # the wait arguments (swiftpoll_wait_args), bound to one Events at a time
      @args = Fiddle::Pointer.malloc(96, Fiddle::RUBY_FREE)
      @args0 = @args.to_i # timeout 0
      @args_block = @args0 + 32 # timeout -1
      @args_addr = @args0 + 64 # the timeout of the moment
      @bound = nil
      @args_ns = nil
    end

    # The finalizer: frees the handle unless #close did (the holder is popped
    # by whoever frees first, so it is freed exactly once).
    def self.finalizer(holder) # :nodoc:
      proc do
        ptr = holder.pop
        Native::POLL_FREE.call(ptr) if ptr
      end
    end

    attr_reader :registry

    def closed? = @closed

    # The poll's own epoll (or kqueue) file descriptor, owned by the poll
    # (to nest it in another poller).  Errno::ENOTSUP (EOPNOTSUPP) on the
    # poll(2) backend, which has none.
    def fileno
      check_open
      fd = Native::POLL_FD.call(@ptr)
      raise Native.error(fd, "swiftpoll_poll_fd") if fd.negative?

      fd
    end
    alias to_i fileno

    # :epoll, :poll or :kqueue.
    def backend
      check_open
      return :epoll unless Native::POLL_BACKEND

      rc = Native::POLL_BACKEND.call(@ptr)
      raise Native.error(rc, "swiftpoll_poll_backend") if rc.negative?

      Native::BACKEND_SYMS.fetch(rc, :unknown)
    end

    # Waits for events (timeout in seconds, Integer or Float; nil blocks) and
    # fills +events+; returns their number (0 on timeout).  Other Ruby threads
    # run meanwhile (the GVL is released).  A signal whose trap handler
    # returns normally, Thread#wakeup or a spurious wake-up make the wait go
    # on with the time left, as Ruby's own blocking calls do; an exception
    # raised by a trap handler or Thread#raise ends it.
    def poll(events, timeout = nil)
      ns = timeout.nil? ? -1 : Args.timeout_ns(timeout)
      raise TypeError, "events must be a SwiftPoll::Events, not #{events.class}" unless events.is_a?(Events)

      events.filled(wait_ns(events, ns))
    end

    # Frees the poll.  If another thread is waiting on it, that wait ends at
    # once with IOError and the poll is freed when it has returned.  Closing
    # twice does nothing.
    def close
      return nil if @closed

      @closed = true
      if @wait_lock.locked? # a thread is in #wait_ns (another one, or a trap handler run inside it)
        interrupt_waiter
      else
        destroy
      end
      nil
    end

    def inspect
      return "#<SwiftPoll::Poll (closed)>" if @closed

      fd = Native::POLL_FD.call(@ptr)
      "#<SwiftPoll::Poll #{backend}#{" fd=#{fd}" unless fd.negative?}>"
    end

    # The poll's handle for its borrowed registry and for wakers.
    def handle # :nodoc:
      check_open
      @ptr
    end

    # The wait itself; returns the number of events written into +events+.
    # Used by #poll and by NIO::Selector.  The hot path of every binding call:
    # Fiddle costs far more per call than the wait's system call (see
    # docs/BENCHMARKS-ruby.md), so a wait that may block first asks, with the
    # GVL held, whether something is ready already: one Fiddle call when it
    # is, and the GVL-free wait only when there is nothing yet.
    # tried: the caller has just made the timeout-0 wait itself (NIO::Selector).
    #
    # One waiter at a time, checked with a Mutex#try_lock (atomic; a check of
    # an instance variable would leave a window for a thread switch between
    # the check and the wait, and another thread's #bind would then point
    # this wait at its own Events).  The lock also tells #close whether a
    # wait is in progress.
    def wait_ns(events, ns, tried = false) # :nodoc:
      raise IOError, "closed poll" if @closed

      lock = @wait_lock
      unless lock.try_lock
        raise Native.error(-Native::EBUSY, "swiftpoll_poll_wait", "another thread is waiting on this poll")
      end

      begin
        raise IOError, "closed poll" if @closed

        bind(events) unless events.equal?(@bound)
        rc = tried ? 0 : Native::WAIT_ARGS.call(@args0) # timeout 0: cannot block
        if rc > 0 || ns == 0
          rc = 0 if rc == EINTR_RC
        else
          raise Native.error(rc, "swiftpoll_poll_wait") if rc < 0 && rc != EINTR_RC

          if ns < 0 && Native.ubf
            rc = Native::NOGVL.call(WAIT_ADDR, @args_block, -1, 0) & LOW32 # RUBY_UBF_IO
            rc -= 0x1_0000_0000 if rc >= 0x8000_0000
            rc = blocking_wait(ns) if rc == EINTR_RC && !@closed
          else
            rc = blocking_wait(ns)
          end
        end
      ensure
        lock.unlock
        destroy if @closed # closed by another thread during the wait
      end
      raise IOError, "poll closed in another thread" if @closed
      raise Native.error(rc, "swiftpoll_poll_wait") if rc < 0

      rc
    end

    # The address of the timeout-0 wait arguments for +events+ (NIO::Selector
    # makes that call itself; valid while the poll is open).
    def args0_for(events) # :nodoc:
      check_open
      bind(events) unless events.equal?(@bound)
      @args0
    end

    private

    def check_open
      raise IOError, "closed poll" if @closed
    end

    # three swiftpoll_wait_args for this (poll, events): timeout 0, blocking,
    # and one whose timeout is rewritten as needed
    def bind(events)
      head = [@ptr, events.addr, events.capacity]
      @args[0, 96] = (head + [0] + head + [-1] + head + [-1]).pack("JJJq" * 3)
      @args_ns = -1
      @bound = events
    end

    EINTR_RC = -Native::EINTR
    LOW32 = 0xffff_ffff
    WAIT_ADDR = Native::WAIT_ARGS_ADDR
    NS_PACKED = Hash.new { |_h, ns| [ns].pack("q") }
    NS_PACKED[-1] = [-1].pack("q").freeze
    NS_PACKED[0] = [0].pack("q").freeze

    def set_ns(ns)
      @args[88, 8] = NS_PACKED[ns]
      @args_ns = ns
    end

    def blocking_wait(ns)
      deadline = ns.positive? ? Process.clock_gettime(Process::CLOCK_MONOTONIC, :nanosecond) + ns : nil
      sliced = Native.wait_mode == :sliced
      loop do
        slice = sliced && (ns.negative? || ns > Native::SLICE_NS) ? Native::SLICE_NS : ns
        set_ns(slice) unless @args_ns == slice
        rc = if sliced
               Native::WAIT_ARGS_NOGVL.call(@args_addr)
             else
               # Ruby checks interrupts (runs trap handlers, Thread#raise) before
               # returning from rb_thread_call_without_gvl
               Native.int_of_ptr(Native::NOGVL.call(Native::WAIT_ARGS_ADDR, @args_addr, Native::RUBY_UBF_IO, 0))
             end
        if sliced && rc.zero? && slice != ns
          # a slice ended: Ruby ran pending interrupts on the way back; go on
        elsif rc != -Native::EINTR
          return rc
        end
        return 0 if @closed # the caller raises

        next unless deadline

        ns = deadline - Process.clock_gettime(Process::CLOCK_MONOTONIC, :nanosecond)
        return 0 unless ns.positive?
      end
    end

    # Another thread waits (without the GVL) on this poll: register a private
    # pipe that is already readable (a registration made during a wait is seen
    # by that wait), so that it returns now and frees the poll on its way out.
    def interrupt_waiter
      r, w = IO.pipe
      w.write("x")
      @wake_pipe = [r, w]
      rc = Native::REGISTER.call(Native::POLL_REGISTRY.call(@ptr), r.fileno, Args::TOKEN_MAX,
                                 Interest::READABLE_BIT | Interest::LEVEL_BIT)
      raise Native.error(rc, "swiftpoll_registry_register") if rc.negative?
    rescue SystemCallError
      nil # cannot happen short of running out of descriptors: the wait ends at its timeout
    end

    def destroy
      ptr = @holder.pop
      Native::POLL_FREE.call(ptr) if ptr
      ObjectSpace.undefine_finalizer(self)
      @wake_pipe&.each { |io| io.close unless io.closed? }
      @wake_pipe = nil
      @bound = nil
    end
  end

  # Adds, changes and removes registrations of a poll: the poll's own
  # (Poll#registry, valid as long as the poll is open) or an independent
  # one made by #try_clone (usable after the poll is closed).
  class Registry
    class << self
      private :new

      private

      def borrowed(poll, ptr)
        r = new
        r.instance_variable_set(:@poll, poll)
        r.instance_variable_set(:@ptr, ptr)
        r.instance_variable_set(:@holder, nil)
        r
      end

      def owned(ptr)
        r = new
        r.instance_variable_set(:@poll, nil)
        r.instance_variable_set(:@ptr, ptr)
        holder = [ptr]
        r.instance_variable_set(:@holder, holder)
        ObjectSpace.define_finalizer(r, finalizer(holder))
        r
      end

      def finalizer(holder)
        proc do
          ptr = holder.pop
          Native::REGISTRY_FREE.call(ptr) if ptr
        end
      end
    end

    # Watches +io+ (an IO, an object with to_io/fileno, or an Integer fd) for
    # +interest+; its events carry +token+ (an Integer in 0..2**64-1).
    # Errno::EEXIST if it is already registered, Errno::EBADF, Errno::EPERM ...
    def register(io, token, interest)
      fd = Args.fd(io)
      Args.token(token)
      bits = Interest.bits_of(interest)
      rc = Native::REGISTER.call(handle, fd, token, bits)
      raise Native.error(rc, "swiftpoll_registry_register", "fd #{fd}") if rc.negative?

      self
    end

    # Replaces the token and interest of a registered +io+ (re-arms ONESHOT).
    def reregister(io, token, interest)
      fd = Args.fd(io)
      Args.token(token)
      bits = Interest.bits_of(interest)
      rc = Native::REREGISTER.call(handle, fd, token, bits)
      raise Native.error(rc, "swiftpoll_registry_reregister", "fd #{fd}") if rc.negative?

      self
    end

    # Stops watching +io+ (Errno::ENOENT if it is not registered).
    def deregister(io)
      fd = Args.fd(io)
      rc = Native::DEREGISTER.call(handle, fd)
      raise Native.error(rc, "swiftpoll_registry_deregister", "fd #{fd}") if rc.negative?

      self
    end

    # An independent Registry of the same poll (its own descriptor); close it
    # when done (the GC does otherwise).
    def try_clone
      out = Fiddle::Pointer.malloc(8, Fiddle::RUBY_FREE)
      rc = Native::TRY_CLONE.call(handle, out.to_i)
      raise Native.error(rc, "swiftpoll_registry_try_clone") if rc.negative?

      Registry.__send__(:owned, out[0, 8].unpack1("J"))
    end

    def closed?
      @poll ? @poll.closed? : @holder.empty?
    end

    # Frees a cloned registry; for the poll's own registry this does nothing
    # (it lives as long as the poll).
    def close
      return nil if @poll

      ptr = @holder.pop
      if ptr
        Native::REGISTRY_FREE.call(ptr)
        ObjectSpace.undefine_finalizer(self)
      end
      nil
    end

    def inspect
      kind = @poll ? "of #{@poll.inspect}" : "cloned"
      "#<SwiftPoll::Registry #{kind}#{' (closed)' if closed?}>"
    end

    def handle # :nodoc:
      if @poll
        raise IOError, "closed poll" if @poll.closed?
      elsif @holder.empty?
        raise IOError, "closed registry"
      end
      @ptr
    end
  end

  # Makes a wait of its poll return an event with +token+ (readable) from any
  # thread (or a trap handler).  One live waker per poll: a second gives
  # Errno::EEXIST until the first is closed.
  class Waker
    def initialize(registry, token)
      registry = registry.registry if registry.is_a?(Poll)
      raise TypeError, "expected a SwiftPoll::Registry or Poll, not #{registry.class}" unless registry.is_a?(Registry)

      Args.token(token)
      @token = token
      out = Fiddle::Pointer.malloc(8, Fiddle::RUBY_FREE)
      rc = Native::WAKER_NEW.call(registry.handle, token, out.to_i)
      raise Native.error(rc, "swiftpoll_waker_new", "token #{token}") if rc.negative?

      @ptr = out[0, 8].unpack1("J")
      @holder = [@ptr]
      ObjectSpace.define_finalizer(self, Waker.finalizer(@holder))
    end

    def self.finalizer(holder) # :nodoc:
      proc do
        ptr = holder.pop
        Native::WAKER_FREE.call(ptr) if ptr
      end
    end

    attr_reader :token

    # Wakes the poll's wait (or the next one); wakes coalesce.
    def wake
      raise IOError, "closed waker" if @holder.empty?

      rc = Native::WAKER_WAKE.call(@ptr)
      raise Native.error(rc, "swiftpoll_waker_wake") if rc.negative?

      nil
    end

    def closed? = @holder.empty?

    def close
      ptr = @holder.pop
      if ptr
        Native::WAKER_FREE.call(ptr)
        ObjectSpace.undefine_finalizer(self)
      end
      nil
    end

    def inspect = "#<SwiftPoll::Waker token=#{@token}#{' (closed)' if closed?}>"
  end
end
