import ArgumentParser
import EventStore
import Foundation
import LedgerService
import Logging

/// `listing-ledger bench …`: event-store throughput on either backend, statement import and booking, card webhooks
/// end to end, rebuilding the read models, the sweeper after a policy change, exporting the books and the console.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure event-store throughput, statement import, read-model rebuilds, card webhooks end to end, the sweeper after a policy change, books exports and the console (see Benchmarks/README.md).",
        subcommands: [Append.self, Replay.self, Import.self, Rebuild.self, Webhooks.self, Export.self, Console.self, BookStatement.self, Sweep.self]
    )

    struct Append: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Append N events from C concurrent writers, B events per append.")
        @OptionGroup var common: CommonOptions
        @Option(help: "Events to append in all, rounded down to a whole number of appends per writer (at least one each).") var events: Int = 20_000
        @Option(help: "Concurrent writers.") var writers: Int = 16
        @Option(help: "Events per append.") var perAppend: Int = 1
        @Option(help: "Bytes of data per event (0 to 262,132: with its 12 bytes of JSON around it, an event's data is at most 256 KiB).") var dataBytes: Int = 200

        func validate() throws {
            guard (1...100_000_000).contains(events), (1...1_000).contains(writers), (1...1_000).contains(perAppend), (0...262_132).contains(dataBytes) else {
                throw ValidationError("--events must be 1 to 100,000,000, --writers and --per-append 1 to 1,000, --data-bytes 0 to 262,132")
            }
        }

        func run() async throws {
            try await reportingFailures {
                let configuration = try await common.resolve()
                let store = try await EventStores.open(configuration.databaseURL, logger: Logger(label: "bench"))
                _ = try await store.migrateLedger()
                let run = UUID().uuidString.prefix(8)
                let appendsPerWriter = max(1, events / (writers * perAppend))
                let payload = Data(#"{"bench":""#.utf8) + Data(repeating: 0x61, count: dataBytes) + Data(#""}"#.utf8)
                let clock = ContinuousClock()
                let started = clock.now
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for writer in 0..<writers {
                        group.addTask {
                            for _ in 0..<appendsPerWriter {
                                let batch = (0..<perAppend).map { _ in NewEvent(id: .timeOrdered(), type: "BenchmarkEvent", data: payload) }
                                _ = try await store.append(batch, to: "bench-\(run)-\(writer)", expecting: .any)
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                let seconds = (clock.now - started).seconds
                await store.close()
                let total = appendsPerWriter * writers * perAppend
                let appends = appendsPerWriter * writers
                print(String(
                    format: "append %@: %d events in %d appends, %d writers, %d per append: %.2f s, %.0f events/s, %.0f appends/s, peak RSS %d MiB",
                    store.backendName, total, appends, writers, perAppend, seconds, Double(total) / seconds, Double(appends) / seconds,
                    PeakMemory.residentMiB()
                ))
            }
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Read the whole log through a trivial projection.")
        @OptionGroup var common: CommonOptions
        @Option(help: "Events per read (at most the read limit, 10,000 by default).") var batch: Int = 10_000
        @Option(help: "First append this many events if the log holds fewer.") var ensureEvents: Int = 0

        func validate() throws {
            guard (1...10_000).contains(batch), (0...100_000_000).contains(ensureEvents) else {
                throw ValidationError("--batch must be 1 to 10,000 and --ensure-events 0 to 100,000,000")
            }
        }

        func run() async throws {
            try await reportingFailures {
                let configuration = try await common.resolve()
                let store = try await EventStores.open(configuration.databaseURL, logger: Logger(label: "bench"))
                _ = try await store.migrateLedger()
                try await fill(store, upTo: ensureEvents)
                let clock = ContinuousClock()
                let started = clock.now
                var cursor = LogCursor.start
                var count = 0
                var dataBytes = 0
                var streams = Set<String>()
                while true {
                    let events = try await store.readAll(after: cursor, limit: batch)
                    guard let last = events.last else { break }
                    // The trivial projection: count events and bytes, remember streams.
                    for event in events {
                        count += 1
                        dataBytes += event.data.count
                        streams.insert(event.stream)
                    }
                    cursor = last.cursor
                }
                let seconds = (clock.now - started).seconds
                await store.close()
                print(String(
                    format: "replay %@: %d events (%d streams, %d MiB of data) in %.2f s: %.0f events/s, peak RSS %d MiB",
                    store.backendName, count, streams.count, dataBytes / 1_048_576, seconds, Double(count) / max(seconds, 0.000_001),
                    PeakMemory.residentMiB()
                ))
            }
        }

        private func fill(_ store: any EventStore, upTo target: Int) async throws {
            var present = 0
            var cursor = LogCursor.start
            while present < target {
                let events = try await store.readAll(after: cursor, limit: 5_000)
                guard let last = events.last else { break }
                present += events.count
                cursor = last.cursor
            }
            guard present < target else { return }
            let payload = Data(#"{"bench":"replay"}"#.utf8)
            var remaining = target - present
            var stream = 0
            while remaining > 0 {
                let count = min(remaining, 500)
                _ = try await store.append(
                    (0..<count).map { _ in NewEvent(id: .timeOrdered(), type: "BenchmarkEvent", data: payload) },
                    to: "replay-\(stream % 1_000)", expecting: .any
                )
                remaining -= count
                stream += 1
                if stream % 100 == 0 { printError("filled \(target - remaining) of \(target) events") }
            }
        }
    }
}

extension Duration {
    var seconds: Double {
        let (whole, fraction) = components
        return Double(whole) + Double(fraction) / 1e18
    }
}

/// The process's peak resident memory, from /proc/self/status (VmHWM).
enum PeakMemory {
    /// Resets the kernel's high-water mark of resident memory (`VmHWM`) to what is resident now, so the next
    /// ``residentMiB()`` tells the peak since.
    static func reset() {
        try? Data("5".utf8).write(to: URL(fileURLWithPath: "/proc/self/clear_refs"))
    }

    /// The peak resident memory (`VmHWM`), in MiB.
    static func residentMiB() -> Int { field("VmHWM:") }

    /// The resident memory now (`VmRSS`), in MiB.
    static func currentMiB() -> Int { field("VmRSS:") }

    private static func field(_ name: String) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return -1 }
        for line in status.split(separator: "\n") where line.hasPrefix(name) {
            let kilobytes = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
            return kilobytes / 1024
        }
        return -1
    }
}
