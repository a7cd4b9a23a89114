// Registry.register / reregister / deregister: results and errors (mio tests
// poll.rs poll_registration / poll_erroneous_registration, registering.rs,
// regressions.rs), on real pipes, eventfds, sockets and files.

import Glibc
import Testing
import CPollSys
@testable import PollCore

@Suite("Registration")
struct RegistrationTests {
    @Test("register, reregister, deregister succeed on a pipe and an eventfd")
    func basicRoundTrip() throws {
        let poll = try Poll()
        let pipe = try makePipe()
        defer { closeFD(pipe.read); closeFD(pipe.write) }
        let efd = try makeEventFD()
        defer { closeFD(efd) }

        try poll.registry.register(pipe.read, token: Token(1), interest: .readable)
        try poll.registry.register(pipe.write, token: Token(2), interest: .writable)
        try poll.registry.register(efd, token: Token(3), interest: [.readable, .writable])
        try poll.registry.reregister(pipe.read, token: Token(4), interest: [.readable, .level])
        try poll.registry.reregister(efd, token: Token(5), interest: [.readable, .oneshot])
        try poll.registry.deregister(pipe.read)
        try poll.registry.deregister(pipe.write)
        try poll.registry.deregister(efd)
        // Registered again after a deregister: allowed (same poll).
        try poll.registry.register(pipe.read, token: Token(6), interest: .readable)
        try poll.registry.deregister(pipe.read)
    }

