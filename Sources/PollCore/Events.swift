/// A fixed-capacity buffer of events, filled by `Poll.poll(_:timeout:)`.
///
/// The capacity is the most events one wait returns; readiness beyond it stays queued in
/// the kernel and is reported by the next wait. Allocated once; waiting allocates nothing.
public final class Events: Sequence {
    @usableFromInline
    let storage: UnsafeMutableBufferPointer<Event>
    /// The number of events the last wait stored.
    public internal(set) var count: Int = 0

    /// - Precondition: `capacity > 0` (a wait needs room for one event).
    public init(capacity: Int) {
        precondition(capacity > 0, "Events needs a capacity of at least 1")
        storage = .allocate(capacity: capacity)
        storage.initialize(repeating: Event(token: Token(0), flags: []))
    }

    deinit { storage.deallocate() }

    public var capacity: Int { storage.count }
    public var isEmpty: Bool { count == 0 }

    /// Forgets the stored events (not needed before a wait, which clears first).
    public func clear() { count = 0 }

    public subscript(index: Int) -> Event {
        precondition(index >= 0 && index < count, "event index out of range")
        return storage[index]
    }

    public struct Iterator: IteratorProtocol {
        @usableFromInline let storage: UnsafeMutableBufferPointer<Event>
        @usableFromInline let count: Int
        @usableFromInline var index = 0
        @usableFromInline let owner: Events

        @inlinable
        public mutating func next() -> Event? {
            guard index < count else { return nil }
            defer { index += 1 }
            return storage[index]
        }
    }

    public func makeIterator() -> Iterator {
        Iterator(storage: storage, count: count, owner: self)
    }

    public var underestimatedCount: Int { count }
}
