// The kqueue backend. Its translation (changelists, receipts, rollback, the event
// formulas, merging) is plain Swift over `KEvent` and reaches the kernel only through
// one function pointer (`KeventFunction`), so it is compiled and unit-tested in every
// normal-mode build, also on Linux without kqueue (Tests/PollCoreTests/KqueueTranslation
// Tests.swift). The real `kevent` exists only with -DSWIFTPOLL_KQUEUE (macOS, the BSDs,
// or libkqueue on Linux), and the Embedded (shipped) build contains none of this file
// unless that flag is given. docs/BACKENDS.md (kqueue in detail) says what differs from epoll.
#if SWIFTPOLL_KQUEUE || !hasFeature(Embedded)

import CPollSys
import Synchronization

#if SWIFTPOLL_KQUEUE
/// The system's `struct kevent`.
typealias KEvent = kevent
#else
/// A `struct kevent` of macOS/libkqueue's shape, for the translation tests of builds
/// that have no kqueue.
struct KEvent {
    var ident: UInt = 0
    var filter: Int16 = 0
    var flags: UInt16 = 0
    var fflags: UInt32 = 0
    var data: Int = 0
    var udata: UnsafeMutableRawPointer? = nil
    init() {}
}
#endif

/// `kevent(kq, changes, nchanges, events, nevents, timeout)` with the timeout as
/// seconds (< 0: none, block) and nanoseconds, returning the count or -errno: the one
/// seam between the backend and the kernel. `context` is the table's (tests use it;
/// the real call ignores it).
typealias KeventFunction = @convention(c) (
    UnsafeMutableRawPointer?, Int32, UnsafeRawPointer?, Int32, UnsafeMutableRawPointer?, Int32,
    Int64, Int64
) -> Int32

extension KEvent {
    static func make(ident: UInt, filter: Int16, flags: UInt16, fflags: UInt32 = 0, udata: UInt64 = 0) -> KEvent {
        var e = KEvent()
        e.ident = ident
        e.filter = filter
        e.flags = flags
        e.fflags = fflags
        e.udata = UnsafeMutableRawPointer(bitPattern: UInt(truncatingIfNeeded: udata))
        return e
    }

    /// The token carried in `udata`.
    var token: UInt64 { UInt64(UInt(bitPattern: udata)) }
    /// `data` as an errno (receipts).
    var errorCode: Int32 { Int32(truncatingIfNeeded: data) }
}

/// The kqueue constants (the system's with -DSWIFTPOLL_KQUEUE; else FreeBSD's and
/// libkqueue's values, for the translation tests), swiftpoll's `raw` bits, and the
/// translations to and from swiftpoll's interest and flags.
enum KqueueBits {
    #if SWIFTPOLL_KQUEUE
    static let READ = Int16(EVFILT_READ)
    static let WRITE = Int16(EVFILT_WRITE)
    static let USER = Int16(EVFILT_USER)
    static let ADD = UInt16(EV_ADD)
    static let DELETE = UInt16(EV_DELETE)
    static let ENABLE = UInt16(EV_ENABLE)
    static let DISABLE = UInt16(EV_DISABLE)
    static let CLEAR = UInt16(EV_CLEAR)
    static let RECEIPT = UInt16(EV_RECEIPT)
    static let DISPATCH = UInt16(EV_DISPATCH)
    static let EOF = UInt16(EV_EOF)
    static let ERROR = UInt16(EV_ERROR)
    static let TRIGGER = UInt32(NOTE_TRIGGER)
    #else
    static let READ: Int16 = -1
    static let WRITE: Int16 = -2
    static let USER: Int16 = -11
    static let ADD: UInt16 = 0x0001
    static let DELETE: UInt16 = 0x0002
    static let ENABLE: UInt16 = 0x0004
    static let DISABLE: UInt16 = 0x0008
    static let CLEAR: UInt16 = 0x0020
    static let RECEIPT: UInt16 = 0x0040
    static let DISPATCH: UInt16 = 0x0080
    static let EOF: UInt16 = 0x8000
    static let ERROR: UInt16 = 0x4000
    static let TRIGGER: UInt32 = 0x0100_0000
    #endif

    /// The ident of the waker's EVFILT_USER event (user events have their own ident
    /// space: 0 is no descriptor).
    static let wakerIdent: UInt = 0

    /// macOS refuses `tv_sec > 100_000_000` with EINVAL: longer timeouts are clamped
    /// (to about 3.2 years) on every system.
    static let maxTimeoutSeconds: Int64 = 100_000_000

