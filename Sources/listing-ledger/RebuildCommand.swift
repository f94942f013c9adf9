import ArgumentParser
import EventStore
import LedgerService

/// `listing-ledger rebuild`: deletes every read model and replays the whole log into it.
struct RebuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild",
        abstract: "Rebuild every read model (listing status, payment views, books, profile search, listing history) from the event log in one pass.",
        discussion: "Progress goes to standard error every few seconds; the count of events replayed to standard output at the end."
    )

    @OptionGroup var common: CommonOptions
    @Option(parsing: .unconditional, help: "Seconds between progress lines on standard error (0: one after every batch of the log).") var progressSeconds: Int = 5

    func validate() throws {
        guard (0...3_600).contains(progressSeconds) else { throw ValidationError("--progress-seconds must be 0 to 3600") }
    }

    func run() async throws {
        try await reportingFailures {
            try await withRuntime(common) { runtime in
                let projections = runtime.projectionRunners.map(\.projection)
                let head = try await runtime.store.headCursor()
                let clock = ContinuousClock()
                var lastReport = clock.now
                let interval = Duration.seconds(progressSeconds)
                let count = try await ProjectionRunner.rebuild(projections, store: runtime.store) { read, reached in
                    guard clock.now - lastReport >= interval else { return }
                    lastReport = clock.now
                    printError("rebuilding: \(read) events read, at position \(reached.position) of \(head.position)")
                }
                print("\(projections.map(\.name).joined(separator: ", ")): replayed \(count) events in one pass")
            }
        }
    }
}
