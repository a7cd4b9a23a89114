import CPollSys
import Synchronization

/// The poll(2) backend, for any POSIX system: a registration table shared by a poll and
/// its clones (`PollTable`), waited on with `ppoll`.
///
/// - Edge-triggered registrations are reported level-triggered: poll(2) has no edge
///   mode, and a raw-fd ABI cannot see the caller's `EAGAIN` to re-arm a masked interest
///   (mio's fallback relies on its IoSource for that). An fd that stays ready is reported
///   by every wait: never a lost wakeup, possibly a repeated one.
/// - Oneshot and closed-but-registered descriptors (POLLNVAL) are disarmed by storing
///   `~fd` (negative, so poll(2) skips the entry and reports nothing for it, not even
///   HUP/ERR; `~` rather than `-` so that fd 0 disarms too).
/// - Registrations from other threads during a wait wake the waiter through an internal
///   notifier, which restarts with the remaining time. User wakes are a separate flag,
///   so that draining the notifier never swallows one (mio#1874).
/// - Nothing is removed behind the caller's back on POLLHUP/POLLERR (mio PR #2012).
public struct PollSelector: SelectorBackend {
    /// Each handle (poll, clone, waker) holds one reference, taken in `make`/`duplicate`/
    /// `makeWaker` and given back in `close`/`releaseWaker`: the calls in between borrow
    /// it without retain/release (the enum payload would otherwise be copied, and
    /// retained, on every wait).
    let table: Unmanaged<PollTable>

    init(table: Unmanaged<PollTable>) { self.table = table }

    public static func make() throws(Errno) -> PollSelector {
        PollSelector(table: Unmanaged.passRetained(try PollTable.make()))
    }

    /// Clones share the table: there is no descriptor to duplicate.
    public func duplicate() throws(Errno) -> PollSelector { PollSelector(table: table.retain()) }

    /// The table goes when its last poll, clone or waker does.
    public func close() { table.release() }

    public var fileDescriptor: Int32 { -1 }

    /// `body` on the borrowed table (`_withUnsafeGuaranteedRef` has no typed throws).
    @inline(__always)
    func withTable<R>(_ body: (PollTable) throws(Errno) -> R) throws(Errno) -> R {
        var failure: Errno? = nil
        let result: R? = table._withUnsafeGuaranteedRef { (t) -> R? in
            do throws(Errno) {
                return try body(t)
            } catch {
                failure = error
                return nil
            }
        }
        if let failure { throw failure }
        return result!
    }

    public func register(_ fd: Int32, token: Token, interest: Interest) throws(Errno) {
        try withTable { (t) throws(Errno) in try t.register(fd, token: token, interest: interest) }
    }

    public func reregister(_ fd: Int32, token: Token, interest: Interest) throws(Errno) {
        try withTable { (t) throws(Errno) in try t.reregister(fd, token: token, interest: interest) }
    }

    public func deregister(_ fd: Int32) throws(Errno) {
        try withTable { (t) throws(Errno) in try t.deregister(fd) }
    }

    public func select(
        into events: UnsafeMutablePointer<Event>, capacity: Int, timeoutNanoseconds: Int64
    ) throws(Errno) -> Int {
        try withTable { (t) throws(Errno) in
            try t.select(into: events, capacity: capacity, timeoutNanoseconds: timeoutNanoseconds)
        }
    }

    // MARK: waker

    /// The table (one reference held) and its notifier, which a wake writes.
    public struct WakerState: @unchecked Sendable {
        let table: Unmanaged<PollTable>
        let fd: Int32
    }

    public func makeWaker(token: Token) throws(Errno) -> WakerState {
        let fd = table._withUnsafeGuaranteedRef { $0.installWaker(token: token) }
        return WakerState(table: table.retain(), fd: fd)
    }

    public static func wake(_ waker: WakerState) throws(Errno) { try wakeEventFD(waker.fd) }

    public static func releaseWaker(_ waker: WakerState) {
        waker.table._withUnsafeGuaranteedRef { $0.removeWaker() }
        waker.table.release()
    }
}

/// The poll(2) bits (numerically the epoll ones on Linux), and the translation to
/// swiftpoll's flags: mio's poll(2) formulas, plus POLLNVAL as an error.
enum PollBits {
    static let IN = UInt32(POLLIN)
    static let PRI = UInt32(POLLPRI)
    static let OUT = UInt32(POLLOUT)
    static let ERR = UInt32(POLLERR)
    static let HUP = UInt32(POLLHUP)
    static let NVAL = UInt32(POLLNVAL)
    static let RDHUP = UInt32(SP_POLLRDHUP)

