import Foundation
import NIOCore
import NIOFoundationEssentialsCompat
import SQLiteNIO

extension SQLiteEventStore {
    private static let eventColumns =
        "position, event_id, stream, version, type, schema_version, data, metadata, recorded_at_micros"

    public func readStream(_ stream: String, fromVersion version: Int64, limit: Int) async throws -> [RecordedEvent] {
        try limits.validateRead(limit: limit)
        return try await mappingErrors {
            try await withReader { reader in
                try await reader.query(
                    "SELECT \(Self.eventColumns) FROM events WHERE stream = ? AND version >= ? ORDER BY version LIMIT ?",
                    [.text(stream), .integer(Int(version)), .integer(limit)]
                ).map(Self.decodeEvent)
            }
        }
    }

    public func readStreams(_ streams: [String], upToVersion maxVersion: Int64) async throws -> [String: [RecordedEvent]] {
        try limits.validateRead(streams: streams.count, upToVersion: maxVersion)
        let distinct = Array(Set(streams))
        var found: [String: [RecordedEvent]] = [:]
        try await mappingErrors {
            // SQLite binds at most 32,766 parameters per statement; 500 names a statement keeps well below it.
            for start in stride(from: 0, to: distinct.count, by: 500) {
                let names = distinct[start..<min(start + 500, distinct.count)]
                let marks = repeatElement("?", count: names.count).joined(separator: ",")
                let rows = try await withReader { reader in try await reader.query(
                    "SELECT \(Self.eventColumns) FROM events WHERE stream IN (\(marks)) AND version <= ? ORDER BY stream, version",
                    names.map { SQLiteData.text($0) } + [.integer(Int(maxVersion))]
                ) }
                for row in rows {
                    let event = try Self.decodeEvent(row)
                    found[event.stream, default: []].append(event)
                }
            }
        }
        return found
    }

    public func readAll(after cursor: LogCursor, limit: Int) async throws -> [RecordedEvent] {
        try limits.validateRead(limit: limit)
        return try await mappingErrors {
            try await withReader { try await Self.readAll(after: cursor, limit: limit, on: $0) }
        }
    }

    public func readAll(after cursor: LogCursor, limit: Int, in connection: any ReadModelConnection) async throws -> [RecordedEvent] {
        try limits.validateRead(limit: limit)
        guard let connection = connection as? SQLiteReadModelConnection else {
            preconditionFailure("a SQLite store reads only through its own read-model connection")
        }
        return try await mappingErrors {
            try await Self.readAll(after: cursor, limit: limit, on: connection.connection)
        }
    }

    private static func readAll(after cursor: LogCursor, limit: Int, on connection: SQLiteConnection) async throws -> [RecordedEvent] {
        try await connection.query(
            "SELECT \(eventColumns) FROM events WHERE position > ? ORDER BY position LIMIT ?",
            [.integer(Int(cursor.position)), .integer(limit)]
        ).map(decodeEvent)
    }

    public func headCursor() async throws -> LogCursor {
        try await mappingErrors {
            let position = Int64(try await withReader { try await $0.query("SELECT COALESCE(MAX(position), 0) FROM events") }.first?.columns.first?.data.integer ?? 0)
            return LogCursor(commitOrder: position, position: position)
        }
    }

    public var appendGeneration: UInt64 { signal.generation }

    public func waitForAppends(since generation: UInt64, timeout: Duration) async -> UInt64 {
        await signal.wait(since: generation, timeout: timeout)
    }

    private static func decodeEvent(_ row: SQLiteRow) throws -> RecordedEvent {
        let columns = row.columns
        let position = Int64(columns[0].data.integer ?? 0)
        let idText = columns[1].data.string ?? ""
        guard let id = UUIDText.parse(idText) else {
            throw EventStoreError(.unavailable, "the event at position \(position) has the id '\(idText.prefix(40))', which is not a UUID; the database is damaged")
        }
        return RecordedEvent(
            id: id,
            stream: columns[2].data.string ?? "",
            version: Int64(columns[3].data.integer ?? 0),
            cursor: LogCursor(commitOrder: position, position: position),
            type: columns[4].data.string ?? "",
            schemaVersion: columns[5].data.integer ?? 0,
            data: columns[6].data.blob.map { Data(buffer: $0) } ?? Data(),
            metadataJSON: columns[7].data.blob.map { Data(buffer: $0) } ?? Data(),
            recordedAt: Date(timeIntervalSince1970: Double(columns[8].data.integer ?? 0) / 1_000_000)
        )
    }
}
