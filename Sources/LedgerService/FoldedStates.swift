import EventStore
import Foundation

/// The folded state of each stream a projection follows, in the projection's own rows of `projection_states`.
///
/// This is how a read model changes only from the events it is handed: it folds them onto the state it kept
/// from the events before, instead of reading the stream again. States are JSON of the fold's own type; a state
/// this build cannot read is a defect reported by name (run `listing-ledger rebuild` after changing a state's
/// shape).
struct FoldedStates<State: Codable & Sendable>: Sendable {
    let projection: String

    /// The states of `streams` kept so far; a stream not seen yet has none.
    func load(_ streams: [String], _ connection: any ReadModelConnection) async throws -> [String: State] {
        var states: [String: State] = [:]
        var start = streams.startIndex
        while start < streams.endIndex {
            let chunk = streams[start..<min(start + Self.streamsPerQuery, streams.endIndex)]
            start = chunk.endIndex
            let placeholders = Array(repeating: "?", count: chunk.count).joined(separator: ", ")
            let rows = try await connection.query(
                "SELECT stream, state FROM projection_states WHERE projection = ? AND stream IN (\(placeholders))",
                [.text(projection)] + chunk.map { .text($0) }
            )
            for row in rows {
                let stream = try row.text(0)
                do {
                    states[stream] = try JSONDecoder().decode(State.self, from: Data(try row.text(1).utf8))
                } catch let error as EventStoreError {
                    throw error
                } catch {
                    throw EventStoreError(
                        .unexpectedRow, "the \(projection) state of \(stream) cannot be read by this build; run `listing-ledger rebuild`",
                        underlying: error
                    )
                }
            }
        }
        return states
    }

    /// Stores the states of several distinct streams, a few statements for all of them.
    func saveAll(_ states: [(stream: String, version: Int64, state: State)], _ connection: any ReadModelConnection) async throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var rows: [[SQLValue]] = []
        rows.reserveCapacity(states.count)
        for (stream, version, state) in states {
            rows.append([.text(projection), .text(stream), .integer(version), .text(String(decoding: try encoder.encode(state), as: UTF8.self))])
        }
        try await Self.upsert.write(rows, connection)
    }

    private static var upsert: BulkUpsert {
        BulkUpsert(
            table: "projection_states", columns: ["projection", "stream", "version", "state"],
            onConflict: "ON CONFLICT (projection, stream) DO UPDATE SET version = excluded.version, state = excluded.state"
        )
    }

    /// Forgets every state of this projection, for a rebuild.
    func reset(_ connection: any ReadModelConnection) async throws {
        try await connection.execute("DELETE FROM projection_states WHERE projection = ?", [.text(projection)])
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
