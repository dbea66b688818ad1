//===----------------------------------------------------------------------===//
// ImageGate: qcow2 header validation (qemu docs/interop/qcow2.txt, block/qcow2.h; Docs/protocols.md §4.3).
//===----------------------------------------------------------------------===//

/// The fixed qcow2 header after validation. Field offsets follow qcow2.txt "Header"; limits are qemu's
/// (`MIN_CLUSTER_BITS` 9, `MAX_CLUSTER_BITS` 21, `QCOW_MAX_L1_SIZE` 32 MiB, `QCOW_MAX_REFTABLE_SIZE` 8 MiB,
/// `QCOW_MAX_SNAPSHOTS` 65536).
struct QCOW2Header: Sendable, Equatable, Codable {
    static let maxL1Bytes: UInt64 = 32 << 20
    static let maxRefcountTableBytes: UInt64 = 8 << 20
    static let maxSnapshots: UInt32 = 65536

    var version: UInt32
    var clusterBits: UInt32
    var size: UInt64
    var cryptMethod: UInt32
    var l1Size: UInt32
    var l1TableOffset: UInt64
    var refcountTableOffset: UInt64
    var refcountTableClusters: UInt32
    var incompatibleFeatures: UInt64 = 0
    var compatibleFeatures: UInt64 = 0
    var headerLength: UInt32 = 72
    var compressionType: UInt8 = 0

    var clusterSize: UInt64 { 1 << UInt64(clusterBits) }
    var extendedL2: Bool { incompatibleFeatures & (1 << 4) != 0 }
    var encrypted: Bool { cryptMethod != 0 }

    /// Bytes of `head` that must be present before the header can be judged: 72 for version 2, 112 for version 3
    /// (104 fixed bytes plus the compression-type byte and padding when `header_length` is 112).
    static let bytesNeeded = 112

    /// Parses and validates the header in `head` (starting at offset 0 with "QFI\xFB"). `head` may be shorter than
    /// `bytesNeeded` only at the end of the stream, in which case a truncated header is refused.
    static func validate(_ head: [UInt8], limits: InspectionLimits) -> Result<QCOW2Header, InspectionFailure> {
        guard head.count >= 8 else { return .failure(.qcow2Corrupt("the file ends inside the header")) }
        let version = Bytes.be32(head, 4)
        switch version {
        case 1: return .failure(.foreign(.qcowV1))
        case 2, 3: break
        default:
            return .failure(.qcow2("qcow2_bad_version", "unsupported qcow2 version \(version) (only 2 and 3 exist)"))
        }
        guard head.count >= (version == 2 ? 72 : 104) else {
            return .failure(.qcow2Corrupt("the file ends inside the version \(version) header"))
        }
        var h = QCOW2Header(
            version: version, clusterBits: Bytes.be32(head, 20), size: Bytes.be64(head, 24),
            cryptMethod: Bytes.be32(head, 32), l1Size: Bytes.be32(head, 36), l1TableOffset: Bytes.be64(head, 40),
            refcountTableOffset: Bytes.be64(head, 48), refcountTableClusters: Bytes.be32(head, 56))
        guard (9...21).contains(h.clusterBits) else {
            return .failure(.qcow2("qcow2_bad_cluster_bits", "qcow2 cluster_bits \(h.clusterBits) is outside [9, 21]"))
        }
        // qcow2.txt: "If the image doesn't have a backing file, this is set to 0" (Glance: "Image has a backing file").
        if Bytes.be64(head, 8) != 0 || Bytes.be32(head, 16) != 0 {
            return .failure(.backingFile("the header names a backing file (backing_file_offset is not 0)"))
        }
        if version == 3 {
            if let failure = h.validateVersion3(head) { return .failure(failure) }
        }
        if let failure = h.validateSizes(limits: limits) { return .failure(failure) }
        if let failure = h.validateTables(snapshots: Bytes.be32(head, 60), snapshotsOffset: Bytes.be64(head, 64)) {
            return .failure(failure)
        }
        return .success(h)
    }

