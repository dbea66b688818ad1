//===----------------------------------------------------------------------===//
// ImageGate: streaming behaviour: chunking invariance, early failure, bounded memory.
//===----------------------------------------------------------------------===//
import Testing
@testable import ImageInspection

/// Fixtures covering acceptance and every stage of refusal (header, extension walk, format set, finish).
let streamingFixtures: [(name: String, bytes: [UInt8], declared: DeclaredKind)] = {
    var fixtures: [(String, [UInt8], DeclaredKind)] = []
    fixtures.append(("qcow2 ok", QCOW2Image().bytes(), .qcow2))
    var image = QCOW2Image()
    image.backingFileOffset = 0x200
    fixtures.append(("qcow2 backing file", image.bytes(), .qcow2))
    image = QCOW2Image()
    image.extensions = [(0x1111_1111, [UInt8](repeating: 7, count: 300)), (0x4441_5441, Array("/x".utf8))]
    fixtures.append(("qcow2 data-file extension", image.bytes(), .qcow2))
    image = QCOW2Image()
    image.fileSize = 0x30000 + 8
    fixtures.append(("qcow2 L1 out of bounds", image.bytes(), .qcow2))
    var both = QCOW2Image().bytes()
    both.put("CD001", at: 0x8001)
    fixtures.append(("qcow2 + ISO", both, .qcow2))
    fixtures.append(("hybrid ISO", ISOImage(mbr: true, elTorito: true).bytes(), .iso))
    fixtures.append(("hybrid ISO as raw", ISOImage(mbr: true).bytes(), .raw))
    fixtures.append(("fixed VHD", planted(Array("conectix".utf8), at: -512, size: 200_000), .raw))
    fixtures.append(("VMDK", planted(Array("KDMV".utf8), at: 0), .qcow2))
    fixtures.append(("raw", planted([0x55, 0xAA], at: 510, size: 100_003), .raw))
    fixtures.append(("short raw", [9, 9, 9], .raw))
    return fixtures
}()

@Suite struct StreamingTests {
    @Test("every chunking gives the same verdict", arguments: streamingFixtures.indices)
    func chunkingInvariance(index: Int) {
        let fixture = streamingFixtures[index]
        let reference = inspect(fixture.bytes, as: fixture.declared)
        #expect(reference.code != "finish_differs")
        let chunkings: [Chunking] = [
            .byteByByte, .sized(3), .sized(111), .sized(112), .sized(4096), .sized(65535),
            .random(seed: 1), .random(seed: 2), .random(seed: 99),
        ]
        for chunking in chunkings {
            #expect(
                inspect(fixture.bytes, as: fixture.declared, chunking: chunking) == reference,
                "\(fixture.name), \(chunking)")
        }
    }

    @Test("header problems stop the stream at byte 112, before the end")
    func earlyHeaderFailure() {
        var image = QCOW2Image()
        image.incompatible = 1 << 2
        let bytes = image.bytes()
        var inspector = ImageInspector(declared: .qcow2)
        #expect(inspector.feed(Array(bytes[0..<111])) == nil)
        #expect(inspector.feed([bytes[111]])?.code == "qcow2_external_data_file")
        // Sticky: later feeds and finish repeat it.
        #expect(inspector.feed(Array(bytes[112...]))?.code == "qcow2_external_data_file")
        #expect(inspector.finish(totalSize: UInt64(bytes.count)).code == "qcow2_external_data_file")
    }

    @Test("a header extension is refused as soon as its 8-byte header arrived")
    func earlyExtensionFailure() {
        var image = QCOW2Image()
        image.extensions = [(0xE279_2ACA, Array("qcow2".utf8))]
        let bytes = image.bytes()
        #expect(feedOnly(Array(bytes[0..<119]), as: .qcow2) == nil)
        #expect(feedOnly(Array(bytes[0..<120]), as: .qcow2)?.code == "qcow2_backing_file")
    }

    @Test("extensions beyond the 64 KiB head (2 MiB clusters) are walked as they stream")
    func extensionBeyondHead() {
        var image = QCOW2Image()
        image.clusterBits = 21
        image.l1TableOffset = 3 << 21
        image.refcountTableOffset = 1 << 21
        image.extensions = [(0x1111_1111, [UInt8](repeating: 1, count: 200_000)), (0x4441_5441, Array("/x".utf8))]
        let bytes = image.bytes()
        #expect(feedOnly(Array(bytes[0..<200_000]), as: .qcow2) == nil)
        #expect(inspect(bytes, as: .qcow2, chunking: .random(seed: 5)).code == "qcow2_external_data_file")
        image.extensions.removeLast()
        #expect(inspect(image.bytes(), as: .qcow2, chunking: .sized(1000)).code == nil)
    }

    @Test("foreign formats and kind mismatches are refused by 64 KiB")
    func earlyFormatFailure() {
        #expect(feedOnly(Array(planted(Array("vhdxfile".utf8), at: 0).prefix(0xFFFF)), as: .qcow2) == nil)
        #expect(feedOnly(Array(planted(Array("vhdxfile".utf8), at: 0).prefix(0x10000)), as: .qcow2)?.code == "vhdx")
        #expect(feedOnly(Array(QCOW2Image().bytes().prefix(0x10000)), as: .raw)?.code == "kind_mismatch")
        #expect(feedOnly([UInt8](repeating: 0, count: 0x10000), as: .iso)?.code == "not_iso")
    }

    @Test("1 GiB of zeros in 1 MiB chunks: memory stays bounded, virtual size is the byte count")
    func boundedMemory() {
        var inspector = ImageInspector(declared: .raw)
        let chunk = [UInt8](repeating: 0, count: 1 << 20)
        var peak = 0
        chunk.withUnsafeBytes { buffer in
            for _ in 0..<1024 {
                #expect(inspector.feed(buffer) == nil)
                peak = max(peak, inspector.retainedBytes)
            }
        }
        #expect(peak <= 200 << 10, "retained \(peak) bytes")
        #expect(inspector.finish(totalSize: 1 << 30).value?.virtualSize == 1 << 30)
    }

    @Test("qcow2 with 2 MiB clusters: the walker keeps memory bounded too")
    func boundedMemoryQCOW2() {
        var image = QCOW2Image()
        image.clusterBits = 21
        image.l1TableOffset = 3 << 21
        image.refcountTableOffset = 1 << 21
        let bytes = image.bytes()
        var inspector = ImageInspector(declared: .qcow2)
        var peak = 0
        for start in stride(from: 0, to: bytes.count, by: 4096) {
            #expect(inspector.feed(Array(bytes[start..<min(bytes.count, start + 4096)])) == nil)
            peak = max(peak, inspector.retainedBytes)
        }
        #expect(peak <= 200 << 10, "retained \(peak) bytes")
        #expect(inspector.finish(totalSize: UInt64(bytes.count)).code == nil)
    }
}