    /// READABLE asks for POLLRDHUP too (where it exists), so a peer's shutdown is seen.
    static func events(for interest: Interest) -> Int16 {
        var mask: UInt32 = 0
        if interest.contains(.readable) { mask |= IN | RDHUP }
        if interest.contains(.writable) { mask |= OUT }
        if interest.contains(.priority) { mask |= PRI }
        return Int16(truncatingIfNeeded: mask)
    }

    /// readable = IN|PRI; writable = OUT; error = ERR|NVAL;
    /// read_closed = HUP|RDHUP; write_closed = HUP | (OUT & ERR) | (r == ERR);
    /// priority = PRI.
    static func flags(_ r: UInt32) -> UInt32 {
        var f: UInt32 = 0
        if r & (IN | PRI) != 0 { f |= Event.Flags.readable.rawValue }
        if r & OUT != 0 { f |= Event.Flags.writable.rawValue }
        if r & (ERR | NVAL) != 0 { f |= Event.Flags.error.rawValue }
        if r & (HUP | RDHUP) != 0 { f |= Event.Flags.readClosed.rawValue }
        if r & HUP != 0 || (r & OUT != 0 && r & ERR != 0) || r == ERR {
            f |= Event.Flags.writeClosed.rawValue
        }
        if r & PRI != 0 { f |= Event.Flags.priority.rawValue }
        return f
    }
}

/// What the table knows of one registration (slot i of `fds` is the pollfd).
struct PollSlot {
    var fd: Int32
    var interest: UInt32
    var token: UInt64
    /// The file's identity at registration, to tell a descriptor number that was closed
    /// and reused (which epoll forgets by itself) from a second registration.
    var device: UInt64
    var inode: UInt64
    /// poll(2) said POLLNVAL: the descriptor was closed while registered.
    var closed = false
}

/// The mutable state of a `PollTable`, in memory of its own (so that the hot paths pay
/// no exclusivity checks), touched only with the table's mutex held.
struct PollState {
    /// pollfd entries; slot 0 is the internal notifier. Read by the registry and the
    /// waiter, never handed to the kernel (the waiter polls `waitFDs`).
    var fds: UnsafeMutablePointer<pollfd>
    var slots: UnsafeMutablePointer<PollSlot>
    /// The waiter's copy of `fds`, given to ppoll.
    var waitFDs: UnsafeMutablePointer<pollfd>
    /// A larger `waitFDs` made by a registration while the waiter was in ppoll.
    var nextWaitFDs: UnsafeMutablePointer<pollfd>?
    /// Entries in use, the notifier's included.
    var count: Int
    var capacity: Int
    var index: FDIndex
    /// Incremented by every change of `fds`; a wait whose ppoll saw an older generation
    /// drops its results (slots may have moved) and polls again.
    var generation: UInt64
    var copiedGeneration: UInt64
    /// The waiter is in ppoll (or about to be) on `waitFDs`.
    var polling: Bool
    /// The notifier was written since the waiter last drained it.
    var notified: Bool
    /// Where the next scan of results starts, so that no fd starves when more are ready
    /// than fit.
    var cursor: Int
    /// Writes of the notifier by registrations since the waiter last read it. They
    /// happen with the mutex held, as the waiter's read does, so the counter it reads
    /// holds every one of them: the rest of the count are user wakes (mio#1874: there,
    /// a registration drains the notifier that user wakes share, and a wake is lost).
    var internalWrites: UInt64
    var hasWaker: Bool
    var wakerToken: UInt64
}

/// The registration table of the poll(2) backend, shared by a poll, its clones and its
/// waker.
final class PollTable: @unchecked Sendable {
    let state: UnsafeMutablePointer<PollState>
    let mutex: UnsafeMutableRawPointer
    /// The internal notifier: an eventfd (read and written through the same fd).
    let notifier: Int32

    private init(state: UnsafeMutablePointer<PollState>, mutex: UnsafeMutableRawPointer, notifier: Int32) {
        self.state = state
        self.mutex = mutex
        self.notifier = notifier
    }

    static let initialCapacity = 8

