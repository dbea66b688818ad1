//===----------------------------------------------------------------------===//
// ImageGate: streaming walk of the qcow2 header extensions (qcow2.txt "Header extensions").
//===----------------------------------------------------------------------===//

/// Walks the header extensions between `header_length` and the end of the first cluster as bytes stream past,
/// keeping at most one 8-byte extension header and 16 bytes of extension data: bounded memory even with 2 MiB
/// clusters. Mirrors qemu `qcow2_read_extensions()`: an extension that does not fit in the cluster is an error, type 0
/// ends the list, unknown types are skipped.
struct QCOW2ExtensionWalker: Sendable, Codable {
    /// Where the LUKS header of an encrypted qcow2 is.
    struct EncryptionHeader: Sendable, Codable {
        let offset: UInt64
        let length: UInt64
    }

    static let endOfExtensions: UInt32 = 0x0000_0000
    static let backingFormat: UInt32 = 0xE279_2ACA
    static let featureNameTable: UInt32 = 0x6803_F857
    static let bitmaps: UInt32 = 0x2385_2875
    static let fullDiskEncryption: UInt32 = 0x0537_BE77
    static let externalDataFile: UInt32 = 0x4441_5441

    private let header: QCOW2Header
    private let allowEncrypted: Bool
    private let end: UInt64
    /// Absolute stream offset of the next byte the walker needs.
    private(set) var position: UInt64
    /// True once the end marker or the end of the first cluster was reached.
    private(set) var done = false
    /// The LUKS header location from the full-disk-encryption extension (qcow2.txt: offset, length).
    private(set) var encryptionHeader: EncryptionHeader?
    private(set) var sawBitmaps = false

    private var extensionHeader: [UInt8] = []
    private var currentType: UInt32 = 0
    private var captured: [UInt8] = []
    private var remaining: UInt64 = 0

    init(header: QCOW2Header, allowEncrypted: Bool) {
        self.header = header
        self.allowEncrypted = allowEncrypted
        self.position = UInt64(header.headerLength)
        self.end = header.clusterSize
        extensionHeader.reserveCapacity(8)
    }

    /// Consumes the part of `bytes` (which start at stream offset `offset`) that lies in the extension area.
    mutating func consume(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) -> InspectionFailure? {
        let chunkEnd = offset + UInt64(bytes.count)
        while !done && position < chunkEnd {
            precondition(position >= offset, "qcow2 extension walker skipped bytes")
            if position == end { return finishWalk() }
            let index = Int(position - offset)
            if remaining == 0 {
                // Collect the 8-byte extension header: type (u32 BE), length (u32 BE).
                let take = min(8 - extensionHeader.count, bytes.count - index)
                extensionHeader.append(contentsOf: bytes[index..<(index + take)])
                position += UInt64(take)
                if extensionHeader.count == 8, let failure = startExtension() { return failure }
            } else {
                let take = Int(min(remaining, UInt64(bytes.count - index)))
                if currentType == Self.fullDiskEncryption && captured.count < 16 {
                    captured.append(contentsOf: bytes[index..<(index + min(take, 16 - captured.count))])
                }
                position += UInt64(take)
                remaining -= UInt64(take)
                if remaining == 0, let failure = endExtension() { return failure }
            }
        }
        if !done && position == end { return finishWalk() }
        return nil
    }

    /// Called at end of stream: a file that stops inside an extension is truncated.
    mutating func finish() -> InspectionFailure? {
        if done { return nil }
        if !extensionHeader.isEmpty || remaining > 0 {
            return .qcow2Corrupt("the file ends inside a header extension")
        }
        return finishWalk()
    }

    private mutating func startExtension() -> InspectionFailure? {
        let type = Bytes.be32(extensionHeader, 0)
        let length = UInt64(Bytes.be32(extensionHeader, 4))
        extensionHeader.removeAll(keepingCapacity: true)
        if type == Self.endOfExtensions { return finishWalk() }
        // qemu: "Header extension too large" when the data runs past the first cluster.
        guard length <= end - position else {
            let name = String(type, radix: 16)
            return .qcow2Corrupt("header extension 0x\(name) of \(length) bytes overruns the first cluster")
        }
        switch type {
        case Self.backingFormat:
            return .backingFile("the header carries a backing file format extension (0xe2792aca)")
        case Self.externalDataFile:
            return .externalDataFile("the header names an external data file (extension 0x44415441)")
        case Self.fullDiskEncryption:
            guard allowEncrypted else {
                return .undeclaredEncryption("qcow2 image carries a full-disk-encryption header (0x0537be77)")
            }
            guard header.cryptMethod == 2, length == 16, encryptionHeader == nil else {
                return .qcow2Corrupt("full-disk-encryption extension without LUKS crypt_method or of bad length")
            }
        case Self.bitmaps:
            sawBitmaps = true
        default:
            break  // feature name table and unknown extensions are skipped (qcow2.txt)
        }
        currentType = type
        remaining = (length + 7) & ~7
        return remaining == 0 ? endExtension() : nil
    }

    private mutating func endExtension() -> InspectionFailure? {
        if currentType == Self.fullDiskEncryption {
            let offset = Bytes.be64(captured, 0)
            let length = Bytes.be64(captured, 8)
            // qemu: "Encryption header offset … is not a multiple of cluster size".
            guard header.isClusterAligned(offset), offset != 0, length > 0 else {
                return .qcow2Corrupt("LUKS header offset \(offset) is not a cluster-aligned offset after the header")
            }
            encryptionHeader = EncryptionHeader(offset: offset, length: length)
        }
        currentType = 0
        captured.removeAll(keepingCapacity: true)
        return nil
    }

    private mutating func finishWalk() -> InspectionFailure? {
        done = true
        if header.cryptMethod == 2 && encryptionHeader == nil {
            return .qcow2Corrupt("LUKS encryption (crypt_method 2) without its full-disk-encryption header extension")
        }
        return nil
    }

    /// Bytes held between calls.
    var retainedBytes: Int { extensionHeader.capacity + captured.capacity }
}
