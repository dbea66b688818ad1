//===----------------------------------------------------------------------===//
// ImageGate: the store's base URL (`http(s)://HOST[:PORT]`), nothing more.
//===----------------------------------------------------------------------===//

/// The scheme, host and port requests go to. The `Host` header is set from this value and signed, so what
/// libcurl sends and what the signature covers are the same bytes.
public struct S3Endpoint: Sendable, Equatable, CustomStringConvertible {
    public let scheme: String
    /// A host name or an IP address (an IPv6 address without brackets).
    public let host: String
    public let port: Int

    init(awsRegion region: String) {
        scheme = "https"
        host = "s3.\(region).amazonaws.com"
        port = 443
    }

    /// `http://HOST[:PORT]` or `https://HOST[:PORT]`, optionally with a trailing `/`.
    public init(_ text: String) throws(S3Error) {
        let scheme: String
        let rest: Substring
        if text.hasPrefix("http://") {
            scheme = "http"
            rest = text.dropFirst(7)
        } else if text.hasPrefix("https://") {
            scheme = "https"
            rest = text.dropFirst(8)
        } else {
            throw S3Location.invalid("the endpoint must start with http:// or https://")
        }
        let authority = rest.hasSuffix("/") ? rest.dropLast() : rest
        guard !authority.contains(where: { "/?#".contains($0) }) else {
            throw S3Location.invalid("the endpoint must be only scheme, host and port (no path or query)")
        }
        guard !authority.contains("@") else {
            throw S3Location.invalid("credentials do not belong in the endpoint URL")
        }
        var hostPart: Substring
        var portPart: Substring?
        if authority.hasPrefix("[") {  // [IPv6]:port (RFC 3986 §3.2.2)
            guard let close = authority.firstIndex(of: "]") else {
                throw S3Location.invalid("unclosed [ in the endpoint")
            }
            hostPart = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw S3Location.invalid("unexpected text after ] in the endpoint") }
                portPart = after.dropFirst()
            }
            guard hostPart.contains(":"), hostPart.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else {
                throw S3Location.invalid("the endpoint's [address] is not an IPv6 address")
            }
        } else {
            let colon = authority.firstIndex(of: ":")
            hostPart = authority[..<(colon ?? authority.endIndex)]
            portPart = colon.map { authority[authority.index(after: $0)...] }
            let ok = hostPart.utf8.allSatisfy { c in
                S3URIEncoding.isUnreserved(c) && c != UInt8(ascii: "~") && c != UInt8(ascii: "_")
            }
            guard ok else { throw S3Location.invalid("the endpoint host may hold only letters, digits, '.' and '-'") }
        }
        guard !hostPart.isEmpty else { throw S3Location.invalid("the endpoint has no host") }
        let defaultPort = scheme == "https" ? 443 : 80
        if let portPart {
            guard let n = Int(portPart), (1...65535).contains(n), portPart.allSatisfy(\.isASCII) else {
                throw S3Location.invalid("the endpoint port must be 1…65535")
            }
            port = n
        } else {
            port = defaultPort
        }
        self.scheme = scheme
        host = hostPart.lowercased()
    }

    /// True when the host is an IPv4 or IPv6 address, not a name.
    public var isIPLiteral: Bool {
        host.contains(":")
            || (host.split(separator: ".").count == 4 && host.split(separator: ".").allSatisfy { UInt8($0) != nil })
    }

    /// `host`, `host:port` (port only when it is not the scheme's default), `[v6]:port`.
    public var hostHeader: String {
        let h = host.contains(":") ? "[\(host)]" : host
        let defaultPort = scheme == "https" ? 443 : 80
        return port == defaultPort ? h : "\(h):\(port)"
    }

    public var description: String { "\(scheme)://\(hostHeader)" }
}
