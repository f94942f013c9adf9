public import EventStore
public import Foundation
import LedgerCore
public import Logging
public import ServiceLifecycle

/// Records time-driven changes (expiry, grace end, waiver start and end, renewal reminders) when their
/// instant passes. Woken by the earliest scheduled change in the listing read model, or by new events.
///
/// Safe with several instances: each change is decided against the stream with an expected version, and a
/// profile whose listing already matches what was published yields no event.
public struct Sweeper: Service {
    public let profiles: ProfileService
    public let projection: ListingProjection
    public let queries: ListingQueries
    public let logger: Logger
    /// The longest the sweeper sleeps without looking.
    public var idleMax: Duration = .seconds(60)
    /// How long the sweeper lets appends gather after one woke it, before it looks. The rows it reads are the
    /// listing read model's, which takes new events in after a pause of its own (``AppendFollower``), so a
    /// look straight after an append mostly saw the rows as they were; under a steady stream of appends it
    /// looked after every commit, two queries each time.
    public var appendPause: Duration = .milliseconds(500)
    /// Profiles handled per pass.
    static let batchSize = 100

    public init(profiles: ProfileService, projection: ListingProjection, queries: ListingQueries, logger: Logger) {
        self.profiles = profiles
        self.projection = projection
        self.queries = queries
        self.logger = logger
    }

    /// Handles every profile whose scheduled change is due now; returns how many got new events.
    @discardableResult
    public func sweepDue() async throws -> Int {
        var changed = 0
        var handled = Set<String>()
        var policyRead = false
        while true {
            let due = try await queries.due(at: profiles.now(), limit: Self.batchSize).filter { !handled.contains($0) }
            guard !due.isEmpty else { return changed }
            if !policyRead {
                // Rows fall due at a policy change, perhaps recorded by another instance a moment ago: decide
                // under the policy as recorded now, not as last read.
                try await profiles.policyBook.reload()
                policyRead = true
            }
            var unchanged: [ProfileID] = []
            // The pass's profiles are read in one query; each is decided on what was read, and read again alone
            // only if it changed meanwhile (its append then meets a newer version).
            var ahead = StreamsReadAhead()
            try await ahead.read(due.compactMap { try? ProfileID($0).streamName }, from: profiles.store)
            for id in due {
                handled.insert(id)
                guard let profileID = try? ProfileID(id) else { continue }
                let outcome = try await profiles.handle(
                    .sweep, profileID: profileID, metadata: EventMetadata(actor: "system:sweeper"), known: try ahead.profile(profileID)
                )
                if outcome.appended.isEmpty { unchanged.append(profileID) } else { changed += 1 }
            }
            // Reschedule even the rows of profiles that got no event, so no row stays due: the pass's rows in one
            // transaction (a policy change makes every row due, and most get no event).
            if !unchanged.isEmpty {
                let rows = unchanged
                try await profiles.store.withReadModelTransaction { connection in try await projection.refresh(rows, connection) }
            }
            // The listing rows of profiles that changed are rewritten from the events just recorded (on PostgreSQL,
            // once they are visible to the log's readers: while another transaction that began before them still
            // runs, the listing's runner rewrites them when it ends).
            try await ProjectionRunner(store: profiles.store, projection: projection).catchUp()
        }
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let generation = profiles.store.appendGeneration
                    try await sweepDue()
                    var wait = idleMax
                    if let next = try await queries.nextScheduledChange() {
                        let seconds = max(0, next.timeIntervalSince(profiles.now()))
                        wait = min(wait, .milliseconds(Int64(seconds * 1_000) + 10))
                    }
                    if await profiles.store.waitForAppends(since: generation, timeout: wait) != generation {
                        try? await Task.sleep(for: appendPause)
                    }
                } catch {
                    if Task.isCancelled { return }
                    logger.error("sweep failed; retrying", metadata: ["error": "\(error)"])
                    try? await Task.sleep(for: .seconds(5))
                }
            }
        }
    }
}
