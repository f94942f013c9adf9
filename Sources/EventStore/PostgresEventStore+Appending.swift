import Foundation
import CoreMetrics
import NIOCore
import NIOFoundationEssentialsCompat
import PostgresNIO

extension PostgresEventStore {
    /// How often a write retries after losing a race that a retry can resolve.
    private static let raceRetriesMax = 5

    /// Appends to one stream. Concurrent appends share transactions (see ``GroupCommit``): each keeps its own
    /// version check and idempotency, and a conflict in one does not affect the others.
    public func append(
        _ events: [NewEvent],
        to stream: String,
        expecting expectedVersion: ExpectedVersion
    ) async throws -> AppendResult {
        try limits.validate(events, stream: stream, expecting: expectedVersion)
        return try await notingTimeLimits {
            try await appendQueue.append(events, to: stream, expecting: expectedVersion) { batch in await self.writeRequests(batch) }
        }
    }

    /// Appends to several streams, all or nothing. Shares the next batch's transaction and commit flush with the
    /// appends that arrive meanwhile, as single-stream appends do (see ``writeRequests(_:)``).
    public func append(_ appends: [StreamAppend]) async throws -> [AppendResult] {
        try limits.validate(appends)
        return try await notingTimeLimits {
            try await appendQueue.append(appends) { batch in await self.writeRequests(batch) }
        }
    }

    /// An append that ran out of time may mean the server is gone: the store then checks (see ``Reachability``).
    private func notingTimeLimits<Result>(_ body: () async throws -> Result) async throws -> Result {
        do {
            return try await body()
        } catch let error as EventStoreError where error.underlying is AppendTimeLimitExceeded {
            noteIfTheConnectionWasLost(error)
            throw error
        }
    }

    /// Writes one batch of requests, answering each. Without multi-stream requests it is one statement (see
    /// ``writeBatch(_:)``). With them, the same statement runs inside a transaction. A multi-stream request is all
    /// or nothing, so when any of its streams is refused while another was written (a conflict, or a replay mixed
    /// with new events), the transaction is rolled back, the batch is written again without that request, and
    /// the request is then written alone, in a transaction of its own. A request refused in every stream is
    /// simply answered.
    func writeRequests(_ batch: [[PendingAppend]]) async -> [Result<[AppendResult], any Error>] {
        if batch.allSatisfy({ $0.count == 1 }) {
            return await writeBatch(batch.map { $0[0] }).map { $0.map { [$0] } }
        }
        if let closed = closedFailure() { return batch.map { _ in .failure(closed) } }
        var together = Array(batch.indices)
        var alone: [Int] = []
        var answered: [Int: Result<[AppendResult], any Error>] = [:]
        while !together.isEmpty {
            let requests = together.map { batch[$0] }
            if requests.allSatisfy({ $0.count == 1 }) {
                for (index, answer) in zip(together, await writeBatch(requests.map { $0[0] })) { answered[index] = answer.map { [$0] } }
                break
            }
            let appends = Array(requests.joined())
            do {
                let grouped = try await inFlight {
                    try await client.transaction(logger: logger) { connection in
                        let rows = try await Self.collect(connection.openExecute(LedgerAppendBatchStatement(appends, recordedAt: now()), logger: logger))
                        let grouped = try Self.requestResults(Self.results(of: rows, for: appends), for: requests)
                        let halfWritten = grouped.indices.filter { grouped[$0] == nil }
                        if !halfWritten.isEmpty { throw HalfWrittenRequests(indices: halfWritten) }
                        return grouped.compactMap { $0 }
                    }
                }
                announce(grouped.compactMap { try? $0.get() }.flatMap { $0 })
                for (index, answer) in zip(together, grouped) { answered[index] = answer }
                break
            } catch {
                let transaction = error as? PostgresTransactionFailure
                let causes = [transaction?.closureError, transaction?.beginError, transaction?.commitError, transaction == nil ? error : nil]
                if let half = transaction?.closureError as? HalfWrittenRequests {
                    let indices = Set(half.indices)
                    alone += indices.sorted().map { together[$0] }
                    together = together.indices.filter { !indices.contains($0) }.map { together[$0] }
                } else if causes.contains(where: { $0.map(PostgresConnection.endsTheConnection) ?? false }) {
                    // The connection failed: the outcome is unknown, so nothing is written again.
                    let failure = mapError(error)
                    return batch.map { _ in .failure(failure) }
                } else {
                    // Refused by the server as a whole: every request alone.
                    alone += together
                    together = []
                }
            }
        }
        for index in alone.sorted() {
            let request = batch[index]
            if request.count == 1 {
                answered[index] = await writeBatch(request).first.map { $0.map { [$0] } }
            } else {
                do {
                    answered[index] = .success(try await appendAlone(request))
                } catch {
                    answered[index] = .failure(error)
                }
            }
        }
        return batch.indices.map { answered[$0] ?? .failure(EventStoreError(.unavailable, "an append was not answered")) }
    }

