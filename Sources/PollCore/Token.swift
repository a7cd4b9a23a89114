/// Associates an event with its registration: chosen by the caller at registration and
/// returned in every event for that source. Any value is legal (also `UInt64.max`);
/// uniqueness is the caller's business, as in mio.
public struct Token: RawRepresentable, Equatable, Comparable, Sendable {
    public var rawValue: UInt64

    @inlinable
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    @inlinable
    public init(_ value: UInt64) { self.rawValue = value }

    @inlinable
    public static func < (lhs: Token, rhs: Token) -> Bool { lhs.rawValue < rhs.rawValue }
}
