//===----------------------------------------------------------------------===//
// ImageGate test support: catch the lines a component logs (the access log) through a pipe.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import GateCore

/// A pipe whose write end is a `LineSink`: hand `sink` to the component, read its lines with `nextLine`.
/// The read end is drained by the test; a test that logs more than the pipe holds (64 KiB) must read as it goes.
public final class LinePipe: @unchecked Sendable {
    // `readFD` and `partial` are only touched by the test's own thread.
    public let sink: LineSink
    private let readFD: Int32
    private let writeFD: Int32
    private var partial: [UInt8] = []

    public init() throws {
        var fds: [Int32] = [-1, -1]
        // pipe2 is not exported to Swift (_GNU_SOURCE); close-on-exec is set right after instead.
        guard pipe(&fds) == 0 else { throw TestFailure("pipe: \(String(cString: strerror(errno)))") }
        readFD = fds[0]
        writeFD = fds[1]
        _ = fcntl(readFD, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writeFD, F_SETFD, FD_CLOEXEC)
        _ = fcntl(readFD, F_SETFL, fcntl(readFD, F_GETFL) | O_NONBLOCK)
        sink = LineSink(fd: writeFD)
    }

    deinit {
        close(readFD)
        close(writeFD)
    }

    /// The next whole line, waiting for it (bounded).
    public func nextLine() throws -> String {
        let deadline = monotonicMs() + testPatienceMs
        while true {
            if let nl = partial.firstIndex(of: 10) {
                defer { partial.removeFirst(nl + 1) }
                return String(decoding: partial[0..<nl], as: UTF8.self)
            }
            var buf = [UInt8](repeating: 0, count: 4096)
            let n = buf.withUnsafeMutableBytes { read(readFD, $0.baseAddress, $0.count) }
            if n > 0 {
                partial.append(contentsOf: buf[0..<n])
                continue
            }
            guard monotonicMs() < deadline else { throw TestFailure("no log line arrived") }
            var p = pollfd(fd: readFD, events: Int16(POLLIN), revents: 0)
            _ = poll(&p, 1, 100)
        }
    }

    /// The next line as a JSON object (the access log writes one per request).
    public func nextJSON() throws -> [String: Any] {
        let line = try nextLine()
        guard let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
            throw TestFailure("not a JSON line: \(line)")
        }
        return o
    }

    /// True when a whole line is waiting, without blocking.
    public var hasLine: Bool {
        var buf = [UInt8](repeating: 0, count: 4096)
        let n = buf.withUnsafeMutableBytes { read(readFD, $0.baseAddress, $0.count) }
        if n > 0 { partial.append(contentsOf: buf[0..<n]) }
        return partial.contains(10)
    }
}
