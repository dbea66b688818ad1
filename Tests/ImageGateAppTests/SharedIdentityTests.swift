//===----------------------------------------------------------------------===//
// ImageGate: two data directories on one shared catalog: one keyring, deployment id, secrets key and set of
// SSH host keys; console sessions kept in the catalog (lastSeen written at most once a minute).
//===----------------------------------------------------------------------===//
import DownloadTokens
import Foundation
import GateCore
import ImageCatalog
@testable import ImageGateApp
import Testing

@Suite struct SharedIdentityTests {
    /// Two node data directories and one shared SQLite catalog under /tmp, removed afterwards.
    final class Cluster {
        let root = NSTemporaryDirectory() + "imagegate-shared-" + UUID().uuidString
        func settings(_ node: String) -> Settings {
            var s = Settings()
            s.dataDir = root + "/" + node
            s.catalogURL = "sqlite://" + root + "/shared.sqlite3"
            return s
        }
        deinit { try? FileManager.default.removeItem(atPath: root) }
    }

    @Test func twoNodesShareOneIdentityAndSeeEachOthersRotation() throws {
        let cluster = Cluster()
        try FileManager.default.createDirectory(atPath: cluster.root, withIntermediateDirectories: true)
        let clock = ManualClock(1_800_000_000)
        let a = try DataDirectory.open(cluster.settings("n1"), clock: clock)
        defer { a.close() }
        let b = try DataDirectory.open(cluster.settings("n2"), clock: clock)
        defer { b.close() }
        #expect(a.keys.files == nil && b.keys.files == nil)
        #expect(a.keys.deploymentID == b.keys.deploymentID && a.keys.keyring() == b.keys.keyring())
        #expect(!FileManager.default.fileExists(atPath: a.settings.keysDir + "/token-keys.json"))
        let rotated = try a.keys.rotate(maxLifetime: 3600)
        clock.advance(1)
        #expect(b.keys.keyring() == rotated)
        // The same host key files on both nodes, private to the service account.
        for name in ["ssh_host_ed25519_key", "ssh_host_rsa_key"] {
            let pa = a.settings.sshHostKeyDir + "/" + name, pb = b.settings.sshHostKeyDir + "/" + name
            #expect(FileManager.default.contents(atPath: pa) == FileManager.default.contents(atPath: pb))
            let mode = (try FileManager.default.attributesOfItem(atPath: pb)[.posixPermissions] as? NSNumber)?.intValue
            #expect(mode == 0o600)
        }
        #expect(try a.store.document(SharedIdentity.secretsKeyDocument)?.version == 1)
    }

    @Test func keyListNamesRetiredKeys() {
        var key = SigningKey(kid: 7, secret: [UInt8](repeating: 1, count: 32), state: .active, createdAt: 100)
        #expect(KeyCommands.stateText(key, now: 200) == "active")
        key.state = .verifyOnly
        key.verifyUntil = 300
        #expect(KeyCommands.stateText(key, now: 300) == "verify-only")
        #expect(KeyCommands.stateText(key, now: 301) == "retired")
    }

    @Test func consoleSessionsLiveInTheCatalogAndLastSeenIsWrittenAtMostOnceAMinute() throws {
        let cluster = Cluster()
        try FileManager.default.createDirectory(atPath: cluster.root, withIntermediateDirectories: true)
        let clock = ManualClock(1_800_000_000)
        let data = try DataDirectory.open(cluster.settings("n1"), clock: clock)
        defer { data.close() }
        let key = try #require(readTextFile(data.adminKeyPath)).trimmingCharacters(in: .whitespacesAndNewlines)
        func node() -> ConsoleSessions {
            ConsoleSessions(settings: ConsoleSettings(), service: data.service, retention: 0, linkTTL: 0, clock: clock)
        }
        let (one, two) = (node(), node())
        let made = try #require(try one.create(apiKey: key, source: "test"))
        let stored = { try data.store.consoleSession(digest: made.session.digest) }
        #expect(try stored()?.lastSeen == clock.now())
        let start = clock.now()
        clock.advance(30)
        #expect(two.resolve(made.cookie)?.session.csrfToken == made.session.csrfToken)  // another node
        #expect(try stored()?.lastSeen == start)  // not written on every request
        clock.advance(31)
        #expect(one.resolve(made.cookie) != nil)
        #expect(try stored()?.lastSeen == start + 61)
        // Idle past the timeout: refused and gone.
        clock.advance(ConsoleSettings().sessionTimeout)
        #expect(two.resolve(made.cookie) == nil)
        #expect(try stored() == nil)
        // Signing out on one node ends the session on the other.
        let again = try #require(try one.create(apiKey: key, source: "test"))
        try two.remove(again.cookie)
        #expect(one.resolve(again.cookie) == nil)
    }
}
