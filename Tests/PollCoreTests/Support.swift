// Shared helpers for the PollCore tests: real kernel objects (pipes, socketpairs,
// eventfds, timerfds, TCP on loopback), threads, a monotonic clock, and an independent
// reference implementation of mio's event formulas (mio-behaviour.md §3.6).
//
// Rules every test follows: every fd it opens is closed (`defer`), every wait is
// bounded (a timeout, or a timerfd watchdog registered in the same poll), every loop
// is bounded in count and time.

import Glibc
import Synchronization
import Testing
import CPollSys
@testable import PollCore

// MARK: errors

/// A libc call failed while setting a test up (not what the test checks).
struct SetupError: Error, CustomStringConvertible {
    let what: String
    let code: Int32
    var description: String { "\(what) failed: errno \(code) (\(String(cString: strerror(code))))" }
}

@discardableResult
func check<T: FixedWidthInteger>(_ what: String, _ result: T) throws -> T {
    if result == -1 { throw SetupError(what: what, code: errno) }
    return result
}

// MARK: epoll bits, as the kernel defines them (independent of PollCore's constants)

enum Bits {
    static let IN: UInt32 = 0x001
    static let PRI: UInt32 = 0x002
    static let OUT: UInt32 = 0x004
    static let ERR: UInt32 = 0x008
    static let HUP: UInt32 = 0x010
    static let RDHUP: UInt32 = 0x2000
    static let ET: UInt32 = 1 << 31
    static let ONESHOT: UInt32 = 1 << 30
}

/// mio's `Event::is_*` formulas on epoll (mio-behaviour.md §3.6), written out
/// independently of the library: the flags an event with kernel bits `e` must carry.
func referenceFlags(_ e: UInt32) -> Event.Flags {
    var f: Event.Flags = []
    if e & Bits.IN != 0 || e & Bits.PRI != 0 { f.insert(.readable) }
    if e & Bits.OUT != 0 { f.insert(.writable) }
    if e & Bits.ERR != 0 { f.insert(.error) }
    if e & Bits.HUP != 0 || (e & Bits.IN != 0 && e & Bits.RDHUP != 0) { f.insert(.readClosed) }
    if e & Bits.HUP != 0 || (e & Bits.OUT != 0 && e & Bits.ERR != 0) || e == Bits.ERR {
        f.insert(.writeClosed)
    }
    if e & Bits.PRI != 0 { f.insert(.priority) }
    return f
}

// MARK: clock

/// CLOCK_MONOTONIC in nanoseconds: the clock epoll's timeouts run on.
func monotonicNanoseconds() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}

func sleepMilliseconds(_ ms: Int) {
    var request = timespec(tv_sec: ms / 1000, tv_nsec: (ms % 1000) * 1_000_000)
    var remaining = timespec()
    for _ in 0..<1000 {
        if nanosleep(&request, &remaining) == 0 || errno != EINTR { return }
        request = remaining
    }
}

// MARK: file descriptors

func closeFD(_ fd: Int32) { if fd >= 0 { _ = close(fd) } }

/// Makes `fd` non-blocking and close-on-exec (Swift's Glibc module has no pipe2/accept4).
func setNonBlockingCloexec(_ fd: Int32) throws {
    try check("fcntl(F_SETFL)", fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK))
    try check("fcntl(F_SETFD)", fcntl(fd, F_SETFD, FD_CLOEXEC))
}

/// A non-blocking pipe: (read end, write end).
func makePipe() throws -> (read: Int32, write: Int32) {
    var fds: [Int32] = [-1, -1]
    try check("pipe", pipe(&fds))
    do {
        try setNonBlockingCloexec(fds[0])
        try setNonBlockingCloexec(fds[1])
    } catch {
        closeFD(fds[0])
        closeFD(fds[1])
        throw error
    }
    return (fds[0], fds[1])
}

