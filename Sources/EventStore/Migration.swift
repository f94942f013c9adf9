public import Foundation
import Crypto

/// The SQL dialect of a backend; each has its own folder of migrations.
public enum SQLDialect: String, Sendable, CaseIterable {
    case sqlite
    case postgres
}

/// One schema migration: `NNNN_name.sql`, applied once, in order, and never edited after release.
public struct Migration: Sendable, Hashable {
    /// The number the file name starts with.
    public var version: Int
    /// The rest of the file name, without `.sql`.
    public var name: String
    /// The file's SQL.
    public var sql: String
    /// SHA-256 of the file's bytes, lowercase hex.
    public var checksum: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
        self.checksum = SHA256.hash(data: Data(sql.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// The migration's file name.
    public var fileName: String { String(format: "%04d_%@.sql", version, name) }
}

/// A migration recorded as applied in `schema_migrations`.
public struct AppliedMigration: Sendable, Hashable {
    public var version: Int
    public var name: String
    public var checksum: String
}

/// The migrations shipped with this build, read from `migrations/<dialect>/`.
public enum MigrationCatalog {
    /// Loads every migration of a dialect, sorted by version.
    ///
    /// - Parameter directory: a folder holding `NNNN_name.sql` files; defaults to the copy built into the
    ///   executable's resources.
    public static func migrations(for dialect: SQLDialect, directory: URL? = nil) throws -> [Migration] {
        guard let folder = directory ?? Bundle.module.url(forResource: "Migrations", withExtension: nil)?
            .appendingPathComponent(dialect.rawValue, isDirectory: true)
        else {
            throw EventStoreError(.migration, "the built-in migrations are missing from this build's resources")
        }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
        } catch {
            throw EventStoreError(.migration, "cannot read migrations in \(folder.path)", underlying: error)
        }
        var migrations: [Migration] = []
        for fileName in names where fileName.hasSuffix(".sql") {
            let stem = fileName.dropLast(4)
            guard let separator = stem.firstIndex(of: "_"), let version = Int(stem[..<separator]), version > 0 else {
                throw EventStoreError(.migration, "migration file '\(fileName)' is not named NNNN_name.sql")
            }
            let sql = try String(contentsOf: folder.appendingPathComponent(fileName), encoding: .utf8)
            migrations.append(Migration(version: version, name: String(stem[stem.index(after: separator)...]), sql: sql))
        }
        migrations.sort { $0.version < $1.version }
        for (previous, next) in zip(migrations, migrations.dropFirst()) where previous.version == next.version {
            throw EventStoreError(.migration, "two migrations share version \(next.version): \(previous.fileName), \(next.fileName)")
        }
        return migrations
    }
}

/// What a backend provides so ``Migrator`` can run the same procedure everywhere.
protocol MigrationBackend: Sendable {
    /// Runs `body` while holding a lock that keeps other processes from migrating at the same time.
    func withMigrationLock<Result: Sendable>(_ body: @Sendable () async throws -> Result) async throws -> Result
    /// Creates `schema_migrations` if needed and returns its rows.
    func appliedMigrations() async throws -> [AppliedMigration]
    /// Runs the migration's statements and records it, in one transaction.
    func apply(_ migration: Migration, statements: [String]) async throws
}

/// The outcome of a migration run.
public struct MigrationReport: Sendable, Hashable {
    /// Migrations applied by this run, in order.
    public var applied: [String]
    /// How many were applied before.
    public var alreadyApplied: Int
}

/// Applies pending migrations in order and refuses to start on an altered or unknown one.
enum Migrator {
    static func migrate(_ backend: some MigrationBackend, migrations: [Migration]) async throws -> MigrationReport {
        try await backend.withMigrationLock {
            let applied = try await backend.appliedMigrations()
            try verify(applied: applied, against: migrations)
            let appliedVersions = Set(applied.map(\.version))
            var report = MigrationReport(applied: [], alreadyApplied: applied.count)
            for migration in migrations where !appliedVersions.contains(migration.version) {
                do {
                    try await backend.apply(migration, statements: SQLScript.statements(in: migration.sql))
                } catch {
                    throw EventStoreError(.migration, "migration \(migration.fileName) failed and was rolled back", underlying: error)
                }
                report.applied.append(migration.fileName)
            }
            return report
        }
    }

    static func verify(applied: [AppliedMigration], against migrations: [Migration]) throws {
        let known = Dictionary(uniqueKeysWithValues: migrations.map { ($0.version, $0) })
        for record in applied {
            guard let migration = known[record.version] else {
                throw EventStoreError(
                    .migration,
                    "the database has migration \(record.version) (\(record.name)), which this build does not know: it was migrated by a newer version"
                )
            }
            guard migration.checksum == record.checksum else {
                throw EventStoreError(
                    .migration,
                    "migration \(migration.fileName) was edited after it was applied (checksum \(record.checksum.prefix(12))… in the database, \(migration.checksum.prefix(12))… in this build); restore the file and add a new migration instead"
                )
            }
        }
    }
}
