//===----------------------------------------------------------------------===//
// ImageGate: how catalog objects look in the API and in `--json` CLI output (one encoder for both).
//===----------------------------------------------------------------------===//
import DownloadTokens
import Foundation
import GateCore
import ImageCatalog
import ImageManagement

enum APIJSON {
    /// `now` (Unix seconds) decides whether an import's progress is stalled (`ImportProgressJSON`).
    static func image(_ r: ImageRecord, now: Int64 = SystemClock().now()) -> [String: Any] {
        var o: [String: Any] = [
            "id": r.id.description, "tenant": r.tenant.description, "name": r.name, "remarks": r.remarks,
            "kind": r.kind.rawValue, "file_name": r.fileName, "format": r.format.rawValue, "size": r.size,
            "virtual_size": r.virtualSize, "sha256": r.sha256, "status": r.status.rawValue,
            "generation": r.generation, "encrypted": r.encrypted, "features": r.features,
            "system_type": r.systemType, "os_release": r.osRelease, "platform": r.platform,
            "os_version": r.osVersion, "architecture": r.architecture, "boot_mode": r.bootMode,
            "project_group": r.projectGroup, "tags": r.tags, "vm_count": r.vmCount,
            "created_at": TimeFormat.rfc3339(r.createdAt), "updated_at": TimeFormat.rfc3339(r.updatedAt),
        ]
        o["failure_reason"] = r.failureReason ?? NSNull()
        o["finalized_at"] = r.finalizedAt.map { TimeFormat.rfc3339($0) } ?? NSNull()
        o["deleted_at"] = r.deletedAt.map { TimeFormat.rfc3339($0) } ?? NSNull()
        if r.status == .uploading || r.status == .making {
            o["progress"] = ImportProgressJSON.json(r, now: now)
        }
        return o
    }

    static func page(_ p: ImagePage) -> [String: Any] {
        ["items": p.items.map { image($0) }, "total": p.total, "offset": p.offset, "limit": p.limit]
    }

    static func tenant(_ t: Tenant) -> [String: Any] {
        ["id": t.id.description, "name": t.name, "created_at": TimeFormat.rfc3339(t.createdAt)]
    }

    static func account(_ a: Account) -> [String: Any] {
        [
            "id": a.id, "tenant": a.tenant?.description ?? NSNull(), "kind": a.kind.rawValue,
            "permission": a.permission.rawValue, "name": a.name, "created_at": TimeFormat.rfc3339(a.createdAt),
            "disabled": a.disabled,
        ]
    }

    static func apiKey(_ k: APIKeyInfo) -> [String: Any] {
        [
            "key_id": k.keyID, "account_id": k.accountID, "created_at": TimeFormat.rfc3339(k.createdAt),
            "last_used_at": k.lastUsedAt.map { TimeFormat.rfc3339($0) } ?? NSNull(),
            "revoked_at": k.revokedAt.map { TimeFormat.rfc3339($0) } ?? NSNull(),
            "expires_at": k.expiresAt.map { TimeFormat.rfc3339($0) } ?? NSNull(),
        ]
    }

    static func principal(_ p: Principal) -> [String: Any] {
        [
            "account_id": p.accountID, "name": p.name, "kind": p.kind.rawValue,
            "tenant": p.tenant?.description ?? NSNull(), "permission": p.permission.rawValue,
        ]
    }

    static func vm(_ v: VMReference) -> [String: Any] {
        ["vm_id": v.vmID, "image_id": v.imageID.description, "created_at": TimeFormat.rfc3339(v.createdAt)]
    }

    static func audit(_ e: AuditEvent) -> [String: Any] {
        [
            "seq": e.seq, "time": TimeFormat.rfc3339(e.time), "actor": e.actor,
            "actor_tenant": e.actorTenant?.description ?? NSNull(), "action": e.action, "target": e.target,
            "target_tenant": e.targetTenant?.description ?? NSNull(), "source": e.source, "outcome": e.outcome,
            "detail": AuditDetailText.readable(e.detail), "hash": e.hash,
        ]
    }

    /// A minted link: its record (`linkRecord`) with one URL per granted protocol and the ready commands.
    static func link(_ l: MintedLink) -> [String: Any] {
        var o: [String: Any] = l.record.map { linkRecord($0, now: l.issuedAt) } ?? [:]
        o["image_id"] = l.imageID.description
        o["file_name"] = l.fileName
        o["image_name"] = l.imageName
        o["serial"] = l.serial.hex
        o["issued_at"] = TimeFormat.rfc3339(l.issuedAt)
        o["expires_at"] = TimeFormat.rfc3339(l.expiresAt)
        for (proto, url) in l.urls { o[proto] = url }
        if !l.commands.isEmpty { o["commands"] = Dictionary(uniqueKeysWithValues: l.commands) }
        if !l.sftpCommands.isEmpty { o["sftp_commands"] = l.sftpCommands }
        if let pin = l.caPin {
            o["ca_certificate"] = pin.url
            o["ca_sha256"] = pin.sha256
        }
        return o
    }

    /// A link of the inventory (Docs/links.md, "Link JSON"); `state` as of `now`. Links minted before the
    /// catalog kept protocol names show the names their token's bits allow.
    static func linkRecord(_ i: TokenIssue, now: Int64) -> [String: Any] {
        let o: [String: Any] = [
            "serial": i.serial.hex, "image_id": i.image.description, "tenant": i.tenant.description,
            "state": i.state(now: now).rawValue, "label": i.options.label,
            "protocols": i.options.protocols ?? WebhookEvents.protocolNames(i.protocols),
            "allowed_ips": i.options.allowedIPs, "max_downloads": i.options.maxDownloads ?? NSNull(),
            "byte_allowance": i.options.byteAllowance ?? NSNull(), "bytes_served": i.usage.bytesServed,
            "sessions": i.usage.sessions, "completed_downloads": i.completedDownloads,
            "last_client": i.usage.lastClient ?? NSNull(),
            "last_used_at": i.usage.lastUsedAt.map { TimeFormat.rfc3339($0) } ?? NSNull(),
            "minted_by": i.minter, "minted_at": TimeFormat.rfc3339(i.issuedAt),
            "expires_at": TimeFormat.rfc3339(i.expiresAt),
            "revoked_at": i.revokedAt.map { TimeFormat.rfc3339($0) } ?? NSNull(),
            "file_name": i.fileName ?? NSNull(),
        ]
        return o
    }
}
