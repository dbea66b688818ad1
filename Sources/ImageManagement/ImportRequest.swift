//===----------------------------------------------------------------------===//
// ImageGate: what a tenant asks for when importing an image, checked before any byte moves.
//===----------------------------------------------------------------------===//
import Foundation
import GateCore
import ImageCatalog

/// The import wizard's fields (user guide §4.3; issue "Imports", item 1).
public struct ImportRequest: Sendable, Equatable {
    public enum Source: Sendable, Equatable {
        /// http, https or ftp (with `user:password@` for ftp); fetched by the server.
        case url(String)
        /// A resumable upload of `size` bytes follows (tus).
        case upload(size: UInt64)
        /// The compute side streams a VM's disk (`making`).
        case vm(String)
    }

    public var name: String
    public var remarks = ""
    public var kind: ImageKind = .selfMade
    /// `qcow2` or `raw` for self-made images; ISO images are `iso`.
    public var format: ImageFormat = .qcow2
    /// Set when the format is left to the bytes (`image import --url` without `--format`): `format` is then a
    /// placeholder, and the import takes the format (and with `.any` the kind) its first 64 KiB sniff as.
    public var detectFormat: FormatDetection?
    public var systemType = ""
    public var architecture = ""
    public var bootMode = ""
    public var platform = ""
    public var osVersion = ""
    public var features: [String] = []
    public var tags: [String] = []
    public var expectedSHA256: String?
    public var encrypted = false
    public var source: Source
    /// Platform admins may import into any tenant; everyone else imports into their own.
    public var tenant: TenantID?
    /// The local CLI may import a file without saying what operating system it holds (all OS fields empty);
    /// the API and the console always require them.
    public var allowUnspecifiedOS = false

    public init(name: String, source: Source) {
        self.name = name
        self.source = source
    }

    public static let importFeatures: Set<String> = ["cloud-init", "qemu-ga"]
    public static let bootModes: Set<String> = ["BIOS", "UEFI"]

    /// Checks every field against the rules and the OS matrix; returns the normalised request.
    public func validated(matrix: OSMatrix) throws(GateError) -> ImportRequest {
        var r = self
        r.name = try ImageRecord.validateName(name)
        r.remarks = try TextRules.remarks(remarks)
        r.tags = try TextRules.tags(tags)
        switch kind {
        case .iso:
            r.format = .iso
            guard features.isEmpty else { throw GateError.invalid("agent support applies to self-made images only") }
        case .selfMade:
            guard format == .qcow2 || format == .raw else {
                throw GateError.invalid("a self-made image is qcow2 (or raw); ISO files are imported as kind iso")
            }
        }
        let unspecified = [systemType, platform, architecture, osVersion, bootMode].allSatisfy(\.isEmpty)
        if !(unspecified && allowUnspecifiedOS) {
            try matrix.check(systemType: systemType, platform: platform, architecture: architecture, version: osVersion)
            guard Self.bootModes.contains(bootMode) else { throw GateError.invalid("boot mode must be BIOS or UEFI") }
        }
        if let bad = features.first(where: { !Self.importFeatures.contains($0) }) {
            throw GateError.invalid("unknown agent \(JSONText.quote(bad)) (supported: cloud-init, qemu-ga)")
        }
        r.features = Array(Set(features)).sorted()
        if let sha = expectedSHA256 {
            let lower = sha.lowercased()
            guard lower.utf8.count == 64, lower.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) })
            else { throw GateError.invalid("sha256 must be 64 hexadecimal digits") }
            r.expectedSHA256 = lower
        }
        switch source {
        case .url(let u):
            guard !u.isEmpty, u.utf8.count <= 4096 else { throw GateError.invalid("url must be 1 to 4096 characters") }
        case .upload(let size):
            guard size > 0 else { throw GateError.invalid("upload size must be positive") }
        case .vm(let vm):
            _ = try TextRules.vmID(vm)
        }
        return r
    }

    /// The URL as it may be stored and shown: a password in its user information replaced by `***`
    /// (Docs/protocols.md §4.1: `ftp://user:***@host/…`). Query strings are kept (they are the source's address).
    public static func redactedURL(_ url: String) -> String {
        guard let schemeEnd = url.range(of: "://") else { return url }
        let rest = url[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        guard let at = authority.lastIndex(of: "@") else { return url }
        let userinfo = authority[..<at]
        let user = userinfo.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        let shown = userinfo.contains(":") ? "\(user):***" : String(user)
        return String(url[..<schemeEnd.upperBound]) + shown + String(authority[at...]) + String(rest[authorityEnd...])
    }

    /// "CentOS 7.4 x86_64", as the image list shows it ("" when unspecified).
    public var osRelease: String { platform.isEmpty ? "" : "\(platform) \(osVersion) \(architecture)" }
}
