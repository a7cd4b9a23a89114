/// Timeout conversions. Inside PollCore a timeout is `Int64` nanoseconds: negative waits
/// forever, zero does not block, positive waits at least that long.
public enum Timeout {
    /// Wait forever.
    public static let infinite: Int64 = -1

    /// `nil` is forever; a duration is rounded **up** to whole nanoseconds and
    /// saturates at `Int64.max` ns (292 years); a negative duration does not block.
    @inlinable
    public static func nanoseconds(_ duration: Duration?) -> Int64 {
        guard let duration else { return infinite }
        let (seconds, attoseconds) = duration.components
        if seconds < 0 || (seconds == 0 && attoseconds <= 0) { return 0 }
        let nanos = attoseconds / 1_000_000_000 + (attoseconds % 1_000_000_000 > 0 ? 1 : 0)
        let total = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let sum = total.partialValue.addingReportingOverflow(nanos)
        return total.overflow || sum.overflow ? Int64.max : sum.partialValue
    }

    /// For `epoll_wait`: milliseconds rounded **up** (1 ns waits 1 ms, never 0, so a
    /// short timeout can not turn into a busy loop), saturated at `Int32.max`.
    @inlinable @inline(__always)
    public static func milliseconds(_ nanoseconds: Int64) -> Int32 {
        if nanoseconds <= 0 { return nanoseconds == 0 ? 0 : -1 }
        let ms = nanoseconds / 1_000_000 + (nanoseconds % 1_000_000 != 0 ? 1 : 0)
        return ms > Int64(Int32.max) ? Int32.max : Int32(ms)
    }
}
