// Backend selection, and the behaviours the poll(2) backend must get right where a
// naive one goes wrong (mio#1874, mio PR #2012, POLLNVAL, capacity and fairness,
// registrations during a wait, the remaining time). These tests choose their backend
// explicitly, so they run whatever SWIFTPOLL_BACKEND says; tests over "each backend"
// take the backends as arguments.

import Glibc
import Testing
@testable import PollCore

/// The backends this build and system can run (kqueue only where compiled in).
let linuxBackends: [Backend] = [.epoll, .poll].filter { (try? Poll(backend: $0)) != nil }

@Suite("Backends")
struct BackendTests {
    @Test("Poll(backend:) gives that backend; kqueue is not built into a Linux build")
    func selection() throws {
        #expect(try Poll(backend: .epoll).backend == .epoll)
        #expect(try Poll(backend: .poll).backend == .poll)
        #expect(try Poll(backend: .poll).registry.backend == .poll)
        #expect(try Poll(backend: .poll).registry.tryClone().backend == .poll)
        #expect(Backend.kqueue.isCompiledIn == false)
        #expect(throws: Errno.notSupported) { try Poll(backend: .kqueue) }
        #expect(Backend(rawValue: 1) == .epoll && Backend(rawValue: 2) == .poll && Backend(rawValue: 3) == .kqueue)
        #expect(Backend(rawValue: 0) == nil && Backend(rawValue: 4) == nil)
        #expect(String(cString: Backend.poll.cName) == "poll")
        #expect(String(cString: Backend.epoll.cName) == "epoll")
        #expect(String(cString: Backend.kqueue.cName) == "kqueue")
    }

    @Test("poll(2): no descriptor; clones share the table; the waker writes the table's notifier")
    func pollHasNoDescriptor() throws {
        let poll = try Poll(backend: .poll)
        #expect(poll.fileDescriptor == -1)
        let clone = try poll.registry.tryClone()
        #expect(clone.fileDescriptor == -1)
        let efd = try makeEventFD(initial: 1)
        defer { closeFD(efd) }
        try clone.register(efd, token: Token(3), interest: .readable)
        #expect(try waitEvents(poll, timeout: .seconds(5)).map(\.token) == [Token(3)])
        #expect(throws: Errno.fileExists) { try poll.registry.register(efd, token: Token(4), interest: .readable) }
        let waker = try Waker(registry: clone, token: Token(9))
        #expect(waker.fd >= 0 && fdFlags(waker.fd) & FD_CLOEXEC != 0)
        #expect(throws: Errno.fileExists) { try Waker(registry: poll.registry, token: Token(10)) }
    }

    @Test("each backend: a deregistration from another thread during a blocking wait is seen by that wait",
          arguments: linuxBackends)
    func deregistrationDuringWait(backend: Backend) throws {
        let poll = try Poll(backend: backend)
        let (r, w) = try makePipe()
        defer { closeFD(r); closeFD(w) }
        try poll.registry.register(r, token: Token(1), interest: .readable)
        let late = try makeTimerFD(expiringAfter: 300_000_000)
        defer { closeFD(late) }
        try poll.registry.register(late, token: Token(2), interest: .readable)
        let wait = try BlockedWait(poll)
        #expect(wait.isBlocked)
        try poll.registry.deregister(r)
        try writeBytes(w)  // the pipe is ready now, but no longer registered
        #expect(wait.events().map(\.token) == [Token(2)])
    }

    @Test("poll(2): the table grows during a wait that a wake ends, then again between waits (the waiter's copy keeps up)")
    func growthDuringAndBetweenWaits() throws {
        // A growth during a wait leaves a bigger copy for the waiter to swap in; a wake
        // can end that wait before it does, and a growth between waits must then not
        // leave the smaller one pending (ASan saw the overflow in the stress test).
        // Timing decides which path a round takes: many rounds, ASan as the referee.
        for _ in 0..<30 {
            let poll = try Poll(backend: .poll)
            let waker = try Waker(registry: poll.registry, token: Token(999))
            var fds: [Int32] = []
            defer { fds.forEach(closeFD) }
            let wait = try BlockedWait(poll)
            #expect(wait.isBlocked)
            for i in 0..<20 {
                let fd = try makeEventFD()
                fds.append(fd)
                try poll.registry.register(fd, token: Token(UInt64(i)), interest: .readable)
                if i == 6 { try waker.wake() }  // right after the first growth
            }
            try waker.wake()
            #expect(wait.events().map(\.token).contains(Token(999)))
            for i in 20..<80 {  // grows it again with no wait running
                let fd = try makeEventFD(initial: 1)
                fds.append(fd)
                try poll.registry.register(fd, token: Token(UInt64(i)), interest: .readable)
            }
            var seen = Set<UInt64>()
            for _ in 0..<4 { seen.formUnion(try waitEvents(poll, capacity: 128, timeout: .seconds(5)).map(\.token.rawValue)) }
            #expect(seen.isSuperset(of: Set(20..<80)))
        }
    }