    /// Feature bits, refcount order, header length and compression type (qcow2.txt "Additional fields (version 3
    /// and higher)").
    private mutating func validateVersion3(_ head: [UInt8]) -> InspectionFailure? {
        incompatibleFeatures = Bytes.be64(head, 72)
        compatibleFeatures = Bytes.be64(head, 80)
        let autoclear = Bytes.be64(head, 88)
        let refcountOrder = Bytes.be32(head, 96)
        headerLength = Bytes.be32(head, 100)
        let incompatible = incompatibleFeatures
        // CVE-2024-32498 (OSSA-2024-001): an external data file lets qemu read a host file named by the image.
        if incompatible & (1 << 2) != 0 || autoclear & (1 << 1) != 0 {
            return .externalDataFile("the header sets the external data file feature")
        }
        // qcow2.txt: "An implementation must fail to open an image if an unknown bit is set."
        let unknown = incompatible & ~UInt64(0x1F)
        if unknown != 0 {
            let bits = (5..<64).filter { unknown & (1 << UInt64($0)) != 0 }.map(String.init).joined(separator: ", ")
            return .qcow2(
                "qcow2_unknown_incompatible_feature",
                "unknown qcow2 feature: incompatible feature bit(s) \(bits) set; such an image cannot be validated")
        }
        if incompatible & (1 << 1) != 0 {
            return .qcow2(
                "qcow2_corrupt",
                "qcow2 image is marked corrupt (incompatible feature bit 1); repair it first with "
                    + "qemu-img check -r all disk.qcow2, or convert it: qemu-img convert -f qcow2 -O qcow2 …")
        }
        // Policy: a dirty image has refcounts that may be wrong until repaired; the gateway never repairs.
        if incompatible & 1 != 0 {
            return .qcow2(
                "qcow2_dirty",
                "qcow2 image was not closed cleanly (dirty bit set); run "
                    + "qemu-img check -r all disk.qcow2 before uploading it")
        }
        if extendedL2 && clusterBits < 14 {
            return .qcow2(
                "qcow2_bad_cluster_bits",
                "qcow2 extended L2 entries need cluster_bits >= 14, the header has \(clusterBits)")
        }
        guard refcountOrder <= 6 else { return .qcow2Corrupt("refcount_order \(refcountOrder) is above 6") }
        guard headerLength >= 104, headerLength % 8 == 0, UInt64(headerLength) <= clusterSize else {
            return .qcow2Corrupt("header_length \(headerLength) is not a multiple of 8 in [104, cluster size]")
        }
        if headerLength > 104 {
            guard head.count > 104 else { return .qcow2Corrupt("the file ends inside the header") }
            compressionType = head[104]
        }
        // qemu validate_compression_type(): 0 zlib (bit 3 clear) or 1 zstd (bit 3 set), nothing else.
        let compressionBit = incompatible & (1 << 3) != 0
        guard compressionType <= 1, compressionBit == (compressionType == 1) else {
            return .qcow2Corrupt("compression_type \(compressionType) does not match incompatible feature bit 3")
        }
        return nil
    }

    /// Virtual size and encryption (Docs/protocols.md §4.2 virtual-size cap; "encryption only when declared").
    private func validateSizes(limits: InspectionLimits) -> InspectionFailure? {
        guard size > 0 else { return .qcow2Corrupt("virtual size is 0") }
        guard size <= limits.maxVirtualSize else {
            return .virtualSizeTooLarge("qcow2", size: size, limit: limits.maxVirtualSize)
        }
        switch cryptMethod {
        case 0: return nil
        case 1:
            // Legacy AES-CBC: QEMU system emulators refuse to open it, so it could never boot on the platform.
            return .qcow2(
                "qcow2_encrypted",
                "qcow2 with legacy AES encryption (crypt_method 1) is not accepted; re-encrypt "
                    + "it with LUKS (qemu-img convert … -o encrypt.format=luks) or decrypt it")
        case 2 where limits.allowEncrypted: return nil
        case 2:
            return .undeclaredEncryption("qcow2 image is encrypted (crypt_method 2, LUKS)")
        default: return .qcow2Corrupt("unknown crypt_method \(cryptMethod)")
        }
    }