    @Test("registering an fd twice throws .fileExists (EEXIST)")
    func registerTwice() throws {
        let poll = try Poll()
        let efd = try makeEventFD()
        defer { closeFD(efd) }
        try poll.registry.register(efd, token: Token(1), interest: .readable)
        #expect(throws: Errno.fileExists) {
            try poll.registry.register(efd, token: Token(2), interest: .writable)
        }
        #expect(Errno.fileExists.rawValue == EEXIST)
        // The first registration is untouched: its token still comes back.
        try signalEventFD(efd)
        let events = try waitEvents(poll, timeout: .seconds(5))
        #expect(events.map(\.token) == [Token(1)])
    }

    @Test("reregister and deregister of an unregistered fd throw .noSuchFileOrDirectory (ENOENT)")
    func notRegistered() throws {
        let poll = try Poll()
        let efd = try makeEventFD()
        defer { closeFD(efd) }
        #expect(throws: Errno.noSuchFileOrDirectory) {
            try poll.registry.reregister(efd, token: Token(1), interest: .readable)
        }
        #expect(throws: Errno.noSuchFileOrDirectory) { try poll.registry.deregister(efd) }
        // Also after a deregister.
        try poll.registry.register(efd, token: Token(1), interest: .readable)
        try poll.registry.deregister(efd)
        #expect(throws: Errno.noSuchFileOrDirectory) { try poll.registry.deregister(efd) }
        #expect(throws: Errno.noSuchFileOrDirectory) {
            try poll.registry.reregister(efd, token: Token(1), interest: .readable)
        }
        #expect(Errno.noSuchFileOrDirectory.rawValue == ENOENT)
    }

    @Test("a descriptor that is not open throws .badFileDescriptor (EBADF)", arguments: [Int32(-1), -42, 999_999])
    func badDescriptor(fd: Int32) throws {
        let poll = try Poll()
        #expect(!isOpen(fd))
        #expect(throws: Errno.badFileDescriptor) {
            try poll.registry.register(fd, token: Token(1), interest: .readable)
        }
        #expect(throws: Errno.badFileDescriptor) {
            try poll.registry.reregister(fd, token: Token(1), interest: .readable)
        }
        #expect(throws: Errno.badFileDescriptor) { try poll.registry.deregister(fd) }
        #expect(Errno.badFileDescriptor.rawValue == EBADF)
    }

    @Test("a regular file and a directory throw .operationNotPermitted (EPERM)")
    func regularFileAndDirectory() throws {
        let poll = try Poll()
        var template = Array("/tmp/pollcore-test-XXXXXX".utf8CString)
        let file = try check("mkstemp", template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) })
        defer {
            closeFD(file)
            _ = template.withUnsafeBufferPointer { unlink($0.baseAddress!) }
        }
        #expect(throws: Errno.operationNotPermitted) {
            try poll.registry.register(file, token: Token(1), interest: .readable)
        }
        #expect(throws: Errno.operationNotPermitted) {
            try poll.registry.register(file, token: Token(1), interest: .writable)
        }
        let directory = try check("open(/)", open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC))
        defer { closeFD(directory) }
        #expect(throws: Errno.operationNotPermitted) {
            try poll.registry.register(directory, token: Token(1), interest: .readable)
        }
        #expect(Errno.operationNotPermitted.rawValue == EPERM)
    }

    static let invalidInterests: [UInt32] = [
        0,                  // nothing to watch
        0x100,              // level alone
        0x200,              // oneshot alone
        0x300,              // both modes, no interest
        0x301,              // readable | level | oneshot
        0x303,
        0x307,
        0x08,               // unknown bit alone
        0x09,               // readable + unknown bit
        0x400 | 0x01,       // unknown mode bit
        0x8000_0000 | 0x01, // the EPOLLET bit is not ours to pass
        0x4000_0000 | 0x02, // nor EPOLLONESHOT
        0x2000 | 0x01,      // nor EPOLLRDHUP
        UInt32.max,
    ]

    @Test("invalid interests throw .invalidArgument (EINVAL) and change nothing", arguments: invalidInterests)
    func invalidInterest(raw: UInt32) throws {
        let poll = try Poll()
        let efd = try makeEventFD()
        defer { closeFD(efd) }
        let interest = Interest(rawValue: raw)
        #expect(!interest.isValid)
        #expect(throws: Errno.invalidArgument) {
            try poll.registry.register(efd, token: Token(1), interest: interest)
        }
        // Not registered by the failed call: a deregister finds nothing.
        #expect(throws: Errno.noSuchFileOrDirectory) { try poll.registry.deregister(efd) }

        // A failed reregister leaves the registration as it was.
        try poll.registry.register(efd, token: Token(7), interest: .readable)
        #expect(throws: Errno.invalidArgument) {
            try poll.registry.reregister(efd, token: Token(8), interest: interest)
        }
        try signalEventFD(efd)
        let events = try waitEvents(poll, timeout: .seconds(5))
        #expect(events.count == 1)
        #expect(events.first?.token == Token(7))
        #expect(events.first?.isReadable == true)
    }

    @Test("the poll's own fd, and a clone of it, throw .invalidArgument (EINVAL)", epollOnly("the poll(2) backend has no descriptor"))
    func ownDescriptor() throws {
        let poll = try Poll()
        #expect(throws: Errno.invalidArgument) {
            try poll.registry.register(poll.fileDescriptor, token: Token(1), interest: .readable)
        }
        let clone = try poll.registry.tryClone()
        #expect(throws: Errno.invalidArgument) {
            try poll.registry.register(clone.fileDescriptor, token: Token(1), interest: .readable)
        }
        #expect(throws: Errno.invalidArgument) {
            try clone.register(poll.fileDescriptor, token: Token(1), interest: .readable)
        }
    }

    @Test("nesting polls works one way; the loop back throws ELOOP", epollOnly("the poll(2) backend has no descriptor to nest"))
    func nestedPolls() throws {
        let outer = try Poll()
        let inner = try Poll()
        try outer.registry.register(inner.fileDescriptor, token: Token(1), interest: .readable)
        #expect(throws: Errno(rawValue: ELOOP)) {
            try inner.registry.register(outer.fileDescriptor, token: Token(2), interest: .readable)
        }
        // The inner poll becomes readable when it has an event: the outer one sees it.
        let efd = try makeEventFD(initial: 1)
        defer { closeFD(efd) }
        try inner.registry.register(efd, token: Token(3), interest: .readable)
        let events = try waitEvents(outer, timeout: .seconds(5))
        #expect(events.map(\.token) == [Token(1)])
        #expect(events.first?.isReadable == true)
        #expect(try waitEvents(inner, timeout: .zero).map(\.token) == [Token(3)])
    }

    @Test("an fd that is already ready is reported by the first wait after register")
    func alreadyReadyAtRegistration() throws {
        let poll = try Poll()
        let efd = try makeEventFD(initial: 3)
        defer { closeFD(efd) }
        let (a, b) = try makeSocketPair()
        defer { closeFD(a); closeFD(b) }
        try poll.registry.register(efd, token: Token(10), interest: .readable)
        try poll.registry.register(a, token: Token(11), interest: .writable)
        var seen: [Token: Event] = [:]
        for _ in 0..<3 where seen.count < 2 {
            for event in try waitEvents(poll, timeout: .seconds(5)) { seen[event.token] = event }
        }
        #expect(seen[Token(10)]?.isReadable == true)
        #expect(seen[Token(10)]?.isWritable == false)
        #expect(seen[Token(11)]?.isWritable == true)
        #expect(seen[Token(11)]?.isReadable == false)
        #expect(seen.count == 2)
    }

    @Test("deregister: no later wait reports the fd, even if it was ready before")
    func deregisterStopsEvents() throws {
        let poll = try Poll()
        let pipe = try makePipe()
        defer { closeFD(pipe.read); closeFD(pipe.write) }
        try poll.registry.register(pipe.read, token: Token(1), interest: [.readable, .level])
        try writeBytes(pipe.write)
        #expect(try waitEvents(poll, timeout: .seconds(5)).map(\.token) == [Token(1)])
        // Ready (level) and queued: deregister, then nothing more.
        try poll.registry.deregister(pipe.read)
        #expect(try waitEvents(poll, timeout: quietPeriod).isEmpty)
        try writeBytes(pipe.write)
        #expect(try waitEvents(poll, timeout: quietPeriod).isEmpty)
    }

    @Test("reregister replaces token and interest: readable then writable stops readable events")
    func reregisterReplaces() throws {
        let poll = try Poll()
        let (a, b) = try makeSocketPair()
        defer { closeFD(a); closeFD(b) }
        try poll.registry.register(a, token: Token(1), interest: .readable)
        #expect(try waitEvents(poll, timeout: quietPeriod).isEmpty)
        try writeBytes(b)
        let first = try waitEvents(poll, timeout: .seconds(5))
        #expect(first.map(\.token) == [Token(1)])
        #expect(first.first?.isReadable == true)
        drain(a)

        try poll.registry.reregister(a, token: Token(2), interest: .writable)
        // Writable right away (MOD evaluates readiness), with the new token only.
        let second = try waitEvents(poll, timeout: .seconds(5))
        #expect(second.map(\.token) == [Token(2)])
        #expect(second.first?.isWritable == true)
        #expect(second.first?.isReadable == false)
        // New data no longer produces any event: readable interest was replaced.
        try writeBytes(b)
        let third = try waitEvents(poll, timeout: quietPeriod)
        #expect(!third.contains { $0.isReadable })
        #expect(!third.contains { $0.token == Token(1) })
    }

    @Test("reregister of a still-ready fd re-arms it (MOD re-arms), with the new token", epollOnly("edge registrations are reported level-triggered on poll(2) (docs/BACKENDS.md)"))
    func modRearms() throws {
        let poll = try Poll()
        let pipe = try makePipe()
        defer { closeFD(pipe.read); closeFD(pipe.write) }
        try writeBytes(pipe.write, 10)
        try poll.registry.register(pipe.read, token: Token(1), interest: .readable)
        #expect(try waitEvents(poll, timeout: .seconds(5)).map(\.token) == [Token(1)])
        // Edge: not drained, but no new edge.
        #expect(try waitEvents(poll, timeout: quietPeriod).isEmpty)
        try poll.registry.reregister(pipe.read, token: Token(1), interest: .readable)
        #expect(try waitEvents(poll, timeout: .seconds(5)).map(\.token) == [Token(1)])
        try poll.registry.reregister(pipe.read, token: Token(2), interest: .readable)
        let events = try waitEvents(poll, timeout: .seconds(5))
        #expect(events.map(\.token) == [Token(2)])
        #expect(events.first?.isReadable == true)
    }

    @Test("listener: readiness is filtered by the interest at wait time (mio registering.rs, the probe's sequence)", epollOnly("edge registrations are reported level-triggered on poll(2) (docs/BACKENDS.md)"))
    func listenerReregisterSequence() throws {
        let poll = try Poll()
        let (listener, port) = try makeBoundSocket(listen: true)
        defer { closeFD(listener) }
        let first = try startConnect(port: port)
        defer { closeFD(first.fd) }
        try waitConnected(first.fd)

        // Writable interest only, connection pending: nothing.
        try poll.registry.register(listener, token: Token(1), interest: .writable)
        #expect(try waitEvents(poll, timeout: quietPeriod).isEmpty)
        // Readable with a new token: reported with that token.
        try poll.registry.reregister(listener, token: Token(2), interest: .readable)
        let a = try waitEvents(poll, timeout: .seconds(5))
        #expect(a.map(\.token) == [Token(2)])
        #expect(a.first?.isReadable == true)
        // Once only (edge).
        #expect(try waitEvents(poll, timeout: quietPeriod).isEmpty)
        // The same interest again, not drained: reported again.
        try poll.registry.reregister(listener, token: Token(2), interest: .readable)
        #expect(try waitEvents(poll, timeout: .seconds(5)).map(\.token) == [Token(2)])
        // Another connection, still not drained: a new edge.
        let second = try startConnect(port: port)
        defer { closeFD(second.fd) }
        try waitConnected(second.fd)
        #expect(try waitEvents(poll, timeout: .seconds(5)).map(\.token) == [Token(2)])
        // Ready for reading, queued, then switched to writable before the wait:
        // the queued readiness is re-filtered and dropped.
        try poll.registry.reregister(listener, token: Token(3), interest: .readable)
        try poll.registry.reregister(listener, token: Token(4), interest: .writable)
        #expect(try waitEvents(poll, timeout: quietPeriod).isEmpty)
    }

    @Test("closing a registered fd removes it silently, also a queued event", epollOnly("poll(2) watches descriptor numbers: a closed registered fd is reported once as an error (POLLNVAL)"))
    func closeRemoves() throws {
        let poll = try Poll()
        let efd = try makeEventFD(initial: 1)
        try poll.registry.register(efd, token: Token(1), interest: .readable)
        closeFD(efd) // the event is queued (the fd was ready at registration)
        #expect(try waitEvents(poll, timeout: quietPeriod).isEmpty)
        // The poll still works for others.
        let other = try makeEventFD(initial: 1)
        defer { closeFD(other) }
        try poll.registry.register(other, token: Token(2), interest: .readable)
        #expect(try waitEvents(poll, timeout: .seconds(5)).map(\.token) == [Token(2)])
    }

    @Test("a dup'd fd keeps the registration: events keep coming with the old token", epollOnly("poll(2) watches descriptor numbers, epoll open files"))
    func dupKeepsRegistration() throws {
        let poll = try Poll()
        let efd = try makeEventFD()
        try poll.registry.register(efd, token: Token(77), interest: .readable)
        let copy = try check("dup", fcntl(efd, F_DUPFD_CLOEXEC, 0))
        defer { closeFD(copy) }
        closeFD(efd)
        try signalEventFD(copy)
        let events = try waitEvents(poll, timeout: .seconds(5))
        #expect(events.map(\.token) == [Token(77)])
        #expect(events.first?.isReadable == true)
        // The copy itself was never registered.
        #expect(throws: Errno.noSuchFileOrDirectory) { try poll.registry.deregister(copy) }
    }

    @Test("one fd registered in two polls: both report it, each with its own token")
    func twoPolls() throws {
        let first = try Poll()
        let second = try Poll()
        let efd = try makeEventFD()
        defer { closeFD(efd) }
        try first.registry.register(efd, token: Token(1), interest: .readable)
        try second.registry.register(efd, token: Token(2), interest: .readable)
        try signalEventFD(efd)
        #expect(try waitEvents(first, timeout: .seconds(5)).map(\.token) == [Token(1)])
        #expect(try waitEvents(second, timeout: .seconds(5)).map(\.token) == [Token(2)])
    }

    @Test("any token value round-trips, including 0 and UInt64.max", arguments: [UInt64(0), 1, 0x8000_0000_0000_0000, 0x0123_4567_89ab_cdef, UInt64.max])
    func tokenValues(raw: UInt64) throws {
        let poll = try Poll()
        let efd = try makeEventFD(initial: 1)
        defer { closeFD(efd) }
        try poll.registry.register(efd, token: Token(raw), interest: .readable)
        let events = try waitEvents(poll, timeout: .seconds(5))
        #expect(events.map(\.token.rawValue) == [raw])
    }

    @Test("each backend: a registration from another thread during a blocking wait is seen by that wait",
          arguments: linuxBackends)
    func registerFromAnotherThreadWakesWait(backend: Backend) throws {
        let poll = try Poll(backend: backend)
        let idle = try makeEventFD()
        defer { closeFD(idle) }
        try poll.registry.register(idle, token: Token(1), interest: .readable)
        let efd = try makeEventFD(initial: 1) // ready: registering it makes an event
        defer { closeFD(efd) }
        // The registration must happen while the other thread sleeps in the kernel.
        let wait = try BlockedWait(poll)
        #expect(wait.isBlocked)
        try poll.registry.register(efd, token: Token(5), interest: .readable)
        #expect(wait.events().map(\.token) == [Token(5)])
    }
}