    @Test("poll(2), mio#1874: a pending user wake survives registrations from other threads")
    func wakeSurvivesRegistrations() throws {
        let poll = try Poll(backend: .poll)
        let waker = try Waker(registry: poll.registry, token: Token(99))
        let fds = try (0..<4).map { _ in try makeEventFD() }
        defer { fds.forEach(closeFD) }
        try waker.wake()
        // Registrations made while the wake is pending, from another thread: each one
        // writes the internal notifier; none may consume the user's wake.
        let worker = try TestThread {
            for (i, fd) in fds.enumerated() {
                try? poll.registry.register(fd, token: Token(UInt64(i)), interest: .readable)
                try? poll.registry.deregister(fd)
            }
        }
        worker.join()
        let events = try waitEvents(poll, timeout: .seconds(5))
        #expect(events.map(\.token) == [Token(99)])
        #expect(events.first?.isReadable == true)
        // And a wake while a wait blocks, with a deregistration racing it.
        let wait = try BlockedWait(poll)
        #expect(wait.isBlocked)
        try poll.registry.register(fds[0], token: Token(7), interest: .readable)
        try waker.wake()
        try poll.registry.deregister(fds[0])
        var tokens = wait.events().map(\.token)
        if !tokens.contains(Token(99)) {
            // The registration may have ended that wait first; the wake is then next.
            tokens += try waitEvents(poll, timeout: .seconds(5)).map(\.token)
        }
        #expect(tokens.contains(Token(99)))
    }

    @Test("each backend, mio PR #2012: after a hang-up reregister and deregister still work",
          arguments: linuxBackends)
    func hangUpKeepsRegistration(backend: Backend) throws {
        let poll = try Poll(backend: backend)
        let (r, w) = try makePipe()
        try poll.registry.register(w, token: Token(1), interest: .writable)
        closeFD(r)  // the writer's peer is gone: POLLERR on the write end
        let (r2, w2) = try makePipe()
        defer { closeFD(r2); closeFD(w2) }
        try poll.registry.register(r2, token: Token(2), interest: [.readable, .level])
        try writeBytes(w2)
        let first = try waitFor(Token(1), in: poll)
        let hungUp = try #require(first.first { $0.token == Token(1) })
        #expect(hungUp.isError || hungUp.isWriteClosed)
        // Not removed behind our back:
        try poll.registry.reregister(w, token: Token(3), interest: .writable)
        let again = try waitFor(Token(3), in: poll)
        #expect(again.contains { $0.token == Token(3) })
        try poll.registry.deregister(w)
        closeFD(w)
        #expect(try waitEvents(poll, timeout: .zero).map(\.token) == [Token(2)])
    }

    @Test("poll(2): a closed registered fd is reported once as an error (POLLNVAL), then disarmed")
    func closedDescriptorReportedOnce() throws {
        let poll = try Poll(backend: .poll)
        // A high number that tests running in parallel do not take once it is closed
        // (the kernel hands out the lowest free one): else their new file could be
        // polled under this number, as poll(2) watches numbers (docs/BACKENDS.md).
        let (r, w) = try makePipe()
        defer { closeFD(w) }
        let efd = dup2(r, 987)
        closeFD(r)
        try #require(efd == 987)
        try poll.registry.register(efd, token: Token(1), interest: .readable)
        closeFD(efd)
        let events = try waitEvents(poll, timeout: .seconds(5))
        #expect(events.map(\.token) == [Token(1)])
        #expect(events.first?.isError == true)
        #expect(events.first?.raw == UInt32(POLLNVAL))
        #expect(try waitEvents(poll, timeout: quietPeriod).isEmpty)
        // As epoll answers for a closed fd, and the stale entry is gone.
        #expect(throws: Errno.badFileDescriptor) { try poll.registry.deregister(efd) }
        #expect(throws: Errno.badFileDescriptor) { try poll.registry.reregister(efd, token: Token(2), interest: .readable) }
    }

