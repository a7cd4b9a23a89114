// Event flags: mio's Event::is_* formulas (mio-behaviour.md §3.6) for every scenario of
// the kernel probe (§1.4) that can be produced here, on pipes and TCP on loopback,
// with `raw` carrying the EPOLL bits the kernel returned.

import Glibc
import Testing
@testable import PollCore

/// Every event a test sees must satisfy: flags == mio's formula applied to raw.
private func expectConsistent(_ events: [Event], sourceLocation: SourceLocation = #_sourceLocation) {
    for event in events {
        #expect(event.flags == referenceFlags(event.raw), "flags \(event.flags.rawValue) for raw \(event.raw)", sourceLocation: sourceLocation)
        #expect(event.raw & (Bits.ET | Bits.ONESHOT) == 0, sourceLocation: sourceLocation)
        #expect(event.isReadable == event.flags.contains(.readable), sourceLocation: sourceLocation)
        #expect(event.isWritable == event.flags.contains(.writable), sourceLocation: sourceLocation)
        #expect(event.isError == event.flags.contains(.error), sourceLocation: sourceLocation)
        #expect(event.isReadClosed == event.flags.contains(.readClosed), sourceLocation: sourceLocation)
        #expect(event.isWriteClosed == event.flags.contains(.writeClosed), sourceLocation: sourceLocation)
        #expect(event.isPriority == event.flags.contains(.priority), sourceLocation: sourceLocation)
    }
}

/// Waits (bounded) for the next event with `token` and returns it.
private func nextEvent(_ token: Token, _ poll: Poll) throws -> Event? {
    let events = try waitFor(token, in: poll)
    expectConsistent(events)
    return events.last { $0.token == token }
}

@Suite("Readiness flags")
struct ReadinessFlagsTests {
    @Test("the flag formulas for all 64 combinations of IN PRI OUT ERR HUP RDHUP")
    func formulaTable() {
        let bits: [UInt32] = [Bits.IN, Bits.PRI, Bits.OUT, Bits.ERR, Bits.HUP, Bits.RDHUP]
        for combination in 0..<64 {
            var e: UInt32 = 0
            for (i, bit) in bits.enumerated() where combination & (1 << i) != 0 { e |= bit }
            #expect(EpollBits.flags(e) == referenceFlags(e).rawValue, "raw \(e)")
        }
    }

    @Test("the table of mio-behaviour.md §3.6, row by row")
    func documentedRows() {
        typealias F = Event.Flags
        let rows: [(UInt32, F)] = [
            (Bits.IN, [.readable]),
            (Bits.OUT, [.writable]),
            (Bits.IN | Bits.HUP, [.readable, .readClosed, .writeClosed]),
            (Bits.OUT | Bits.ERR, [.writable, .error, .writeClosed]),
            (Bits.IN | Bits.OUT | Bits.RDHUP, [.readable, .writable, .readClosed]),
            (Bits.IN | Bits.OUT | Bits.RDHUP | Bits.HUP, [.readable, .writable, .readClosed, .writeClosed]),
            (Bits.IN | Bits.OUT | Bits.RDHUP | Bits.HUP | Bits.ERR, [.readable, .writable, .error, .readClosed, .writeClosed]),
            (Bits.OUT | Bits.HUP | Bits.ERR, [.writable, .error, .readClosed, .writeClosed]),
            (Bits.PRI, [.readable, .priority]),
            (Bits.ERR, [.error, .writeClosed]),
            (Bits.HUP, [.readClosed, .writeClosed]),
            (Bits.RDHUP, []), // RDHUP without IN is not read-closed on epoll
            (Bits.ERR | Bits.RDHUP, [.error]), // ERR not alone: not write-closed
        ]
        for (raw, flags) in rows {
            #expect(EpollBits.flags(raw) == flags.rawValue, "raw \(raw)")
        }
    }

