//===----------------------------------------------------------------------===//
// ImageGate: Docs/protocols.md §1.2 steps 2-7 composed: preconditions, method, If-Range, then Range.
//===----------------------------------------------------------------------===//

/// The request fields that decide between 200, 206, 304, 412 and 416 for a download.
public struct ConditionalHeaders: Sendable, Equatable {
    public var range: String?
    public var ifRange: String?
    public var ifMatch: String?
    public var ifNoneMatch: String?
    public var ifModifiedSince: String?
    public var ifUnmodifiedSince: String?

    public init(
        range: String? = nil,
        ifRange: String? = nil,
        ifMatch: String? = nil,
        ifNoneMatch: String? = nil,
        ifModifiedSince: String? = nil,
        ifUnmodifiedSince: String? = nil
    ) {
        self.range = range
        self.ifRange = ifRange
        self.ifMatch = ifMatch
        self.ifNoneMatch = ifNoneMatch
        self.ifModifiedSince = ifModifiedSince
        self.ifUnmodifiedSince = ifUnmodifiedSince
    }
}

/// One place that applies RFC 9110 §13.2.2 in order, so handlers cannot evaluate Range before preconditions.
public enum ConditionalRequest {
    public enum Outcome: Equatable, Sendable {
        /// 304: no body, no Content-Range; still send ETag, Last-Modified and Date (RFC 9110 §15.4.5).
        case notModified
        /// 412: no Content-Range.
        case preconditionFailed
        /// 200, 206 or 416 as decided by ``RangeResolver``.
        case serve(RangeDecision)
    }

    /// Docs/protocols.md §1.2 steps 2-7 for an authorized GET or HEAD (step 1, authorization and 405, is the
    /// caller's). HEAD never gets a partial response: Range is defined only for GET (RFC 9110 §14.2).
    ///
    /// - Parameters:
    ///   - isGet: the method is GET; Range is evaluated only then.
    ///   - isHead: the method is HEAD; together with `isGet` it selects 304 rather than 412 for If-None-Match.
    ///   - headers: the conditional and range fields as received (nil when absent).
    ///   - validators: the representation's strong validators and the response Date.
    ///   - length: the representation's length in bytes.
    ///   - maxRanges: forwarded to ``RangeResolver/resolve(_:length:maxRanges:)``.
    public static func decide(
        isGet: Bool,
        isHead: Bool,
        headers: ConditionalHeaders,
        validators: Validators,
        length: UInt64,
        maxRanges: Int = 16
    ) -> Outcome {
        decide(isGet: isGet, isHead: isHead, headers: headers, validators: validators) {
            headers.range.map { RangeResolver.resolve($0, length: length, maxRanges: maxRanges) }
        }
    }

    /// The same with the fields read from `head`: Range as bytes, the precondition fields as Strings only when
    /// present, so a plain range request makes no String (issue 17).
    public static func decide(
        head: RequestHead, validators: Validators, length: UInt64, maxRanges: Int = 16
    ) -> Outcome {
        let isGet = head.method == "GET"
        // Every precondition field and If-Range starts with "If-": without one, steps 2 and 4 cannot apply
        // (the plain range request of a download client), and only Range is read.
        guard head.hasField(prefix: "if-") else {
            guard isGet else { return .serve(.full) }
            return .serve(
                head.withHeader("range") { bytes in
                    bytes.map { RangeResolver.resolve($0, length: length, maxRanges: maxRanges) }
                } ?? .full)
        }
        let headers = ConditionalHeaders(
            ifRange: head.headerString("if-range"), ifMatch: head.headerString("if-match"),
            ifNoneMatch: head.headerString("if-none-match"),
            ifModifiedSince: head.headerString("if-modified-since"),
            ifUnmodifiedSince: head.headerString("if-unmodified-since"))
        return decide(isGet: isGet, isHead: head.method == "HEAD", headers: headers, validators: validators) {
            head.withHeader("range") { bytes in
                bytes.map { RangeResolver.resolve($0, length: length, maxRanges: maxRanges) }
            }
        }
    }

    /// Steps 2-7; `range` resolves the Range field, nil when there is none (`headers.range` is not read).
    private static func decide(
        isGet: Bool, isHead: Bool, headers: ConditionalHeaders, validators: Validators,
        range: () -> RangeDecision?
    ) -> Outcome {
        // Step 2: 304/412 win over Range (§13.2.2 step 5 only runs when the response would otherwise be 200).
        switch Preconditions.evaluate(
            isGetOrHead: isGet || isHead,
            ifMatch: headers.ifMatch,
            ifNoneMatch: headers.ifNoneMatch,
            ifModifiedSince: headers.ifModifiedSince,
            ifUnmodifiedSince: headers.ifUnmodifiedSince,
            validators: validators
        )
        {
        case .notModified: return .notModified
        case .preconditionFailed: return .preconditionFailed
        case .proceed: break
        }
        // Step 3: no Range, or not GET → full. Step 4: a false If-Range means "send everything" (§13.1.5).
        guard isGet, let decision = range() else { return .serve(.full) }
        guard Preconditions.ifRangeAllows(headers.ifRange, validators: validators) else { return .serve(.full) }
        // Steps 5-7 (resolved above: the field is parsed before If-Range is compared, which changes no answer).
        return .serve(decision)
    }
}
