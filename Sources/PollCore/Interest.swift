/// What to watch for, and how to be told.
///
/// At least one of `.readable`, `.writable`, `.priority` is required. The trigger mode is
/// edge (mio's only mode) unless `.level` or `.oneshot` is given; the two together are
/// invalid. The bit values are those of the C ABI (`SWIFTPOLL_READABLE` ...).
public struct Interest: OptionSet, Sendable {
    public let rawValue: UInt32

    @inlinable
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let readable = Interest(rawValue: 0x01)
    public static let writable = Interest(rawValue: 0x02)
    /// Out-of-band / urgent data (EPOLLPRI).
    public static let priority = Interest(rawValue: 0x04)
    /// Edge-triggered, the default: the empty set of mode bits.
    public static let edge = Interest([])
    /// Level-triggered: reported by every wait while ready (what `selectors` expects).
    public static let level = Interest(rawValue: 0x100)
    /// Reported once, then disarmed until `Registry.reregister`.
    public static let oneshot = Interest(rawValue: 0x200)

    @usableFromInline
    static let readinessBits: UInt32 = 0x07
    @usableFromInline
    static let allBits: UInt32 = 0x307

    /// Whether the registry accepts this interest.
    @inlinable
    public var isValid: Bool {
        rawValue & ~Interest.allBits == 0
            && rawValue & Interest.readinessBits != 0
            && rawValue & 0x300 != 0x300
    }

    @inlinable public var isReadable: Bool { contains(.readable) }
    @inlinable public var isWritable: Bool { contains(.writable) }
    @inlinable public var isPriority: Bool { contains(.priority) }
}
