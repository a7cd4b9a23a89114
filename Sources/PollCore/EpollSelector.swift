import CPollSys
import Synchronization

/// The Linux backend: one epoll instance.
public struct EpollSelector: SelectorBackend {
    public let fileDescriptor: Int32

    @usableFromInline
    init(fileDescriptor: Int32) { self.fileDescriptor = fileDescriptor }

    public static func make() throws(Errno) -> EpollSelector {
        let fd = try check(sp_epoll_create1(Int32(EPOLL_CLOEXEC)))
        return EpollSelector(fileDescriptor: fd)
    }

    public func duplicate() throws(Errno) -> EpollSelector {
        EpollSelector(fileDescriptor: try check(sp_dup_cloexec(fileDescriptor)))
    }

    public func close() { closeIgnoringErrors(fileDescriptor) }

    // MARK: registration

    @inlinable
    public func register(_ fd: Int32, token: Token, interest: Interest) throws(Errno) {
        try control(EPOLL_CTL_ADD, fd, token: token, interest: interest)
    }

    @inlinable
    public func reregister(_ fd: Int32, token: Token, interest: Interest) throws(Errno) {
        try control(EPOLL_CTL_MOD, fd, token: token, interest: interest)
    }

    @inlinable
    public func deregister(_ fd: Int32) throws(Errno) {
        _ = try check(sp_epoll_ctl(fileDescriptor, EPOLL_CTL_DEL, fd, 0, 0))
    }

    @inlinable @inline(__always)
    func control(_ operation: Int32, _ fd: Int32, token: Token, interest: Interest) throws(Errno) {
        guard interest.isValid else { throw .invalidArgument }
        _ = try check(
            sp_epoll_ctl(fileDescriptor, operation, fd, EpollBits.mask(for: interest), token.rawValue))
    }

    // MARK: waiting

    /// epoll refuses more than INT_MAX / sizeof(struct epoll_event) events per call.
    @usableFromInline
    static let maxEvents = Int(Int32.max) / EpollBits.kernelStride

    @inlinable @inline(__always)
    public func select(
        into events: UnsafeMutablePointer<Event>, capacity: Int, timeoutNanoseconds: Int64
    ) throws(Errno) -> Int {
        let maxEvents = Int32(truncatingIfNeeded: min(capacity, EpollSelector.maxEvents))
        // The kernel writes its (12-byte on x86_64) entries at the start of the caller's
        // 16-byte entries; `widen` then spreads them out in place.
        let kernelEvents = UnsafeMutableRawPointer(events)
        var count: Int32
        if timeoutNanoseconds > 0 && EpollSelector.hasPwait2.load(ordering: .relaxed) {
            count = sp_epoll_pwait2(
                fileDescriptor, kernelEvents, maxEvents,
                timeoutNanoseconds / 1_000_000_000, timeoutNanoseconds % 1_000_000_000)
            if count == -ENOSYS {
                EpollSelector.hasPwait2.store(false, ordering: .relaxed)
                count = sp_epoll_wait(
                    fileDescriptor, kernelEvents, maxEvents, Timeout.milliseconds(timeoutNanoseconds))
            }
        } else {
            count = sp_epoll_wait(
                fileDescriptor, kernelEvents, maxEvents, Timeout.milliseconds(timeoutNanoseconds))
        }
        _ = try check(count)
        EpollBits.widen(UnsafeMutableRawPointer(events), count: Int(count))
        return Int(count)
    }

    /// Cleared the first time the kernel answers ENOSYS to epoll_pwait2 (Linux < 5.11).
    @usableFromInline
    static let hasPwait2 = Atomic<Bool>(true)

    // MARK: waker

    /// The waker's eventfd.
    public typealias WakerState = Int32

