// Waker (mio tests waker.rs): token + readable, coalescing, cross-thread wakes, eight
// threads, the single-waker rule (also across clones), a new waker after the first.

import Glibc
import Testing
@testable import PollCore

@Suite("Waker")
struct WakerTests {
    @Test("a wake gives one event with the waker's token, readable only")
    func tokenAndReadable() throws {
        let poll = try Poll()
        let waker = try Waker(registry: poll.registry, token: Token(10))
        #expect(try waitEvents(poll, timeout: quietPeriod).isEmpty)
        try waker.wake()
        let events = try waitEvents(poll, timeout: .seconds(5))
        #expect(events.map(\.token) == [Token(10)])
        #expect(events.first?.flags == [.readable])
        #expect(events.first?.raw == Bits.IN)
    }

    @Test("the waker's eventfd is non-blocking and close-on-exec")
    func descriptorFlags() throws {
        let poll = try Poll()
        let waker = try Waker(registry: poll.registry, token: Token(1))
        #expect(fdFlags(waker.fd) & FD_CLOEXEC != 0)
        #expect(fileStatusFlags(waker.fd) & O_NONBLOCK != 0)
    }

    @Test("many wakes before a wait coalesce into one event; then none until the next wake")
    func coalescing() throws {
        let poll = try Poll()
        let waker = try Waker(registry: poll.registry, token: Token(20))
        for _ in 0..<100 { try waker.wake() }
        let events = try waitEvents(poll, timeout: .seconds(5))
        #expect(events.map(\.token) == [Token(20)])
        #expect(try waitEvents(poll, timeout: quietPeriod).isEmpty)
        #expect(try waitEvents(poll, timeout: .zero).isEmpty)
        // The counter is never drained, yet each later wake is a new event.
        for round in 0..<5 {
            try waker.wake()
            #expect(try waitEvents(poll, timeout: .seconds(5)).map(\.token) == [Token(20)], "round \(round)")
            #expect(try waitEvents(poll, timeout: .zero).isEmpty, "round \(round)")
        }
    }

    @Test("a wake from another thread unblocks a wait with no timeout")
    func wakeFromAnotherThread() throws {
        let poll = try Poll()
        let watchdog = try Watchdog(poll.registry)
        let waker = try Waker(registry: poll.registry, token: Token(30))
        let tid = Shared<Int32>(currentThreadID())
        let thread = try TestThread {
            // Wake only once the main thread sleeps in the kernel (bounded).
            _ = waitUntilBlockedInEpoll(tid.value)
            try? waker.wake()
        }
        let events = try waitEvents(poll, timeout: nil)
        thread.join()
        #expect(events.map(\.token) == [Token(30)])
        #expect(events.first?.isReadable == true)
        // Nothing more after it.
        #expect(try waitEvents(poll, timeout: quietPeriod).isEmpty)
        _ = watchdog
    }

    @Test("wakes from 8 threads at once: events carry only the waker's token; no wake is lost at the end")
    func eightThreads() throws {
        let poll = try Poll()
        let watchdog = try Watchdog(poll.registry)
        let waker = try Waker(registry: poll.registry, token: Token(40))
        let failures = Shared(0)
        var threads: [TestThread] = []
        for _ in 0..<8 {
            threads.append(try TestThread {
                for _ in 0..<1000 {
                    do { try waker.wake() } catch { failures.update { $0 += 1 } }
                }
            })
        }
        var seen = 0
        let events = Events(capacity: 16)
        // At least one event comes while the threads run or after they finished.
        try poll.poll(events, timeout: nil)
        for event in events {
            #expect(event.token == Token(40))
            #expect(event.isReadable)
            seen += 1
        }
        threads.forEach { $0.join() }
        #expect(failures.value == 0)
        #expect(seen >= 1)
        // Drain what the wakes left (bounded), then a single wake is still delivered.
        for _ in 0..<100 {
            try poll.poll(events, timeout: .zero)
            if events.isEmpty { break }
            #expect(events.allSatisfy { $0.token == Token(40) })
        }
        #expect(try waitEvents(poll, timeout: .zero).isEmpty)
        try waker.wake()
        #expect(try waitEvents(poll, timeout: .seconds(5)).map(\.token) == [Token(40)])
        _ = watchdog
    }

    @Test("a second live waker throws .fileExists (EEXIST), also through a clone of the registry")
    func singleWaker() throws {
        let poll = try Poll()
        let clone = try poll.registry.tryClone()
        let waker = try Waker(registry: poll.registry, token: Token(50))
        #expect(throws: Errno.fileExists) { _ = try Waker(registry: poll.registry, token: Token(51)) }
        #expect(throws: Errno.fileExists) { _ = try Waker(registry: clone, token: Token(52)) }
        // A clone made after the waker shares the rule too.
        let lateClone = try clone.tryClone()
        #expect(throws: Errno.fileExists) { _ = try Waker(registry: lateClone, token: Token(53)) }
        // The first waker is unaffected by the refusals.
        try waker.wake()
        #expect(try waitEvents(poll, timeout: .seconds(5)).map(\.token) == [Token(50)])
        // Another poll has its own rule.
        let other = try Poll()
        let otherWaker = try Waker(registry: other.registry, token: Token(54))
        try otherWaker.wake()
        #expect(try waitEvents(other, timeout: .seconds(5)).map(\.token) == [Token(54)])
        #expect(try waitEvents(poll, timeout: .zero).isEmpty)
    }

