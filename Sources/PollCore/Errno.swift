import CPollSys

/// An error number from the operating system (or from swiftpoll's own checks, which use
/// the errno the kernel would have used). Every throwing API of PollCore throws this.
public struct Errno: Error, Equatable, Sendable {
    public let rawValue: Int32

    @inlinable
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let operationNotPermitted = Errno(rawValue: EPERM)
    public static let noSuchFileOrDirectory = Errno(rawValue: ENOENT)
    public static let interrupted = Errno(rawValue: EINTR)
    public static let badFileDescriptor = Errno(rawValue: EBADF)
    public static let wouldBlock = Errno(rawValue: EAGAIN)
    public static let noMemory = Errno(rawValue: ENOMEM)
    public static let resourceBusy = Errno(rawValue: EBUSY)
    public static let fileExists = Errno(rawValue: EEXIST)
    public static let invalidArgument = Errno(rawValue: EINVAL)
    public static let tooManyOpenFiles = Errno(rawValue: EMFILE)
    public static let tooManyOpenFilesInSystem = Errno(rawValue: ENFILE)
    public static let noSpace = Errno(rawValue: ENOSPC)
    public static let notImplemented = Errno(rawValue: ENOSYS)
    public static let notSupported = Errno(rawValue: ENOTSUP)
}

/// The one place where a system call's result becomes a thrown `Errno`: the CPollSys
/// calls return `-errno` and never touch `errno` itself (see CPollSys.h).
@inlinable @inline(__always)
func check<Result: FixedWidthInteger>(_ result: Result) throws(Errno) -> Result {
    if result < 0 { throw Errno(rawValue: Int32(truncatingIfNeeded: 0 - result)) }
    return result
}

/// `check`, retrying on `EINTR`: right for `read`/`write` on our own non-blocking
/// eventfd; never for `close` (Linux frees the descriptor anyway) and never for a wait
/// (the caller decides, as with mio).
@inlinable @inline(__always)
func checkRetryingOnInterrupt<Result: FixedWidthInteger>(
    _ body: () -> Result
) throws(Errno) -> Result {
    while true {
        let result = body()
        if result == Result(truncatingIfNeeded: -EINTR) { continue }
        return try check(result)
    }
}

/// Closes a descriptor we own, ignoring the result: after `close` returns, Linux has
/// released the descriptor even on `EINTR`, so retrying could close someone else's.
@inlinable @inline(__always)
func closeIgnoringErrors(_ fd: Int32) {
    _ = sp_close(fd)
}
