/// One readiness event: the registration's token and what it is ready for.
///
/// The layout is the C ABI's `swiftpoll_event` (16 bytes: token at 0, flags at 8, the
/// backend's raw bits at 12), so a buffer of events can be handed to C unchanged.
public struct Event: Equatable, Sendable {
    public var token: Token
    public var flags: Flags
    /// The backend's own readiness bits (epoll: the EPOLL* bits the kernel returned).
    public var raw: UInt32

    @inlinable
    public init(token: Token, flags: Flags, raw: UInt32 = 0) {
        self.token = token
        self.flags = flags
        self.raw = raw
    }

    /// The readiness flags; values are the C ABI's `SWIFTPOLL_EVENT_*`.
    public struct Flags: OptionSet, Sendable {
        public let rawValue: UInt32
        @inlinable public init(rawValue: UInt32) { self.rawValue = rawValue }

        public static let readable = Flags(rawValue: 0x01)
        public static let writable = Flags(rawValue: 0x02)
        public static let error = Flags(rawValue: 0x04)
        public static let readClosed = Flags(rawValue: 0x08)
        public static let writeClosed = Flags(rawValue: 0x10)
        public static let priority = Flags(rawValue: 0x20)
    }

    /// The read operation may now succeed (or fail with EAGAIN: events can be spurious).
    @inlinable public var isReadable: Bool { flags.contains(.readable) }
    @inlinable public var isWritable: Bool { flags.contains(.writable) }
    @inlinable public var isError: Bool { flags.contains(.error) }
    /// Best effort, never a false positive: the read half is closed (peer FIN, local
    /// shutdown of the read half, hang-up).
    @inlinable public var isReadClosed: Bool { flags.contains(.readClosed) }
    /// Best effort, never a false positive: the write half is closed.
    @inlinable public var isWriteClosed: Bool { flags.contains(.writeClosed) }
    @inlinable public var isPriority: Bool { flags.contains(.priority) }
}
