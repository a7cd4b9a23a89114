// Value types: Errno, Interest, Event (layout against the C struct), Token, Version.

import Glibc
import Testing
import CPollSys
@testable import PollCore

@Suite("Value types")
struct ValueTypeTests {
    // MARK: Errno

    static let namedErrors: [(Errno, Int32)] = [
        (.operationNotPermitted, EPERM), (.noSuchFileOrDirectory, ENOENT), (.interrupted, EINTR),
        (.badFileDescriptor, EBADF), (.wouldBlock, EAGAIN), (.noMemory, ENOMEM),
        (.resourceBusy, EBUSY), (.fileExists, EEXIST), (.invalidArgument, EINVAL),
        (.tooManyOpenFiles, EMFILE), (.tooManyOpenFilesInSystem, ENFILE), (.noSpace, ENOSPC),
        (.notImplemented, ENOSYS),
    ]

    @Test("each named Errno has its errno value and glibc's text", arguments: namedErrors)
    func namedErrno(error: Errno, code: Int32) {
        #expect(error.rawValue == code)
        #expect(error == Errno(rawValue: code))
        #expect(error.description == String(cString: strerror(code)))
        #expect(String(describing: error) == String(cString: strerror(code)))
    }

    @Test("Errno descriptions of other codes, of negative codes, and of unknown codes")
    func otherDescriptions() {
        for code in [EIO, EACCES, EFAULT, ENODEV, EPIPE, ERANGE, ELOOP, EOVERFLOW, ENOTSUP] {
            #expect(Errno(rawValue: code).description == String(cString: strerror(code)), "errno \(code)")
        }
        #expect(Errno(rawValue: 0).description == "Success")
        #expect(Errno(rawValue: -EEXIST).description == "File exists")
        #expect(Errno(rawValue: 9999).description == "Unknown error")
        #expect(Errno(rawValue: Int32.min).description == "Unknown error")
        #expect(Errno(rawValue: Int32.max).description == "Unknown error")
    }

    @Test("Errno is Hashable and an Error")
    func errnoHashable() {
        let set: Set<Errno> = [.fileExists, Errno(rawValue: EEXIST), .invalidArgument]
        #expect(set.count == 2)
        let error: any Error = Errno.fileExists
        #expect((error as? Errno) == .fileExists)
    }

    // MARK: Interest

    /// ABI.md: at least one of READABLE/WRITABLE/PRIORITY; LEVEL|ONESHOT together, or
    /// any unknown bit, is invalid.
    private static func referenceIsValid(_ raw: UInt32) -> Bool {
        let known: UInt32 = 0x01 | 0x02 | 0x04 | 0x100 | 0x200
        return raw & ~known == 0 && raw & 0x07 != 0 && raw & 0x300 != 0x300
    }

    @Test("Interest.isValid: every value of the low 12 bits, and every single high bit")
    func isValidTable() {
        var valid = 0
        for raw in UInt32(0)..<0x1000 {
            let isValid = Interest(rawValue: raw).isValid
            #expect(isValid == Self.referenceIsValid(raw), "raw \(raw)")
            if isValid { valid += 1 }
        }
        #expect(valid == 7 * 3) // 7 interest combinations x {edge, level, oneshot}
        for bit in 12..<32 {
            #expect(!Interest(rawValue: 1 << UInt32(bit) | 0x01).isValid, "bit \(bit)")
        }
    }

    @Test("Interest values are the C ABI's macros; edge is the empty mode")
    func interestValues() {
        #expect(Interest.readable.rawValue == SWIFTPOLL_READABLE)
        #expect(Interest.writable.rawValue == SWIFTPOLL_WRITABLE)
        #expect(Interest.priority.rawValue == SWIFTPOLL_PRIORITY)
        #expect(Interest.edge.rawValue == SWIFTPOLL_EDGE)
        #expect(Interest.level.rawValue == SWIFTPOLL_LEVEL)
        #expect(Interest.oneshot.rawValue == SWIFTPOLL_ONESHOT)
        #expect(Interest.edge == [])
        #expect(Interest([.readable, .edge]) == .readable)
        #expect(Interest([.readable, .writable]).rawValue == 0x03)
        #expect(Interest([.readable, .writable]).isReadable)
        #expect(Interest([.readable, .writable]).isWritable)
        #expect(!Interest([.readable, .writable]).isPriority)
        #expect(Interest.priority.isPriority)
        #expect(!Interest.writable.isReadable)
        #expect(Interest([.readable, .writable]).subtracting(.readable) == .writable)
        #expect(Interest([.readable, .level]).isValid)
        #expect(Interest([.writable, .oneshot]).isValid)
        #expect(!Interest([.readable, .level, .oneshot]).isValid)
    }

    // MARK: Event