    /// Requests (by their place in the batch written together) that were written in some streams and refused in
    /// others; the batch's transaction must roll back.
    private struct HalfWrittenRequests: Error {
        var indices: [Int]
    }

    /// Groups the appends' answers by request: a request succeeds when all its appends did and are all new or
    /// all replays; one refused in every stream that wrote nothing is answered with its first refusal; nil for a
    /// request half written.
    private static func requestResults(
        _ results: [Result<AppendResult, any Error>], for batch: [[PendingAppend]]
    ) -> [Result<[AppendResult], any Error>?] {
        var answers: [Result<[AppendResult], any Error>?] = []
        var start = results.startIndex
        for request in batch {
            let part = results[start..<start + request.count]
            start += request.count
            let written = part.compactMap { try? $0.get() }
            if written.count == part.count {
                answers.append((try? AppendResult.checkWholeReplay(written)).map { .success(written) })
            } else if written.contains(where: { !$0.wasAlreadyStored }) {
                answers.append(nil)
            } else {
                let refusals = part.compactMap { result -> (any Error)? in
                    guard case .failure(let error) = result else { return nil }
                    return error
                }
                answers.append(refusals.first.map { .failure($0) })
            }
        }
        return answers
    }

    /// Appends to several streams in a transaction of their own.
    private func appendAlone(_ pending: [PendingAppend]) async throws -> [AppendResult] {
        var attempt = 0
        while true {
            attempt += 1
            do {
                let results = try await mappingErrors {
                    try await client.transaction(logger: logger) { connection in
                        let rows = try await Self.collect(connection.openExecute(LedgerAppendBatchStatement(pending, recordedAt: now()), logger: logger))
                        // A conflict in any stream throws here, which rolls the whole transaction back.
                        let results = try Self.results(of: rows, for: pending).map { try $0.get() }
                        try AppendResult.checkWholeReplay(results)
                        return results
                    }
                }
                announce(results)
                return results
            } catch let error as EventStoreError where error.isUniqueViolation && attempt < Self.raceRetriesMax {
                // Lost a race on an event id stored by a concurrent append to another stream: run again.
                continue
            }
        }
    }

