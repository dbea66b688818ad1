//===----------------------------------------------------------------------===//
// ImageGate: the download audit records from every front: `download.session` and `download.refused`.
//===----------------------------------------------------------------------===//
import GateCore
import ImageManagement

/// Docs/protocols.md §7.3: downloads are audited once per session (serial, image, tenant, client address, bytes),
/// not per range or READ, so the log stays readable; never the token itself. Refusals of authentic links are
/// audited too (`RefusedDownloadAudit`, rate-limited), with the outcome "denied".
enum DownloadAudit {
    static func writer(_ service: ImageService, outcome: String = "ok")
        -> @Sendable (String, String, TenantID?, String, [String: String]) -> Void
    {
        { action, target, tenant, source, detail in
            service.audit(nil, action: action, target: target, targetTenant: tenant, source: source, outcome: outcome,
                          detail: detail)
        }
    }
}
