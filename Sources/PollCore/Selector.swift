/// The interface every OS backend implements (one file each: `EpollSelector`,
/// `PollSelector`, `KqueueSelector`). `Poll`, `Registry` and `Waker` reach a backend
/// only through `Selector`, an enum over the backends compiled into this build: a
/// `switch`, never an existential (Embedded Swift has none), and on the epoll path
/// one predictable branch.
public protocol SelectorBackend: Sendable {
    /// What a `Waker` of this backend holds.
    associatedtype WakerState: Sendable

    /// Creates a new selector (close-on-exec).
    static func make() throws(Errno) -> Self
    /// An independent handle on the same selector (for `Registry.tryClone()`).
    func duplicate() throws(Errno) -> Self
    /// Releases this handle.
    func close()
    /// The descriptor of the selector, or -1 where it has none (poll(2)).
    var fileDescriptor: Int32 { get }

    func register(_ fd: Int32, token: Token, interest: Interest) throws(Errno)
    func reregister(_ fd: Int32, token: Token, interest: Interest) throws(Errno)
    func deregister(_ fd: Int32) throws(Errno)

    /// Waits and writes up to `capacity` events to `events`, returning how many.
    /// `timeoutNanoseconds < 0` waits forever, `0` does not block.
    func select(
        into events: UnsafeMutablePointer<Event>, capacity: Int, timeoutNanoseconds: Int64
    ) throws(Errno) -> Int

    /// Sets up the selector's user wake-up, reported with `token` as readable.
    func makeWaker(token: Token) throws(Errno) -> WakerState
    /// Wakes the selector: never blocks, async-signal-safe.
    static func wake(_ waker: WakerState) throws(Errno)
    /// Tears the wake-up down (wakes not yet reported are lost).
    static func releaseWaker(_ waker: WakerState)
}

/// A selector of one of the compiled-in backends.
@usableFromInline
enum Selector: Sendable {
    #if os(Linux)
    case epoll(EpollSelector)
    #endif
    case poll(PollSelector)
    #if SWIFTPOLL_KQUEUE
    case kqueue(KqueueSelector)
    #endif

    /// The system's best backend when nothing is asked for.
    static var systemDefault: Backend {
        #if os(Linux)
        return .epoll
        #elseif SWIFTPOLL_KQUEUE
        return .kqueue
        #else
        return .poll
        #endif
    }

    /// A new selector of `backend`.
    /// - Throws: `.notSupported` if this build lacks it or the system refuses it
    ///   (ENOSYS, as under a seccomp filter), and what creating it throws.
    static func make(_ backend: Backend) throws(Errno) -> Selector {
        do throws(Errno) {
            switch backend {
            case .epoll:
                #if os(Linux)
                return .epoll(try EpollSelector.make())
                #else
                throw Errno.notSupported
                #endif
            case .poll:
                return .poll(try PollSelector.make())
            case .kqueue:
                #if SWIFTPOLL_KQUEUE
                return .kqueue(try KqueueSelector.make())
                #else
                throw Errno.notSupported
                #endif
            }
        } catch {
            throw error == .notImplemented ? .notSupported : error
        }
    }

    var backend: Backend {
        switch self {
        #if os(Linux)
        case .epoll: return .epoll
        #endif
        case .poll: return .poll
        #if SWIFTPOLL_KQUEUE
        case .kqueue: return .kqueue
        #endif
        }
    }

    func duplicate() throws(Errno) -> Selector {
        switch self {
        #if os(Linux)
        case .epoll(let s): return .epoll(try s.duplicate())
        #endif
        case .poll(let s): return .poll(try s.duplicate())
        #if SWIFTPOLL_KQUEUE
        case .kqueue(let s): return .kqueue(try s.duplicate())
        #endif
        }
    }

    func close() {
        switch self {
        #if os(Linux)
        case .epoll(let s): s.close()
        #endif
        case .poll(let s): s.close()
        #if SWIFTPOLL_KQUEUE
        case .kqueue(let s): s.close()
        #endif
        }
    }

    var fileDescriptor: Int32 {
        switch self {
        #if os(Linux)
        case .epoll(let s): return s.fileDescriptor
        #endif
        case .poll(let s): return s.fileDescriptor
        #if SWIFTPOLL_KQUEUE
        case .kqueue(let s): return s.fileDescriptor
        #endif
        }
    }

