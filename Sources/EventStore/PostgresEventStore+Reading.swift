import Foundation
import NIOCore
import NIOFoundationEssentialsCompat
import PostgresNIO

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
            return try await PostgresEventRow.decodeEvents(client.query(query, logger: logger))
        }
    }

    public func readAll(after cursor: LogCursor, limit: Int) async throws -> [RecordedEvent] {
        try limits.validateRead(limit: limit)
        return try await mappingErrors {
            try await PostgresEventRow.decodeEvents(client.query(Self.readAllQuery(after: cursor, limit: limit), logger: logger))
        }
    }

    public func readAll(after cursor: LogCursor, limit: Int, in connection: any ReadModelConnection) async throws -> [RecordedEvent] {
        try limits.validateRead(limit: limit)
        guard let connection = connection as? PostgresReadModelConnection else {
            preconditionFailure("a PostgreSQL store reads only through its own read-model connection")
        }
        return try await mappingErrors {
            try await PostgresEventRow.decodeEvents(connection.connection.query(Self.readAllQuery(after: cursor, limit: limit), logger: logger))
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
            let rows = try await client.query(
                """
                SELECT transaction_id::text AS commit_order, position FROM events
                 WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot())
                 ORDER BY transaction_id DESC, position DESC LIMIT 1
                """,
                logger: logger
            ).collect()
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
