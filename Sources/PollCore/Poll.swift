import Synchronization

/// A readiness poller: register sources through `registry`, then wait for events.
///
/// One thread waits at a time (a second gets `.resourceBusy`); the registry and wakers
/// are usable from any thread meanwhile.
public final class Poll: Sendable {
    /// The poll's own registry.
    public let registry: Registry
    @usableFromInline
    let waiting = Atomic<Bool>(false)

    /// Creates a poll over `backend`, or with `nil` over the default one: the
    /// environment variable `SWIFTPOLL_BACKEND` (`epoll`, `poll`, `kqueue`; read once per
    /// process) if set, else the system's best (epoll on Linux, falling back to poll(2)
    /// when the kernel refuses epoll with ENOSYS; kqueue on macOS and the BSDs).
    /// - Throws: `.notSupported` for a backend this build or system lacks;
    ///   `.invalidArgument` when `SWIFTPOLL_BACKEND` names an unknown or missing backend
    ///   (never silently another); `.tooManyOpenFiles`, `.tooManyOpenFilesInSystem`,
    ///   `.noMemory`.
    public init(backend: Backend? = nil) throws(Errno) {
        let selector: Selector
        if let backend {
            selector = try Selector.make(backend)
        } else if let chosen = try Backend.fromEnvironment() {
            do {
                selector = try Selector.make(chosen)
            } catch {
                throw error == .notSupported ? .invalidArgument : error
            }
        } else {
            let best = Selector.systemDefault
            do {
                selector = try Selector.make(best)
            } catch {
                guard error == .notSupported, best != .poll else { throw error }
                selector = try Selector.make(.poll)
            }
        }
        registry = Registry(selector: selector, shared: PollShared(), isPollOwned: true)
    }

    /// The backend this poll runs over.
    public var backend: Backend { registry.backend }

    /// The epoll or kqueue fd (to nest this poll in another poller), owned by the poll;
    /// -1 on the poll(2) backend, which has none.
    public var fileDescriptor: Int32 { registry.fileDescriptor }

    /// Waits for events and stores them in `events` (cleared first, also on error).
    /// `nil` waits until an event comes; a duration waits at least that long unless
    /// events come first (nanosecond precision with epoll_pwait2, ppoll and kqueue;
    /// milliseconds rounded up on kernels without epoll_pwait2).
    /// - Throws: `.interrupted` when a signal arrives (not retried: retry with the
    ///   remaining time), `.resourceBusy` if another thread is waiting on this poll.
    public func poll(_ events: Events, timeout: Duration?) throws(Errno) {
        events.count = 0
        events.count = try wait(
            into: events.storage.baseAddress!, capacity: events.capacity,
            timeoutNanoseconds: Timeout.nanoseconds(timeout))
    }

    /// The allocation-free core of `poll`: writes up to `capacity` events to `buffer`
    /// and returns how many. `timeoutNanoseconds < 0` waits forever, `0` never blocks.
    /// - Throws: `.invalidArgument` if `capacity < 1`, and as `poll(_:timeout:)`.
    @inlinable @inline(__always)
    public func wait(
        into buffer: UnsafeMutablePointer<Event>, capacity: Int, timeoutNanoseconds: Int64
    ) throws(Errno) -> Int {
        guard capacity > 0 else { throw .invalidArgument }
        guard waiting.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
        else { throw .resourceBusy }
        defer { waiting.store(false, ordering: .releasing) }
        return try registry.selector.select(
            into: buffer, capacity: capacity, timeoutNanoseconds: timeoutNanoseconds)
    }
}