    @Test("pipe: writer closed with data unread -> readable + read_closed + write_closed (IN HUP)")
    func pipeWriterClosed() throws {
        let poll = try Poll()
        let pipe = try makePipe()
        defer { closeFD(pipe.read) }
        try poll.registry.register(pipe.read, token: Token(1), interest: .readable)
        try writeBytes(pipe.write, 3)
        closeFD(pipe.write)
        // Both edges may be merged into one event or come as two: look at the last.
        let event = try nextEvent(Token(1), poll)
        #expect(event?.flags == [.readable, .readClosed, .writeClosed])
        #expect((event?.raw ?? 0) & (Bits.IN | Bits.HUP) == Bits.IN | Bits.HUP)
        #expect((event?.raw ?? 0) & Bits.ERR == 0)
    }

    @Test("pipe: reader closed -> writable + error + write_closed (OUT ERR)")
    func pipeReaderClosed() throws {
        let poll = try Poll()
        let pipe = try makePipe()
        defer { closeFD(pipe.write) }
        try poll.registry.register(pipe.write, token: Token(2), interest: .writable)
        let first = try nextEvent(Token(2), poll)
        #expect(first?.flags == [.writable])
        #expect(first?.raw == Bits.OUT)
        closeFD(pipe.read)
        let event = try nextEvent(Token(2), poll)
        #expect(event?.flags == [.writable, .error, .writeClosed])
        #expect(event?.raw == Bits.OUT | Bits.ERR)
    }

    @Test("TCP: just connected, readable|writable interest -> writable only (OUT)")
    func tcpConnected() throws {
        let poll = try Poll()
        let pair = try TCPPair()
        try poll.registry.register(pair.client, token: Token(3), interest: [.readable, .writable])
        let event = try nextEvent(Token(3), poll)
        #expect(event?.flags == [.writable])
        #expect(event?.raw == Bits.OUT)
        // Data from the peer: readable.
        try writeBytes(pair.server, 5)
        let data = try nextEvent(Token(3), poll)
        #expect(data?.isReadable == true)
        #expect(data?.isReadClosed == false)
        #expect(data?.isError == false)
    }

    @Test("TCP: the peer's shutdown(SHUT_WR) -> readable + read_closed, not write_closed (IN OUT RDHUP)")
    func tcpPeerShutdownWrite() throws {
        let poll = try Poll()
        let pair = try TCPPair()
        try poll.registry.register(pair.client, token: Token(4), interest: [.readable, .writable])
        #expect(try nextEvent(Token(4), poll)?.flags == [.writable])
        try check("shutdown", shutdown(pair.server, Int32(SHUT_WR)))
        let event = try nextEvent(Token(4), poll)
        #expect(event?.flags == [.readable, .writable, .readClosed])
        #expect(event?.raw == Bits.IN | Bits.OUT | Bits.RDHUP)
    }

    @Test("TCP: the peer's shutdown(SHUT_WR) with readable interest only -> readable + read_closed")
    func tcpPeerShutdownReadableOnly() throws {
        let poll = try Poll()
        let pair = try TCPPair()
        try poll.registry.register(pair.client, token: Token(5), interest: .readable)
        #expect(try waitEvents(poll, timeout: quietPeriod).isEmpty)
        try check("shutdown", shutdown(pair.server, Int32(SHUT_WR)))
        let event = try nextEvent(Token(5), poll)
        #expect(event?.flags == [.readable, .readClosed])
        #expect(event?.raw == Bits.IN | Bits.RDHUP)
    }

    @Test("TCP: local shutdown(SHUT_RD) -> readable + writable + read_closed (IN OUT RDHUP)")
    func tcpLocalShutdownRead() throws {
        let poll = try Poll()
        let pair = try TCPPair()
        try poll.registry.register(pair.client, token: Token(6), interest: [.readable, .writable])
        #expect(try nextEvent(Token(6), poll)?.flags == [.writable])
        try check("shutdown", shutdown(pair.client, Int32(SHUT_RD)))
        let event = try nextEvent(Token(6), poll)
        #expect(event?.flags == [.readable, .writable, .readClosed])
        #expect(event?.raw == Bits.IN | Bits.OUT | Bits.RDHUP)
    }

