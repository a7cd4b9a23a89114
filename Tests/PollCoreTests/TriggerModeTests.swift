// Edge (mio's only mode), level and oneshot, on pipes, socketpairs, eventfds and
// timerfds.

import Glibc
import Testing
@testable import PollCore

@Suite("Trigger modes")
struct TriggerModeTests {
    @Test("edge: one event per edge; nothing more until new data; new data is a new edge", epollOnly("edge registrations are reported level-triggered on poll(2) (docs/BACKENDS.md)"))
    func edge() throws {
        let poll = try Poll()
        let pipe = try makePipe()
        defer { closeFD(pipe.read); closeFD(pipe.write) }
        try poll.registry.register(pipe.read, token: Token(1), interest: .readable)
        #expect(try waitEvents(poll, timeout: quietPeriod).isEmpty)

        try writeBytes(pipe.write, 100)
        let first = try waitEvents(poll, timeout: .seconds(5))
        #expect(first.map(\.token) == [Token(1)])
        #expect(first.first?.isReadable == true)
        // Not drained, but the edge was reported: no second event.
        #expect(try waitEvents(poll, timeout: quietPeriod).isEmpty)
        #expect(try waitEvents(poll, timeout: .zero).isEmpty)

        // More data: a new edge, even though the pipe was never drained.
        try writeBytes(pipe.write, 1)
        #expect(try waitEvents(poll, timeout: .seconds(5)).map(\.token) == [Token(1)])

        // Drained to EAGAIN, then new data: reported again.
        #expect(drain(pipe.read) == 101)
        #expect(try waitEvents(poll, timeout: quietPeriod).isEmpty)
        try writeBytes(pipe.write, 1)
        #expect(try waitEvents(poll, timeout: .seconds(5)).map(\.token) == [Token(1)])
        // The raw bits: edge registration, no mode bits leak into the event.
        try writeBytes(pipe.write, 1)
        let raw = try waitEvents(poll, timeout: .seconds(5)).first?.raw ?? 0
        #expect(raw & Bits.IN != 0)
        #expect(raw & (Bits.ET | Bits.ONESHOT) == 0)
    }

    @Test("edge: writable once; again only after the buffer filled up and drained", epollOnly("edge registrations are reported level-triggered on poll(2) (docs/BACKENDS.md)"))
    func edgeWritable() throws {
        let poll = try Poll()
        let (a, b) = try makeSocketPair()
        defer { closeFD(a); closeFD(b) }
        try poll.registry.register(a, token: Token(1), interest: .writable)
        #expect(try waitEvents(poll, timeout: .seconds(5)).map(\.token) == [Token(1)])
        #expect(try waitEvents(poll, timeout: quietPeriod).isEmpty)
        // Fill the socket until EAGAIN (bounded), then drain the peer: writable again.
        var filled = false
        for _ in 0..<100_000 {
            let chunk = [UInt8](repeating: 1, count: 4096)
            let n = chunk.withUnsafeBytes { write(a, $0.baseAddress, $0.count) }
            if n < 0 { filled = errno == EAGAIN; break }
        }
        #expect(filled)
        #expect(try waitEvents(poll, timeout: quietPeriod).isEmpty)
        drain(b)
        let again = try waitEvents(poll, timeout: .seconds(5))
        #expect(again.map(\.token) == [Token(1)])
        #expect(again.first?.isWritable == true)
    }

