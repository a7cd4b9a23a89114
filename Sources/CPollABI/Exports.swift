import CPollSys
import PollCore

// The C ABI of include/swiftpoll.h, one function each, in the header's order.
// Argument checks, handle conversion and errno mapping only: semantics live in PollCore.

// MARK: library

@_cdecl("swiftpoll_abi_version")
public func swiftpoll_abi_version() -> UInt32 { Version.abi }

@_cdecl("swiftpoll_version")
public func swiftpoll_version() -> UnsafePointer<CChar> { sp_version() }

@_cdecl("swiftpoll_strerror")
public func swiftpoll_strerror(_ err: Int32) -> UnsafePointer<CChar> { sp_strerror(err) }

// MARK: poll

@_cdecl("swiftpoll_poll_new")
public func swiftpoll_poll_new(_ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    swiftpoll_poll_new_backend(out, SWIFTPOLL_BACKEND_DEFAULT)
}

@_cdecl("swiftpoll_poll_new_backend")
public func swiftpoll_poll_new_backend(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ backend: Int32) -> Int32 {
    guard let out else { return -EINVAL }
    let chosen: Backend?
    if backend == SWIFTPOLL_BACKEND_DEFAULT {
        chosen = nil
    } else if let known = Backend(rawValue: backend) {
        chosen = known
    } else {
        return -EINVAL
    }
    return preservingErrno { () -> Int32 in
        do throws(Errno) {
            out.pointee = retainedHandle(try Poll(backend: chosen))
            return 0
        } catch {
            return -error.rawValue
        }
    }
}

@_cdecl("swiftpoll_poll_backend")
public func swiftpoll_poll_backend(_ poll: OpaquePointer?) -> Int32 {
    withHandle(poll, as: Poll.self) { $0.backend.rawValue }
}

@_cdecl("swiftpoll_backend_name")
public func swiftpoll_backend_name(_ backend: Int32) -> UnsafePointer<CChar>? { sp_backend_name(backend) }

@_cdecl("swiftpoll_poll_free")
public func swiftpoll_poll_free(_ poll: OpaquePointer?) {
    guard let poll else { return }
    release(poll, as: Poll.self)
}

@_cdecl("swiftpoll_poll_fd")
public func swiftpoll_poll_fd(_ poll: OpaquePointer?) -> Int32 {
    withHandle(poll, as: Poll.self) { (poll) -> Int32 in
        let fd = poll.fileDescriptor
        return fd >= 0 ? fd : -ENOTSUP
    }
}

@_cdecl("swiftpoll_poll_registry")
public func swiftpoll_poll_registry(_ poll: OpaquePointer?) -> OpaquePointer? {
    guard let poll else { return nil }
    return OpaquePointer(Unmanaged.passUnretained(object(poll, as: Poll.self).registry).toOpaque())
}

@_cdecl("swiftpoll_poll_wait")
public func swiftpoll_poll_wait(
    _ poll: OpaquePointer?, _ events: UnsafeMutablePointer<swiftpoll_event>?, _ capacity: UInt,
    _ timeoutNanoseconds: Int64
) -> Int32 {
    guard let events, capacity != 0 else { return -EINVAL }
    let buffer = UnsafeMutableRawPointer(events).assumingMemoryBound(to: Event.self)
    // size_t may exceed Int.max; the backend clamps to what the kernel accepts anyway.
    let capacity = Int(min(capacity, UInt(Int.max)))
    return withHandle(poll, as: Poll.self) { (poll) throws(Errno) in
        Int32(truncatingIfNeeded: try poll.wait(into: buffer, capacity: capacity, timeoutNanoseconds: timeoutNanoseconds))
    }
}

@_cdecl("swiftpoll_poll_wait_args")
public func swiftpoll_poll_wait_args(_ args: UnsafePointer<swiftpoll_wait_args>?) -> Int32 {
    guard let args else { return -EINVAL }
    return swiftpoll_poll_wait(
        args.pointee.poll, args.pointee.events, UInt(bitPattern: args.pointee.capacity),
        args.pointee.timeout_ns)
}

// MARK: registry

@_cdecl("swiftpoll_registry_register")
public func swiftpoll_registry_register(
    _ registry: OpaquePointer?, _ fd: Int32, _ token: UInt64, _ interest: UInt32
) -> Int32 {
    withHandle(registry, as: Registry.self) { (registry) throws(Errno) in
        try registry.register(fd, token: Token(token), interest: Interest(rawValue: interest))
        return 0
    }
}

@_cdecl("swiftpoll_registry_reregister")
public func swiftpoll_registry_reregister(
    _ registry: OpaquePointer?, _ fd: Int32, _ token: UInt64, _ interest: UInt32
) -> Int32 {
    withHandle(registry, as: Registry.self) { (registry) throws(Errno) in
        try registry.reregister(fd, token: Token(token), interest: Interest(rawValue: interest))
        return 0
    }
}

@_cdecl("swiftpoll_registry_deregister")
public func swiftpoll_registry_deregister(_ registry: OpaquePointer?, _ fd: Int32) -> Int32 {
    withHandle(registry, as: Registry.self) { (registry) throws(Errno) in
        try registry.deregister(fd)
        return 0
    }
}

@_cdecl("swiftpoll_registry_try_clone")
public func swiftpoll_registry_try_clone(
    _ registry: OpaquePointer?, _ out: UnsafeMutablePointer<OpaquePointer?>?
) -> Int32 {
    guard let out else { return -EINVAL }
    return preservingErrno {
        withHandle(registry, as: Registry.self) { (registry) throws(Errno) in
            out.pointee = retainedHandle(try registry.tryClone())
            return 0
        }
    }
}

@_cdecl("swiftpoll_registry_free")
public func swiftpoll_registry_free(_ registry: OpaquePointer?) {
    guard let registry else { return }
    // The poll's own registry is borrowed (swiftpoll_poll_registry): freeing it is a no-op.
    if object(registry, as: Registry.self).isPollOwned { return }
    release(registry, as: Registry.self)
}

// MARK: waker

@_cdecl("swiftpoll_waker_new")
public func swiftpoll_waker_new(
    _ registry: OpaquePointer?, _ token: UInt64, _ out: UnsafeMutablePointer<OpaquePointer?>?
) -> Int32 {
    guard let out else { return -EINVAL }
    return preservingErrno {
        withHandle(registry, as: Registry.self) { (registry) throws(Errno) in
            out.pointee = retainedHandle(try Waker(registry: registry, token: Token(token)))
            return 0
        }
    }
}

@_cdecl("swiftpoll_waker_wake")
public func swiftpoll_waker_wake(_ waker: OpaquePointer?) -> Int32 {
    withHandle(waker, as: Waker.self) { (waker) throws(Errno) in
        try waker.wake()
        return 0
    }
}

@_cdecl("swiftpoll_waker_free")
public func swiftpoll_waker_free(_ waker: OpaquePointer?) {
    guard let waker else { return }
    release(waker, as: Waker.self)
}