    /// An eventfd (non-blocking, close-on-exec) registered edge-triggered and readable.
    public func makeWaker(token: Token) throws(Errno) -> Int32 {
        let fd = try check(sp_eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK)))
        do {
            try register(fd, token: token, interest: .readable)
        } catch {
            closeIgnoringErrors(fd)
            throw error
        }
        return fd
    }

    @inlinable @inline(__always)
    public static func wake(_ fd: Int32) throws(Errno) { try wakeEventFD(fd) }

    public static func releaseWaker(_ fd: Int32) { closeIgnoringErrors(fd) }
}

/// The epoll bits, and their translation to and from swiftpoll's.
@usableFromInline
enum EpollBits {
    @usableFromInline static let IN: UInt32 = 0x001
    @usableFromInline static let PRI: UInt32 = 0x002
    @usableFromInline static let OUT: UInt32 = 0x004
    @usableFromInline static let ERR: UInt32 = 0x008
    @usableFromInline static let HUP: UInt32 = 0x010
    @usableFromInline static let RDHUP: UInt32 = 0x2000
    @usableFromInline static let ONESHOT: UInt32 = 1 << 30
    @usableFromInline static let ET: UInt32 = 1 << 31

    #if arch(x86_64)
    /// struct epoll_event is packed on x86_64: u32 events, then u64 data at offset 4.
    @usableFromInline static let kernelStride = 12
    #else
    @usableFromInline static let kernelStride = 16
    #endif
    @usableFromInline static let kernelDataOffset = kernelStride - 8

    /// Interest to epoll flags: READABLE asks for EPOLLRDHUP too (mio), so a peer's
    /// shutdown is seen; edge unless `.level`; `.oneshot` disarms after one report.
    @inlinable @inline(__always)
    static func mask(for interest: Interest) -> UInt32 {
        let r = interest.rawValue
        var mask: UInt32 = 0
        if r & Interest.readable.rawValue != 0 { mask |= IN | RDHUP }
        if r & Interest.writable.rawValue != 0 { mask |= OUT }
        if r & Interest.priority.rawValue != 0 { mask |= PRI }
        if r & Interest.oneshot.rawValue != 0 {
            mask |= ONESHOT
        } else if r & Interest.level.rawValue == 0 {
            mask |= ET
        }
        return mask
    }

    /// mio's `Event::is_*` formulas, as flag bits, without branches (this runs once per
    /// event on the burst path):
    /// readable = IN|PRI; writable = OUT; error = ERR; read_closed = HUP | (IN & RDHUP);
    /// write_closed = HUP | (OUT & ERR) | (e == ERR); priority = PRI.
    @inlinable @inline(__always)
    static func flags(_ e: UInt32) -> UInt32 {
        let isIn = e & 1, pri = (e >> 1) & 1, out = (e >> 2) & 1
        let err = (e >> 3) & 1, hup = (e >> 4) & 1, rdhup = (e >> 13) & 1
        let errAlone: UInt32 = e == ERR ? 1 : 0
        let readClosed = hup | (isIn & rdhup)
        let writeClosed = hup | (out & err) | errAlone
        return (isIn | pri) | out << 1 | err << 2 | readClosed << 3 | writeClosed << 4 | pri << 5
    }

    /// Turns `count` kernel entries at the start of `buffer` into `Event`s in place,
    /// last to first: entry i moves from offset 12·i to 16·i, which never overwrites an
    /// entry not yet moved, and each entry is read whole before it is written.
    @inlinable @inline(__always)
    static func widen(_ buffer: UnsafeMutableRawPointer, count: Int) {
        var i = count
        while i > 0 {
            i -= 1
            let source = buffer + i &* kernelStride
            let bits = source.loadUnaligned(as: UInt32.self)
            let data = source.loadUnaligned(fromByteOffset: kernelDataOffset, as: UInt64.self)
            let target = buffer + i &* 16
            target.storeBytes(of: data, as: UInt64.self)
            // The common cases without the general formula: IN alone, OUT alone.
            let f: UInt32 = bits == IN ? 0x01 : bits == OUT ? 0x02 : flags(bits)
            target.storeBytes(of: f, toByteOffset: 8, as: UInt32.self)
            target.storeBytes(of: bits, toByteOffset: 12, as: UInt32.self)
        }
    }
}
