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
    static func serialize(
        _ response: Response, version: HTTPVersion, date: String, keepAlive: Bool, into out: inout [UInt8]
    ) {
        out.removeAll(keepingCapacity: true)
        out.reserveCapacity(512 + (response.headerBlock?.bytes.count ?? 0))
        // Always HTTP/1.1, also to an HTTP/1.0 request: the status line names the server's version
        // (RFC 9110 §6.2, RFC 9112 §2.3); framing below still follows the request's version.
        appendLiteral("HTTP/1.1 ", to: &out)
        appendDecimal(UInt64(clamping: response.status), to: &out)
        out.append(0x20)
        appendUTF8(StatusText.reason(response.status), to: &out)
        appendLiteral("\r\nDate: ", to: &out)
        appendUTF8(date, to: &out)
        appendLiteral("\r\n", to: &out)
        if let block = response.headerBlock { out.append(contentsOf: block.bytes) }
        if let range = response.contentRange {
            appendLiteral("Content-Range: bytes ", to: &out)
            appendDecimal(range.first, to: &out)
            out.append(0x2D)  // -
            appendDecimal(range.last, to: &out)
            out.append(0x2F)  // /
            appendDecimal(range.complete, to: &out)
            appendLiteral("\r\n", to: &out)
        }
        for (name, value) in response.headers where isSafe(name) && isSafe(value) {
            appendUTF8(name, to: &out)
            appendLiteral(": ", to: &out)
            appendUTF8(value, to: &out)
            appendLiteral("\r\n", to: &out)
        }
        // RFC 9110 §8.6: no Content-Length on 1xx/204; a 304 describes the 200 it stands for, so none there.
        if response.status >= 200 && response.status != 204 && response.status != 304 {
            appendLiteral("Content-Length: ", to: &out)
            appendDecimal(response.bodyLength, to: &out)
            appendLiteral("\r\n", to: &out)
        }
        if !keepAlive {
            appendLiteral("Connection: close\r\n", to: &out)
        } else if version == .http10 {
            appendLiteral("Connection: keep-alive\r\n", to: &out)
        }
        appendLiteral("\r\n", to: &out)
    }

    /// A literal's bytes in one copy, straight from the binary (the generic append over a literal String's
    /// `utf8` view cost about 170 instructions per call, a dozen calls per head).
    @inline(__always)
    static func appendLiteral(_ s: StaticString, to out: inout [UInt8]) {
        out.append(contentsOf: UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    /// A String's bytes in one copy (the generic append over `String.UTF8View` walks them one by one).
    @inline(__always)
    static func appendUTF8(_ s: String, to out: inout [UInt8]) {
        var s = s
        s.withUTF8 { out.append(contentsOf: $0) }
    }

    /// ASCII decimal digits of `value`, most significant first: written backwards into 20 bytes on the stack
    /// (division by the constant 10 compiles to a multiplication), then appended in one copy. The earlier
    /// loop divided by a variable power of ten twice per digit: 1.3k instructions per 206 head (issue 17).
    static func appendDecimal(_ value: UInt64, to out: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var v = value
            var i = 20
            repeat {
                i -= 1
                digits[i] = UInt8(truncatingIfNeeded: v % 10) &+ 0x30
                v /= 10
            } while v != 0
            out.append(contentsOf: UnsafeBufferPointer(rebasing: digits[i..<20]))
        }
    }
}