    @Test("Event's layout is the C struct swiftpoll_event: 16 bytes, token 0, flags 8, raw 12")
    func eventLayout() {
        #expect(MemoryLayout<Event>.size == 16)
        #expect(MemoryLayout<Event>.stride == 16)
        #expect(MemoryLayout<Event>.alignment == 8)
        #expect(MemoryLayout<Event>.offset(of: \.token) == 0)
        #expect(MemoryLayout<Event>.offset(of: \.flags) == 8)
        #expect(MemoryLayout<Event>.offset(of: \.raw) == 12)
        #expect(MemoryLayout<Token>.size == 8)
        #expect(MemoryLayout<Event.Flags>.size == 4)

        #expect(MemoryLayout<swiftpoll_event>.size == MemoryLayout<Event>.size)
        #expect(MemoryLayout<swiftpoll_event>.stride == MemoryLayout<Event>.stride)
        #expect(MemoryLayout<swiftpoll_event>.alignment == MemoryLayout<Event>.alignment)
        #expect(MemoryLayout<swiftpoll_event>.offset(of: \.token) == 0)
        #expect(MemoryLayout<swiftpoll_event>.offset(of: \.flags) == MemoryLayout<Event>.offset(of: \.flags))
        #expect(MemoryLayout<swiftpoll_event>.offset(of: \.raw) == MemoryLayout<Event>.offset(of: \.raw))
    }

    @Test("an Event's bytes read as a swiftpoll_event give the same fields")
    func eventBytesAsCStruct() {
        let event = Event(token: Token(0x0102_0304_0506_0708), flags: [.readable, .priority], raw: 0x8000_2003)
        let c = withUnsafeBytes(of: event) { $0.loadUnaligned(as: swiftpoll_event.self) }
        #expect(c.token == 0x0102_0304_0506_0708)
        #expect(c.flags == Event.Flags([.readable, .priority]).rawValue)
        #expect(c.raw == 0x8000_2003)
    }

    @Test("the epoll_event the kernel writes is 12 bytes on x86_64 (packed), 16 elsewhere")
    func kernelEventSize() {
        #if arch(x86_64)
        #expect(sp_epoll_event_size() == 12)
        #else
        #expect(sp_epoll_event_size() == 16)
        #endif
        #expect(Int(sp_epoll_event_size()) == EpollBits.kernelStride)
    }

    @Test("Event.Flags values are the C ABI's SWIFTPOLL_EVENT_* macros")
    func flagValues() {
        #expect(Event.Flags.readable.rawValue == SWIFTPOLL_EVENT_READABLE)
        #expect(Event.Flags.writable.rawValue == SWIFTPOLL_EVENT_WRITABLE)
        #expect(Event.Flags.error.rawValue == SWIFTPOLL_EVENT_ERROR)
        #expect(Event.Flags.readClosed.rawValue == SWIFTPOLL_EVENT_READ_CLOSED)
        #expect(Event.Flags.writeClosed.rawValue == SWIFTPOLL_EVENT_WRITE_CLOSED)
        #expect(Event.Flags.priority.rawValue == SWIFTPOLL_EVENT_PRIORITY)
    }

    @Test("Event accessors follow its flags; description names every flag")
    func eventAccessors() {
        let all = Event(token: Token(10), flags: [.readable, .writable, .error, .readClosed, .writeClosed, .priority])
        #expect(all.isReadable && all.isWritable && all.isError && all.isReadClosed && all.isWriteClosed && all.isPriority)
        let none = Event(token: Token(10), flags: [])
        #expect(!none.isReadable && !none.isWritable && !none.isError && !none.isReadClosed && !none.isWriteClosed && !none.isPriority)
        #expect(none.raw == 0)
        let readable = Event(token: Token(10), flags: .readable)
        #expect(readable.description == "Event { token: 10, readable: true, writable: false, error: false, read_closed: false, write_closed: false, priority: false }")
        #expect(Event(token: Token(1), flags: .readable, raw: 1) != Event(token: Token(1), flags: .readable, raw: 5))
    }

    // MARK: Token, Version

    @Test("Token: any UInt64, ordered, described as Token(n)")
    func token() {
        #expect(Token(5).rawValue == 5)
        #expect(Token(rawValue: UInt64.max).rawValue == UInt64.max)
        #expect(Token(1) < Token(2))
        #expect(Token(UInt64.max) > Token(0))
        #expect(Token(7) == Token(rawValue: 7))
        #expect(Token(7).description == "Token(7)")
        #expect(Set([Token(1), Token(1), Token(2)]).count == 2)
    }

    @Test("Version: the header's macros")
    func version() {
        #expect(Version.major == Int(SWIFTPOLL_VERSION_MAJOR))
        #expect(Version.minor == Int(SWIFTPOLL_VERSION_MINOR))
        #expect(Version.patch == Int(SWIFTPOLL_VERSION_PATCH))
        #expect(Version.abi == 1)
        #expect(Version.string == "\(Version.major).\(Version.minor).\(Version.patch)")
    }

    @Test("Sendable: Poll, Registry, Waker, Event, Token, Interest, Errno cross threads")
    func sendable() {
        func requireSendable<T: Sendable>(_: T.Type) -> Bool { true }
        #expect(requireSendable(Poll.self))
        #expect(requireSendable(Registry.self))
        #expect(requireSendable(Waker.self))
        #expect(requireSendable(Event.self))
        #expect(requireSendable(Token.self))
        #expect(requireSendable(Interest.self))
        #expect(requireSendable(Errno.self))
    }
}
