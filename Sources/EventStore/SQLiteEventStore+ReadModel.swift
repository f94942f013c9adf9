import Foundation
import NIOCore
import NIOFoundationEssentialsCompat
import SQLiteNIO

extension SQLiteEventStore: DecidesReadModelBatchesAhead {
    public func withReadModelTransaction<Result: Sendable>(
        _ body: @Sendable (any ReadModelConnection) async throws -> Result
    ) async throws -> Result {
        let result = try await withWriteTransaction { connection in
            try await body(SQLiteReadModelConnection(connection: connection))
        }
        return result
    }

    /// On a connection of its own, one batch at a time. A statement started beside another one on the same
    /// connection reads that one's snapshot (see ``withReader(_:)``): on the read models' reader, beside a
    /// long console query or another runner's reads, a catch-up could read a log older than its own start
    /// and miss an event committed before it began, with no checkpoint moved to show it. Here the batch's
    /// first read starts afresh, and the batch's own reads only share snapshots with each other.
    public func withReadModelReads<Result: Sendable>(
        _ body: @Sendable (any ReadModelConnection) async throws -> Result
    ) async throws -> Result {
        try await using(readModelDecider, lockedBy: readModelDeciderLock) { try await body(SQLiteReadModelConnection(connection: $0)) }
    }

    /// One body at a time: a statement started beside another one on the same connection reads that one's
    /// snapshot (see ``withReader(_:)``), so a list asked for right after a catch-up could otherwise show the
    /// read model as it was before, while a long query (an export's page, a report) still ran.
    public func withReadModelConnection<Result: Sendable>(
        _ body: @Sendable (any ReadModelConnection) async throws -> Result
    ) async throws -> Result {
        try await using(readModelReader, lockedBy: readModelReaderLock) { try await body(SQLiteReadModelConnection(connection: $0)) }
    }

    /// Applies the built-in migrations (or `migrations`, for tests) that this database lacks.
    public func migrate(_ migrations: [Migration]?) async throws -> MigrationReport {
        try await Migrator.migrate(SQLiteMigrationBackend(store: self), migrations: migrations ?? MigrationCatalog.migrations(for: .sqlite))
    }

    /// The built-in migrations (or `migrations`) this database has not applied yet; an error if one was altered.
    public func pendingMigrations(_ migrations: [Migration]?) async throws -> [Migration] {
        let all = try migrations ?? MigrationCatalog.migrations(for: .sqlite)
        let applied = try await mappingErrors {
            try await using(readModelReader, lockedBy: readModelReaderLock) { try await SQLiteMigrationBackend.recordedMigrations(on: $0) }
        }
        try Migrator.verify(applied: applied, against: all)
        let versions = Set(applied.map(\.version))
        return all.filter { !versions.contains($0.version) }
    }
}

/// A read-model connection over one SQLite connection.
struct SQLiteReadModelConnection: ReadModelConnection {
    let connection: SQLiteConnection
    var dialect: SQLDialect { .sqlite }

    func execute(_ sql: String, _ binds: [SQLValue]) async throws {
        _ = try await connection.query(sql, binds.map(\.sqliteData))
    }

    /// A real number read from a read-model column, which holds none but a sum that overflowed.
    static func wholeNumber(_ value: Double, column: String) throws -> Int64 {
        guard let whole = Int64(exactly: value) else {
            throw EventStoreError(.unexpectedRow, "read-model column \(column) holds \(value), not a 64-bit integer")
        }
        return whole
    }

    func query(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow] {
        try await connection.query(sql, binds.map(\.sqliteData)).map { row in
            try row.columns.map { column in
                switch column.data {
                case .integer(let value): .integer(Int64(value))
                // Read models hold no real numbers: SQLite stores a sum that overflowed 64 bits as one, which
                // is refused here rather than trapped on.
                case .float(let value): .integer(try Self.wholeNumber(value, column: column.name))
                case .text(let value): .text(value)
                case .blob(let value): .blob(Data(buffer: value))
                case .null: .null
                }
            }
        }
    }
}

extension SQLValue {
    var sqliteData: SQLiteData {
        switch self {
        case .null: .null
        case .integer(let value): .integer(Int(value))
        case .text(let value): .text(value)
        case .blob(let value): .blob(ByteBuffer(data: value))
        }
    }
}

/// Migrations on SQLite run in one `BEGIN IMMEDIATE` transaction, which also keeps a second process out.
struct SQLiteMigrationBackend: MigrationBackend {
    let store: SQLiteEventStore

    func withMigrationLock<Result: Sendable>(_ body: @Sendable () async throws -> Result) async throws -> Result {
        try await store.withWriteTransaction { connection in
            _ = try await connection.query(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at_micros INTEGER NOT NULL)"
            )
            return try await body()
        }
    }

    func appliedMigrations() async throws -> [AppliedMigration] {
        // The migration lock is the writer's transaction: read through the writer.
        try await Self.recordedMigrations(on: store.writer)
    }

    /// The rows of `schema_migrations`, or none if the table does not exist yet.
    static func recordedMigrations(on connection: SQLiteConnection) async throws -> [AppliedMigration] {
        let exists = try await connection.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
        guard !exists.isEmpty else { return [] }
        return try await connection.query("SELECT version, name, checksum FROM schema_migrations ORDER BY version").map { row in
            AppliedMigration(
                version: row.columns[0].data.integer ?? 0,
                name: row.columns[1].data.string ?? "",
                checksum: row.columns[2].data.string ?? ""
            )
        }
    }

    func apply(_ migration: Migration, statements: [String]) async throws {
        for statement in statements {
            _ = try await store.writer.query(statement)
        }
        _ = try await store.writer.query(
            "INSERT INTO schema_migrations (version, name, checksum, applied_at_micros) VALUES (?, ?, ?, ?)",
            [.integer(migration.version), .text(migration.name), .text(migration.checksum), .integer(Int(SQLiteEventStore.micros(store.now())))]
        )
    }
}
