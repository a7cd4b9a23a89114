/// Something that can register itself with a `Registry`: mio's `event::Source`.
///
/// A type that owns descriptors (a socket type, or one wrapping several fds) implements
/// these three with the registry's `Int32` calls, so that its users write
/// `try registry.register(source, token:, interest:)` and never see its fds. Call the
/// registry's methods, not these.
///
/// A conformance that throws must leave nothing registered that it registered in the
/// same call (a type with two fds that fails on the second deregisters the first):
/// an error means "not registered", as for one fd.
public protocol Source {
    func register(with registry: Registry, token: Token, interest: Interest) throws(Errno)
    func reregister(with registry: Registry, token: Token, interest: Interest) throws(Errno)
    func deregister(from registry: Registry) throws(Errno)
}

/// A raw descriptor as a `Source` (mio's `SourceFd`): borrowed, not owned, no state.
public struct SourceFD: Source, Sendable {
    public let fd: Int32

    @inlinable
    public init(_ fd: Int32) { self.fd = fd }

    @inlinable
    public func register(with registry: Registry, token: Token, interest: Interest) throws(Errno) {
        try registry.register(fd, token: token, interest: interest)
    }

    @inlinable
    public func reregister(with registry: Registry, token: Token, interest: Interest) throws(Errno) {
        try registry.reregister(fd, token: token, interest: interest)
    }

    @inlinable
    public func deregister(from registry: Registry) throws(Errno) {
        try registry.deregister(fd)
    }
}

extension Registry {
    /// Registers `source` (mio's `Registry::register`): the source registers its
    /// descriptors. Generic, so that no existential is involved.
    @inlinable
    public func register<S: Source>(_ source: S, token: Token, interest: Interest) throws(Errno) {
        try source.register(with: self, token: token, interest: interest)
    }

    @inlinable
    public func reregister<S: Source>(_ source: S, token: Token, interest: Interest) throws(Errno) {
        try source.reregister(with: self, token: token, interest: interest)
    }

    @inlinable
    public func deregister<S: Source>(_ source: S) throws(Errno) {
        try source.deregister(from: self)
    }
}

/// A registry (and so its poll) is a source: registering it in another poll nests this
/// one, which then reports readable when it has events. Its epoll or kqueue fd is what is
/// registered; the poll(2) backend has none (`.notSupported`).
extension Registry: Source {
    public func register(with registry: Registry, token: Token, interest: Interest) throws(Errno) {
        try registry.register(try nestableDescriptor(), token: token, interest: interest)
    }

    public func reregister(with registry: Registry, token: Token, interest: Interest) throws(Errno) {
        try registry.reregister(try nestableDescriptor(), token: token, interest: interest)
    }

    public func deregister(from registry: Registry) throws(Errno) {
        try registry.deregister(try nestableDescriptor())
    }

    func nestableDescriptor() throws(Errno) -> Int32 {
        let fd = fileDescriptor
        if fd < 0 { throw .notSupported }
        return fd
    }
}

/// A poll is a source through its own registry (see `Registry: Source`).
extension Poll: Source {
    public func register(with registry: Registry, token: Token, interest: Interest) throws(Errno) {
        try self.registry.register(with: registry, token: token, interest: interest)
    }

    public func reregister(with registry: Registry, token: Token, interest: Interest) throws(Errno) {
        try self.registry.reregister(with: registry, token: token, interest: interest)
    }

    public func deregister(from registry: Registry) throws(Errno) {
        try self.registry.deregister(from: registry)
    }
}
