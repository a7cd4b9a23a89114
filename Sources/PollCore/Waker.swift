import CPollSys
import Synchronization

/// Makes a wait on its poll return an event with its token and `isReadable`, from any
/// thread and from a signal handler. Wakes before a wait coalesce into one event.
///
/// One live waker per poll (over all its registries): creating a second while one lives
/// throws `.fileExists` (mio only checks this in debug builds); once a waker is gone a
/// new one may be made.
public final class Waker: Sendable {
    @usableFromInline
    let fd: Int32
    let shared: PollShared

    /// Creates an eventfd and registers it, edge-triggered and readable, with `token`.
    /// - Throws: `.fileExists` while another waker of this poll lives,
    ///   `.tooManyOpenFiles`, and what registration throws.
    public init(registry: Registry, token: Token) throws(Errno) {
        let shared = registry.shared
        guard shared.hasWaker.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
        else { throw .fileExists }
        let fd: Int32
        do {
            fd = try check(sp_eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK)))
        } catch {
            shared.hasWaker.store(false, ordering: .releasing)
            throw error
        }
        do {
            try registry.register(fd, token: token, interest: .readable)
        } catch {
            closeIgnoringErrors(fd)
            shared.hasWaker.store(false, ordering: .releasing)
            throw error
        }
        self.fd = fd
        self.shared = shared
    }

    deinit {
        closeIgnoringErrors(fd)
        shared.hasWaker.store(false, ordering: .releasing)
    }

    /// Wakes the poll. Never blocks; async-signal-safe (one `write`, or on counter
    /// overflow a `read` and a `write`).
    ///
    /// The counter is never drained in normal operation: every write re-queues the
    /// edge-triggered eventfd. Only when it would overflow (2^64-2 wakes) is it reset.
    @inlinable
    public func wake() throws(Errno) {
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
}
