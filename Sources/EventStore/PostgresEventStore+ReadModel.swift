import Foundation
import Logging
import NIOCore
import NIOFoundationEssentialsCompat
import PostgresNIO

extension PostgresEventStore {
    public func withReadModelTransaction<Result: Sendable>(
        _ body: @Sendable (any ReadModelConnection) async throws -> Result
    ) async throws -> Result {
        try await mappingErrors {
            try await client.transaction(logger: logger) { connection in
                try await body(PostgresReadModelConnection(connection: connection, logger: logger))
            }
        }
    }

    public func withReadModelConnection<Result: Sendable>(
        _ body: @Sendable (any ReadModelConnection) async throws -> Result
    ) async throws -> Result {
        try await mappingErrors {
            try await client.withOpenConnection { connection in
                try await body(PostgresReadModelConnection(connection: connection, logger: logger))
            }
        }
    }

    /// A read-only transaction at `REPEATABLE READ`: its snapshot is taken by its first query. It has no
    /// transaction id, so it delays no reader of the log (see ``PostgresEventStore``).
    public func withReadModelSnapshot<Result: Sendable>(
        _ body: (any ReadModelConnection) async throws -> Result
    ) async throws -> Result {
        try await mappingErrors {
            try await client.withOpenConnection { connection in
                try await connection.transaction(logger: logger, isolationLevel: "ISOLATION LEVEL REPEATABLE READ, READ ONLY") { connection in
                    try await body(PostgresReadModelConnection(connection: connection, logger: logger))
                }
            }
        }
    }

    /// Applies the built-in migrations (or `migrations`, for tests) this database lacks, under an advisory
    /// lock so two instances starting at once do not both migrate.
    public func migrate(_ migrations: [Migration]?) async throws -> MigrationReport {
        let migrations = try migrations ?? MigrationCatalog.migrations(for: .postgres)
        return try await mappingErrors {
            try await client.withOpenConnection { connection in
                try await Migrator.migrate(PostgresMigrationBackend(connection: connection, logger: logger), migrations: migrations)
            }
        }
    }

    /// The built-in migrations (or `migrations`) this database has not applied yet; an error if one was altered.
    public func pendingMigrations(_ migrations: [Migration]?) async throws -> [Migration] {
        let all = try migrations ?? MigrationCatalog.migrations(for: .postgres)
        let applied = try await mappingErrors {
            try await client.withOpenConnection { connection in
                try await PostgresMigrationBackend(connection: connection, logger: logger).recordedMigrations()
            }
        }
        try Migrator.verify(applied: applied, against: all)
        let versions = Set(applied.map(\.version))
        return all.filter { !versions.contains($0.version) }
    }
}

/// A read-model connection over one PostgreSQL connection; numbers `?` placeholders as `$1`, `$2`, ….
struct PostgresReadModelConnection: ReadModelConnection, @unchecked Sendable {
    // @unchecked: PostgresConnection is Sendable, Logger is Sendable; the wrapper only forwards to them.
    let connection: PostgresConnection
    let logger: Logger
    var dialect: SQLDialect { .postgres }

    func execute(_ sql: String, _ binds: [SQLValue]) async throws {
        _ = try await connection.openQuery(Self.query(sql, binds), logger: logger).collect()
    }

    func query(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow] {
        var rows: [SQLRow] = []
        for try await row in try await connection.openQuery(Self.query(sql, binds), logger: logger) {
            rows.append(try row.map(Self.value))
        }
        return rows
    }

    static func query(_ sql: String, _ binds: [SQLValue]) -> PostgresQuery {
        var numbered = ""
        numbered.reserveCapacity(sql.utf8.count + binds.count * 2)
        var index = 0
        var inString = false
        for character in sql {
            if character == "'" { inString.toggle() }
            if character == "?", !inString {
                index += 1
                numbered += "$\(index)"
            } else {
                numbered.append(character)
            }
        }
        var bindings = PostgresBindings(capacity: binds.count)
        for bind in binds {
            switch bind {
            case .null: bindings.appendNull()
            case .integer(let value): bindings.append(value)
            case .text(let value): bindings.append(value)
            case .blob(let value): bindings.append(ByteBuffer(data: value))
            }
        }
        return PostgresQuery(unsafeSQL: numbered, binds: bindings)
    }

    static func value(_ cell: PostgresCell) throws -> SQLValue {
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .int8: return .integer(try cell.decode(Int64.self))
        case .int4: return .integer(Int64(try cell.decode(Int32.self)))
        case .int2: return .integer(Int64(try cell.decode(Int16.self)))
        case .bool: return .integer(try cell.decode(Bool.self) ? 1 : 0)
        case .bytea: return .blob(Data(buffer: try cell.decode(ByteBuffer.self)))
        default: return .text(try cell.decode(String.self))
        }
    }
}

/// Migrations on PostgreSQL: each in its own transaction, the whole run under an advisory lock.
struct PostgresMigrationBackend: MigrationBackend, @unchecked Sendable {
    // @unchecked: see PostgresReadModelConnection.
    let connection: PostgresConnection
    let logger: Logger
    /// An arbitrary constant naming the ledger's migration lock.
    static let advisoryLockKey: Int64 = 0x4C45_4447_4552_0001

    func withMigrationLock<Result: Sendable>(_ body: @Sendable () async throws -> Result) async throws -> Result {
        _ = try await connection.openQuery("SELECT pg_advisory_lock(\(Self.advisoryLockKey))", logger: logger).collect()
        do {
            _ = try await connection.openQuery(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, checksum TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
                logger: logger
            ).collect()
            let result = try await body()
            _ = try await connection.openQuery("SELECT pg_advisory_unlock(\(Self.advisoryLockKey))", logger: logger).collect()
            return result
        } catch {
            _ = try? await connection.openQuery("SELECT pg_advisory_unlock(\(Self.advisoryLockKey))", logger: logger).collect()
            throw error
        }
    }

    func appliedMigrations() async throws -> [AppliedMigration] {
        try await recordedMigrations()
    }

    /// The rows of `schema_migrations`, or none if the table does not exist yet.
    func recordedMigrations() async throws -> [AppliedMigration] {
        let exists = try await connection.openQuery("SELECT to_regclass('schema_migrations') IS NOT NULL", logger: logger)
            .collect().first?.decode(Bool.self) ?? false
        guard exists else { return [] }
        var applied: [AppliedMigration] = []
        for try await (version, name, checksum) in try await connection.openQuery(
            "SELECT version, name, checksum FROM schema_migrations ORDER BY version", logger: logger
        ).decode((Int32, String, String).self) {
            applied.append(AppliedMigration(version: Int(version), name: name, checksum: checksum))
        }
        return applied
    }

    func apply(_ migration: Migration, statements: [String]) async throws {
        try await connection.transaction(logger: logger) { connection in
            for statement in statements {
                _ = try await connection.openQuery(PostgresQuery(unsafeSQL: statement), logger: logger).collect()
            }
            _ = try await connection.openQuery(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES (\(Int32(migration.version)), \(migration.name), \(migration.checksum))",
                logger: logger
            ).collect()
        }
    }
}
