//===----------------------------------------------------------------------===//
// ImageGate: the imports.* settings.
//===----------------------------------------------------------------------===//
import GateCore
import ImageManagement
import ImportPipeline

extension SettingKey {
    static func bytes(_ v: String, _ key: String) throws(GateError) -> UInt64 {
        let units: [(String, UInt64)] = [
            ("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10), ("", 1),
        ]
        for (suffix, unit) in units where v.hasSuffix(suffix) {
            let number = v.dropLast(suffix.count).trimmingWhitespace()
            guard let n = UInt64(number), n <= UInt64.max / unit else { break }
            return n * unit
        }
        throw GateError.usage("\(key): expected a byte count like 0, 500GiB or 2TiB, got \(JSONText.quote(v))")
    }

    static let imports: [SettingKey] = [
        SettingKey(name: "imports.max_concurrent", defaultText: "2", help: "URL imports running at once.") {
            s, v throws(GateError) in s.imports.maxConcurrent = try count(v, "imports.max_concurrent", min: 1)
        },
        SettingKey(name: "imports.upload_ttl", defaultText: "24h", help: "How long an upload stays resumable.") {
            s, v throws(GateError) in s.imports.uploadTTL = try duration(v, "imports.upload_ttl")
        },
        SettingKey(
            name: "imports.sweep_interval", defaultText: "60s",
            help: "How often the server fails uploads past imports.upload_ttl and takes over imports whose "
                + "process stopped."
        ) { s, v throws(GateError) in s.imports.sweepInterval = try duration(v, "imports.sweep_interval") },
        SettingKey(name: "imports.max_bytes", defaultText: "0", help: "Largest single import (0: no limit).") {
            s, v throws(GateError) in s.imports.quota.maxImportBytes = try bytes(v, "imports.max_bytes")
        },
        SettingKey(
            name: "imports.tenant_quota_bytes", defaultText: "0",
            help: "Bytes each tenant's images may occupy, recycle bin included (0: no limit)."
        ) { s, v throws(GateError) in s.imports.quota.tenantBytes = try bytes(v, "imports.tenant_quota_bytes") },
        SettingKey(
            name: "imports.tenant_quota_images", defaultText: "0",
            help: "Images each tenant may have, recycle bin included (0: no limit)."
        ) { s, v throws(GateError) in s.imports.quota.tenantImages = try count(v, "imports.tenant_quota_images") },
        SettingKey(
            name: "imports.allow_private", defaultText: "",
            help: "Private address ranges URL imports may reach, comma-separated CIDRs (e.g. 10.1.0.0/16)."
        ) { s, v throws(GateError) in
            s.imports.allowedPrivateRanges = try addressRanges(v, "imports.allow_private")
        },
        SettingKey(
            name: "imports.ca_file", defaultText: "",
            help: "PEM trust anchors for https sources instead of the system bundle (a private CA)."
        ) { s, v throws(GateError) in s.imports.caFile = v },
        SettingKey(
            name: "imports.os_matrix", defaultText: "",
            help: "JSON file of supported system types, platforms, architectures and versions (empty: built-in)."
        ) { s, v throws(GateError) in
            s.imports.matrix = v.isEmpty ? OSMatrix.builtIn : try OSMatrix.load(path: v)
        },
        SettingKey(
            name: "imports.verify_interval", defaultText: "off",
            help: "Re-hash every available image's bytes in the background this often, e.g. 7d (off: never)."
        ) { s, v throws(GateError) in
            s.imports.verifyInterval = v == "off" || v == "0" ? 0 : try duration(v, "imports.verify_interval")
        },
        SettingKey(
            name: "imports.verify_rate", defaultText: "64MiB",
            help: "Bytes per second the background scrub and 'image verify' read at most (0: no limit)."
        ) { s, v throws(GateError) in s.imports.verifyRate = try bytes(v, "imports.verify_rate") },
    ]
}
