//===----------------------------------------------------------------------===//
// ImageGate: ISO 9660 / UDF recognition and the primary volume descriptor (ECMA-119 §8.4, ECMA-167 §2/9).
//===----------------------------------------------------------------------===//

/// Volume descriptors start at sector 16 (byte 0x8000) after a 32 KiB system area that may hold anything (MBR boot
/// code in a hybrid ISO). Each descriptor is 2048 bytes: type (1 byte), identifier (5 bytes), version (1 byte).
/// The inspector looks at sectors 16…31, which all lie inside its 64 KiB head window.
enum ISO9660 {
    static let descriptorArea = 0x8000
    static let sectorSize = 2048
    /// Bytes of the stream needed to see the whole descriptor area that is probed.
    static let windowEnd = 0x10000

    /// What the descriptor area says.
    struct Volume: Sendable, Equatable, Codable {
        /// Volume space size × logical block size from the primary volume descriptor; nil for UDF-only discs.
        var virtualSize: UInt64?
        var notes: [String]
    }

    /// Docs/protocols.md §4.3: "CD001" at 0x8001, or a UDF recognition sequence (NSR02/NSR03) in the descriptor area.
    static func detect(_ head: [UInt8]) -> Bool {
        MagicProbe.has(head, descriptorArea + 1, Array("CD001".utf8)) || hasUDF(head)
    }

    /// Reads the first primary volume descriptor (type 1). The both-endian fields must agree: readers that take
    /// different halves would otherwise see different volumes.
    static func volume(_ head: [UInt8]) -> Result<Volume, InspectionFailure> {
        var notes: [String] = []
        var size: UInt64?
        for sector in descriptorOffsets(head) {
            guard MagicProbe.has(head, sector + 1, Array("CD001".utf8)) else { continue }
            let type = head[sector]
            if type == 0, MagicProbe.has(head, sector + 7, Array("EL TORITO SPECIFICATION".utf8)) {
                notes.append("El Torito boot record")
            }
            if type == 255 { break }  // volume descriptor set terminator
            guard type == 1, size == nil else { continue }
            guard head.count >= sector + sectorSize else { return .failure(.isoCorrupt("the file ends inside it")) }
            let blocks = Bytes.le32(head, sector + 80)
            let blockSize = Bytes.le16(head, sector + 128)
            guard blocks == Bytes.be32(head, sector + 84), blockSize == Bytes.be16(head, sector + 130) else {
                return .failure(.isoCorrupt("little- and big-endian copies of the volume size or block size differ"))
            }
            // ECMA-119 §6.2.2: the logical block size is 2^(n+9) and not above the 2048-byte sector.
            guard [512, 1024, 2048].contains(blockSize), blocks > 0 else {
                return .failure(.isoCorrupt("volume space size \(blocks) or logical block size \(blockSize)"))
            }
            size = UInt64(blocks) * UInt64(blockSize)
        }
        if MagicProbe.has(head, descriptorArea + 1, Array("CD001".utf8)) && size == nil {
            return .failure(.isoCorrupt("no primary volume descriptor in sectors 16-31"))
        }
        if hasUDF(head) { notes.append("UDF") }
        if size != nil { notes.insert("ISO 9660", at: 0) }
        return .success(Volume(virtualSize: size, notes: notes))
    }

    private static func descriptorOffsets(_ head: [UInt8]) -> [Int] {
        stride(from: descriptorArea, to: min(head.count, windowEnd), by: sectorSize).filter { head.count >= $0 + 7 }
    }

    /// ECMA-167 §2.1.7/9.1: a "NSR02" (UDF ≤ 1.50) or "NSR03" (UDF ≥ 2.00) descriptor in the recognition sequence.
    private static func hasUDF(_ head: [UInt8]) -> Bool {
        descriptorOffsets(head).contains { sector in
            head[sector] == 0
                && (MagicProbe.has(head, sector + 1, Array("NSR02".utf8))
                    || MagicProbe.has(head, sector + 1, Array("NSR03".utf8)))
        }
    }
}