    /// L1, refcount and snapshot tables: alignment, qemu's size limits, and an L1 large enough for `size`.
    private func validateTables(snapshots: UInt32, snapshotsOffset: UInt64) -> InspectionFailure? {
        let l1Bytes = UInt64(l1Size) * 8
        guard l1Bytes <= Self.maxL1Bytes else {
            return .qcow2("qcow2_l1_too_large", "qcow2 L1 table of \(l1Bytes) bytes exceeds the 32 MiB limit")
        }
        // Each L1 entry maps one L2 table: cluster_size / entry size (8, or 16 with extended L2) clusters.
        let l2Entries = clusterSize / (extendedL2 ? 16 : 8)
        let bytesPerL1Entry = l2Entries * clusterSize
        let neededL1 = size / bytesPerL1Entry + (size % bytesPerL1Entry == 0 ? 0 : 1)
        guard UInt64(l1Size) >= neededL1 else {
            return .qcow2Corrupt("L1 table has \(l1Size) entries, the virtual size needs \(neededL1)")
        }
        guard isClusterAligned(l1TableOffset), l1TableOffset != 0 || l1Size == 0 else {
            return .qcow2Corrupt("l1_table_offset \(l1TableOffset) is not a cluster-aligned offset after the header")
        }
        let refcountBytes = UInt64(refcountTableClusters) * clusterSize
        guard refcountBytes <= Self.maxRefcountTableBytes else {
            return .qcow2(
                "qcow2_refcount_table_too_large",
                "qcow2 refcount table of \(refcountBytes) bytes exceeds the 8 MiB limit")
        }
        guard refcountTableClusters > 0, refcountTableOffset != 0, isClusterAligned(refcountTableOffset) else {
            return .qcow2Corrupt("refcount table (offset \(refcountTableOffset)) is empty or not cluster-aligned")
        }
        guard snapshots <= Self.maxSnapshots, isClusterAligned(snapshotsOffset) else {
            return .qcow2Corrupt("snapshot table (\(snapshots) entries at \(snapshotsOffset)) is invalid")
        }
        // Policy (Docs/protocols.md §4.3 "require 0 for imports"): snapshot tables hide data the guest never sees.
        guard snapshots == 0 else {
            return .qcow2(
                "qcow2_snapshots",
                "qcow2 image has \(snapshots) internal snapshot(s); delete them "
                    + "(qemu-img snapshot -d NAME disk.qcow2) or flatten: qemu-img convert -f qcow2 -O qcow2 …")
        }
        return nil
    }

    func isClusterAligned(_ offset: UInt64) -> Bool { offset & (clusterSize - 1) == 0 }

    /// Final check once the file size is known: every table lies inside the file.
    func tablesFailure(totalSize: UInt64) -> InspectionFailure? {
        let l1End = l1TableOffset.addingReportingOverflow(UInt64(l1Size) * 8)
        let refEnd = refcountTableOffset.addingReportingOverflow(UInt64(refcountTableClusters) * clusterSize)
        if l1End.overflow || l1End.partialValue > totalSize {
            return .tablesOutOfBounds("L1 table at \(l1TableOffset) (\(l1Size) entries)", totalSize)
        }
        if refEnd.overflow || refEnd.partialValue > totalSize {
            return .tablesOutOfBounds("refcount table at \(refcountTableOffset)", totalSize)
        }
        return nil
    }

    /// Facts recorded with an accepted image.
    var notes: [String] {
        var notes = ["qcow2 version \(version)", "cluster size \(clusterSize)"]
        if compressionType == 1 { notes.append("zstd compression") }
        if extendedL2 { notes.append("extended L2 entries") }
        if compatibleFeatures & 1 != 0 { notes.append("lazy refcounts") }
        if cryptMethod == 2 { notes.append("LUKS encryption") }
        return notes
    }
}

extension InspectionFailure {
    @inline(never) static func backingFile(_ detail: String) -> InspectionFailure {
        InspectionFailure(
            code: "qcow2_backing_file",
            message: "qcow2 backing file not allowed: \(detail); upload a standalone "
                + "image: qemu-img convert -f qcow2 -O qcow2 disk.qcow2 standalone.qcow2")
    }

    @inline(never) static func externalDataFile(_ detail: String) -> InspectionFailure {
        InspectionFailure(
            code: "qcow2_external_data_file",
            message: "qcow2 external data file not allowed: \(detail); upload a "
                + "self-contained image: qemu-img convert -f qcow2 -O qcow2 disk.qcow2 standalone.qcow2")
    }

    @inline(never) static func tablesOutOfBounds(_ what: String, _ size: UInt64) -> InspectionFailure {
        InspectionFailure(
            code: "qcow2_tables_out_of_bounds",
            message: "qcow2 \(what) extends beyond the end of the file (\(size) bytes); the upload is truncated or "
                + "the header is corrupt")
    }
}
