//===----------------------------------------------------------------------===//
// ImageGate: `imagegate webhook add|list|remove|deliveries` (Docs/webhooks.md).
//===----------------------------------------------------------------------===//
import GateCore
import ImageManagement

enum WebhookCommands {
    static let help = """
        Usage: imagegate webhook add URL --events LIST
               imagegate webhook list
               imagegate webhook remove ID
               imagegate webhook deliveries ID [--limit N]
          Platform administrators register endpoints that receive signed JSON events (POST). 'add' prints the
          generated secret once (JSON key "secret"): each delivery carries
          X-ImageGate-Signature: sha256=<hex HMAC-SHA256 of the body, keyed with the secret>.
          --events LIST   comma-separated: \(WebhookEvents.types.joined(separator: ", "))
          --limit N       deliveries shown, newest first (default 100, at most 1000)
          Addresses must be https:// (http:// with webhooks.allow_plain_http = true); private and loopback
          receivers need webhooks.allow_private (CIDRs, as imports.allow_private).
        """

    static func run(_ args: ArraySlice<String>) throws(GateError) -> Int32 {
        try ImageGateCLI.group(
            args, help: help,
            verbs: [
                "add": AdminCommands.wrap(add, help),
                "list": AdminCommands.wrap(
                    APICommand(
                        name: "list", usage: "webhook list",
                        request: { a throws(GateError) in
                            try a.noMorePositionals(than: 0)
                            return ("GET", "/api/v1/webhooks", [:], nil)
                        },
                        render: Render.table([
                            ("ID", "id"), ("URL", "url"), ("EVENTS", "events"), ("ENABLED", "enabled"),
                            ("CREATED", "created_at"),
                        ])), help),
                "remove": AdminCommands.wrap(
                    APICommand(
                        name: "remove", usage: "webhook remove ID",
                        request: { a throws(GateError) in
                            try a.noMorePositionals(than: 1)
                            return (
                                "DELETE", "/api/v1/webhooks/\(LocalAPI.encode(try a.positional(0, "webhook id")))", [:],
                                nil
                            )
                        }, render: { print("webhook \(Render.text(Render.object($0)["id"])) removed") }), help),
                "deliveries": AdminCommands.wrap(
                    APICommand(
                        name: "deliveries", usage: "webhook deliveries ID",
                        valueOptions: ["--limit"],
                        request: { a throws(GateError) in
                            try a.noMorePositionals(than: 1)
                            let path =
                                "/api/v1/webhooks/\(LocalAPI.encode(try a.positional(0, "webhook id")))/deliveries"
                            return ("GET", path, a.value("--limit").map { ["limit": $0] } ?? [:], nil)
                        },
                        render: Render.table([
                            ("EVENT", "event_id"), ("TYPE", "type"), ("TIME", "time"), ("IMAGE", "image_id"),
                            ("STATE", "state"),
                            ("ATTEMPTS", "attempts"), ("STATUS", "last_status"), ("NEXT", "next_attempt_at"),
                            ("ERROR", "last_error"),
                        ])), help),
            ])
    }

    static let add = APICommand(
        name: "add", usage: "webhook add URL --events LIST", valueOptions: ["--events"],
        request: { a throws(GateError) in
            try a.noMorePositionals(than: 1)
            let events = try a.required("--events").split(separator: ",").map { String($0.trimmingWhitespace()) }
                .filter { !$0.isEmpty }
            return ("POST", "/api/v1/webhooks", [:], ["url": try a.positional(0, "URL"), "events": events])
        },
        render: { json in
            let o = Render.object(json)
            print("webhook \(Render.text(o["id"])) added for \(Render.text(o["events"])) to \(Render.text(o["url"]))")
            print("secret: \(Render.text(o["secret"]))")
            print("(shown once: keep it to check the X-ImageGate-Signature of each delivery)")
        })
}
