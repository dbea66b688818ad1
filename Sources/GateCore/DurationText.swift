//===----------------------------------------------------------------------===//
// ImageGate: durations as users type them: 90s, 30m, 24h, 7d, or combined 1h30m.
//===----------------------------------------------------------------------===//

public enum DurationText {
    /// Parses `24h`, `90m`, `3600s`, `7d`, `1h30m`, or a bare number of seconds. Returns seconds.
    public static func parse(_ text: String) -> Int64? {
        let s = Array(text.utf8)
        guard !s.isEmpty, s.count <= 32 else { return nil }
        if s.allSatisfy({ $0 >= 48 && $0 <= 57 }) { return Int64(text) }
        var total: Int64 = 0
        var value: Int64 = 0
        var haveDigits = false
        for c in s {
            if c >= 48 && c <= 57 {
                let (m, o1) = value.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(Int64(c - 48))
                guard !o1, !o2 else { return nil }
                value = a
                haveDigits = true
                continue
            }
            guard haveDigits else { return nil }
            let unit: Int64
            switch c {
            case UInt8(ascii: "s"): unit = 1
            case UInt8(ascii: "m"): unit = 60
            case UInt8(ascii: "h"): unit = 3600
            case UInt8(ascii: "d"): unit = 86400
            default: return nil
            }
            let (m, o1) = value.multipliedReportingOverflow(by: unit)
            let (a, o2) = total.addingReportingOverflow(m)
            guard !o1, !o2 else { return nil }
            total = a
            value = 0
            haveDigits = false
        }
        guard !haveDigits else { return nil }
        return total
    }

    /// `86400` → `24h`; `5400` → `1h30m`.
    public static func format(_ seconds: Int64) -> String {
        if seconds <= 0 { return "0s" }
        var rest = seconds
        var out = ""
        for (unit, name) in [(Int64(86400), "d"), (3600, "h"), (60, "m"), (1, "s")] where rest >= unit {
            out += "\(rest / unit)\(name)"
            rest %= unit
        }
        return out
    }
}
