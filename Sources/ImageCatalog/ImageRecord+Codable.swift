//===----------------------------------------------------------------------===//
// ImageGate: JSON shape of an image record (ids as their `img-…`/`ten-…` text).
//===----------------------------------------------------------------------===//
import GateCore

/// Written by hand because GateCore's ids are not `Codable`; the ids travel as their public text form,
/// the same form users see in the CLI and the API.
extension ImageRecord: Codable {
    enum CodingKeys: String, CodingKey {
        case id, tenant, name, remarks, fileName, format, size, sha256, status, generation, failureReason
        case createdAt, updatedAt, finalizedAt
        case kind, encrypted, features, systemType, osRelease, platform, osVersion, architecture, bootMode
        case projectGroup, tags, virtualSize, statusBeforeDelete, deletedAt, vmCount
        case progressBytes, progressTotal, progressRate, progressAt
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let idText = try c.decode(String.self, forKey: .id)
        guard let id = ImageID(idText) else {
            throw DecodingError.dataCorruptedError(forKey: .id, in: c, debugDescription: "not an image id")
        }
        let tenantText = try c.decode(String.self, forKey: .tenant)
        guard let tenant = TenantID(tenantText) else {
            throw DecodingError.dataCorruptedError(forKey: .tenant, in: c, debugDescription: "not a tenant id")
        }
        self.init(
            id: id, tenant: tenant, name: try c.decode(String.self, forKey: .name),
            remarks: try c.decodeIfPresent(String.self, forKey: .remarks) ?? "",
            fileName: try c.decode(String.self, forKey: .fileName),
            format: try c.decode(ImageFormat.self, forKey: .format),
            size: try c.decode(UInt64.self, forKey: .size),
            sha256: try c.decodeIfPresent(String.self, forKey: .sha256) ?? "",
            status: try c.decode(ImageStatus.self, forKey: .status),
            generation: try c.decode(UInt32.self, forKey: .generation),
            failureReason: try c.decodeIfPresent(String.self, forKey: .failureReason),
            createdAt: try c.decode(Int64.self, forKey: .createdAt),
            updatedAt: try c.decode(Int64.self, forKey: .updatedAt),
            finalizedAt: try c.decodeIfPresent(Int64.self, forKey: .finalizedAt),
            kind: try c.decodeIfPresent(ImageKind.self, forKey: .kind) ?? .selfMade,
            encrypted: try c.decodeIfPresent(Bool.self, forKey: .encrypted) ?? false,
            features: try c.decodeIfPresent([String].self, forKey: .features) ?? [],
            systemType: try c.decodeIfPresent(String.self, forKey: .systemType) ?? "",
            osRelease: try c.decodeIfPresent(String.self, forKey: .osRelease) ?? "",
            platform: try c.decodeIfPresent(String.self, forKey: .platform) ?? "",
            osVersion: try c.decodeIfPresent(String.self, forKey: .osVersion) ?? "",
            architecture: try c.decodeIfPresent(String.self, forKey: .architecture) ?? "",
            bootMode: try c.decodeIfPresent(String.self, forKey: .bootMode) ?? "",
            projectGroup: try c.decodeIfPresent(String.self, forKey: .projectGroup) ?? "",
            tags: try c.decodeIfPresent([String].self, forKey: .tags) ?? [],
            virtualSize: try c.decodeIfPresent(UInt64.self, forKey: .virtualSize) ?? 0,
            statusBeforeDelete: try c.decodeIfPresent(ImageStatus.self, forKey: .statusBeforeDelete),
            deletedAt: try c.decodeIfPresent(Int64.self, forKey: .deletedAt),
            vmCount: try c.decodeIfPresent(Int.self, forKey: .vmCount) ?? 0,
            progressBytes: try c.decodeIfPresent(UInt64.self, forKey: .progressBytes) ?? 0,
            progressTotal: try c.decodeIfPresent(UInt64.self, forKey: .progressTotal),
            progressRate: try c.decodeIfPresent(Double.self, forKey: .progressRate),
            progressAt: try c.decodeIfPresent(Int64.self, forKey: .progressAt))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id.description, forKey: .id)
        try c.encode(tenant.description, forKey: .tenant)
        try c.encode(name, forKey: .name)
        try c.encode(remarks, forKey: .remarks)
        try c.encode(fileName, forKey: .fileName)
        try c.encode(format, forKey: .format)
        try c.encode(size, forKey: .size)
        try c.encode(sha256, forKey: .sha256)
        try c.encode(status, forKey: .status)
        try c.encode(generation, forKey: .generation)
        try c.encodeIfPresent(failureReason, forKey: .failureReason)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(updatedAt, forKey: .updatedAt)
        try c.encodeIfPresent(finalizedAt, forKey: .finalizedAt)
        try c.encode(kind, forKey: .kind)
        try c.encode(encrypted, forKey: .encrypted)
        try c.encode(features, forKey: .features)
        try c.encode(systemType, forKey: .systemType)
        try c.encode(osRelease, forKey: .osRelease)
        try c.encode(platform, forKey: .platform)
        try c.encode(osVersion, forKey: .osVersion)
        try c.encode(architecture, forKey: .architecture)
        try c.encode(bootMode, forKey: .bootMode)
        try c.encode(projectGroup, forKey: .projectGroup)
        try c.encode(tags, forKey: .tags)
        try c.encode(virtualSize, forKey: .virtualSize)
        try c.encodeIfPresent(statusBeforeDelete, forKey: .statusBeforeDelete)
        try c.encodeIfPresent(deletedAt, forKey: .deletedAt)
        try c.encode(vmCount, forKey: .vmCount)
        try c.encode(progressBytes, forKey: .progressBytes)
        try c.encodeIfPresent(progressTotal, forKey: .progressTotal)
        try c.encodeIfPresent(progressRate, forKey: .progressRate)
        try c.encodeIfPresent(progressAt, forKey: .progressAt)
    }
}