    @Test("level: reported by every wait until drained, then not")
    func level() throws {
        let poll = try Poll()
        let pipe = try makePipe()
        defer { closeFD(pipe.read); closeFD(pipe.write) }
        try poll.registry.register(pipe.read, token: Token(9), interest: [.readable, .level])
        #expect(try waitEvents(poll, timeout: quietPeriod).isEmpty)
        try writeBytes(pipe.write, 10)
        for _ in 0..<5 {
            let events = try waitEvents(poll, timeout: .seconds(5))
            #expect(events.map(\.token) == [Token(9)])
            #expect(events.first?.isReadable == true)
        }
        // Partly drained: still reported.
        var byte: UInt8 = 0
        #expect(read(pipe.read, &byte, 1) == 1)
        #expect(try waitEvents(poll, timeout: .zero).map(\.token) == [Token(9)])
        #expect(drain(pipe.read) == 9)
        #expect(try waitEvents(poll, timeout: quietPeriod).isEmpty)
        #expect(try waitEvents(poll, timeout: .zero).isEmpty)
        let raw = try { () throws -> UInt32 in
            try writeBytes(pipe.write, 1)
            return try waitEvents(poll, timeout: .seconds(5)).first?.raw ?? 0
        }()
        #expect(raw & Bits.IN != 0)
        #expect(raw & (Bits.ET | Bits.ONESHOT) == 0)
    }

    @Test("level on an eventfd: reported until read, and reregister to edge stops the repeats", epollOnly("edge registrations are reported level-triggered on poll(2) (docs/BACKENDS.md)"))
    func levelToEdge() throws {
        let poll = try Poll()
        let efd = try makeEventFD(initial: 1)
        defer { closeFD(efd) }
        try poll.registry.register(efd, token: Token(1), interest: [.readable, .level])
        #expect(try waitEvents(poll, timeout: .seconds(5)).map(\.token) == [Token(1)])
        #expect(try waitEvents(poll, timeout: .zero).map(\.token) == [Token(1)])
        try poll.registry.reregister(efd, token: Token(2), interest: .readable)
        // MOD re-arms once with the new token, then edge: nothing more.
        #expect(try waitEvents(poll, timeout: .seconds(5)).map(\.token) == [Token(2)])
        #expect(try waitEvents(poll, timeout: quietPeriod).isEmpty)
    }

    @Test("oneshot: reported once, silent after new data, re-armed by reregister")
    func oneshot() throws {
        let poll = try Poll()
        let pipe = try makePipe()
        defer { closeFD(pipe.read); closeFD(pipe.write) }
        try poll.registry.register(pipe.read, token: Token(3), interest: [.readable, .oneshot])
        try writeBytes(pipe.write)
        let first = try waitEvents(poll, timeout: .seconds(5))
        #expect(first.map(\.token) == [Token(3)])
        #expect(first.first?.isReadable == true)
        // Disarmed: more data, even drained and refilled, gives nothing.
        try writeBytes(pipe.write)
        #expect(try waitEvents(poll, timeout: quietPeriod).isEmpty)
        drain(pipe.read)
        try writeBytes(pipe.write)
        #expect(try waitEvents(poll, timeout: quietPeriod).isEmpty)
        // Still registered (disarmed, not removed): register says EEXIST.
        #expect(throws: Errno.fileExists) {
            try poll.registry.register(pipe.read, token: Token(3), interest: .readable)
        }
        // reregister re-arms; the pipe is still ready, so it is reported at once.
        try poll.registry.reregister(pipe.read, token: Token(4), interest: [.readable, .oneshot])
        #expect(try waitEvents(poll, timeout: .seconds(5)).map(\.token) == [Token(4)])
        #expect(try waitEvents(poll, timeout: quietPeriod).isEmpty)
        // deregister of a disarmed registration works.
        try poll.registry.deregister(pipe.read)
    }

    @Test("a timerfd expiring during a blocking wait ends it with its token")
    func timerfdDuringWait() throws {
        let poll = try Poll()
        let start = monotonicNanoseconds()
        let timer = try makeTimerFD(expiringAfter: 20_000_000)
        defer { closeFD(timer) }
        try poll.registry.register(timer, token: Token(12), interest: .readable)
        let events = try waitEvents(poll, timeout: .seconds(10))
        let elapsed = monotonicNanoseconds() - start
        #expect(events.map(\.token) == [Token(12)])
        #expect(events.first?.isReadable == true)
        // The event came from the timer, not from the wait's own timeout: the wait
        // cannot have returned before the timer fired (a lower bound only).
        #expect(elapsed >= 20_000_000)
        var expirations: UInt64 = 0
        #expect(read(timer, &expirations, 8) == 8)
        #expect(expirations == 1)
    }
}
