//===----------------------------------------------------------------------===//
// ImageGate: the formats the inspector recognises by magic number, and how each foreign one is refused.
//===----------------------------------------------------------------------===//

/// Every format the probes can see (Docs/protocols.md §4.3 magic table, §4.2 archives). `qcow2` and `iso` can be
/// accepted; all others are foreign and refused with their own code and a conversion hint. MBR/GPT partition tables
/// are not formats here (see `PartitionTable`): they are allowed inside RAW and ISO only.
enum DetectedFormat: String, Sendable, CaseIterable, Codable {
    case qcow2, qcowV1, qed, vmdk, vhd, vhdx, vdi, luks, ova, tar, gzip, xz, zstd, bzip2, zip, iso

    /// The stable failure code when this format is refused.
    var code: String {
        switch self {
        case .qcowV1: "qcow_v1"
        default: rawValue
        }
    }

    /// Human name used in messages.
    var name: String {
        switch self {
        case .qcow2: "qcow2"
        case .qcowV1: "qcow v1"
        case .qed: "QED"
        case .vmdk: "VMDK"
        case .vhd: "VHD"
        case .vhdx: "VHDX"
        case .vdi: "VDI"
        case .luks: "LUKS"
        case .ova: "OVA"
        case .tar: "tar"
        case .gzip: "gzip"
        case .xz: "xz"
        case .zstd: "zstd"
        case .bzip2: "bzip2"
        case .zip: "zip"
        case .iso: "ISO 9660"
        }
    }

    /// What a kind-mismatch message says the bytes contain.
    var containsPhrase: String {
        switch self {
        case .qcow2: "contains a qcow2 header"
        case .iso: "contains an ISO 9660 filesystem"
        default: "contains a \(name) image"
        }
    }

    /// True for formats that are refused whatever the declared kind.
    var isForeign: Bool { self != .qcow2 && self != .iso }

    /// The refusal message for a foreign format: names it and gives the conversion. Conversions always pass the
    /// source format with `-f`, never letting qemu-img probe (CVE-2022-47951, CVE-2026-24708).
    var refusal: String {
        switch self {
        case .qcowV1: Self.convert("qcow version 1 images", "qcow", "disk.qcow")
        case .qed: Self.convert("QED images", "qed", "disk.qed")
        case .vmdk: Self.convert("VMDK images", "vmdk", "disk.vmdk")
        case .vhd: Self.convert("VHD images", "vpc", "disk.vhd")
        case .vhdx: Self.convert("VHDX images", "vhdx", "disk.vhdx")
        case .vdi: Self.convert("VDI images", "vdi", "disk.vdi")
        case .luks:
            "LUKS-encrypted raw images are not accepted; convert it to qcow2 (declare it encrypted if it stays "
                + "encrypted): qemu-img convert --object secret,id=key,file=passphrase.txt --image-opts "
                + "driver=luks,key-secret=key,file.filename=disk.luks -O qcow2 disk.qcow2"
        case .ova:
            "OVA appliances are not accepted; extract the disk and convert it first: tar -xf appliance.ova && "
                + "qemu-img convert -f vmdk -O qcow2 disk1.vmdk disk.qcow2"
        case .tar: Self.unpack("tar archives", "tar -xf archive.tar")
        case .zip: Self.unpack("zip archives", "unzip archive.zip")
        case .gzip: Self.unpack("gzip-compressed files", "gunzip disk.img.gz")
        case .xz: Self.unpack("xz-compressed files", "unxz disk.img.xz")
        case .zstd: Self.unpack("zstd-compressed files", "unzstd disk.img.zst")
        case .bzip2: Self.unpack("bzip2-compressed files", "bunzip2 disk.img.bz2")
        case .qcow2, .iso: "\(name) is accepted"
        }
    }

    private static func convert(_ what: String, _ qemuFormat: String, _ file: String) -> String {
        "\(what) are not accepted; convert it first: qemu-img convert -f \(qemuFormat) -O qcow2 \(file) disk.qcow2"
    }

    // Docs/protocols.md §4.2: compressed containers are refused, not decompressed on import (no decompression bomb).
    private static func unpack(_ what: String, _ command: String) -> String {
        "\(what) are not accepted (imports are never decompressed); unpack it first (\(command)) and upload the "
            + "image itself, converting a raw disk if wanted: qemu-img convert -f raw -O qcow2 disk.img disk.qcow2"
    }
}

/// Partition-table signatures: allowed inside RAW and ISO (hybrid bootable ISO), a second format anywhere else.
enum PartitionTable: String, Sendable, Codable {
    case mbr = "MBR partition table"
    case gpt = "GPT partition table"
}