/// A non-blocking AF_UNIX stream socketpair.
func makeSocketPair() throws -> (Int32, Int32) {
    var fds: [Int32] = [-1, -1]
    try check("socketpair", socketpair(
        AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue),
        0, &fds))
    return (fds[0], fds[1])
}

func makeEventFD(initial: UInt32 = 0) throws -> Int32 {
    try check("eventfd", eventfd(initial, Int32(EFD_NONBLOCK | EFD_CLOEXEC)))
}

/// Adds 1 to an eventfd's counter (makes it readable).
func signalEventFD(_ fd: Int32) throws {
    var one: UInt64 = 1
    try check("write(eventfd)", write(fd, &one, 8))
}

@discardableResult
func writeBytes(_ fd: Int32, _ count: Int = 1) throws -> Int {
    let bytes = [UInt8](repeating: 0x2a, count: count)
    return try check("write", bytes.withUnsafeBytes { write(fd, $0.baseAddress, count) })
}

/// Reads until EAGAIN (or end of file); returns the number of bytes read. Bounded.
@discardableResult
func drain(_ fd: Int32) -> Int {
    var total = 0
    var buffer = [UInt8](repeating: 0, count: 65536)
    for _ in 0..<10_000 {
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n <= 0 { break }
        total += n
    }
    return total
}

func fdFlags(_ fd: Int32) -> Int32 { fcntl(fd, F_GETFD) }
func fileStatusFlags(_ fd: Int32) -> Int32 { fcntl(fd, F_GETFL) }

/// /proc/self/fdinfo/<fd>, nil if `fd` is not open.
func fdInfo(_ fd: Int32) -> String? {
    let file = open("/proc/self/fdinfo/\(fd)", O_RDONLY | O_CLOEXEC)
    guard file >= 0 else { return nil }
    defer { closeFD(file) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    for _ in 0..<64 {
        let n = buffer.withUnsafeMutableBytes { read(file, $0.baseAddress, $0.count) }
        if n <= 0 { break }
        bytes += buffer[0..<n]
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// The "eventfd-id:" of an eventfd (unique per eventfd), nil if `fd` is not one.
func eventfdID(_ fd: Int32) -> String? {
    fdInfo(fd)?.split(separator: "\n").first { $0.hasPrefix("eventfd-id:") }.map(String.init)
}

/// Whether the epoll instance behind `fd` holds a registration with `token` (fdinfo
/// lists each as "tfd: ... data: <hex token>").
func epollHasToken(_ fd: Int32, _ token: UInt64) -> Bool {
    guard let info = fdInfo(fd) else { return false }
    let hex = String(token, radix: 16)
    for line in info.split(separator: "\n") where line.hasPrefix("tfd:") {
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        if let data = fields.firstIndex(of: "data:"), data + 1 < fields.count, fields[data + 1] == hex {
            return true
        }
    }
    return false
}

/// Whether `fd` is an open descriptor of this process.
func isOpen(_ fd: Int32) -> Bool { fcntl(fd, F_GETFD) != -1 }

// MARK: timerfd (not in Swift's Glibc module: reached through dlsym)

private typealias TimerfdCreate = @convention(c) (Int32, Int32) -> Int32
private typealias TimerfdSettime = @convention(c) (
    Int32, Int32, UnsafePointer<itimerspec>?, UnsafeMutablePointer<itimerspec>?
) -> Int32

private let timerfdCreateFunction: TimerfdCreate? = {
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "timerfd_create") else { return nil }
    return unsafeBitCast(symbol, to: TimerfdCreate.self)
}()
private let timerfdSettimeFunction: TimerfdSettime? = {
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "timerfd_settime") else { return nil }
    return unsafeBitCast(symbol, to: TimerfdSettime.self)
}()

/// A non-blocking timerfd on CLOCK_MONOTONIC that expires once after `nanoseconds`.
func makeTimerFD(expiringAfter nanoseconds: Int64) throws -> Int32 {
    guard let create = timerfdCreateFunction, let settime = timerfdSettimeFunction else {
        throw SetupError(what: "dlsym(timerfd_*)", code: ENOSYS)
    }
    let fd = try check("timerfd_create", create(CLOCK_MONOTONIC, O_NONBLOCK | O_CLOEXEC))
    var spec = itimerspec()
    spec.it_value.tv_sec = Int(nanoseconds / 1_000_000_000)
    spec.it_value.tv_nsec = Int(nanoseconds % 1_000_000_000)
    if settime(fd, 0, &spec, nil) == -1 {
        let code = errno
        closeFD(fd)
        throw SetupError(what: "timerfd_settime", code: code)
    }
    return fd
}

/// A guaranteed end to an otherwise unbounded wait: a timerfd registered in the poll
/// with `Watchdog.token`. If a test ever sees this token, the behaviour it waited for
/// did not happen within `seconds`.
final class Watchdog {
    static let token = Token(0xdead_beef_dead_beef)
    let fd: Int32
    let registry: Registry

    init(_ registry: Registry, seconds: Int64 = 10) throws {
        fd = try makeTimerFD(expiringAfter: seconds * 1_000_000_000)
        self.registry = registry
        do {
            try registry.register(fd, token: Watchdog.token, interest: .readable)
        } catch {
            closeFD(fd)
            throw error
        }
    }

    deinit {
        try? registry.deregister(fd)
        closeFD(fd)
    }
}

// MARK: TCP on loopback

func loopbackAddress(port: UInt16) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = port.bigEndian
    address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
    return address
}

