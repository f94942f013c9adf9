import Foundation
import CoreMetrics

extension SQLiteEventStore {
    /// Appends to one stream. Appends that arrive while another is being written share the next write
    /// transaction and its commit flush (see ``GroupCommit``): each keeps its own version check and
    /// idempotency, and a conflict in one does not affect the others.
    public func append(
        _ events: [NewEvent],
        to stream: String,
        expecting expectedVersion: ExpectedVersion
    ) async throws -> AppendResult {
        try limits.validate(events, stream: stream, expecting: expectedVersion)
        return try await appendQueue.append(events, to: stream, expecting: expectedVersion) { batch in await self.writeBatch(batch) }
    }

    /// Appends to several streams, all or nothing. Shares the next write transaction and its commit flush with
    /// the appends that arrive meanwhile, as single-stream appends do: every check of its streams is made before
    /// any of its rows is written (or, when a batch is written one request after the other, inside a savepoint
    /// of its own), so a conflict in any of its streams writes none of them and changes nothing of the others.
    public func append(_ appends: [StreamAppend]) async throws -> [AppendResult] {
        try limits.validate(appends)
        return try await appendQueue.append(appends) { batch in await self.writeBatch(batch) }
    }

    /// Writes one batch of appends in one transaction, answering each. A conflict or an idempotency mismatch
    /// fails that append alone: a single-stream append finds it before writing anything, and a multi-stream
    /// append is rolled back to its savepoint. Any other failure rolls the transaction back, and the appends
    /// are then written one at a time.
    func writeBatch(_ batch: [[PendingAppend]]) async -> [Result<[AppendResult], any Error>] {
        let recordedAtMicros = Self.micros(now())
        do {
            let results = try await mappingErrors {
                try await withWriteTransactionInOneTurn { connection in
                    let ids = batch.flatMap { $0.flatMap { $0.events.map(\.id) } }
                    if Set(ids).count == ids.count {
                        return try Self.writeTogether(batch, recordedAtMicros: recordedAtMicros, on: connection)
                    }
                    // An id sent twice in one batch (a delivery racing its own retry): one request after the
                    // other, so the second sees the first's events as stored.
                    var results: [Result<[AppendResult], any Error>] = []
                    for request in batch {
                        results.append(try Self.write(request, recordedAtMicros: recordedAtMicros, on: connection))
                    }
                    return results
                }
            }
            let appended = results.compactMap { try? $0.get() }.joined().filter { !$0.wasAlreadyStored }.reduce(0) { $0 + $1.positions.count }
            if appended > 0 {
                appendedEvents.increment(by: appended)
                signal.signal()
            }
            return results
        } catch {
            guard batch.count > 1 else { return [.failure(error)] }
            var results: [Result<[AppendResult], any Error>] = []
            for request in batch {
                results += await writeBatch([request])
            }
            return results
        }
    }

