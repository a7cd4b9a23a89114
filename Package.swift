// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "swiftpoll",
    products: [
        // The Swift API.
        .library(name: "PollCore", targets: ["PollCore"]),
        // The C ABI, libswiftpoll.so. The shipped artifact is built by the Makefile
        // (Embedded Swift, SONAME, version script, strip); see docs/DESIGN.md.
        .library(name: "swiftpoll", type: .dynamic, targets: ["CPollABI"]),
    ],
    targets: [
        .target(name: "CPollSys"),
        .target(name: "PollCore", dependencies: ["CPollSys"]),
        .target(name: "CPollABI", dependencies: ["PollCore", "CPollSys"], exclude: ["swiftpoll.map"]),
        .testTarget(name: "PollCoreTests", dependencies: ["PollCore", "CPollABI", "CPollSys"]),
    ],
    swiftLanguageModes: [.v6]
)
