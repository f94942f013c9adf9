import ArgumentParser
import EventStore
import Foundation
import LedgerCore
import LedgerService
import Logging
import Synchronization

extension BenchCommand {
    /// `bench rebuild`: every read model rebuilt from a generated ledger, against a plain read of the same log.
    struct Rebuild: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Rebuild every read model from a generated ledger and compare with reading the log.",
            discussion: """
            Unless the ledger already holds --events events, it is first filled through the real services: profiles \
            registered and certified, eight yearly offline payments for each (allocated, listing the profile), and a waiver \
            for every twentieth. Then the log is read end to end (the reference), and every read model is \
            rebuilt from the start of the log in one pass, as `listing-ledger rebuild` does, in the same process.
            """
        )
        @OptionGroup var common: CommonOptions
        @Option(help: "Events the generated ledger holds at least.") var events: Int = 1_000_000
        @Option(help: "Concurrent writers while generating.") var writers: Int = 16

        func validate() throws {
            guard (1...100_000_000).contains(events), (1...64).contains(writers) else {
                throw ValidationError("--events must be 1 to 100,000,000 and --writers 1 to 64")
            }
        }

        func run() async throws {
            try await Self.withGeneratedLedger(common, events: events, writers: writers) { runtime in
                let clock = ContinuousClock()
                var started = clock.now
                var cursor = LogCursor.start
                var count = 0
                while true {
                    let batch = try await runtime.store.readAll(after: cursor, limit: 10_000)
                    guard let last = batch.last else { break }
                    count += batch.count
                    cursor = last.cursor
                }
                let readSeconds = (clock.now - started).seconds
                print(String(format: "read %@: %d events in %.2f s: %.0f events/s", runtime.store.backendName, count, readSeconds, Double(count) / readSeconds))
                started = clock.now
                let projections = runtime.projectionRunners.map(\.projection)
                let replayed = try await ProjectionRunner.rebuild(projections, store: runtime.store)
                let total = (clock.now - started).seconds
                print(String(
                    format: "rebuild all %@: %d events, %d read models in one pass in %.2f s: %.0f events/s (%.2f of the plain read), peak RSS %d MiB",
                    runtime.store.backendName, replayed, projections.count, total, Double(replayed) / total,
                    (Double(replayed) / total) / (Double(count) / readSeconds), PeakMemory.residentMiB()
                ))
            }
        }

        /// Opens the ledger `common` names, fills it (``generate(_:events:writers:)``) and runs `body` on it,
        /// reporting failures as every command does.
        static func withGeneratedLedger(
            _ common: CommonOptions, events: Int, writers: Int, _ body: (LedgerRuntime) async throws -> Void
        ) async throws {
            try await reportingFailures {
                let configuration = try await common.resolve()
                // Payments are dated in the past years; the clock stays where it is.
                let runtime = try await LedgerRuntime.open(configuration, logger: Logger(label: "bench"))
                do {
                    try await generate(runtime, events: events, writers: writers)
                    try await body(runtime)
                } catch {
                    await runtime.close()
                    throw error
                }
                await runtime.close()
            }
        }

        /// Fills the ledger through the services until it holds `events` events.
        static func generate(_ runtime: LedgerRuntime, events target: Int, writers: Int) async throws {
            var present = 0
            var cursor = LogCursor.start
            while true {
                let batch = try await runtime.store.readAll(after: cursor, limit: 10_000)
                guard let last = batch.last else { break }
                present += batch.count
                cursor = last.cursor
            }
            guard present < target else { return }
            // About 19 events per profile: registration, certification, eight yearly payments (each a payment and
            // an allocation), the visibility changes, and a waiver for every twentieth.
            let profiles = (target - present) / 19 + 1
            let run = UUID().uuidString.prefix(6).lowercased()
            let metadata = CommandAttribution.metadata(actor: "bench", requestID: nil)
            let today = runtime.profiles.policy.calendar.date(at: runtime.now())
            let done = Counter()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<writers {
                    group.addTask {
                        for index in stride(from: writer, to: profiles, by: writers) {
                            let id = try ProfileID("bench-\(run)-\(index)")
                            _ = try await runtime.profiles.handle(.register(kind: .mediator, displayName: "Mediator \(index)", contactEmail: "m\(index)@example.org"), profileID: id, metadata: metadata)
                            _ = try await runtime.profiles.handle(.changeCertification(.grant, reason: "assessed"), profileID: id, metadata: metadata)
                            for year in 0..<8 {
                                let date = today.addingMonths(-12 * (8 - year)).addingDays(index % 28)
                                _ = try await runtime.profiles.recordOfflinePayment(
                                    profileID: id, amount: .euros(minorUnits: 12_500), date: date, purpose: .listing, note: "bench", metadata: metadata, idempotencyKey: nil
                                )
                            }
                            if index % 20 == 0 {
                                _ = try await runtime.profiles.handle(
                                    .grantWaiver(waiverID: "hardship", from: today, through: today.addingDays(90), reason: "hardship"), profileID: id, metadata: metadata
                                )
                            }
                            let finished = done.increment()
                            if finished % 1_000 == 0 { printError("generated \(finished) of \(profiles) profiles") }
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
    }
}

/// A count shared by concurrent tasks.
final class Counter: Sendable {
    private let value = Mutex(0)

    func increment() -> Int {
        value.withLock { value in
            value += 1
            return value
        }
    }
}
