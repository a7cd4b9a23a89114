// mio's `event::Source` in PollCore: SourceFD, a user type that owns two descriptors,
// rollback when its second registration fails, and a registry as a source (nesting).

import Glibc
import Testing
@testable import PollCore

/// A user type owning two descriptors: the first gets the token, the second token + 1.
/// Registering is all or nothing.
final class TwoEventFDs: Source {
    let first: Int32
    let second: Int32

    init(first: Int32, second: Int32) {
        self.first = first
        self.second = second
    }

    func register(with registry: Registry, token: Token, interest: Interest) throws(Errno) {
        try registry.register(first, token: token, interest: interest)
        do {
            try registry.register(second, token: Token(token.rawValue &+ 1), interest: interest)
        } catch {
            try? registry.deregister(first)
            throw error
        }
    }

    func reregister(with registry: Registry, token: Token, interest: Interest) throws(Errno) {
        try registry.reregister(first, token: token, interest: interest)
        try registry.reregister(second, token: Token(token.rawValue &+ 1), interest: interest)
    }

    func deregister(from registry: Registry) throws(Errno) {
        try registry.deregister(first)
        try registry.deregister(second)
    }
}

/// A generic user of sources: no existential anywhere.
func registerAll<S: Source>(_ sources: [S], with registry: Registry, firstToken: UInt64) throws(Errno) {
    for (i, source) in sources.enumerated() {
        try registry.register(source, token: Token(firstToken + UInt64(i) * 10), interest: .readable)
    }
}

@Suite("Source")
struct SourceTests {
    @Test("SourceFD: register, reregister, deregister a raw fd through the Source spelling")
    func sourceFD() throws {
        let poll = try Poll()
        let fd = try makeEventFD(initial: 1)
        defer { closeFD(fd) }
        try poll.registry.register(SourceFD(fd), token: Token(5), interest: .readable)
        #expect(try waitEvents(poll, timeout: .seconds(5)).map(\.token) == [Token(5)])
        #expect(throws: Errno.fileExists) { try poll.registry.register(SourceFD(fd), token: Token(6), interest: .readable) }
        try poll.registry.reregister(SourceFD(fd), token: Token(7), interest: .readable)
        #expect(try waitEvents(poll, timeout: .seconds(5)).map(\.token) == [Token(7)])
        try poll.registry.deregister(SourceFD(fd))
        #expect(throws: Errno.noSuchFileOrDirectory) { try poll.registry.deregister(SourceFD(fd)) }
        #expect(try waitEvents(poll, timeout: quietPeriod).isEmpty)
    }

    @Test("a type owning two descriptors registers both in one call, gets events for both tokens; deregister removes both")
    func twoDescriptors() throws {
        let poll = try Poll()
        let a = try makeEventFD(initial: 1)
        defer { closeFD(a) }
        let b = try makeEventFD(initial: 1)
        defer { closeFD(b) }
        let pair = TwoEventFDs(first: a, second: b)
        try poll.registry.register(pair, token: Token(100), interest: [.readable, .level])
        let tokens = Set(try waitEvents(poll, timeout: .seconds(5)).map(\.token))
        #expect(tokens == [Token(100), Token(101)])
        try poll.registry.reregister(pair, token: Token(200), interest: [.readable, .level])
        #expect(Set(try waitEvents(poll, timeout: .seconds(5)).map(\.token)) == [Token(200), Token(201)])
        try poll.registry.deregister(pair)
        #expect(try waitEvents(poll, timeout: quietPeriod).isEmpty)
        // Both are gone: each registers anew.
        try poll.registry.register(a, token: Token(1), interest: .readable)
        try poll.registry.register(b, token: Token(2), interest: .readable)
    }

    @Test("a failure on the second descriptor leaves the first unregistered (nothing half-registered)")
    func rollback() throws {
        let poll = try Poll()
        let a = try makeEventFD(initial: 1)
        defer { closeFD(a) }
        let file = open("/proc/self/status", O_RDONLY | O_CLOEXEC)  // epoll and poll(2) refuse: EPERM
        try #require(file >= 0)
        defer { closeFD(file) }
        let pair = TwoEventFDs(first: a, second: file)
        #expect(throws: Errno.operationNotPermitted) {
            try poll.registry.register(pair, token: Token(1), interest: .readable)
        }
        #expect(try waitEvents(poll, timeout: quietPeriod).isEmpty)
        #expect(throws: Errno.noSuchFileOrDirectory) { try poll.registry.deregister(a) }
    }

    @Test("generic code over sources (no existential): several sources through one function")
    func generic() throws {
        let poll = try Poll()
        let fds = try (0..<3).map { _ in try makeEventFD(initial: 1) }
        defer { fds.forEach(closeFD) }
        try registerAll(fds.map(SourceFD.init), with: poll.registry, firstToken: 1)
        #expect(Set(try waitEvents(poll, timeout: .seconds(5)).map(\.token)) == [Token(1), Token(11), Token(21)])
    }

    @Test("a registry is a source: registering it nests its poll, which reports readable")
    func nestedRegistry() throws {
        let outer = try Poll(backend: .epoll)
        let inner = try Poll(backend: .epoll)
        let fd = try makeEventFD(initial: 1)
        defer { closeFD(fd) }
        try inner.registry.register(fd, token: Token(1), interest: .readable)
        try outer.registry.register(inner.registry, token: Token(50), interest: .readable)
        let events = try waitEvents(outer, timeout: .seconds(5))
        #expect(events.map(\.token) == [Token(50)])
        #expect(events.first?.isReadable == true)
        #expect(try waitEvents(inner, timeout: .zero).map(\.token) == [Token(1)])
        try outer.registry.deregister(inner)  // a poll is a source through its registry
        let clone = try inner.registry.tryClone()
        try outer.registry.register(clone, token: Token(51), interest: .readable)
        try outer.registry.deregister(clone)
        // poll(2) has no descriptor to nest.
        let flat = try Poll(backend: .poll)
        #expect(throws: Errno.notSupported) { try outer.registry.register(flat, token: Token(52), interest: .readable) }
    }
}