    static func make() throws(Errno) -> PollTable {
        let notifier = try check(sp_eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK)))
        guard let mutex = sp_mutex_new() else {
            closeIgnoringErrors(notifier)
            throw .noMemory
        }
        let n = initialCapacity
        let state = sp_realloc(nil, MemoryLayout<PollState>.stride)
        let fds = sp_realloc(nil, n * MemoryLayout<pollfd>.stride)
        let waitFDs = sp_realloc(nil, n * MemoryLayout<pollfd>.stride)
        let slots = sp_realloc(nil, n * MemoryLayout<PollSlot>.stride)
        let index = FDIndex.make()
        guard let state, let fds, let waitFDs, let slots, let index else {
            sp_free(state)
            sp_free(fds)
            sp_free(waitFDs)
            sp_free(slots)
            index?.free()
            sp_mutex_free(mutex)
            closeIgnoringErrors(notifier)
            throw .noMemory
        }
        let s = state.bindMemory(to: PollState.self, capacity: 1)
        s.initialize(to: PollState(
            fds: fds.bindMemory(to: pollfd.self, capacity: n),
            slots: slots.bindMemory(to: PollSlot.self, capacity: n),
            waitFDs: waitFDs.bindMemory(to: pollfd.self, capacity: n),
            nextWaitFDs: nil, count: 1, capacity: n, index: index,
            generation: 1, copiedGeneration: 0, polling: false, notified: false, cursor: 1,
            internalWrites: 0, hasWaker: false, wakerToken: 0))
        s.pointee.fds[0] = pollfd(fd: notifier, events: Int16(POLLIN), revents: 0)
        s.pointee.slots[0] = PollSlot(fd: notifier, interest: 0, token: 0, device: 0, inode: 0)
        return PollTable(state: s, mutex: mutex, notifier: notifier)
    }

    deinit {
        let s = state.pointee
        sp_free(s.fds)
        sp_free(s.slots)
        sp_free(s.waitFDs)
        sp_free(s.nextWaitFDs)
        s.index.free()
        state.deinitialize(count: 1)
        sp_free(state)
        sp_mutex_free(mutex)
        closeIgnoringErrors(notifier)
    }

    func lock() { sp_mutex_lock(mutex) }

    func unlock() { sp_mutex_unlock(mutex) }

    /// After a change of `fds`, with the mutex held: a waiter in ppoll must see it.
    func changed() {
        state.pointee.generation &+= 1
        if state.pointee.polling && !state.pointee.notified {
            state.pointee.notified = true
            state.pointee.internalWrites &+= 1
            notify()
        }
    }

    func notify() {
        var one: UInt64 = 1
        while sp_write(notifier, &one, 8) == -Int(EINTR) {}
        // EAGAIN: the counter is at its maximum, so the notifier is readable anyway.
    }

    /// Reads (and so resets) the notifier's counter: 0 if nothing was written.
    func drainNotifier() -> UInt64 {
        var counter: UInt64 = 0
        while true {
            let r = sp_read(notifier, &counter, 8)
            if r == -Int(EINTR) { continue }
            return r == 8 ? counter : 0
        }
    }

    // MARK: registration

    func register(_ fd: Int32, token: Token, interest: Interest) throws(Errno) {
        guard interest.isValid else { throw .invalidArgument }
        // As epoll: EBADF for a closed fd, EPERM for a regular file or a directory.
        var kind: Int32 = 0
        var device: UInt64 = 0
        var inode: UInt64 = 0
        _ = try check(sp_fd_identity(fd, &kind, &device, &inode))
        if kind != 0 { throw .operationNotPermitted }
        if fd == notifier { throw .invalidArgument }
        let slot = PollSlot(fd: fd, interest: interest.rawValue, token: token.rawValue, device: device, inode: inode)
        let events = PollBits.events(for: interest)
        lock()
        defer { unlock() }
        let s = state
        if let i = s.pointee.index.find(fd) {
            let old = s.pointee.slots[i]
            // Files without an inode of their own (eventfd, timerfd: one anonymous inode
            // for all) look alike: only a POLLNVAL seen tells that one was closed.
            if !old.closed && old.device == device && old.inode == inode { throw .fileExists }
            // The registered descriptor was closed and its number reused: epoll would
            // have dropped the old registration; so do we.
            s.pointee.slots[i] = slot
            s.pointee.fds[i] = pollfd(fd: fd, events: events, revents: 0)
            changed()
            return
        }
        try reserve(s.pointee.count + 1)
        guard s.pointee.index.insert(fd, slot: s.pointee.count) else { throw .noMemory }
        let i = s.pointee.count
        s.pointee.slots[i] = slot
        s.pointee.fds[i] = pollfd(fd: fd, events: events, revents: 0)
        s.pointee.count = i + 1
        changed()
    }

    func reregister(_ fd: Int32, token: Token, interest: Interest) throws(Errno) {
        guard interest.isValid else { throw .invalidArgument }
        let identity = fileIdentity(of: fd)
        lock()
        defer { unlock() }
        let s = state
        guard let i = try current(fd, identity) else { throw Self.notRegistered(identity) }
        s.pointee.slots[i].token = token.rawValue
        s.pointee.slots[i].interest = interest.rawValue
        s.pointee.slots[i].closed = false
        // Re-arms a oneshot (or POLLNVAL-disarmed) entry.
        s.pointee.fds[i] = pollfd(fd: fd, events: PollBits.events(for: interest), revents: 0)
        changed()
    }

    func deregister(_ fd: Int32) throws(Errno) {
        let identity = fileIdentity(of: fd)
        lock()
        defer { unlock() }
        guard let i = try current(fd, identity) else { throw Self.notRegistered(identity) }
        remove(fd, at: i)
    }

    /// The slot of `fd` if its registration is still the file's, with the mutex held.
    /// A stale one (closed, or its number reused) is removed and reported as epoll
    /// would: EBADF, or ENOENT.
    func current(_ fd: Int32, _ identity: (error: Int32, device: UInt64, inode: UInt64)) throws(Errno) -> Int? {
        guard let i = state.pointee.index.find(fd) else { return nil }
        let slot = state.pointee.slots[i]
        if identity.error != 0 {
            remove(fd, at: i)
            throw Errno(rawValue: identity.error)
        }
        if slot.device != identity.device || slot.inode != identity.inode {
            remove(fd, at: i)
            throw .noSuchFileOrDirectory
        }
        return i
    }

    /// Removes the entry of `fd` at slot `i` (swap with the last), with the mutex held.
    func remove(_ fd: Int32, at i: Int) {
        let s = state
        s.pointee.index.remove(fd)
        let last = s.pointee.count - 1
        if i != last {
            s.pointee.slots[i] = s.pointee.slots[last]
            s.pointee.fds[i] = s.pointee.fds[last]
            s.pointee.index.update(s.pointee.slots[i].fd, slot: i)
        }
        s.pointee.count = last
        changed()
    }

    /// The error for an fd not in the table, as epoll orders them: EBADF for a
    /// descriptor that is not open, else ENOENT.
    static func notRegistered(_ identity: (error: Int32, device: UInt64, inode: UInt64)) -> Errno {
        identity.error == EBADF ? .badFileDescriptor : .noSuchFileOrDirectory
    }

    /// Room for `needed` entries in `fds`, `slots` and the waiter's buffer; with the
    /// mutex held. Allocates only when registrations outgrow the table (doubling).
    func reserve(_ needed: Int) throws(Errno) {
        let s = state
        let old = s.pointee.capacity
        guard needed > old else { return }
        let n = max(old * 2, needed)
        guard let fds = sp_realloc(s.pointee.fds, n * MemoryLayout<pollfd>.stride) else { throw .noMemory }
        s.pointee.fds = fds.bindMemory(to: pollfd.self, capacity: n)
        guard let slots = sp_realloc(s.pointee.slots, n * MemoryLayout<PollSlot>.stride) else { throw .noMemory }
        s.pointee.slots = slots.bindMemory(to: PollSlot.self, capacity: n)
        if s.pointee.polling {
            // The kernel is using waitFDs: the waiter swaps this one in afterwards.
            guard let next = sp_realloc(nil, n * MemoryLayout<pollfd>.stride) else { throw .noMemory }
            sp_free(s.pointee.nextWaitFDs)
            s.pointee.nextWaitFDs = next.bindMemory(to: pollfd.self, capacity: n)
        } else {
            guard let wait = sp_realloc(s.pointee.waitFDs, n * MemoryLayout<pollfd>.stride) else { throw .noMemory }
            s.pointee.waitFDs = wait.bindMemory(to: pollfd.self, capacity: n)
            // One made during an earlier wait is smaller than this: never swap it in.
            sp_free(s.pointee.nextWaitFDs)
            s.pointee.nextWaitFDs = nil
        }
        s.pointee.capacity = n
    }

    // MARK: waiting

    func select(
        into events: UnsafeMutablePointer<Event>, capacity: Int, timeoutNanoseconds: Int64
    ) throws(Errno) -> Int {
        let deadline = timeoutNanoseconds > 0 ? Self.deadline(after: timeoutNanoseconds) : 0
        var timeout = timeoutNanoseconds
        let s = state
        lock()
        while true {
            if let next = s.pointee.nextWaitFDs {
                sp_free(s.pointee.waitFDs)
                s.pointee.waitFDs = next
                s.pointee.nextWaitFDs = nil
                s.pointee.copiedGeneration = 0
            }
            if s.pointee.copiedGeneration != s.pointee.generation {
                s.pointee.waitFDs.update(from: s.pointee.fds, count: s.pointee.count)
                s.pointee.copiedGeneration = s.pointee.generation
            }
            let generation = s.pointee.generation
            let count = s.pointee.count
            let waitFDs = s.pointee.waitFDs
            s.pointee.polling = true
            unlock()

            let result = timeout < 0
                ? sp_ppoll(waitFDs, UInt(count), -1, 0)
                : sp_ppoll(waitFDs, UInt(count), timeout / 1_000_000_000, timeout % 1_000_000_000)

            lock()
            s.pointee.polling = false
            let notified = s.pointee.notified
            s.pointee.notified = false
            if result < 0 {
                unlock()
                throw Errno(rawValue: -result)
            }
            var produced = 0
            var fdEvents = result
            if waitFDs[0].revents != 0 || notified {
                if waitFDs[0].revents != 0 { fdEvents -= 1 }
                // More than the registrations wrote: a user wake (also from a forked
                // child: the counter is the kernel's). Less only if a wake reset a full
                // counter: a wake then too, at worst a spurious one.
                let written = drainNotifier()
                let ours = s.pointee.internalWrites
                s.pointee.internalWrites = 0
                if written != ours && s.pointee.hasWaker {
                    events[0] = Event(token: Token(s.pointee.wakerToken), flags: .readable, raw: PollBits.IN)
                    produced = 1
                }
            }
            if fdEvents > 0 && s.pointee.generation == generation {
                produced = collect(waitFDs, count: count, into: events, from: produced, capacity: capacity)
            }
            if produced > 0 || timeout == 0 {
                unlock()
                return produced
            }
            // Only the notifier (a registration, or results dropped because the table
            // changed): poll again with the time that is left.
            if timeoutNanoseconds > 0 {
                let left = deadline &- sp_monotonic_ns()
                timeout = left > 0 ? left : 0
            }
        }
    }

    /// Turns ready entries into events, at most `capacity`, starting at the cursor;
    /// with the mutex held and the table as ppoll saw it.
    func collect(
        _ waitFDs: UnsafeMutablePointer<pollfd>, count: Int, into events: UnsafeMutablePointer<Event>,
        from start: Int, capacity: Int
    ) -> Int {
        let s = state
        var produced = start
        let entries = count - 1
        guard entries > 0 else { return produced }
        var i = s.pointee.cursor
        if i < 1 || i >= count { i = 1 }
        var disarmed = false
        for _ in 0..<entries {
            let revents = UInt32(UInt16(bitPattern: waitFDs[i].revents))
            if revents != 0 {
                if produced == capacity { break }
                let slot = s.pointee.slots[i]
                events[produced] = Event(
                    token: Token(slot.token), flags: Event.Flags(rawValue: PollBits.flags(revents)), raw: revents)
                produced += 1
                if slot.interest & Interest.oneshot.rawValue != 0 || revents & PollBits.NVAL != 0 {
                    s.pointee.fds[i].fd = ~slot.fd
                    s.pointee.slots[i].closed = revents & PollBits.NVAL != 0
                    disarmed = true
                }
            }
            i = i + 1 == count ? 1 : i + 1
        }
        s.pointee.cursor = i
        if disarmed { s.pointee.generation &+= 1 }
        return produced
    }

    static func deadline(after nanoseconds: Int64) -> Int64 {
        let (sum, overflow) = sp_monotonic_ns().addingReportingOverflow(nanoseconds)
        return overflow ? Int64.max : sum
    }

    // MARK: waker

    /// The waker writes the notifier (one `write`, no lock: async-signal-safe, and a
    /// forked child's wake reaches it too); the wait tells its writes from the
    /// registrations' by `internalWrites`. No descriptor of its own: one entry less in
    /// every ppoll.
    func installWaker(token: Token) -> Int32 {
        lock()
        state.pointee.wakerToken = token.rawValue
        state.pointee.hasWaker = true
        unlock()
        return notifier
    }

    func removeWaker() {
        lock()
        state.pointee.hasWaker = false
        unlock()
    }
}

