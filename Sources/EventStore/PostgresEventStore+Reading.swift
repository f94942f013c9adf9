import Foundation
import NIOCore
import NIOFoundationEssentialsCompat
import PostgresNIO
import Logging

extension PostgresEventStore {
    private static let eventColumns = PostgresEventRow.packedColumn

    public func readStream(_ stream: String, fromVersion version: Int64, limit: Int) async throws -> [RecordedEvent] {
        try limits.validateRead(limit: limit)
        return try await mappingErrors {
            let query: PostgresQuery = """
                SELECT \(unescaped: Self.eventColumns) FROM events
                 WHERE stream = \(stream) AND version >= \(version)
                 ORDER BY version LIMIT \(Int64(limit))
                """
            return try await client.withOpenConnection { connection in
                try await PostgresEventRow.decodeEvents(connection.openQuery(query, logger: logger))
            }
        }
    }

    public func readStreams(_ streams: [String], upToVersion maxVersion: Int64) async throws -> [String: [RecordedEvent]] {
        try limits.validateRead(streams: streams.count, upToVersion: maxVersion)
        let distinct = Array(Set(streams))
        guard !distinct.isEmpty else { return [:] }
        return try await mappingErrors {
            let query: PostgresQuery = """
                SELECT \(unescaped: Self.eventColumns) FROM events
                 WHERE stream = ANY(\(distinct)) AND version <= \(maxVersion)
                 ORDER BY stream, version
                """
            let events = try await client.withOpenConnection { connection in
                try await PostgresEventRow.decodeEvents(connection.openQuery(query, logger: logger))
            }
            return Dictionary(grouping: events, by: \.stream)
        }
    }

    public func readAll(after cursor: LogCursor, limit: Int) async throws -> [RecordedEvent] {
        try limits.validateRead(limit: limit)
        return try await mappingErrors {
            try await client.transaction(logger: logger) { connection in
                try await Self.readAll(after: cursor, limit: limit, on: connection, logger: logger)
            }
        }
    }

    /// Reads inside the read model's transaction. Sorting stays switched off for the rest of that transaction
    /// (see ``readAll(after:limit:on:logger:)``); read models look rows up by key and never need it.
    public func readAll(after cursor: LogCursor, limit: Int, in connection: any ReadModelConnection) async throws -> [RecordedEvent] {
        try limits.validateRead(limit: limit)
        guard let connection = connection as? PostgresReadModelConnection else {
            preconditionFailure("a PostgreSQL store reads only through its own read-model connection")
        }
        return try await mappingErrors {
            try await Self.readAll(after: cursor, limit: limit, on: connection.connection, logger: logger)
        }
    }

    /// Reads the log in order along its commit-order index, inside a transaction.
    ///
    /// The planner guesses how many events lie past the cursor from generic selectivities (or from statistics
    /// not yet gathered); when it guesses few, a large batch looks cheaper as "every later event, then sort",
    /// which reads the whole rest of the log for every batch. With sorting off for the transaction, the index
    /// scan, which yields the order by itself, is the plan.
    private static func readAll(after cursor: LogCursor, limit: Int, on connection: PostgresConnection, logger: Logger) async throws -> [RecordedEvent] {
        try await readInLogOrder(on: connection, logger: logger)
        return try await PostgresEventRow.decodeEvents(connection.openQuery(readAllQuery(after: cursor, limit: limit), logger: logger))
    }

    /// Switches sorting off for the rest of the transaction on `connection`.
    private static func readInLogOrder(on connection: PostgresConnection, logger: Logger) async throws {
        _ = try await connection.openQuery("SET LOCAL enable_sort = off", logger: logger)
    }

    /// How PostgreSQL would read a batch of the log, as ``readAll(after:limit:)`` runs it.
    func readAllPlan(after cursor: LogCursor, limit: Int) async throws -> String {
        try await mappingErrors {
            try await client.transaction(logger: logger) { connection in
                try await Self.readInLogOrder(on: connection, logger: logger)
                let query = Self.readAllQuery(after: cursor, limit: limit)
                let explain = PostgresQuery(unsafeSQL: "EXPLAIN " + query.sql, binds: query.binds)
                var lines: [String] = []
                for try await row in try await connection.openQuery(explain, logger: logger) {
                    lines.append(try row.decode(String.self))
                }
                return lines.joined(separator: "\n")
            }
        }
    }

    /// Events after `cursor` whose transactions are all finished: below the snapshot's xmin no transaction
    /// is still running, so nothing can later commit there.
    private static func readAllQuery(after cursor: LogCursor, limit: Int) -> PostgresQuery {
        """
        SELECT \(unescaped: eventColumns) FROM events
         WHERE (transaction_id, position) > (\(String(cursor.commitOrder))::xid8, \(cursor.position))
           AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
         ORDER BY transaction_id, position
         LIMIT \(Int64(limit))
        """
    }

    public func headCursor() async throws -> LogCursor {
        try await mappingErrors {
            let rows = try await client.rows(
                """
                SELECT transaction_id::text AS commit_order, position FROM events
                 WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot())
                 ORDER BY transaction_id DESC, position DESC LIMIT 1
                """,
                logger: logger
            )
            guard let row = rows.first else { return .start }
            let (order, position) = try row.decode((String, Int64).self)
            return LogCursor(commitOrder: Int64(order) ?? 0, position: position)
        }
    }

    public var appendGeneration: UInt64 { signal.generation }

    public func waitForAppends(since generation: UInt64, timeout: Duration) async -> UInt64 {
        await signal.wait(since: generation, timeout: timeout)
    }
}
