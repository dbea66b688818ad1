//===----------------------------------------------------------------------===//
// ImageGate: the download audit records from every front: `download.session` and `download.refused`.
//===----------------------------------------------------------------------===//
import GateCore
import ImageManagement

/// Docs/protocols.md §7.3: downloads are audited once per session (serial, image, tenant, client address, bytes),
/// not per range or READ, so the log stays readable; never the token itself. A session that served at least the
/// image's size is also the webhook event `download.completed` (Docs/webhooks.md). Refusals of authentic links
/// are audited too (`RefusedDownloadAudit`, rate-limited), with the outcome "denied".
enum DownloadAudit {
    static func writer(_ service: ImageService, outcome: String = "ok")
        -> @Sendable (String, String, TenantID?, String, [String: String]) -> Void
    {
        { action, target, tenant, source, detail in
            service.audit(
                nil, action: action, target: target, targetTenant: tenant, source: source, outcome: outcome,
                detail: detail)
            if action == "download.session" { completed(service, target, source, detail) }
        }
    }

    /// A session is a completed download when it served at least the image's size in bytes (a whole file, or
    /// the rest of one and more); a segmented download spread over several sessions is not one here.
    private static func completed(
        _ service: ImageService, _ target: String, _ client: String, _ detail: [String: String]
    ) {
        guard service.webhookEvents.isSubscribed("download.completed"), let id = ImageID(target),
            let bytes = detail["bytes"].flatMap({ UInt64($0) }), bytes > 0,
            let image = (try? service.store.image(id)) ?? nil, bytes >= image.size
        else { return }
        service.webhookEvents.emit(
            type: "download.completed", image: id,
            data: [
                ("image_id", .text(id.description)), ("tenant", .text(image.tenant.description)),
                ("serial", .text(detail["serial"] ?? "")), ("protocol", .text(detail["protocol"] ?? "")),
                ("bytes", .number(Int64(bytes))), ("client", .text(client)),
            ])
    }
}
