/// The interface every OS backend implements. `Poll`, `Registry` and `Waker` talk to
/// the backend only through it, so a poll(2) or kqueue backend can be added beside
/// `EpollSelector` without touching them; the backend is chosen at compile time
/// (`PlatformSelector`), never through an existential.
public protocol SelectorBackend: Sendable {
    /// Creates a new selector (close-on-exec).
    static func make() throws(Errno) -> Self
    /// An independent handle on the same selector (for `Registry.tryClone()`).
    func duplicate() throws(Errno) -> Self
    /// Releases this handle.
    func close()
    /// The descriptor of the selector, where it has one.
    var fileDescriptor: Int32 { get }

    func register(_ fd: Int32, token: Token, interest: Interest) throws(Errno)
    func reregister(_ fd: Int32, token: Token, interest: Interest) throws(Errno)
    func deregister(_ fd: Int32) throws(Errno)

    /// Waits and writes up to `capacity` events to `events`, returning how many.
    /// `timeoutNanoseconds < 0` waits forever, `0` does not block.
    func select(
        into events: UnsafeMutablePointer<Event>, capacity: Int, timeoutNanoseconds: Int64
    ) throws(Errno) -> Int
}

#if os(Linux)
public typealias PlatformSelector = EpollSelector
#endif
