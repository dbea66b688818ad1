//===----------------------------------------------------------------------===//
// ImageGate: RFC 3339 and IMF-fixdate (HTTP-date) formatting and parsing, UTC only.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif

public enum TimeFormat {
    private static let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    private static func parts(_ unix: Int64) -> tm {
        var t = time_t(unix)
        var out = tm()
        gmtime_r(&t, &out)
        return out
    }

    private static func pad(_ v: Int32, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    /// `2026-11-29T23:36:03Z`
    public static func rfc3339(_ unix: Int64) -> String {
        let t = parts(unix)
        return "\(pad(t.tm_year + 1900, 4))-\(pad(t.tm_mon + 1, 2))-\(pad(t.tm_mday, 2))T"
            + "\(pad(t.tm_hour, 2)):\(pad(t.tm_min, 2)):\(pad(t.tm_sec, 2))Z"
    }

    /// `Sun, 06 Nov 1994 08:49:37 GMT` (RFC 9110 §5.6.7 IMF-fixdate).
    public static func httpDate(_ unix: Int64) -> String {
        let t = parts(unix)
        return "\(days[Int(t.tm_wday)]), \(pad(t.tm_mday, 2)) \(months[Int(t.tm_mon)]) \(pad(t.tm_year + 1900, 4)) "
            + "\(pad(t.tm_hour, 2)):\(pad(t.tm_min, 2)):\(pad(t.tm_sec, 2)) GMT"
    }

    /// `20261129233603` (FTP MDTM, RFC 3659).
    public static func compact(_ unix: Int64) -> String {
        let t = parts(unix)
        return "\(pad(t.tm_year + 1900, 4))\(pad(t.tm_mon + 1, 2))\(pad(t.tm_mday, 2))"
            + "\(pad(t.tm_hour, 2))\(pad(t.tm_min, 2))\(pad(t.tm_sec, 2))"
    }

    /// Parses an IMF-fixdate exactly (the only form we emit); obsolete forms return nil, which callers treat
    /// as "does not match", the safe answer for If-Range and If-Modified-Since.
    public static func parseHTTPDate(_ s: String) -> Int64? {
        let b = Array(s.utf8)
        guard b.count == 29, b[3] == UInt8(ascii: ","), b[4] == 32, b[7] == 32, b[11] == 32, b[16] == 32,
            b[19] == UInt8(ascii: ":"), b[22] == UInt8(ascii: ":"), b[25] == 32,
            String(decoding: b[26..<29], as: UTF8.self) == "GMT",
            days.contains(String(decoding: b[0..<3], as: UTF8.self))
        else { return nil }
        func num(_ r: Range<Int>) -> Int32? {
            var v: Int32 = 0
            for c in b[r] {
                guard c >= 48, c <= 57 else { return nil }
                v = v * 10 + Int32(c - 48)
            }
            return v
        }
        guard let day = num(5..<7), let year = num(12..<16), let hour = num(17..<19), let minute = num(20..<22),
            let second = num(23..<25),
            let month = months.firstIndex(of: String(decoding: b[8..<11], as: UTF8.self))
        else { return nil }
        guard day >= 1, day <= 31, hour < 24, minute < 60, second < 61 else { return nil }
        var t = tm()
        t.tm_year = year - 1900
        t.tm_mon = Int32(month)
        t.tm_mday = day
        t.tm_hour = hour
        t.tm_min = minute
        t.tm_sec = second
        return Int64(timegm(&t))
    }
}
