//===----------------------------------------------------------------------===//
// ImageGate: per-attempt state shared with libcurl's callbacks (write, header, progress, open-socket).
//===----------------------------------------------------------------------===//

import CCurl
import Glibc

/// Why a callback stopped the transfer. libcurl only reports "write error" / "aborted by callback";
/// the real reason is kept here and wins over libcurl's code.
enum StopReason {
    case sinkStopped
    case cancelled
    case failure(FetchFailure)
    case redirect(String)
    /// A resume request at the source's end: 416 with `bytes */<offset>` — nothing left to fetch.
    case alreadyComplete
}

/// State of one attempt of one hop, owned by the thread running `curl_easy_perform`. libcurl calls back on
/// that same thread, with this object passed as `userdata` through `Unmanaged` (Docs/style.md §3.1): the callbacks
/// are non-capturing `@convention(c)` closures.
final class TransferContext {
    let easy: UnsafeMutableRawPointer
    let target: FetchTarget
    let policy: FetchPolicy
    let pinned: PinnedHost?
    /// Absolute source offset this attempt starts at.
    let offset: UInt64
    let expectedValidator: String?
    let expectedTotal: UInt64?
    let sink: (UnsafeRawBufferPointer) -> Bool
    let progress: (UInt64, UInt64?) -> Void
    let isCancelled: () -> Bool

    var delivered: UInt64 = 0
    var stop: StopReason?
    /// True once a response was judged acceptable (2xx matching the request, same validator and size).
    var accepted = false
    var total: UInt64?
    var validator: String?
    /// Set when CURLOPT_OPENSOCKETFUNCTION refused an address (libcurl then reports "couldn't connect").
    var refusedAddress: String?
    private var headers: [String: String] = [:]
    private var lastProgress = ContinuousClock.now

    init(
        easy: UnsafeMutableRawPointer, target: FetchTarget, policy: FetchPolicy, pinned: PinnedHost?,
        offset: UInt64, expectedValidator: String?, expectedTotal: UInt64?,
        sink: @escaping (UnsafeRawBufferPointer) -> Bool, progress: @escaping (UInt64, UInt64?) -> Void,
        isCancelled: @escaping () -> Bool
    ) {
        self.easy = easy
        self.target = target
        self.policy = policy
        self.pinned = pinned
        self.offset = offset
        self.expectedValidator = expectedValidator
        self.expectedTotal = expectedTotal
        self.sink = sink
        self.progress = progress
        self.isCancelled = isCancelled
    }

    var isFTP: Bool { target.scheme == "ftp" }

    // MARK: write

    /// CURLOPT_WRITEFUNCTION: body bytes, in order. Returning anything but `count` makes libcurl fail the
    /// transfer with CURLE_WRITE_ERROR; `stop` says why.
    func onWrite(_ data: UnsafeRawBufferPointer) -> Int {
        if stop != nil { return 0 }
        if isCancelled() {
            stop = .cancelled
            return 0
        }
        if isFTP, !accepted {
            judgeFTP()
            if stop != nil { return 0 }
        }
        guard accepted else { return 0 }
        if let cap = policy.maxBytes, offset + delivered + UInt64(data.count) > cap {
            // Docs/protocols.md §4.2: stop before the first byte over the cap, whatever Content-Length said.
            stop = .failure(tooLarge(cap))
            return 0
        }
        guard sink(data) else {
            stop = .sinkStopped
            return 0
        }
        delivered += UInt64(data.count)
        return data.count
    }

    // MARK: progress

    /// CURLOPT_XFERINFOFUNCTION: libcurl calls it often while data flows and at least once a second while
    /// idle (curl docs), so a non-zero return is how `cancel()` interrupts a blocked transfer promptly.
    func onProgress() -> Int32 {
        if stop != nil { return 1 }
        if isCancelled() {
            stop = .cancelled
            return 1
        }
        let now = ContinuousClock.now
        if accepted, now - lastProgress >= .milliseconds(250) {
            lastProgress = now
            progress(offset + delivered, total)
        }
        return 0
    }