    // `Event.raw` on kqueue: which kevents an event was made of, and their flags.
    /// An EVFILT_READ kevent.
    static let rawRead: UInt32 = 0x01
    /// An EVFILT_WRITE kevent.
    static let rawWrite: UInt32 = 0x02
    /// The waker's EVFILT_USER kevent.
    static let rawUser: UInt32 = 0x04
    /// EV_EOF on the EVFILT_READ kevent.
    static let rawReadEOF: UInt32 = 0x10
    /// EV_EOF on the EVFILT_WRITE kevent.
    static let rawWriteEOF: UInt32 = 0x20
    /// EV_ERROR on a kevent (its `data` was the errno).
    static let rawError: UInt32 = 0x40
    /// A kevent with EV_EOF had `fflags != 0` (the socket's pending error).
    static let rawEOFError: UInt32 = 0x80

    /// The mode flags of an interest: oneshot → EV_DISPATCH (disabled after one report,
    /// re-armed by reregister, which adds it afresh; the sibling filter is disabled by
    /// the backend), level → none, edge → EV_CLEAR.
    static func mode(for interest: Interest) -> UInt16 {
        if interest.contains(.oneshot) { return DISPATCH }
        if interest.contains(.level) { return 0 }
        return CLEAR
    }

    /// The filters of an interest, as a bit set (1 = READ, 2 = WRITE).
    static func filters(for interest: Interest) -> UInt8 {
        (interest.contains(.readable) ? 1 : 0) | (interest.contains(.writable) ? 2 : 0)
    }

    /// mio's kqueue `Event::is_*` formulas for one kevent, as swiftpoll flags:
    /// readable = READ (or the waker's USER); writable = WRITE;
    /// error = EV_ERROR, or EV_EOF with fflags != 0; read_closed = READ & EV_EOF;
    /// write_closed = WRITE & EV_EOF; priority never.
    static func flags(filter: Int16, flags: UInt16, fflags: UInt32) -> UInt32 {
        var f: UInt32 = 0
        let eof = flags & EOF != 0
        if filter == READ || filter == USER { f |= Event.Flags.readable.rawValue }
        if filter == WRITE { f |= Event.Flags.writable.rawValue }
        if flags & ERROR != 0 || (eof && fflags != 0) { f |= Event.Flags.error.rawValue }
        if filter == READ && eof { f |= Event.Flags.readClosed.rawValue }
        if filter == WRITE && eof { f |= Event.Flags.writeClosed.rawValue }
        return f
    }

    /// The `raw` bits of one kevent (see `rawRead` ...).
    static func raw(filter: Int16, flags: UInt16, fflags: UInt32) -> UInt32 {
        var r: UInt32 = 0
        let eof = flags & EOF != 0
        if filter == READ { r |= eof ? rawRead | rawReadEOF : rawRead }
        if filter == WRITE { r |= eof ? rawWrite | rawWriteEOF : rawWrite }
        if filter == USER { r |= rawUser }
        if flags & ERROR != 0 { r |= rawError }
        if eof && fflags != 0 { r |= rawEOFError }
        return r
    }

    /// A timeout as kevent's (seconds, nanoseconds); seconds < 0 for none (block).
    static func timeout(_ nanoseconds: Int64) -> (seconds: Int64, nanoseconds: Int64) {
        if nanoseconds < 0 { return (-1, 0) }
        let seconds = nanoseconds / 1_000_000_000
        if seconds >= maxTimeoutSeconds { return (maxTimeoutSeconds, 0) }
        return (seconds, nanoseconds % 1_000_000_000)
    }
}

/// The kqueue backend: macOS, FreeBSD and the other BSDs (the default there), or Linux
/// against libkqueue when built with -DSWIFTPOLL_KQUEUE. A poll, its clones and its
/// waker share one `KqueueTable`, which owns the kqueue.
public struct KqueueSelector: SelectorBackend {
    let table: KqueueTable
    /// The table's kqueue for the poll; a close-on-exec duplicate for a clone.
    public let fileDescriptor: Int32
    let ownsDescriptor: Bool

    init(table: KqueueTable, fileDescriptor: Int32, ownsDescriptor: Bool) {
        self.table = table
        self.fileDescriptor = fileDescriptor
        self.ownsDescriptor = ownsDescriptor
    }

