//===----------------------------------------------------------------------===//
// ImageGate: CLI output: JSON for scripts, aligned tables for people.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import GateCore
import ImageCatalog

enum Output {
    /// Pretty, key-sorted JSON on standard output.
    static func json(_ object: Any) {
        let data =
            (try? JSONSerialization.data(
                withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data()
        print(String(decoding: data, as: UTF8.self))
    }

    static func table(_ header: [String], _ rows: [[String]]) {
        var widths = header.map(\.count)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in
                i == cells.count - 1 ? c : c + String(repeating: " ", count: widths[i] - c.count)
            }.joined(separator: "  ")
        }
        print(line(header))
        for r in rows { print(line(r)) }
    }

    static func humanSize(_ n: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = Double(n)
        var i = 0
        while v >= 1024 && i < units.count - 1 {
            v /= 1024
            i += 1
        }
        return i == 0 ? "\(n) B" : String(format: "%.1f", v) + " " + units[i]
    }
}
