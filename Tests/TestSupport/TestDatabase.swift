public import EventStore
public import Foundation
import LedgerService
import Logging
import PostgresNIO

/// The two backends every conformance test runs against.
public enum Backend: String, Sendable, CaseIterable, CustomStringConvertible {
    case sqlite
    case postgres

    public var description: String { rawValue }
}

/// Gives each test a fresh, empty, migrated database: a new SQLite file, or a new PostgreSQL database on
/// the cluster named by `LEDGER_TEST_POSTGRES_URL` (`scripts/test` starts one when it is unset).
public enum TestDatabase {
    /// The variable naming the PostgreSQL cluster tests use.
    public static let postgresURLVariable = "LEDGER_TEST_POSTGRES_URL"

    /// A fresh database URL for `backend`. PostgreSQL tests fail, never skip, when no cluster is given.
    /// `postgresEncoding` makes a PostgreSQL database in another encoding than UTF8.
    /// A new, empty database. On PostgreSQL, `postgresEncoding` makes it in that encoding, and `postgresICULocale`
    /// makes ICU's collation for that locale its default (the test cluster's own compares bytes).
    public static func freshURL(_ backend: Backend, postgresEncoding: String? = nil, postgresICULocale: String? = nil) async throws -> DatabaseURL {
        switch backend {
        case .sqlite:
            let folder = TestScratch.folder.appendingPathComponent("ledger-tests-\(UUID().uuidString)")
            return .sqlite(path: folder.appendingPathComponent("ledger.sqlite").path)
        case .postgres:
            var settings = try adminSettings()
            let name = "ledger_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
            try await withAdminConnection(settings) { connection in
                let options = postgresEncoding.map { " ENCODING '\($0)' TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'" }
                    ?? postgresICULocale.map { " TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE '\($0)'" } ?? ""
                _ = try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)\(options)"), logger: logger).collect()
            }
            settings.database = String(name)
            return .postgres(settings)
        }
    }

    /// Opens a store on a fresh database, migrates it, runs `body`, and closes it.
    public static func withStore<Result>(
        _ backend: Backend,
        limits: EventStoreLimits = .standard,
        now: @escaping @Sendable () -> Date = { Date() },
        _ body: (any EventStoreTestHooks, DatabaseURL) async throws -> Result
    ) async throws -> Result {
        let url = try await freshURL(backend)
        let store = try await open(url, limits: limits, now: now)
        _ = try await store.migrateLedger()
        do {
            let result = try await body(store, url)
            await store.close()
            return result
        } catch {
            await store.close()
            throw error
        }
    }

    /// Opens a store on an existing database without migrating.
    public static func open(
        _ url: DatabaseURL, limits: EventStoreLimits = .standard, now: @escaping @Sendable () -> Date = { Date() }
    ) async throws -> any EventStoreTestHooks {
        switch url {
        case .sqlite(let path):
            return try await SQLiteEventStore.open(path: path, limits: limits, now: now, logger: logger)
        case .postgres(let settings):
            return try await PostgresEventStore.open(settings: settings, limits: limits, maximumConnections: 40, now: now, logger: logger)
        }
    }

    /// The cluster's settings, from `LEDGER_TEST_POSTGRES_URL`.
    public static func adminSettings() throws -> DatabaseURL.PostgresSettings {
        guard let text = ProcessInfo.processInfo.environment[postgresURLVariable], !text.isEmpty else {
            throw TestSetupError(
                "\(postgresURLVariable) is not set: PostgreSQL tests need a cluster. Run scripts/test, which starts a throwaway one, or set \(postgresURLVariable)=postgres://user@127.0.0.1:5432/postgres?sslmode=disable"
            )
        }
        guard case .postgres(let settings) = try DatabaseURL(parsing: text) else {
            throw TestSetupError("\(postgresURLVariable) must be a postgres:// URL")
        }
        return settings
    }

    static func withAdminConnection(_ settings: DatabaseURL.PostgresSettings, _ body: (PostgresConnection) async throws -> Void) async throws {
        var configuration = PostgresConnection.Configuration(
            host: settings.host, port: settings.port, username: settings.username, password: settings.password,
            database: settings.database, tls: .disable
        )
        configuration.options.connectTimeout = .seconds(5)
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 99, logger: logger)
        do {
            try await body(connection)
            try await connection.close()
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// PostgreSQL's statistics for the `events` table of the database at `settings`: index scans, and rows
    /// read by sequential scans. Sessions report theirs when they end or go idle, so they lag behind.
    public static func eventsTableScans(_ settings: DatabaseURL.PostgresSettings) async throws -> (indexScans: Int64, sequentialRowsRead: Int64) {
        var scans: (Int64, Int64) = (0, 0)
        try await withAdminConnection(settings) { connection in
            let rows = try await connection.query(
                "SELECT COALESCE(idx_scan, 0), COALESCE(seq_tup_read, 0) FROM pg_stat_user_tables WHERE relname = 'events'",
                logger: logger
            ).collect()
            guard let row = rows.first else { throw TestSetupError("the database \(settings.database) has no events table") }
            scans = try row.decode((Int64, Int64).self)
        }
        return scans
    }

    static let logger = Logger(label: "listing-ledger.tests")
}

/// A test could not be set up; the message says what to do.
public struct TestSetupError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