/// What `fstat` says of `fd`: its errno (0 if open) and its identity, taken before a
/// table's lock, so that a registered number whose file was closed (EBADF) or replaced
/// by another file (ENOENT) gets epoll's answer: epoll forgets a closed file by
/// itself, the poll(2) and kqueue tables keep numbers and would otherwise go on
/// reporting the new file under the old token.
func fileIdentity(of fd: Int32) -> (error: Int32, device: UInt64, inode: UInt64) {
    var kind: Int32 = 0
    var device: UInt64 = 0
    var inode: UInt64 = 0
    let r = fd < 0 ? -EBADF : sp_fd_identity(fd, &kind, &device, &inode)
    return (r < 0 ? -r : 0, device, inode)
}

/// fd → slot, open addressing with linear probing in memory of its own (no Hasher: it
/// would pull a random seed into the Embedded build). Load factor at most 1/2.
struct FDIndex {
    /// `keys[i]` is an fd or -1 (empty); `values[i]` its slot.
    var keys: UnsafeMutablePointer<Int32>
    var values: UnsafeMutablePointer<Int32>
    var mask: Int
    var count: Int

    static func make(capacity: Int = 16) -> FDIndex? {
        guard let k = sp_realloc(nil, capacity * 4), let v = sp_realloc(nil, capacity * 4) else { return nil }
        let keys = k.bindMemory(to: Int32.self, capacity: capacity)
        keys.initialize(repeating: -1, count: capacity)
        return FDIndex(keys: keys, values: v.bindMemory(to: Int32.self, capacity: capacity), mask: capacity - 1, count: 0)
    }

