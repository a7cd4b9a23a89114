# frozen_string_literal: true

# `require "swiftpoll/nio"`: ::NIO::Selector and ::NIO::Monitor with the API
# and behaviour of the nio4r gem's selector (level-triggered readiness of
# :r / :w / :rw), over SwiftPoll::Poll.  NIO::ByteBuffer is not provided.
#
# It refuses to load next to the real nio4r; once loaded, a later
# `require "nio"` / `require "nio4r"` is a no-op, so a program written for
# nio4r runs on it when started with `ruby -rswiftpoll/nio app.rb`.

if defined?(::NIO) && !(defined?(::NIO::SWIFTPOLL) && ::NIO::SWIFTPOLL)
  engine = ::NIO.respond_to?(:engine) ? " (engine #{::NIO.engine})" : ""
  raise LoadError, "swiftpoll/nio: NIO is already defined by the nio4r gem#{engine}; " \
                   "load either nio4r or swiftpoll/nio in a process, not both"
end

require "swiftpoll"

module NIO
  # Marks this NIO as swiftpoll's (the guard above).
  SWIFTPOLL = true
  ENGINE = "swiftpoll"
  # the nio4r release whose selector API and behaviour this mirrors (code
  # that checks NIO::VERSION sees a nio4r); swiftpoll's own is SwiftPoll::VERSION
  VERSION = "2.5.8"

  def self.engine = ENGINE

  def self.pure?(_env = ENV) = false

  # Selectors monitor IO objects for readiness (level-triggered).
  class Selector
    # token of the selector's waker: above every fd (fds are tokens)
    WAKER_TOKEN = 2**32
    LEVEL = SwiftPoll::Interest::LEVEL_BIT
    INTEREST_BITS = { r: SwiftPoll::Interest::READABLE_BIT | LEVEL,
                      w: SwiftPoll::Interest::WRITABLE_BIT | LEVEL,
                      rw: SwiftPoll::Interest::READABLE_BIT | SwiftPoll::Interest::WRITABLE_BIT | LEVEL }.freeze
    # readiness from the event flags: as libev reports it, an error or a
    # hang-up counts as both readable and writable
    READ_FLAGS = SwiftPoll::Event::READABLE | SwiftPoll::Event::ERROR | SwiftPoll::Event::READ_CLOSED |
                 SwiftPoll::Event::WRITE_CLOSED
    WRITE_FLAGS = SwiftPoll::Event::WRITABLE | SwiftPoll::Event::ERROR | SwiftPoll::Event::WRITE_CLOSED
    # READY[monitor.mask | (flags & 63)]: the readiness symbol (or nil) of an
    # event with these flags for a monitor with these interests (mask: 64 for
    # :r, 128 for :w, 192 for :rw)
    READY = Array.new(256) do |k|
      bits = ((k & READ_FLAGS).zero? ? 0 : 1) | ((k & WRITE_FLAGS).zero? ? 0 : 2)
      [nil, :r, :w, :rw][bits & (k >> 6)]
    end.freeze
    # unpack formats: the token of each of n events, skipping flags and raw
    TOKENS = Array.new(65) { |n| ("Qx8" * n).freeze }.freeze
    FLAGS = "L"
    TOKEN = "Q"
    WAIT_ARGS = SwiftPoll::Native::WAIT_ARGS
    EINTR_RC = -SwiftPoll::Native::EINTR
    EVENTS_CAPACITY = 1024
    private_constant :WAKER_TOKEN, :LEVEL, :INTEREST_BITS, :READ_FLAGS, :WRITE_FLAGS, :READY, :TOKENS,
                     :FLAGS, :TOKEN, :WAIT_ARGS, :EINTR_RC, :EVENTS_CAPACITY

    # The backends of this library here, e.g. [:epoll, :poll].
    def self.backends = SwiftPoll.backends

    # backend: nil (the default) or one of .backends.
    def initialize(backend = nil)
      unless backend.nil? || self.class.backends.include?(backend)
        raise ArgumentError, "unsupported backend: #{backend.inspect}"
      end

      @poll = SwiftPoll::Poll.new(backend: backend)
      @registry = @poll.registry
      @events = SwiftPoll::Events.new(EVENTS_CAPACITY)
      @evbuf = @events.buffer
      @args0 = @poll.args0_for(@events)
      @waker = SwiftPoll::Waker.new(@registry, WAKER_TOKEN)
      @selectables = {}.compare_by_identity # io -> monitor
      @by_fd = [] # fd -> monitor
      @closed = false
      @wakeup_fired = false
      # selects are serialised, as in nio4r (a second thread waits its turn);
      # register, deregister and wakeup never wait for a select
      @lock = Thread::Mutex.new
    end

    # :epoll or :poll (:kqueue on the BSDs).
    def backend
      raise IOError, "selector is closed" if @closed

      @poll.backend
    end

    # Registers +io+ for :r, :w or :rw and returns its NIO::Monitor.
    def register(io, interest)
      raise IOError, "selector is closed" if @closed
      raise ArgumentError, "this IO is already registered with selector" if @selectables.key?(io)

      monitor = Monitor.new(io, interest, self)
      @selectables[io] = monitor
      monitor
    end

    # Deregisters +io+ (also a closed one); returns its monitor, now closed, or nil.
    def deregister(io)
      monitor = @selectables.delete(io)
      return nil unless monitor

      monitor.close(false) unless monitor.closed?
      monitor
    end

    def registered?(io) = @selectables.key?(io)

    def empty? = @selectables.empty?

    # Waits (timeout in seconds; nil blocks) until registered IOs are ready.
    # With a block: yields each ready monitor and returns their number;
    # without: returns an Array of them.  nil on timeout; after #wakeup, []
    # (or 0) if nothing else is ready.
    #
    # The hot path of the shim: one Fiddle call, one copy of the event array,
    # then one table lookup per event (no method call but the yield).
    def select(timeout = nil)
      ns = if timeout.nil?
             -1
           elsif timeout == 0 # rubocop:disable Style/NumericPredicate (any Numeric)
             0
           else
             raise ArgumentError, "time interval must be positive" if timeout.is_a?(Numeric) && timeout.negative?

             SwiftPoll::Args.timeout_ns(timeout)
           end
      raise IOError, "selector is closed" if @closed

      lock = @lock
      locked = lock.try_lock
      unless locked || lock.owned? # owned: a select from inside a select's block
        lock.lock # another thread selects: wait for it, as nio4r does
        locked = true
      end
      begin
        raise IOError, "selector is closed" if @closed

        # as nio4r: a wakeup counts (select gives [] rather than nil) only if
        # it came during this select; an earlier one just makes it return
        @wakeup_fired = false
        n = WAIT_ARGS.call(@args0) # what is ready now, with the GVL (no block)
        if n <= 0
          raise SwiftPoll::Native.error(n, "swiftpoll_poll_wait") if n < 0 && n != EINTR_RC
          return nil if ns == 0

          n = @poll.wait_ns(@events, ns, true) # nothing yet: the GVL-free wait
          return nil if n == 0
        end

        # the tokens only (fds); the flags are read for :rw monitors alone: for
        # :r (or :w) every event means :r (or :w), as libev reports it
        evbuf = @evbuf
        if n == 1 # the common case of a busy loop: no Array, no loop
          if (monitor = @by_fd[evbuf[0, 8].unpack1(TOKEN)]) &&
             (sym = monitor.fixed || READY[192 | (evbuf[8, 4].unpack1(FLAGS) & 63)])
            monitor.readiness = sym
            return [monitor] unless block_given?

            yield monitor
            return 1
          end
          return @wakeup_fired ? (block_given? ? 0 : []) : nil
        end

        tokens = evbuf[0, n << 4].unpack(n <= 64 ? TOKENS[n] : "Qx8" * n)
        by_fd = @by_fd
        skipped = 0
        i = 0
        if block_given?
          while i < n
            if (monitor = by_fd[tokens[i]]) &&
               (sym = monitor.fixed || READY[192 | (evbuf[(i << 4) + 8, 4].unpack1(FLAGS) & 63)])
              monitor.readiness = sym
              yield monitor
            else
              skipped += 1
            end
            i += 1
          end
          count = n - skipped
          return nil if count == 0 && !@wakeup_fired

          count
        else
          ready = []
          while i < n
            if (monitor = by_fd[tokens[i]]) &&
               (sym = monitor.fixed || READY[192 | (evbuf[(i << 4) + 8, 4].unpack1(FLAGS) & 63)])
              monitor.readiness = sym
              ready << monitor
            end
            i += 1
          end
          return nil if ready.empty? && !@wakeup_fired

          ready
        end
      ensure
        lock.unlock if locked
      end
    end

    # Makes a select in another thread (or the next select) return.  Wakes
    # between two selects count as one.
    def wakeup
      raise IOError, "selector is closed" if @closed

      @wakeup_fired = true
      @waker.wake
      nil
    end

    # Frees the selector (its monitors are left as they are).  A select in
    # another thread is woken and ends first (nio4r waits for it too).
    def close
      return nil if @closed

      lock = @lock
      if lock.owned? # from a select's block: that select keeps the lock
        shutdown
      elsif lock.try_lock
        begin
          shutdown
        ensure
          lock.unlock
        end
      else
        @waker.wake # a select in another thread: end it, then close
        lock.synchronize { shutdown }
      end
      nil
    end

    def closed? = @closed

    def inspect = "#<NIO::Selector backend=swiftpoll#{@closed ? ' (closed)' : ''} monitors=#{@selectables.size}>"

    private def shutdown
      return if @closed

      @closed = true
      @waker.close
      @poll.close
    end

    # ---- for NIO::Monitor (not part of nio4r's API) ----

    def _attach(monitor, fd, interests) # :nodoc:
      stale = @by_fd[fd]
      if stale && !stale.equal?(monitor)
        # an IO closed while registered (the kernel dropped it) whose fd
        # number is now another IO's: forget the stale registration
        @by_fd[fd] = nil
        SwiftPoll::Native::DEREGISTER.call(@registry.handle, fd)
      end
      _set(monitor, fd, nil, interests)
    end

    # Applies a change of interests (nil: none) to the poll.
    def _set(monitor, fd, old, new) # :nodoc:
      return if @closed

      r = @registry.handle
      if new.nil?
        @by_fd[fd] = nil if @by_fd[fd].equal?(monitor)
        SwiftPoll::Native::DEREGISTER.call(r, fd) unless old.nil?
        return
      end
      bits = INTEREST_BITS[new]
      rc = if old.nil?
             SwiftPoll::Native::REGISTER.call(r, fd, fd, bits)
           else
             SwiftPoll::Native::REREGISTER.call(r, fd, fd, bits)
           end
      if rc == -Errno::EEXIST::Errno
        rc = SwiftPoll::Native::REREGISTER.call(r, fd, fd, bits)
      elsif rc == -Errno::ENOENT::Errno
        rc = SwiftPoll::Native::REGISTER.call(r, fd, fd, bits)
      end
      raise SwiftPoll::Native.error(rc, "swiftpoll_registry_register", "fd #{fd}") if rc.negative?

      @by_fd[fd] = monitor
    end

    def _detach(monitor, fd, interests) # :nodoc:
      return if @closed
      return unless @by_fd[fd].equal?(monitor)

      @by_fd[fd] = nil
      # an fd already closed is no longer watched: the error is expected
      SwiftPoll::Native::DEREGISTER.call(@registry.handle, fd) unless interests.nil?
    end
  end

  # A registration of one IO with a Selector: its interests and readiness.
  class Monitor
    INTERESTS = %i[r w rw].freeze
    MASK = { r: 1, w: 2, rw: 3 }.freeze
    FROM_MASK = [nil, :r, :w, :rw].freeze
    # the interests as Selector::READY wants them
    TABLE_MASK = [0, 64, 128, 192].freeze
    # the readiness every event of a monitor with these interests means, or
    # nil (:rw: it depends on the event's flags)
    FIXED = [nil, :r, :w, nil].freeze

    attr_reader :io, :interests, :selector
    attr_accessor :value
    attr_accessor :readiness # :nodoc: (set by Selector#select)

    # :nodoc: made by Selector#register
    def initialize(io, interests, selector)
      raise TypeError, "interests must be a Symbol, not #{interests.class}" unless interests.is_a?(Symbol)
      unless INTERESTS.include?(interests)
        raise ArgumentError, "invalid event type #{interests.inspect} (must be :r, :w, or :rw)"
      end

      target = io.is_a?(IO) ? io : IO.try_convert(io)
      raise TypeError, "can't convert #{io.class} into IO" unless target.is_a?(IO)

      @fd = target.fileno # IOError for a closed IO
      @io = io
      @interests = interests
      @bits = MASK[interests]
      @mask = TABLE_MASK[@bits]
      @fixed = FIXED[@bits]
      @selector = selector
      @readiness = nil
      @value = nil
      @closed = false
      selector._attach(self, @fd, interests)
    end

    # the interests for Selector::READY (an attr: the cheapest call there is)
    attr_reader :mask, :fixed # :nodoc:

    # Replaces the interests (:r, :w, :rw or nil: none for now).
    def interests=(interests)
      unless interests.nil?
        raise TypeError, "interests must be a Symbol, not #{interests.class}" unless interests.is_a?(Symbol)
        unless INTERESTS.include?(interests)
          raise ArgumentError, "invalid interest type #{interests.inspect} (must be :r, :w, or :rw)"
        end
      end
      update(interests.nil? ? 0 : MASK[interests])
    end

    # Adds :r, :w or :rw to the interests; returns the new interests.
    def add_interest(interest)
      update(@bits | mask_of(interest))
    end

    # Removes :r, :w or :rw from the interests; returns the new interests.
    def remove_interest(interest)
      update(@bits & ~mask_of(interest))
    end

    def readable? = @readiness == :r || @readiness == :rw

    def writable? = @readiness == :w || @readiness == :rw
    alias writeable? writable?

    def closed? = @closed

    # Deactivates the monitor and (by default) deregisters its IO.
    def close(deregister = true)
      return nil if @closed

      @closed = true
      selector = @selector
      @selector = nil
      selector._detach(self, @fd, @interests)
      selector.deregister(@io) if deregister
      nil
    end

    def inspect = "#<NIO::Monitor fd=#{@fd} interests=#{@interests.inspect}#{' (closed)' if @closed}>"

    private

    def mask_of(interest)
      raise TypeError, "interest must be a Symbol, not #{interest.class}" unless interest.is_a?(Symbol)

      MASK.fetch(interest) do
        raise ArgumentError, "invalid interest type #{interest.inspect} (must be :r, :w, or :rw)"
      end
    end

    def update(mask)
      raise EOFError, "monitor is closed" if @closed

      new = FROM_MASK[mask]
      old = @interests
      if new != old
        @selector._set(self, @fd, old, new)
        @interests = new
        @bits = mask
        @mask = TABLE_MASK[mask]
        @fixed = FIXED[mask]
      end
      new
    end
  end
end

# a later require of the real gem would mix its classes into these
$LOADED_FEATURES << "nio.rb" << "nio4r.rb" unless $LOADED_FEATURES.include?("nio.rb")