    public static func make() throws(Errno) -> KqueueSelector {
        #if SWIFTPOLL_KQUEUE
        let kq = try check(sp_kqueue_new())
        guard let table = KqueueTable.make(kq: kq, ownsDescriptor: true, call: { c, kq, ch, n, ev, ne, s, ns in
            sp_kevent(c, kq, ch, n, ev, ne, s, ns)
        }, context: nil) else {
            closeIgnoringErrors(kq)
            throw .noMemory
        }
        return KqueueSelector(table: table, fileDescriptor: kq, ownsDescriptor: false)
        #else
        throw .notSupported
        #endif
    }

    /// A clone shares the table (and so the kqueue the table calls kevent on: libkqueue
    /// knows a kqueue only by its first descriptor); the duplicate is the clone's own
    /// `fileDescriptor`, as on epoll.
    public func duplicate() throws(Errno) -> KqueueSelector {
        let fd = try check(sp_dup_cloexec(table.kq))
        return KqueueSelector(table: table, fileDescriptor: fd, ownsDescriptor: true)
    }

    /// A clone closes its duplicate; the kqueue goes with the table's last holder.
    public func close() {
        if ownsDescriptor { closeIgnoringErrors(fileDescriptor) }
    }

    public func register(_ fd: Int32, token: Token, interest: Interest) throws(Errno) {
        try table.register(fd, token: token, interest: interest)
    }

    public func reregister(_ fd: Int32, token: Token, interest: Interest) throws(Errno) {
        try table.reregister(fd, token: token, interest: interest)
    }

    public func deregister(_ fd: Int32) throws(Errno) {
        try table.deregister(fd)
    }

    public func select(
        into events: UnsafeMutablePointer<Event>, capacity: Int, timeoutNanoseconds: Int64
    ) throws(Errno) -> Int {
        try table.select(into: events, capacity: capacity, timeoutNanoseconds: timeoutNanoseconds)
    }

    // MARK: waker

    /// The table: the waker keeps the kqueue alive as mio's duplicated descriptor does
    /// (a duplicate would not do on libkqueue, which knows the kqueue by its first fd).
    public struct WakerState: Sendable {
        let table: KqueueTable
    }

    public func makeWaker(token: Token) throws(Errno) -> WakerState {
        try table.installWaker(token: token)
        return WakerState(table: table)
    }

    public static func wake(_ waker: WakerState) throws(Errno) { try waker.table.wake() }

    public static func releaseWaker(_ waker: WakerState) { waker.table.removeWaker() }
}

/// What the table knows of one registration.
struct KqueueSlot {
    var fd: Int32
    /// The filters added to the kqueue (1 = READ, 2 = WRITE).
    var filters: UInt8
    var interest: UInt32
    var token: UInt64
    /// The file's identity at registration, to tell a closed and reused descriptor
    /// number (whose knotes the kernel dropped on close) from a second registration.
    var device: UInt64
    var inode: UInt64
}

/// The mutable part of a `KqueueTable`, in memory of its own, touched with the mutex held.
struct KqueueState {
    var slots: UnsafeMutablePointer<KqueueSlot>
    var count: Int
    var capacity: Int
    var index: FDIndex
}

/// The registrations of one kqueue (so that EEXIST and ENOENT are epoll's, and a
/// oneshot fd's sibling filter can be disabled), shared by a poll, its clones and its
/// waker; it owns the kqueue descriptor.
final class KqueueTable: @unchecked Sendable {
    /// The kqueue every kevent goes to.
    let kq: Int32
    let ownsDescriptor: Bool
    let call: KeventFunction
    let context: UnsafeMutableRawPointer?
    let state: UnsafeMutablePointer<KqueueState>
    let mutex: UnsafeMutableRawPointer
    /// The waiter's kevent buffer and, per kevent, the ident of the event it became
    /// (for merging): preallocated, so that a wait allocates nothing.
    let kevents: UnsafeMutablePointer<KEvent>
    let idents: UnsafeMutablePointer<UInt>
    /// The waker's token: every NOTE_TRIGGER carries it, as a trigger replaces udata
    /// (macOS, libkqueue#7).
    let wakerToken = Atomic<UInt64>(0)
    /// The kqueue's file identity (device, inode), to refuse it, and its duplicates,
    /// as epoll refuses itself; (0, 0) when unknown.
    let kqDevice: UInt64
    let kqInode: UInt64

    /// Kevents asked for per wait at most (events beyond wait for the next wait).
    static let waitBatch = 256
    static let initialCapacity = 8