    /// Writes one batch of single-stream appends in one statement (its own transaction), answering each.
    ///
    /// A batch the server refused (its statement failed, so nothing of it was written) is written again one
    /// append at a time, so that one append's failure is not another's. Any other failure, such as a lost
    /// connection, leaves the outcome unknown: every append of the batch gets the error, and a caller that
    /// retries with the same event ids gets the first result if the batch did commit.
    func writeBatch(_ batch: [PendingAppend]) async -> [Result<AppendResult, any Error>] {
        if let closed = closedFailure() { return batch.map { _ in .failure(closed) } }
        var attempt = 0
        while true {
            attempt += 1
            let rows: [PostgresRow]
            do {
                rows = try await inFlight {
                    try await client.withOpenConnection { connection in
                        try await Self.collect(connection.openExecute(LedgerAppendBatchStatement(batch, recordedAt: now()), logger: logger))
                    }
                }
            } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" && attempt < Self.raceRetriesMax {
                // Lost a race: another transaction stored one of the event ids first. Running again sees it,
                // and that append becomes a replay (or a mismatch) of what is stored.
                continue
            } catch let error as PSQLError where error.serverInfo != nil && !PostgresConnection.endsTheConnection(error) && batch.count > 1 {
                var results: [Result<AppendResult, any Error>] = []
                for append in batch {
                    results += await writeBatch([append])
                }
                return results
            } catch {
                let failure = mapError(error)
                return batch.map { _ in .failure(failure) }
            }
            do {
                let results = try Self.results(of: rows, for: batch)
                announce(results.compactMap { try? $0.get() })
                return results
            } catch {
                // Committed, but the answer cannot be read: say so to everyone rather than write again.
                let failure = mapError(error)
                return batch.map { _ in .failure(failure) }
            }
        }
    }

    /// Counts, signals and notifies the appends that wrote events.
    private func announce(_ results: [AppendResult]) {
        let appended = results.filter { !$0.wasAlreadyStored }.reduce(0) { $0 + $1.positions.count }
        guard appended > 0 else { return }
        appendedEvents.increment(by: appended)
        signal.signal()
        notifier.appendCommitted()
    }

    private static func collect(_ rows: some AsyncSequence<PostgresRow, any Error>) async throws -> [PostgresRow] {
        var collected: [PostgresRow] = []
        for try await row in rows { collected.append(row) }
        return collected
    }

    /// Each append's answer from `ledger_append_batch`'s rows: its result, a conflict or an idempotency mismatch.
    private static func results(of rows: [PostgresRow], for batch: [PendingAppend]) throws -> [Result<AppendResult, any Error>] {
        var rowsByAppend = Array(repeating: [AppendRow](), count: batch.count)
        for row in rows {
            let appendRow = try AppendRow(row)
            guard (1...batch.count).contains(appendRow.append) else {
                throw EventStoreError(.unavailable, "PostgreSQL answered for append \(appendRow.append) of a batch of \(batch.count)")
            }
            rowsByAppend[appendRow.append - 1].append(appendRow)
        }
        return zip(batch, rowsByAppend).map { append, rows in
            Result { try result(of: rows, for: append) }
        }
    }

    /// What `ledger_append`'s rows for one append mean: a conflict, a replay, or the appended versions and positions.
    ///
    /// A row that lacks a column its outcome needs is refused, never read as a default: a stored event taken to
    /// have a made-up id or hash would turn a replay into an idempotency mismatch, or the other way round.
    static func result(of rows: [AppendRow], for append: PendingAppend) throws -> AppendResult {
        var stored: [StoredEventIdentity] = []
        var appendedPositions: [Int64] = []
        var appendedVersions: [Int64] = []
        for row in rows {
            switch row.outcome {
            case "conflict":
                guard let current = row.currentVersion else { throw AppendRow.lacking("the stream's current version", row.outcome, append) }
                throw EventStoreError.versionConflict(stream: append.stream, expected: append.expectedVersion, actual: current)
            case "stored":
                guard let id = row.eventID, let stream = row.stream, let version = row.version, let position = row.position,
                      let hash = row.contentHash else {
                    throw AppendRow.lacking("the stored event's id, stream, version, position or content hash", row.outcome, append)
                }
                stored.append(StoredEventIdentity(id: id, stream: stream, version: version, position: position, contentHash: hash))
            case "appended":
                guard let position = row.position, let version = row.version else {
                    throw AppendRow.lacking("the appended event's version or position", row.outcome, append)
                }
                appendedPositions.append(position)
                appendedVersions.append(version)
            default:
                throw EventStoreError(.unavailable, "PostgreSQL answered an append to '\(append.stream)' with the unknown outcome '\(row.outcome)'")
            }
        }
        if let replay = try StoredEventIdentity.replayResult(of: append.events, hashes: append.hashes, stream: append.stream, stored: stored) {
            return replay
        }
        guard appendedVersions.count == append.events.count, let first = appendedVersions.min(), let last = appendedVersions.max() else {
            throw EventStoreError(.unavailable, "PostgreSQL returned \(appendedVersions.count) rows for an append of \(append.events.count) events")
        }
        return AppendResult(stream: append.stream, firstVersion: first, lastVersion: last, positions: appendedPositions, wasAlreadyStored: false)
    }
}

