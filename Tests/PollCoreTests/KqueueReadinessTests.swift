// The kqueue backend against a real kqueue: libkqueue on Linux (make test-kqueue
// KQUEUE_PREFIX=...), the kernel's on macOS and the BSDs. Compiled only with
// -DSWIFTPOLL_KQUEUE. Real pipes, socketpairs and threads; every wait bounded.

#if SWIFTPOLL_KQUEUE
import Glibc
import Testing
import CPollSys
@testable import PollCore

/// libkqueue (a kqueue over epoll) rather than the kernel's kqueue.
private let emulated = sp_kqueue_is_emulated() != 0

private let rawRead: UInt32 = 0x01
private let rawWrite: UInt32 = 0x02
private let rawUser: UInt32 = 0x04
private let rawReadEOF: UInt32 = 0x10

@Suite("kqueue readiness (real kevent)")
struct KqueueReadinessTests {
    func kqueuePoll() throws -> Poll {
        let poll = try Poll(backend: .kqueue)
        #expect(poll.backend == .kqueue)
        return poll
    }

    @Test("the kqueue descriptor is close-on-exec; a clone's is a close-on-exec duplicate")
    func descriptors() throws {
        let poll = try kqueuePoll()
        #expect(poll.fileDescriptor >= 0)
        #expect(fdFlags(poll.fileDescriptor) & FD_CLOEXEC != 0)
        let clone = try poll.registry.tryClone()
        #expect(clone.fileDescriptor != poll.fileDescriptor)
        #expect(clone.fileDescriptor >= 3)
        #expect(fdFlags(clone.fileDescriptor) & FD_CLOEXEC != 0)
        // A registration through the clone is the poll's.
        let p = try makePipe()
        defer { closeFD(p.read); closeFD(p.write) }
        try clone.register(p.read, token: Token(3), interest: .readable)
        #expect(throws: Errno.fileExists) { try poll.registry.register(p.read, token: Token(4), interest: .readable) }
        try writeBytes(p.write)
        #expect(try waitFor(Token(3), in: poll).map(\.token) == [Token(3)])
        try poll.registry.deregister(p.read)
    }

    @Test("edge (EV_CLEAR): one event per edge, raw READ bit; a new write is a new edge")
    func edge() throws {
        let poll = try kqueuePoll()
        let p = try makePipe()
        defer { closeFD(p.read); closeFD(p.write) }
        try poll.registry.register(p.read, token: Token(1), interest: .readable)
        #expect(try waitEvents(poll, timeout: quietPeriod).isEmpty)
        try writeBytes(p.write, 10)
        let first = try waitEvents(poll, timeout: .seconds(5))
        #expect(first.map(\.token) == [Token(1)])
        #expect(first.first?.flags == [.readable])
        #expect(first.first?.raw == rawRead)
        #expect(try waitEvents(poll, timeout: quietPeriod).isEmpty)
        try writeBytes(p.write, 1)
        #expect(try waitEvents(poll, timeout: .seconds(5)).map(\.token) == [Token(1)])
    }