    private init(
        kq: Int32, ownsDescriptor: Bool, call: KeventFunction, context: UnsafeMutableRawPointer?,
        state: UnsafeMutablePointer<KqueueState>, mutex: UnsafeMutableRawPointer,
        kevents: UnsafeMutablePointer<KEvent>, idents: UnsafeMutablePointer<UInt>
    ) {
        var kind: Int32 = 0
        var device: UInt64 = 0
        var inode: UInt64 = 0
        if sp_fd_identity(kq, &kind, &device, &inode) != 0 { (device, inode) = (0, 0) }
        kqDevice = device
        kqInode = inode
        self.kq = kq
        self.ownsDescriptor = ownsDescriptor
        self.call = call
        self.context = context
        self.state = state
        self.mutex = mutex
        self.kevents = kevents
        self.idents = idents
    }

    /// A table over `kq` whose kevents go through `call` (the real one, or a test's).
    /// nil when memory is short.
    static func make(
        kq: Int32, ownsDescriptor: Bool, call: KeventFunction, context: UnsafeMutableRawPointer?
    ) -> KqueueTable? {
        let n = initialCapacity
        let state = sp_realloc(nil, MemoryLayout<KqueueState>.stride)
        let slots = sp_realloc(nil, n * MemoryLayout<KqueueSlot>.stride)
        let kevents = sp_realloc(nil, waitBatch * MemoryLayout<KEvent>.stride)
        let idents = sp_realloc(nil, waitBatch * MemoryLayout<UInt>.stride)
        let mutex = sp_mutex_new()
        let index = FDIndex.make()
        guard let state, let slots, let kevents, let idents, let mutex, let index else {
            sp_free(state)
            sp_free(slots)
            sp_free(kevents)
            sp_free(idents)
            sp_mutex_free(mutex)
            index?.free()
            return nil
        }
        let s = state.bindMemory(to: KqueueState.self, capacity: 1)
        s.initialize(to: KqueueState(
            slots: slots.bindMemory(to: KqueueSlot.self, capacity: n), count: 0, capacity: n, index: index))
        return KqueueTable(
            kq: kq, ownsDescriptor: ownsDescriptor, call: call, context: context, state: s, mutex: mutex,
            kevents: kevents.bindMemory(to: KEvent.self, capacity: waitBatch),
            idents: idents.bindMemory(to: UInt.self, capacity: waitBatch))
    }

    deinit {
        sp_free(state.pointee.slots)
        state.pointee.index.free()
        state.deinitialize(count: 1)
        sp_free(state)
        sp_free(kevents)
        sp_free(idents)
        sp_mutex_free(mutex)
        if ownsDescriptor { closeIgnoringErrors(kq) }
    }

    func lock() { sp_mutex_lock(mutex) }

    func unlock() { sp_mutex_unlock(mutex) }

    // MARK: changelists

    /// Applies `count` changes (each with EV_RECEIPT) in one kevent, the receipts in a
    /// second stack array (nevents == nchanges, NULL timeout: nothing pending is
    /// drained). Writes each change's errno (0 = applied) to `results`; EINTR from
    /// kevent means every change was applied (FreeBSD's kqueue(2)).
    func apply(_ changes: UnsafePointer<KEvent>, count: Int, results: UnsafeMutablePointer<Int32>) -> Int32 {
        withUnsafeTemporaryAllocation(of: KEvent.self, capacity: 4) { receipts -> Int32 in
            let base = receipts.baseAddress!
            for i in 0..<count { (base + i).initialize(to: changes[i]) }
            let r = call(
                context, kq, UnsafeRawPointer(changes), Int32(count), UnsafeMutableRawPointer(base), Int32(count),
                -1, 0)
            for i in 0..<count { results[i] = 0 }
            if r < 0 && r != -EINTR { return r }
            // One receipt per change, in changelist order (EV_ERROR, data = errno or 0).
            // Compare nothing else: FreeBSD returns EV_ADD|EV_ERROR, the others EV_ERROR.
            if r > 0 {
                for j in 0..<min(Int(r), count) where base[j].flags & KqueueBits.ERROR != 0 {
                    results[j] = base[j].errorCode
                }
            }
            return 0
        }
    }

    /// One change of `fd`'s `filter`, with EV_RECEIPT.
    static func change(_ fd: Int32, _ filter: Int16, _ flags: UInt16, _ token: UInt64) -> KEvent {
        KEvent.make(ident: UInt(bitPattern: Int(fd)), filter: filter, flags: flags | KqueueBits.RECEIPT, udata: token)
    }