    @inlinable @inline(__always)
    func register(_ fd: Int32, token: Token, interest: Interest) throws(Errno) {
        switch self {
        #if os(Linux)
        case .epoll(let s): try s.register(fd, token: token, interest: interest)
        #endif
        case .poll(let s): try Selector.outOfLine { () throws(Errno) in try s.register(fd, token: token, interest: interest) }
        #if SWIFTPOLL_KQUEUE
        case .kqueue(let s): try Selector.outOfLine { () throws(Errno) in try s.register(fd, token: token, interest: interest) }
        #endif
        }
    }

    @inlinable @inline(__always)
    func reregister(_ fd: Int32, token: Token, interest: Interest) throws(Errno) {
        switch self {
        #if os(Linux)
        case .epoll(let s): try s.reregister(fd, token: token, interest: interest)
        #endif
        case .poll(let s): try Selector.outOfLine { () throws(Errno) in try s.reregister(fd, token: token, interest: interest) }
        #if SWIFTPOLL_KQUEUE
        case .kqueue(let s): try Selector.outOfLine { () throws(Errno) in try s.reregister(fd, token: token, interest: interest) }
        #endif
        }
    }

    @inlinable @inline(__always)
    func deregister(_ fd: Int32) throws(Errno) {
        switch self {
        #if os(Linux)
        case .epoll(let s): try s.deregister(fd)
        #endif
        case .poll(let s): try Selector.outOfLine { () throws(Errno) in try s.deregister(fd) }
        #if SWIFTPOLL_KQUEUE
        case .kqueue(let s): try Selector.outOfLine { () throws(Errno) in try s.deregister(fd) }
        #endif
        }
    }

    @inlinable @inline(__always)
    func select(
        into events: UnsafeMutablePointer<Event>, capacity: Int, timeoutNanoseconds: Int64
    ) throws(Errno) -> Int {
        switch self {
        #if os(Linux)
        case .epoll(let s):
            return try s.select(into: events, capacity: capacity, timeoutNanoseconds: timeoutNanoseconds)
        #endif
        case .poll(let s):
            return try Selector.outOfLine { () throws(Errno) in
                try s.select(into: events, capacity: capacity, timeoutNanoseconds: timeoutNanoseconds)
            }
        #if SWIFTPOLL_KQUEUE
        case .kqueue(let s):
            return try Selector.outOfLine { () throws(Errno) in
                try s.select(into: events, capacity: capacity, timeoutNanoseconds: timeoutNanoseconds)
            }
        #endif
        }
    }

    /// Keeps the other backends' calls out of the hot functions, so that the epoll
    /// case stays small enough to be inlined whole into the C ABI's functions (the
    /// epoll path costs what it cost before there were other backends).
    @usableFromInline @inline(never)
    static func outOfLine<R>(_ body: () throws(Errno) -> R) throws(Errno) -> R {
        try body()
    }

    func makeWaker(token: Token) throws(Errno) -> WakerState {
        switch self {
        #if os(Linux)
        case .epoll(let s): return .epoll(try s.makeWaker(token: token))
        #endif
        case .poll(let s): return .poll(try s.makeWaker(token: token))
        #if SWIFTPOLL_KQUEUE
        case .kqueue(let s): return .kqueue(try s.makeWaker(token: token))
        #endif
        }
    }
}

/// A waker's backend state.
@usableFromInline
enum WakerState: Sendable {
    #if os(Linux)
    case epoll(EpollSelector.WakerState)
    #endif
    case poll(PollSelector.WakerState)
    #if SWIFTPOLL_KQUEUE
    case kqueue(KqueueSelector.WakerState)
    #endif

    @inlinable @inline(__always)
    func wake() throws(Errno) {
        switch self {
        #if os(Linux)
        case .epoll(let w): try EpollSelector.wake(w)
        #endif
        case .poll(let w): try Selector.outOfLine { () throws(Errno) in try PollSelector.wake(w) }
        #if SWIFTPOLL_KQUEUE
        case .kqueue(let w): try Selector.outOfLine { () throws(Errno) in try KqueueSelector.wake(w) }
        #endif
        }
    }

    func release() {
        switch self {
        #if os(Linux)
        case .epoll(let w): EpollSelector.releaseWaker(w)
        #endif
        case .poll(let w): PollSelector.releaseWaker(w)
        #if SWIFTPOLL_KQUEUE
        case .kqueue(let w): KqueueSelector.releaseWaker(w)
        #endif
        }
    }
}
