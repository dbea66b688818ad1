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

    /// `# HELP` and `# TYPE` lines, escaped once here rather than on every scrape.
    public let header: String

    public init(_ name: String, _ kind: Kind, _ help: String, seeds: [MetricSeries] = []) {
        self.name = name
        self.kind = kind
        self.help = help
        self.seeds = seeds
        header = "# HELP \(name) \(MetricText.escapeHelp(help))\n# TYPE \(name) \(kind.rawValue)\n"
    }

    public init(histogram: MetricHistogram, help: String) {
        self.init(histogram.name, .histogram, help)
        self.histogram = histogram
    }
}

public enum MetricText {
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// Renders families in the given order. `values` holds counters, histogram cells and gauges alike. A scrape
    /// renders every family (Docs/operations.md, "What a scrape costs"): build the families once and pass them
    /// again, so their header lines are not escaped anew each time.
    public static func render(_ families: [MetricFamily], values: [MetricSeries: Double]) -> String {
        var byName: [String: [MetricSeries]] = [:]
        for k in values.keys { byName[k.name, default: []].append(k) }
        var out = ""
        out.reserveCapacity(8192)
        for f in families {
            out += f.header
            if let h = f.histogram {
                for (_, s) in h.bucketSeries { append(s, values[s] ?? 0, to: &out) }
                for s in [h.infSeries, h.sumSeries, h.countSeries] { append(s, values[s] ?? 0, to: &out) }
                continue
            }
            var series = f.seeds
            for k in byName[f.name] ?? [] where !f.seeds.contains(k) { series.append(k) }
            for s in series.sorted(by: { $0.labels < $1.labels }) { append(s, values[s] ?? 0, to: &out) }
        }
        return out
    }

    static func append(_ s: MetricSeries, _ v: Double, to out: inout String) {
        out += s.name
        out += s.labels
        out += " "
        out += number(v)
        out += "\n"
    }

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
