//===----------------------------------------------------------------------===//
// ImageGate: the outcome of a Range request and the Content-Range values that go with it.
//===----------------------------------------------------------------------===//

/// Outcome of evaluating a Range header against a representation of `length` bytes (RFC 9110 §14).
public enum RangeDecision: Equatable, Sendable {
    /// Ignore Range: 200 with the whole representation.
    case full
    /// 206 with one part; bounds are inclusive and already clamped to the representation.
    case single(first: UInt64, last: UInt64)
    /// 206 `multipart/byteranges`; at least 2 parts, sorted ascending, none overlapping or adjacent.
    case multiple([ClosedRange<UInt64>])
    /// 416 with `Content-Range: bytes */length` and an empty body.
    case unsatisfiable
}

/// Content-Range field values (RFC 9110 §14.4), emitted exactly as `bytes a-b/len` or `bytes */len`.
///
/// aria2 (#509) breaks on `bytes=a-b` and wget/curl/lftp parse the `bytes a-b/len` form, so nothing else is
/// ever produced here.
public enum ContentRange {
    /// `bytes first-last/length` for a 206 response or one part of a multipart body.
    public static func satisfied(first: UInt64, last: UInt64, length: UInt64) -> String {
        "bytes \(first)-\(last)/\(length)"
    }

    /// `bytes */length` for a 416 response (RFC 9110 §15.5.17 SHOULD).
    public static func unsatisfied(length: UInt64) -> String {
        "bytes */\(length)"
    }
}
