//===----------------------------------------------------------------------===//
// ImageGate: the systemd notification protocol (sd_notify) without libsystemd: one datagram to $NOTIFY_SOCKET.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif

/// `READY=1`, `STOPPING=1`, `RELOADING=1`, `WATCHDOG=1` and `STATUS=…` as systemd's sd_notify(3) sends them:
/// a datagram on the AF_UNIX socket named by `NOTIFY_SOCKET` (a path, or `@name` for the abstract namespace).
/// Without the variable (not started by systemd with Type=notify) every call does nothing.
public enum ServiceNotify {
    /// Sends `state` (newline-separated assignments). Returns false when there is no socket or sending failed.
    @discardableResult
    public static func send(_ state: String) -> Bool {
        guard let name = getenv("NOTIFY_SOCKET").map({ String(cString: $0) }), !name.isEmpty else { return false }
        guard name.hasPrefix("/") || name.hasPrefix("@") else { return false }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        var path = Array(name.utf8)
        if path[0] == UInt8(ascii: "@") { path[0] = 0 }  // abstract namespace: leading NUL, no terminator
        let capacity = MemoryLayout.size(ofValue: addr.sun_path)
        guard path.count < capacity else { return false }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            for (i, b) in path.enumerated() { raw[i] = b }
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + path.count + (path[0] == 0 ? 0 : 1))
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let bytes = Array(state.utf8)
        let sent = withUnsafePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                bytes.withUnsafeBytes { Glibc.sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), sa, length) }
            }
        }
        return sent == bytes.count
    }

    /// The watchdog interval systemd expects pings within (`WATCHDOG_USEC`, for this process), nil if none.
    public static func watchdogMicroseconds() -> UInt64? {
        guard let raw = getenv("WATCHDOG_USEC"), let usec = UInt64(String(cString: raw)), usec > 0 else { return nil }
        if let pid = getenv("WATCHDOG_PID").map({ String(cString: $0) }), Int32(pid) != getpid() { return nil }
        return usec
    }
}