    /// The changes that take `fd` from filters `oldFilters` to `filters` with `mode`:
    /// every filter in the kqueue is deleted, then every wanted one added afresh, READ
    /// before WRITE (at most 4 changes, written to `out`; returns how many). Deletes come
    /// first: libkqueue shares one epoll registration between an fd's READ and WRITE
    /// knotes, and a delete after an add re-arms it, repeating an edge already reported. Never a modify of
    /// a knote in place: EV_CLEAR and EV_DISPATCH are fixed at EV_ADD (FreeBSD ignores
    /// them on a re-add), and libkqueue refuses a re-add without EV_CLEAR of a socket's
    /// READ knote and keeps its old udata. A fresh add re-evaluates readiness, so a
    /// reregister of a ready fd reports it again, as epoll's EPOLL_CTL_MOD does.
    static func changes(
        _ fd: Int32, token: UInt64, from oldFilters: UInt8, to filters: UInt8, mode: UInt16,
        into out: UnsafeMutablePointer<KEvent>
    ) -> Int {
        var n = 0
        if oldFilters & 1 != 0 { out[n] = change(fd, KqueueBits.READ, KqueueBits.DELETE, 0); n += 1 }
        if oldFilters & 2 != 0 { out[n] = change(fd, KqueueBits.WRITE, KqueueBits.DELETE, 0); n += 1 }
        if filters & 1 != 0 { out[n] = change(fd, KqueueBits.READ, KqueueBits.ADD | mode, token); n += 1 }
        if filters & 2 != 0 { out[n] = change(fd, KqueueBits.WRITE, KqueueBits.ADD | mode, token); n += 1 }
        return n
    }

    // MARK: registration

    func register(_ fd: Int32, token: Token, interest: Interest) throws(Errno) {
        guard interest.isValid else { throw .invalidArgument }
        // As epoll: EBADF for a closed fd, EPERM for a regular file or a directory
        // (which kqueue would accept).
        var kind: Int32 = 0
        var device: UInt64 = 0
        var inode: UInt64 = 0
        _ = try check(sp_fd_identity(fd, &kind, &device, &inode))
        if kind != 0 { throw .operationNotPermitted }
        if fd == kq || (device == kqDevice && inode == kqInode && kqInode != 0) { throw .invalidArgument }
        // No kqueue filter reports priority data on every system.
        if interest.contains(.priority) { throw .notSupported }
        let filters = KqueueBits.filters(for: interest)
        let mode = KqueueBits.mode(for: interest)
        lock()
        defer { unlock() }
        let s = state
        var reused: KqueueSlot? = nil
        if let i = s.pointee.index.find(fd) {
            let old = s.pointee.slots[i]
            if old.device == device && old.inode == inode { throw .fileExists }
            // The registered descriptor was closed and its number reused: epoll would
            // have dropped the old registration, and so did the kernel's kqueue
            // (libkqueue keeps it: the deletes below clear it).
            reused = old
        } else {
            try reserve(s.pointee.count + 1)
        }
        let oldFilters = reused?.filters ?? 0
        // Deleting first (the old knotes, if any), so that every wanted filter is a
        // fresh EV_ADD with this registration's mode.
        let error: Int32 = withUnsafeTemporaryAllocation(of: KEvent.self, capacity: 4) { list -> Int32 in
            let changes = list.baseAddress!
            let n = Self.changes(fd, token: token.rawValue, from: oldFilters, to: filters, mode: mode, into: changes)
            var results: (Int32, Int32, Int32, Int32) = (0, 0, 0, 0)
            return withUnsafeMutableBytes(of: &results) { raw -> Int32 in
                let r = raw.baseAddress!.assumingMemoryBound(to: Int32.self)
                let failed = apply(changes, count: n, results: r)
                if failed != 0 { return failed }
                var first: Int32 = 0
                for i in 0..<n where r[i] != 0 {
                    let isDelete = changes[i].flags & KqueueBits.DELETE != 0
                    // Deletes of old knotes: ENOENT (gone with the close) is expected.
                    // Adds: EPIPE on some old macOS for a pipe whose peer is gone, and
                    // the filter is in place anyway (mio#582).
                    if isDelete && r[i] == ENOENT { continue }
                    if !isDelete && r[i] == EPIPE { continue }
                    if first == 0 { first = r[i] }
                }
                if first == 0 { return 0 }
                // "An error means not registered": remove the filters that were added.
                var undo = 0
                for i in 0..<n where changes[i].flags & KqueueBits.ADD != 0 && (r[i] == 0 || r[i] == EPIPE) {
                    changes[undo] = Self.change(fd, changes[i].filter, KqueueBits.DELETE, 0)
                    undo += 1
                }
                if undo > 0 { _ = apply(changes, count: undo, results: r) }
                return first
            }
        }
        if error != 0 {
            if reused != nil { removeSlot(fd) }
            throw Errno(rawValue: error < 0 ? -error : error)
        }
        let slot = KqueueSlot(
            fd: fd, filters: filters, interest: interest.rawValue, token: token.rawValue, device: device, inode: inode)
        if reused != nil {
            s.pointee.slots[s.pointee.index.find(fd)!] = slot
            return
        }
        guard s.pointee.index.insert(fd, slot: s.pointee.count) else {
            // Nothing recorded: take the filters out again.
            withUnsafeTemporaryAllocation(of: KEvent.self, capacity: 2) { list in
                var results: (Int32, Int32) = (0, 0)
                let n = Self.changes(fd, token: 0, from: filters, to: 0, mode: 0, into: list.baseAddress!)
                withUnsafeMutableBytes(of: &results) { raw in
                    _ = apply(list.baseAddress!, count: n, results: raw.baseAddress!.assumingMemoryBound(to: Int32.self))
                }
            }
            throw .noMemory
        }
        s.pointee.slots[s.pointee.count] = slot
        s.pointee.count += 1
    }

