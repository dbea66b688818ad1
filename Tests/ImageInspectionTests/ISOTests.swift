//===----------------------------------------------------------------------===//
// ImageGate: ISO 9660 / UDF detection, the primary volume descriptor and hybrid ISOs.
//===----------------------------------------------------------------------===//
import Testing
@testable import ImageInspection

@Suite struct ISOTests {
    @Test("ISO: virtual size = volume space size × logical block size")
    func plain() {
        let outcome = inspect(ISOImage(blocks: 100).bytes(), as: .iso)
        let expected = InspectionResult(format: .iso, virtualSize: 204_800, encrypted: false, notes: ["ISO 9660"])
        #expect(outcome.value == expected)
    }

    @Test("hybrid ISO (MBR + CD001) is accepted as ISO, refused as RAW (Docs/protocols.md §4.5)")
    func hybridMBR() {
        let bytes = ISOImage(mbr: true, elTorito: true).bytes()
        let outcome = inspect(bytes, as: .iso)
        #expect(outcome.value?.notes == ["ISO 9660", "El Torito boot record", "MBR partition table"])
        #expect(inspect(bytes, as: .raw).code == "kind_mismatch")
        #expect(inspect(bytes, as: .qcow2).code == "kind_mismatch")
    }

    @Test("hybrid ISO with a GPT is accepted as ISO")
    func hybridGPT() {
        let outcome = inspect(ISOImage(mbr: true, gpt: true).bytes(), as: .iso)
        #expect(outcome.value?.notes == ["ISO 9660", "MBR partition table", "GPT partition table"])
    }

    @Test(
        "declared ISO without CD001 or UDF is not an ISO",
        arguments: [
            [UInt8](repeating: 0, count: 100_000), [UInt8](repeating: 0, count: 10),
            planted(Array("CD001".utf8), at: 0x8002),
        ])
    func notISO(bytes: [UInt8]) {
        #expect(inspect(bytes, as: .iso).code == "not_iso")
    }

    @Test(
        "inconsistent or impossible descriptors are refused",
        arguments: [
            (ISOImage(bigEndianBlocks: 65), "iso_corrupt"),
            (ISOImage(blocks: 128, blockSize: 4096), "iso_corrupt"),
            (ISOImage(blocks: 0, fileSize: 0x10000), "iso_corrupt"),
            (ISOImage(blocks: 64, fileSize: 0x10000), "iso_truncated"),
            (ISOImage(blocks: 256, blockSize: 512), nil),
        ])
    func corrupt(image: ISOImage, expected: String?) {
        #expect(inspect(image.bytes(), as: .iso).code == expected)
    }

    @Test("volume size is capped by the limits")
    func sizeCap() {
        let outcome = inspect(ISOImage().bytes(), as: .iso, limits: InspectionLimits(maxVirtualSize: 1000))
        #expect(outcome.code == "virtual_size_too_large")
    }

    @Test("UDF-only disc (BEA01, NSR02, TEA01): accepted, virtual size is the file size")
    func udf() {
        var bytes = [UInt8](repeating: 0, count: 0x20000)
        for (i, id) in ["BEA01", "NSR03", "TEA01"].enumerated() { bytes.put("\u{0}\(id)\u{1}", at: 0x8000 + i * 2048) }
        let outcome = inspect(bytes, as: .iso)
        #expect(outcome.value?.virtualSize == 0x20000)
        #expect(outcome.value?.notes.first == "UDF")
        #expect(inspect(bytes, as: .raw).code == "kind_mismatch")
    }
}
