import EventStore
import Foundation
import LedgerService
import TestSupport
import Testing

@Suite("API key store")
struct APIKeyStoreTests {
    @Test(arguments: Backend.allCases)
    func keysAuthenticateUntilRevokedAndOnlyAHashIsStored(backend: Backend) async throws {
        try await TestDatabase.withStore(backend) { store, _ in
            let keys = APIKeyStore(store: store, pepper: "pepper")
            let created = try await keys.create(name: "Directory", role: .directory)
            #expect(created.key.hasPrefix("llk_\(created.record.keyID)_"))
            #expect(try await keys.authenticate(created.key) == APICaller(keyID: created.record.keyID, name: "Directory", role: .directory))

            let secret = String(created.key.split(separator: "_", maxSplits: 2).last!)
            let stored = try await store.withReadModelConnection { connection in
                try await connection.query("SELECT secret_hash FROM api_keys", [])
            }
            #expect(stored.count == 1)
            #expect(stored[0][0].blob != Data(secret.utf8))
            #expect(stored[0][0].blob?.count == 32)

            // The same key under another pepper is worthless.
            #expect(try await APIKeyStore(store: store, pepper: "other").authenticate(created.key) == nil)

            #expect(try await keys.revoke(keyID: created.record.keyID))
            #expect(try await keys.revoke(keyID: created.record.keyID))
            #expect(try await keys.authenticate(created.key) == nil)
            #expect(try await keys.revoke(keyID: "unknown") == false)
            #expect(try await keys.list().first?.revokedAt != nil)
        }
    }

    /// Key ids are typed on command lines (`keys revoke ID`): one starting with '-' was read as an option.
    @Test
    func keyIDsAreHexSoACommandLineNeverTakesThemForOptions() async throws {
        try await TestDatabase.withStore(.sqlite) { store, _ in
            let keys = APIKeyStore(store: store, pepper: "pepper")
            for index in 0..<200 {
                let created = try await keys.create(name: "key \(index)", role: .website)
                #expect(created.record.keyID.count == 18)
                #expect(created.record.keyID.allSatisfy { $0.isHexDigit && !$0.isUppercase })
            }
        }
    }

    @Test
    func malformedKeysAndNamesAreRejected() async throws {
        try await TestDatabase.withStore(.sqlite) { store, _ throws in
            let keys = APIKeyStore(store: store, pepper: "pepper")
            for malformed in ["", "llk", "llk__", "Bearer x", "llk_" + String(repeating: "a", count: 40) + "_x"] {
                let caller = try await keys.authenticate(malformed)
                #expect(caller == nil)
            }
            await #expect(throws: APIKeyError.self) { _ = try await keys.create(name: "  ", role: .staff) }
            await #expect(throws: APIKeyError.self) { _ = try await keys.create(name: String(repeating: "n", count: 101), role: .staff) }
            #expect(try await keys.list().isEmpty)
        }
    }
}
