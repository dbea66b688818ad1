//===----------------------------------------------------------------------===//
// ImageGate: Range header parsing and resolution against a representation length (RFC 9110 §14).
//===----------------------------------------------------------------------===//

/// Turns a raw `Range` field value into a ``RangeDecision``.
///
/// Policy (see `Docs/http-range.md`), applied in this order:
/// 1. Absent header, header longer than ``maxHeaderBytes``, `maxRanges <= 0`, unknown unit or any syntactically
///    invalid range-spec → ``RangeDecision/full`` (RFC 9110 §14.2: a server MAY ignore Range).
/// 2. More than `maxRanges` range-specs → ``RangeDecision/unsatisfiable`` (§14.2, §15.5.17 DoS allowance).
/// 3. Unsatisfiable specs are dropped; none left → ``RangeDecision/unsatisfiable``.
/// 4. More than two specs taking part in overlaps → ``RangeDecision/unsatisfiable`` (§14.2, CVE-2011-3192).
/// 5. Two or more specs whose lengths add up to more than `length` → ``RangeDecision/full`` (nginx).
/// 6. Overlapping and adjacent ranges are coalesced (§15.3.7.2); one left → `.single`, else `.multiple`.
public enum RangeResolver {
    /// Field values longer than this are not parsed at all; they are ignored (→ `.full`). Sixteen specs of two
    /// 20-digit numbers each fit in about 700 bytes, so only padding or abuse reaches the cap.
    public static let maxHeaderBytes = 1024

    /// header: the raw Range field value (nil if absent). Implements Docs/protocols.md §1.2 steps 3, 5, 6 and 7; the
    /// method and If-Range checks are the caller's.
    ///
    /// - Parameters:
    ///   - header: the raw `Range` field value, or nil when the request has none.
    ///   - length: the current length of the selected representation in bytes.
    ///   - maxRanges: the most range-specs accepted; `<= 0` disables ranges entirely (nginx `max_ranges 0`).
    /// - Returns: what to send: 200, 206 single, 206 multipart or 416.
    public static func resolve(_ header: String?, length: UInt64, maxRanges: Int = 16) -> RangeDecision {
        guard var header else { return .full }
        return header.withUTF8 { resolve(UnsafeRawBufferPointer($0), length: length, maxRanges: maxRanges) }
    }

    /// The same from the field's bytes (``RequestHead/withHeader(_:_:)``), with no String made.
    public static func resolve(_ header: UnsafeRawBufferPointer?, length: UInt64, maxRanges: Int = 16) -> RangeDecision
    {
        guard let header, maxRanges > 0, header.count <= maxHeaderBytes else { return .full }
        return resolve(bytes: header.assumingMemoryBound(to: UInt8.self), length: length, maxRanges: maxRanges)
    }

    private static func resolve(bytes: UnsafeBufferPointer<UInt8>, length: UInt64, maxRanges: Int) -> RangeDecision {
        // The first satisfiable range stays out of the array: a single range (nearly every request) makes none.
        var single: ClosedRange<UInt64>?
        var ranges: [ClosedRange<UInt64>] = []
        var specCount = 0
        // RFC 9110 §14.1.2: for a zero-length representation a non-zero suffix-range is the only satisfiable
        // spec, yet no 206 can describe zero bytes; it is answered with the (empty) full representation.
        var emptyButSatisfiable = false

        var parser = RangeSpecParser(bytes)
        guard parser.consumeBytesUnit() else { return .full }
        scan: while true {
            switch parser.next() {
            case .invalid:
                return .full
            case .end:
                break scan
            case .spec(let spec):
                specCount += 1
                // Keep parsing past the limit: a later invalid spec still makes the whole field ignorable.
                guard specCount <= maxRanges else { continue scan }
                if let range = spec.resolve(length: length) {
                    if single == nil && ranges.isEmpty {
                        single = range
                    } else {
                        if let first = single {
                            ranges.reserveCapacity(min(maxRanges, 16))
                            ranges.append(first)
                            single = nil
                        }
                        ranges.append(range)
                    }
                } else if length == 0, case .suffix(let n) = spec, n > 0 {
                    emptyButSatisfiable = true
                }
            }
        }

        // §14.1.1: range-set is 1#range-spec, so a field with only empty list elements is invalid.
        guard specCount > 0 else { return .full }
        guard specCount <= maxRanges else { return .unsatisfiable }
        if emptyButSatisfiable { return .full }
        if let single { return .single(first: single.lowerBound, last: single.upperBound) }
        guard !ranges.isEmpty else { return .unsatisfiable }

        // nginx: parts adding up to more than the representation are cheaper served as one 200.
        var total: UInt64 = 0
        var exceedsLength = false
        for range in ranges {
            let (sum, overflow) = total.addingReportingOverflow(range.upperBound - range.lowerBound + 1)
            total = sum
            exceedsLength = exceedsLength || overflow || sum > length
        }

        ranges.sort { $0.lowerBound < $1.lowerBound }
        var overlaps = 0
        var merged: [ClosedRange<UInt64>] = []
        merged.reserveCapacity(ranges.count)
        var current = ranges[0]
        for range in ranges.dropFirst() {
            // Sharing a byte with what came before counts as an overlap; merely touching does not.
            if range.lowerBound <= current.upperBound { overlaps += 1 }
            // `current.upperBound < length <= UInt64.max`, so the `+ 1` cannot overflow.
            if range.lowerBound <= current.upperBound + 1 {
                current = current.lowerBound...max(current.upperBound, range.upperBound)
            } else {
                merged.append(current)
                current = range
            }
        }
        merged.append(current)

        // RFC 9110 §14.2 lets a server reject "more than two overlapping ranges": two overlap events mean at
        // least three specs are involved.
        if overlaps >= 2 { return .unsatisfiable }
        if exceedsLength { return .full }
        if merged.count == 1 { return .single(first: merged[0].lowerBound, last: merged[0].upperBound) }
        return .multiple(merged)
    }
}

