import CPollSys
import Synchronization

/// The operating-system selector a `Poll` runs over. The raw values are the C ABI's
/// `SWIFTPOLL_BACKEND_*`.
public enum Backend: Int32, Sendable {
    /// Linux epoll: the default on Linux.
    case epoll = 1
    /// poll(2): any POSIX system, O(registrations) per wait; edge-triggered
    /// registrations are reported level-triggered (docs/BACKENDS.md).
    case poll = 2
    /// kqueue: macOS and the BSDs, where it is the default.
    case kqueue = 3

    /// Whether this build has the backend's code (it may still be refused by the
    /// system at run time: `Poll(backend:)` then throws `.notSupported`).
    public var isCompiledIn: Bool {
        switch self {
        case .epoll:
            #if os(Linux)
            return true
            #else
            return false
            #endif
        case .poll: return true
        case .kqueue:
            #if SWIFTPOLL_KQUEUE
            return true
            #else
            return false
            #endif
        }
    }

    /// "epoll", "poll", "kqueue" (static C strings, for the C ABI too).
    public var cName: UnsafePointer<CChar> {
        switch self {
        case .epoll: return sp_backend_name(1)
        case .poll: return sp_backend_name(2)
        case .kqueue: return sp_backend_name(3)
        }
    }

    /// The backend `Poll()` uses: the environment variable `SWIFTPOLL_BACKEND` when
    /// set (read once per process), else `nil` (the system's best).
    /// - Throws: `.invalidArgument` when `SWIFTPOLL_BACKEND` names no backend, or one
    ///   this build does not have (never silently another backend).
    public static func fromEnvironment() throws(Errno) -> Backend? {
        var state = environmentChoice.load(ordering: .acquiring)
        if state == unresolved {
            state = resolveEnvironment()
            environmentChoice.store(state, ordering: .releasing)
        }
        if state == invalidChoice { throw .invalidArgument }
        return state == noChoice ? nil : Backend(rawValue: state)
    }

    private static let unresolved: Int32 = -2
    private static let invalidChoice: Int32 = -1
    private static let noChoice: Int32 = 0
    private static let environmentChoice = Atomic<Int32>(-2)

    private static func resolveEnvironment() -> Int32 {
        guard let value = sp_getenv("SWIFTPOLL_BACKEND") else { return noChoice }
        let code = sp_backend_from_name(value)
        guard code > 0, let backend = Backend(rawValue: code), backend.isCompiledIn else {
            return invalidChoice
        }
        return code
    }
}
