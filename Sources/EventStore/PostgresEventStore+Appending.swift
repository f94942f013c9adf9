import Foundation
import CoreMetrics
import NIOCore
import NIOFoundationEssentialsCompat
import PostgresNIO

extension PostgresEventStore {
    /// How often an append retries after losing a race that a retry can resolve.
    private static let raceRetriesMax = 5

    public func append(
        _ events: [NewEvent],
        to stream: String,
        expecting expectedVersion: ExpectedVersion
    ) async throws -> AppendResult {
        try limits.validate(events, stream: stream)
        let hashes = events.map { ContentHash.of($0, stream: stream) }
        let recordedAt = now()
        var attempt = 0
        while true {
            attempt += 1
            do {
                let result = try await appendOnce(events, hashes: hashes, stream: stream, expecting: expectedVersion, recordedAt: recordedAt)
                if !result.wasAlreadyStored {
                    appendedEvents.increment(by: events.count)
                    signal.signal()
                    notifier.appendCommitted()
                }
                return result
            } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" && attempt < Self.raceRetriesMax {
                // Lost a race: another append took the same version, or stored the same event id. Running
                // again sees the winner: a replay returns its result, an expected version reports a conflict.
                continue
            }
        }
    }

    public func append(_ appends: [StreamAppend]) async throws -> [AppendResult] {
        try limits.validate(appends)
        let hashes = appends.map { append in append.events.map { ContentHash.of($0, stream: append.stream) } }
        let recordedAt = now()
        var attempt = 0
        while true {
            attempt += 1
            do {
                let results = try await mappingErrors {
                    try await client.withTransaction(logger: logger) { connection in
                        // Every multi-stream append takes its stream locks in one global order, so two of them
                        // never wait for each other in a cycle.
                        _ = try await connection.query(
                            "SELECT ledger_lock_streams(\(appends.map(\.stream)))", logger: logger
                        ).collect()
                        var results: [AppendResult] = []
                        for (append, hashes) in zip(appends, hashes) {
                            let statement = Self.appendStatement(
                                append.events, hashes: hashes, stream: append.stream, expecting: append.expectedVersion, recordedAt: recordedAt
                            )
                            let rows = try await Self.collect(connection.execute(statement, logger: self.logger))
                            results.append(try Self.result(
                                of: rows, events: append.events, hashes: hashes, stream: append.stream, expecting: append.expectedVersion
                            ))
                        }
                        try AppendResult.checkWholeReplay(results)
                        return results
                    }
                }
                let appended = results.filter { !$0.wasAlreadyStored }.reduce(0) { $0 + $1.positions.count }
                if appended > 0 {
                    appendedEvents.increment(by: appended)
                    signal.signal()
                    notifier.appendCommitted()
                }
                return results
            } catch let error as EventStoreError where error.isUniqueViolation && attempt < Self.raceRetriesMax {
                // Lost a race on an event id stored by a concurrent append to another stream: run again.
                continue
            }
        }
    }

    private func appendOnce(
        _ events: [NewEvent], hashes: [Data], stream: String, expecting expectedVersion: ExpectedVersion, recordedAt: Date
    ) async throws -> AppendResult {
        let statement = Self.appendStatement(events, hashes: hashes, stream: stream, expecting: expectedVersion, recordedAt: recordedAt)
        let rows: [PostgresRow]
        do {
            rows = try await Self.collect(client.execute(statement, logger: logger))
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            throw error
        } catch {
            return try await mappingErrors { throw error }
        }
        return try Self.result(of: rows, events: events, hashes: hashes, stream: stream, expecting: expectedVersion)
    }

    /// The call of `ledger_append` for one stream.
    private static func appendStatement(
        _ events: [NewEvent], hashes: [Data], stream: String, expecting expectedVersion: ExpectedVersion, recordedAt: Date
    ) -> LedgerAppendStatement {
        let expectedCode: Int64 = switch expectedVersion {
        case .any: -1
        case .noStream: -2
        case .streamExists: -3
        case .exact(let version): version
        }
        var binds = PostgresBindings(capacity: 9)
        binds.append(stream)
        binds.append(expectedCode)
        binds.append(events.map(\.id))
        binds.append(events.map(\.type))
        binds.append(events.map { Int32($0.schemaVersion) })
        binds.append(events.map { ByteBuffer(data: $0.data) })
        binds.append(events.map { ByteBuffer(data: $0.metadata.encoded()) })
        binds.append(hashes.map { ByteBuffer(data: $0) })
        binds.append(recordedAt)
        return LedgerAppendStatement(bindings: binds)
    }

    private static func collect(_ rows: some AsyncSequence<PostgresRow, any Error>) async throws -> [PostgresRow] {
        var collected: [PostgresRow] = []
        for try await row in rows { collected.append(row) }
        return collected
    }

    /// What `ledger_append`'s rows mean: a conflict, a replay, or the appended versions and positions.
    private static func result(
        of rows: [PostgresRow], events: [NewEvent], hashes: [Data], stream: String, expecting expectedVersion: ExpectedVersion
    ) throws -> AppendResult {
        var stored: [StoredEventIdentity] = []
        var appendedPositions: [Int64] = []
        var appendedVersions: [Int64] = []
        for row in rows {
            let (outcome, currentVersion, eventID, rowStream, version, position, hash) = try row.decode(
                (String, Int64?, UUID?, String?, Int64?, Int64?, ByteBuffer?).self
            )
            switch outcome {
            case "conflict":
                throw EventStoreError.versionConflict(stream: stream, expected: expectedVersion, actual: currentVersion ?? 0)
            case "stored":
                stored.append(StoredEventIdentity(
                    id: eventID ?? UUID(), stream: rowStream ?? "", version: version ?? 0, position: position ?? 0,
                    contentHash: hash.map { Data(buffer: $0) } ?? Data()
                ))
            default:
                appendedPositions.append(position ?? 0)
                appendedVersions.append(version ?? 0)
            }
        }
        if let replay = try StoredEventIdentity.replayResult(of: events, hashes: hashes, stream: stream, stored: stored) {
            return replay
        }
        guard appendedVersions.count == events.count, let first = appendedVersions.min(), let last = appendedVersions.max() else {
            throw EventStoreError(.unavailable, "PostgreSQL returned \(appendedVersions.count) rows for an append of \(events.count) events")
        }
        return AppendResult(stream: stream, firstVersion: first, lastVersion: last, positions: appendedPositions, wasAlreadyStored: false)
    }
}

/// `ledger_append` as a prepared statement: each connection parses and plans the call once, not per append.
struct LedgerAppendStatement: PostgresPreparedStatement {
    static let name = "ledger_append_1"
    static let sql = """
        SELECT r_outcome, r_current_version, r_event_id, r_stream, r_version, r_position, r_content_hash
          FROM ledger_append($1, $2, $3, $4, $5, $6, $7, $8, $9)
        """
    typealias Row = PostgresRow

    let bindings: PostgresBindings

    func makeBindings() -> PostgresBindings { bindings }
    func decodeRow(_ row: PostgresRow) -> PostgresRow { row }
}

extension EventStoreError {
    /// A unique violation from the database: a concurrent append stored the same event id first.
    fileprivate var isUniqueViolation: Bool {
        (underlying as? PSQLError)?.serverInfo?[.sqlState] == "23505"
    }
}
