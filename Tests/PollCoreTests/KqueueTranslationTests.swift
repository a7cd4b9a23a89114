// The kqueue backend's translation, through its one seam (`KeventFunction`): a
// recording kqueue model stands in for kevent(2), so these run on any build, also on
// Linux without kqueue (make test). They check the exact changelists of register,
// reregister and deregister (filters, flags, order, udata), receipts with per-change
// errors, the rollback of a partly failed register, the event formulas on synthetic
// kevents, the merging of READ and WRITE, capacity and the timeout.
//
// The descriptors registered are real (pipes, sockets, a regular file): the backend
// fstat's them as epoll's rules require. Real readiness is tested against libkqueue by
// KqueueReadinessTests (make test-kqueue).

import Glibc
import Testing
@testable import PollCore

/// The kevent(2) stand-in: records every call, keeps the set of knotes like a kqueue
/// would (EV_ADD adds, EV_DELETE removes or fails with ENOENT), fails the changes it is
/// told to, and returns the kevents it is given for the next wait.
final class KqueueModel: @unchecked Sendable {
    struct Call {
        var changes: [KEvent]
        var nevents: Int32
        var seconds: Int64
        var nanoseconds: Int64
        var eventsPointerIsChanges: Bool
    }
    struct Knote: Equatable {
        var ident: UInt
        var filter: Int16
        var flags: UInt16
        var udata: UInt64
        var enabled: Bool
    }

    var calls: [Call] = []
    var knotes: [Knote] = []
    /// errno for a change: (ident, filter, EV_ADD or EV_DELETE or EV_DISABLE) → errno.
    var failures: [String: Int32] = [:]
    /// What the whole call returns instead (e.g. -EINTR, -ENOMEM), once.
    var nextResult: Int32? = nil
    /// kevents the next waits return (one array per wait).
    var pending: [[KEvent]] = []
    /// Receipts as FreeBSD writes them (the change's flags | EV_ERROR) when true, as
    /// OpenBSD/NetBSD (EV_ERROR only) when false.
    var freeBSDReceipts = true

    static func key(_ ident: UInt, _ filter: Int16, _ op: UInt16) -> String { "\(ident)/\(filter)/\(op)" }

    func fail(_ fd: Int32, _ filter: Int16, _ op: UInt16, _ code: Int32) {
        failures[Self.key(UInt(fd), filter, op)] = code
    }

    func knote(_ fd: Int32, _ filter: Int16) -> Knote? {
        knotes.first { $0.ident == UInt(fd) && $0.filter == filter }
    }

    func kevent(
        _ changes: UnsafeRawPointer?, _ nchanges: Int32, _ events: UnsafeMutableRawPointer?, _ nevents: Int32,
        _ seconds: Int64, _ nanoseconds: Int64
    ) -> Int32 {
        let list = changes.map { Array(UnsafeBufferPointer(start: $0.assumingMemoryBound(to: KEvent.self), count: Int(nchanges))) } ?? []
        calls.append(Call(
            changes: list, nevents: nevents, seconds: seconds, nanoseconds: nanoseconds,
            eventsPointerIsChanges: changes != nil && UnsafeRawPointer(events) == changes))
        var receipts: [KEvent] = []
        for change in list {
            let op = change.flags & (KqueueBits.ADD | KqueueBits.DELETE | KqueueBits.DISABLE)
            var code = failures[Self.key(change.ident, change.filter, op)] ?? 0
            if code == 0 {
                if change.flags & KqueueBits.DELETE != 0 {
                    if let i = knotes.firstIndex(where: { $0.ident == change.ident && $0.filter == change.filter }) {
                        knotes.remove(at: i)
                    } else {
                        code = ENOENT
                    }
                } else if change.flags & KqueueBits.ADD != 0 {
                    let mode = change.flags & (KqueueBits.CLEAR | KqueueBits.DISPATCH)
                    if let i = knotes.firstIndex(where: { $0.ident == change.ident && $0.filter == change.filter }) {
                        // As FreeBSD: a re-add keeps the mode flags, updates udata.
                        knotes[i].udata = change.token
                        knotes[i].enabled = true
                    } else {
                        knotes.append(Knote(ident: change.ident, filter: change.filter, flags: mode, udata: change.token, enabled: true))
                    }
                } else if change.flags & KqueueBits.DISABLE != 0 {
                    if let i = knotes.firstIndex(where: { $0.ident == change.ident && $0.filter == change.filter }) {
                        knotes[i].enabled = false
                    } else {
                        code = ENOENT
                    }
                }
            }
            var receipt = change
            receipt.flags = (freeBSDReceipts ? change.flags & ~KqueueBits.RECEIPT : 0) | KqueueBits.ERROR
            receipt.data = Int(code)
            if change.flags & KqueueBits.RECEIPT != 0 || code != 0 { receipts.append(receipt) }
        }
        if let result = nextResult {
            nextResult = nil
            return result
        }
        if !list.isEmpty {
            let out = events?.assumingMemoryBound(to: KEvent.self)
            let n = min(receipts.count, Int(nevents))
            for i in 0..<n { out![i] = receipts[i] }
            if n == 0, let first = receipts.first { return -Int32(first.data) }
            return Int32(n)
        }
        guard !pending.isEmpty else { return 0 }
        let batch = pending.removeFirst()
        let n = min(batch.count, Int(nevents))
        let out = events!.assumingMemoryBound(to: KEvent.self)
        for i in 0..<n { out[i] = batch[i] }
        return Int32(n)
    }
}

