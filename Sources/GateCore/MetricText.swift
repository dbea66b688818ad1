//===----------------------------------------------------------------------===//
// ImageGate: the Prometheus text exposition format 0.0.4 (# HELP, # TYPE, one line per series).
//===----------------------------------------------------------------------===//

/// A metric family as /metrics describes it. `seeds` are series shown even before their first bump, so a
/// rate() or an alert sees 0 instead of "no data".
public struct MetricFamily: Sendable {
    public enum Kind: String, Sendable {
        case counter, gauge, histogram
    }
    public let name: String
    public let kind: Kind
    public let help: String
    public var seeds: [MetricSeries]
    public var histogram: MetricHistogram?

    public init(_ name: String, _ kind: Kind, _ help: String, seeds: [MetricSeries] = []) {
        self.name = name
        self.kind = kind
        self.help = help
        self.seeds = seeds
    }

    public init(histogram: MetricHistogram, help: String) {
        self.init(histogram.name, .histogram, help)
        self.histogram = histogram
    }
}

public enum MetricText {
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Renders families in the given order. `values` holds counters, histogram cells and gauges alike.
    public static func render(_ families: [MetricFamily], values: [MetricSeries: Double]) -> String {
        var out = ""
        for f in families {
            out += "# HELP \(f.name) \(escapeHelp(f.help))\n# TYPE \(f.name) \(f.kind.rawValue)\n"
            if let h = f.histogram {
                for (_, s) in h.bucketSeries { out += line(s, values[s] ?? 0) }
                for s in [h.infSeries, h.sumSeries, h.countSeries] { out += line(s, values[s] ?? 0) }
                continue
            }
            var series = Set(f.seeds)
            for k in values.keys where k.name == f.name { series.insert(k) }
            for s in series.sorted(by: { $0.labels < $1.labels }) { out += line(s, values[s] ?? 0) }
        }
        return out
    }

    static func line(_ s: MetricSeries, _ v: Double) -> String { "\(s.name)\(s.labels) \(number(v))\n" }

    /// Integers without a fraction (counters of bytes stay exact and readable); others in Swift's shortest form.
    public static func number(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return String(v)
    }

    static func escapeHelp(_ s: String) -> String {
        s.replacingOccurrences("\\", "\\\\").replacingOccurrences("\n", "\\n")
    }
}

extension String {
    fileprivate func replacingOccurrences(_ a: String, _ b: String) -> String {
        split(separator: Character(a), omittingEmptySubsequences: false).joined(separator: b)
    }
}
