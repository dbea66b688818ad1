//===----------------------------------------------------------------------===//
// ImageGate: /api/v1/imports (create), /images/{id}/cancel, /images/{id}/content (making), /os-matrix.
//===----------------------------------------------------------------------===//
import Foundation
import GateCore
import HTTPServer
import ImageCatalog
import ImageManagement
import ImportPipeline

struct ImportRoutes {
    let api: ManagementAPI

    static let fields: Set<String> = [
        "name", "description", "remarks", "kind", "format", "system_type", "architecture", "boot_mode", "platform",
        "os_version", "features", "tags", "sha256", "encrypted", "tenant", "source",
    ]

    /// The import wizard's JSON → an `ImportRequest` (strict: unknown fields and wrong types are refused).
    static func request(_ body: [UInt8]) throws(GateError) -> ImportRequest {
        let b = try JSONBody(body, allowed: fields)
        guard let sourceAny = b.object("source") else {
            throw GateError.invalid("source is required: {\"url\": …}, {\"upload\": {\"size\": N}} or {\"vm\": …}")
        }
        let source: ImportRequest.Source
        if let url = sourceAny["url"] as? String, sourceAny.count == 1 {
            source = .url(url)
        } else if let up = sourceAny["upload"] as? [String: Any], sourceAny.count == 1, up.count == 1,
            let n = up["size"] as? NSNumber, String(cString: n.objCType) != "c", n.doubleValue >= 1,
            n.doubleValue == n.doubleValue.rounded(), n.doubleValue < 1.8e19
        {
            source = .upload(size: n.uint64Value)
        } else if let vm = sourceAny["vm"] as? String, sourceAny.count == 1 {
            source = .vm(vm)
        } else {
            throw GateError.invalid("source must be {\"url\": \"…\"}, {\"upload\": {\"size\": N}} or {\"vm\": \"…\"}")
        }
        var r = ImportRequest(name: try b.requiredString("name"), source: source)
        let description = try b.string("description")
        let remarks = try b.string("remarks")
        r.remarks = description ?? remarks ?? ""
        if let k = try b.string("kind") {
            guard let kind = ImageKind(rawValue: k) else { throw GateError.invalid("kind must be self_made or iso") }
            r.kind = kind
        }
        if let f = try b.string("format") {
            guard let format = ImageFormat(rawValue: f) else {
                throw GateError.invalid("format must be qcow2, raw or iso")
            }
            r.format = format
        }
        r.systemType = try b.string("system_type") ?? ""
        r.architecture = try b.string("architecture") ?? ""
        r.bootMode = try b.string("boot_mode") ?? ""
        r.platform = try b.string("platform") ?? ""
        r.osVersion = try b.string("os_version") ?? ""
        r.features = try b.strings("features") ?? []
        r.tags = try b.strings("tags") ?? []
        r.expectedSHA256 = try b.string("sha256")
        r.encrypted = try b.bool("encrypted") ?? false
        if let t = try b.string("tenant") {
            guard let tenant = TenantID(t) else { throw GateError.invalid("tenant must be a tenant id (ten-…)") }
            r.tenant = tenant
        }
        return r
    }

    func create(_ c: APICall) throws(GateError) -> Response {
        guard c.segments.count == 1 else { throw GateError.notFound("no such API route") }
        guard c.method == "POST" else { throw ManagementAPI.methodNotAllowed("POST") }
        guard let imports = api.imports else { throw GateError(.unsupported, "imports are not available here") }
        let (record, uploadPath) = try imports.create(c.principal, try Self.request(c.request.body), source: c.source)
        var o = APIJSON.image(record)
        if let uploadPath {
            o["upload_url"] = uploadPath
            o["upload_protocol"] = "tus 1.0.0"
        }
        return APIReply.json(201, o)
    }

    func cancel(_ c: APICall, _ id: ImageID) throws(GateError) -> Response {
        guard let imports = api.imports else { throw GateError(.unsupported, "imports are not available here") }
        return APIReply.json(200, APIJSON.image(try imports.cancel(c.principal, id, source: c.source)))
    }

    func matrix() -> Response {
        let data = Data(api.imports?.settings.matrix.json().utf8 ?? OSMatrix.builtIn.json().utf8)
        let obj = (try? JSONSerialization.jsonObject(with: data)) ?? [:]
        return APIReply.json(200, obj)
    }
}

extension JSONBody {
    func object(_ key: String) -> [String: Any]? { raw[key] as? [String: Any] }
}
