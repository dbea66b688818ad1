//===----------------------------------------------------------------------===//
// ImageGate: command-line arguments: positionals, --options with values, and flags.
//===----------------------------------------------------------------------===//
import GateCore

/// Parsed arguments of one subcommand. Options are declared per command so a typo is a usage error,
/// never silently ignored.
struct Arguments {
    var positionals: [String] = []
    var values: [String: String] = [:]
    /// Every value of each option in the order given (`values` keeps the last): `--allow-ip A --allow-ip B`.
    var repeated: [String: [String]] = [:]
    var flags: Set<String> = []

    /// Options every command accepts.
    static let commonValueOptions: Set<String> = ["--config", "--data-dir", "--catalog", "--server", "--cacert"]

    init(_ args: ArraySlice<String>, valueOptions: Set<String>, flagOptions: Set<String>) throws(GateError) {
        let allValues = valueOptions.union(Self.commonValueOptions)
        let allFlags = flagOptions.union(["--help", "-h"])
        var i = args.startIndex
        var onlyPositionals = false
        while i < args.endIndex {
            let a = args[i]
            i += 1
            if onlyPositionals || !a.hasPrefix("-") || a == "-" {
                positionals.append(a)
                continue
            }
            if a == "--" {
                onlyPositionals = true
                continue
            }
            var name = a
            var inlineValue: String?
            if let eq = a.firstIndex(of: "="), a.hasPrefix("--") {
                name = String(a[..<eq])
                inlineValue = String(a[a.index(after: eq)...])
            }
            if allFlags.contains(name) {
                guard inlineValue == nil else { throw GateError.usage("\(name) takes no value") }
                flags.insert(name == "-h" ? "--help" : name)
            } else if allValues.contains(name) {
                if let inlineValue {
                    values[name] = inlineValue
                } else {
                    guard i < args.endIndex else { throw GateError.usage("\(name) needs a value") }
                    values[name] = args[i]
                    i += 1
                }
                repeated[name, default: []].append(values[name]!)
            } else {
                throw GateError.usage("unknown option \(a)")
            }
        }
    }

    var wantsHelp: Bool { flags.contains("--help") }
    var json: Bool { flags.contains("--json") }
    func value(_ name: String) -> String? { values[name] }
    func allValues(_ name: String) -> [String] { repeated[name] ?? [] }

    func required(_ name: String) throws(GateError) -> String {
        guard let v = values[name], !v.isEmpty else { throw GateError.usage("missing \(name)") }
        return v
    }

    func positional(_ index: Int, _ what: String) throws(GateError) -> String {
        guard index < positionals.count else { throw GateError.usage("missing \(what)") }
        return positionals[index]
    }

    func noMorePositionals(than n: Int) throws(GateError) {
        if positionals.count > n { throw GateError.usage("unexpected argument \(positionals[n])") }
    }
}
