import ArgumentParser
import EventStore
import LedgerService

/// `listing-ledger rebuild`: deletes every read model and replays the whole log into it.
struct RebuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild",
        abstract: "Rebuild every read model (listing status, payment views, books, profile search, listing history) from the event log in one pass."
    )

    @OptionGroup var common: CommonOptions

    func run() async throws {
        try await reportingFailures {
            try await withRuntime(common) { runtime in
                let projections = runtime.projectionRunners.map(\.projection)
                let count = try await ProjectionRunner.rebuild(projections, store: runtime.store)
                print("\(projections.map(\.name).joined(separator: ", ")): replayed \(count) events in one pass")
            }
        }
    }
}
