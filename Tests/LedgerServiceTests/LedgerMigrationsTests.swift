import EventStore
import Foundation
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
        #expect(Set(all.map(\.version)) == Set(dialect == .postgres ? Array(1...20) : [1, 2, 3, 4, 5, 7, 8, 9, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]))
    }

    /// A ledger migrated once has nothing pending and applies nothing again.
    @Test(arguments: Backend.allCases)
    func aMigratedLedgerHasNothingPending(backend: Backend) async throws {
        try await TestDatabase.withStore(backend) { store, _ in
            let pending = try await store.pendingLedgerMigrations()
            #expect(pending.isEmpty)
            let again = try await store.migrateLedger()
            #expect(again.applied.isEmpty)
            #expect(again.alreadyApplied == (backend == .postgres ? 20 : 18))
        }
    }
}
