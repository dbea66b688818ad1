//===----------------------------------------------------------------------===//
// ImageGate: TCP sockets: listen, accept, read, write, sendfile, options.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import CLinuxShims

/// A peer's address as text and bytes (4 for IPv4, 16 for IPv6), for logs and IP-bound tokens.
public struct PeerAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: UInt16
    public var bytes: [UInt8]
    public init(host: String, port: UInt16, bytes: [UInt8]) {
        self.host = host
        self.port = port
        self.bytes = bytes
    }
    public var description: String { bytes.count == 16 ? "[\(host)]:\(port)" : "\(host):\(port)" }

    static func from(_ storage: sockaddr_storage) -> PeerAddress {
        var s = storage
        return withUnsafePointer(to: &s) { p -> PeerAddress in
            switch Int32(storage.ss_family) {
            case AF_INET:
                return p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { sin in
                    var addr = sin.pointee.sin_addr
                    var buf = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
                    inet_ntop(AF_INET, &addr, &buf, socklen_t(buf.count))
                    let raw = withUnsafeBytes(of: sin.pointee.sin_addr.s_addr) { Array($0) }
                    return PeerAddress(
                        host: String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self),
                        port: UInt16(bigEndian: sin.pointee.sin_port), bytes: raw)
                }
            case AF_INET6:
                return p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sin6 in
                    var addr = sin6.pointee.sin6_addr
                    var buf = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
                    inet_ntop(AF_INET6, &addr, &buf, socklen_t(buf.count))
                    let raw = withUnsafeBytes(of: sin6.pointee.sin6_addr) { Array($0) }
                    return PeerAddress(
                        host: String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self),
                        port: UInt16(bigEndian: sin6.pointee.sin6_port), bytes: raw)
                }
            default:
                return PeerAddress(host: "unknown", port: 0, bytes: [])
            }
        }
    }
}

/// `HOST:PORT` as given on the command line or in the config file (`[::1]:8080` for IPv6).
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: UInt16
    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }
    public init?(_ text: String) {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                return nil
            }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty, let p = UInt16(portText) else { return nil }
        self.host = String(host)
        self.port = p
    }
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

public enum Socket {
    /// Creates a non-blocking listening TCP socket bound to `address` (port 0 picks a free port; read it back
    /// with `localPort`). SO_REUSEADDR so a restart does not wait for TIME_WAIT.
    public static func listen(_ address: ListenAddress, backlog: Int32 = 1024) throws(SystemError) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE
        var res: UnsafeMutablePointer<addrinfo>?
        let rc = getaddrinfo(address.host, String(address.port), &hints, &res)
        guard rc == 0, let ai = res else { throw SystemError("getaddrinfo(\(address.host))", errno: EINVAL) }
        defer { freeaddrinfo(res) }
        let fd = try Sys.blocking("socket") {
            socket(
                ai.pointee.ai_family,
                Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
                    | Int32(SOCK_CLOEXEC.rawValue), 0)
        }
        do {
            try setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1)
            _ = try Sys.blocking("bind(\(address))") { bind(fd, ai.pointee.ai_addr, ai.pointee.ai_addrlen) }
            _ = try Sys.blocking("listen") { Glibc.listen(fd, backlog) }
        } catch {
            Sys.close(fd)
            throw error
        }
        return fd
    }

    /// The address a socket is bound to (`getsockname`), nil if the call fails.
    public static func localAddress(_ fd: Int32) -> PeerAddress? {
        var ss = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &ss) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        guard rc == 0, Int32(ss.ss_family) == AF_INET || Int32(ss.ss_family) == AF_INET6 else { return nil }
        return PeerAddress.from(ss)
    }

    public static func localPort(_ fd: Int32) -> UInt16 {
        var ss = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &ss) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return PeerAddress.from(ss).port
    }

    /// Accepts one connection, non-blocking and close-on-exec (accept4 saves two fcntl calls).
    public static func accept(_ fd: Int32) throws(SystemError) -> IOResult<(Int32, PeerAddress)> {
        var ss = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let r = try Sys.nonBlocking("accept4") {
            withUnsafeMutablePointer(to: &ss) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { CLinuxShims_accept4(fd, $0, &len) }
            }
        }
        switch r {
        case .wouldBlock: return .wouldBlock
        case .processed(let c): return .processed((c, PeerAddress.from(ss)))
        }
    }

    public static func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32) throws(SystemError) {
        var v = value
        _ = try Sys.blocking("setsockopt") { setsockopt(fd, level, name, &v, socklen_t(MemoryLayout<Int32>.size)) }
    }

    public static func setNoDelay(_ fd: Int32) {
        try? setOption(fd, Int32(IPPROTO_TCP), TCP_NODELAY, 1)
    }

    public static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws(SystemError)
        -> IOResult<Int>
    {
        try Sys.nonBlocking("read") { Glibc.read(fd, buffer.baseAddress, buffer.count) }
    }

    /// `send` with MSG_NOSIGNAL (a closed peer is EPIPE, never SIGPIPE); `more` sets MSG_MORE so a header
    /// and the first body bytes that follow leave in one segment.
    public static func send(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, more: Bool) throws(SystemError)
        -> IOResult<Int>
    {
        let flags = CLinuxShims_MSG_NOSIGNAL | (more ? CLinuxShims_MSG_MORE : 0)
        return try Sys.nonBlocking("send") { Glibc.send(fd, buffer.baseAddress, buffer.count, flags) }
    }

    /// `sendfile` from `file` at `offset` (advanced by the bytes sent). See: 'man 2 sendfile'.
    public static func sendfile(_ socket: Int32, file: Int32, offset: inout Int64, count: Int) throws(SystemError)
        -> IOResult<Int>
    {
        var off = offset
        let r = try Sys.nonBlocking("sendfile") { Syscall.sendfile(socket, file, &off, count) }
        offset = off
        return r
    }

    public static func shutdownWrite(_ fd: Int32) {
        _ = Glibc.shutdown(fd, Int32(SHUT_WR))
    }
}
