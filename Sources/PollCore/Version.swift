import CPollSys

/// The library's version, from the public header's macros (the single source of truth).
public enum Version {
    public static let major = Int(SWIFTPOLL_VERSION_MAJOR)
    public static let minor = Int(SWIFTPOLL_VERSION_MINOR)
    public static let patch = Int(SWIFTPOLL_VERSION_PATCH)
    /// The C ABI version (`SWIFTPOLL_ABI_VERSION`).
    public static let abi = UInt32(SWIFTPOLL_ABI_VERSION)
    public static var string: String { String(cString: sp_version()) }
}
