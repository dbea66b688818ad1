//===----------------------------------------------------------------------===//
// ImageGate: CLI commands that map one-to-one onto management API calls, with tables for people and the
// API's JSON for scripts (`--json`).
//===----------------------------------------------------------------------===//
import Foundation
import GateCore

/// One management subcommand: its options, how it builds the API call, and how it prints the answer.
struct APICommand: Sendable {
    let name: String
    let usage: String
    var valueOptions: Set<String> = []
    var flagOptions: Set<String> = []
    /// Builds (method, path, query, body) from the parsed arguments.
    let request: @Sendable (Arguments) throws(GateError) -> (String, String, [String: String], [String: Any]?)
    /// Prints a successful answer for people.
    let render: @Sendable (Any) -> Void
    /// The exit code of a successful answer (a batch answer may carry per-item refusals).
    var exitCode: @Sendable (Any) -> Int32 = { _ in ExitCode.success }

    func run(_ raw: ArraySlice<String>, groupHelp: String) throws(GateError) -> Int32 {
        guard
            let args = try CommandPrelude.parse(
                raw, valueOptions: valueOptions, flagOptions: flagOptions.union(["--json"]), maxPositionals: nil,
                help: "Usage: imagegate \(usage)\n\n" + groupHelp)
        else { return ExitCode.success }
        let (method, path, query, body) = try request(args)
        let answer: APIAnswer
        if let remote = try RemoteAPI.from(args) {
            answer = try remote.call(method, path, query: query, body: body)
        } else {
            answer = try CommandPrelude.withDataDirectory(args) { data throws(GateError) in
                try data.localAPI.call(method, path, query: query, body: body)
            }
        }
        try answer.check()
        if args.json {
            print(String(decoding: answer.raw, as: UTF8.self))
        } else {
            render(answer.json)
        }
        return exitCode(answer.json)
    }
}

enum Render {
    static func object(_ json: Any) -> [String: Any] { json as? [String: Any] ?? [:] }
    static func items(_ json: Any) -> [[String: Any]] { object(json)["items"] as? [[String: Any]] ?? [] }

    static func text(_ v: Any?) -> String {
        switch v {
        case nil, is NSNull: return "-"
        case let s as String: return s.isEmpty ? "-" : s
        case let a as [Any]: return a.isEmpty ? "-" : a.map { text($0) }.joined(separator: ",")
        // An object (an audit event's details): `key=value` pairs in key order.
        case let d as [String: Any]:
            return d.isEmpty ? "-" : d.keys.sorted().map { "\($0)=\(text(d[$0]))" }.joined(separator: " ")
        case let n as NSNumber:
            return String(cString: n.objCType) == "c" ? (n.boolValue ? "yes" : "no") : n.stringValue
        default: return "\(v!)"
        }
    }

    @Sendable static func imageTable(_ json: Any) {
        let obj = object(json)
        let rows = items(json).map { o -> [String] in
            [
                text(o["id"]), text(o["name"]), text(o["status"]), text(o["kind"]), text(o["os_release"]),
                Output.humanSize((o["size"] as? NSNumber)?.uint64Value ?? 0), text(o["tags"]), text(o["created_at"]),
            ]
        }
        Output.table(["ID", "NAME", "STATUS", "KIND", "OS", "SIZE", "TAGS", "CREATED"], rows)
        if let total = obj["total"] as? Int, let offset = obj["offset"] as? Int {
            print("\(rows.count) shown of \(total) (offset \(offset))")
        }
    }

    static func keyValues(_ json: Any, keys: [String]? = nil) {
        let o = object(json)
        let names = keys ?? o.keys.sorted()
        let width = (names.map(\.count).max() ?? 0) + 2
        for k in names where o[k] != nil {
            print(k + ":" + String(repeating: " ", count: max(1, width - k.count)) + text(o[k]))
        }
    }

    static func table(_ columns: [(String, String)]) -> @Sendable (Any) -> Void {
        { json in
            Output.table(columns.map { $0.0 }, items(json).map { o in columns.map { text(o[$0.1]) } })
        }
    }
}

/// Reads a list-style query (filters, sorting, paging) from command-line options.
func listQuery(_ a: Arguments) -> [String: String] {
    var q: [String: String] = [:]
    for (opt, key) in [
        ("--status", "status"), ("--kind", "kind"), ("--system-type", "system_type"),
        ("--architecture", "architecture"), ("--tag", "tag"), ("--search", "q"), ("--tenant", "tenant"),
        ("--sort", "sort"), ("--order", "order"), ("--offset", "offset"), ("--limit", "limit"),
    ] {
        if let v = a.value(opt) { q[key] = v }
    }
    return q
}

let listOptions: Set<String> = [
    "--status", "--kind", "--system-type", "--architecture", "--tag", "--search", "--tenant", "--sort", "--order",
    "--offset", "--limit",
]
