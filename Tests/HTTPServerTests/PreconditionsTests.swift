//===----------------------------------------------------------------------===//
// ImageGate: Preconditions tests: RFC 9110 §13.2.2 matrix, entity-tag lists and If-Range.
//===----------------------------------------------------------------------===//

import GateCore
import Testing

@testable import HTTPServer

private let etag = "\"img-7-1-abcd\""
private let lastModified: Int64 = 1_700_000_000
private let validators = Validators(etag: etag, lastModified: lastModified, date: lastModified + 100)
private let lmDate = TimeFormat.httpDate(lastModified)
private let before = TimeFormat.httpDate(lastModified - 1)
private let after = TimeFormat.httpDate(lastModified + 1)

/// One row of the precondition matrix; nil fields are absent headers.
struct PreconditionCase: Sendable, CustomTestStringConvertible {
    var name: String
    var getOrHead = true
    var ifMatch: String? = nil
    var ifNoneMatch: String? = nil
    var ifModifiedSince: String? = nil
    var ifUnmodifiedSince: String? = nil
    var expected: PreconditionOutcome
    var testDescription: String { name }
}

@Suite("Preconditions")
struct PreconditionsTests {
    static let matrix: [PreconditionCase] = [
        .init(name: "no conditions, GET", expected: .proceed),
        .init(name: "no conditions, other method", getOrHead: false, expected: .proceed),
        // Step 1: If-Match, strong comparison.
        .init(name: "If-Match *", ifMatch: "*", expected: .proceed),
        .init(name: "If-Match current", ifMatch: etag, expected: .proceed),
        .init(name: "If-Match in list", ifMatch: "\"other\", \(etag)", expected: .proceed),
        .init(name: "If-Match weak current", ifMatch: "W/\(etag)", expected: .preconditionFailed),
        .init(name: "If-Match stale", ifMatch: "\"other\"", expected: .preconditionFailed),
        .init(name: "If-Match unquoted", ifMatch: "img-7-1-abcd", expected: .preconditionFailed),
        .init(name: "If-Match star in list", ifMatch: "\(etag), *", expected: .preconditionFailed),
        .init(name: "If-Match unterminated", ifMatch: "\"img-7-1-abcd", expected: .preconditionFailed),
        .init(name: "If-Match empty", ifMatch: "", expected: .preconditionFailed),
        .init(name: "If-Match stale, other method", getOrHead: false, ifMatch: "\"x\"", expected: .preconditionFailed),
        // Step 2: If-Unmodified-Since, only without If-Match.
        .init(name: "IUS before LM", ifUnmodifiedSince: before, expected: .preconditionFailed),
        .init(name: "IUS equal LM", ifUnmodifiedSince: lmDate, expected: .proceed),
        .init(name: "IUS after LM", ifUnmodifiedSince: after, expected: .proceed),
        .init(name: "IUS with OWS", ifUnmodifiedSince: " \(before) ", expected: .preconditionFailed),
        .init(name: "IUS unparseable ignored", ifUnmodifiedSince: "yesterday", expected: .proceed),
        .init(name: "IUS ignored under If-Match", ifMatch: etag, ifUnmodifiedSince: before, expected: .proceed),
        // Step 3: If-None-Match, weak comparison.
        .init(name: "INM current, GET", ifNoneMatch: etag, expected: .notModified),
        .init(name: "INM current, other method", getOrHead: false, ifNoneMatch: etag, expected: .preconditionFailed),
        .init(name: "INM weak current", ifNoneMatch: "W/\(etag)", expected: .notModified),
        .init(name: "INM *", ifNoneMatch: "*", expected: .notModified),
        .init(name: "INM *, other method", getOrHead: false, ifNoneMatch: "*", expected: .preconditionFailed),
        .init(name: "INM list with OWS", ifNoneMatch: " \"x\" ,\t W/\(etag) ", expected: .notModified),
        .init(name: "INM list with empty elements", ifNoneMatch: ", ,\"x\",,\(etag),", expected: .notModified),
        .init(name: "INM stale", ifNoneMatch: "\"other\"", expected: .proceed),
        .init(name: "INM missing comma", ifNoneMatch: "\"x\" \(etag)", expected: .proceed),
        .init(name: "INM lowercase w/", ifNoneMatch: "w/\(etag)", expected: .proceed),
        .init(name: "INM control character", ifNoneMatch: "\"img-7-1\u{1}abcd\"", expected: .proceed),
        // Step 4: If-Modified-Since, GET/HEAD only and only without If-None-Match.
        .init(name: "IMS equal LM", ifModifiedSince: lmDate, expected: .notModified),
        .init(name: "IMS after LM", ifModifiedSince: after, expected: .notModified),
        .init(name: "IMS before LM", ifModifiedSince: before, expected: .proceed),
        .init(name: "IMS other method", getOrHead: false, ifModifiedSince: lmDate, expected: .proceed),
        .init(name: "IMS unparseable", ifModifiedSince: "not a date", expected: .proceed),
        .init(name: "IMS RFC 850 form ignored", ifModifiedSince: "Sunday, 06-Nov-94 08:49:37 GMT", expected: .proceed),
        .init(name: "IMS two dates ignored", ifModifiedSince: "\(lmDate), \(lmDate)", expected: .proceed),
        .init(name: "IMS ignored under INM", ifNoneMatch: "\"other\"", ifModifiedSince: lmDate, expected: .proceed),
        .init(
            name: "IMS ignored under malformed INM",
            ifNoneMatch: "junk",
            ifModifiedSince: lmDate,
            expected: .proceed
        ),
        // Order of the steps.
        .init(name: "If-Match fails before INM", ifMatch: "\"x\"", ifNoneMatch: etag, expected: .preconditionFailed),
        .init(name: "If-Match passes, INM matches", ifMatch: etag, ifNoneMatch: etag, expected: .notModified),
        .init(
            name: "IUS fails before INM",
            ifNoneMatch: etag,
            ifUnmodifiedSince: before,
            expected: .preconditionFailed
        ),
        .init(
            name: "IUS fails before IMS",
            ifModifiedSince: lmDate,
            ifUnmodifiedSince: before,
            expected: .preconditionFailed
        ),
    ]

