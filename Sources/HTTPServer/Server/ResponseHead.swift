//===----------------------------------------------------------------------===//
// ImageGate: serializing a response head, with the framing fields the server owns.
//===----------------------------------------------------------------------===//

enum ResponseHeadWriter {
    /// A field value or name must never carry CR, LF or NUL (response splitting, RFC 9112 §11.1):
    /// such a field is dropped, never written.
    static func isSafe(_ s: String) -> Bool {
        !s.utf8.contains { $0 == 13 || $0 == 10 || $0 == 0 }
    }

    /// Appends bytes straight into one array (no intermediate Strings): on a keep-alive range request this
    /// head is most of the per-request user-space work besides parsing (issue 17).
    static func serialize(
        _ response: Response, version: HTTPVersion, date: String, keepAlive: Bool
    ) -> [UInt8] {
        var out: [UInt8] = []
        serialize(response, version: version, date: date, keepAlive: keepAlive, into: &out)
        return out
    }

    /// Writes the head into `out`, replacing what it held but keeping its storage: the connection passes the
    /// array its previous response's head was written to, so a keep-alive response allocates none.
    ///
    /// The head is sized first (an upper bound), written through a pointer into temporary memory and appended
    /// to `out` in one copy: a dozen `Array.append` calls with their capacity checks, and digits appended one
    /// call per number, were about 2.7k instructions of a 206 head (issue 17).
    static func serialize(
        _ response: Response, version: HTTPVersion, date: String, keepAlive: Bool, into out: inout [UInt8]
    ) {
        out.removeAll(keepingCapacity: true)
        let reason = StatusText.reason(response.status)
        var bound = 200 + reason.utf8.count + date.utf8.count + (response.headerBlock?.bytes.count ?? 0)
        for (name, value) in response.headers { bound += name.utf8.count + value.utf8.count + 4 }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: bound) { buffer in
            var w = HeadBytes(at: buffer.baseAddress!)
            // Always HTTP/1.1, also to an HTTP/1.0 request: the status line names the server's version
            // (RFC 9110 §6.2, RFC 9112 §2.3); framing below still follows the request's version.
            w.literal("HTTP/1.1 ")
            w.decimal(UInt64(clamping: response.status))
            w.byte(0x20)
            w.utf8(reason)
            w.literal("\r\nDate: ")
            w.utf8(date)
            w.literal("\r\n")
            if let block = response.headerBlock { block.bytes.withUnsafeBytes { w.put($0) } }
            if let range = response.contentRange {
                w.literal("Content-Range: bytes ")
                w.decimal(range.first)
                w.byte(0x2D)  // -
                w.decimal(range.last)
                w.byte(0x2F)  // /
                w.decimal(range.complete)
                w.literal("\r\n")
            }
            for (name, value) in response.headers where isSafe(name) && isSafe(value) {
                w.utf8(name)
                w.literal(": ")
                w.utf8(value)
                w.literal("\r\n")
            }
            // RFC 9110 §8.6: no Content-Length on 1xx/204; a 304 describes the 200 it stands for, so none there.
            if response.status >= 200 && response.status != 204 && response.status != 304 {
                w.literal("Content-Length: ")
                w.decimal(response.bodyLength)
                w.literal("\r\n")
            }
            if !keepAlive {
                w.literal("Connection: close\r\n")
            } else if version == .http10 {
                w.literal("Connection: keep-alive\r\n")
            }
            w.literal("\r\n")
            out.append(contentsOf: UnsafeBufferPointer(start: buffer.baseAddress!, count: w.at - buffer.baseAddress!))
        }
    }
}

/// Writes through a pointer into memory `serialize` has sized for the whole head (no bounds checks per write).
struct HeadBytes {
    var at: UnsafeMutablePointer<UInt8>

    @inline(__always)
    mutating func put(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        UnsafeMutableRawPointer(at).copyMemory(from: base, byteCount: bytes.count)
        at += bytes.count
    }

    @inline(__always)
    mutating func literal(_ s: StaticString) {
        put(UnsafeRawBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    @inline(__always)
    mutating func byte(_ b: UInt8) {
        at.pointee = b
        at += 1
    }

    @inline(__always)
    mutating func utf8(_ s: String) {
        var s = s
        s.withUTF8 { put(UnsafeRawBufferPointer($0)) }
    }

    /// ASCII decimal digits, most significant first: counted, then written backwards (division by the constant
    /// 10 compiles to a multiplication; at most 20 digits).
    mutating func decimal(_ value: UInt64) {
        var digits = 1
        var t = value
        while t >= 10 {
            t /= 10
            digits += 1
        }
        var p = at + digits
        var v = value
        repeat {
            p -= 1
            p.pointee = UInt8(truncatingIfNeeded: v % 10) &+ 0x30
            v /= 10
        } while v != 0
        at += digits
    }
}
