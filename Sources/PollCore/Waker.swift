import CPollSys
import Synchronization

/// Makes a wait on its poll return an event with its token and `isReadable`, from any
/// thread and from a signal handler. Wakes before a wait coalesce into one event.
///
/// One live waker per poll (over all its registries): creating a second while one lives
/// throws `.fileExists` (mio only checks this in debug builds); once a waker is gone a
/// new one may be made.
///
/// The mechanism is the backend's: an eventfd registered in the epoll set, a flag and
/// the internal notifier of the poll(2) backend, `EVFILT_USER` on kqueue.
public final class Waker: Sendable {
    @usableFromInline
    let state: WakerState
    let shared: PollShared

    /// - Throws: `.fileExists` while another waker of this poll lives,
    ///   `.tooManyOpenFiles`, and what registration throws.
    public init(registry: Registry, token: Token) throws(Errno) {
        let shared = registry.shared
        guard shared.hasWaker.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
        else { throw .fileExists }
        do {
            state = try registry.selector.makeWaker(token: token)
        } catch {
            shared.hasWaker.store(false, ordering: .releasing)
            throw error
        }
        self.shared = shared
    }

    /// The waker's own descriptor where the backend has one (epoll and poll(2): its
    /// eventfd), else -1; for tests.
    package var fd: Int32 {
        switch state {
        #if os(Linux)
        case .epoll(let fd): return fd
        #endif
        case .poll(let w): return w.fd
        #if SWIFTPOLL_KQUEUE
        case .kqueue: return -1
        #endif
        }
    }

    deinit {
        state.release()
        shared.hasWaker.store(false, ordering: .releasing)
    }

    /// Wakes the poll. Never blocks; async-signal-safe (no lock, no allocation: one
    /// `write`, or the backend's single wake call).
    @inlinable @inline(__always)
    public func wake() throws(Errno) {
        try state.wake()
    }
}

/// Adds 1 to an eventfd: one `write` (or, on counter overflow, a `read` and a `write`).
/// Never blocks, async-signal-safe.
///
/// The counter is never drained by the waker itself: on epoll every write re-queues
/// the edge-triggered eventfd; the poll(2) backend reads it when it reports the wake.
/// Only when it would overflow (2^64-2 wakes) is it reset here.
@inlinable @inline(__always)
func wakeEventFD(_ fd: Int32) throws(Errno) {
    var one: UInt64 = 1
    while true {
        let written = sp_write(fd, &one, 8)
        if written >= 0 { return }
        switch Int32(truncatingIfNeeded: -written) {
        case EINTR:
            continue
        case EAGAIN:
            // The counter would pass 2^64-2: reset it, then write again.
            var counter: UInt64 = 0
            let got = sp_read(fd, &counter, 8)
            if got < 0 && got != -Int(EAGAIN) && got != -Int(EINTR) { _ = try check(got) }
        default:
            _ = try check(written)
        }
    }
}
