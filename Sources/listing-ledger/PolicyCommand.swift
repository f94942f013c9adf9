import ArgumentParser
import EventStore
import Foundation
import LedgerCore
import LedgerService

/// `listing-ledger policy`: the ledger's dated listing policy (price, period, grace).
struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy",
        abstract: "Show the dated listing policy, or schedule a change of price, period or grace.",
        subcommands: [Show.self, Schedule.self]
    )

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print every change of the policy, oldest first, and what is in force today.")

        @OptionGroup var common: CommonOptions

        func run() async throws {
            try await reportingFailures {
                try await withRuntime(common) { runtime in
                    let book = runtime.profiles.policyBook
                    print("effective from\tprice\tperiod months\tgrace days\trecorded\tby\treason")
                    for record in try await book.changes() {
                        let change = record.change
                        let line: [String] = [
                            change.effectiveFrom.description, change.price.decimalString, String(change.monthsPerPeriod), String(change.graceDays),
                            record.recordedAt.formatted(.iso8601), record.actor ?? "-",
                            change.reason + (change.retroactive ? " (retroactive)" : ""),
                        ]
                        print(line.joined(separator: "\t"))
                    }
                    let policy = book.current
                    let today = policy.calendar.date(at: runtime.now())
                    let entry = policy.tariff.entry(on: today)
                    print("in force today (\(today)): \(entry.price.decimalString) EUR for \(entry.months) months, \(entry.graceDays ?? policy.graceDays) days of grace")
                }
            }
        }
    }

    struct Schedule: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record a change of the policy from a date on; what is not given stays as it is on that date.",
            discussion: "A change may not take effect before today unless --allow-past is given; the reason is recorded either way. A change that a change already scheduled later would put back on its day (a later change that only carried the old price, period or grace forward) is refused, naming what it would put back; a later change that set a value of its own stands."
        )

        @OptionGroup var common: CommonOptions

        @Option(name: .customLong("from"), help: "The first day the change is in force, YYYY-MM-DD.")
        var effectiveFrom: String

        @Option(parsing: .unconditional, help: "The price of one period, EUR, e.g. 150.00.")
        var price: String?

        @Option(parsing: .unconditional, help: "The months one period buys (1 to 120).")
        var periodMonths: Int?

        @Option(parsing: .unconditional, help: "Days a listing stays visible after its last paid day (0 to 365).")
        var graceDays: Int?

        @Option(help: "Why the policy changes (recorded with the change).")
        var reason: String

        @Flag(help: "Allow a change that takes effect before today (it changes past answers).")
        var allowPast = false

        func run() async throws {
            try await reportingFailures {
                guard let from = LocalDate(iso: effectiveFrom) else {
                    throw Failure.usage("--from '\(effectiveFrom.prefix(40))' is not a date like 2027-01-01")
                }
                let parsedPrice: Money?
                do {
                    parsedPrice = try price.map { try Money(parsing: $0, currency: "EUR") }
                } catch {
                    throw Failure.usage("--price: \(error)")
                }
                try await withRuntime(common) { runtime in
                    let book = runtime.profiles.policyBook
                    let user = ProcessInfo.processInfo.userName
                    do {
                        let change = try await book.schedule(
                            book.request(
                                effectiveFrom: from, price: parsedPrice, monthsPerPeriod: periodMonths, graceDays: graceDays,
                                reason: reason, allowPast: allowPast
                            ),
                            metadata: EventMetadata(actor: "cli:\(user)"), now: runtime.now()
                        )
                        print("from \(change.effectiveFrom): \(change.price.decimalString) EUR for \(change.monthsPerPeriod) months, \(change.graceDays) days of grace")
                    } catch let error as DomainError {
                        throw Failure.failed(error.description)
                    }
                }
            }
        }
    }
}
