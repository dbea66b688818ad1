//===----------------------------------------------------------------------===//
// ImageGate: which operating systems an import may declare: system type, platform, architecture, version.
//===----------------------------------------------------------------------===//
import Foundation
import GateCore

/// The supported matrix (issue "Imports", item 1). Kept as data: `Config/os-matrix.json` is the built-in
/// default written out, and `imports.os_matrix` points at an administrator's extended copy.
public struct OSMatrix: Sendable, Equatable, Codable {
    public struct Entry: Sendable, Equatable, Codable {
        public var systemType: String
        public var platform: String
        public var architecture: String
        public var versions: [String]

        enum CodingKeys: String, CodingKey {
            case systemType = "system_type", platform, architecture, versions
        }
    }

    public var entries: [Entry]

    public init(entries: [Entry]) { self.entries = entries }

    /// The matrix of the platform's user guide. "Ubuntu x86_64 14.04 and 20.10" is read as the range of
    /// releases from 14.04 to 20.10 (every .04 and .10 release in between; Docs/imports.md says why), while
    /// "Ubuntu aarch64 16.04 and 18.04" are those two LTS releases.
    public static let builtIn: OSMatrix = {
        func minor(_ major: Int, _ from: Int, _ to: Int) -> [String] { (from...to).map { "\(major).\($0)" } }
        let ubuntuRange = (14...20).flatMap { ["\($0).04", "\($0).10"] }
        return OSMatrix(entries: [
            Entry(
                systemType: "Linux", platform: "CentOS", architecture: "x86_64",
                versions: minor(6, 5, 10) + minor(7, 0, 9)),
            Entry(systemType: "Linux", platform: "CentOS", architecture: "aarch64", versions: minor(7, 6, 9)),
            Entry(systemType: "Linux", platform: "Ubuntu", architecture: "x86_64", versions: ubuntuRange),
            Entry(systemType: "Linux", platform: "Ubuntu", architecture: "aarch64", versions: ["16.04", "18.04"]),
            Entry(
                systemType: "Windows", platform: "Windows Server", architecture: "x86_64",
                versions: ["2008", "2008 R2", "2012", "2012 R2", "2016", "2019"]),
            Entry(
                systemType: "Windows", platform: "Windows", architecture: "x86_64",
                versions: ["7", "8", "8.1", "10"]),
        ])
    }()

    public static func load(path: String) throws(GateError) -> OSMatrix {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw GateError.usage("cannot read the OS matrix \(path)")
        }
        do {
            let m = try JSONDecoder().decode(OSMatrix.self, from: data)
            guard !m.entries.isEmpty else { throw GateError.usage("the OS matrix \(path) is empty") }
            return m
        } catch let e as GateError {
            throw e
        } catch {
            throw GateError.usage("the OS matrix \(path) is not valid: \(error)")
        }
    }

    public func json() -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: (try? enc.encode(self)) ?? Data(), as: UTF8.self)
    }

    /// Refuses a combination outside the matrix, saying what is allowed instead.
    public func check(systemType: String, platform: String, architecture: String, version: String)
        throws(GateError)
    {
        let types = Set(entries.map(\.systemType))
        guard types.contains(systemType) else {
            throw GateError.invalid("system type must be one of \(types.sorted().joined(separator: ", "))")
        }
        let platforms = Set(entries.filter { $0.systemType == systemType }.map(\.platform))
        guard platforms.contains(platform) else {
            throw GateError.invalid(
                "platform for \(systemType) must be one of \(platforms.sorted().joined(separator: ", "))")
        }
        let archs = Set(entries.filter { $0.systemType == systemType && $0.platform == platform }.map(\.architecture))
        guard
            let entry = entries.first(where: {
                $0.systemType == systemType && $0.platform == platform && $0.architecture == architecture
            })
        else {
            throw GateError.invalid(
                "\(platform) images are supported for \(archs.sorted().joined(separator: ", ")) only")
        }
        guard entry.versions.contains(version) else {
            throw GateError.invalid(
                "\(platform) \(architecture) versions supported: \(entry.versions.joined(separator: ", "))")
        }
    }
}