/// Magic-number probes over the stream's first bytes (`head`), Docs/protocols.md §4.3. Each probe needs its full magic:
/// a file too short to hold it does not match.
enum MagicProbe {
    /// Formats recognised in `head` (not ISO, see `ISO9660`), in table order.
    static func formats(in head: [UInt8]) -> [DetectedFormat] {
        var found: [DetectedFormat] = []
        if has(head, 0, [0x51, 0x46, 0x49, 0xFB]) {  // "QFI\xFB", qcow2.txt
            // qemu's qcow probe takes version 1, qcow2's takes >= 2: a bad version is still a qcow header.
            found.append(head.count >= 8 && Bytes.be32(head, 4) == 1 ? .qcowV1 : .qcow2)
        }
        if has(head, 0, Array("QED\0".utf8)) { found.append(.qed) }
        if has(head, 0, Array("KDMV".utf8)) || has(head, 0, Array("COWD".utf8)) || isVMDKDescriptor(head) {
            found.append(.vmdk)  // CVE-2022-47951: the text descriptor names host files
        }
        if has(head, 0, Array("conectix".utf8)) { found.append(.vhd) }  // dynamic VHD; fixed: footer, see tail
        if has(head, 0, Array("vhdxfile".utf8)) { found.append(.vhdx) }
        if head.count >= 0x44 && Bytes.le32(head, 0x40) == 0xBEDA_107F { found.append(.vdi) }
        if has(head, 0, [0x4C, 0x55, 0x4B, 0x53, 0xBA, 0xBE]) { found.append(.luks) }  // "LUKS\xBA\xBE"
        if has(head, 257, Array("ustar".utf8)) { found.append(isOVF(head) ? .ova : .tar) }
        if has(head, 0, [0x1F, 0x8B, 0x08]) { found.append(.gzip) }  // RFC 1952: ID1 ID2 CM=8 (deflate)
        if has(head, 0, [0xFD, 0x37, 0x7A, 0x58, 0x5A, 0x00]) { found.append(.xz) }
        if has(head, 0, [0x28, 0xB5, 0x2F, 0xFD]) { found.append(.zstd) }  // RFC 8878 frame magic
        if isBzip2(head) { found.append(.bzip2) }
        if has(head, 0, [0x50, 0x4B, 0x03, 0x04]) || has(head, 0, [0x50, 0x4B, 0x05, 0x06]) { found.append(.zip) }
        return found
    }

    /// MBR boot signature 55 AA at 510 and GPT header "EFI PART" at LBA 1 (512).
    static func partitionTables(in head: [UInt8]) -> [PartitionTable] {
        var found: [PartitionTable] = []
        if has(head, 510, [0x55, 0xAA]) { found.append(.mbr) }
        if has(head, 512, Array("EFI PART".utf8)) { found.append(.gpt) }
        return found
    }

    /// A fixed VHD is raw data followed by a 512-byte footer starting "conectix" (VHD spec; Virtual PC before 2004
    /// wrote a 511-byte footer, so offset 1 of the last 512 bytes is checked too).
    static func hasVHDFooter(_ tail: [UInt8]) -> Bool {
        tail.count >= 512 && (has(tail, 0, Array("conectix".utf8)) || has(tail, 1, Array("conectix".utf8)))
    }

    static func has(_ bytes: [UInt8], _ offset: Int, _ magic: [UInt8]) -> Bool {
        guard bytes.count >= offset + magic.count else { return false }
        for i in 0..<magic.count where bytes[offset + i] != magic[i] { return false }
        return true
    }

    /// "BZh" + block size '1'…'9' + the block magic (π) or the end-of-stream magic (√π) of an empty stream.
    private static func isBzip2(_ head: [UInt8]) -> Bool {
        guard has(head, 0, Array("BZh".utf8)), head.count >= 10, (0x31...0x39).contains(head[3]) else { return false }
        return has(head, 4, [0x31, 0x41, 0x59, 0x26, 0x53, 0x59]) || has(head, 4, [0x17, 0x72, 0x45, 0x38, 0x50, 0x90])
    }

    /// An OVA is a tar whose first member is the .ovf descriptor (DSP0243 §5.3).
    private static func isOVF(_ head: [UInt8]) -> Bool {
        let name = head[0..<100].prefix { $0 != 0 }
        return String(decoding: name, as: UTF8.self).lowercased().hasSuffix(".ovf")
    }

    /// qemu `block/vmdk.c` `vmdk_probe` for text descriptors, over the first 2048 bytes (qemu's probe buffer):
    /// comment lines and blank lines, then `version=1|2|3`. Also any file starting "# Disk DescriptorFile".
    static func isVMDKDescriptor(_ head: [UInt8]) -> Bool {
        if has(head, 0, Array("# Disk DescriptorFile".utf8)) { return true }
        let end = min(head.count, 2048)
        var p = 0
        while p < end {
            if head[p] == UInt8(ascii: "#") {
                while p < end && head[p] != UInt8(ascii: "\n") { p += 1 }
                p += 1
                continue
            }
            if head[p] == UInt8(ascii: " ") {
                while p < end && head[p] == UInt8(ascii: " ") { p += 1 }
                if p < end && head[p] == UInt8(ascii: "\r") { p += 1 }
                guard p < end, head[p] == UInt8(ascii: "\n") else { return false }
                p += 1
                continue
            }
            for version in ["1", "2", "3"] {
                for newline in ["\n", "\r\n"] {
                    let line = Array("version=\(version)\(newline)".utf8)
                    if end - p >= line.count && has(head, p, line) { return true }
                }
            }
            return false
        }
        return false
    }
}

/// Big- and little-endian field readers; callers check bounds.
enum Bytes {
    static func be16(_ b: [UInt8], _ o: Int) -> UInt16 { UInt16(b[o]) << 8 | UInt16(b[o + 1]) }
    static func be32(_ b: [UInt8], _ o: Int) -> UInt32 { UInt32(be16(b, o)) << 16 | UInt32(be16(b, o + 2)) }
    static func be64(_ b: [UInt8], _ o: Int) -> UInt64 { UInt64(be32(b, o)) << 32 | UInt64(be32(b, o + 4)) }
    static func le16(_ b: [UInt8], _ o: Int) -> UInt16 { UInt16(b[o]) | UInt16(b[o + 1]) << 8 }
    static func le32(_ b: [UInt8], _ o: Int) -> UInt32 { UInt32(le16(b, o)) | UInt32(le16(b, o + 2)) << 16 }
}