    func reregister(_ fd: Int32, token: Token, interest: Interest) throws(Errno) {
        guard interest.isValid else { throw .invalidArgument }
        if interest.contains(.priority) { throw .notSupported }
        let identity = fileIdentity(of: fd)
        lock()
        defer { unlock() }
        let s = state
        let i = try current(fd, identity)
        let old = s.pointee.slots[i]
        let filters = KqueueBits.filters(for: interest)
        let mode = KqueueBits.mode(for: interest)
        var now = old.filters
        let error: Int32 = withUnsafeTemporaryAllocation(of: KEvent.self, capacity: 4) { list -> Int32 in
            let changes = list.baseAddress!
            let n = Self.changes(fd, token: token.rawValue, from: old.filters, to: filters, mode: mode, into: changes)
            var results: (Int32, Int32, Int32, Int32) = (0, 0, 0, 0)
            return withUnsafeMutableBytes(of: &results) { raw -> Int32 in
                let r = raw.baseAddress!.assumingMemoryBound(to: Int32.self)
                let failed = apply(changes, count: n, results: r)
                if failed != 0 { return failed }
                var first: Int32 = 0
                for j in 0..<n {
                    let bit: UInt8 = changes[j].filter == KqueueBits.READ ? 1 : 2
                    let isDelete = changes[j].flags & KqueueBits.DELETE != 0
                    // What is in the kqueue now, change by change.
                    if isDelete && (r[j] == 0 || r[j] == ENOENT) { now &= ~bit }
                    if !isDelete && (r[j] == 0 || r[j] == EPIPE) { now |= bit }
                    if r[j] == 0 || (isDelete && r[j] == ENOENT) || (!isDelete && r[j] == EPIPE) { continue }
                    if first == 0 { first = r[j] }
                }
                return first
            }
        }
        if error < 0 { throw Errno(rawValue: -error) }
        // The table follows the kqueue, also after a partial failure.
        s.pointee.slots[i].filters = now
        if error != 0 { throw Errno(rawValue: error) }
        s.pointee.slots[i].token = token.rawValue
        s.pointee.slots[i].interest = interest.rawValue
    }

    func deregister(_ fd: Int32) throws(Errno) {
        let identity = fileIdentity(of: fd)
        lock()
        defer { unlock() }
        let s = state
        let i = try current(fd, identity)
        let old = s.pointee.slots[i]
        let error: Int32 = withUnsafeTemporaryAllocation(of: KEvent.self, capacity: 2) { list -> Int32 in
            let changes = list.baseAddress!
            let n = Self.changes(fd, token: 0, from: old.filters, to: 0, mode: 0, into: changes)
            var results: (Int32, Int32) = (0, 0)
            return withUnsafeMutableBytes(of: &results) { raw -> Int32 in
                let r = raw.baseAddress!.assumingMemoryBound(to: Int32.self)
                let failed = apply(changes, count: n, results: r)
                if failed != 0 { return failed }
                for j in 0..<n where r[j] != 0 && r[j] != ENOENT { return r[j] }
                return 0
            }
        }
        // Forgotten whatever the kqueue said: a closed fd's knotes are gone with it
        // (EBADF, as epoll says for a closed fd; the registration is gone there too).
        removeSlot(fd)
        if error != 0 { throw Errno(rawValue: error < 0 ? -error : error) }
    }