    @Test("TCP: local shutdown(SHUT_WR) -> no close indication (at most OUT)")
    func tcpLocalShutdownWrite() throws {
        let poll = try Poll()
        let pair = try TCPPair()
        try poll.registry.register(pair.client, token: Token(7), interest: [.readable, .writable])
        #expect(try nextEvent(Token(7), poll)?.flags == [.writable])
        try check("shutdown", shutdown(pair.client, Int32(SHUT_WR)))
        let events = try waitEvents(poll, timeout: .milliseconds(200))
        expectConsistent(events)
        for event in events {
            #expect(event.flags == [.writable])
            #expect(event.raw == Bits.OUT)
        }
    }

    @Test("TCP: local shutdown(SHUT_RDWR) -> readable + writable + read_closed + write_closed (IN OUT RDHUP HUP)")
    func tcpLocalShutdownBoth() throws {
        let poll = try Poll()
        let pair = try TCPPair()
        try poll.registry.register(pair.client, token: Token(8), interest: [.readable, .writable])
        #expect(try nextEvent(Token(8), poll)?.flags == [.writable])
        try check("shutdown", shutdown(pair.client, Int32(SHUT_RDWR)))
        let event = try nextEvent(Token(8), poll)
        #expect(event?.flags == [.readable, .writable, .readClosed, .writeClosed])
        #expect(event?.raw == Bits.IN | Bits.OUT | Bits.RDHUP | Bits.HUP)
    }

    @Test("TCP: a reset (peer closes with SO_LINGER 0) -> error + read_closed + write_closed (IN OUT RDHUP HUP ERR)")
    func tcpReset() throws {
        let poll = try Poll()
        let pair = try TCPPair()
        try poll.registry.register(pair.client, token: Token(9), interest: [.readable, .writable])
        #expect(try nextEvent(Token(9), poll)?.flags == [.writable])
        try setLingerZero(pair.server)
        pair.closeServer() // with SO_LINGER 0, close sends RST
        let event = try nextEvent(Token(9), poll)
        #expect(event?.flags == [.readable, .writable, .error, .readClosed, .writeClosed])
        #expect(event?.raw == Bits.IN | Bits.OUT | Bits.RDHUP | Bits.HUP | Bits.ERR)
        // The error is the reset.
        var error: Int32 = 0
        var length = socklen_t(4)
        try check("getsockopt", getsockopt(pair.client, SOL_SOCKET, SO_ERROR, &error, &length))
        #expect(error == ECONNRESET)
    }

    @Test("TCP: the peer closes with unread data (RST) -> error + read_closed + write_closed")
    func tcpCloseWithUnreadData() throws {
        let poll = try Poll()
        let pair = try TCPPair()
        try poll.registry.register(pair.client, token: Token(10), interest: [.readable, .writable])
        #expect(try nextEvent(Token(10), poll)?.flags == [.writable])
        try writeBytes(pair.client, 10)
        // Let the bytes reach the server's receive queue (bounded) before it closes.
        var pfd = pollfd(fd: pair.server, events: Int16(POLLIN), revents: 0)
        _ = try check("poll", Glibc.poll(&pfd, 1, 5000))
        pair.closeServer()
        let event = try nextEvent(Token(10), poll)
        #expect(event?.isError == true)
        #expect(event?.isReadClosed == true)
        #expect(event?.isWriteClosed == true)
        #expect(event?.raw == Bits.IN | Bits.OUT | Bits.RDHUP | Bits.HUP | Bits.ERR)
    }

