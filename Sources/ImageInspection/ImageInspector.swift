//===----------------------------------------------------------------------===//
// ImageGate: the streaming image inspector: fed bytes in order while an import downloads them.
//===----------------------------------------------------------------------===//

/// Checks an image while it streams in (Docs/protocols.md §4.3), never after the fact. Feed every byte in order with
/// `feed(_:)`; it returns a failure as soon as the bytes seen prove the image unacceptable, so the import can stop.
/// At end of stream call `finish(totalSize:)` for the checks that need the whole file (tables inside the file, a fixed
/// VHD footer in the last 512 bytes, the virtual size of a RAW disk).
///
/// Memory is bounded whatever the image size: the first 64 KiB (magic numbers, the qcow2 header, the ISO descriptor
/// area at sectors 16…31), a 512-byte ring holding the last bytes seen, and the qcow2 extension walker's 24 bytes.
///
/// Decisions are taken at fixed stream offsets, whatever the chunking: the qcow2 header at 112 bytes (declared QCOW2
/// only), each header extension as soon as its 8-byte header arrived, the format set at 64 KiB; a chunk that spans
/// a checkpoint is split there. Feeding byte by byte or all at once gives the same result.
///
/// `Codable`: an import into an object store saves the inspector with each stored part and a resumed import
/// continues from it (Docs/object-storage.md, "Resume"), since stored parts cannot be read back.
public struct ImageInspector: Sendable, Codable {
    /// Size of the retained head: covers every magic offset and the ISO 9660/UDF descriptor area.
    static let headCapacity = ISO9660.windowEnd
    static let tailCapacity = 512

    public let declared: DeclaredKind
    public let limits: InspectionLimits

    private var head: [UInt8] = []
    private var tail = TailRing(capacity: tailCapacity)
    private var position: UInt64 = 0
    private var failure: InspectionFailure?
    private var finished = false
    private var headerChecked = false
    private var formatsChecked = false
    private var qcow2: QCOW2Header?
    private var walker: QCOW2ExtensionWalker?
    private var found: DetectedFormat?
    private var partitions: [PartitionTable] = []
    private var isoVolume: ISO9660.Volume?

    public init(declared: DeclaredKind, limits: InspectionLimits = InspectionLimits()) {
        self.declared = declared
        self.limits = limits
        head.reserveCapacity(Self.headCapacity)
    }

    /// Bytes fed so far.
    public var bytesSeen: UInt64 { position }

    /// Bytes of storage the inspector holds (for the memory-bound test; constant after the first 64 KiB).
    var retainedBytes: Int { head.capacity + tail.retainedBytes + (walker?.retainedBytes ?? 0) }

