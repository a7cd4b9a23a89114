import CPollSys
import PollCore

// Handle conversion and error mapping: the whole of what this layer does besides
// checking arguments. Handles are `Unmanaged` references; borrowing them with
// `_withUnsafeGuaranteedRef` costs no retain/release on the hot paths, and the closures
// below are non-throwing so that the optimizer inlines them whole.

/// Calls `body` with the object behind `handle`, the caller's errno saved and restored
/// (ABI.md: every function leaves errno as it was, which is what makes
/// `swiftpoll_waker_wake` signal-safe), and a thrown `Errno` mapped to its negative
/// value. A NULL handle is `-EINVAL`.
@inline(__always)
func withHandle<Object: AnyObject>(
    _ handle: OpaquePointer?, as _: Object.Type, _ body: (Object) throws(Errno) -> Int32
) -> Int32 {
    guard let handle else { return -EINVAL }
    let saved = sp_errno()
    defer { sp_set_errno(saved) }
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

/// Drops the reference a handle holds (the `*_free` functions), errno preserved.
@inline(__always)
func release<Object: AnyObject>(_ handle: OpaquePointer, as _: Object.Type) {
    let saved = sp_errno()
    Unmanaged<Object>.fromOpaque(UnsafeRawPointer(handle)).release()
    sp_set_errno(saved)
}
