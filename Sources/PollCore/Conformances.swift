import CPollSys

// Hashing and text for Swift users. Not compiled into the Embedded Swift library: the
// C ABI needs neither, and Hasher would pull in a random seed (arc4random_buf, glibc
// 2.36) and String formatting would add kilobytes to the .so.
#if !hasFeature(Embedded)

extension Errno: Hashable, CustomStringConvertible {
    public func hash(into hasher: inout Hasher) { hasher.combine(rawValue) }
    public var description: String { String(cString: sp_strerror(rawValue)) }
}

extension Token: Hashable, CustomStringConvertible {
    public var description: String { "Token(\(rawValue))" }
}

extension Interest: Hashable {}
extension Event.Flags: Hashable {}
extension Event: Hashable {
    public func hash(into hasher: inout Hasher) {
        hasher.combine(token)
        hasher.combine(flags)
        hasher.combine(raw)
    }
}

extension Event: CustomStringConvertible {
    public var description: String {
        "Event { token: \(token.rawValue), readable: \(isReadable), writable: \(isWritable), "
            + "error: \(isError), read_closed: \(isReadClosed), write_closed: \(isWriteClosed), "
            + "priority: \(isPriority) }"
    }
}

#endif