    /// The slot of `fd` if its registration is still the file's, with the mutex held.
    /// Otherwise epoll's answer: not in the table → EBADF for a closed fd, else ENOENT;
    /// in the table but its file closed (EBADF) or the number now another file's
    /// (ENOENT: epoll forgot the old file, the new one was never registered) → the
    /// registration is forgotten (its knotes deleted where still there: libkqueue
    /// keeps a closed fd's knotes) and that error thrown.
    func current(_ fd: Int32, _ identity: (error: Int32, device: UInt64, inode: UInt64)) throws(Errno) -> Int {
        // FDIndex marks empty entries with -1: never look a negative fd up.
        guard fd >= 0, let i = state.pointee.index.find(fd) else {
            throw identity.error == EBADF ? .badFileDescriptor : .noSuchFileOrDirectory
        }
        let slot = state.pointee.slots[i]
        let stale: Errno? = identity.error != 0 ? Errno(rawValue: identity.error)
            : slot.device != identity.device || slot.inode != identity.inode ? .noSuchFileOrDirectory : nil
        guard let stale else { return i }
        withUnsafeTemporaryAllocation(of: KEvent.self, capacity: 2) { list in
            var results: (Int32, Int32) = (0, 0)
            let n = Self.changes(fd, token: 0, from: slot.filters, to: 0, mode: 0, into: list.baseAddress!)
            withUnsafeMutableBytes(of: &results) { raw in
                _ = apply(list.baseAddress!, count: n, results: raw.baseAddress!.assumingMemoryBound(to: Int32.self))
            }
        }
        removeSlot(fd)
        throw stale
    }

    /// Removes `fd`'s slot (present); with the mutex held.
    func removeSlot(_ fd: Int32) {
        let s = state
        guard let i = s.pointee.index.find(fd) else { return }
        s.pointee.index.remove(fd)
        let last = s.pointee.count - 1
        if i != last {
            s.pointee.slots[i] = s.pointee.slots[last]
            s.pointee.index.update(s.pointee.slots[i].fd, slot: i)
        }
        s.pointee.count = last
    }

    /// Room for `needed` slots; with the mutex held. Allocates only when registrations
    /// outgrow the table (doubling).
    func reserve(_ needed: Int) throws(Errno) {
        let s = state
        let old = s.pointee.capacity
        guard needed > old else { return }
        let n = max(old * 2, needed)
        guard let slots = sp_realloc(s.pointee.slots, n * MemoryLayout<KqueueSlot>.stride) else { throw .noMemory }
        s.pointee.slots = slots.bindMemory(to: KqueueSlot.self, capacity: n)
        s.pointee.capacity = n
    }

    /// The registration of `fd` as the table has it (tests).
    func slot(_ fd: Int32) -> KqueueSlot? {
        lock()
        defer { unlock() }
        guard fd >= 0, let i = state.pointee.index.find(fd) else { return nil }
        return state.pointee.slots[i]
    }

    // MARK: waiting

    /// One kevent for at most `capacity` kevents (and `waitBatch`), turned into events:
    /// READ and WRITE kevents of one fd become one event (flags and raw bits or-ed),
    /// so never more events than kevents, nor than `capacity`.
    func select(
        into events: UnsafeMutablePointer<Event>, capacity: Int, timeoutNanoseconds: Int64
    ) throws(Errno) -> Int {
        let wanted = Int32(min(capacity, Self.waitBatch))
        let (seconds, nanoseconds) = KqueueBits.timeout(timeoutNanoseconds)
        let got = try check(call(context, kq, nil, 0, UnsafeMutableRawPointer(kevents), wanted, seconds, nanoseconds))
        return translate(count: Int(got), into: events)
    }

