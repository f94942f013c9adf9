import Foundation
import NIOCore
import NIOFoundationEssentialsCompat
import PostgresNIO

/// For tests only: hooks for the conformance suite's gap test: append inside a transaction that stays open until told.

public protocol EventStoreTestHooks: EventStore {
    /// Appends `event` to `stream` inside a transaction, calls `inserted` once the row is written but not
    /// committed, and commits only after `release` returns.
    func appendHoldingCommit(
        _ event: NewEvent, to stream: String,
        inserted: @escaping @Sendable () -> Void,
        release: @escaping @Sendable () async -> Void
    ) async throws

    /// Whether every committed event is visible to readers of the global log. On PostgreSQL a reader sees
    /// only events below the oldest running transaction in the cluster, so tests wait for this before
    /// asserting on the whole log.
    func allCommittedEventsAreVisible() async throws -> Bool
}

extension EventStoreTestHooks {
    /// Waits until every committed event is visible to readers (at most `timeout`).
    public func waitUntilAllCommittedEventsAreVisible(timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        while try await !allCommittedEventsAreVisible() {
            guard ContinuousClock.now < deadline else {
                throw EventStoreError(.unavailable, "committed events stayed invisible for \(timeout): a transaction is being held open")
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }
}


extension SQLiteEventStore: EventStoreTestHooks {
    public func appendHoldingCommit(
        _ event: NewEvent, to stream: String,
        inserted: @escaping @Sendable () -> Void,
        release: @escaping @Sendable () async -> Void
    ) async throws {
        let hash = ContentHash.of(event, stream: stream)
        let micros = Self.micros(now())
        try await withWriteTransaction { connection in
            try await connection.run { connection in
                guard let current = try connection.rows("SELECT COALESCE(MAX(version), 0) FROM events WHERE stream = ?", [.text(stream)], {
                    $0.integer(0)
                }).first ?? nil else {
                    throw EventStoreError(.unavailable, "the version of '\(stream)' could not be read")
                }
                try connection.execute(
                    """
                    INSERT INTO events (event_id, stream, version, type, schema_version, data, metadata, content_hash, recorded_at_micros)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                    [
                        .text(event.id.uuidString.lowercased()), .text(stream), .integer(current + 1), .text(event.type),
                        .integer(Int64(event.schemaVersion)), .blob(event.data),
                        .blob(event.metadata.encoded()), .blob(hash), .integer(micros),
                    ]
                )
            }
            inserted()
            await release()
        }
        signal.signal()
    }

    /// Writes are serialised, so whatever committed is visible.
    public func allCommittedEventsAreVisible() async throws -> Bool { true }
}


extension PostgresEventStore: EventStoreTestHooks {
    public func appendHoldingCommit(
        _ event: NewEvent, to stream: String,
        inserted: @escaping @Sendable () -> Void,
        release: @escaping @Sendable () async -> Void
    ) async throws {
        let hash = ContentHash.of(event, stream: stream)
        let recordedAt = now()
        let metadata = ByteBuffer(data: event.metadata.encoded())
        try await mappingErrors {
            try await client.transaction(logger: logger) { connection in
                _ = try await connection.openQuery(
                    """
                    SELECT * FROM ledger_append(\(stream), -1, \([event.id]), \([event.type]), \([Int32(event.schemaVersion)]),
                        \([ByteBuffer(data: event.data)]), \([metadata]), \([ByteBuffer(data: hash)]), \(recordedAt))
                    """,
                    logger: logger
                ).collect()
                inserted()
                await release()
            }
        }
        signal.signal()
        notifier.appendCommitted()
    }

    public func allCommittedEventsAreVisible() async throws -> Bool {
        try await mappingErrors {
            try await client.query(
                "SELECT COALESCE(max(transaction_id) < pg_snapshot_xmin(pg_current_snapshot()), true) FROM events",
                logger: logger
            ).collect().first?.decode(Bool.self) ?? false
        }
    }
}
