// Timeout conversions: Duration? -> nanoseconds (Timeout.nanoseconds) and nanoseconds
// -> epoll_wait milliseconds (Timeout.milliseconds), against mio 1.2.2's §3.7 examples.

import Testing
@testable import PollCore

@Suite("Timeout conversion")
struct TimeoutTests {
    /// The ms epoll_wait gets for a duration: mio's examples (mio-behaviour.md §3.7).
    static let mioExamples: [(Duration, Int32)] = [
        (.zero, 0),
        (.nanoseconds(1), 1),
        (.nanoseconds(999_999), 1),
        (.milliseconds(1), 1),
        (.milliseconds(1) + .nanoseconds(1), 2),
        (.microseconds(1500), 2),
        (.milliseconds(Int64(Int32.max)), Int32.max),
        (.milliseconds(Int64(Int32.max) - 1), Int32.max - 1),
        (.milliseconds(Int64(Int32.max)) + .nanoseconds(1), Int32.max),
        (.seconds(30 * 24 * 3600), Int32.max),
        (.seconds(Int64.max), Int32.max),
    ]

    @Test("milliseconds: rounded up, never 0 for a non-zero duration, saturated at Int32.max (mio §3.7)",
          arguments: mioExamples)
    func millisecondsExamples(duration: Duration, expected: Int32) {
        #expect(Timeout.milliseconds(Timeout.nanoseconds(duration)) == expected)
    }

    @Test("nil is infinite: -1 ns and -1 ms")
    func infinite() {
        #expect(Timeout.nanoseconds(nil) == -1)
        #expect(Timeout.nanoseconds(nil) == Timeout.infinite)
        #expect(Timeout.milliseconds(Timeout.infinite) == -1)
        #expect(Timeout.milliseconds(-5) == -1)
        #expect(Timeout.milliseconds(Int64.min) == -1)
    }

    static let nanosecondExamples: [(Duration, Int64)] = [
        (.zero, 0),
        (.nanoseconds(1), 1),
        (.nanoseconds(999_999), 999_999),
        (.milliseconds(1), 1_000_000),
        (.milliseconds(1) + .nanoseconds(1), 1_000_001),
        (.microseconds(1500), 1_500_000),
        (.seconds(1), 1_000_000_000),
        (.seconds(30 * 24 * 3600), 30 * 24 * 3600 * 1_000_000_000),
        (.milliseconds(Int64(Int32.max)), Int64(Int32.max) * 1_000_000),
        // Sub-nanosecond parts round up, never down to a shorter wait.
        (Duration(secondsComponent: 0, attosecondsComponent: 1), 1),
        (Duration(secondsComponent: 0, attosecondsComponent: 999_999_999), 1),
        (Duration(secondsComponent: 0, attosecondsComponent: 1_000_000_000), 1),
        (Duration(secondsComponent: 0, attosecondsComponent: 1_000_000_001), 2),
        (Duration(secondsComponent: 2, attosecondsComponent: 1), 2_000_000_001),
        (Duration(secondsComponent: 1, attosecondsComponent: 999_999_999_999_999_999), 2_000_000_000),
        // Beyond Int64.max ns: saturated.
        (.nanoseconds(Int64.max), Int64.max),
        (.nanoseconds(Int64.max) + .nanoseconds(1), Int64.max),
        (.seconds(9_223_372_037), Int64.max),
        (.seconds(Int64.max), Int64.max),
    ]

    @Test("nanoseconds: exact, sub-nanoseconds rounded up, saturated at Int64.max", arguments: nanosecondExamples)
    func nanosecondsExamples(duration: Duration, expected: Int64) {
        #expect(Timeout.nanoseconds(duration) == expected)
    }

    @Test("exact up to Int64.max ns: the last 0.85 s before saturation are not saturated early")
    func largestExactValues() {
        // 9_223_372_036 s is below Int64.max ns (9_223_372_036.854775807 s).
        #expect(Timeout.nanoseconds(.seconds(9_223_372_036)) == 9_223_372_036_000_000_000)
        #expect(Timeout.nanoseconds(.seconds(9_223_372_036) + .nanoseconds(854_775_806)) == Int64.max - 1)
        #expect(Timeout.nanoseconds(.seconds(9_223_372_036) + .nanoseconds(854_775_807)) == Int64.max)
        #expect(Timeout.nanoseconds(.seconds(9_223_372_035) + .nanoseconds(999_999_999)) == 9_223_372_035_999_999_999)
    }

    static let negativeDurations: [Duration] = [
        .nanoseconds(-1),
        .milliseconds(-500),
        .seconds(-3),
        .seconds(-3) + .milliseconds(250),
        Duration(secondsComponent: 0, attosecondsComponent: -1),
        .seconds(Int64.min),
    ]

    @Test("a negative duration does not block: 0", arguments: negativeDurations)
    func negative(duration: Duration) {
        #expect(Timeout.nanoseconds(duration) == 0)
        #expect(Timeout.milliseconds(Timeout.nanoseconds(duration)) == 0)
    }

    @Test("milliseconds from nanoseconds, around the rounding edges")
    func millisecondsFromNanoseconds() {
        #expect(Timeout.milliseconds(0) == 0)
        #expect(Timeout.milliseconds(1) == 1)
        #expect(Timeout.milliseconds(1_000_000) == 1)
        #expect(Timeout.milliseconds(1_000_001) == 2)
        #expect(Timeout.milliseconds(1_999_999) == 2)
        #expect(Timeout.milliseconds(2_000_000) == 2)
        #expect(Timeout.milliseconds(Int64(Int32.max) * 1_000_000) == Int32.max)
        #expect(Timeout.milliseconds(Int64(Int32.max) * 1_000_000 - 999_999) == Int32.max)
        #expect(Timeout.milliseconds(Int64(Int32.max) * 1_000_000 - 1_000_000) == Int32.max - 1)
        #expect(Timeout.milliseconds(Int64.max) == Int32.max)
    }
}
