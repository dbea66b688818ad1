//===----------------------------------------------------------------------===//
// ImageGate: a renamed image keeps the name its link was minted with (and answers to its new one).
//===----------------------------------------------------------------------===//
import GateCore
import SFTPServer
import Testing
import TestSupport

@Suite struct RenamedFileTests {
    let file = ServedFile.fixture(
        name: "CentOS_7.9.qcow2", path: "/blob", size: 10, modified: 1_700_000_000, logID: "igt1.x…",
        otherNames: ["Renamed.qcow2"])

    @Test(
        arguments: [
            ("/CentOS_7.9.qcow2", SFTPNode.file), ("CentOS_7.9.qcow2", .file), ("/Renamed.qcow2", .file),
            ("./Renamed.qcow2", .file), ("/", .root), ("/Other.qcow2", nil), ("/Renamed.qcow2/x", nil),
        ] as [(String, SFTPNode?)])
    func bothNamesResolve(path: String, expected: SFTPNode?) {
        #expect(SFTPPath.resolve(path, fileName: file.name, otherNames: file.otherNames) == expected)
        #expect((try? SFTPVirtualFS(file: file).lookup(path)) == expected)
    }

    @Test func withoutOtherNamesOnlyTheNameResolves() {
        #expect(SFTPPath.resolve("/Renamed.qcow2", fileName: "CentOS_7.9.qcow2") == nil)
        let missing = #expect(throws: GateError.self) {
            try SFTPVirtualFS(
                file: ServedFile.fixture(
                    name: "CentOS_7.9.qcow2", path: "/blob", size: 10, modified: 0, logID: "x")
            ).lookup("/Renamed.qcow2")
        }
        #expect(missing?.code == .notFound)
    }
}