    /// Feeds the next bytes of the stream.
    /// - Returns: the failure once the bytes seen so far prove the image unacceptable (and on every later call),
    ///   else nil.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) -> InspectionFailure? {
        precondition(!finished, "ImageInspector.feed after finish")
        if let failure { return failure }
        var rest = bytes[...]
        while !rest.isEmpty {
            var count = rest.count
            if let checkpoint = nextCheckpoint() { count = min(count, Int(checkpoint - position)) }
            let part = UnsafeRawBufferPointer(rebasing: rest.prefix(count))
            rest = rest.dropFirst(count)
            if let failure = consume(part) ?? runDueCheckpoints() {
                self.failure = failure
                return failure
            }
        }
        return nil
    }

    /// Convenience for tests and small buffers.
    public mutating func feed(_ bytes: [UInt8]) -> InspectionFailure? {
        bytes.withUnsafeBytes { feed($0) }
    }

    /// Ends the stream and takes the final decision.
    /// - Parameter totalSize: bytes in the stream; must equal the bytes fed (else `stream_size_mismatch`).
    public mutating func finish(totalSize: UInt64) -> Result<InspectionResult, InspectionFailure> {
        precondition(!finished, "ImageInspector.finish called twice")
        finished = true
        if let failure { return .failure(failure) }
        let result = decide(totalSize: totalSize)
        if case .failure(let failure) = result { self.failure = failure }
        return result
    }

    // MARK: - Streaming

    private func nextCheckpoint() -> UInt64? {
        if !headerChecked { return UInt64(QCOW2Header.bytesNeeded) }
        if !formatsChecked { return UInt64(Self.headCapacity) }
        return nil
    }

    private mutating func consume(_ part: UnsafeRawBufferPointer) -> InspectionFailure? {
        let offset = position
        if head.count < Self.headCapacity {
            head.append(contentsOf: part.prefix(Self.headCapacity - head.count))
        }
        tail.append(part)
        position += UInt64(part.count)
        if walker?.done == false, let failure = walker?.consume(part, at: offset) { return failure }
        return nil
    }

    private mutating func runDueCheckpoints() -> InspectionFailure? {
        if !headerChecked && position >= UInt64(QCOW2Header.bytesNeeded) {
            if let failure = checkHeader() { return failure }
        }
        if !formatsChecked && position >= UInt64(Self.headCapacity) { return checkFormats() }
        return nil
    }

    /// Checkpoint 1: a declared QCOW2 header is validated as soon as its fixed part arrived, then its extensions are
    /// walked from `header_length`. Other declared kinds wait for the format set (a qcow2 header in a RAW upload is a
    /// kind mismatch, whatever its fields say).
    private mutating func checkHeader() -> InspectionFailure? {
        headerChecked = true
        guard declared == .qcow2, MagicProbe.has(head, 0, [0x51, 0x46, 0x49, 0xFB]) else { return nil }
        switch QCOW2Header.validate(head, limits: limits) {
        case .failure(let failure): return failure
        case .success(let header):
            qcow2 = header
            walker = QCOW2ExtensionWalker(header: header, allowEncrypted: limits.allowEncrypted)
            // Every byte seen so far is in `head` (checkpoint 1 lies inside it).
            return head.withUnsafeBytes { walker?.consume($0, at: 0) }
        }
    }

    /// Checkpoint 2 (64 KiB, or end of a shorter stream): all probes, then oslo's policy.
    private mutating func checkFormats() -> InspectionFailure? {
        formatsChecked = true
        var formats = MagicProbe.formats(in: head)
        if ISO9660.detect(head) { formats.append(.iso) }
        partitions = MagicProbe.partitionTables(in: head)
        // [oslo] InspectWrapper: more than one format is refused (one format hidden inside another).
        if formats.count > 1 { return .multipleFormats(formats.map(\.name)) }
        if let format = formats.first, format.isForeign { return .foreign(format) }
        found = formats.first
        // MBR/GPT are allowed inside RAW and ISO only (hybrid bootable ISO); in a qcow2 they are a second format.
        if found == .qcow2 && !partitions.isEmpty {
            return .multipleFormats(["qcow2"] + partitions.map(\.rawValue))
        }
        switch (declared, found) {
        case (.qcow2, .qcow2), (.raw, nil): return nil
        case (.iso, .iso):
            switch ISO9660.volume(head) {
            case .failure(let failure): return failure
            case .success(let volume): isoVolume = volume
            }
            return nil
        case (.iso, nil): return .notISO()
        case (.qcow2, nil):
            // A fixed VHD lands here too: its only signature is in the footer, which arrives last.
            return .kindMismatch(
                declared: declared,
                detected: "has no qcow2 header (raw data?); convert the disk first: "
                    + "qemu-img convert -f raw -O qcow2 disk.img disk.qcow2")
        case (_, let format?): return .kindMismatch(declared: declared, detected: format.containsPhrase)
        }
    }

    // MARK: - End of stream

    private mutating func decide(totalSize: UInt64) -> Result<InspectionResult, InspectionFailure> {
        guard totalSize == position else {
            return .failure(
                InspectionFailure(
                    code: "stream_size_mismatch",
                    message: "inspector saw \(position) bytes but the stream reported \(totalSize)"))
        }
        guard totalSize > 0 else { return .failure(.empty()) }
        if !headerChecked, let failure = checkHeader() { return .failure(failure) }
        if let failure = walker?.finish() { return .failure(failure) }
        if !formatsChecked, let failure = checkFormats() { return .failure(failure) }
        // A fixed VHD has its only signature in the footer (Docs/protocols.md §4.3).
        if MagicProbe.hasVHDFooter(tail.bytes()) {
            if let found { return .failure(.multipleFormats([found.name, DetectedFormat.vhd.name])) }
            return .failure(.foreign(.vhd))
        }
        let tables = partitions.map(\.rawValue)
        switch declared {
        case .qcow2:
            guard let header = qcow2, let walker else { return .failure(.qcow2Corrupt("no header")) }
            if let failure = header.tablesFailure(totalSize: totalSize) { return .failure(failure) }
            if let luks = walker.encryptionHeader {
                let end = luks.offset.addingReportingOverflow(luks.length)
                if end.overflow || end.partialValue > totalSize {
                    return .failure(.tablesOutOfBounds("LUKS header at \(luks.offset)", totalSize))
                }
            }
            let notes = header.notes + (walker.sawBitmaps ? ["persistent bitmaps"] : [])
            return .success(
                InspectionResult(format: .qcow2, virtualSize: header.size, encrypted: header.encrypted, notes: notes))
        case .iso:
            let volume = isoVolume ?? ISO9660.Volume(virtualSize: nil, notes: [])
            let notes = volume.notes + tables
            guard let size = volume.virtualSize else {
                return checked(.iso, size: totalSize, notes: notes + ["UDF only: virtual size is the file size"])
            }
            // A volume larger than the file means the upload stopped early (or the descriptor lies).
            guard size <= totalSize else {
                return .failure(
                    InspectionFailure(
                        code: "iso_truncated",
                        message: "ISO 9660 volume is \(size) bytes but the file has only \(totalSize); the upload "
                            + "is truncated"))
            }
            return checked(.iso, size: size, notes: notes)
        case .raw:
            return checked(.raw, size: totalSize, notes: tables)
        }
    }

    /// Docs/protocols.md §4.2 virtual-size cap for ISO and RAW.
    private func checked(
        _ kind: DeclaredKind, size: UInt64, notes: [String]
    ) -> Result<InspectionResult, InspectionFailure> {
        guard size <= limits.maxVirtualSize else {
            return .failure(.virtualSizeTooLarge(kind.label, size: size, limit: limits.maxVirtualSize))
        }
        return .success(InspectionResult(format: kind, virtualSize: size, encrypted: false, notes: notes))
    }
}