/// One row of `ledger_append_batch`.
struct AppendRow {
    let append: Int
    let outcome: String
    let currentVersion: Int64?
    let eventID: UUID?
    let stream: String?
    let version: Int64?
    let position: Int64?
    let contentHash: Data?

    init(
        append: Int, outcome: String, currentVersion: Int64? = nil, eventID: UUID? = nil, stream: String? = nil, version: Int64? = nil,
        position: Int64? = nil, contentHash: Data? = nil
    ) {
        self.append = append
        self.outcome = outcome
        self.currentVersion = currentVersion
        self.eventID = eventID
        self.stream = stream
        self.version = version
        self.position = position
        self.contentHash = contentHash
    }

    /// The refusal of a row that lacks what its outcome needs.
    static func lacking(_ what: String, _ outcome: String, _ append: PendingAppend) -> EventStoreError {
        EventStoreError(.unavailable, "PostgreSQL answered an append to '\(append.stream)' (\(outcome)) without \(what)")
    }

    init(_ row: PostgresRow) throws {
        let (append, outcome, currentVersion, eventID, stream, version, position, hash) = try row.decode(
            (Int32, String, Int64?, UUID?, String?, Int64?, Int64?, ByteBuffer?).self
        )
        self.init(
            append: Int(append), outcome: outcome, currentVersion: currentVersion, eventID: eventID, stream: stream, version: version,
            position: position, contentHash: hash.map { Data(buffer: $0) }
        )
    }
}

/// `ledger_append_batch` as a prepared statement: each connection parses and plans the call once.
struct LedgerAppendBatchStatement: PostgresPreparedStatement {
    static let name = "ledger_append_batch_1"
    static let sql = """
        SELECT r_append, r_outcome, r_current_version, r_event_id, r_stream, r_version, r_position, r_content_hash
          FROM ledger_append_batch($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
        """
    typealias Row = PostgresRow

    let bindings: PostgresBindings

    init(_ batch: [PendingAppend], recordedAt: Date) {
        var binds = PostgresBindings(capacity: 10)
        binds.append(batch.map(\.stream))
        binds.append(batch.map { append -> Int64 in
            switch append.expectedVersion {
            case .any: -1
            case .noStream: -2
            case .streamExists: -3
            case .exact(let version): version
            }
        })
        binds.append(batch.map { Int32($0.events.count) })
        let events = batch.flatMap(\.events)
        binds.append(events.map(\.id))
        binds.append(events.map(\.type))
        binds.append(events.map { Int32($0.schemaVersion) })
        binds.append(events.map { ByteBuffer(data: $0.data) })
        binds.append(events.map { ByteBuffer(data: $0.metadata.encoded()) })
        binds.append(batch.flatMap(\.hashes).map { ByteBuffer(data: $0) })
        binds.append(recordedAt)
        bindings = binds
    }

    func makeBindings() -> PostgresBindings { bindings }
    func decodeRow(_ row: PostgresRow) -> PostgresRow { row }
}

extension EventStoreError {
    /// A unique violation from the database: a concurrent append stored the same event id first.
    fileprivate var isUniqueViolation: Bool {
        (underlying as? PSQLError)?.serverInfo?[.sqlState] == "23505"
    }
}