    @Test("poll(2): reregister and deregister of a number whose file was replaced answer as epoll (ENOENT) and drop it")
    func replacedDescriptor() throws {
        let poll = try Poll(backend: .poll)
        let (oldR, oldW) = try makePipe()
        defer { closeFD(oldW) }
        try poll.registry.register(oldR, token: Token(1), interest: .readable)
        let (newR, newW) = try makePipe()
        defer { closeFD(newW) }
        try #require(dup2(newR, oldR) == oldR)  // another file at the registered number
        closeFD(newR)
        defer { closeFD(oldR) }
        #expect(throws: Errno.noSuchFileOrDirectory) { try poll.registry.reregister(oldR, token: Token(2), interest: .readable) }
        try writeBytes(newW)
        #expect(try waitEvents(poll, timeout: quietPeriod).isEmpty)  // not reported under the old token
        #expect(throws: Errno.noSuchFileOrDirectory) { try poll.registry.deregister(oldR) }
    }

    @Test("poll(2): a closed fd whose number is reused registers as new (the stale entry is replaced)")
    func reusedDescriptorNumber() throws {
        let poll = try Poll(backend: .poll)
        // A pipe: its own inode tells the new file from the old one. dup2 puts the new
        // file at the old number without a window for a parallel test to take it.
        let (oldR, oldW) = try makePipe()
        defer { closeFD(oldW) }
        try poll.registry.register(oldR, token: Token(1), interest: .readable)
        let (newR, newW) = try makePipe()
        defer { closeFD(newW) }
        try #require(dup2(newR, oldR) == oldR)
        closeFD(newR)
        defer { closeFD(oldR) }
        try writeBytes(newW)
        try poll.registry.register(oldR, token: Token(2), interest: .readable)
        #expect(try waitEvents(poll, timeout: .seconds(5)).map(\.token) == [Token(2)])
        #expect(throws: Errno.fileExists) { try poll.registry.register(oldR, token: Token(3), interest: .readable) }
        // An eventfd (one anonymous inode for all) is told apart once POLLNVAL was seen.
        // At a high number, which tests running in parallel do not take once closed.
        let low = try makeEventFD()
        let efd = dup2(low, 988)
        closeFD(low)
        try #require(efd == 988)
        try poll.registry.register(efd, token: Token(4), interest: .readable)
        closeFD(efd)
        _ = drain(oldR)
        let closed = try waitEvents(poll, timeout: .seconds(5))
        #expect(closed.map(\.token) == [Token(4)] && closed.first?.isError == true)
        let other = try makeEventFD(initial: 1)
        defer { closeFD(other) }
        try #require(dup2(other, efd) == efd)
        defer { closeFD(efd) }
        try poll.registry.register(efd, token: Token(5), interest: .readable)
        let tokens = try waitEvents(poll, timeout: .seconds(5)).map(\.token)
        #expect(tokens.contains(Token(5)))
    }

    @Test("poll(2): EPERM for a regular file, EBADF for a closed fd, ENOENT for an unknown one, EINVAL for a bad interest")
    func pollErrors() throws {
        let poll = try Poll(backend: .poll)
        let file = open("/proc/self/status", O_RDONLY | O_CLOEXEC)
        try #require(file >= 0)
        defer { closeFD(file) }
        #expect(throws: Errno.operationNotPermitted) { try poll.registry.register(file, token: Token(1), interest: .readable) }
        #expect(throws: Errno.badFileDescriptor) { try poll.registry.register(-1, token: Token(1), interest: .readable) }
        #expect(throws: Errno.badFileDescriptor) { try poll.registry.register(1_000_000, token: Token(1), interest: .readable) }
        let efd = try makeEventFD()
        defer { closeFD(efd) }
        #expect(throws: Errno.noSuchFileOrDirectory) { try poll.registry.reregister(efd, token: Token(1), interest: .readable) }
        #expect(throws: Errno.noSuchFileOrDirectory) { try poll.registry.deregister(efd) }
        #expect(throws: Errno.badFileDescriptor) { try poll.registry.deregister(-1) }
        #expect(throws: Errno.invalidArgument) { try poll.registry.register(efd, token: Token(1), interest: Interest(rawValue: 0)) }
        #expect(throws: Errno.invalidArgument) { try poll.registry.register(efd, token: Token(1), interest: [.readable, .level, .oneshot]) }
    }

