//===----------------------------------------------------------------------===//
// ImageGate test support: a scratch directory per test, removed with everything in it afterwards.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// `mkdtemp` under `$TMPDIR` (or /tmp); the directory and its contents go when the value is released.
/// Keep it alive for the whole test (`let dir = try TemporaryDirectory()` at the top).
public final class TemporaryDirectory: @unchecked Sendable {
    // Immutable after init; the only mutation (removal) is in deinit.
    public let path: String

    public init(prefix: String = "imagegate-test") throws {
        let base = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array("\(base)/\(prefix)-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw TestFailure("mkdtemp in \(base): \(String(cString: strerror(errno)))")
        }
        path = String(cString: made)
    }

    /// `path/name`.
    public func file(_ name: String) -> String { path + "/" + name }

    /// Writes `bytes` to `path/name` (created or replaced) and returns the full path.
    @discardableResult
    public func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let full = file(name)
        guard FileManager.default.createFile(atPath: full, contents: Data(bytes)) else {
            throw TestFailure("cannot write \(full)")
        }
        return full
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// A failure of the test scaffolding itself (not of the code under test), with a message that says what.
public struct TestFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
