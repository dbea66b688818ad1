//===----------------------------------------------------------------------===//
// ImageGate: line-oriented logging to a file descriptor, safe from any thread.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import SystemIO

/// Writes whole lines to one descriptor with a single `write` each, so concurrent writers never interleave
/// within a line (O_APPEND files and pipes up to PIPE_BUF keep a write whole).
public final class LineSink: Sendable {
    private let fd: Mutex<Int32>
    private let ownsDescriptor: Bool
    private let path: String?
    /// Applied to every line before it is written (the server's token redaction, Docs/tokens.md).
    private let filter: (@Sendable (String) -> String)?

    public init(
        fd: Int32, ownsDescriptor: Bool = false, path: String? = nil, filter: (@Sendable (String) -> String)? = nil
    ) {
        self.fd = Mutex(fd)
        self.ownsDescriptor = ownsDescriptor
        self.path = path
        self.filter = filter
    }

    private static func openAppending(_ path: String) throws(GateError) -> Int32 {
        do {
            return try FileIO.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, mode: 0o640)
        } catch {
            throw GateError.io("cannot open log file \(path): \(error.reason)")
        }
    }

    /// Opens (creating, mode 0640) a log file for appending.
    public static func appending(path: String, filter: (@Sendable (String) -> String)? = nil) throws(GateError)
        -> LineSink
    {
        LineSink(fd: try openAppending(path), ownsDescriptor: true, path: path, filter: filter)
    }

    /// Reopens a file sink at its path (after logrotate moved the old file away). No-op for other sinks.
    public func reopen() throws(GateError) {
        guard let path, ownsDescriptor else { return }
        let new = try Self.openAppending(path)
        let old = fd.withLock { fd in
            let o = fd
            fd = new
            return o
        }
        Sys.close(old)
    }

    public static let standardError = LineSink(fd: 2)
    public static let standardOutput = LineSink(fd: 1)

    public func write(line: String) {
        var bytes = Array((filter?(line) ?? line).utf8)
        bytes.append(10)
        // A failed log write has nowhere to be reported; the line is dropped.
        fd.withLock { fd in _ = try? FileIO.writeAll(fd, bytes) }
    }

    deinit {
        if ownsDescriptor { fd.withLock { Sys.close($0) } }
    }
}

/// The server's diagnostic log: `time level message key=value…`. Secrets never reach it: callers pass
/// redacted values (see `TokenRedaction`).
public struct Logger: Sendable {
    public enum Level: Int, Sendable, Comparable {
        case debug = 0, info, warning, error
        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
        var name: String {
            switch self {
            case .debug: "debug"
            case .info: "info"
            case .warning: "warn"
            case .error: "error"
            }
        }
    }

    public let sink: LineSink
    public let minimum: Level

    public init(sink: LineSink = .standardError, minimum: Level = .info) {
        self.sink = sink
        self.minimum = minimum
    }

    public func log(_ level: Level, _ message: String) {
        guard level >= minimum else { return }
        sink.write(line: "\(TimeFormat.rfc3339(SystemClock().now())) \(level.name) \(message)")
    }

    public func debug(_ m: @autoclosure () -> String) { if minimum <= .debug { log(.debug, m()) } }
    public func info(_ m: String) { log(.info, m) }
    public func warning(_ m: String) { log(.warning, m) }
    public func error(_ m: String) { log(.error, m) }
}