    /// Every request of a batch in a few statements, whatever the batch's size: one query for the ids stored
    /// already, one for the streams' versions, then the checks of each request in order in memory (a request
    /// that fails its checks changes nothing, and later requests see the versions of the ones before), and one
    /// insert for every new event. The event ids of the batch must be distinct.
    private static func writeTogether(
        _ batch: [[PendingAppend]], recordedAtMicros: Int64, on connection: SQLiteHandle
    ) throws -> [Result<[AppendResult], any Error>] {
        let appends = batch.joined()
        let stored = try storedIdentities(of: appends.flatMap { $0.events.map(\.id) }, on: connection)
        var versions = try currentVersions(of: Array(Set(appends.map(\.stream))), on: connection)
        var decided: [Result<[AppendResult], any Error>] = []
        var rows: [(event: NewEvent, stream: String, version: Int64, hash: Data)] = []
        for request in batch {
            do {
                var tentative = versions
                var results: [AppendResult] = []
                var requestRows: [(event: NewEvent, stream: String, version: Int64, hash: Data)] = []
                for append in request {
                    let known = append.events.compactMap { stored[$0.id] }.sorted { $0.position < $1.position }
                    if let replayed = try StoredEventIdentity.replayResult(of: append.events, hashes: append.hashes, stream: append.stream, stored: known) {
                        results.append(replayed)
                        continue
                    }
                    let current = tentative[append.stream] ?? 0
                    guard append.expectedVersion.isSatisfied(byActualVersion: current) else {
                        throw EventStoreError.versionConflict(stream: append.stream, expected: append.expectedVersion, actual: current)
                    }
                    for (offset, event) in append.events.enumerated() {
                        requestRows.append((event, append.stream, current + Int64(offset) + 1, append.hashes[offset]))
                    }
                    tentative[append.stream] = current + Int64(append.events.count)
                    // Positions are filled in once the events are inserted.
                    results.append(AppendResult(
                        stream: append.stream, firstVersion: current + 1, lastVersion: current + Int64(append.events.count),
                        positions: [], wasAlreadyStored: false
                    ))
                }
                try AppendResult.checkWholeReplay(results)
                versions = tentative
                rows += requestRows
                decided.append(.success(results))
            } catch let error as EventStoreError where error.code == .versionConflict || error.code == .idempotencyMismatch {
                decided.append(.failure(error))
            }
        }
        let positions = try insert(rows, recordedAtMicros: recordedAtMicros, on: connection)
        return try decided.map { outcome in
            guard case .success(let results) = outcome else { return outcome }
            return .success(try results.map { result in
                guard !result.wasAlreadyStored else { return result }
                var filled = result
                for version in result.firstVersion...result.lastVersion {
                    guard let position = positions[StreamVersion(stream: result.stream, version: version)] else {
                        throw EventStoreError(.unavailable, "the insert into '\(result.stream)' did not report the position of version \(version)")
                    }
                    filled.positions.append(position)
                }
                return filled
            })
        }
    }

    private struct StreamVersion: Hashable {
        var stream: String
        var version: Int64
    }

    /// Binds per statement for the batch's queries, well under SQLite's limit of 32,766.
    private static var bindsPerStatementMax: Int { 3_600 }

    /// The stored identity of each of `ids` that is stored already.
    private static func storedIdentities(of ids: [UUID], on connection: SQLiteHandle) throws -> [UUID: StoredEventIdentity] {
        var stored: [UUID: StoredEventIdentity] = [:]
        for chunk in ids.chunks(of: bindsPerStatementMax) {
            let placeholders = Array(repeating: "?", count: chunk.count).joined(separator: ", ")
            let identities = try connection.rows(
                "SELECT event_id, stream, version, position, content_hash FROM events WHERE event_id IN (\(placeholders))",
                chunk.map { .text($0.uuidString.lowercased()) }, storedIdentity
            )
            for identity in identities {
                stored[identity.id] = identity
            }
        }
        return stored
    }

    /// The current version of each of `streams`; a stream without events is absent.
    private static func currentVersions(of streams: [String], on connection: SQLiteHandle) throws -> [String: Int64] {
        var versions: [String: Int64] = [:]
        for chunk in streams.chunks(of: bindsPerStatementMax) {
            let placeholders = Array(repeating: "?", count: chunk.count).joined(separator: ", ")
            let rows = try connection.rows(
                "SELECT stream, MAX(version) FROM events WHERE stream IN (\(placeholders)) GROUP BY stream", chunk.map { .text($0) }
            ) { columns in
                guard let stream = columns.text(0), let version = columns.integer(1) else {
                    throw EventStoreError(.unavailable, "a stream's version could not be read; the database is damaged")
                }
                return (stream, version)
            }
            for (stream, version) in rows {
                versions[stream] = version
            }
        }
        return versions
    }

    /// Inserts `rows` in order, a few hundred per statement, and returns each one's position.
    private static func insert(
        _ rows: [(event: NewEvent, stream: String, version: Int64, hash: Data)], recordedAtMicros: Int64, on connection: SQLiteHandle
    ) throws -> [StreamVersion: Int64] {
        var positions: [StreamVersion: Int64] = [:]
        let columns = 9
        for chunk in rows.chunks(of: bindsPerStatementMax / columns) {
            var binds: [SQLiteValue] = []
            binds.reserveCapacity(chunk.count * columns)
            for row in chunk {
                binds += [
                    .text(row.event.id.uuidString.lowercased()), .text(row.stream), .integer(row.version), .text(row.event.type),
                    .integer(Int64(row.event.schemaVersion)), .blob(row.event.data),
                    .blob(row.event.metadata.encoded()), .blob(row.hash), .integer(recordedAtMicros),
                ]
            }
            let values = Array(repeating: "(?, ?, ?, ?, ?, ?, ?, ?, ?)", count: chunk.count).joined(separator: ", ")
            let inserted = try connection.rows(
                """
                INSERT INTO events (event_id, stream, version, type, schema_version, data, metadata, content_hash, recorded_at_micros)
                VALUES \(values) RETURNING stream, version, position
                """,
                binds
            ) { columns in
                guard let stream = columns.text(0), let version = columns.integer(1), let position = columns.integer(2) else {
                    throw EventStoreError(.unavailable, "an inserted event's position could not be read")
                }
                return (StreamVersion(stream: stream, version: version), position)
            }
            for (key, position) in inserted {
                positions[key] = position
            }
        }
        return positions
    }