    @Test("poll(2): never more events than the capacity, and no fd starves")
    func capacityAndFairness() throws {
        let poll = try Poll(backend: .poll)
        let count = 20
        let fds = try (0..<count).map { _ in try makeEventFD(initial: 1) }
        defer { fds.forEach(closeFD) }
        for (i, fd) in fds.enumerated() {
            try poll.registry.register(fd, token: Token(UInt64(i)), interest: .level.union(.readable))
        }
        var seen = Set<UInt64>()
        for _ in 0..<((count + 2) / 3) {
            let events = try waitEvents(poll, capacity: 3, timeout: .seconds(5))
            #expect(events.count == 3)
            seen.formUnion(events.map(\.token.rawValue))
        }
        #expect(seen.count == count, "every ready fd within ceil(20/3) waits of 3")
    }

    @Test("poll(2): edge registrations never lose a wakeup (a caller who drains gets the next event)")
    func edgeNeverLosesWakeup() throws {
        let poll = try Poll(backend: .poll)
        let (r, w) = try makePipe()
        defer { closeFD(r); closeFD(w) }
        try poll.registry.register(r, token: Token(1), interest: .readable)
        for _ in 0..<50 {
            try writeBytes(w)
            #expect(try waitEvents(poll, timeout: .seconds(5)).map(\.token) == [Token(1)])
            _ = drain(r)
        }
        // Not drained: reported again (level-style), never silently dropped.
        try writeBytes(w)
        #expect(try waitEvents(poll, timeout: .seconds(5)).map(\.token) == [Token(1)])
        #expect(try waitEvents(poll, timeout: .seconds(5)).map(\.token) == [Token(1)])
        _ = drain(r)
        #expect(try waitEvents(poll, timeout: .zero).isEmpty)
    }

    @Test("poll(2): oneshot reports once, reregister re-arms it")
    func oneshot() throws {
        let poll = try Poll(backend: .poll)
        let efd = try makeEventFD(initial: 1)
        defer { closeFD(efd) }
        try poll.registry.register(efd, token: Token(1), interest: [.readable, .oneshot])
        #expect(try waitEvents(poll, timeout: .seconds(5)).map(\.token) == [Token(1)])
        #expect(try waitEvents(poll, timeout: quietPeriod).isEmpty)
        try poll.registry.reregister(efd, token: Token(2), interest: [.readable, .oneshot])
        #expect(try waitEvents(poll, timeout: .seconds(5)).map(\.token) == [Token(2)])
        #expect(try waitEvents(poll, timeout: .zero).isEmpty)
    }

    @Test("each backend: a timed wait woken by other threads' registrations still lasts its timeout, and no more than a bound",
          arguments: linuxBackends)
    func remainingTime(backend: Backend) throws {
        let poll = try Poll(backend: backend)
        let fds = try (0..<8).map { _ in try makeEventFD() }  // never ready
        defer { fds.forEach(closeFD) }
        let stop = Shared(false)
        let churn = try TestThread {
            var i = 0
            while !stop.value {
                let fd = fds[i % fds.count]
                try? poll.registry.register(fd, token: Token(UInt64(i)), interest: .readable)
                sleepMilliseconds(10)
                try? poll.registry.deregister(fd)
                i += 1
            }
        }
        let start = monotonicNanoseconds()
        let events = try waitEvents(poll, timeout: .milliseconds(200))
        let elapsed = monotonicNanoseconds() - start
        stop.value = true
        churn.join()
        #expect(events.isEmpty)
        #expect(elapsed >= 200_000_000)
        // mio restarts with the full timeout on every internal wake; 20 restarts of 200 ms
        // would be 4 s. A generous bound that only such a bug crosses.
        #expect(elapsed < 2_000_000_000)
    }
}
