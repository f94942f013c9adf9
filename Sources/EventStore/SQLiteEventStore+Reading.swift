import Foundation

extension SQLiteEventStore {
    private static let eventColumns =
        "position, event_id, stream, version, type, schema_version, data, metadata, recorded_at_micros"

    public func readStream(_ stream: String, fromVersion version: Int64, limit: Int) async throws -> [RecordedEvent] {
        try limits.validateRead(limit: limit)
        return try await mappingErrors {
            try await withReader { reader in
                try await reader.run { reader in
                    try reader.rows(
                        "SELECT \(Self.eventColumns) FROM events WHERE stream = ? AND version >= ? ORDER BY version LIMIT ?",
                        [.text(stream), .integer(version), .integer(Int64(limit))], Self.decodeEvent
                    )
                }
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
                let binds = names.map { SQLiteValue.text($0) } + [.integer(maxVersion)]
                let events = try await withReader { reader in try await reader.run { reader in try reader.rows(
                    "SELECT \(Self.eventColumns) FROM events WHERE stream IN (\(marks)) AND version <= ? ORDER BY stream, version",
                    binds, Self.decodeEvent
                ) } }
                for event in events {
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

    private static func readAll(after cursor: LogCursor, limit: Int, on connection: SQLiteHandle) async throws -> [RecordedEvent] {
        try await connection.run { connection in
            try connection.rows(
                "SELECT \(eventColumns) FROM events WHERE position > ? ORDER BY position LIMIT ?",
                [.integer(cursor.position), .integer(Int64(limit))], decodeEvent
            )
        }
    }

    public func headCursor() async throws -> LogCursor {
        try await mappingErrors {
            let head = try await withReader { reader in
                try await reader.run { try $0.rows("SELECT COALESCE(MAX(position), 0) FROM events", []) { $0.integer(0) } }
            }
            guard let position = head.first ?? nil else {
                throw EventStoreError(.unavailable, "the log's last position could not be read; the database is damaged")
            }
            return LogCursor(commitOrder: position, position: position)
        }
    }

    public var appendGeneration: UInt64 { signal.generation }

    public func waitForAppends(since generation: UInt64, timeout: Duration) async -> UInt64 {
        await signal.wait(since: generation, timeout: timeout)
    }

    private static func decodeEvent(_ columns: SQLiteColumns) throws -> RecordedEvent {
        let position = columns.integer(0) ?? 0
        let idText = columns.text(1) ?? ""
        guard let id = UUIDText.parse(idText) else {
            throw EventStoreError(.unavailable, "the event at position \(position) has the id '\(idText.prefix(40))', which is not a UUID; the database is damaged")
        }
        guard let stream = columns.text(2), let version = columns.integer(3), let type = columns.text(4),
              let schemaVersion = columns.integer(5), let data = columns.blob(6), let metadata = columns.blob(7),
              let recordedAtMicros = columns.integer(8), let schema = Int(exactly: schemaVersion) else {
            throw EventStoreError(.unavailable, "the event at position \(position) (id \(idText)) cannot be read; the database is damaged")
        }
        return RecordedEvent(
            id: id,
            stream: stream,
            version: version,
            cursor: LogCursor(commitOrder: position, position: position),
            type: type,
            schemaVersion: schema,
            data: data,
            metadataJSON: metadata,
            recordedAt: Date(timeIntervalSince1970: Double(recordedAtMicros) / 1_000_000)
        )
    }
}