    @Test("level: reported by every wait until drained")
    func level() throws {
        let poll = try kqueuePoll()
        let p = try makePipe()
        defer { closeFD(p.read); closeFD(p.write) }
        try poll.registry.register(p.read, token: Token(2), interest: [.readable, .level])
        try writeBytes(p.write, 3)
        for _ in 0..<3 { #expect(try waitEvents(poll, timeout: .seconds(5)).map(\.token) == [Token(2)]) }
        drain(p.read)
        #expect(try waitEvents(poll, timeout: quietPeriod).isEmpty)
    }

    @Test("READ and WRITE of one socket come as one event with both flags")
    func merged() throws {
        let poll = try kqueuePoll()
        let (a, b) = try makeSocketPair()
        defer { closeFD(a); closeFD(b) }
        try writeBytes(b, 5)
        try poll.registry.register(a, token: Token(7), interest: [.readable, .writable, .level])
        let events = try waitEvents(poll, timeout: .seconds(5))
        #expect(events.count == 1)
        #expect(events.first?.token == Token(7))
        #expect(events.first?.flags == [.readable, .writable])
        #expect(events.first?.raw == rawRead | rawWrite)
    }

    @Test("capacity 1 with READ and WRITE ready: one event per wait, never more")
    func capacityOne() throws {
        let poll = try kqueuePoll()
        let (a, b) = try makeSocketPair()
        defer { closeFD(a); closeFD(b) }
        try writeBytes(b, 5)
        try poll.registry.register(a, token: Token(7), interest: [.readable, .writable, .level])
        for _ in 0..<4 {
            let events = try waitEvents(poll, capacity: 1, timeout: .seconds(5))
            #expect(events.count == 1)
            #expect(events.first?.token == Token(7))
        }
    }

    @Test("oneshot is per fd: after the WRITE filter fired, READ is disabled too, until reregister")
    func oneshotWholeFD() throws {
        let poll = try kqueuePoll()
        let (a, b) = try makeSocketPair()
        defer { closeFD(a); closeFD(b) }
        try poll.registry.register(a, token: Token(9), interest: [.readable, .writable, .oneshot])
        let first = try waitEvents(poll, timeout: .seconds(5))
        #expect(first.map(\.token) == [Token(9)])
        #expect(first.first?.flags == [.writable])
        // Data arrives: the READ filter was disabled with the WRITE one.
        try writeBytes(b, 1)
        #expect(try waitEvents(poll, timeout: quietPeriod).isEmpty)
        try poll.registry.reregister(a, token: Token(10), interest: [.readable, .writable, .oneshot])
        let again = try waitEvents(poll, timeout: .seconds(5))
        #expect(again.map(\.token) == [Token(10)])
        #expect(again.first?.flags == [.readable, .writable])
        #expect(try waitEvents(poll, timeout: quietPeriod).isEmpty)
    }

    @Test("mode change by reregister takes effect (EV_CLEAR is fixed at EV_ADD: delete and add)")
    func modeChange() throws {
        let poll = try kqueuePoll()
        let p = try makePipe()
        defer { closeFD(p.read); closeFD(p.write) }
        try poll.registry.register(p.read, token: Token(1), interest: .readable)
        try writeBytes(p.write, 3)
        #expect(try waitEvents(poll, timeout: .seconds(5)).map(\.token) == [Token(1)])
        #expect(try waitEvents(poll, timeout: quietPeriod).isEmpty)
        try poll.registry.reregister(p.read, token: Token(2), interest: [.readable, .level])
        for _ in 0..<3 { #expect(try waitEvents(poll, timeout: .seconds(5)).map(\.token) == [Token(2)]) }
        try poll.registry.reregister(p.read, token: Token(3), interest: .readable)
        #expect(try waitEvents(poll, timeout: .seconds(5)).map(\.token) == [Token(3)])
        #expect(try waitEvents(poll, timeout: quietPeriod).isEmpty)
    }

    @Test("peer close: READ with EV_EOF is read_closed (raw READ|READ_EOF)")
    func peerClosed() throws {
        let poll = try kqueuePoll()
        let (a, b) = try makeSocketPair()
        defer { closeFD(a) }
        try poll.registry.register(a, token: Token(4), interest: .readable)
        closeFD(b)
        let events = try waitEvents(poll, timeout: .seconds(5))
        #expect(events.map(\.token) == [Token(4)])
        #expect(events.first?.isReadable == true)
        #expect(events.first?.isReadClosed == true)
        #expect(events.first.map { $0.raw & (rawRead | rawReadEOF) } == rawRead | rawReadEOF)
    }

    @Test("epoll's errors: EEXIST, ENOENT, EPERM for a regular file, EBADF, ENOTSUP for priority")
    func errors() throws {
        let poll = try kqueuePoll()
        let p = try makePipe()
        defer { closeFD(p.read); closeFD(p.write) }
        try poll.registry.register(p.read, token: Token(1), interest: .readable)
        #expect(throws: Errno.fileExists) { try poll.registry.register(p.read, token: Token(1), interest: .readable) }
        #expect(throws: Errno.noSuchFileOrDirectory) { try poll.registry.deregister(p.write) }
        #expect(throws: Errno.noSuchFileOrDirectory) { try poll.registry.reregister(p.write, token: Token(1), interest: .writable) }
        #expect(throws: Errno.notSupported) { try poll.registry.register(p.write, token: Token(1), interest: .priority) }
        #expect(throws: Errno.badFileDescriptor) { try poll.registry.register(-1, token: Token(1), interest: .readable) }
        #expect(throws: Errno.invalidArgument) {
            try poll.registry.register(poll.fileDescriptor, token: Token(1), interest: .readable)
        }
        var path = Array("/tmp/swiftpoll-kq-XXXXXX".utf8CString)
        let file = mkstemp(&path)
        #expect(file >= 0)
        defer { closeFD(file); unlink(path) }
        #expect(throws: Errno.operationNotPermitted) { try poll.registry.register(file, token: Token(1), interest: .readable) }
        try poll.registry.deregister(p.read)
        #expect(throws: Errno.noSuchFileOrDirectory) { try poll.registry.deregister(p.read) }
    }

    @Test("waker (EVFILT_USER): a wake from another thread ends a blocking wait; wakes coalesce; raw USER bit")
    func waker() throws {
        let poll = try kqueuePoll()
        let waker = try Waker(registry: poll.registry, token: Token(42))
        try waker.wake()
        try waker.wake()
        let coalesced = try waitEvents(poll, timeout: .seconds(5))
        #expect(coalesced.map(\.token) == [Token(42)])
        #expect(coalesced.first?.flags == [.readable])
        #expect(coalesced.first?.raw == rawUser)
        #expect(try waitEvents(poll, timeout: quietPeriod).isEmpty)

        let thread = try TestThread {
            sleepMilliseconds(50)
            try? waker.wake()
        }
        let woken = try waitEvents(poll, timeout: .seconds(10))
        thread.join()
        #expect(woken.map(\.token) == [Token(42)])
        #expect(try waitEvents(poll, timeout: quietPeriod).isEmpty)
    }

    @Test("a registration from another thread during a blocking wait is seen by that wait")
    func registerDuringWait() throws {
        let poll = try kqueuePoll()
        let p = try makePipe()
        defer { closeFD(p.read); closeFD(p.write) }
        try writeBytes(p.write)
        let registry = try poll.registry.tryClone()
        let thread = try TestThread {
            sleepMilliseconds(50)
            try? registry.register(p.read, token: Token(5), interest: .readable)
        }
        let events = try waitFor(Token(5), in: poll, timeout: .seconds(5), attempts: 2)
        thread.join()
        #expect(events.map(\.token) == [Token(5)])
    }
    // MARK: close and error flags (kqueue's own formulas; the epoll ones with their raw
    // EPOLL bits are ReadinessFlagsTests, skipped on kqueue)

    @Test("TCP: the peer's shutdown(SHUT_WR) -> readable + read_closed, no error, not write_closed")
    func peerShutdownWrite() throws {
        let poll = try kqueuePoll()
        let pair = try TCPPair()
        try poll.registry.register(pair.client, token: Token(1), interest: .readable)
        #expect(shutdown(pair.server, Int32(SHUT_WR)) == 0)
        let event = try waitFor(Token(1), in: poll).last
        #expect(event?.flags == [.readable, .readClosed])
        #expect(event.map { $0.raw & (rawRead | rawReadEOF) } == rawRead | rawReadEOF)
    }

    @Test("TCP: a reset -> error (fflags = the socket error) + read_closed + write_closed")
    func tcpReset() throws {
        let poll = try kqueuePoll()
        let pair = try TCPPair()
        try poll.registry.register(pair.client, token: Token(2), interest: [.readable, .writable])
        #expect(try waitFor(Token(2), in: poll).last?.flags == [.writable])
        try setLingerZero(pair.server)
        pair.closeServer()
        // READ and WRITE may come in one wait (merged) or two: collect both.
        var flags: Event.Flags = []
        for _ in 0..<3 where !flags.isSuperset(of: [.readClosed, .writeClosed]) {
            for e in try waitEvents(poll, timeout: .seconds(5)) where e.token == Token(2) { flags.formUnion(e.flags) }
        }
        #expect(flags.isSuperset(of: [.readable, .writable, .error, .readClosed, .writeClosed]))
        #expect(!flags.contains(.priority))
    }

    @Test("TCP: connect refused -> writable + error + write_closed (WRITE with EV_EOF and fflags)")
    func connectRefused() throws {
        let poll = try kqueuePoll()
        let (bound, port) = try makeBoundSocket(listen: false)
        defer { closeFD(bound) }
        let (fd, connectErrno) = try startConnect(port: port)
        defer { closeFD(fd) }
        #expect(connectErrno == EINPROGRESS)
        try poll.registry.register(fd, token: Token(3), interest: .writable)
        let event = try waitFor(Token(3), in: poll).last
        #expect(event?.flags == [.writable, .error, .writeClosed])
    }

    @Test("pipe: reader closed -> writable + write_closed; writer closed -> readable + read_closed (no write_closed: READ's EV_EOF)")
    func pipeClosed() throws {
        let poll = try kqueuePoll()
        let a = try makePipe()
        defer { closeFD(a.write) }
        try poll.registry.register(a.write, token: Token(4), interest: .writable)
        #expect(try waitFor(Token(4), in: poll).last?.flags == [.writable])
        closeFD(a.read)
        let w = try waitFor(Token(4), in: poll).last
        #expect(w?.isWritable == true)
        #expect(w?.isWriteClosed == true)
        // The kernel's kqueue sets no fflags on a pipe's EOF; libkqueue reports EPOLLERR
        // as fflags = EIO, which mio's formula makes an error.
        if !emulated { #expect(w?.isError == false) }

        let b = try makePipe()
        defer { closeFD(b.read) }
        try writeBytes(b.write, 3)
        try poll.registry.register(b.read, token: Token(5), interest: .readable)
        closeFD(b.write)
        let r = try waitFor(Token(5), in: poll).last
        #expect(r?.flags == [.readable, .readClosed])
    }

    @Test("own shutdown(SHUT_WR): write_closed on a kernel kqueue (BSD's EVFILT_WRITE|EV_EOF); libkqueue cannot see it")
    func ownShutdownWrite() throws {
        let poll = try kqueuePoll()
        let pair = try TCPPair()
        try poll.registry.register(pair.client, token: Token(6), interest: [.writable, .level])
        #expect(try waitFor(Token(6), in: poll).last?.flags == [.writable])
        #expect(shutdown(pair.client, Int32(SHUT_WR)) == 0)
        let event = try waitFor(Token(6), in: poll).last
        #expect(event?.isWritable == true)
        // Linux raises EPOLLHUP only when both halves are down, and libkqueue maps only
        // EPOLLHUP/EPOLLERR to EVFILT_WRITE's EV_EOF.
        #expect(event?.isWriteClosed == !emulated)
    }
}
#endif
