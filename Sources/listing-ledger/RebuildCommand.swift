import ArgumentParser
import EventStore
import LedgerService

/// `listing-ledger rebuild`: deletes every read model and replays the whole log into it.
struct RebuildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild",
        abstract: "Rebuild the read models (listing status) from the event log."
    )

    @OptionGroup var common: CommonOptions

    func run() async throws {
        try await reportingFailures {
            try await withRuntime(common) { runtime in
                for runner in runtime.projectionRunners {
                    let count = try await runner.rebuild()
                    print("\(runner.projection.name): replayed \(count) events")
                }
            }
        }
    }
}
