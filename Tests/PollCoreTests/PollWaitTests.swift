// Poll.poll / Poll.wait: capacity, zero and positive timeouts (lower bounds only),
// EINTR, EBUSY; Events; Registry.tryClone. (mio tests poll.rs, events.rs,
// regressions.rs.)

import Glibc
import Testing
import CPollSys
@testable import PollCore

/// Installs a do-nothing handler for `signal` (once per signal; never removed, so a
/// late signal can not kill the test process).
private func installHandler(_ signal: Int32, restart: Bool) throws {
    var action = sigaction()
    action.__sigaction_handler.sa_handler = { _ in }
    sigemptyset(&action.sa_mask)
    action.sa_flags = restart ? Int32(SA_RESTART) : 0
    try check("sigaction", sigaction(signal, &action, nil))
}

@Suite("Waiting")
struct PollWaitTests {
    // MARK: capacity

    @Test("capacity smaller than the ready set: every event once, across waits, none lost", epollOnly("edge registrations are reported level-triggered on poll(2) (docs/BACKENDS.md); poll(2)'s fairness has its own test"))
    func capacitySmallerThanReadySet() throws {
        let poll = try Poll()
        let count = 200
        var fds: [Int32] = []
        defer { fds.forEach(closeFD) }
        for i in 0..<count {
            let fd = try makeEventFD(initial: 1)
            fds.append(fd)
            try poll.registry.register(fd, token: Token(UInt64(1000 + i)), interest: .readable)
        }
        let events = Events(capacity: 7)
        var seen: [UInt64: Int] = [:]
        var batches = 0
        for _ in 0..<200 {
            try poll.poll(events, timeout: .zero)
            if events.isEmpty { break }
            batches += 1
            #expect(events.count <= 7)
            for event in events {
                seen[event.token.rawValue, default: 0] += 1
                #expect(event.flags == [.readable])
                #expect(event.raw == Bits.IN)
            }
        }
        #expect(seen.count == count)
        #expect(seen.values.allSatisfy { $0 == 1 })
        #expect(Set(seen.keys) == Set((0..<count).map { UInt64(1000 + $0) }))
        #expect(batches == (count + 6) / 7)
    }

    static func largeToken(_ i: Int) -> UInt64 { UInt64(i) << 40 | 0xabc0_0000 | UInt64(i) }

    @Test("a large capacity receives the whole ready set in one wait, widened correctly")
    func largeCapacity() throws {
        let poll = try Poll()
        var fds: [Int32] = []
        defer { fds.forEach(closeFD) }
        for i in 0..<100 {
            let fd = try makeEventFD(initial: 1)
            fds.append(fd)
            // Tokens with distinct high and low halves catch a misplaced 8-byte copy.
            try poll.registry.register(fd, token: Token(Self.largeToken(i)), interest: .readable)
        }
        let events = Events(capacity: 1000)
        try poll.poll(events, timeout: .seconds(5))
        #expect(events.count == 100)
        let expected: Set<UInt64> = Set((0..<100).map(Self.largeToken))
        #expect(Set(events.map(\.token.rawValue)) == expected)
        #expect(events.allSatisfy { $0.raw == Bits.IN && $0.flags == [.readable] })
    }

    @Test("wait(into:capacity:) writes no entry beyond capacity")
    func noWriteBeyondCapacity() throws {
        let poll = try Poll()
        var fds: [Int32] = []
        defer { fds.forEach(closeFD) }
        for i in 0..<10 {
            let fd = try makeEventFD(initial: 1)
            fds.append(fd)
            try poll.registry.register(fd, token: Token(UInt64(i)), interest: .readable)
        }
        let sentinel = Event(token: Token(0x5555_5555_5555_5555), flags: Event.Flags(rawValue: 0xaaaa), raw: 0x1234_5678)
        var buffer = [Event](repeating: sentinel, count: 8)
        let n = try buffer.withUnsafeMutableBufferPointer { (b) throws(Errno) -> Int in
            try poll.wait(into: b.baseAddress!, capacity: 3, timeoutNanoseconds: 0)
        }
        #expect(n == 3)
        #expect(buffer[0..<3].allSatisfy { $0.token.rawValue < 10 && $0.raw == Bits.IN })
        #expect(buffer[3...].allSatisfy { $0 == sentinel })
    }

