//===----------------------------------------------------------------------===//
// ImageGate: the webhooks.* settings (Docs/webhooks.md).
//===----------------------------------------------------------------------===//
import GateCore
import URLFetcher

/// Where webhook deliveries may go and how soon a failed one is tried again.
struct WebhookSettings: Sendable {
    /// `http://` receivers (else `https://` only).
    var allowPlainHTTP = false
    /// Private, loopback and other blocked ranges a receiver may be in (the syntax of imports.allow_private).
    var allowedPrivateRanges: [String] = []
    /// PEM trust anchors for https receivers instead of the system bundle.
    var caFile = ""
    /// Seconds before the first retry; each later one waits twice as long, up to an hour (WebhookRetry).
    var firstRetry: Int64 = 10

    /// The URL-import policy with the webhook rules: the same address block list and allow-list syntax.
    var policy: FetchPolicy {
        var p = FetchPolicy()
        p.schemes = allowPlainHTTP ? ["https", "http"] : ["https"]
        p.allowedPrivateRanges = allowedPrivateRanges.compactMap { AddressRange(cidr: $0) }
        p.caFile = caFile.isEmpty ? nil : caFile
        p.connectTimeoutSeconds = 10
        return p
    }
}

extension SettingKey {
    static let webhooks: [SettingKey] = [
        SettingKey(
            name: "webhooks.allow_plain_http", defaultText: "false",
            help: "Allow http:// webhook addresses (default: https:// only)."
        ) { s, v throws(GateError) in s.webhooks.allowPlainHTTP = try boolean(v, "webhooks.allow_plain_http") },
        SettingKey(
            name: "webhooks.allow_private", defaultText: "",
            help: "Private or loopback address ranges webhook receivers may be in, comma-separated CIDRs "
                + "(as imports.allow_private)."
        ) { s, v throws(GateError) in
            s.webhooks.allowedPrivateRanges = try addressRanges(v, "webhooks.allow_private")
        },
        SettingKey(
            name: "webhooks.ca_file", defaultText: "",
            help: "PEM trust anchors for https webhook receivers instead of the system bundle (a private CA)."
        ) { s, v throws(GateError) in s.webhooks.caFile = v },
        SettingKey(
            name: "webhooks.first_retry", defaultText: "10s",
            help: "Wait before retrying a failed webhook delivery (at most 30s); doubles per retry up to 1h, "
                + "for 24h."
        ) { s, v throws(GateError) in
            let d = try duration(v, "webhooks.first_retry")
            guard d <= 30 else { throw GateError.usage("webhooks.first_retry: at most 30s") }
            s.webhooks.firstRetry = d
        },
    ]
}
