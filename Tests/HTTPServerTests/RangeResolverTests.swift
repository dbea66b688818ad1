//===----------------------------------------------------------------------===//
// ImageGate: RangeResolver tests: Docs/protocols.md §1.5 cases, syntax, limits, overflow, zero length.
//===----------------------------------------------------------------------===//

import Testing

@testable import HTTPServer

/// The representation length used by Docs/protocols.md §1.5.
private let fileLength: UInt64 = 10_000_000_000

/// `count` disjoint 10-byte ranges 100 bytes apart, as a Range field value.
private func disjointRanges(_ count: Int) -> String {
    "bytes=" + (0..<count).map { "\($0 * 100)-\($0 * 100 + 9)" }.joined(separator: ",")
}

@Suite("RangeResolver")
struct RangeResolverTests {
    @Test(
        "Docs/protocols.md §1.5 cases, fileLength = 10 000 000 000",
        arguments: [
            (nil, RangeDecision.full),
            ("bytes=0-0", .single(first: 0, last: 0)),
            ("bytes=100-", .single(first: 100, last: fileLength - 1)),
            ("bytes=9999999990-", .single(first: 9_999_999_990, last: 9_999_999_999)),
            ("bytes=-500", .single(first: 9_999_999_500, last: 9_999_999_999)),
            ("bytes=-20000000000", .single(first: 0, last: 9_999_999_999)),
            ("bytes=10000000000-", .unsatisfiable),
            ("bytes=-0", .unsatisfiable),
            ("bytes=5-4", .full),
            ("bytes=0-18446744073709551615", .single(first: 0, last: 9_999_999_999)),
            ("bytes=99999999999999999999999-", .unsatisfiable),
            ("items=0-5", .full),
            ("bytes 0-5", .full),
            ("bytes=0-9,20-29", .multiple([0...9, 20...29])),
            ("bytes=0-,0-,0-", .unsatisfiable),
            (disjointRanges(17), .unsatisfiable),
            ("bytes=0-9,5-14", .single(first: 0, last: 14)),
        ] as [(String?, RangeDecision)]
    )
    func protocolCases(header: String?, expected: RangeDecision) {
        #expect(RangeResolver.resolve(header, length: fileLength) == expected)
    }

    @Test(
        "syntactically invalid fields are ignored (200), valid ones with OWS accepted",
        arguments: [
            ("bytes=+5-10", RangeDecision.full),
            ("bytes=5-+10", .full),
            ("bytes=0x10-0x20", .full),
            ("bytes=1 0-20", .full),
            ("bytes=10 -20", .full),
            ("bytes=10- 20", .full),
            ("bytes=-", .full),
            ("bytes=--5", .full),
            ("bytes=", .full),
            ("bytes=,", .full),
            ("bytes= , ,", .full),
            ("bytes=5", .full),
            ("bytes=a-b", .full),
            ("bytes=0-5;6-7", .full),
            ("bytes=0-9,5-4", .full),
            ("bytes=0-9,abc", .full),
            ("bytes=0-9,-", .full),
            ("bytes=\u{663}-5", .full),  // ARABIC-INDIC DIGIT THREE is not DIGIT
            ("bytes =0-9", .full),
            ("bytes= 0-9", .single(first: 0, last: 9)),
            ("bytesx=0-9", .full),
            ("byte=0-9", .full),
            ("bytes", .full),
            ("", .full),
            ("Bytes=0-9", .single(first: 0, last: 9)),
            ("BYTES=0-9", .single(first: 0, last: 9)),
            (" bytes=0-9 ", .single(first: 0, last: 9)),
            ("bytes=0-9, 20-29", .multiple([0...9, 20...29])),
            ("bytes=0-9 , 20-29", .multiple([0...9, 20...29])),
            ("bytes=0-9\t,\t20-29", .multiple([0...9, 20...29])),
            ("bytes=,0-9,,20-29,", .multiple([0...9, 20...29])),
            ("bytes=000000000000000000000000000001-2", .single(first: 1, last: 2)),
        ] as [(String, RangeDecision)]
    )
    func syntax(header: String, expected: RangeDecision) {
        #expect(RangeResolver.resolve(header, length: fileLength) == expected)
    }

    @Test(
        "big numerals saturate instead of overflowing",
        arguments: [
            ("bytes=0-18446744073709551615", fileLength, RangeDecision.single(first: 0, last: fileLength - 1)),
            ("bytes=0-18446744073709551616", fileLength, .single(first: 0, last: fileLength - 1)),
            ("bytes=0-99999999999999999999999", fileLength, .single(first: 0, last: fileLength - 1)),
            ("bytes=-99999999999999999999999", fileLength, .single(first: 0, last: fileLength - 1)),
            ("bytes=-18446744073709551615", fileLength, .single(first: 0, last: fileLength - 1)),
            ("bytes=99999999999999999999999-", fileLength, .unsatisfiable),
            ("bytes=18446744073709551615-", fileLength, .unsatisfiable),
            // Both saturate to UInt64.max, so last >= first holds: valid syntax, unsatisfiable.
            ("bytes=99999999999999999999999-99999999999999999999998", fileLength, .unsatisfiable),
            ("bytes=0-", UInt64.max, .single(first: 0, last: UInt64.max - 1)),
            ("bytes=-5", UInt64.max, .single(first: UInt64.max - 5, last: UInt64.max - 1)),
            ("bytes=18446744073709551614-", UInt64.max, .single(first: UInt64.max - 1, last: UInt64.max - 1)),
            ("bytes=18446744073709551615-", UInt64.max, .unsatisfiable),
            // The part lengths add up past UInt64.max: the sum check must not trap.
            ("bytes=0-,1-", UInt64.max, .full),
            // ...and the overlap limit still comes first.
            ("bytes=0-,0-,0-", UInt64.max, .unsatisfiable),
        ] as [(String, UInt64, RangeDecision)]
    )
    func bigNumerals(header: String, length: UInt64, expected: RangeDecision) {
        #expect(RangeResolver.resolve(header, length: length) == expected)
    }

