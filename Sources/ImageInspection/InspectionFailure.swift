//===----------------------------------------------------------------------===//
// ImageGate: why an image is refused: a stable code plus a message that names the format and the fix.
//===----------------------------------------------------------------------===//
import GateCore

/// A refusal. `code` is stable (logs, task records, API answers, tests); `message` is for the user: it names the
/// detected format and, for a foreign format, the conversion (Docs/protocols.md §4.3: "Error messages must name the
/// reason"). Codes and messages are listed in `Docs/image-inspection.md`.
public struct InspectionFailure: Error, Sendable, Equatable, CustomStringConvertible, Codable {
    public let code: String
    public let message: String

    public init(code: String, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }

    /// The domain error for the import pipeline: a refused upload is the user's request being invalid, except
    /// `stream_size_mismatch`, which is a bug in the caller.
    public var gateError: GateError {
        code == "stream_size_mismatch" ? .internal(message) : .invalid(message)
    }
}

extension InspectionFailure {
    @inline(never) static func qcow2(_ code: String, _ message: String) -> InspectionFailure {
        InspectionFailure(code: code, message: message)
    }

    /// A LUKS-encrypted qcow2 that was not declared encrypted: says how to declare it on every path.
    @inline(never) static func undeclaredEncryption(_ what: String) -> InspectionFailure {
        InspectionFailure(
            code: "qcow2_encrypted",
            message: "\(what) but was not declared encrypted; to import it, declare it encrypted: "
                + "'imagegate image import --encrypted', the \"Encrypted image (LUKS)\" box of the console's "
                + "import wizard, or \"encrypted\": true in POST /api/v1/imports")
    }

    /// A header field that no well-formed qcow2 has; names the field so `qemu-img check` output can be compared.
    @inline(never) static func qcow2Corrupt(_ detail: String) -> InspectionFailure {
        InspectionFailure(code: "qcow2_corrupt", message: "qcow2 header is invalid: \(detail)")
    }

    @inline(never) static func foreign(_ format: DetectedFormat) -> InspectionFailure {
        InspectionFailure(code: format.code, message: format.refusal)
    }

    @inline(never) static func multipleFormats(_ names: [String]) -> InspectionFailure {
        InspectionFailure(
            code: "multiple_formats",
            message: "multiple formats detected (\(names.joined(separator: " + "))): an image that is valid as "
                + "more than one format is refused, because a later reader could pick the other one")
    }

    @inline(never) static func kindMismatch(declared: DeclaredKind, detected: String) -> InspectionFailure {
        InspectionFailure(code: "kind_mismatch", message: "image declared \(declared.label) but \(detected)")
    }

    @inline(never) static func notISO() -> InspectionFailure {
        InspectionFailure(
            code: "not_iso",
            message: "image declared ISO but has no ISO 9660 signature (CD001 at 0x8001) and no UDF descriptor "
                + "(NSR02/NSR03); it is not a CD/DVD image")
    }

    @inline(never) static func empty() -> InspectionFailure {
        InspectionFailure(code: "empty", message: "image is empty (0 bytes)")
    }

    @inline(never) static func isoCorrupt(_ detail: String) -> InspectionFailure {
        InspectionFailure(code: "iso_corrupt", message: "ISO 9660 primary volume descriptor is invalid: \(detail)")
    }

    @inline(never) static func virtualSizeTooLarge(_ what: String, size: UInt64, limit: UInt64) -> InspectionFailure {
        InspectionFailure(
            code: what == "qcow2" ? "qcow2_virtual_size_too_large" : "virtual_size_too_large",
            message: "\(what) virtual size too large: \(size) bytes, the limit is \(limit) bytes")
    }
}