func withSockaddr<R>(_ address: inout sockaddr_in, _ body: (UnsafePointer<sockaddr>, socklen_t) throws -> R) rethrows -> R {
    try withUnsafePointer(to: &address) {
        try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            try body($0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
}

func localPort(_ fd: Int32) throws -> UInt16 {
    var address = sockaddr_in()
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    try withUnsafeMutablePointer(to: &address) {
        try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            _ = try check("getsockname", getsockname(fd, $0, &length))
        }
    }
    return UInt16(bigEndian: address.sin_port)
}

func tcpSocket(nonblocking: Bool = true) throws -> Int32 {
    var type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
    if nonblocking { type |= Int32(SOCK_NONBLOCK.rawValue) }
    return try check("socket", socket(AF_INET, type, 0))
}

/// A socket bound to 127.0.0.1 on an ephemeral port; listening if `listen` is true.
func makeBoundSocket(listen shouldListen: Bool) throws -> (fd: Int32, port: UInt16) {
    let fd = try tcpSocket()
    do {
        var address = loopbackAddress(port: 0)
        try withSockaddr(&address) { _ = try check("bind", bind(fd, $0, $1)) }
        if shouldListen { try check("listen", listen(fd, 128)) }
        return (fd, try localPort(fd))
    } catch {
        closeFD(fd)
        throw error
    }
}

/// Starts a non-blocking connect to 127.0.0.1:`port`; returns the socket and the
/// errno of connect (0, EINPROGRESS, ECONNREFUSED ...).
func startConnect(port: UInt16) throws -> (fd: Int32, connectErrno: Int32) {
    let fd = try tcpSocket()
    var address = loopbackAddress(port: port)
    let result = withSockaddr(&address) { connect(fd, $0, $1) }
    return (fd, result == 0 ? 0 : errno)
}

/// Waits (bounded) until a non-blocking socket's connect has completed.
func waitConnected(_ fd: Int32) throws {
    var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
    _ = try check("poll", Glibc.poll(&pfd, 1, 5000))
    var error: Int32 = 0
    var length = socklen_t(4)
    try check("getsockopt(SO_ERROR)", getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length))
    if error != 0 { throw SetupError(what: "connect", code: error) }
}

/// Accepts one connection (bounded wait), non-blocking.
func acceptOne(_ listener: Int32) throws -> Int32 {
    var pfd = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
    _ = try check("poll", Glibc.poll(&pfd, 1, 5000))
    let fd = try check("accept", accept(listener, nil, nil))
    do {
        try setNonBlockingCloexec(fd)
    } catch {
        closeFD(fd)
        throw error
    }
    return fd
}