private let modelKevent: KeventFunction = { context, _, changes, nchanges, events, nevents, seconds, nanoseconds in
    Unmanaged<KqueueModel>.fromOpaque(context!).takeUnretainedValue()
        .kevent(changes, nchanges, events, nevents, seconds, nanoseconds)
}

/// A kqueue selector over a model (descriptor 1000: never one of ours).
struct ModelSelector {
    let model = KqueueModel()
    let selector: KqueueSelector

    init() {
        let table = KqueueTable.make(
            kq: 1000, ownsDescriptor: false, call: modelKevent,
            context: Unmanaged.passUnretained(model).toOpaque())!
        selector = KqueueSelector(table: table, fileDescriptor: 1000, ownsDescriptor: false)
    }

    /// The changelists of the calls made since the last look.
    func takeChanges() -> [[Change]] {
        defer { model.calls.removeAll() }
        return model.calls.map { $0.changes.map(Change.init) }
    }

    func wait(capacity: Int = 64, timeout: Int64 = 0) throws(Errno) -> [Event] {
        var events = [Event](repeating: Event(token: Token(0), flags: []), count: capacity)
        let n = try events.withUnsafeMutableBufferPointer { buffer throws(Errno) in
            try selector.select(into: buffer.baseAddress!, capacity: capacity, timeoutNanoseconds: timeout)
        }
        return Array(events[0..<n])
    }
}

/// A change as the tests spell it.
struct Change: Equatable, CustomStringConvertible {
    var ident: UInt
    var filter: Int16
    var flags: UInt16
    var fflags: UInt32 = 0
    var udata: UInt64

    init(_ ident: Int32, _ filter: Int16, _ flags: UInt16, fflags: UInt32 = 0, udata: UInt64) {
        self.ident = UInt(ident)
        self.filter = filter
        self.flags = flags
        self.fflags = fflags
        self.udata = udata
    }

    init(_ e: KEvent) {
        ident = e.ident
        filter = e.filter
        flags = e.flags
        fflags = e.fflags
        udata = e.token
    }

    var description: String {
        let f = filter == KqueueBits.READ ? "READ" : filter == KqueueBits.WRITE ? "WRITE" : filter == KqueueBits.USER ? "USER" : "\(filter)"
        return "(\(ident), \(f), 0x\(String(flags, radix: 16)), fflags 0x\(String(fflags, radix: 16)), udata \(udata))"
    }
}

private let R = KqueueBits.READ
private let W = KqueueBits.WRITE
private let ADD = KqueueBits.ADD | KqueueBits.RECEIPT
private let DEL = KqueueBits.DELETE | KqueueBits.RECEIPT
private let CLEAR = KqueueBits.CLEAR
private let DISPATCH = KqueueBits.DISPATCH

/// A synthetic kevent as the kernel returns it.
func kev(_ fd: Int32, _ filter: Int16, flags: UInt16 = 0, fflags: UInt32 = 0, udata: UInt64) -> KEvent {
    KEvent.make(ident: UInt(fd), filter: filter, flags: flags, fflags: fflags, udata: udata)
}