    @Test("capacity below 1 throws .invalidArgument", arguments: [0, -1, Int.min])
    func zeroCapacity(capacity: Int) throws {
        let poll = try Poll()
        var buffer = [Event](repeating: Event(token: Token(1), flags: []), count: 1)
        #expect(throws: Errno.invalidArgument) {
            _ = try buffer.withUnsafeMutableBufferPointer { (b) throws(Errno) -> Int in
                try poll.wait(into: b.baseAddress!, capacity: capacity, timeoutNanoseconds: 0)
            }
        }
        // Not left "busy" by the failed call.
        #expect(try waitEvents(poll, timeout: .zero).isEmpty)
    }

    // MARK: Events

    @Test("Events: capacity, count, isEmpty, subscript, iteration, clear", epollOnly("edge registrations are reported level-triggered on poll(2) (docs/BACKENDS.md)"))
    func eventsBuffer() throws {
        let poll = try Poll()
        let events = Events(capacity: 4)
        #expect(events.capacity == 4)
        #expect(events.isEmpty)
        #expect(events.count == 0)
        #expect(Array(events).isEmpty)
        let a = try makeEventFD(initial: 1)
        defer { closeFD(a) }
        let b = try makeEventFD(initial: 1)
        defer { closeFD(b) }
        try poll.registry.register(a, token: Token(1), interest: .readable)
        try poll.registry.register(b, token: Token(2), interest: .readable)
        for _ in 0..<3 where events.count < 2 {
            try poll.poll(events, timeout: .seconds(5))
        }
        #expect(events.count == 2)
        #expect(!events.isEmpty)
        #expect(Set([events[0].token, events[1].token]) == [Token(1), Token(2)])
        #expect(Array(events) == [events[0], events[1]])
        #expect(events.underestimatedCount == 2)
        #expect(events.capacity == 4)
        // A wait that finds nothing clears the previous results.
        try poll.poll(events, timeout: .zero)
        #expect(events.isEmpty)
        #expect(Array(events).isEmpty)
        events.clear()
        #expect(events.isEmpty)
    }

    // MARK: timeouts

    @Test("a zero timeout does not block, and still sees events registered just before")
    func zeroTimeoutSeesEvents() throws {
        let poll = try Poll()
        #expect(try waitEvents(poll, timeout: .zero).isEmpty)
        let efd = try makeEventFD()
        defer { closeFD(efd) }
        try poll.registry.register(efd, token: Token(1), interest: .readable)
        try signalEventFD(efd)
        let events = try waitEvents(poll, timeout: .zero)
        #expect(events.map(\.token) == [Token(1)])
        _ = drain(efd)
        #expect(try waitEvents(poll, timeout: .zero).isEmpty)
        try signalEventFD(efd)
        var buffer = [Event](repeating: Event(token: Token(0), flags: []), count: 2)
        let n = try buffer.withUnsafeMutableBufferPointer { (b) throws(Errno) -> Int in
            try poll.wait(into: b.baseAddress!, capacity: 2, timeoutNanoseconds: 0)
        }
        #expect(n == 1)
        #expect(buffer[0].token == Token(1))
    }

    static let timeouts: [Duration] = [
        .nanoseconds(1), .microseconds(300), .nanoseconds(1_500_000), .milliseconds(20),
    ]

    @Test("a timeout never returns early (lower bound only)", arguments: timeouts)
    func timeoutLowerBound(timeout: Duration) throws {
        let poll = try Poll()
        let nanoseconds = Timeout.nanoseconds(timeout)
        for _ in 0..<3 {
            let start = monotonicNanoseconds()
            let events = try waitEvents(poll, timeout: timeout)
            let elapsed = monotonicNanoseconds() - start
            #expect(events.isEmpty)
            #expect(elapsed >= nanoseconds, "waited \(elapsed) ns for a \(nanoseconds) ns timeout")
        }
    }

    @Test("without epoll_pwait2 (forced fallback) timeouts are whole milliseconds rounded up", epollOnly("epoll_pwait2's fallback; poll(2) waits with ppoll"))
    func timeoutFallbackRoundsUp() throws {
        let poll = try Poll()
        let before = EpollSelector.hasPwait2.load(ordering: .relaxed)
        EpollSelector.hasPwait2.store(false, ordering: .relaxed)
        defer { EpollSelector.hasPwait2.store(before, ordering: .relaxed) }
        for (timeout, atLeast) in [(Duration.nanoseconds(1), Int64(1_000_000)), (.nanoseconds(1_500_000), 2_000_000), (.milliseconds(3), 3_000_000)] {
            let start = monotonicNanoseconds()
            let events = try waitEvents(poll, timeout: timeout)
            let elapsed = monotonicNanoseconds() - start
            #expect(events.isEmpty)
            #expect(elapsed >= atLeast, "waited \(elapsed) ns for \(timeout), expected >= \(atLeast)")
        }
        // Events still come through the fallback.
        let efd = try makeEventFD(initial: 1)
        defer { closeFD(efd) }
        try poll.registry.register(efd, token: Token(4), interest: .readable)
        #expect(try waitEvents(poll, timeout: .seconds(5)).map(\.token) == [Token(4)])
    }

    @Test("a negative timeout does not block")
    func negativeTimeout() throws {
        let poll = try Poll()
        let watchdog = try Watchdog(poll.registry)
        for timeout in [Duration.nanoseconds(-1), .milliseconds(-5), .seconds(-3)] {
            let events = try waitEvents(poll, timeout: timeout)
            #expect(!events.contains { $0.token == Watchdog.token }, "a negative timeout blocked")
        }
        _ = watchdog
    }

    @Test("a nil timeout blocks until an event comes")
    func nilTimeoutBlocks() throws {
        let poll = try Poll()
        let watchdog = try Watchdog(poll.registry)
        let timer = try makeTimerFD(expiringAfter: 30_000_000)
        defer { closeFD(timer) }
        try poll.registry.register(timer, token: Token(8), interest: .readable)
        let events = try waitEvents(poll, timeout: nil)
        #expect(events.map(\.token) == [Token(8)])
        _ = watchdog
    }

    // MARK: signals and threads

    @Test("a signal interrupts a wait: .interrupted, events cleared, not retried; also with SA_RESTART", arguments: [(SIGUSR1, false), (SIGUSR2, true)])
    func interruptedBySignal(signal: Int32, restart: Bool) throws {
        try installHandler(signal, restart: restart)
        let poll = try Poll()
        let efd = try makeEventFD(initial: 1)
        defer { closeFD(efd) }
        try poll.registry.register(efd, token: Token(1), interest: .readable)
        let outcome = Shared<WaitOutcome>(.pending)
        let before = Shared(-1)
        let (thread, tid) = try startThread {
            // Threads inherit the creator's mask, and the test runner's worker threads
            // block signals: unblock ours here.
            var set = sigset_t()
            sigemptyset(&set)
            sigaddset(&set, signal)
            pthread_sigmask(SIG_UNBLOCK, &set, nil)
            let events = Events(capacity: 8)
            do throws(Errno) {
                try poll.poll(events, timeout: .seconds(5)) // the ready eventfd: one event
                before.value = events.count
                _ = drain(efd) // nothing left, also for poll(2)'s level-style edge
                try poll.poll(events, timeout: .seconds(10)) // nothing more: blocks
                outcome.value = .events(Array(events))
            } catch {
                // Cleared first, also when the wait fails.
                outcome.value = events.isEmpty ? .failed(error) : .events(Array(events))
            }
        }
        #expect(waitUntilBlockedInEpoll(tid))
        #expect(pthread_kill(thread.pthread, signal) == 0)
        thread.join()
        #expect(before.value == 1)
        guard case .failed(let error) = outcome.value else {
            Issue.record("expected .interrupted, got \(outcome.value)")
            return
        }
        #expect(error == .interrupted)
        #expect(Errno.interrupted.rawValue == EINTR)
        // The poll is usable again right away (not left busy).
        try signalEventFD(efd)
        #expect(try waitEvents(poll, timeout: .seconds(5)).map(\.token) == [Token(1)])
    }

    @Test("a second thread waiting on the same poll gets .resourceBusy (EBUSY), not a wait")
    func secondWaiterBusy() throws {
        let poll = try Poll()
        let waker = try Waker(registry: poll.registry, token: Token(99))
        let outcome = Shared<WaitOutcome>(.pending)
        let (thread, tid) = try startThread {
            do throws(Errno) {
                outcome.value = .events(try waitEvents(poll, timeout: .seconds(10)))
            } catch {
                outcome.value = .failed(error)
            }
        }
        #expect(waitUntilBlockedInEpoll(tid))
        #expect(throws: Errno.resourceBusy) { _ = try waitEvents(poll, timeout: .zero) }
        #expect(throws: Errno.resourceBusy) { _ = try waitEvents(poll, timeout: .milliseconds(100)) }
        var buffer = [Event](repeating: Event(token: Token(0), flags: []), count: 1)
        #expect(throws: Errno.resourceBusy) {
            _ = try buffer.withUnsafeMutableBufferPointer { (b) throws(Errno) -> Int in
                // Bounded even if the library let it wait: 200 ms.
                try poll.wait(into: b.baseAddress!, capacity: 1, timeoutNanoseconds: 200_000_000)
            }
        }
        #expect(Errno.resourceBusy.rawValue == EBUSY)
        // The first waiter is unaffected and gets the wake.
        try waker.wake()
        thread.join()
        guard case .events(let events) = outcome.value else {
            Issue.record("the first waiter failed: \(outcome.value)")
            return
        }
        #expect(events.map(\.token) == [Token(99)])
        // Free again once it returned.
        #expect(try waitEvents(poll, timeout: .zero).isEmpty)
    }

    @Test("two polls can be waited on by two threads at once")
    func twoPollsTwoThreads() throws {
        let first = try Poll()
        let second = try Poll()
        let outcome = Shared<WaitOutcome>(.pending)
        let timer = try makeTimerFD(expiringAfter: 50_000_000)
        defer { closeFD(timer) }
        try second.registry.register(timer, token: Token(2), interest: .readable)
        let (thread, tid) = try startThread {
            do throws(Errno) {
                outcome.value = .events(try waitEvents(second, timeout: .seconds(10)))
            } catch {
                outcome.value = .failed(error)
            }
        }
        _ = waitUntilBlockedInEpoll(tid)
        #expect(try waitEvents(first, timeout: .zero).isEmpty)
        thread.join()
        guard case .events(let events) = outcome.value else {
            Issue.record("wait on the second poll failed: \(outcome.value)")
            return
        }
        #expect(events.map(\.token) == [Token(2)])
    }

    // MARK: descriptors and clones

    @Test("the poll's fd is close-on-exec", epollOnly("the poll(2) backend has no descriptor"))
    func pollDescriptor() throws {
        let poll = try Poll()
        #expect(poll.fileDescriptor >= 0)
        #expect(poll.fileDescriptor == poll.registry.fileDescriptor)
        #expect(fdFlags(poll.fileDescriptor) & FD_CLOEXEC != 0)
    }

    @Test("tryClone: a close-on-exec fd >= 3 on the same poll; registrations through it reach the poll", epollOnly("the poll(2) backend has no descriptor (clones share its table)"))
    func tryCloneBasics() throws {
        let poll = try Poll()
        let clone = try poll.registry.tryClone()
        #expect(clone.fileDescriptor >= 3)
        #expect(clone.fileDescriptor != poll.fileDescriptor)
        #expect(fdFlags(clone.fileDescriptor) & FD_CLOEXEC != 0)
        let cloneOfClone = try clone.tryClone()
        #expect(cloneOfClone.fileDescriptor >= 3)
        #expect(fdFlags(cloneOfClone.fileDescriptor) & FD_CLOEXEC != 0)

        let efd = try makeEventFD(initial: 1)
        defer { closeFD(efd) }
        try clone.register(efd, token: Token(31), interest: .readable)
        #expect(try waitEvents(poll, timeout: .seconds(5)).map(\.token) == [Token(31)])
        // Same registration set: the poll's registry sees it, another clone changes it.
        #expect(throws: Errno.fileExists) { try poll.registry.register(efd, token: Token(1), interest: .readable) }
        try cloneOfClone.reregister(efd, token: Token(32), interest: .readable)
        #expect(try waitEvents(poll, timeout: .seconds(5)).map(\.token) == [Token(32)])
        try poll.registry.deregister(efd)
        #expect(throws: Errno.noSuchFileOrDirectory) { try clone.deregister(efd) }
    }

    @Test("tryClone: the clone works after the poll is released (the epoll instance lives on)", epollOnly("waits on the clone's epoll fd directly"))
    func tryCloneOutlivesPoll() throws {
        var poll: Poll? = try Poll()
        let clone = try poll!.registry.tryClone()
        let efd = try makeEventFD()
        defer { closeFD(efd) }
        try poll!.registry.register(efd, token: Token(41), interest: .readable)
        poll = nil
        #expect(poll == nil)
        // Still usable: change the registration, add one, and see them on the clone's fd.
        try clone.reregister(efd, token: Token(42), interest: .readable)
        let other = try makeEventFD(initial: 1)
        defer { closeFD(other) }
        try clone.register(other, token: Token(43), interest: .readable)
        try signalEventFD(efd)
        var kernelEvents = [epoll_event](repeating: epoll_event(), count: 8)
        let n = epoll_wait(clone.fileDescriptor, &kernelEvents, 8, 5000)
        #expect(n == 2)
        let tokens = Set(kernelEvents.prefix(Int(max(n, 0))).map { $0.data.u64 })
        #expect(tokens == [42, 43])
        try clone.deregister(other)
        try clone.deregister(efd)
    }

    @Test("releasing a Poll, a Registry clone and a Waker closes their descriptors", epollOnly("inspects the epoll fd and the waker's eventfd"))
    func releaseClosesDescriptors() throws {
        // Descriptor numbers are reused by tests running in parallel, so identify the
        // files by content: the epoll instance by a marker registration, the eventfd by
        // its eventfd-id (both from /proc/self/fdinfo).
        let marker = UInt64(0x5ca1_ab1e_0000_0000) | UInt64(UInt32.random(in: 0...UInt32.max))
        let markerFD = try makeEventFD()
        defer { closeFD(markerFD) }
        var poll: Poll? = try Poll()
        try poll!.registry.register(markerFD, token: Token(marker), interest: .readable)
        var clone: Registry? = try poll!.registry.tryClone()
        var waker: Waker? = try Waker(registry: poll!.registry, token: Token(1))
        let pollFD = poll!.fileDescriptor, cloneFD = clone!.fileDescriptor, wakerFD = waker!.fd
        #expect(epollHasToken(pollFD, marker))
        #expect(epollHasToken(cloneFD, marker))
        let wakerID = try #require(eventfdID(wakerFD))

        waker = nil
        #expect(waker == nil)
        #expect(eventfdID(wakerFD) != wakerID)
        poll = nil
        #expect(poll == nil)
        #expect(!epollHasToken(pollFD, marker))
        #expect(epollHasToken(cloneFD, marker)) // the clone keeps the instance alive
        clone = nil
        #expect(clone == nil)
        #expect(!epollHasToken(cloneFD, marker))
    }
}
