//===----------------------------------------------------------------------===//
// ImageGate: `imagegate tenant|account|apikey|audit`: tenants, sub-accounts, API keys and the audit log.
//===----------------------------------------------------------------------===//
import GateCore
import ImageManagement

enum AdminCommands {
    static let tenantHelp = """
        Usage: imagegate tenant list | tenant create NAME
          A tenant owns images; creating one also creates its owner account (give it an API key with
          'imagegate apikey create --account ACCOUNT_ID').
        """
    static let accountHelp = """
        Usage: imagegate account list [--tenant ten-…]
               imagegate account create --name NAME --permission view|manage [--tenant ten-…]
               imagegate account disable ACCOUNT_ID | account enable ACCOUNT_ID
          Sub-accounts act inside their tenant with the permission it grants: view (list, show, download)
          or manage (also rename, tag, delete, restore, VM references, links).
        """
    static let apiKeyHelp = """
        Usage: imagegate apikey list [--account ACCOUNT_ID]
               imagegate apikey create [--account ACCOUNT_ID] [--expires-in DURATION]
               imagegate apikey revoke KEY_ID | apikey rotate KEY_ID
          The secret (igk_…) is printed once at creation or rotation; only its hash is stored.
        """
    static let auditHelp = """
        Usage: imagegate audit list [--tenant ten-…] [--action A] [--image ID] [--serial S] [--account ID]
                                    [--since T] [--until T] [--newest-first] [--after SEQ] [--before SEQ] [--limit N]
               imagegate audit verify
          Every change, every minted link and every refused download of a valid link: who, what, when, from
          where. --action is an exact name (download.refused, link.mint, …); --image and --serial also match
          the detail of an event; --account is the acting account; --since/--until take 2026-12-07T13:00:00Z,
          a date (its whole day) or Unix seconds. --json shows each event's details (times in RFC 3339,
          protocols by name). 'verify' checks the hash chain.
        """

    static func wrap(_ c: APICommand, _ help: String) -> (ArraySlice<String>) throws(GateError) -> Int32 {
        { (a: ArraySlice<String>) throws(GateError) -> Int32 in try c.run(a, groupHelp: help) }
    }

    static func tenant(_ args: ArraySlice<String>) throws(GateError) -> Int32 {
        try ImageGateCLI.group(
            args, help: tenantHelp,
            verbs: [
                "list": wrap(
                    APICommand(
                        name: "list", usage: "tenant list",
                        request: { _ throws(GateError) in
                            ("GET", "/api/v1/tenants", [:], nil)
                        }, render: Render.table([("ID", "id"), ("NAME", "name"), ("CREATED", "created_at")])),
                    tenantHelp),
                "create": wrap(
                    APICommand(
                        name: "create", usage: "tenant create NAME",
                        request: { a throws(GateError) in
                            try a.noMorePositionals(than: 1)
                            return ("POST", "/api/v1/tenants", [:], ["name": try a.positional(0, "tenant name")])
                        },
                        render: { json in
                            let o = Render.object(json)
                            print(
                                "tenant \(Render.text((o["tenant"] as? [String: Any])?["id"])) created; owner account "
                                    + Render.text((o["owner"] as? [String: Any])?["id"]))
                        }), tenantHelp),
            ])
    }

    static func account(_ args: ArraySlice<String>) throws(GateError) -> Int32 {
        let table = Render.table([
            ("ID", "id"), ("NAME", "name"), ("KIND", "kind"), ("PERMISSION", "permission"), ("TENANT", "tenant"),
            ("DISABLED", "disabled"),
        ])
        func toggle(_ disabled: Bool) -> APICommand {
            APICommand(
                name: disabled ? "disable" : "enable", usage: "account \(disabled ? "disable" : "enable") ID",
                request: { a throws(GateError) in
                    try a.noMorePositionals(than: 1)
                    return (
                        "PATCH", "/api/v1/accounts/\(LocalAPI.encode(try a.positional(0, "account id")))", [:],
                        ["disabled": disabled]
                    )
                },
                render: {
                    print("account \(Render.text(Render.object($0)["id"])) \(disabled ? "disabled" : "enabled")")
                })
        }
        return try ImageGateCLI.group(
            args, help: accountHelp,
            verbs: [
                "list": wrap(
                    APICommand(
                        name: "list", usage: "account list", valueOptions: ["--tenant"],
                        request: { a throws(GateError) in
                            ("GET", "/api/v1/accounts", a.value("--tenant").map { ["tenant": $0] } ?? [:], nil)
                        }, render: table), accountHelp),
                "create": wrap(
                    APICommand(
                        name: "create", usage: "account create --name N --permission view|manage",
                        valueOptions: ["--name", "--permission", "--tenant"],
                        request: { a throws(GateError) in
                            var body: [String: Any] = [
                                "name": try a.required("--name"), "permission": try a.required("--permission"),
                            ]
                            if let t = a.value("--tenant") { body["tenant"] = t }
                            return ("POST", "/api/v1/accounts", [:], body)
                        }, render: { Render.keyValues($0) }), accountHelp),
                "disable": wrap(toggle(true), accountHelp),
                "enable": wrap(toggle(false), accountHelp),
            ])
    }

