# frozen_string_literal: true

module SwiftPoll
  # What to watch for, plus the trigger mode: READABLE, WRITABLE, PRIORITY
  # combined with `|`, and at most one of LEVEL or ONESHOT (edge-triggered is
  # the default, as in mio).  Immutable; `|` of two interests gives another.
  #
  # Where an interest is expected, an Integer of the same bits, a Symbol
  # (:readable, :writable, :priority, :level, :oneshot, :edge) or an Array of
  # them is accepted too.
  class Interest
    READABLE_BIT = 0x01
    WRITABLE_BIT = 0x02
    PRIORITY_BIT = 0x04
    LEVEL_BIT = 0x100
    ONESHOT_BIT = 0x200
    KIND_BITS = 0x07
    MODE_BITS = 0x300
    ALL_BITS = KIND_BITS | MODE_BITS

    NAMES = { READABLE_BIT => "READABLE", WRITABLE_BIT => "WRITABLE", PRIORITY_BIT => "PRIORITY",
              LEVEL_BIT => "LEVEL", ONESHOT_BIT => "ONESHOT" }.freeze
    SYMBOLS = { readable: READABLE_BIT, writable: WRITABLE_BIT, priority: PRIORITY_BIT,
                level: LEVEL_BIT, oneshot: ONESHOT_BIT, edge: 0 }.freeze

    attr_reader :bits
    alias to_i bits

    @cache = {}

    class << self
      # The Interest of these bits (one shared frozen object per value).
      def [](bits)
        @cache[bits] ||= begin
          check_bits(bits, partial: true)
          new(bits).freeze
        end
      end

      # The C bits of an interest argument, validated (a full interest: at least
      # one of READABLE/WRITABLE/PRIORITY).  Raises TypeError or ArgumentError.
      def bits_of(interest)
        bits = case interest
               when Interest then interest.bits
               when Integer then interest
               when Symbol then symbol_bits(interest)
               when Array then interest.inject(0) { |acc, s| acc | symbol_bits(s) }
               else
                 raise TypeError, "interest must be a SwiftPoll::Interest, Integer, Symbol or Array of Symbols, " \
                                  "not #{interest.class}"
               end
        check_bits(bits, partial: false)
        bits
      end

      private :new

      private

      def symbol_bits(sym)
        raise TypeError, "interest symbols must be Symbols, not #{sym.class}" unless sym.is_a?(Symbol)

        SYMBOLS.fetch(sym) do
          raise ArgumentError, "unknown interest #{sym.inspect} (expected one of #{SYMBOLS.keys.map(&:inspect).join(', ')})"
        end
      end

      def check_bits(bits, partial:)
        raise ArgumentError, "unknown interest bits: 0x#{bits.to_s(16)}" if bits.negative? || (bits & ~ALL_BITS) != 0
        raise ArgumentError, "LEVEL and ONESHOT are mutually exclusive" if (bits & MODE_BITS) == MODE_BITS
        return if partial || (bits & KIND_BITS) != 0

        raise ArgumentError, "an interest needs READABLE, WRITABLE or PRIORITY"
      end
    end

    def initialize(bits)
      @bits = bits
    end

    def |(other)
      Interest[@bits | Interest.__send__(:coerce_bits, other)]
    end

    # This interest without the bits of +other+ (nil if nothing is left).
    def remove(other)
      left = @bits & ~Interest.__send__(:coerce_bits, other)
      left.zero? ? nil : Interest[left]
    end

    def readable? = (@bits & READABLE_BIT) != 0
    def writable? = (@bits & WRITABLE_BIT) != 0
    def priority? = (@bits & PRIORITY_BIT) != 0
    def level? = (@bits & LEVEL_BIT) != 0
    def oneshot? = (@bits & ONESHOT_BIT) != 0
    def edge? = (@bits & MODE_BITS).zero?

    def ==(other)
      other.is_a?(Interest) && other.bits == @bits
    end
    alias eql? ==

    def hash = @bits.hash

    def to_s
      names = NAMES.filter_map { |bit, name| name if (@bits & bit) != 0 }
      names.empty? ? "NONE" : names.join(" | ")
    end

    def inspect = "#<SwiftPoll::Interest #{self}>"

    class << self
      private

      def coerce_bits(other)
        case other
        when Interest then other.bits
        when Symbol, Array then Array(other).inject(0) { |acc, s| acc | symbol_bits(s) }
        when Integer then other
        else raise TypeError, "cannot combine an Interest with #{other.class}"
        end
      end
    end

    READABLE = Interest[READABLE_BIT]
    WRITABLE = Interest[WRITABLE_BIT]
    PRIORITY = Interest[PRIORITY_BIT]
    LEVEL = Interest[LEVEL_BIT]
    ONESHOT = Interest[ONESHOT_BIT]
  end
end
