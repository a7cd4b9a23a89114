import CPollSys
import PollCore

// Handle conversion and error mapping: the whole of what this layer does besides
// checking arguments. Handles are `Unmanaged` references; borrowing them with
// `_withUnsafeGuaranteedRef` costs no retain/release on the hot paths, and the closures
// below are non-throwing so that the optimizer inlines them whole.

// errno: ABI.md promises every function leaves it as it was (which is what makes
// `swiftpoll_waker_wake` signal-safe). PollCore's system calls never touch it (CPollSys
// issues them directly and returns -errno), so only the functions that allocate or free
// memory, where libc may set errno, save and restore it (`preservingErrno`).

/// Calls `body` with the object behind `handle`, mapping a thrown `Errno` to its
/// negative value. A NULL handle is `-EINVAL`.
@inline(__always)
func withHandle<Object: AnyObject>(
    _ handle: OpaquePointer?, as _: Object.Type, _ body: (Object) throws(Errno) -> Int32
) -> Int32 {
    guard let handle else { return -EINVAL }
    return Unmanaged<Object>.fromOpaque(UnsafeRawPointer(handle))._withUnsafeGuaranteedRef {
        (object) -> Int32 in
        do throws(Errno) {
            return try body(object)
        } catch {
            return -error.rawValue
        }
    }
}

/// The object behind `handle`, for the rare calls that need a strong reference.
@inline(__always)
func object<Object: AnyObject>(_ handle: OpaquePointer, as _: Object.Type) -> Object {
    Unmanaged<Object>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
}

@inline(__always)
func retainedHandle<Object: AnyObject>(_ object: Object) -> OpaquePointer {
    OpaquePointer(Unmanaged.passRetained(object).toOpaque())
}

/// Drops the reference a handle holds (the `*_free` functions).
@inline(__always)
func release<Object: AnyObject>(_ handle: OpaquePointer, as _: Object.Type) {
    preservingErrno { Unmanaged<Object>.fromOpaque(UnsafeRawPointer(handle)).release() }
}

/// Runs `body`, which may allocate or free memory, with the caller's errno put back.
@inline(__always)
func preservingErrno<Value>(_ body: () -> Value) -> Value {
    let saved = sp_errno()
    defer { sp_set_errno(saved) }
    return body()
}
