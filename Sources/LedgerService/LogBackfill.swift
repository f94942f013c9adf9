import EventStore
import Foundation

/// A check that reads the log for what a version from before some claim left unclaimed (a profile's reference, a
/// statement's days) and claims it, from where the last check got to. Its progress is a stream of its own, each
/// event holding the log cursor reached, recorded once a check claimed something or read at least
/// ``eventsMin`` events (a smaller read is simply repeated next time), so later opens read only what is new.
struct LogBackfill {
    let store: any EventStore
    /// The progress stream, e.g. `reference-claims-checked`.
    let progressStream: String
    /// The type of its events, e.g. `ReferenceClaimsChecked`.
    let progressType: String

    /// The fewest events read worth recording progress for.
    static let eventsMin = 1_000

    struct Progress: Codable {
        var commitOrder: Int64
        var position: Int64
        var claimed: Int
    }

    /// Reads the log after the recorded progress a batch at a time, hands each batch to `claim` (which returns
    /// how many it claimed), and records how far it got. Returns how many were claimed in all.
    func run(metadata: EventMetadata, claim: ([RecordedEvent]) async throws -> Int) async throws -> Int {
        var markers: [RecordedEvent] = []
        while true {
            let page = try await store.readStream(progressStream, fromVersion: Int64(markers.count) + 1, limit: 1_000)
            markers += page
            if page.count < 1_000 { break }
        }
        var cursor = LogCursor.start
        if let last = markers.last {
            let progress = try JSONDecoder().decode(Progress.self, from: last.data)
            cursor = LogCursor(commitOrder: progress.commitOrder, position: progress.position)
        }
        var claimed = 0
        var scanned = 0
        while true {
            let batch = try await store.readAll(after: cursor, limit: min(1_000, store.limits.readBatchMax))
            guard let last = batch.last else { break }
            cursor = last.cursor
            scanned += batch.count
            claimed += try await claim(batch)
        }
        guard claimed > 0 || scanned >= Self.eventsMin else { return claimed }
        let progress = Progress(commitOrder: cursor.commitOrder, position: cursor.position, claimed: claimed)
        do {
            _ = try await store.append(
                [NewEvent(id: .timeOrdered(), type: progressType, data: try JSONEncoder().encode(progress), metadata: metadata)],
                to: progressStream, expecting: markers.isEmpty ? .noStream : .exact(Int64(markers.count))
            )
        } catch let error as EventStoreError where error.code == .versionConflict {
            // Another instance recorded its progress at the same time; the next open goes on from there.
        }
        return claimed
    }
}
