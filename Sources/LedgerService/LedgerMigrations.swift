public import EventStore
import Foundation

/// The ledger's schema: one ordered, checksummed sequence of migrations, run at start (and by `migrate`).
///
/// Each module migrates its own tables. EventStore ships the log and the projection checkpoints (`0001`, and
/// `0006` and `0010` on PostgreSQL); LedgerService ships the tables of its services and read models (`0002`–`0005`,
/// `0007` onwards), from `Sources/LedgerService/Migrations/<dialect>/`. The numbers form one sequence, so a
/// database records one history whichever module a migration came from.
public enum LedgerMigrations {
    /// Every migration of `dialect`, the store's and the service's, sorted by version. The files are read once
    /// per process: `/readyz` asks on every probe.
    public static func all(for dialect: SQLDialect) throws -> [Migration] {
        guard let loaded = loaded[dialect] else {
            throw EventStoreError(.migration, "no migrations are known for \(dialect.rawValue)")
        }
        return try loaded.get()
    }

    private static let loaded: [SQLDialect: Result<[Migration], any Error>] = Dictionary(
        uniqueKeysWithValues: SQLDialect.allCases.map { dialect in (dialect, Result { try load(dialect) }) }
    )

    private static func load(_ dialect: SQLDialect) throws -> [Migration] {
        guard let folder = Bundle.module.url(forResource: "Migrations", withExtension: nil)?.appendingPathComponent(dialect.rawValue, isDirectory: true) else {
            throw EventStoreError(.migration, "the service's migrations are missing from this build's resources")
        }
        let merged = (try MigrationCatalog.migrations(for: dialect) + MigrationCatalog.migrations(for: dialect, directory: folder))
            .sorted { $0.version < $1.version }
        for (previous, next) in zip(merged, merged.dropFirst()) where previous.version == next.version {
            throw EventStoreError(.migration, "two migrations share version \(next.version): \(previous.fileName), \(next.fileName)")
        }
        return merged
    }
}

extension EventStore {
    /// Applies every ledger migration this database lacks.
    public func migrateLedger() async throws -> MigrationReport {
        try await migrate(LedgerMigrations.all(for: dialect))
    }

    /// The ledger migrations this database lacks; an error if an applied one was altered or is unknown.
    public func pendingLedgerMigrations() async throws -> [Migration] {
        try await pendingMigrations(LedgerMigrations.all(for: dialect))
    }
}
