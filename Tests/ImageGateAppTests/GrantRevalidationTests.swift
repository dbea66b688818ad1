//===----------------------------------------------------------------------===//
// ImageGate: the one revalidation rule of FTP and SFTP sessions (GrantRevalidation, Docs/tokens.md "Sessions").
//===----------------------------------------------------------------------===//
import CryptoPrimitives
import DownloadTokens
import Foundation
import GateCore
import ImageCatalog
@testable import ImageGateApp
import Testing

@Suite struct GrantRevalidationTests {
    @Test("a definite answer decides at once; no answer keeps a grant only within the outage grace")
    func rule() {
        let grace = GrantRevalidation.outageGrace
        #expect(GrantRevalidation.decide(.current, confirmedAt: 0, now: 10 * grace))
        #expect(!GrantRevalidation.decide(.ended("token_revoked"), confirmedAt: 100, now: 100))
        #expect(GrantRevalidation.decide(.unreachable, confirmedAt: 100, now: 100 + grace))
        #expect(!GrantRevalidation.decide(.unreachable, confirmedAt: 100, now: 100 + grace + 1))
    }

    /// A data directory with one available image, and a grant for it signed by the active key.
    final class World {
        let dir = NSTemporaryDirectory() + "imagegate-grant-" + UUID().uuidString
        let clock = ManualClock(1_000_000)
        let data: DataDirectory
        let authorizer: DownloadAuthorizer
        let image: ImageRecord

        init() throws {
            var s = Settings()
            s.dataDir = dir
            data = try DataDirectory.open(s, clock: clock)
            authorizer = DownloadAuthorizer(
                codec: TokenCodec(deploymentID: data.keys.deploymentID), keys: data.keys, store: data.store,
                clock: clock, maxLifetime: 86_400)
            image = ImageRecord(
                id: ImageRecord.newID(), tenant: .defaultTenant, name: "disk", fileName: "disk.img", format: .raw,
                size: 3, status: .available, generation: 1, createdAt: 1, updatedAt: 1)
            try data.store.insert(image, lease: nil)
        }
        deinit {
            data.close()
            try? FileManager.default.removeItem(atPath: dir)
        }

        func grant(generation: UInt32? = nil, expiresAt: Int64 = 2_000_000) -> DownloadGrant {
            DownloadGrant(
                image: image.id, generation: generation ?? image.generation, tenant: image.tenant,
                serial: ID128(bytes: Crypto.randomBytes(16))!, keyID: data.keys.keyring().active.kid,
                expiresAt: expiresAt, protocols: ProtocolSet.all.rawValue, fileName: image.fileName, logID: "igt1.test",
                confirmedAt: clock.now())
        }

        func valid(_ g: DownloadGrant, newTransfer: Bool = false) -> Bool {
            authorizer.stillValid(g, newTransfer: newTransfer, logger: Logger(minimum: .error))
        }
    }

    @Test("revocation, a stale generation and expiry before a new transfer end a session; a live one goes on")
    func definiteAnswers() throws {
        let w = try World()
        let g = w.grant()
        #expect(w.valid(g, newTransfer: true))
        #expect(!w.valid(w.grant(generation: w.image.generation + 1)))
        let expired = w.grant(expiresAt: w.clock.now() - TokenCodec.expirySkew - 1)
        #expect(w.valid(expired, newTransfer: false))  // a transfer under way is not cut by expiry
        #expect(!w.valid(expired, newTransfer: true))  // but no new one starts
        try w.data.store.revoke(serial: g.serial, expiresAt: g.expiresAt)
        #expect(!w.valid(g))
    }

    @Test("a catalog that stops answering: the session goes on for the grace, then ends (fail closed)")
    func catalogOutage() throws {
        let w = try World()
        let g = w.grant()
        #expect(w.valid(g))
        w.data.store.close()  // every catalog call now fails
        w.clock.advance(GrantRevalidation.outageGrace)
        #expect(w.valid(g))
        w.clock.advance(1)
        #expect(!w.valid(g))
    }
}
