//===----------------------------------------------------------------------===//
// ImageGate: SFTP framing, field reader, path normalisation and status mapping.
//===----------------------------------------------------------------------===//
import GateCore
import SFTPServer
import Testing

@Suite struct FramerTests {
    @Test func splitsPacketsDeliveredByteByByte() throws {
        let wire = Req(SFTPType.initialize).u32(3).framed + Req(SFTPType.realpath).u32(1).str(".").framed
        var f = SFTPFramer()
        var got: [[UInt8]] = []
        for byte in wire {
            [byte].withUnsafeBytes { f.append($0) }
            while let p = try f.next({ Array($0) }) { got.append(p) }
        }
        #expect(got.count == 2)
        #expect(got[0] == [SFTPType.initialize, 0, 0, 0, 3])
        #expect(got[1].first == SFTPType.realpath)
        #expect(f.pending == 0)
    }

    @Test(arguments: [UInt32(0xFFFF_FFFF), UInt32(256 * 1024 + 1), UInt32(1 << 30)])
    func oversizeLengthIsRejectedBeforeTheBodyArrives(length: UInt32) {
        var f = SFTPFramer()
        let head = Req(0).u32(length).b.dropFirst()
        Array(head).withUnsafeBytes { f.append($0) }
        #expect(throws: SFTPWireError.oversize(length)) { _ = try f.next { $0.count } }
        // Nothing was allocated from the length: only the 4 header bytes are buffered.
        #expect(f.pending == 4)
    }

    @Test func zeroLengthIsRejected() {
        var f = SFTPFramer()
        ([0, 0, 0, 0] as [UInt8]).withUnsafeBytes { f.append($0) }
        #expect(throws: SFTPWireError.empty) { _ = try f.next { $0.count } }
    }

    @Test func maximumPacketIsAccepted() throws {
        var f = SFTPFramer()
        let body = [UInt8](repeating: 7, count: 256 * 1024)
        (Req(0).u32(UInt32(body.count)).b.dropFirst() + body).withUnsafeBytes { f.append($0) }
        #expect(try f.next { $0.count } == body.count)
    }

    @Test func partialPacketWaits() throws {
        var f = SFTPFramer()
        ([0, 0, 0, 9, 1, 2] as [UInt8]).withUnsafeBytes { f.append($0) }
        #expect(try f.next { $0.count } == nil)
    }
}

@Suite struct ReaderTests {
    @Test func stringLongerThanPacketIsTruncated() {
        let body: [UInt8] = [0, 0, 1, 0, 65, 66]
        body.withUnsafeBytes { (b: UnsafeRawBufferPointer) -> Void in
            var r = SFTPReader(b)
            #expect(throws: SFTPWireError.truncated) { _ = try r.string() }
        }
    }

    @Test func fieldsDecode() throws {
        let body = Req(9).u32(0xDEAD_BEEF).u64(0x0102_0304_0506_0708).str("héllo").b
        try body.withUnsafeBytes { (b: UnsafeRawBufferPointer) throws -> Void in
            var r = SFTPReader(b)
            #expect(try r.u8() == 9)
            #expect(try r.u32() == 0xDEAD_BEEF)
            #expect(try r.u64() == 0x0102_0304_0506_0708)
            #expect(try r.string() == "héllo")
            #expect(r.remaining == 0)
            #expect(throws: SFTPWireError.truncated) { _ = try r.u8() }
        }
    }

    @Test func attrsWithExtensionsAreSkipped() throws {
        let body = Req(0).u32(0x8000_000F).u64(5).u32(1).u32(2).u32(0o644).u32(1).u32(2).u32(1).str("a").str("b").u32(7)
            .b.dropFirst()
        try Array(body).withUnsafeBytes { (b: UnsafeRawBufferPointer) throws -> Void in
            var r = SFTPReader(b)
            try r.skipAttrs()
            #expect(try r.u32() == 7)
        }
    }
}

@Suite struct PathTests {
    @Test(arguments: [
        (".", "/"), ("", "/"), ("/", "/"), ("/x/..", "/"), ("../../etc", "/etc"), ("/../../etc/passwd", "/etc/passwd"),
        ("disk.qcow2", "/disk.qcow2"), ("/./disk.qcow2/", "/disk.qcow2"), ("//a//b/../c", "/a/c"), ("..", "/"),
    ])
    func normalize(input: String, expected: String) {
        #expect(SFTPPath.normalize(input) == expected)
    }

    @Test(arguments: [
        (".", SFTPNode?.some(.root)), ("/x/..", .root), ("../../etc", nil), ("/disk.qcow2", .file),
        ("../disk.qcow2", .file), ("/disk.qcow2/..", .root), ("/tmp", nil), ("/etc/passwd", nil),
        ("/disk.qcow2/x", nil), ("/DISK.qcow2", nil),
    ])
    func resolve(input: String, expected: SFTPNode?) {
        #expect(SFTPPath.resolve(input, fileName: "disk.qcow2") == expected)
    }
}

@Suite struct MappingTests {
    @Test func everyCodeMapsToAnOpenSSHStatus() {
        for code in GateError.Code.allCases {
            #expect(SFTPStatus(code).rawValue <= 8)
        }
        #expect(SFTPStatus(.notFound) == .noSuchFile)
        #expect(SFTPStatus(.forbiddenByPolicy) == .permissionDenied)
        #expect(SFTPStatus(.unsupported) == .opUnsupported)
        #expect(SFTPStatus(.invalidRequest) == .badMessage)
        #expect(SFTPStatus(.io) == .failure)
    }

    @Test func longNameLooksLikeLs() {
        let a = SFTPAttributes(size: 268_447_801, permissions: 0o100444, modified: 1_700_000_000)
        #expect(
            SFTPVirtualFS.longName("disk.qcow2", a)
                == "-r--r--r--    1 0        0        268447801 Nov 14 22:13 disk.qcow2")
        let d = SFTPAttributes(size: 0, permissions: 0o040555, modified: 1_700_000_000)
        #expect(SFTPVirtualFS.longName(".", d).hasPrefix("dr-xr-xr-x    1 0        0               0 Nov 14"))
    }
}