    @Test("TCP: connect refused -> writable + error + read_closed + write_closed (OUT HUP ERR)")
    func tcpConnectRefused() throws {
        let poll = try Poll()
        // Bound but not listening: a SYN to it is answered with RST, no race with others.
        let (bound, port) = try makeBoundSocket(listen: false)
        defer { closeFD(bound) }
        let (fd, connectErrno) = try startConnect(port: port)
        defer { closeFD(fd) }
        #expect(connectErrno == EINPROGRESS)
        try poll.registry.register(fd, token: Token(11), interest: .writable)
        let event = try nextEvent(Token(11), poll)
        #expect(event?.flags == [.writable, .error, .readClosed, .writeClosed])
        #expect(event?.raw == Bits.OUT | Bits.HUP | Bits.ERR)
        var error: Int32 = 0
        var length = socklen_t(4)
        try check("getsockopt", getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length))
        #expect(error == ECONNREFUSED)
    }

    @Test("TCP: urgent data (MSG_OOB) with .priority -> priority + readable (PRI)")
    func tcpUrgentWithPriority() throws {
        let poll = try Poll()
        let pair = try TCPPair()
        try poll.registry.register(pair.client, token: Token(12), interest: [.readable, .priority])
        #expect(try waitEvents(poll, timeout: quietPeriod).isEmpty)
        var byte: UInt8 = 0x21
        try check("send(MSG_OOB)", send(pair.server, &byte, 1, Int32(MSG_OOB)))
        let event = try nextEvent(Token(12), poll)
        #expect(event?.isPriority == true)
        #expect(event?.isReadable == true)
        #expect(event?.flags == [.readable, .priority])
        #expect(event?.raw == Bits.PRI) // the urgent byte alone is not in-band data
    }

    @Test("TCP: urgent data (MSG_OOB) without .priority -> no event; normal data still reported")
    func tcpUrgentWithoutPriority() throws {
        let poll = try Poll()
        let pair = try TCPPair()
        try poll.registry.register(pair.client, token: Token(13), interest: .readable)
        #expect(try waitEvents(poll, timeout: quietPeriod).isEmpty)
        var byte: UInt8 = 0x21
        try check("send(MSG_OOB)", send(pair.server, &byte, 1, Int32(MSG_OOB)))
        #expect(try waitEvents(poll, timeout: .milliseconds(100)).isEmpty)
        // The registration works: ordinary data is reported.
        try writeBytes(pair.server, 1)
        let event = try nextEvent(Token(13), poll)
        #expect(event?.isReadable == true)
        #expect(event?.isPriority == false)
    }

    @Test("socketpair: the peer closes -> readable + read_closed, no error")
    func socketpairPeerClosed() throws {
        let poll = try Poll()
        let (a, b) = try makeSocketPair()
        defer { closeFD(a) }
        try poll.registry.register(a, token: Token(14), interest: .readable)
        closeFD(b)
        let event = try nextEvent(Token(14), poll)
        #expect(event?.isReadable == true)
        #expect(event?.isReadClosed == true)
        #expect(event?.isError == false)
        #expect((event?.raw ?? 0) & (Bits.IN | Bits.RDHUP) == Bits.IN | Bits.RDHUP)
    }

    @Test("TCP: the peer closes (FIN, nothing unread) -> readable + read_closed, no error")
    func tcpPeerClosed() throws {
        let poll = try Poll()
        let pair = try TCPPair()
        try poll.registry.register(pair.client, token: Token(15), interest: [.readable, .writable])
        #expect(try nextEvent(Token(15), poll)?.flags == [.writable])
        pair.closeServer()
        let event = try nextEvent(Token(15), poll)
        #expect(event?.flags == [.readable, .writable, .readClosed])
        #expect(event?.raw == Bits.IN | Bits.OUT | Bits.RDHUP)
    }

    @Test("TCP: .priority alone sees urgent data; ordinary data gives no event")
    func tcpPriorityOnly() throws {
        let poll = try Poll()
        let pair = try TCPPair()
        try poll.registry.register(pair.client, token: Token(16), interest: .priority)
        try writeBytes(pair.server, 3)
        #expect(try waitEvents(poll, timeout: quietPeriod).isEmpty)
        var byte: UInt8 = 0x21
        try check("send(MSG_OOB)", send(pair.server, &byte, 1, Int32(MSG_OOB)))
        let event = try nextEvent(Token(16), poll)
        #expect(event?.flags == [.readable, .priority])
        #expect(event?.raw == Bits.PRI)
    }
}