@Suite("kqueue translation (model kevent)")
struct KqueueTranslationTests {
    @Test("register: one change per filter, READ then WRITE, with the mode's flag and the token; receipts on a stack array, no timeout")
    func registerChangelists() throws {
        let m = ModelSelector()
        let a = try makeSocketPair()
        defer { closeFD(a.0); closeFD(a.1) }
        let p = try makePipe()
        defer { closeFD(p.read); closeFD(p.write) }

        try m.selector.register(a.0, token: Token(7), interest: [.readable, .writable])
        try m.selector.register(a.1, token: Token(8), interest: [.writable, .level])
        try m.selector.register(p.read, token: Token(UInt64.max), interest: [.readable, .oneshot])
        #expect(m.takeChanges() == [
            [Change(a.0, R, ADD | CLEAR, udata: 7), Change(a.0, W, ADD | CLEAR, udata: 7)],
            [Change(a.1, W, ADD, udata: 8)],
            [Change(p.read, R, ADD | DISPATCH, udata: UInt64.max)],
        ])
        try m.selector.register(p.write, token: Token(9), interest: .writable)
        let call = try #require(m.model.calls.last)
        // nevents == nchanges, NULL timeout, receipts not written over the changelist.
        #expect(call.nevents == 1)
        #expect(call.seconds < 0)
        #expect(!call.eventsPointerIsChanges)
        #expect(m.model.knotes.count == 5)
    }

    @Test("register: EEXIST for a second registration, EPERM for a regular file, EBADF, EINVAL, ENOTSUP for priority: no kevent call")
    func registerErrors() throws {
        let m = ModelSelector()
        let p = try makePipe()
        defer { closeFD(p.read); closeFD(p.write) }
        try m.selector.register(p.read, token: Token(1), interest: .readable)
        _ = m.takeChanges()

        #expect(throws: Errno.fileExists) { try m.selector.register(p.read, token: Token(2), interest: .writable) }
        var path = Array("/tmp/swiftpoll-kq-XXXXXX".utf8CString)
        let file = mkstemp(&path)
        #expect(file >= 0)
        defer { closeFD(file); unlink(path) }
        #expect(throws: Errno.operationNotPermitted) { try m.selector.register(file, token: Token(3), interest: .readable) }
        #expect(throws: Errno.badFileDescriptor) { try m.selector.register(-1, token: Token(3), interest: .readable) }
        #expect(throws: Errno.invalidArgument) {
            try m.selector.register(p.write, token: Token(3), interest: Interest(rawValue: 0x100))
        }
        #expect(throws: Errno.notSupported) { try m.selector.register(p.write, token: Token(3), interest: .priority) }
        #expect(throws: Errno.notSupported) {
            try m.selector.register(p.write, token: Token(3), interest: [.writable, .priority])
        }
        #expect(throws: Errno.noSuchFileOrDirectory) { try m.selector.reregister(p.write, token: Token(3), interest: .writable) }
        #expect(throws: Errno.noSuchFileOrDirectory) { try m.selector.deregister(p.write) }
        #expect(throws: Errno.notSupported) { try m.selector.reregister(p.read, token: Token(3), interest: [.readable, .priority]) }
        // Negative descriptors: EBADF (FDIndex marks its empty entries with -1).
        #expect(throws: Errno.badFileDescriptor) { try m.selector.deregister(-1) }
        #expect(throws: Errno.badFileDescriptor) { try m.selector.reregister(-1, token: Token(3), interest: .readable) }
        #expect(throws: Errno.badFileDescriptor) { try m.selector.deregister(Int32.min) }
        #expect(m.takeChanges().isEmpty)
        // The first registration is untouched.
        #expect(m.model.knote(p.read, R)?.udata == 1)
    }

    @Test("register: a refused filter rolls back the one already added (an error means not registered)")
    func registerRollback() throws {
        let m = ModelSelector()
        let s = try makeSocketPair()
        defer { closeFD(s.0); closeFD(s.1) }
        m.model.fail(s.0, W, KqueueBits.ADD, EINVAL)
        #expect(throws: Errno.invalidArgument) {
            try m.selector.register(s.0, token: Token(5), interest: [.readable, .writable])
        }
        #expect(m.takeChanges() == [
            [Change(s.0, R, ADD | CLEAR, udata: 5), Change(s.0, W, ADD | CLEAR, udata: 5)],
            [Change(s.0, R, DEL, udata: 0)],
        ])
        #expect(m.model.knotes.isEmpty)
        #expect(m.selector.table.slot(s.0) == nil)
        #expect(throws: Errno.noSuchFileOrDirectory) { try m.selector.deregister(s.0) }

        // The first filter refused: nothing to undo. Receipts in OpenBSD's form too.
        m.model.freeBSDReceipts = false
        m.model.failures = [:]
        m.model.fail(s.0, R, KqueueBits.ADD, ENOMEM)
        #expect(throws: Errno.noMemory) {
            try m.selector.register(s.0, token: Token(5), interest: [.readable, .writable])
        }
        #expect(m.takeChanges() == [
            [Change(s.0, R, ADD | CLEAR, udata: 5), Change(s.0, W, ADD | CLEAR, udata: 5)],
            [Change(s.0, W, DEL, udata: 0)],
        ])
        #expect(m.model.knotes.isEmpty)

        // Once the kqueue accepts, the same registration succeeds (not EEXIST).
        m.model.failures = [:]
        try m.selector.register(s.0, token: Token(5), interest: [.readable, .writable])
        #expect(m.model.knotes.count == 2)
    }

    @Test("register: EPIPE on an add is ignored (old macOS, mio#582); EINTR from kevent means applied; a failed call registers nothing")
    func registerIgnoredErrors() throws {
        let m = ModelSelector()
        let p = try makePipe()
        defer { closeFD(p.read); closeFD(p.write) }
        m.model.fail(p.write, W, KqueueBits.ADD, EPIPE)
        try m.selector.register(p.write, token: Token(1), interest: .writable)
        #expect(m.selector.table.slot(p.write)?.filters == 2)

        m.model.nextResult = -EINTR
        try m.selector.register(p.read, token: Token(2), interest: .readable)
        #expect(m.selector.table.slot(p.read)?.token == 2)
        try m.selector.deregister(p.read)

        m.model.nextResult = -ENOMEM
        #expect(throws: Errno.noMemory) { try m.selector.register(p.read, token: Token(3), interest: .readable) }
        #expect(m.selector.table.slot(p.read) == nil)
    }

    @Test("reregister: deletes every filter in the kqueue, then adds the wanted ones afresh (the mode is fixed at EV_ADD; libkqueue refuses some re-adds)")
    func reregisterChangelists() throws {
        let m = ModelSelector()
        let s = try makeSocketPair()
        defer { closeFD(s.0); closeFD(s.1) }
        try m.selector.register(s.0, token: Token(1), interest: .readable)
        _ = m.takeChanges()

        try m.selector.reregister(s.0, token: Token(2), interest: [.readable, .writable])
        try m.selector.reregister(s.0, token: Token(3), interest: .writable)
        try m.selector.reregister(s.0, token: Token(4), interest: [.writable, .level])
        try m.selector.reregister(s.0, token: Token(5), interest: [.readable, .writable, .oneshot])
        try m.selector.reregister(s.0, token: Token(6), interest: [.readable, .writable, .oneshot])
        #expect(m.takeChanges() == [
            [Change(s.0, R, DEL, udata: 0), Change(s.0, R, ADD | CLEAR, udata: 2), Change(s.0, W, ADD | CLEAR, udata: 2)],
            [Change(s.0, R, DEL, udata: 0), Change(s.0, W, DEL, udata: 0), Change(s.0, W, ADD | CLEAR, udata: 3)],
            [Change(s.0, W, DEL, udata: 0), Change(s.0, W, ADD, udata: 4)],
            [Change(s.0, W, DEL, udata: 0), Change(s.0, R, ADD | DISPATCH, udata: 5), Change(s.0, W, ADD | DISPATCH, udata: 5)],
            [
                Change(s.0, R, DEL, udata: 0), Change(s.0, W, DEL, udata: 0),
                Change(s.0, R, ADD | DISPATCH, udata: 6), Change(s.0, W, ADD | DISPATCH, udata: 6),
            ],
        ])
        #expect(m.model.knotes.map(\.udata) == [6, 6])
        #expect(m.model.knotes.map(\.flags) == [DISPATCH, DISPATCH])
        #expect(m.model.knotes.map(\.enabled) == [true, true])
    }

    @Test("reregister: ENOENT of a delete is ignored; a refused add throws and the table keeps what the kqueue has")
    func reregisterErrors() throws {
        let m = ModelSelector()
        let s = try makeSocketPair()
        defer { closeFD(s.0); closeFD(s.1) }
        try m.selector.register(s.0, token: Token(1), interest: [.readable, .writable])
        // The kernel lost the WRITE knote (as after a close): its delete says ENOENT.
        m.model.knotes.removeAll { $0.filter == W }
        try m.selector.reregister(s.0, token: Token(2), interest: .readable)
        #expect(m.selector.table.slot(s.0)?.filters == 1)
        #expect(m.selector.table.slot(s.0)?.token == 2)

        m.model.fail(s.0, W, KqueueBits.ADD, ENOMEM)
        #expect(throws: Errno.noMemory) { try m.selector.reregister(s.0, token: Token(3), interest: [.readable, .writable]) }
        #expect(m.selector.table.slot(s.0)?.filters == 1)
        #expect(m.model.knotes.count == 1)
        // Deregister still removes what is there.
        try m.selector.deregister(s.0)
        #expect(m.model.knotes.isEmpty)
    }

    @Test("deregister: EV_DELETE of each filter, udata 0; ENOENT ignored; EBADF reported, registration forgotten")
    func deregisterChangelists() throws {
        let m = ModelSelector()
        let s = try makeSocketPair()
        defer { closeFD(s.0); closeFD(s.1) }
        try m.selector.register(s.0, token: Token(1), interest: [.readable, .writable, .level])
        try m.selector.register(s.1, token: Token(2), interest: .writable)
        _ = m.takeChanges()
        try m.selector.deregister(s.0)
        #expect(m.takeChanges() == [[Change(s.0, R, DEL, udata: 0), Change(s.0, W, DEL, udata: 0)]])
        #expect(throws: Errno.noSuchFileOrDirectory) { try m.selector.deregister(s.0) }

        // Knotes already gone (the kernel drops them on close): still a success.
        m.model.knotes.removeAll()
        try m.selector.deregister(s.1)
        #expect(m.takeChanges() == [[Change(s.1, W, DEL, udata: 0)]])

        try m.selector.register(s.1, token: Token(3), interest: .readable)
        m.model.fail(s.1, R, KqueueBits.DELETE, EBADF)
        #expect(throws: Errno.badFileDescriptor) { try m.selector.deregister(s.1) }
        #expect(m.selector.table.slot(s.1) == nil)
    }

    @Test("a registered number closed and reused by another file: register replaces the old registration (deletes first)")
    func reusedDescriptor() throws {
        let m = ModelSelector()
        let first = try makePipe()
        defer { closeFD(first.write) }
        try m.selector.register(first.read, token: Token(1), interest: [.readable, .level])
        // dup2 closes the registered pipe end and gives its number to a socket, in one
        // step (a close then an open could race with the other tests' descriptors).
        let (a, y) = try makeSocketPair()
        defer { closeFD(a); closeFD(y) }
        let x = first.read
        try #require(dup2(a, x) == x)
        defer { closeFD(x) }
        _ = m.takeChanges()
        try m.selector.register(x, token: Token(2), interest: .readable)
        #expect(m.takeChanges() == [[Change(x, R, DEL, udata: 0), Change(x, R, ADD | CLEAR, udata: 2)]])
        #expect(m.selector.table.slot(x)?.token == 2)
        #expect(throws: Errno.fileExists) { try m.selector.register(x, token: Token(3), interest: .readable) }
    }

    @Test("a registered fd closed, or its number now another file's: reregister/deregister answer as epoll (EBADF, ENOENT) and forget it")
    func staleRegistrations() throws {
        let m = ModelSelector()
        let p = try makePipe()
        defer { closeFD(p.read); closeFD(p.write) }
        // A high number nobody else gets while it is closed (the lowest free one is
        // what open/socket/pipe hand out).
        let high: Int32 = 900
        try #require(dup2(p.read, high) == high)
        try m.selector.register(high, token: Token(1), interest: .readable)
        closeFD(high)
        _ = m.takeChanges()
        #expect(throws: Errno.badFileDescriptor) { try m.selector.deregister(high) }
        // Its knote deleted (libkqueue keeps a closed fd's), the entry gone.
        #expect(m.takeChanges() == [[Change(high, R, DEL, udata: 0)]])
        #expect(m.selector.table.slot(high) == nil)

        let q = try makePipe()
        defer { closeFD(q.write) }
        try m.selector.register(q.read, token: Token(2), interest: [.readable, .writable])
        let (a, b) = try makeSocketPair()
        defer { closeFD(a); closeFD(b) }
        try #require(dup2(a, q.read) == q.read) // the number is now a socket's
        defer { closeFD(q.read) }
        _ = m.takeChanges()
        #expect(throws: Errno.noSuchFileOrDirectory) {
            try m.selector.reregister(q.read, token: Token(3), interest: .readable)
        }
        #expect(m.takeChanges() == [[Change(q.read, R, DEL, udata: 0), Change(q.read, W, DEL, udata: 0)]])
        #expect(throws: Errno.noSuchFileOrDirectory) { try m.selector.deregister(q.read) }
        #expect(m.takeChanges().isEmpty)
        // The new file registers as new.
        try m.selector.register(q.read, token: Token(4), interest: .readable)
        #expect(m.selector.table.slot(q.read)?.token == 4)
    }

    @Test("event formulas (mio's kqueue Event::is_*) and raw bits on every synthetic kevent")
    func formulas() throws {
        let ECONNRESET_: UInt32 = 104
        for filter in [R, W, KqueueBits.USER] {
            for flags in [0, KqueueBits.EOF, KqueueBits.ERROR, KqueueBits.EOF | KqueueBits.ERROR, KqueueBits.CLEAR | KqueueBits.EOF] {
                for fflags in [0, ECONNRESET_] {
                    // Written out independently of the library.
                    let eof = flags & 0x8000 != 0
                    let error = flags & 0x4000 != 0
                    var want: Event.Flags = []
                    if filter == R || filter == KqueueBits.USER { want.insert(.readable) }
                    if filter == W { want.insert(.writable) }
                    if error || (eof && fflags != 0) { want.insert(.error) }
                    if filter == R && eof { want.insert(.readClosed) }
                    if filter == W && eof { want.insert(.writeClosed) }
                    var raw: UInt32 = filter == R ? 0x01 : filter == W ? 0x02 : 0x04
                    if eof && filter == R { raw |= 0x10 }
                    if eof && filter == W { raw |= 0x20 }
                    if error { raw |= 0x40 }
                    if eof && fflags != 0 { raw |= 0x80 }

                    let m = ModelSelector()
                    m.model.pending = [[kev(5, filter, flags: flags, fflags: fflags, udata: 42)]]
                    let events = try m.wait()
                    #expect(events.count == 1)
                    #expect(events.first?.token == Token(42))
                    #expect(events.first?.flags == want, "filter \(filter) flags \(flags) fflags \(fflags)")
                    #expect(events.first?.raw == raw, "filter \(filter) flags \(flags) fflags \(fflags)")
                    #expect(events.first?.isPriority == false)
                }
            }
        }
    }

    @Test("READ and WRITE kevents of one fd become one event; other fds (also with the same token) stay apart")
    func merging() throws {
        let m = ModelSelector()
        m.model.pending = [[
            kev(5, R, udata: 1), kev(6, W, udata: 2), kev(7, R, udata: 2),
            kev(5, W, flags: KqueueBits.EOF, udata: 1), kev(0, KqueueBits.USER, udata: 9), kev(6, R, udata: 2),
        ]]
        let events = try m.wait()
        #expect(events.map(\.token) == [Token(1), Token(2), Token(2), Token(9)])
        #expect(events[0].flags == [.readable, .writable, .writeClosed])
        #expect(events[0].raw == 0x01 | 0x02 | 0x20)
        #expect(events[1].flags == [.readable, .writable])
        #expect(events[1].raw == 0x03)
        #expect(events[2].flags == [.readable])
        #expect(events[3].flags == [.readable])
        #expect(events[3].raw == 0x04)
    }

    @Test("capacity: never more kevents asked for than capacity (nor than the batch), never more events returned")
    func capacity() throws {
        let m = ModelSelector()
        m.model.pending = [[kev(5, R, udata: 1), kev(5, W, udata: 1), kev(6, R, udata: 2)]]
        let one = try m.wait(capacity: 1)
        #expect(one.map(\.token) == [Token(1)])
        #expect(m.model.calls.last?.nevents == 1)
        #expect(m.model.calls.last?.changes.isEmpty == true)
        _ = try m.wait(capacity: 2)
        #expect(m.model.calls.last?.nevents == 2)
        _ = try m.wait(capacity: 100_000)
        #expect(m.model.calls.last?.nevents == Int32(KqueueTable.waitBatch))
    }

    @Test("timeouts: none blocks (NULL), nanoseconds kept, tv_sec clamped at 100,000,000 (macOS's limit)")
    func timeouts() throws {
        let m = ModelSelector()
        _ = try m.wait(timeout: -1)
        _ = try m.wait(timeout: 0)
        _ = try m.wait(timeout: 1_500_000_001)
        _ = try m.wait(timeout: 100_000_000 * 1_000_000_000 + 5)
        _ = try m.wait(timeout: Int64.max)
        #expect(m.model.calls.map { [$0.seconds, $0.nanoseconds] } == [
            [-1, 0], [0, 0], [1, 500_000_001], [100_000_000, 0], [100_000_000, 0],
        ])
        m.model.nextResult = -EINTR
        #expect(throws: Errno.interrupted) { try m.wait(timeout: -1) }
    }

    @Test("oneshot is per fd: the sibling filter of a oneshot fd is disabled when one filter fires alone")
    func oneshotSibling() throws {
        let m = ModelSelector()
        let s = try makeSocketPair()
        defer { closeFD(s.0); closeFD(s.1) }
        let p = try makePipe()
        defer { closeFD(p.read); closeFD(p.write) }
        try m.selector.register(s.0, token: Token(1), interest: [.readable, .writable, .oneshot])
        try m.selector.register(s.1, token: Token(2), interest: [.readable, .writable, .oneshot])
        try m.selector.register(p.read, token: Token(3), interest: [.readable, .oneshot])
        try m.selector.register(p.write, token: Token(4), interest: [.writable, .level])
        _ = m.takeChanges()

        // WRITE of s.0 alone; both filters of s.1; the only filter of p.read; a level fd.
        m.model.pending = [[
            kev(s.0, W, flags: DISPATCH, udata: 1), kev(s.1, R, flags: DISPATCH, udata: 2),
            kev(p.read, R, flags: DISPATCH, udata: 3), kev(s.1, W, flags: DISPATCH, udata: 2),
            kev(p.write, W, udata: 4),
        ]]
        let events = try m.wait()
        #expect(events.map(\.token) == [Token(1), Token(2), Token(3), Token(4)])
        #expect(m.takeChanges() == [[], [Change(s.0, R, KqueueBits.DISABLE | KqueueBits.RECEIPT, udata: 1)]])
        #expect(m.model.knote(s.0, R)?.enabled == false)
        // reregister re-arms both (fresh knotes).
        try m.selector.reregister(s.0, token: Token(1), interest: [.readable, .writable, .oneshot])
        #expect(m.model.knote(s.0, R)?.enabled == true)

        // No oneshot event: no extra call.
        m.model.pending = [[kev(p.write, W, udata: 4)]]
        _ = m.takeChanges()
        _ = try m.wait()
        #expect(m.takeChanges() == [[]])
    }

    @Test("waker: EVFILT_USER ident 0 added with EV_CLEAR|EV_RECEIPT; woken with flags 0 + NOTE_TRIGGER and the token, no receipt; deleted on release")
    func waker() throws {
        let m = ModelSelector()
        let waker = try m.selector.makeWaker(token: Token(77))
        try KqueueSelector.wake(waker)
        // The wake kevent asks for no events: nothing pending is drained.
        #expect(m.model.calls.last?.nevents == 0)
        KqueueSelector.releaseWaker(waker)
        let U = KqueueBits.USER
        #expect(m.takeChanges() == [
            [Change(0, U, KqueueBits.ADD | KqueueBits.CLEAR | KqueueBits.RECEIPT, udata: 77)],
            // The trigger carries the token: a trigger replaces udata (macOS, libkqueue#7).
            [Change(0, U, 0, fflags: KqueueBits.TRIGGER, udata: 77)],
            [Change(0, U, KqueueBits.DELETE | KqueueBits.RECEIPT, udata: 0)],
        ])
        m.model.fail(0, U, KqueueBits.ADD, ENOMEM)
        #expect(throws: Errno.noMemory) { _ = try m.selector.makeWaker(token: Token(1)) }
    }
}