    @Test("after the waker is released a new one may be made (also through a clone), and it works")
    func newWakerAfterRelease() throws {
        let poll = try Poll()
        let clone = try poll.registry.tryClone()
        var first: Waker? = try Waker(registry: poll.registry, token: Token(60))
        try first!.wake()
        first = nil // closes its eventfd: the pending wake is lost, silently
        #expect(first == nil)
        #expect(try waitEvents(poll, timeout: quietPeriod).isEmpty)
        var second: Waker? = try Waker(registry: clone, token: Token(61))
        try second!.wake()
        #expect(try waitEvents(poll, timeout: .seconds(5)).map(\.token) == [Token(61)])
        second = nil
        #expect(second == nil)
        let third = try Waker(registry: poll.registry, token: Token(62))
        try third.wake()
        #expect(try waitEvents(poll, timeout: .seconds(5)).map(\.token) == [Token(62)])
    }

    @Test("a wake when the eventfd counter is full resets it and still wakes (never fails because of earlier wakes)", epollOnly("poll(2) reads the waker's counter when it reports a wake: the counts differ"))
    func counterOverflow() throws {
        let poll = try Poll()
        let waker = try Waker(registry: poll.registry, token: Token(65))
        // Bring the counter to its maximum, 0xffff_ffff_ffff_fffe, as 2^64-2 wakes would.
        var big: UInt64 = 0xffff_ffff_ffff_fffe
        #expect(write(waker.fd, &big, 8) == 8)
        var one: UInt64 = 1
        #expect(write(waker.fd, &one, 8) == -1 && errno == EAGAIN) // full indeed
        #expect(try waitEvents(poll, timeout: .seconds(5)).map(\.token) == [Token(65)])
        try waker.wake()
        #expect(try waitEvents(poll, timeout: .seconds(5)).map(\.token) == [Token(65)])
        try waker.wake()
        #expect(try waitEvents(poll, timeout: .seconds(5)).map(\.token) == [Token(65)])
        var counter: UInt64 = 0
        #expect(read(waker.fd, &counter, 8) == 8)
        #expect(counter == 2) // reset, then the two wakes
    }

    @Test("a refused second waker leaves the slot of the live one taken")
    func refusalKeepsSlot() throws {
        let poll = try Poll()
        let waker = try Waker(registry: poll.registry, token: Token(70))
        #expect(throws: Errno.fileExists) { _ = try Waker(registry: poll.registry, token: Token(71)) }
        // The refused attempt must not have cleared the flag of the live waker...
        #expect(throws: Errno.fileExists) { _ = try Waker(registry: poll.registry, token: Token(72)) }
        _ = waker
    }

    @Test("the waker keeps working while the poll is waited on and registrations change")
    func wakeWithOtherSources() throws {
        let poll = try Poll()
        let waker = try Waker(registry: poll.registry, token: Token(80))
        let pipe = try makePipe()
        defer { closeFD(pipe.read); closeFD(pipe.write) }
        try poll.registry.register(pipe.read, token: Token(81), interest: .readable)
        try writeBytes(pipe.write)
        try waker.wake()
        var tokens: Set<Token> = []
        for _ in 0..<3 where tokens.count < 2 {
            tokens.formUnion(try waitEvents(poll, timeout: .seconds(5)).map(\.token))
        }
        #expect(tokens == [Token(80), Token(81)])
    }

    @Test("a wake from a signal handler on the waiting thread (async-signal-safe) ends the wait")
    func wakeFromSignalHandler() throws {
        // The handler reaches the waker through a global; set before the signal is sent.
        let poll = try Poll()
        let watchdog = try Watchdog(poll.registry)
        let waker = try Waker(registry: poll.registry, token: Token(90))
        signalWaker.value = waker
        defer { signalWaker.value = nil }
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in
            let saved = errno
            try? signalWaker.value?.wake()
            errno = saved
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = Int32(SA_RESTART)
        try check("sigaction", sigaction(SIGWINCH, &action, nil))
        let outcome = Shared<WaitOutcome>(.pending)
        let (thread, tid) = try startThread {
            var set = sigset_t()
            sigemptyset(&set)
            sigaddset(&set, SIGWINCH)
            pthread_sigmask(SIG_UNBLOCK, &set, nil)
            // A wait interrupted by the handler returns EINTR; the retry then sees the wake.
            for _ in 0..<3 {
                do throws(Errno) {
                    outcome.value = .events(try waitEvents(poll, timeout: nil))
                    return
                } catch {
                    outcome.value = .failed(error)
                    if error != .interrupted { return }
                }
            }
        }
        #expect(waitUntilBlockedInEpoll(tid))
        #expect(pthread_kill(thread.pthread, SIGWINCH) == 0)
        thread.join()
        guard case .events(let events) = outcome.value else {
            Issue.record("wait after the signal: \(outcome.value)")
            return
        }
        #expect(events.map(\.token) == [Token(90)])
        _ = watchdog
    }
}

/// The waker a signal handler wakes: written before the signal is sent and cleared
/// after the waiting thread was joined, so the handler's unlocked read never races.
final class SignalWakerSlot: @unchecked Sendable {
    var value: Waker?
}
let signalWaker = SignalWakerSlot()
