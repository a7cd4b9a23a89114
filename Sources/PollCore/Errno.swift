import CPollSys

/// An error number from the operating system (or from swiftpoll's own checks, which use
/// the errno the kernel would have used). Every throwing API of PollCore throws this.
public struct Errno: Error, Equatable, Sendable {
    public let rawValue: Int32

    @inlinable
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// The calling thread's current `errno`.
    @inlinable
    static var current: Errno { Errno(rawValue: sp_errno()) }

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
}

/// The one place where a C call's `-1` becomes a thrown `Errno`.
///
/// `retryOnInterrupt` retries on `EINTR`: right for `read`/`write` on our own
/// non-blocking eventfd; never for `close` (Linux frees the descriptor anyway) and never
/// for a wait (the caller decides, as with mio).
@inlinable @inline(__always)
func systemCall<Result: FixedWidthInteger>(
    retryOnInterrupt: Bool = false, _ body: () -> Result
) throws(Errno) -> Result {
    while true {
        let result = body()
        if result != -1 { return result }
        let error = Errno.current
        if retryOnInterrupt && error == .interrupted { continue }
        throw error
    }
}

/// Closes a descriptor we own, ignoring the result: after `close` returns, Linux has
/// released the descriptor even on `EINTR`, so retrying could close someone else's.
@inlinable @inline(__always)
func closeIgnoringErrors(_ fd: Int32) {
    let saved = sp_errno()
    _ = close(fd)
    sp_set_errno(saved)
}
