//===----------------------------------------------------------------------===//
// ImageGate: what an HTTP response to an import (or resume) request must look like before its body is used.
//===----------------------------------------------------------------------===//

import CCurl

/// Judges the status line and headers of one final HTTP response (RFC 9110 §13.1.5 If-Range, §14.4
/// Content-Range, §15.4 redirects) and records the outcome in the context.
enum HTTPResponseRules {
    static let redirectStatuses: Set<Int> = [301, 302, 303, 307, 308]

    static func judge(status: Int, headers: [String: String], context: TransferContext) {
        let offset = context.offset
        if redirectStatuses.contains(status) {
            // A relative Location is resolved against this hop's URL by the same parser (RFC 3986 §5); the hop
            // is then re-validated by URLFetch like a new URL.
            if let location = headers["location"], !location.isEmpty,
                let absolute = CurlURL.resolve(location, against: context.target.curlURL)
            {
                context.stop = .redirect(absolute)
            } else {
                context.stop = .failure(httpStatus(status, context, "redirect without a usable Location"))
            }
            return
        }
        let total: UInt64?
        switch status {
        case 200:
            guard offset == 0 else {
                // We sent Range + If-Range: a 200 means the validator no longer matches (or ranges are not
                // supported); the bytes already delivered cannot be combined with a new representation.
                context.stop = .failure(.sourceChanged("the source answered a resume request with the whole file"))
                return
            }
            total = headers["content-length"].flatMap { UInt64($0) }
        case 206:
            guard let range = ContentRange(headers["content-range"] ?? ""), range.first == offset else {
                context.stop = .failure(.sourceChanged("the source answered a resume request with another range"))
                return
            }
            total = range.total
        case 416 where offset > 0:
            // "bytes */N" with N == offset: the earlier attempt already had every byte.
            if let range = ContentRange(headers["content-range"] ?? ""), range.first == nil, range.total == offset {
                context.total = offset
                context.stop = .alreadyComplete
            } else {
                context.stop = .failure(.sourceChanged("the source is now shorter than the bytes already fetched"))
            }
            return
        default:
            context.stop = .failure(httpStatus(status, context, nil))
            return
        }
        context.accept(total: total, validator: validator(headers, like: context.expectedValidator))
    }

    /// The validator to resume with: a strong ETag, else Last-Modified (a weak ETag cannot be used in
    /// If-Range, RFC 9110 §13.1.5). When resuming with a given validator, the same kind is compared.
    static func validator(_ headers: [String: String], like expected: String?) -> String? {
        let etag = headers["etag"].flatMap { $0.hasPrefix("\"") ? $0 : nil }
        let lastModified = headers["last-modified"]
        if let expected {
            return expected.hasPrefix("\"") ? etag : lastModified
        }
        return etag ?? lastModified
    }

    /// Whether `validator` may be sent as If-Range (HTTP): a strong ETag or an HTTP-date.
    static func usableAsIfRange(_ validator: String) -> Bool {
        validator.hasPrefix("\"") || (!validator.hasPrefix("W/") && !validator.hasPrefix("mdtm:"))
    }

    private static func httpStatus(_ status: Int, _ context: TransferContext, _ detail: String?) -> FetchFailure {
        FetchFailure(
            code: "http_status",
            message: "HTTP \(status)\(detail.map { " (\($0))" } ?? "") from \(context.target.redacted)")
    }
}

/// `Content-Range: bytes first-last/total` or `bytes */total` (RFC 9110 §14.4).
struct ContentRange: Equatable {
    let first: UInt64?
    let last: UInt64?
    let total: UInt64?

    init?(_ text: String) {
        guard text.hasPrefix("bytes ") else { return nil }
        let spec = text.dropFirst(6)
        let halves = spec.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard halves.count == 2 else { return nil }
        total = halves[1] == "*" ? nil : UInt64(halves[1])
        if halves[1] != "*", total == nil { return nil }
        if halves[0] == "*" {
            first = nil
            last = nil
            return
        }
        let ends = halves[0].split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard ends.count == 2, let a = UInt64(ends[0]), let b = UInt64(ends[1]), a <= b else { return nil }
        if let total, b >= total { return nil }
        first = a
        last = b
    }
}
