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

    private func appendOnce(
        _ events: [NewEvent], hashes: [Data], stream: String, expecting expectedVersion: ExpectedVersion, recordedAt: Date
    ) async throws -> AppendResult {
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
        let query = PostgresQuery(unsafeSQL: "SELECT * FROM ledger_append($1, $2, $3, $4, $5, $6, $7, $8, $9)", binds: binds)
        let rows: [PostgresRow]
        do {
            rows = try await client.query(query, logger: logger).collect()
        } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
            throw error
        } catch {
            return try await mappingErrors { throw error }
        }
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