/// A connected TCP pair on loopback: (client, server side), both non-blocking.
final class TCPPair {
    private(set) var client: Int32
    private(set) var server: Int32

    init() throws {
        let (listener, port) = try makeBoundSocket(listen: true)
        defer { closeFD(listener) }
        let (client, _) = try startConnect(port: port)
        do {
            try waitConnected(client)
            server = try acceptOne(listener)
        } catch {
            closeFD(client)
            throw error
        }
        self.client = client
    }

    func closeServer() { closeFD(server); server = -1 }
    func closeClient() { closeFD(client); client = -1 }

    deinit {
        closeFD(client)
        closeFD(server)
    }
}

func setLingerZero(_ fd: Int32) throws {
    var value = linger(l_onoff: 1, l_linger: 0)
    try check("setsockopt(SO_LINGER)", setsockopt(fd, SOL_SOCKET, SO_LINGER, &value, socklen_t(MemoryLayout<linger>.size)))
}

// MARK: waiting

/// One bounded wait; returns the events as an array (in the kernel's order).
func waitEvents(_ poll: Poll, capacity: Int = 64, timeout: Duration?) throws(Errno) -> [Event] {
    let events = Events(capacity: capacity)
    try poll.poll(events, timeout: timeout)
    return Array(events)
}

/// Waits until an event with `token` arrives (at most `attempts` waits of `timeout`),
/// and returns every event seen on the way.
func waitFor(_ token: Token, in poll: Poll, timeout: Duration = .seconds(5), attempts: Int = 3) throws(Errno) -> [Event] {
    var seen: [Event] = []
    for _ in 0..<attempts {
        let batch = try waitEvents(poll, timeout: timeout)
        seen += batch
        if batch.contains(where: { $0.token == token }) { break }
    }
    return seen
}

/// A short wait meant to find nothing (a negative check: long enough for loopback
/// traffic that was already sent, which the kernel delivers before send returns).
let quietPeriod: Duration = .milliseconds(50)

// MARK: threads

private final class ThreadBody: @unchecked Sendable {
    let body: @Sendable () -> Void
    init(_ body: @escaping @Sendable () -> Void) { self.body = body }
}

/// A plain pthread (not a task of the cooperative pool, so it may block).
/// Joined by `join()` or, at the latest, when released.
final class TestThread {
    private let handle: pthread_t
    private var joined = false

    init(_ body: @escaping @Sendable () -> Void) throws {
        let box = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
        var handle = pthread_t()
        let rc = pthread_create(&handle, nil, { argument in
            let body = Unmanaged<ThreadBody>.fromOpaque(argument!).takeRetainedValue()
            body.body()
            return nil
        }, box)
        if rc != 0 {
            Unmanaged<ThreadBody>.fromOpaque(box).release()
            throw SetupError(what: "pthread_create", code: rc)
        }
        self.handle = handle
    }

    var pthread: pthread_t { handle }

    func join() {
        guard !joined else { return }
        joined = true
        pthread_join(handle, nil)
    }

    deinit { join() }
}

/// A value shared between threads, behind a mutex.
final class Shared<Value: Sendable>: Sendable {
    private let storage: Mutex<Value>
    init(_ value: Value) { storage = Mutex(value) }
    var value: Value {
        get { storage.withLock { $0 } }
        set { storage.withLock { $0 = newValue } }
    }
    func update(_ body: (inout Value) -> Void) { storage.withLock { body(&$0) } }
}

/// The result of a wait made on another thread.
enum WaitOutcome: Sendable {
    case pending
    case events([Event])
    case failed(Errno)
}

/// A wait on another thread, started and left blocked in the kernel: `events()` joins
/// it and gives what it returned (an issue is recorded if it failed).
struct BlockedWait {
    let thread: TestThread
    let outcome: Shared<WaitOutcome>
    let isBlocked: Bool

