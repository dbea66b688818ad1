//===----------------------------------------------------------------------===//
// ImageGate: on-disk key store: creation, modes, persistence, cross-process reload.
//===----------------------------------------------------------------------===//
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import GateCore
import Testing
@testable import DownloadTokens

@Suite struct KeyStoreTests {
    static func mode(_ path: String) -> mode_t {
        var st = stat()
        precondition(stat(path, &st) == 0, "stat \(path)")
        return st.st_mode & 0o7777
    }

    @Test func createsPrivateFiles() throws {
        let tmp = TempDir()
        defer { tmp.cleanup() }
        let dir = tmp.path + "/keys"
        let store = try TokenKeyStore.openOrCreate(directory: dir, clock: ManualClock(Fixture.now))
        #expect(Self.mode(dir) == 0o700)
        #expect(Self.mode(store.files!.keyFilePath) == 0o600)
        #expect(Self.mode(store.files!.deploymentIDPath) == 0o600)
        #expect(store.deploymentID.count == 16)
        let text = try String(contentsOfFile: store.files!.deploymentIDPath, encoding: .utf8)
        #expect(text == Hex.encode(store.deploymentID) + "\n")
        // No temp files left behind.
        let names = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
        #expect(names == ["deployment-id", "token-keys.json"])
    }

    @Test func tightensLooseDirectoryAndFileModes() throws {
        let tmp = TempDir()
        defer { tmp.cleanup() }
        let first = try TokenKeyStore.openOrCreate(directory: tmp.path, clock: ManualClock(Fixture.now))
        chmod(tmp.path, 0o755)
        chmod(first.files!.keyFilePath, 0o644)
        _ = try TokenKeyStore.openOrCreate(directory: tmp.path, clock: ManualClock(Fixture.now))
        #expect(Self.mode(tmp.path) == 0o700)
        #expect(Self.mode(first.files!.keyFilePath) == 0o600)
    }

    @Test func persistsAcrossInstances() throws {
        let tmp = TempDir()
        defer { tmp.cleanup() }
        let clock = ManualClock(Fixture.now)
        let a = try TokenKeyStore.openOrCreate(directory: tmp.path, clock: clock)
        let b = try TokenKeyStore.openOrCreate(directory: tmp.path, clock: clock)
        #expect(a.deploymentID == b.deploymentID)
        #expect(a.keyring() == b.keyring())
        let token = a.codec.mint(Fixture.claims(), keyring: a.keyring())
        #expect(
            b.codec.verify(
                token, keyring: b.keyring(), now: Fixture.now, maxLifetime: Fixture.maxLifetime,
                protocol: .http, peer: nil
            ).claims != nil)
    }

    @Test func rotatePersistsAndOtherInstanceReloads() throws {
        let tmp = TempDir()
        defer { tmp.cleanup() }
        let clock = ManualClock(Fixture.now)
        let server = try TokenKeyStore.openOrCreate(directory: tmp.path, clock: clock)
        let before = server.keyring()
        let oldToken = server.codec.mint(Fixture.claims(), keyring: before)

        // `imagegate key rotate` in another process.
        let cli = try TokenKeyStore.openOrCreate(directory: tmp.path, clock: clock)
        let rotated = try cli.rotate(maxLifetime: Fixture.maxLifetime)
        #expect(rotated.active.kid != before.active.kid)
        #expect(Self.mode(cli.files!.keyFilePath) == 0o600)

        // Within the same clock second the server has not looked yet.
        #expect(server.keyring() == before)
        clock.advance(1)
        let seen = server.keyring()
        #expect(seen == rotated)

        // Old token verifies (verify-only), a token minted by the CLI's key verifies in the server.
        func verify(_ t: String) -> Result<TokenClaims, TokenRejection> {
            server.codec.verify(
                t, keyring: seen, now: Fixture.now, maxLifetime: Fixture.maxLifetime, protocol: .http, peer: nil)
        }
        #expect(verify(oldToken).claims?.kid == before.active.kid)
        #expect(verify(cli.codec.mint(Fixture.claims(), keyring: rotated)).claims?.kid == rotated.active.kid)

        // A fresh instance sees the same thing from disk.
        #expect(try TokenKeyStore.openOrCreate(directory: tmp.path, clock: clock).keyring() == rotated)
    }

    @Test func rotationsFromTwoInstancesAreNotLost() throws {
        let tmp = TempDir()
        defer { tmp.cleanup() }
        let clock = ManualClock(Fixture.now)
        let a = try TokenKeyStore.openOrCreate(directory: tmp.path, clock: clock)
        let b = try TokenKeyStore.openOrCreate(directory: tmp.path, clock: clock)
        let first = try a.rotate(maxLifetime: 3600)
        // b's cache is stale, but rotate reads the file under the lock.
        let second = try b.rotate(maxLifetime: 3600)
        #expect(second.keys.count == 3)
        #expect(second.keys.contains { $0.kid == first.active.kid && $0.state == .verifyOnly })
    }

    @Test func corruptFileKeepsLastGoodKeyring() throws {
        let tmp = TempDir()
        defer { tmp.cleanup() }
        let clock = ManualClock(Fixture.now)
        let store = try TokenKeyStore.openOrCreate(directory: tmp.path, clock: clock)
        let good = store.keyring()
        try Data("{ not json".utf8).write(to: URL(fileURLWithPath: store.files!.keyFilePath))
        clock.advance(5)
        #expect(store.keyring() == good)
        // Opening afresh fails loudly, without quoting the file.
        #expect(throws: GateError.self) { try TokenKeyStore.openOrCreate(directory: tmp.path, clock: clock) }
    }

    @Test func retirePersists() throws {
        let tmp = TempDir()
        defer { tmp.cleanup() }
        let clock = ManualClock(Fixture.now)
        let store = try TokenKeyStore.openOrCreate(directory: tmp.path, clock: clock)
        let old = store.keyring().active.kid
        try store.rotate(maxLifetime: 3600)
        try store.retire(kid: old)
        #expect(
            try TokenKeyStore.openOrCreate(directory: tmp.path, clock: clock).keyring().key(old, now: Fixture.now)
                == nil)
    }

    @Test func concurrentFirstOpenAgreesOnDeploymentID() async throws {
        let tmp = TempDir()
        defer { tmp.cleanup() }
        let dir = tmp.path + "/fresh"
        let ids = try await withThrowingTaskGroup(of: [UInt8].self) { group in
            for _ in 0..<8 {
                group.addTask { try TokenKeyStore.openOrCreate(directory: dir, clock: SystemClock()).deploymentID }
            }
            var out: [[UInt8]] = []
            for try await id in group { out.append(id) }
            return out
        }
        #expect(Set(ids).count == 1)
    }

    @Test func rejectsBadDeploymentID() throws {
        let tmp = TempDir()
        defer { tmp.cleanup() }
        try Data("xyz\n".utf8).write(to: URL(fileURLWithPath: tmp.path + "/deployment-id"))
        #expect(throws: GateError.self) { try TokenKeyStore.openOrCreate(directory: tmp.path, clock: SystemClock()) }
    }
}