    /// One request's appends inside the open write transaction: its answer, or the conflict that refused it.
    private static func write(
        _ request: [PendingAppend], recordedAtMicros: Int64, on connection: SQLiteHandle
    ) throws -> Result<[AppendResult], any Error> {
        func refusable(_ error: EventStoreError) -> Bool { error.code == .versionConflict || error.code == .idempotencyMismatch }
        if request.count == 1, let append = request.first {
            do {
                return .success([try Self.append(
                    append.events, hashes: append.hashes, to: append.stream, expecting: append.expectedVersion,
                    recordedAtMicros: recordedAtMicros, on: connection
                )])
            } catch let error as EventStoreError where refusable(error) {
                return .failure(error)
            }
        }
        try connection.execute("SAVEPOINT multi_stream_append")
        do {
            var results: [AppendResult] = []
            for append in request {
                results.append(try Self.append(
                    append.events, hashes: append.hashes, to: append.stream, expecting: append.expectedVersion,
                    recordedAtMicros: recordedAtMicros, on: connection
                ))
            }
            try AppendResult.checkWholeReplay(results)
            try connection.execute("RELEASE multi_stream_append")
            return .success(results)
        } catch let error as EventStoreError where refusable(error) {
            try connection.execute("ROLLBACK TO multi_stream_append")
            try connection.execute("RELEASE multi_stream_append")
            return .failure(error)
        }
    }

    /// One stream's append inside an open write transaction.
    private static func append(
        _ events: [NewEvent], hashes: [Data], to stream: String, expecting expectedVersion: ExpectedVersion,
        recordedAtMicros: Int64, on connection: SQLiteHandle
    ) throws -> AppendResult {
        if let stored = try storedResult(for: events, hashes: hashes, stream: stream, on: connection) {
            return stored
        }
        guard let currentVersion = try connection.rows(
            "SELECT COALESCE(MAX(version), 0) FROM events WHERE stream = ?", [.text(stream)], { $0.integer(0) }
        ).first ?? nil else {
            throw EventStoreError(.unavailable, "the version of '\(stream)' could not be read; the database is damaged")
        }
        guard expectedVersion.isSatisfied(byActualVersion: currentVersion) else {
            throw EventStoreError.versionConflict(stream: stream, expected: expectedVersion, actual: currentVersion)
        }
        var positions: [Int64] = []
        positions.reserveCapacity(events.count)
        for (offset, event) in events.enumerated() {
            let inserted = try connection.rows(
                """
                INSERT INTO events (event_id, stream, version, type, schema_version, data, metadata, content_hash, recorded_at_micros)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING position
                """,
                [
                    .text(event.id.uuidString.lowercased()), .text(stream), .integer(currentVersion + Int64(offset) + 1),
                    .text(event.type), .integer(Int64(event.schemaVersion)), .blob(event.data),
                    .blob(event.metadata.encoded()), .blob(hashes[offset]), .integer(recordedAtMicros),
                ],
                { $0.integer(0) }
            )
            guard let position = inserted.first ?? nil else {
                throw EventStoreError(.unavailable, "the insert into '\(stream)' did not report the position of version \(currentVersion + Int64(offset) + 1)")
            }
            positions.append(position)
        }
        return AppendResult(
            stream: stream, firstVersion: currentVersion + 1, lastVersion: currentVersion + Int64(events.count),
            positions: positions, wasAlreadyStored: false
        )
    }

