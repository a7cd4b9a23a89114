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

    /// Creates a poll (an epoll instance, close-on-exec).
    /// - Throws: `.tooManyOpenFiles`, `.tooManyOpenFilesInSystem`, `.noMemory`.
    public init() throws(Errno) {
        registry = Registry(selector: try PlatformSelector.make(), shared: PollShared(), isPollOwned: true)
    }

    /// The epoll fd (to nest this poll in another poller); owned by the poll.
    public var fileDescriptor: Int32 { registry.fileDescriptor }

    /// Waits for events and stores them in `events` (cleared first, also on error).
    /// `nil` waits until an event comes; a duration waits at least that long unless
    /// events come first (nanosecond precision where the kernel has epoll_pwait2, else
    /// milliseconds rounded up).
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
    @inlinable
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