    @Test("RFC 9110 §13.2.2 steps 1-4", arguments: matrix)
    func evaluate(_ c: PreconditionCase) {
        let outcome = Preconditions.evaluate(
            isGetOrHead: c.getOrHead,
            ifMatch: c.ifMatch,
            ifNoneMatch: c.ifNoneMatch,
            ifModifiedSince: c.ifModifiedSince,
            ifUnmodifiedSince: c.ifUnmodifiedSince,
            validators: validators
        )
        #expect(outcome == c.expected)
    }

    @Test("entity-tags may contain commas and obs-text")
    func etagCharacters() {
        let odd = Validators(etag: "\"a,b\u{e9}\"", lastModified: lastModified, date: lastModified + 1)
        #expect(
            Preconditions.evaluate(
                isGetOrHead: true,
                ifMatch: nil,
                ifNoneMatch: "\"x\", \"a,b\u{e9}\"",
                ifModifiedSince: nil,
                ifUnmodifiedSince: nil,
                validators: odd
            ) == .notModified
        )
        #expect(
            Preconditions.evaluate(
                isGetOrHead: true,
                ifMatch: "\"a\"",
                ifNoneMatch: nil,
                ifModifiedSince: nil,
                ifUnmodifiedSince: nil,
                validators: odd
            ) == .preconditionFailed
        )
        #expect(Preconditions.ifRangeAllows("\"a,b\u{e9}\"", validators: odd))
    }

    @Test(
        "If-Range (RFC 9110 §13.1.5)",
        arguments: [
            (nil, validators, true),
            (etag, validators, true),
            (" \(etag)\t", validators, true),
            ("W/\(etag)", validators, false),
            ("\"stale\"", validators, false),
            ("\(etag), \"x\"", validators, false),
            ("img-7-1-abcd", validators, false),
            ("\"img-7-1-abcd", validators, false),
            ("", validators, false),
            ("garbage", validators, false),
            (lmDate, validators, true),
            (" \(lmDate) ", validators, true),
            (before, validators, false),
            (after, validators, false),
            // Date == Last-Modified: Last-Modified is only a weak validator (§8.8.2.2), so the date never matches.
            (lmDate, Validators(etag: etag, lastModified: lastModified, date: lastModified), false),
            (lmDate, Validators(etag: etag, lastModified: lastModified, date: lastModified + 1), true),
            // Our own tag weak (should never happen): strong comparison can never succeed.
            ("W/\"a\"", Validators(etag: "W/\"a\"", lastModified: 0, date: 1), false),
            ("\"a\"", Validators(etag: "W/\"a\"", lastModified: 0, date: 1), false),
        ] as [(String?, Validators, Bool)]
    )
    func ifRange(value: String?, validators: Validators, expected: Bool) {
        #expect(Preconditions.ifRangeAllows(value, validators: validators) == expected)
    }

    @Test("trimOWS", arguments: [("", ""), ("  ", ""), (" a ", "a"), ("\ta b\t", "a b"), (" \u{e9} ", "\u{e9}")])
    func trim(input: String, expected: String) {
        #expect(Preconditions.trimOWS(input) == expected)
    }
}
