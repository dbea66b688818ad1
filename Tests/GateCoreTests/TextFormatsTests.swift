//===----------------------------------------------------------------------===//
// ImageGate: durations, dates and identifiers as text.
//===----------------------------------------------------------------------===//
import GateCore
import Testing

@Suite struct DurationTextTests {
    @Test(arguments: [
        ("90", Int64(90)), ("90s", 90), ("30m", 1800), ("24h", 86400), ("7d", 604800), ("1h30m", 5400),
        ("1d2h3m4s", 93784),
    ])
    func parses(text: String, seconds: Int64) {
        #expect(DurationText.parse(text) == seconds)
    }

    @Test(arguments: ["", "h", "5x", "1.5h", "-5m", "5m3", "99999999999999999999d", " 5m"])
    func refuses(text: String) {
        #expect(DurationText.parse(text) == nil)
    }

    @Test func formats() {
        #expect(DurationText.format(86400) == "1d")
        #expect(DurationText.format(5400) == "1h30m")
        #expect(DurationText.format(0) == "0s")
    }
}

@Suite struct TimeFormatTests {
    @Test func rfc3339AndHTTPDate() {
        // 784111777 is the RFC 9110 §5.6.7 example instant.
        #expect(TimeFormat.httpDate(784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
        #expect(TimeFormat.rfc3339(784_111_777) == "1994-11-06T08:49:37Z")
        #expect(TimeFormat.compact(784_111_777) == "19941106084937")
    }

    @Test func parsesOnlyIMFFixdate() {
        #expect(TimeFormat.parseHTTPDate("Sun, 06 Nov 1994 08:49:37 GMT") == 784_111_777)
        // The obsolete forms (RFC 850, asctime) and anything malformed are not dates to us.
        #expect(TimeFormat.parseHTTPDate("Sunday, 06-Nov-94 08:49:37 GMT") == nil)
        #expect(TimeFormat.parseHTTPDate("Sun Nov  6 08:49:37 1994") == nil)
        #expect(TimeFormat.parseHTTPDate("Sun, 06 Nov 1994 08:49:37 UTC") == nil)
        #expect(TimeFormat.parseHTTPDate("Sun, 32 Nov 1994 08:49:37 GMT") == nil)
    }

    @Test func roundTripsAcrossYears() {
        for t in stride(from: Int64(0), to: 4_000_000_000, by: 97_654_321) {
            #expect(TimeFormat.parseHTTPDate(TimeFormat.httpDate(t)) == t)
        }
    }
}

@Suite struct IdentifierTests {
    @Test func imageIDText() {
        let id = ImageID(ID128(high: 0x0123_4567_89ab_cdef, low: 0xfedc_ba98_7654_3210))
        #expect(id.description == "img-0123456789abcdeffedcba9876543210")
        #expect(ImageID(id.description) == id)
        #expect(ImageID(id.raw.hex) == nil)  // the prefix is part of the id
        #expect(ImageID("img-0123") == nil)
        #expect(ID128(bytes: id.raw.bytes) == id.raw)
    }

    @Test func tenantIDText() {
        #expect(TenantID.defaultTenant.description == "ten-00000000000000000000000000000001")
        #expect(TenantID("ten-00000000000000000000000000000001") == .defaultTenant)
        #expect(TenantID("img-00000000000000000000000000000001") == nil)
    }

    @Test func jsonQuoting() {
        #expect(JSONText.quote("a\"b\\c\n\u{1}") == "\"a\\\"b\\\\c\\n\\u0001\"")
    }
}
