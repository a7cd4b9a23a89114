# frozen_string_literal: true

module SwiftPoll
  # One readiness event: the registration's token and the readiness flags
  # (SWIFTPOLL_EVENT_* bits, mio's Event::is_* formulas); +raw+ holds the
  # backend's own bits (epoll: the EPOLL* bits the kernel returned).
  class Event
    READABLE = 0x01
    WRITABLE = 0x02
    ERROR = 0x04
    READ_CLOSED = 0x08
    WRITE_CLOSED = 0x10
    PRIORITY = 0x20
    NAMES = { READABLE => "readable", WRITABLE => "writable", ERROR => "error",
              READ_CLOSED => "read_closed", WRITE_CLOSED => "write_closed", PRIORITY => "priority" }.freeze

    attr_reader :token, :flags, :raw

    def initialize(token, flags, raw)
      @token = token
      @flags = flags
      @raw = raw
      freeze
    end

    def readable? = (@flags & READABLE) != 0
    def writable? = (@flags & WRITABLE) != 0
    def error? = (@flags & ERROR) != 0
    def read_closed? = (@flags & READ_CLOSED) != 0
    def write_closed? = (@flags & WRITE_CLOSED) != 0
    def priority? = (@flags & PRIORITY) != 0

    def ==(other)
      other.is_a?(Event) && other.token == @token && other.flags == @flags && other.raw == @raw
    end
    alias eql? ==

    def hash = [@token, @flags, @raw].hash

    def inspect
      names = NAMES.filter_map { |bit, name| name if (@flags & bit) != 0 }
      "#<SwiftPoll::Event token=#{@token} #{names.empty? ? 'none' : names.join('|')} raw=0x#{@raw.to_s(16)}>"
    end
    alias to_s inspect
  end

  # A buffer for up to +capacity+ events (a C array of swiftpoll_event),
  # filled by Poll#poll.  Enumerable over the Event objects of the last poll;
  # #each_pair yields (token, flags) without making Event objects.
  class Events
    include Enumerable

    MAX_CAPACITY = (2**31 - 1) / 12
    LOW32 = 0xffff_ffff
    WORDS = "Q*"
    EMPTY = [].freeze

    attr_reader :capacity

    def initialize(capacity = 1024)
      raise TypeError, "capacity must be an Integer, not #{capacity.class}" unless capacity.is_a?(Integer)
      raise ArgumentError, "capacity must be positive, got #{capacity}" unless capacity.positive?
      raise ArgumentError, "capacity too large: #{capacity}" if capacity > MAX_CAPACITY

      @capacity = capacity
      # freed by the GC (RUBY_FREE) once no Events (and no wait) refers to it
      @buf = @buffer = Fiddle::Pointer.malloc(capacity * Native::EVENT_SIZE, Fiddle::RUBY_FREE)
      @addr = @buf.to_i
      @n = 0
      @ints = nil
    end

    # the C array's address (for Poll) and the Fiddle::Pointer (NIO::Selector)
    attr_reader :addr, :buffer # :nodoc:

    def size = @n
    alias length size
    alias count_events size

    def empty? = @n.zero?

    # Forgets the events of the last poll.
    def clear
      @n = 0
      @ints = nil
      self
    end

    def each
      return to_enum(:each) { @n } unless block_given?

      ints = decoded
      i = 0
      m = ints.size
      while i < m
        v = ints[i + 1]
        yield Event.new(ints[i], v & LOW32, v >> 32)
        i += 2
      end
      self
    end

    # Yields token, flags of each event of the last poll (no Event objects).
    def each_pair
      return to_enum(:each_pair) { @n } unless block_given?

      ints = (@ints ||= @n == 0 ? EMPTY : @buf[0, @n << 4].unpack(WORDS))
      i = 0
      m = ints.size
      while i < m
        yield ints[i], ints[i + 1] & LOW32
        i += 2
      end
      self
    end

    def [](index)
      raise TypeError, "index must be an Integer, not #{index.class}" unless index.is_a?(Integer)

      index += @n if index.negative?
      return nil unless index >= 0 && index < @n

      ints = decoded
      v = ints[2 * index + 1]
      Event.new(ints[2 * index], v & LOW32, v >> 32)
    end

    def inspect = "#<SwiftPoll::Events capacity=#{@capacity} size=#{@n}>"

    # Poll: the wait wrote +n+ events.
    def filled(n) # :nodoc:
      @n = n
      @ints = nil
      n
    end

    # [token, flags | raw << 32, token, ...] of the last poll (little-endian:
    # flags at offset 8, raw at 12 read as one 64-bit word): one copy of the C
    # array into a String and one unpack, nothing per event.
    def decoded # :nodoc:
      @ints ||= @n == 0 ? EMPTY : @buf[0, @n << 4].unpack(WORDS)
    end
  end
end