    /// The original result if every event is stored already; nil if none is; an error if only some are, or
    /// if a stored one differs.
    private static func storedResult(
        for events: [NewEvent], hashes: [Data], stream: String, on connection: SQLiteHandle
    ) throws -> AppendResult? {
        let placeholders = Array(repeating: "?", count: events.count).joined(separator: ", ")
        let stored = try connection.rows(
            "SELECT event_id, stream, version, position, content_hash FROM events WHERE event_id IN (\(placeholders)) ORDER BY position",
            events.map { .text($0.id.uuidString.lowercased()) }, storedIdentity
        )
        return try StoredEventIdentity.replayResult(of: events, hashes: hashes, stream: stream, stored: stored)
    }

    /// A row of `event_id, stream, version, position, content_hash`.
    private static func storedIdentity(_ columns: SQLiteColumns) throws -> StoredEventIdentity {
        let idText = columns.text(0) ?? ""
        guard let id = UUIDText.parse(idText), let stream = columns.text(1), let version = columns.integer(2),
              let position = columns.integer(3), let hash = columns.blob(4) else {
            throw EventStoreError(.unavailable, "a stored event (id '\(idText.prefix(40))') cannot be read; the database is damaged")
        }
        return StoredEventIdentity(id: id, stream: stream, version: version, position: position, contentHash: hash)
    }

    static func micros(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
    }

    /// Turns driver errors into ``EventStoreError``; lets ours through.
    func mappingErrors<Result>(_ body: () async throws -> Result) async throws -> Result {
        do {
            return try await body()
        } catch let error as EventStoreError {
            throw error
        } catch {
            throw EventStoreError(.unavailable, "the SQLite database at \(path) failed", underlying: error)
        }
    }
}

extension AppendResult {
    /// A multi-stream append is replayed whole or not at all: a mix means some ids were reused for new facts.
    static func checkWholeReplay(_ results: [AppendResult]) throws(EventStoreError) {
        let replayed = results.filter(\.wasAlreadyStored).map(\.stream)
        guard replayed.isEmpty || replayed.count == results.count else {
            throw EventStoreError(
                .idempotencyMismatch,
                "the events for \(replayed.map { "'\($0)'" }.joined(separator: ", ")) are stored already but the rest of this append is not; an append is replayed whole or not at all"
            )
        }
    }
}

/// What identifies a stored event when an append is replayed.
struct StoredEventIdentity: Sendable {
    var id: UUID
    var stream: String
    var version: Int64
    var position: Int64
    var contentHash: Data

    /// Decides what a replayed append returns, shared by every backend.
    static func replayResult(
        of events: [NewEvent], hashes: [Data], stream: String, stored: [StoredEventIdentity]
    ) throws(EventStoreError) -> AppendResult? {
        guard !stored.isEmpty else { return nil }
        guard stored.count == events.count else {
            throw EventStoreError(
                .idempotencyMismatch,
                "\(stored.count) of the \(events.count) events in this append are stored already; an append is replayed whole or not at all"
            )
        }
        let storedByID = Dictionary(stored.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        guard storedByID.count == stored.count else {
            throw EventStoreError(.unavailable, "the database answered one stored event of '\(stream)' twice; it is damaged")
        }
        for (event, hash) in zip(events, hashes) {
            guard let record = storedByID[event.id] else {
                throw EventStoreError(.idempotencyMismatch, "event \(event.id) is not part of the stored append")
            }
            guard record.stream == stream, record.contentHash == hash else {
                throw EventStoreError(
                    .idempotencyMismatch,
                    "event id \(event.id) is stored already with different content (stream '\(record.stream)'); a new fact needs a new id"
                )
            }
        }
        let versions = events.compactMap { storedByID[$0.id]?.version }
        return AppendResult(
            stream: stream, firstVersion: versions.min() ?? 0, lastVersion: versions.max() ?? 0,
            positions: events.compactMap { storedByID[$0.id]?.position }, wasAlreadyStored: true
        )
    }
}

extension Array {
    /// Consecutive slices of at most `size` elements (at least one each), in order.
    func chunks(of size: Int) -> [ArraySlice<Element>] {
        stride(from: startIndex, to: endIndex, by: Swift.max(1, size)).map { self[$0..<Swift.min($0 + Swift.max(1, size), endIndex)] }
    }
}
