import ArgumentParser
import EventStore
import Foundation
import LedgerCore
import LedgerService
import Logging

extension BenchCommand {
    /// `bench sweep`: a policy change makes every listing row due; the sweeper then evaluates every profile again.
    struct Sweep: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Time the sweeper evaluating every listing again after a policy change.",
            discussion: """
            Unless the ledger already holds --events events, it is first filled as `bench rebuild` fills it. The read \
            models are caught up; then a grace period one day longer than the one in force is recorded from today, which \
            makes every listing row due, and the sweeper evaluates each profile again under it. The reference is a \
            plain read of the same profiles' streams, 100 streams per query, as the sweeper reads them. Each run adds \
            one policy change to the ledger.
            """
        )
        @OptionGroup var common: CommonOptions
        @Option(help: "Events the generated ledger holds at least.") var events: Int = 100_000
        @Option(help: "Concurrent writers while generating.") var writers: Int = 16

        func validate() throws {
            guard (1...100_000_000).contains(events), (1...64).contains(writers) else {
                throw ValidationError("--events must be 1 to 100,000,000 and --writers 1 to 64")
            }
        }

        func run() async throws {
            try await Rebuild.withGeneratedLedger(common, events: events, writers: writers) { runtime in
                let projections = runtime.projectionRunners.map(\.projection)
                try await ProjectionGroupRunner(store: runtime.store, projections: projections, batchSize: runtime.store.limits.readBatchMax).catchUp()

                let book = runtime.profiles.policyBook
                let today = book.current.calendar.date(at: runtime.now())
                let grace = book.current.tariff.entry(on: today).graceDays ?? book.current.graceDays
                let request = book.request(
                    effectiveFrom: today, price: nil, monthsPerPeriod: nil, graceDays: min(grace + 1, PolicyDecider.graceDaysMax),
                    reason: "bench sweep", allowPast: false
                )
                _ = try await book.schedule(request, metadata: CommandAttribution.metadata(actor: "bench", requestID: nil), now: runtime.now())
                try await ProjectionRunner(store: runtime.store, projection: runtime.sweeper.projection).catchUp()
                let due = try await runtime.listings.due(at: runtime.now(), limit: Int(Int32.max))

                let clock = ContinuousClock()
                var started = clock.now
                let bound = Int64(max(1, runtime.store.limits.readBatchMax / 100))
                for start in stride(from: 0, to: due.count, by: 100) {
                    let streams = due[start..<min(start + 100, due.count)].compactMap { try? ProfileID($0).streamName }
                    _ = try await runtime.store.readStreams(streams, upToVersion: bound)
                }
                let readSeconds = (clock.now - started).seconds

                started = clock.now
                let changed = try await runtime.sweeper.sweepDue()
                let seconds = (clock.now - started).seconds
                let left = try await runtime.listings.due(at: runtime.now(), limit: Int(Int32.max)).count
                print(String(
                    format: "read %@: %d profile streams, 100 per query, in %.2f s: %.0f profiles/s", runtime.store.backendName, due.count, readSeconds,
                    Double(due.count) / readSeconds
                ))
                print(String(
                    format: "sweep %@: %d listing rows due after the policy change, evaluated in %.2f s: %.0f profiles/s (%.2f of the read), %d changed, %d still due",
                    runtime.store.backendName, due.count, seconds, Double(due.count) / seconds, readSeconds / seconds, changed, left
                ))
            }
        }
    }
}