    @Test(
        "zero-length and one-byte representations",
        arguments: [
            ("bytes=0-", 0, RangeDecision.unsatisfiable),
            ("bytes=0-0", 0, .unsatisfiable),
            ("bytes=-0", 0, .unsatisfiable),
            // RFC 9110 §14.1.2: a non-zero suffix is satisfiable, but no 206 can describe zero bytes.
            ("bytes=-5", 0, .full),
            ("bytes=0-,-1", 0, .full),
            ("bytes=5-4", 0, .full),
            ("items=0-", 0, .full),
            ("bytes=0-", 1, .single(first: 0, last: 0)),
            ("bytes=-1", 1, .single(first: 0, last: 0)),
            ("bytes=-7", 1, .single(first: 0, last: 0)),
            ("bytes=0-99", 1, .single(first: 0, last: 0)),
            ("bytes=1-", 1, .unsatisfiable),
        ] as [(String, UInt64, RangeDecision)]
    )
    func smallRepresentations(header: String, length: UInt64, expected: RangeDecision) {
        #expect(RangeResolver.resolve(header, length: length) == expected)
    }

    @Test(
        "coalescing, ordering, overlap and sum limits",
        arguments: [
            ("bytes=20-29,0-9", 10_000, RangeDecision.multiple([0...9, 20...29])),
            ("bytes=0-9,10-19,20-29", 10_000, .single(first: 0, last: 29)),
            ("bytes=0-9,10-19,30-39", 10_000, .multiple([0...19, 30...39])),
            ("bytes=0-0,0-0", 10_000, .single(first: 0, last: 0)),
            ("bytes=0-9,5-14,100-109", 10_000, .multiple([0...14, 100...109])),
            // Two overlap events: more than two specs take part in overlaps.
            ("bytes=0-9,5-14,100-109,105-114", 10_000, .unsatisfiable),
            ("bytes=0-9,2-3,5-6", 10_000, .unsatisfiable),
            ("bytes=0-9,20000000000-", 10_000, .single(first: 0, last: 9)),
            ("bytes=20000-,30000-", 10_000, .unsatisfiable),
            ("bytes=-10,0-9", 10_000, .multiple([0...9, 9990...9999])),
            ("bytes=-10,9990-", 10_000, .single(first: 9990, last: 9999)),
            // nginx: overlapping parts adding up to more than the representation → 200.
            ("bytes=0-9999,0-0", 10_000, .full),
            ("bytes=0-,0-", 10_000, .full),
            ("bytes=0-4999,5000-9999", 10_000, .single(first: 0, last: 9999)),
        ] as [(String, UInt64, RangeDecision)]
    )
    func coalescing(header: String, length: UInt64, expected: RangeDecision) {
        #expect(RangeResolver.resolve(header, length: length) == expected)
    }

    @Test("maxRanges counts every spec; 16 is accepted, 17 rejected")
    func rangeCountLimit() {
        let sixteen = RangeResolver.resolve(disjointRanges(16), length: fileLength)
        let expected: [ClosedRange<UInt64>] = (0..<16).map { (n: UInt64) in (n * 100)...(n * 100 + 9) }
        #expect(sixteen == .multiple(expected))
        #expect(RangeResolver.resolve(disjointRanges(17), length: fileLength) == .unsatisfiable)
        // Unsatisfiable specs count too, so the limit bounds parsing work, not just parts served.
        #expect(
            RangeResolver.resolve("bytes=0-9," + String(repeating: "20000000000-,", count: 16), length: fileLength)
                == .unsatisfiable
        )
        // Syntax wins over the limit: an invalid spec after the 16th still makes the field ignorable.
        #expect(RangeResolver.resolve(disjointRanges(17) + ",x", length: fileLength) == .full)
        #expect(RangeResolver.resolve("bytes=0-9,20-29", length: fileLength, maxRanges: 1) == .unsatisfiable)
        #expect(RangeResolver.resolve("bytes=0-9", length: fileLength, maxRanges: 1) == .single(first: 0, last: 9))
        #expect(RangeResolver.resolve("bytes=0-9", length: fileLength, maxRanges: 0) == .full)
        #expect(RangeResolver.resolve("bytes=0-9", length: fileLength, maxRanges: -1) == .full)
    }

    @Test("fields longer than 1024 bytes are ignored without parsing")
    func headerLengthCap() {
        let pad = 1024 - "bytes=".utf8.count - "1-2".utf8.count
        let atCap = "bytes=" + String(repeating: "0", count: pad) + "1-2"
        #expect(atCap.utf8.count == RangeResolver.maxHeaderBytes)
        #expect(RangeResolver.resolve(atCap, length: fileLength) == .single(first: 1, last: 2))
        let overCap = "bytes=" + String(repeating: "0", count: pad + 1) + "1-2"
        #expect(RangeResolver.resolve(overCap, length: fileLength) == .full)
    }

    @Test(
        "ContentRange field values",
        arguments: [
            (ContentRange.satisfied(first: 0, last: 0, length: fileLength), "bytes 0-0/10000000000"),
            (
                ContentRange.satisfied(first: 9_999_999_500, last: fileLength - 1, length: fileLength),
                "bytes 9999999500-9999999999/10000000000"
            ),
            (ContentRange.unsatisfied(length: fileLength), "bytes */10000000000"),
            (ContentRange.unsatisfied(length: 0), "bytes */0"),
        ]
    )
    func contentRange(value: String, expected: String) {
        #expect(value == expected)
    }
}
