import EventStore
import Foundation
import LedgerCore
import Synchronization

/// The folded state of each stream a projection follows, in the projection's own rows of `projection_states`.
///
/// This is how a read model changes only from the events it is handed: it folds them onto the state it kept
/// from the events before, instead of reading the stream again. States are JSON of the fold's own type; a state
/// this build cannot read is a defect reported by name (run `listing-ledger rebuild` after changing a state's
/// shape).
struct FoldedStates<State: Codable & Sendable>: Sendable {
    let projection: String
    /// The states this process wrote or read last, by stream and version.
    var cache: FoldedStateCache<State>? = nil

    /// The states of `streams` kept so far; a stream not seen yet has none.
    ///
    /// With a cache, only each stream's stored version is read first; a state is read and decoded only where
    /// the cache does not hold that very version (another instance, or a batch rolled back, moved it).
    ///
    /// A state the batch before carried (``saveAll(_:_:)``) is taken as it was carried: that batch may not be
    /// stored yet.
    func load(_ streams: [String], _ connection: any ReadModelConnection) async throws -> [String: State] {
        var states: [String: State] = [:]
        var unread: [String] = []
        for stream in streams {
            if let carried = connection.carried(carryKey(stream)) as? State {
                states[stream] = carried
            } else {
                unread.append(stream)
            }
        }
        if let cache {
            let streams = unread
            unread = []
            try await forEachChunk(of: streams, "stream, version", connection) { row in
                let stream = try row.text(0)
                if let state = cache.state(of: stream, at: try row.integer(1)) {
                    states[stream] = state
                } else {
                    unread.append(stream)
                }
            }
        }
        let decoder = CompactJSONDecoder(dates: .secondsSinceReferenceDate)
        try await forEachChunk(of: unread, "stream, version, state", connection) { row in
            let stream = try row.text(0)
            let state: State
            do {
                state = try decoder.decode(State.self, from: Data(try row.text(2).utf8))
            } catch let error as EventStoreError {
                throw error
            } catch {
                throw EventStoreError(
                    .unexpectedRow, "the \(projection) state of \(stream) cannot be read by this build; run `listing-ledger rebuild`",
                    underlying: error
                )
            }
            states[stream] = state
            cache?.keep(state, of: stream, at: try row.integer(1))
        }
        return states
    }

    /// Runs `body` on this projection's rows of `projection_states` for `streams`, a query per chunk of them.
    private func forEachChunk(
        of streams: [String], _ columns: String, _ connection: any ReadModelConnection, _ body: (SQLRow) throws -> Void
    ) async throws {
        var start = streams.startIndex
        while start < streams.endIndex {
            let chunk = streams[start..<min(start + Self.streamsPerQuery, streams.endIndex)]
            start = chunk.endIndex
            let placeholders = Array(repeating: "?", count: chunk.count).joined(separator: ", ")
            let rows = try await connection.query(
                "SELECT \(columns) FROM projection_states WHERE projection = ? AND stream IN (\(placeholders))",
                [.text(projection)] + chunk.map { .text($0) }
            )
            for row in rows { try body(row) }
        }
    }

    /// Stores the states of several distinct streams, a few statements for all of them.
    func saveAll(_ states: [(stream: String, version: Int64, state: State)], _ connection: any ReadModelConnection) async throws {
        // Dates as seconds since 2001 (`Date`'s own form, which Foundation's `JSONDecoder` reads too).
        let encoder = CompactJSONEncoder(dates: .secondsSinceReferenceDate)
        var rows: [[SQLValue]] = []
        rows.reserveCapacity(states.count)
        for (stream, version, state) in states {
            rows.append([.text(projection), .text(stream), .integer(version), .text(String(decoding: try encoder.encode(state), as: UTF8.self))])
        }
        try await Self.upsert.write(rows, connection)
        for (stream, _, state) in states { connection.carry(carryKey(stream), state) }
        // Only states that are stored are remembered: one decided for a batch that is then dropped may rest
        // on reads that were already stale.
        if let cache {
            connection.afterWrites { for (stream, version, state) in states { cache.keep(state, of: stream, at: version) } }
        }
    }

    private static var upsert: BulkUpsert {
        BulkUpsert(
            table: "projection_states", columns: ["projection", "stream", "version", "state"],
            onConflict: "ON CONFLICT (projection, stream) DO UPDATE SET version = excluded.version, state = excluded.state"
        )
    }

    private func carryKey(_ stream: String) -> String { "state:" + stream }

    /// Forgets every state of this projection, for a rebuild.
    func reset(_ connection: any ReadModelConnection) async throws {
        try await connection.execute("DELETE FROM projection_states WHERE projection = ?", [.text(projection)])
        cache?.removeAll()
    }

    /// Bind parameters per query, well under both backends' limits.
    static var streamsPerQuery: Int { 1_000 }
}

extension FoldedStates {
    /// Folds the events of the streams this projection follows onto their kept states, event by event and in
    /// log order, stores the new states, and returns them in the order their streams were first touched.
    ///
    /// `evolve` applies one recorded event to a stream's state (a state not seen before starts as `initial`).
    func fold(
        _ events: [RecordedEvent],
        following follows: (String) -> Bool,
        initial: () -> State,
        _ connection: any ReadModelConnection,
        evolve: (inout State, RecordedEvent) throws -> Void
    ) async throws -> [(stream: String, version: Int64, state: State)] {
        var order: [String] = []
        var byStream: [String: [RecordedEvent]] = [:]
        for event in events where follows(event.stream) {
            if byStream[event.stream] == nil { order.append(event.stream) }
            byStream[event.stream, default: []].append(event)
        }
        guard !order.isEmpty else { return [] }
        let kept = try await load(order, connection)
        var folded: [(stream: String, version: Int64, state: State)] = []
        folded.reserveCapacity(order.count)
        for stream in order {
            var state = kept[stream] ?? initial()
            let streamEvents = byStream[stream] ?? []
            for event in streamEvents { try evolve(&state, event) }
            folded.append((stream, streamEvents.last?.version ?? 0, state))
        }
        try await saveAll(folded, connection)
        return folded
    }
}

/// The folded states a projection wrote or read last in this process, each with its stream's version, so the
/// next batch that touches a stream decodes its state only if the stored version moved meanwhile (another
/// instance applied a batch, or this one's transaction rolled back). Holds at most `capacity` states; past
/// that, half of them are dropped (they are read from the table again when needed).
final class FoldedStateCache<State: Sendable>: Sendable {
    private let entries = Mutex<[String: (version: Int64, state: State)]>([:])
    let capacity: Int

    init(capacity: Int = 20_000) {
        self.capacity = max(1, capacity)
    }

    func state(of stream: String, at version: Int64) -> State? {
        entries.withLock { entries in
            guard let entry = entries[stream], entry.version == version else { return nil }
            return entry.state
        }
    }

    func keep(_ state: State, of stream: String, at version: Int64) {
        entries.withLock { entries in
            if entries.count >= capacity, entries[stream] == nil {
                for key in Array(entries.keys.prefix(max(1, capacity / 2))) { entries[key] = nil }
            }
            entries[stream] = (version, state)
        }
    }

    func removeAll() {
        entries.withLock { $0.removeAll() }
    }
}