    static func apiKey(_ args: ArraySlice<String>) throws(GateError) -> Int32 {
        let showSecret: @Sendable (Any) -> Void = { json in
            let o = Render.object(json)
            print("API key \(Render.text(o["key_id"])) for account \(Render.text(o["account_id"]))")
            print("secret (shown once, store it now): \(Render.text(o["secret"]))")
        }
        return try ImageGateCLI.group(
            args, help: apiKeyHelp,
            verbs: [
                "list": wrap(
                    APICommand(
                        name: "list", usage: "apikey list", valueOptions: ["--account"],
                        request: { a throws(GateError) in
                            ("GET", "/api/v1/api-keys", a.value("--account").map { ["account_id": $0] } ?? [:], nil)
                        },
                        render: Render.table([
                            ("KEY", "key_id"), ("ACCOUNT", "account_id"), ("CREATED", "created_at"),
                            ("LAST USED", "last_used_at"), ("REVOKED", "revoked_at"), ("EXPIRES", "expires_at"),
                        ])), apiKeyHelp),
                "create": wrap(
                    APICommand(
                        name: "create", usage: "apikey create", valueOptions: ["--account", "--expires-in"],
                        request: { a throws(GateError) in
                            var body: [String: Any] = [:]
                            if let acc = a.value("--account") { body["account_id"] = acc }
                            if let e = a.value("--expires-in") { body["expires_in"] = e }
                            return ("POST", "/api/v1/api-keys", [:], body)
                        }, render: showSecret), apiKeyHelp),
                "revoke": wrap(
                    APICommand(
                        name: "revoke", usage: "apikey revoke KEY_ID",
                        request: { a throws(GateError) in
                            try a.noMorePositionals(than: 1)
                            return (
                                "DELETE", "/api/v1/api-keys/\(LocalAPI.encode(try a.positional(0, "key id")))", [:], nil
                            )
                        }, render: { print("revoked \(Render.text(Render.object($0)["key_id"]))") }), apiKeyHelp),
                "rotate": wrap(
                    APICommand(
                        name: "rotate", usage: "apikey rotate KEY_ID",
                        request: { a throws(GateError) in
                            try a.noMorePositionals(than: 1)
                            return (
                                "POST", "/api/v1/api-keys/\(LocalAPI.encode(try a.positional(0, "key id")))/rotate",
                                [:], nil
                            )
                        }, render: showSecret), apiKeyHelp),
            ])
    }

    static func audit(_ args: ArraySlice<String>) throws(GateError) -> Int32 {
        try ImageGateCLI.group(
            args, help: auditHelp,
            verbs: [
                "list": wrap(
                    APICommand(
                        name: "list", usage: "audit list",
                        valueOptions: Set(auditFilters.map(\.option)), flagOptions: ["--newest-first"],
                        request: { a throws(GateError) in
                            var q: [String: String] = [:]
                            for (option, key) in auditFilters { if let v = a.value(option) { q[key] = v } }
                            if a.flags.contains("--newest-first") { q["order"] = "desc" }
                            return ("GET", "/api/v1/audit", q, nil)
                        },
                        render: Render.table([
                            ("SEQ", "seq"), ("TIME", "time"), ("ACTOR", "actor"), ("ACTION", "action"),
                            ("TARGET", "target"),
                            ("SOURCE", "source"), ("OUTCOME", "outcome"), ("DETAILS", "detail"),
                        ])), auditHelp),
                "verify": verify,
            ])
    }

    /// `audit list` options and the /api/v1/audit query parameter each sets.
    static let auditFilters: [(option: String, key: String)] = [
        ("--tenant", "tenant"), ("--action", "action"), ("--image", "image"), ("--serial", "serial"),
        ("--account", "account"), ("--since", "since"), ("--until", "until"), ("--after", "after"),
        ("--before", "before"), ("--limit", "limit"),
    ]

    static func verify(_ raw: ArraySlice<String>) throws(GateError) -> Int32 {
        guard let args = try CommandPrelude.parse(raw, flagOptions: ["--json"], maxPositionals: 0, help: auditHelp)
        else { return ExitCode.success }
        let broken = try CommandPrelude.withDataDirectory(args) { data throws(GateError) in
            try data.service.verifyAuditChain()
        }
        if let bad = broken {
            printError("audit log damaged: the hash chain breaks at record \(bad)")
            return ExitCode.failure
        }
        print("audit log intact")
        return ExitCode.success
    }
}
