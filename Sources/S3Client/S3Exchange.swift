//===----------------------------------------------------------------------===//
// ImageGate: one S3 request's state, shared with libcurl's read, seek, header and write callbacks.
//===----------------------------------------------------------------------===//
import CCurl
import Glibc
import SystemIO

/// A request body: nothing, bytes in memory, or a range of an open file (read with `pread`, so the
/// descriptor's offset is not used and the caller may share the descriptor).
public enum S3RequestBody: Sendable {
    case empty
    case bytes([UInt8])
    case file(descriptor: Int32, offset: UInt64, length: UInt64)

    var length: UInt64 {
        switch self {
        case .empty: 0
        case .bytes(let b): UInt64(b.count)
        case .file(_, _, let length): length
        }
    }
}

/// Where a successful response's body goes: collected in memory up to a limit, or handed to a sink chunk by
/// chunk (`false` from the sink stops the transfer). An error response's body is always collected (up to
/// 64 KiB) to read the store's `<Error>`, never given to the sink.
enum S3ResponseSink {
    case collect(limit: Int)
    case stream((UnsafeRawBufferPointer) -> Bool)
}

/// State of one request, owned by the thread running `curl_easy_perform`. libcurl calls back on that thread
/// with this object as `userdata` (`Unmanaged`); the callbacks are non-capturing `@convention(c)` closures.
final class S3Exchange {
    static let errorBodyLimit = 64 * 1024

    let easy: UnsafeMutableRawPointer
    let body: S3RequestBody
    let sink: S3ResponseSink
    /// Looks at a 2xx response's status and headers before any body byte is taken; an error stops the transfer.
    let acceptHeaders: ((Int, [String: String]) -> S3Error?)?

    var sent: UInt64 = 0
    var status = 0
    var headers: [String: String] = [:]
    var headersDone = false
    var collected: [UInt8] = []
    var received: UInt64 = 0
    /// Why a callback stopped the transfer; wins over libcurl's code ("write error", "aborted by callback").
    var stop: S3Error?

    init(
        easy: UnsafeMutableRawPointer, body: S3RequestBody, sink: S3ResponseSink,
        acceptHeaders: ((Int, [String: String]) -> S3Error?)?
    ) {
        self.easy = easy
        self.body = body
        self.sink = sink
        self.acceptHeaders = acceptHeaders
    }

    var isSuccess: Bool { (200..<300).contains(status) }

    // MARK: request body

    /// CURLOPT_READFUNCTION: the next bytes of the body (0 at its end).
    func onRead(_ buffer: UnsafeMutableRawBufferPointer) -> Int {
        let remaining = body.length - sent
        let n = Int(min(UInt64(buffer.count), remaining))
        guard n > 0 else { return 0 }
        switch body {
        case .empty: return 0
        case .bytes(let bytes):
            bytes.withUnsafeBytes { src in
                buffer.baseAddress!.copyMemory(from: src.baseAddress! + Int(sent), byteCount: n)
            }
        case .file(let fd, let offset, _):
            var got = 0
            while got < n {
                var why = "the file ended early"
                var r = 0
                do {
                    r = try FileIO.pread(
                        fd, into: UnsafeMutableRawBufferPointer(rebasing: buffer[got..<n]),
                        at: offset + sent + UInt64(got))
                } catch {
                    why = error.reason
                }
                if r <= 0 {
                    stop = S3Error(
                        .cancelled, "reading the upload's source failed at byte \(sent + UInt64(got)): \(why)")
                    return Int(CCurl_readfunc_abort())
                }
                got += r
            }
        }
        sent += UInt64(n)
        return n
    }

    /// CURLOPT_SEEKFUNCTION: libcurl rewinds the body when it must send it again (a reused connection that
    /// turned out dead is retried on a new one); without this it would fail with "send failed to rewind".
    func onSeek(offset: Int64, origin: Int32) -> Int32 {
        guard origin == SEEK_SET, offset >= 0, UInt64(offset) <= body.length else { return 1 }  // CURL_SEEKFUNC_FAIL
        sent = UInt64(offset)
        return 0  // CURL_SEEKFUNC_OK
    }

    // MARK: response

    /// CURLOPT_HEADERFUNCTION: one header line per call; at the blank line that ends a final (non-1xx)
    /// response the status is known and a 2xx response is checked before its body flows.
    func onHeader(_ line: UnsafeRawBufferPointer) -> Int {
        let text = String(decoding: line, as: UTF8.self)
        if text.hasPrefix("HTTP/") {
            headers = [:]
            headersDone = false
        } else if text == "\r\n" || text == "\n" {
            var code = 0
            _ = CCurl_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &code)
            if code >= 100, code < 200 { return line.count }
            status = code
            headersDone = true
            if isSuccess, let acceptHeaders, let refusal = acceptHeaders(status, headers) {
                stop = refusal
                return 0
            }
        } else if let colon = text.firstIndex(of: ":") {
            let name = text[..<colon].lowercased()
            let value = text[text.index(after: colon)...].trimmingCharacters(in: " \t\r\n")
            headers[name] = value
        }
        return line.count
    }

    /// CURLOPT_WRITEFUNCTION: body bytes in order. Returning less than `count` fails the transfer.
    func onWrite(_ data: UnsafeRawBufferPointer) -> Int {
        if stop != nil { return 0 }
        received += UInt64(data.count)
        if isSuccess, case .stream(let deliver) = sink {
            guard deliver(data) else {
                stop = S3Error(
                    .cancelled, "the receiver stopped the download after \(received - UInt64(data.count)) bytes")
                return 0
            }
            return data.count
        }
        var limit = Self.errorBodyLimit
        if isSuccess, case .collect(let l) = sink { limit = l }
        guard collected.count + data.count <= limit else {
            if isSuccess {
                stop = .protocolError("the store's answer is larger than \(limit) bytes", status: status)
                return 0
            }
            return data.count  // an oversized error body: keep its start, which holds the <Code>
        }
        collected.append(contentsOf: data)
        return data.count
    }
}

@available(*, unavailable) extension S3Exchange: Sendable {}
