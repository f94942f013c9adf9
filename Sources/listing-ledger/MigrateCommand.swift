import ArgumentParser
import EventStore
import LedgerService

/// `listing-ledger migrate`: applies pending migrations and says what it did.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply the database migrations this database lacks."
    )

    @OptionGroup var common: CommonOptions

    func run() async throws {
        try await reportingFailures {
            let configuration = try await common.resolve()
            let logger = LoggingSetup.bootstrap(configuration)
            let store = try await EventStores.open(configuration.databaseURL, logger: logger)
            do {
                let report = try await store.migrateLedger()
                await store.close()
                if report.applied.isEmpty {
                    print("\(configuration.databaseURL): up to date (\(report.alreadyApplied) migrations applied before)")
                } else {
                    print("\(configuration.databaseURL): applied \(report.applied.joined(separator: ", "))")
                }
            } catch {
                await store.close()
                throw error
            }
        }
    }
}
