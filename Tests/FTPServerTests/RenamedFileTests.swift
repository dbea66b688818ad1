//===----------------------------------------------------------------------===//
// ImageGate: a renamed image keeps the name its link was minted with (and answers to its new one).
//===----------------------------------------------------------------------===//
import FTPServer
import GateCore
import Testing
import TestSupport

@Suite struct FTPRenamedFileTests {
    static let renamed = ServedFile.fixture(
        name: "centos-7.qcow2", path: "/nonexistent/blob", size: 1_000_000, modified: 1_700_000_000,
        logID: "igt1.0000.0000…", otherNames: ["renamed.qcow2"])

    @Test(arguments: ["centos-7.qcow2", "/centos-7.qcow2", "renamed.qcow2", "/renamed.qcow2", "./renamed.qcow2"])
    func sizeRestAndRetrByEitherName(path: String) {
        var s = FTPSession.loggedIn(policy: FakePolicy(file: Self.renamed))
        #expect(replies(s.send("SIZE " + path)) == [FTPReply(213, "1000000")])
        #expect(s.codes("MDTM " + path) == [213])
        #expect(s.codes("REST 1000") == [350])
        s.pasv()
        #expect(s.send("RETR " + path) == [.transfer(.file(Self.renamed, offset: 1000))])
    }

    @Test func listingsShowTheMintedNameOnly() {
        #expect(FTPView.resolve("renamed.qcow2", file: Self.renamed) == .file)
        #expect(FTPView.resolve("other.qcow2", file: Self.renamed) == .none)
        #expect(FTPView.resolve("/", file: Self.renamed) == .root)
        #expect(FTPView.resolve("../renamed.qcow2", file: Self.renamed) == .none)
        #expect(FTPView.listLine(Self.renamed).hasSuffix(" centos-7.qcow2"))
    }

    @Test func withoutOtherNamesTheNewNameIsUnknown() {
        var s = FTPSession.loggedIn()
        #expect(s.codes("SIZE renamed.qcow2") == [550])
    }
}
