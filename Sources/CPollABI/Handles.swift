import CPollSys
import PollCore

// Handle conversion and error mapping: the whole of what this layer does besides
// checking arguments. Handles are `Unmanaged` references; borrowing them with
// `_withUnsafeGuaranteedRef` costs no retain/release on the hot paths.

@inline(__always)
func borrow<Object: AnyObject, Value, Failure: Error>(
    _ handle: OpaquePointer, as _: Object.Type, _ body: (Object) throws(Failure) -> Value
) throws(Failure) -> Value {
    let result = Unmanaged<Object>.fromOpaque(UnsafeRawPointer(handle))._withUnsafeGuaranteedRef {
        object in Result { () throws(Failure) -> Value in try body(object) }
    }
    return try result.get()
}

@inline(__always)
func retainedHandle<Object: AnyObject>(_ object: Object) -> OpaquePointer {
    OpaquePointer(Unmanaged.passRetained(object).toOpaque())
}

@inline(__always)
func release<Object: AnyObject>(_ handle: OpaquePointer, as _: Object.Type) {
    Unmanaged<Object>.fromOpaque(UnsafeRawPointer(handle)).release()
}

/// Runs `body` with the caller's errno saved and restored (ABI.md: every function leaves
/// errno as it was, which is what makes `swiftpoll_waker_wake` signal-safe), mapping a
/// thrown `Errno` to its negative value.
@inline(__always)
func abiCall(_ body: () throws(Errno) -> Int32) -> Int32 {
    let saved = sp_errno()
    defer { sp_set_errno(saved) }
    do {
        return try body()
    } catch {
        return -error.rawValue
    }
}

@inline(__always)
func preservingErrno(_ body: () -> Void) {
    let saved = sp_errno()
    body()
    sp_set_errno(saved)
}

let EINVAL_NEGATIVE: Int32 = -EINVAL
