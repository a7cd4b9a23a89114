// The C ABI (Sources/CPollABI), called from Swift: a smoke round trip of every
// function, negative errno results, NULL handles, out-parameters untouched on
// failure, and the caller's errno preserved by every call.
//
// Calls go through the header's C declarations (imported by CPollSys), which link to
// the @_cdecl exports: that is the signature C users compile against.

import Glibc
import Testing
import CPollSys
import CPollABI
import PollCore

/// A pointer that is never a valid handle, to see that failed calls leave
/// out-parameters alone.
private var sentinel: OpaquePointer { OpaquePointer(bitPattern: 0x5a5a_5a50)! }

/// Runs `body` with errno set to a marker and checks the marker survived.
@discardableResult
private func preservingErrno<R>(_ what: String, sourceLocation: SourceLocation = #_sourceLocation, _ body: () -> R) -> R {
    errno = 4242
    let result = body()
    #expect(errno == 4242, "\(what) changed errno to \(errno)", sourceLocation: sourceLocation)
    return result
}

private func newPoll() throws -> OpaquePointer {
    var poll: OpaquePointer? = nil
    let rc = CPollSys.swiftpoll_poll_new(&poll)
    guard rc == 0, let poll else { throw SetupError(what: "swiftpoll_poll_new", code: -rc) }
    return poll
}

@Suite("C ABI")
struct CABITests {
    @Test("version, ABI version and strerror")
    func library() {
        #expect(preservingErrno("abi_version") { CPollSys.swiftpoll_abi_version() } == 1)
        #expect(CPollSys.swiftpoll_abi_version() == UInt32(SWIFTPOLL_ABI_VERSION))
        let version = String(cString: preservingErrno("version") { CPollSys.swiftpoll_version() })
        #expect(version == SWIFTPOLL_VERSION_STRING)
        #expect(version == "\(SWIFTPOLL_VERSION_MAJOR).\(SWIFTPOLL_VERSION_MINOR).\(SWIFTPOLL_VERSION_PATCH)")
        for code in [EPERM, ENOENT, EINTR, EBADF, EAGAIN, ENOMEM, EBUSY, EEXIST, EINVAL, EMFILE, ENFILE, ENOSPC, ELOOP, ENOSYS] {
            let expected = String(cString: strerror(code))
            #expect(String(cString: preservingErrno("strerror") { CPollSys.swiftpoll_strerror(code) }) == expected)
            #expect(String(cString: CPollSys.swiftpoll_strerror(-code)) == expected)
        }
        #expect(String(cString: CPollSys.swiftpoll_strerror(0)) == "Success")
        #expect(String(cString: CPollSys.swiftpoll_strerror(123_456)) == "Unknown error")
        #expect(String(cString: CPollSys.swiftpoll_strerror(Int32.min)) == "Unknown error")
    }

