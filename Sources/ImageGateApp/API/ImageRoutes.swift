//===----------------------------------------------------------------------===//
// ImageGate: /api/v1/images, /recycle-bin and /links.
//===----------------------------------------------------------------------===//
import GateCore
import HTTPServer
import ImageCatalog
import ImageManagement

struct ImageRoutes {
    let api: ManagementAPI
    var service: ImageService { api.service }

    /// Filters, sorting and paging from the query string (shared by list, recycle bin and export).
    static func query(_ q: QueryString) throws(GateError) -> ImageQuery {
        var out = ImageQuery()
        if let s = q["status"] {
            var statuses: [ImageStatus] = []
            for part in s.split(separator: ",") {
                guard let st = ImageStatus(rawValue: String(part)) else {
                    throw GateError.invalid("unknown status \(JSONText.quote(String(part)))")
                }
                statuses.append(st)
            }
            out.statuses = statuses
        }
        if let k = q["kind"] {
            guard let kind = ImageKind(rawValue: k) else { throw GateError.invalid("kind must be self_made or iso") }
            out.kind = kind
        }
        out.systemType = q["system_type"]
        out.architecture = q["architecture"]
        out.tag = q["tag"]
        out.search = q["q"]
        if let t = q["tenant"] {
            guard let tenant = TenantID(t) else { throw GateError.invalid("tenant must be a tenant id (ten-…)") }
            out.tenant = tenant
        }
        if let s = q["sort"] {
            guard let sort = ImageSort(rawValue: s) else {
                throw GateError.invalid(
                    "sort must be one of \(ImageSort.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            out.sort = sort
        }
        if let o = q["order"] {
            guard o == "asc" || o == "desc" else { throw GateError.invalid("order must be asc or desc") }
            out.descending = o == "desc"
        }
        out.offset = try q.int("offset", default: 0)
        out.limit = try q.int("limit", default: 50)
        return out
    }

    func route(_ c: APICall) throws(GateError) -> Response {
        let s = c.segments
        switch (c.method, s.count) {
        case ("GET", 1):
            return APIReply.json(200, APIJSON.page(try service.listImages(c.principal, Self.query(c.query))))
        case ("POST", 2) where s[1] == "batch-delete":
            return try batchDelete(c)
        case (_, 1):
            throw ManagementAPI.methodNotAllowed("GET")
        case (_, 2) where s[1] == "batch-delete":
            throw ManagementAPI.methodNotAllowed("POST")
        default: break
        }
        let id = try ManagementAPI.imageID(s[1])
        switch (c.method, s.count, s.count > 2 ? s[2] : "") {
        case ("GET", 2, _):
            return APIReply.json(200, APIJSON.image(try service.image(c.principal, id)))
        case ("PATCH", 2, _):
            // The body is required (Docs/openapi.yaml); `{}` is the way to change nothing.
            guard !c.request.body.isEmpty else {
                throw GateError.invalid(
                    "the request body is required: a JSON object (name, remarks, tags, project_group)")
            }
            let body = try JSONBody(c.request.body, allowed: ["name", "remarks", "tags", "project_group"])
            let patch = ImagePatch(
                name: try body.string("name"), remarks: try body.string("remarks"), tags: try body.strings("tags"),
                projectGroup: try body.string("project_group"))
            return APIReply.json(200, APIJSON.image(try service.updateImage(c.principal, id, patch, source: c.source)))
        case ("DELETE", 2, _):
            return APIReply.json(200, APIJSON.image(try service.deleteImage(c.principal, id, source: c.source)))
        case ("POST", 3, "cancel"):
            return try ImportRoutes(api: api).cancel(c, id)
        case ("POST", 3, "restore"):
            return APIReply.json(200, APIJSON.image(try service.restoreImage(c.principal, id, source: c.source)))
        case ("POST", 3, "destroy"):
            try service.destroyImage(c.principal, id, source: c.source)
            return APIReply.json(200, ["id": id.description, "destroyed": true])
        case ("GET", 3, "vms"):
            return APIReply.json(200, ["items": try service.vmReferences(c.principal, id).map(APIJSON.vm)])
        case ("POST", 3, "vms"):
            let body = try JSONBody(c.request.body, allowed: ["vm_id"])
            let ref = try service.attachVM(c.principal, id, vmID: try body.requiredString("vm_id"), source: c.source)
            return APIReply.json(201, APIJSON.vm(ref))
        case ("DELETE", 4, "vms"):
            try service.detachVM(c.principal, id, vmID: s[3], source: c.source)
            return APIReply.json(200, ["image_id": id.description, "vm_id": s[3], "detached": true])
        case ("POST", 3, "links"):
            let body = try JSONBody(c.request.body, allowed: LinkRoutes.optionFields)
            let link = try api.minter.mint(
                c.principal, id, options: try MintOptions.from(body), source: c.source, service: service)
            return APIReply.json(201, APIJSON.link(link))
        case ("DELETE", 3, "links"):
            let serials = try service.revokeImageLinks(c.principal, id, source: c.source)
            return APIReply.json(200, ["image_id": id.description, "revoked": serials.map(\.hex)])
        case (_, 2, _): throw ManagementAPI.methodNotAllowed("GET, PATCH, DELETE")
        case (_, 3, "restore"), (_, 3, "destroy"), (_, 3, "cancel"):
            throw ManagementAPI.methodNotAllowed("POST")
        case (_, 3, "links"): throw ManagementAPI.methodNotAllowed("POST, DELETE")
        // PUT .../content streams (RootHandler.bodyHandling answers it before this table is reached).
        case (_, 3, "content"): throw ManagementAPI.methodNotAllowed("PUT")
        case (_, 3, "vms"): throw ManagementAPI.methodNotAllowed("GET, POST")
        case (_, 4, "vms"): throw ManagementAPI.methodNotAllowed("DELETE")
        default:
            throw GateError.notFound("no such API route")
        }
    }

    private func batchDelete(_ c: APICall) throws(GateError) -> Response {
        let body = try JSONBody(c.request.body, allowed: ["ids"])
        guard let texts = try body.strings("ids"), !texts.isEmpty else {
            throw GateError.invalid("ids must be a non-empty array of image ids")
        }
        guard texts.count <= 500 else { throw GateError.invalid("at most 500 ids per batch") }
        var results: [[String: Any]] = []
        var valid: [ImageID] = []
        var invalid: [Int: String] = [:]
        for (i, t) in texts.enumerated() {
            if let id = ImageID(t) { valid.append(id) } else { invalid[i] = t }
        }
        var answers = service.deleteImages(c.principal, valid, source: c.source)[...]
        for (i, t) in texts.enumerated() {
            if invalid[i] != nil {
                results.append(["id": t, "ok": false, "error": ["code": "not_found", "message": "no image \(t)"]])
                continue
            }
            guard let (id, result) = answers.popFirst() else { break }
            switch result {
            case .success(let r): results.append(["id": id.description, "ok": true, "image": APIJSON.image(r)])
            case .failure(let e):
                results.append([
                    "id": id.description, "ok": false, "error": ["code": e.code.rawValue, "message": e.message],
                ])
            }
        }
        return APIReply.json(200, ["results": results])
    }

    func recycleBin(_ c: APICall) throws(GateError) -> Response {
        guard c.segments.count == 1 else { throw GateError.notFound("no such API route") }
        guard c.method == "GET" else { throw ManagementAPI.methodNotAllowed("GET") }
        return APIReply.json(200, APIJSON.page(try service.recycleBin(c.principal, Self.query(c.query))))
    }
}
