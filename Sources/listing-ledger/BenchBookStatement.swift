import ArgumentParser
import EventStore
import Foundation
import LedgerCore
import LedgerService
import Logging
import Payments

extension BenchCommand {
    /// `listing-ledger bench book-statement`: a generated statement booked into the ledger, against parsing and
    /// matching the same file.
    struct BookStatement: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "book-statement",
            abstract: "Book a generated camt.053 statement into the ledger; compare with parsing and matching it.",
            discussion: """
                The profiles the statement pays for are registered and certified first (unless an earlier run left \
                them), and the read models take them in before the clock starts. Then, in one process: the file is \
                parsed and matched without the database (the reference), booked as `import-statement` books it \
                (every line recorded durably, each credit allocated to its profile; a file past the import's \
                50 MiB cap is booked with the cap raised to its size), and the read models catch up with what the \
                import appended. Each line is booked once per ledger: run it on a fresh ledger (a \
                second run finds every line already imported, and says how fast that was).
                """
        )
        @OptionGroup var common: CommonOptions
        @Option(help: "Entries in the generated statement.") var entries: Int = 10_000
        @Option(help: "Profiles the credits pay for.") var profiles: Int = 1_000

        func validate() throws {
            guard (1...1_000_000).contains(entries) else { throw ValidationError("--entries must be 1 to 1,000,000") }
            guard (1...100_000).contains(profiles) else { throw ValidationError("--profiles must be 1 to 100,000") }
        }

        func run() async throws {
            try await reportingFailures {
                try await withBenchRuntime(common) { try await measure($0) }
            }
        }

        func measure(_ runtime: LedgerRuntime) async throws {
            let clock = ContinuousClock()
            let statement = try BenchImportStatement(entryCount: entries, profileCount: profiles)
            if let last = statement.profileIDs.last, try await !runtime.profiles.load(last).state.isRegistered {
                let started = clock.now
                try await Webhooks.register(statement.profileIDs, runtime)
                printError(String(format: "registered and certified %d profiles in %.1f s", profiles, (clock.now - started).seconds))
            }
            try await ProjectionGroupRunner(store: runtime.store, projections: runtime.projectionRunners.map(\.projection)).catchUp()
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("bench-book-\(UUID().uuidString).xml")
            try statement.write(to: url)
            defer { try? FileManager.default.removeItem(at: url) }

            let owners = Dictionary(uniqueKeysWithValues: zip(statement.references.map(\.electronic), statement.profileIDs))
            var started = clock.now
            // A large statement is past the default import cap; the benchmark raises the cap to the file's size.
            let fileBytes = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0
            let options = BankStatementParseOptions(
                fileBytesMax: max(BankStatementParseOptions.fileBytesMaxDefault, fileBytes), linesPerFileMax: max(BankStatementParseOptions.linesPerFileMaxDefault, 2 * entries)
            )
            let matched = try Import.parseAndMatch(url, options: options, owners: owners)
            let parseSeconds = (clock.now - started).seconds
            print(String(format: "parse + match (reference): %d lines in %.3f s: %.0f lines/s", matched.lines, parseSeconds, Double(matched.lines) / parseSeconds))

            let metadata = CommandAttribution.metadata(actor: "bench", requestID: nil)
            started = clock.now
            let importer = BankStatementImport(pipeline: runtime.bankImport.pipeline, index: runtime.bankImport.index, options: options, ownAccount: runtime.bankImport.ownAccount)
            let summary = try await importer.importFile(url, metadata: metadata)
            let bookSeconds = (clock.now - started).seconds
            started = clock.now
            try await ProjectionGroupRunner(store: runtime.store, projections: runtime.projectionRunners.map(\.projection)).catchUp()
            let projectSeconds = (clock.now - started).seconds
            print(String(
                format: "book %@: %d lines (%d matched, %d queued, %d debits, %d already imported) in %.2f s: %.0f lines/s (%.3f of the reference)",
                runtime.store.backendName, summary.lines, summary.matched, summary.queued, summary.debits, summary.alreadyImported,
                bookSeconds, Double(summary.lines) / bookSeconds, parseSeconds / bookSeconds
            ))
            print(String(
                format: "read models took in the import in %.2f s; end to end %.0f lines/s",
                projectSeconds, Double(summary.lines) / (bookSeconds + projectSeconds)
            ))
        }
    }
}
