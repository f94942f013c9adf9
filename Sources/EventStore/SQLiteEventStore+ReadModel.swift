import Foundation
import Synchronization

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

    /// On a connection opened for it and closed after: the one reader of the read models stays free for the
    /// console's pages, however long `body` takes. SQLite takes the snapshot at the transaction's first read.
    public func withReadModelSnapshot<Result: Sendable>(
        _ body: (any ReadModelConnection) async throws -> Result
    ) async throws -> Result {
        guard !closed.withLock({ $0 }) else { throw closedError }
        let connection = try await SQLiteHandle.open(path: path, threadPool: threadPool)
        do {
            try await connection.run { try $0.execute("BEGIN") }
            let result = try await body(SQLiteReadModelConnection(connection: connection))
            try await connection.run { try $0.execute("COMMIT") }
            await connection.close()
            return result
        } catch {
            await connection.close()
            throw error
        }
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
    let connection: SQLiteHandle
    var dialect: SQLDialect { .sqlite }

    func execute(_ sql: String, _ binds: [SQLValue]) async throws {
        let binds = binds.map(\.sqliteValue)
        try await connection.run { try $0.execute(sql, binds) }
    }

    /// All in one turn on the connection's thread.
    func execute(_ statements: [ReadModelStatement]) async throws {
        try await connection.run { connection in
            for statement in statements { try connection.execute(statement.sql, statement.binds.map(\.sqliteValue)) }
        }
    }

    /// A real number read from a read-model column, which holds none but a sum that overflowed.
    static func wholeNumber(_ value: Double, column: String) throws -> Int64 {
        guard let whole = Int64(exactly: value) else {
            throw EventStoreError(.unexpectedRow, "read-model column \(column) holds \(value), not a 64-bit integer")
        }
        return whole
    }

    func query(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow] {
        let binds = binds.map(\.sqliteValue)
        return try await connection.run { connection in
            try connection.rows(sql, binds) { columns in
                try (0..<columns.count).map { column in
                    switch columns.value(column) {
                    case .integer(let value): .integer(value)
                    // Read models hold no real numbers: SQLite stores a sum that overflowed 64 bits as one, which
                    // is refused here rather than trapped on.
                    case .real(let value): .integer(try Self.wholeNumber(value, column: columns.name(column)))
                    case .text(let value): .text(value)
                    case .blob(let value): .blob(value)
                    case .null: .null
                    }
                }
            }
        }
    }
}

extension SQLValue {
    var sqliteValue: SQLiteValue {
        switch self {
        case .null: .null
        case .integer(let value): .integer(value)
        case .text(let value): .text(value)
        case .blob(let value): .blob(value)
        }
    }
}

/// Migrations on SQLite run in one `BEGIN IMMEDIATE` transaction, which also keeps a second process out.
struct SQLiteMigrationBackend: MigrationBackend {
    let store: SQLiteEventStore

    func withMigrationLock<Result: Sendable>(_ body: @Sendable () async throws -> Result) async throws -> Result {
        try await store.withWriteTransaction { connection in
            try await connection.run { try $0.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at_micros INTEGER NOT NULL)"
            ) }
            return try await body()
        }
    }

    func appliedMigrations() async throws -> [AppliedMigration] {
        // The migration lock is the writer's transaction: read through the writer.
        try await Self.recordedMigrations(on: store.writer)
    }

    /// The rows of `schema_migrations`, or none if the table does not exist yet.
    static func recordedMigrations(on connection: SQLiteHandle) async throws -> [AppliedMigration] {
        try await connection.run { connection in
            let exists = try connection.rows("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
            guard !exists.isEmpty else { return [] }
            return try connection.rows("SELECT version, name, checksum FROM schema_migrations ORDER BY version", []) { columns in
                guard let version = columns.integer(0), let name = columns.text(1), let checksum = columns.text(2) else {
                    throw EventStoreError(.unexpectedRow, "a row of schema_migrations cannot be read; the database is damaged")
                }
                return AppliedMigration(version: Int(version), name: name, checksum: checksum)
            }
        }
    }

    func apply(_ migration: Migration, statements: [String]) async throws {
        let appliedAt = SQLiteEventStore.micros(store.now())
        try await store.writer.run { writer in
            for statement in statements {
                try writer.execute(statement)
            }
            try writer.execute(
                "INSERT INTO schema_migrations (version, name, checksum, applied_at_micros) VALUES (?, ?, ?, ?)",
                [.integer(Int64(migration.version)), .text(migration.name), .text(migration.checksum), .integer(appliedAt)]
            )
        }
    }
}