    func free() {
        sp_free(keys)
        sp_free(values)
    }

    func home(_ fd: Int32) -> Int {
        Int(truncatingIfNeeded: (UInt32(bitPattern: fd) &* 0x9E37_79B1) >> 7) & mask
    }

    func find(_ fd: Int32) -> Int? {
        var i = home(fd)
        while true {
            let k = keys[i]
            // Empty first: an empty key is -1, which must not match fd -1.
            if k < 0 { return nil }
            if k == fd { return Int(values[i]) }
            i = (i + 1) & mask
        }
    }

    func update(_ fd: Int32, slot: Int) {
        var i = home(fd)
        while keys[i] != fd { i = (i + 1) & mask }
        values[i] = Int32(truncatingIfNeeded: slot)
    }

    /// Adds `fd` (not present); false only if growing failed (nothing changed then).
    mutating func insert(_ fd: Int32, slot: Int) -> Bool {
        if (count + 1) * 2 > mask + 1 {
            guard let bigger = FDIndex.make(capacity: (mask + 1) * 2) else { return false }
            var grown = bigger
            for j in 0...mask where keys[j] >= 0 { grown.place(keys[j], Int(values[j])) }
            free()
            self = grown
        }
        place(fd, slot)
        return true
    }

    mutating func place(_ fd: Int32, _ slot: Int) {
        var i = home(fd)
        while keys[i] >= 0 { i = (i + 1) & mask }
        keys[i] = fd
        values[i] = Int32(truncatingIfNeeded: slot)
        count += 1
    }

    /// Removes `fd` (present), shifting later entries of its probe run back so that no
    /// tombstones are needed.
    mutating func remove(_ fd: Int32) {
        var i = home(fd)
        while keys[i] != fd { i = (i + 1) & mask }
        var hole = i
        var j = i
        while true {
            j = (j + 1) & mask
            let k = keys[j]
            if k < 0 { break }
            let h = home(k)
            // Move k back into the hole unless its home lies cyclically in (hole, j].
            let inRange = hole <= j ? (h > hole && h <= j) : (h > hole || h <= j)
            if !inRange {
                keys[hole] = k
                values[hole] = values[j]
                hole = j
            }
        }
        keys[hole] = -1
        count -= 1
    }
}