    /// Starts `waitEvents(poll, timeout:)` on a new thread and waits (bounded) until it
    /// sleeps in the backend's wait.
    init(_ poll: Poll, timeout: Duration = .seconds(10)) throws {
        let outcome = Shared<WaitOutcome>(.pending)
        let (thread, tid) = try startThread {
            do throws(Errno) {
                outcome.value = .events(try waitEvents(poll, timeout: timeout))
            } catch {
                outcome.value = .failed(error)
            }
        }
        self.thread = thread
        self.outcome = outcome
        self.isBlocked = waitUntilBlockedInEpoll(tid)
    }

    func events(sourceLocation: SourceLocation = #_sourceLocation) -> [Event] {
        thread.join()
        guard case .events(let events) = outcome.value else {
            Issue.record("wait did not return events: \(outcome.value)", sourceLocation: sourceLocation)
            return []
        }
        return events
    }
}

// MARK: is a thread blocked in epoll?

private typealias GettidFunction = @convention(c) () -> Int32
private let gettidFunction: GettidFunction? = {
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "gettid") else { return nil }
    return unsafeBitCast(symbol, to: GettidFunction.self)
}()

/// The calling thread's kernel id (0 if unknown).
func currentThreadID() -> Int32 { gettidFunction?() ?? 0 }

/// The number of the system call thread `tid` is blocked in, from
/// /proc/self/task/<tid>/syscall (nil if it is running or the file can't be read).
func blockedSyscall(of tid: Int32) -> Int? {
    let fd = open("/proc/self/task/\(tid)/syscall", O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { closeFD(fd) }
    var buffer = [UInt8](repeating: 0, count: 256)
    let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
    guard n > 0 else { return nil }
    let text = String(decoding: buffer[0..<n], as: UTF8.self)
    guard let first = text.split(whereSeparator: { $0 == " " || $0 == "\n" }).first else { return nil }
    return Int(first)
}

/// x86_64 / aarch64 numbers of the backends' waits: epoll_wait, epoll_pwait,
/// epoll_pwait2; poll, ppoll.
#if arch(x86_64)
let epollWaitSyscalls: Set<Int> = [232, 281, 441, 7, 271]
#else
let epollWaitSyscalls: Set<Int> = [22, 441, 73]
#endif

// MARK: backends

/// The backend this run of the suite is over: `Poll()`'s choice, so
/// `SWIFTPOLL_BACKEND=poll swift test` runs every test over poll(2).
let suiteBackend: Backend = (try? Poll())?.backend ?? .epoll

/// For a test that holds on epoll only; `why` is what the skip message says.
func epollOnly(_ why: Comment) -> ConditionTrait {
    .enabled(if: suiteBackend == .epoll, why)
}

/// Waits (at most ~5 s) until thread `tid` sleeps inside the backend's wait. Returns
/// whether it did; a test that needs it records an issue otherwise.
func waitUntilBlockedInEpoll(_ tid: Int32) -> Bool {
    // Without /proc/<pid>/task/<tid>/syscall (a kernel without it), fall back to a pause
    // long enough for the thread to reach the kernel in practice.
    if tid == 0 || access("/proc/self/task/\(tid)/syscall", R_OK) != 0 {
        sleepMilliseconds(100)
        return true
    }
    for _ in 0..<5000 {
        if let call = blockedSyscall(of: tid), epollWaitSyscalls.contains(call) { return true }
        sleepMilliseconds(1)
    }
    return false
}

/// Runs `body` on a new thread that first publishes its kernel thread id; returns the
/// thread and that id (waited for, bounded).
func startThread(_ body: @escaping @Sendable () -> Void) throws -> (TestThread, Int32) {
    let tid = Shared<Int32>(0)
    let thread = try TestThread {
        tid.value = currentThreadID()
        body()
    }
    for _ in 0..<5000 where tid.value == 0 { sleepMilliseconds(1) }
    return (thread, tid.value)
}