/// One syntactically valid range-spec (RFC 9110 §14.1.1), numbers saturated at `UInt64.max`.
enum RangeSpec: Equatable {
    /// `first-pos "-" [last-pos]`; nil last means "to the end".
    case int(first: UInt64, last: UInt64?)
    /// `"-" suffix-length`
    case suffix(UInt64)

    /// The inclusive byte range this spec selects, or nil if it is unsatisfiable (RFC 9110 §14.1.2).
    func resolve(length: UInt64) -> ClosedRange<UInt64>? {
        switch self {
        case .int(let first, let last):
            // Satisfiable iff first-pos < length; last-pos past the end is clamped. A saturated first-pos
            // (more digits than UInt64 holds) is never below length.
            guard first < length else { return nil }
            return first...min(last ?? UInt64.max, length - 1)
        case .suffix(let n):
            guard n > 0, length > 0 else { return nil }
            return (length - min(n, length))...(length - 1)
        }
    }
}

/// Byte-level scanner for `bytes=` range-set syntax. No allocation, no Characters.
struct RangeSpecParser {
    enum Token: Equatable { case spec(RangeSpec), end, invalid }

    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0

    init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    private static let space = UInt8(ascii: " ")
    private static let tab = UInt8(ascii: "\t")
    private static let comma = UInt8(ascii: ",")
    private static let dash = UInt8(ascii: "-")
    private static let bytesUnit: [UInt8] = Array("bytes".utf8)

    private var current: UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func skipOWS() {
        while let c = current, c == Self.space || c == Self.tab { index += 1 }
    }

    /// Consumes leading OWS and `bytes=` (range units are case-insensitive, RFC 9110 §14.1). False for a
    /// missing `=` or any other unit; both mean "ignore the field".
    mutating func consumeBytesUnit() -> Bool {
        skipOWS()
        guard bytes.count - index > Self.bytesUnit.count else { return false }
        for expected in Self.bytesUnit {
            // ASCII letters lowercase by setting bit 5; no other byte maps onto a lowercase letter.
            guard bytes[index] | 0x20 == expected else { return false }
            index += 1
        }
        // RFC 9110 §14.1.1: no OWS around '='; `bytes 0-5` or `bytes =0-5` is ignored.
        guard bytes[index] == UInt8(ascii: "=") else { return false }
        index += 1
        return true
    }

    /// Parses 1*DIGIT, saturating at UInt64.max so big numerals never overflow (RFC 9110 §14.1.2).
    private mutating func number() -> UInt64? {
        var value: UInt64 = 0
        var digits = 0
        while let c = current, c >= 0x30, c <= 0x39 {
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(UInt64(c - 0x30))
            value = (o1 || o2) ? UInt64.max : sum
            digits += 1
            index += 1
        }
        return digits > 0 ? value : nil
    }

    /// The next range-spec of the list, skipping empty list elements and OWS around commas (RFC 9110 §5.6.1).
    mutating func next() -> Token {
        while true {
            skipOWS()
            guard let c = current else { return .end }
            guard c == Self.comma else { break }
            index += 1
        }
        let spec: RangeSpec
        if current == Self.dash {
            index += 1
            guard let n = number() else { return .invalid }
            spec = .suffix(n)
        } else {
            // Only DIGIT may start an int-range: '+', hex and inner spaces fall out here or at the '-' check.
            guard let first = number(), current == Self.dash else { return .invalid }
            index += 1
            let last = number()
            // §14.1.1: an int-range with last-pos < first-pos is invalid, and so is the whole field.
            if let last, last < first { return .invalid }
            spec = .int(first: first, last: last)
        }
        skipOWS()
        guard let c = current else { return .spec(spec) }
        guard c == Self.comma else { return .invalid }
        index += 1
        return .spec(spec)
    }
}
