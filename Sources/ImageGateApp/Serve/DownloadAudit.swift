//===----------------------------------------------------------------------===//
// ImageGate: one `download.session` audit record per download session, from every front.
//===----------------------------------------------------------------------===//
import GateCore
import ImageManagement

/// Docs/protocols.md §7.3: downloads are audited once per session (serial, image, tenant, client address, bytes),
/// not per range or READ, so the log stays readable; never the token itself.
enum DownloadAudit {
    static func writer(_ service: ImageService) -> @Sendable (String, String, TenantID?, String, [String: String])
        -> Void
    {
        { action, target, tenant, source, detail in
            service.audit(nil, action: action, target: target, targetTenant: tenant, source: source, outcome: "ok",
                          detail: detail)
        }
    }
}