    @Test("round trip: poll, register, wait, reregister, deregister, clone, waker, free", epollOnly("uses the epoll fd and edge triggering (the C suite runs the ABI over poll(2))"))
    func roundTrip() throws {
        let poll = try newPoll()
        defer { preservingErrno("poll_free") { CPollSys.swiftpoll_poll_free(poll) } }
        let epfd = preservingErrno("poll_fd") { CPollSys.swiftpoll_poll_fd(poll) }
        #expect(epfd >= 0)
        #expect(fdFlags(epfd) & FD_CLOEXEC != 0)
        guard let registry = preservingErrno("poll_registry", { CPollSys.swiftpoll_poll_registry(poll) }) else {
            Issue.record("swiftpoll_poll_registry returned NULL")
            return
        }
        #expect(CPollSys.swiftpoll_poll_registry(poll) == registry) // borrowed, stable

        let pipe = try makePipe()
        defer { closeFD(pipe.read); closeFD(pipe.write) }
        #expect(preservingErrno("register") {
            CPollSys.swiftpoll_registry_register(registry, pipe.read, 0xfeed_0000_0000_0001, SWIFTPOLL_READABLE)
        } == 0)
        try writeBytes(pipe.write, 4)
        var events = [swiftpoll_event](repeating: swiftpoll_event(), count: 4)
        var n = preservingErrno("wait") { CPollSys.swiftpoll_poll_wait(poll, &events, 4, 5_000_000_000) }
        #expect(n == 1)
        #expect(events[0].token == 0xfeed_0000_0000_0001)
        #expect(events[0].flags == SWIFTPOLL_EVENT_READABLE)
        #expect(events[0].raw == Bits.IN)
        // Edge: nothing more; a zero timeout returns 0 at once.
        #expect(CPollSys.swiftpoll_poll_wait(poll, &events, 4, 0) == 0)

        // Reregister: new token, level; reported on every wait.
        #expect(preservingErrno("reregister") {
            CPollSys.swiftpoll_registry_reregister(registry, pipe.read, 2, SWIFTPOLL_READABLE | SWIFTPOLL_LEVEL)
        } == 0)
        for _ in 0..<2 {
            n = CPollSys.swiftpoll_poll_wait(poll, &events, 4, 5_000_000_000)
            #expect(n == 1)
            #expect(events[0].token == 2)
        }
        #expect(preservingErrno("deregister") { CPollSys.swiftpoll_registry_deregister(registry, pipe.read) } == 0)
        #expect(CPollSys.swiftpoll_poll_wait(poll, &events, 4, 0) == 0)

        // The wait_args form.
        #expect(CPollSys.swiftpoll_registry_register(registry, pipe.read, 3, SWIFTPOLL_READABLE) == 0)
        n = events.withUnsafeMutableBufferPointer { buffer in
            var args = swiftpoll_wait_args(poll: poll, events: buffer.baseAddress, capacity: 4, timeout_ns: 5_000_000_000)
            return preservingErrno("wait_args") { CPollSys.swiftpoll_poll_wait_args(&args) }
        }
        #expect(n == 1)
        #expect(events[0].token == 3)

        // A clone: registers into the same poll; freeing it leaves the poll alone.
        var clone: OpaquePointer? = nil
        #expect(preservingErrno("try_clone") { CPollSys.swiftpoll_registry_try_clone(registry, &clone) } == 0)
        #expect(clone != nil && clone != registry)
        let efd = try makeEventFD(initial: 1)
        defer { closeFD(efd) }
        #expect(CPollSys.swiftpoll_registry_register(clone, efd, 4, SWIFTPOLL_READABLE) == 0)
        preservingErrno("registry_free(clone)") { CPollSys.swiftpoll_registry_free(clone) }
        n = CPollSys.swiftpoll_poll_wait(poll, &events, 4, 5_000_000_000)
        #expect(n == 1)
        #expect(events[0].token == 4)

        // Freeing the poll's own registry does nothing.
        preservingErrno("registry_free(own)") { CPollSys.swiftpoll_registry_free(registry) }
        #expect(CPollSys.swiftpoll_registry_deregister(registry, efd) == 0)

        // Waker.
        var waker: OpaquePointer? = nil
        #expect(preservingErrno("waker_new") { CPollSys.swiftpoll_waker_new(registry, 5, &waker) } == 0)
        #expect(waker != nil)
        var second: OpaquePointer? = sentinel
        #expect(preservingErrno("waker_new (second)") { CPollSys.swiftpoll_waker_new(registry, 6, &second) } == -EEXIST)
        #expect(second == sentinel)
        for _ in 0..<3 { #expect(preservingErrno("waker_wake") { CPollSys.swiftpoll_waker_wake(waker) } == 0) }
        n = CPollSys.swiftpoll_poll_wait(poll, &events, 4, 5_000_000_000)
        #expect(n == 1)
        #expect(events[0].token == 5)
        #expect(events[0].flags == SWIFTPOLL_EVENT_READABLE)
        preservingErrno("waker_free") { CPollSys.swiftpoll_waker_free(waker) }
        // After the free, a new waker may be made.
        var third: OpaquePointer? = nil
        #expect(CPollSys.swiftpoll_waker_new(registry, 7, &third) == 0)
        CPollSys.swiftpoll_waker_free(third)
    }

    @Test("errors are negative errno values, and errno is preserved", epollOnly("registers the poll's own epoll fd (the C suite checks every error over poll(2))"))
    func errors() throws {
        let poll = try newPoll()
        defer { CPollSys.swiftpoll_poll_free(poll) }
        let registry = CPollSys.swiftpoll_poll_registry(poll)
        let efd = try makeEventFD()
        defer { closeFD(efd) }
        #expect(preservingErrno("register") { CPollSys.swiftpoll_registry_register(registry, efd, 1, SWIFTPOLL_READABLE) } == 0)
        #expect(preservingErrno("register twice") { CPollSys.swiftpoll_registry_register(registry, efd, 1, SWIFTPOLL_READABLE) } == -EEXIST)
        #expect(preservingErrno("register -1") { CPollSys.swiftpoll_registry_register(registry, -1, 1, SWIFTPOLL_READABLE) } == -EBADF)
        #expect(preservingErrno("register own fd") {
            CPollSys.swiftpoll_registry_register(registry, CPollSys.swiftpoll_poll_fd(poll), 1, SWIFTPOLL_READABLE)
        } == -EINVAL)
        for bad: UInt32 in [0, SWIFTPOLL_LEVEL, SWIFTPOLL_READABLE | SWIFTPOLL_LEVEL | SWIFTPOLL_ONESHOT, 0x08, 0x8000_0001] {
            #expect(preservingErrno("register bad interest") { CPollSys.swiftpoll_registry_register(registry, 0, 1, bad) } == -EINVAL)
            #expect(preservingErrno("reregister bad interest") { CPollSys.swiftpoll_registry_reregister(registry, efd, 1, bad) } == -EINVAL)
        }
        let pipe = try makePipe()
        defer { closeFD(pipe.read); closeFD(pipe.write) }
        #expect(preservingErrno("reregister unregistered") { CPollSys.swiftpoll_registry_reregister(registry, pipe.read, 1, SWIFTPOLL_READABLE) } == -ENOENT)
        #expect(preservingErrno("deregister unregistered") { CPollSys.swiftpoll_registry_deregister(registry, pipe.read) } == -ENOENT)
        #expect(preservingErrno("deregister -1") { CPollSys.swiftpoll_registry_deregister(registry, -1) } == -EBADF)

        var template = Array("/tmp/pollcore-cabi-XXXXXX".utf8CString)
        let file = try check("mkstemp", template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) })
        defer {
            closeFD(file)
            _ = template.withUnsafeBufferPointer { unlink($0.baseAddress!) }
        }
        #expect(preservingErrno("register file") { CPollSys.swiftpoll_registry_register(registry, file, 1, SWIFTPOLL_READABLE) } == -EPERM)

        var events = [swiftpoll_event](repeating: swiftpoll_event(), count: 2)
        #expect(preservingErrno("wait capacity 0") { CPollSys.swiftpoll_poll_wait(poll, &events, 0, 0) } == -EINVAL)
        #expect(preservingErrno("wait events NULL") { CPollSys.swiftpoll_poll_wait(poll, nil, 2, 0) } == -EINVAL)
        // A successful wait with nothing ready, errno untouched.
        #expect(preservingErrno("wait (timeout)") { CPollSys.swiftpoll_poll_wait(poll, &events, 2, 1_000_000) } == 0)
    }

    @Test("NULL handles: -EINVAL or a no-op, never a crash; out-parameters untouched")
    func nullHandles() {
        var events = [swiftpoll_event](repeating: swiftpoll_event(), count: 1)
        #expect(preservingErrno("poll_new(NULL)") { CPollSys.swiftpoll_poll_new(nil) } == -EINVAL)
        preservingErrno("poll_free(NULL)") { CPollSys.swiftpoll_poll_free(nil) }
        #expect(preservingErrno("poll_fd(NULL)") { CPollSys.swiftpoll_poll_fd(nil) } == -EINVAL)
        #expect(preservingErrno("poll_registry(NULL)") { CPollSys.swiftpoll_poll_registry(nil) } == nil)
        #expect(preservingErrno("poll_wait(NULL)") { CPollSys.swiftpoll_poll_wait(nil, &events, 1, 0) } == -EINVAL)
        #expect(preservingErrno("poll_wait_args(NULL)") { CPollSys.swiftpoll_poll_wait_args(nil) } == -EINVAL)
        events.withUnsafeMutableBufferPointer { buffer in
            var args = swiftpoll_wait_args(poll: nil, events: buffer.baseAddress, capacity: 1, timeout_ns: 0)
            #expect(preservingErrno("poll_wait_args(poll NULL)") { CPollSys.swiftpoll_poll_wait_args(&args) } == -EINVAL)
        }
        #expect(preservingErrno("register(NULL)") { CPollSys.swiftpoll_registry_register(nil, 0, 1, SWIFTPOLL_READABLE) } == -EINVAL)
        #expect(preservingErrno("reregister(NULL)") { CPollSys.swiftpoll_registry_reregister(nil, 0, 1, SWIFTPOLL_READABLE) } == -EINVAL)
        #expect(preservingErrno("deregister(NULL)") { CPollSys.swiftpoll_registry_deregister(nil, 0) } == -EINVAL)
        var out: OpaquePointer? = sentinel
        #expect(preservingErrno("try_clone(NULL)") { CPollSys.swiftpoll_registry_try_clone(nil, &out) } == -EINVAL)
        #expect(out == sentinel)
        preservingErrno("registry_free(NULL)") { CPollSys.swiftpoll_registry_free(nil) }
        #expect(preservingErrno("waker_new(NULL)") { CPollSys.swiftpoll_waker_new(nil, 1, &out) } == -EINVAL)
        #expect(out == sentinel)
        #expect(preservingErrno("waker_wake(NULL)") { CPollSys.swiftpoll_waker_wake(nil) } == -EINVAL)
        preservingErrno("waker_free(NULL)") { CPollSys.swiftpoll_waker_free(nil) }
    }

    @Test("NULL out-parameters with a valid handle: -EINVAL, nothing made, nothing leaked")
    func nullOutParameters() throws {
        let poll = try newPoll()
        defer { CPollSys.swiftpoll_poll_free(poll) }
        let registry = CPollSys.swiftpoll_poll_registry(poll)
        #expect(preservingErrno("try_clone(out NULL)") { CPollSys.swiftpoll_registry_try_clone(registry, nil) } == -EINVAL)
        #expect(preservingErrno("waker_new(out NULL)") { CPollSys.swiftpoll_waker_new(registry, 1, nil) } == -EINVAL)
        // The refused waker did not take the poll's waker slot.
        var waker: OpaquePointer? = nil
        #expect(CPollSys.swiftpoll_waker_new(registry, 1, &waker) == 0)
        CPollSys.swiftpoll_waker_free(waker)
    }

    @Test("try_clone outlives poll_free; a waker too (its wakes then go nowhere)")
    func cloneAfterFree() throws {
        let poll = try newPoll()
        let registry = CPollSys.swiftpoll_poll_registry(poll)
        var clone: OpaquePointer? = nil
        #expect(CPollSys.swiftpoll_registry_try_clone(registry, &clone) == 0)
        var waker: OpaquePointer? = nil
        #expect(CPollSys.swiftpoll_waker_new(registry, 9, &waker) == 0)
        CPollSys.swiftpoll_poll_free(poll)
        let efd = try makeEventFD(initial: 1)
        defer { closeFD(efd) }
        #expect(CPollSys.swiftpoll_registry_register(clone, efd, 10, SWIFTPOLL_READABLE) == 0)
        #expect(CPollSys.swiftpoll_registry_reregister(clone, efd, 11, SWIFTPOLL_READABLE) == 0)
        #expect(CPollSys.swiftpoll_waker_wake(waker) == 0)
        #expect(CPollSys.swiftpoll_registry_deregister(clone, efd) == 0)
        CPollSys.swiftpoll_waker_free(waker)
        CPollSys.swiftpoll_registry_free(clone)
    }

    @Test("timeouts through the ABI: 0 returns at once, 1.5 ms is never rounded down, negative blocks until an event")
    func timeouts() throws {
        let poll = try newPoll()
        defer { CPollSys.swiftpoll_poll_free(poll) }
        let registry = CPollSys.swiftpoll_poll_registry(poll)
        var events = [swiftpoll_event](repeating: swiftpoll_event(), count: 4)
        #expect(CPollSys.swiftpoll_poll_wait(poll, &events, 4, 0) == 0)
        let start = monotonicNanoseconds()
        #expect(CPollSys.swiftpoll_poll_wait(poll, &events, 4, 1_500_000) == 0)
        #expect(monotonicNanoseconds() - start >= 1_500_000)
        // Negative: blocks until the timer fires (a second timer is the watchdog).
        let watchdog = try makeTimerFD(expiringAfter: 10_000_000_000)
        defer { closeFD(watchdog) }
        let timer = try makeTimerFD(expiringAfter: 20_000_000)
        defer { closeFD(timer) }
        #expect(CPollSys.swiftpoll_registry_register(registry, watchdog, 666, SWIFTPOLL_READABLE) == 0)
        #expect(CPollSys.swiftpoll_registry_register(registry, timer, 20, SWIFTPOLL_READABLE) == 0)
        let n = CPollSys.swiftpoll_poll_wait(poll, &events, 4, -1)
        #expect(n == 1)
        #expect(events[0].token == 20)
        _ = drain(timer) // so that level-triggered reporting (poll(2)'s edge) has nothing either
        #expect(CPollSys.swiftpoll_poll_wait(poll, &events, 4, 0) == 0)
    }

    @Test("a capacity above what epoll accepts (up to SIZE_MAX) is clamped, not refused")
    func hugeCapacity() throws {
        let poll = try newPoll()
        defer { CPollSys.swiftpoll_poll_free(poll) }
        let registry = CPollSys.swiftpoll_poll_registry(poll)
        let efd = try makeEventFD()
        defer { closeFD(efd) }
        #expect(CPollSys.swiftpoll_registry_register(registry, efd, 21, SWIFTPOLL_READABLE | SWIFTPOLL_LEVEL) == 0)
        try signalEventFD(efd)
        // One fd is ready, so the kernel writes one entry whatever the capacity says.
        var events = [swiftpoll_event](repeating: swiftpoll_event(), count: 4)
        for capacity in [Int(Int32.max), Int.max, Int(bitPattern: UInt.max), Int(bitPattern: UInt(Int.max) + 1)] {
            #expect(CPollSys.swiftpoll_poll_wait(poll, &events, capacity, 0) == 1, "capacity \(UInt(bitPattern: capacity))")
            #expect(events[0].token == 21)
        }
        let swiftPoll = try Poll()
        try swiftPoll.registry.register(efd, token: Token(22), interest: [.readable, .level])
        var buffer = [Event](repeating: Event(token: Token(0), flags: []), count: 4)
        let n = try buffer.withUnsafeMutableBufferPointer { (b) throws(Errno) -> Int in
            try swiftPoll.wait(into: b.baseAddress!, capacity: Int.max, timeoutNanoseconds: 0)
        }
        #expect(n == 1)
        #expect(buffer[0].token == Token(22))
    }

    @Test("the Swift entry points of CPollABI are the same functions")
    func swiftEntryPoints() throws {
        var poll: OpaquePointer? = nil
        #expect(CPollABI.swiftpoll_poll_new(&poll) == 0)
        defer { CPollABI.swiftpoll_poll_free(poll) }
        let registry = CPollABI.swiftpoll_poll_registry(poll)
        let efd = try makeEventFD(initial: 1)
        defer { closeFD(efd) }
        #expect(CPollABI.swiftpoll_registry_register(registry, efd, 12, 0x01) == 0)
        var events = [swiftpoll_event](repeating: swiftpoll_event(), count: 2)
        #expect(CPollABI.swiftpoll_poll_wait(poll, &events, 2, 5_000_000_000) == 1)
        #expect(events[0].token == 12)
        #expect(CPollABI.swiftpoll_abi_version() == 1)
    }
}
