import EventStore
import Foundation
import LedgerCore
import LedgerService
import TestSupport
import Testing

/// Each module migrates its own tables, in one ordered sequence.
@Suite("Ledger migrations")
struct LedgerMigrationsTests {
    @Test(arguments: SQLDialect.allCases)
    func theStoreShipsOnlyTheLogAndTheServiceEverythingElseInOneSequence(dialect: SQLDialect) throws {
        let store = try MigrationCatalog.migrations(for: dialect)
        #expect(store.map(\.fileName) == (dialect == .postgres ? ["0001_event_log.sql", "0006_append_batches.sql", "0010_lock_streams.sql", "0019_checkpoint_resets.sql"]
            : ["0001_event_log.sql", "0019_checkpoint_resets.sql"]))
        for migration in store {
            let tables = migration.sql.components(separatedBy: "CREATE TABLE ").dropFirst().compactMap { $0.split(separator: " ").first.map(String.init) }
            #expect(Set(tables).isSubset(of: ["events", "projection_checkpoints", "append_batches"]), "\(migration.fileName): \(tables)")
        }
        let all = try LedgerMigrations.all(for: dialect)
        #expect(all.map(\.version) == all.map(\.version).sorted())
        #expect(Set(all.map(\.version)) == Set(dialect == .postgres ? Array(1...21) : [1, 2, 3, 4, 5, 7, 8, 9, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21]))
    }

    /// A ledger migrated once has nothing pending and applies nothing again.
    @Test(arguments: Backend.allCases)
    func aMigratedLedgerHasNothingPending(backend: Backend) async throws {
        try await TestDatabase.withStore(backend) { store, _ in
            let pending = try await store.pendingLedgerMigrations()
            #expect(pending.isEmpty)
            let again = try await store.migrateLedger()
            #expect(again.applied.isEmpty)
            #expect(again.alreadyApplied == (backend == .postgres ? 21 : 19))
        }
    }

    /// Migration 0020 on a ledger with history: the listing read model is emptied, and takes the log in again
    /// to the same rows.
    @Test(arguments: Backend.allCases)
    func theListingReadModelIsFilledAgainAfterMigration20(backend: Backend) async throws {
        let url = try await TestDatabase.freshURL(backend)
        let store = try await TestDatabase.open(url)
        do {
            let before20 = try LedgerMigrations.all(for: store.dialect).filter { $0.version < 20 }
            _ = try await store.migrate(before20)
            let clock = TestClock(Date(timeIntervalSince1970: 1_780_000_000)) // 2026-05-28
            let profiles = ProfileService(store: store, policy: .standard, now: clock.function)
            for (index, date) in ["2025-03-01", "2026-02-01", "2026-05-20"].enumerated() {
                let id = try ProfileID("mg-\(index)")
                _ = try await profiles.handle(.register(kind: .mediator, displayName: "M \(index)", contactEmail: "m\(index)@example.org"), profileID: id, metadata: .init(actor: "test"))
                _ = try await profiles.handle(.changeCertification(.grant, reason: "ok"), profileID: id, metadata: .init(actor: "test"))
                _ = try await profiles.recordOfflinePayment(
                    profileID: id, amount: .euros(minorUnits: 12_500), date: LocalDate(iso: date)!, purpose: .listing, note: "", metadata: .init(actor: "test"), idempotencyKey: nil
                )
            }
            let projection = ListingProjection(base: .standard, now: clock.function)
            let queries = ListingQueries(store: store, projection: projection, calendar: .amsterdam, now: clock.function)
            let rows = try await queries.list(status: nil, expiringWithinDays: nil, limit: 10, offset: 0)
            #expect(rows.map(\.status) == ["expired", "active", "active"], "\(rows)")

            let report = try await store.migrateLedger()
            #expect(report.applied.first == "0020_listing_folds_the_policy.sql", "\(report.applied)")
            let emptied = try await store.withReadModelConnection { connection in
                try await connection.query("SELECT COUNT(*) FROM listing_status", []).first.map { try $0.integer(0) }
            }
            #expect(emptied == 0)
            #expect(try await ProjectionRunner(store: store, projection: projection).checkpoint() == .start)

            // A new instance's fold takes the log in again, to the rows it had.
            let again = ListingQueries(store: store, projection: ListingProjection(base: .standard, now: clock.function), calendar: .amsterdam, now: clock.function)
            #expect(try await again.list(status: nil, expiringWithinDays: nil, limit: 10, offset: 0) == rows)
        } catch {
            await store.close()
            throw error
        }
        await store.close()
    }
}
