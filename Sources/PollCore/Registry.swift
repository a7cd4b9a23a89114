import Synchronization

/// State shared by a poll and every registry cloned from it.
final class PollShared: Sendable {
    /// Whether a waker is alive for this poll (the single-waker rule).
    let hasWaker = Atomic<Bool>(false)
}

/// Adds, changes and removes registrations of a poll. Thread-safe: use it from any
/// thread, also while another thread waits; a registration made during a wait is seen
/// by that wait.
public final class Registry: Sendable {
    @usableFromInline
    let selector: Selector
    let shared: PollShared
    /// True for the poll's own registry (`Poll.registry`), false for a clone.
    package let isPollOwned: Bool

    init(selector: Selector, shared: PollShared, isPollOwned: Bool) {
        self.selector = selector
        self.shared = shared
        self.isPollOwned = isPollOwned
    }

    deinit { selector.close() }

    /// The selector's descriptor (the epoll or kqueue fd), owned by the registry; -1
    /// on the poll(2) backend, which has none.
    public var fileDescriptor: Int32 { selector.fileDescriptor }

    /// The backend of this registry's poll.
    public var backend: Backend { selector.backend }

    /// Watches `fd`; its events carry `token`. An fd that is already ready is reported
    /// by the next wait.
    /// - Throws: `.invalidArgument` for an invalid interest or the poll's own fd,
    ///   `.fileExists` if already registered, `.badFileDescriptor`,
    ///   `.operationNotPermitted` for a file epoll cannot watch (a regular file).
    @inlinable
    public func register(_ fd: Int32, token: Token, interest: Interest) throws(Errno) {
        try selector.register(fd, token: token, interest: interest)
    }

    /// Replaces token and interest entirely, and re-arms a oneshot registration. If the
    /// fd is ready for the new interest, an event is reported (even a repeated one).
    /// - Throws: `.noSuchFileOrDirectory` if `fd` is not registered, and as `register`.
    @inlinable
    public func reregister(_ fd: Int32, token: Token, interest: Interest) throws(Errno) {
        try selector.reregister(fd, token: token, interest: interest)
    }

    /// Stops watching `fd`; no later wait reports it.
    /// - Throws: `.noSuchFileOrDirectory` if `fd` is not registered, `.badFileDescriptor`.
    @inlinable
    public func deregister(_ fd: Int32) throws(Errno) {
        try selector.deregister(fd)
    }

    /// An independent registry of the same poll (a close-on-exec duplicate of the epoll
    /// or kqueue fd, numbered 3 or above; on poll(2) a second handle on the same
    /// registration table). It stays usable after the poll is gone.
    public func tryClone() throws(Errno) -> Registry {
        Registry(selector: try selector.duplicate(), shared: shared, isPollOwned: false)
    }
}