    /// Turns the first `count` kevents of the buffer into events (merging), then
    /// disables the sibling filter of every oneshot fd that fired on one filter only.
    func translate(count: Int, into events: UnsafeMutablePointer<Event>) -> Int {
        var produced = 0
        var dispatched = false
        for k in 0..<count {
            let e = kevents[k]
            let flags = KqueueBits.flags(filter: e.filter, flags: e.flags, fflags: e.fflags)
            let raw = KqueueBits.raw(filter: e.filter, flags: e.flags, fflags: e.fflags)
            if e.flags & KqueueBits.DISPATCH != 0 { dispatched = true }
            // Merge with an earlier event of the same fd (READ with WRITE).
            var merged = false
            if e.filter == KqueueBits.READ || e.filter == KqueueBits.WRITE {
                var j = produced
                while j > 0 {
                    j -= 1
                    if idents[j] == e.ident && events[j].raw & (KqueueBits.rawRead | KqueueBits.rawWrite) != 0
                        && events[j].token.rawValue == e.token {
                        events[j].flags = Event.Flags(rawValue: events[j].flags.rawValue | flags)
                        events[j].raw |= raw
                        merged = true
                        break
                    }
                }
            }
            if merged { continue }
            idents[produced] = e.filter == KqueueBits.USER ? UInt.max : e.ident
            events[produced] = Event(token: Token(e.token), flags: Event.Flags(rawValue: flags), raw: raw)
            produced += 1
        }
        if dispatched { disableSiblings(count: count) }
        return produced
    }

    /// EV_DISPATCH is per filter; epoll's oneshot is per fd: when one filter of a
    /// oneshot fd fired without the other, disable the other (reregister re-enables it).
    func disableSiblings(count: Int) {
        lock()
        defer { unlock() }
        withUnsafeTemporaryAllocation(of: KEvent.self, capacity: 4) { list in
            let changes = list.baseAddress!
            var results: (Int32, Int32, Int32, Int32) = (0, 0, 0, 0)
            withUnsafeMutableBytes(of: &results) { raw in
                let r = raw.baseAddress!.assumingMemoryBound(to: Int32.self)
                var n = 0
                for k in 0..<count {
                    let e = kevents[k]
                    guard e.flags & KqueueBits.DISPATCH != 0,
                          e.filter == KqueueBits.READ || e.filter == KqueueBits.WRITE else { continue }
                    let fd = Int32(truncatingIfNeeded: Int(bitPattern: e.ident))
                    guard fd >= 0, let i = state.pointee.index.find(fd) else { continue }
                    let slot = state.pointee.slots[i]
                    let sibling = e.filter == KqueueBits.READ ? KqueueBits.WRITE : KqueueBits.READ
                    let siblingBit: UInt8 = sibling == KqueueBits.READ ? 1 : 2
                    guard slot.filters & siblingBit != 0,
                          slot.interest & Interest.oneshot.rawValue != 0 else { continue }
                    // Both fired in this wait: the kernel has disabled both already.
                    var both = false
                    for m in 0..<count where m != k && kevents[m].ident == e.ident && kevents[m].filter == sibling {
                        both = true
                    }
                    if both { continue }
                    changes[n] = Self.change(fd, sibling, KqueueBits.DISABLE, slot.token)
                    n += 1
                    if n == 4 {
                        _ = apply(changes, count: n, results: r)
                        n = 0
                    }
                }
                if n > 0 { _ = apply(changes, count: n, results: r) }
            }
        }
    }

    // MARK: waker

    /// EVFILT_USER, edge-triggered (EV_CLEAR: wakes before a wait coalesce into one
    /// event), reported with `token`.
    func installWaker(token: Token) throws(Errno) {
        wakerToken.store(token.rawValue, ordering: .releasing)
        var change = KEvent.make(
            ident: KqueueBits.wakerIdent, filter: KqueueBits.USER,
            flags: KqueueBits.ADD | KqueueBits.CLEAR | KqueueBits.RECEIPT, udata: token.rawValue)
        var result: Int32 = 0
        let failed = apply(&change, count: 1, results: &result)
        if failed != 0 { throw Errno(rawValue: -failed) }
        if result != 0 { throw Errno(rawValue: result) }
    }

    func removeWaker() {
        var change = KEvent.make(
            ident: KqueueBits.wakerIdent, filter: KqueueBits.USER, flags: KqueueBits.DELETE | KqueueBits.RECEIPT)
        var result: Int32 = 0
        _ = apply(&change, count: 1, results: &result)
    }

    /// One kevent: NOTE_TRIGGER with the token, flags 0 (an EV_ADD without EV_CLEAR here is reported
    /// to make macOS fire the event forever: smol-rs/polling PR #265). No receipt is
    /// asked for, so nothing pending is drained (nevents 0).
    func wake() throws(Errno) {
        var change = KEvent.make(
            ident: KqueueBits.wakerIdent, filter: KqueueBits.USER, flags: 0, fflags: KqueueBits.TRIGGER,
            udata: wakerToken.load(ordering: .acquiring))
        _ = try check(call(context, kq, &change, 1, nil, 0, -1, 0))
    }
}

#endif