    // MARK: open socket

    /// CURLOPT_OPENSOCKETFUNCTION: the connect-time check of Docs/protocols.md §4.1, for every socket libcurl opens —
    /// control and data connections alike (an FTP server's PASV/EPSV reply cannot steer the data connection
    /// to another host: it must be one of this hop's validated addresses and pass `DestinationCheck`).
    func onOpenSocket(purpose: curlsocktype, address: UnsafeMutablePointer<curl_sockaddr>) -> curl_socket_t {
        SocketCheck.open(
            purpose: purpose, address: address, pinned: pinned, host: target.lookupName, policy: policy,
            refused: &refusedAddress)
    }

    // MARK: FTP response

    /// Judges an FTP source once SIZE/MDTM are known (libcurl sends MDTM with CURLOPT_FILETIME and SIZE
    /// before RETR): the validator is the modification time, the total is `REST offset + remaining`.
    func judgeFTP() {
        guard !accepted, stop == nil else { return }
        var remaining: curl_off_t = -1
        var filetime: curl_off_t = -1
        _ = CCurl_getinfo_off(easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &remaining)
        _ = CCurl_getinfo_off(easy, CURLINFO_FILETIME_T, &filetime)
        let total = remaining >= 0 ? offset + UInt64(remaining) : nil
        let validator = filetime >= 0 ? "mdtm:\(filetime)" : nil
        accept(total: total, validator: validator)
    }

    /// The checks common to HTTP and FTP once a response is known: same validator and size as the attempt
    /// being resumed (else `source_changed`), and the size cap.
    func accept(total: UInt64?, validator: String?) {
        self.total = total
        self.validator = validator
        if offset > 0, let expected = expectedValidator, let validator, expected != validator {
            stop = .failure(.sourceChanged("the source changed since the transfer began (validator differs)"))
            return
        }
        if let expected = expectedTotal, let total, expected != total {
            stop = .failure(.sourceChanged("the source's size changed from \(expected) to \(total) bytes"))
            return
        }
        if let cap = policy.maxBytes, let total, total > cap {
            stop = .failure(tooLarge(cap))
            return
        }
        accepted = true
    }

    func tooLarge(_ cap: UInt64) -> FetchFailure {
        FetchFailure(code: "too_large", message: "the source is larger than the \(cap)-byte import limit")
    }

    // MARK: HTTP headers

    /// CURLOPT_HEADERFUNCTION: one header line per call. At the blank line ending a final (non-1xx) response
    /// the status decides whether a body may flow; returning 0 aborts before any body byte is read.
    func onHeader(_ line: UnsafeRawBufferPointer) -> Int {
        guard !isFTP, !accepted else { return line.count }
        let text = String(decoding: line, as: UTF8.self)
        if text.hasPrefix("HTTP/") {
            headers = [:]
        } else if text == "\r\n" || text == "\n" {
            var status = 0
            _ = CCurl_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
            if status >= 100, status < 200 { return line.count }
            judgeHTTP(status: status, headers: headers)
            return stop == nil ? line.count : 0
        } else if let colon = text.firstIndex(of: ":") {
            let name = text[..<colon].lowercased()
            let value = text[text.index(after: colon)...].trimmingWhitespace()
            headers[name] = value
        }
        return line.count
    }

    private func judgeHTTP(status: Int, headers: [String: String]) {
        HTTPResponseRules.judge(status: status, headers: headers, context: self)
    }
}

@available(*, unavailable) extension TransferContext: Sendable {}

extension Substring {
    func trimmingWhitespace() -> String {
        // "\r\n" is one Character (a grapheme cluster), distinct from "\r" and "\n".
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r\n" || $0 == "\r" || $0 == "\n" }
        return String(self.drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}
