import ArgumentParser
import EventStore
import Foundation
import LedgerService
import Payments

/// `listing-ledger import-statement FILE`: books a bank statement (camt.053, MT940 or CSV).
struct ImportStatementCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import-statement",
        abstract: "Import a bank statement: credits become payments, matched by RF reference; the rest wait for staff.",
        discussion: """
            The file is read whole and checked (format, safety, balances) before anything is booked: a rejected \
            file books nothing and exits 1. Importing a statement again, or one that overlaps it, in the same \
            format books nothing twice. A file bringing booking days of its account that a file of another format \
            brought before (MT940, then camt.053 or CSV), or one writing the account another way, is refused and \
            books nothing: import each period in one format. An MT940 line without an entry date counts on its \
            value date.
            """
    )

    @OptionGroup var common: CommonOptions
    @Argument(help: "The statement file.") var file: String
    @Option(help: "camt053, mt940 or csv (default: detected from the content).") var format: String?

    func run() async throws {
        try await reportingFailures {
            let url = URL(fileURLWithPath: file)
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder) else {
                throw Failure.failed("there is no file \(file); nothing was imported")
            }
            guard !isFolder.boolValue else { throw Failure.failed("\(file) is a folder, not a statement file; nothing was imported") }
            guard FileManager.default.isReadableFile(atPath: url.path) else {
                throw Failure.failed("\(file) cannot be read by this user (check its permissions); nothing was imported")
            }
            let chosen = try format.map { text in
                guard let format = BankStatementFormat(rawValue: text) else { throw Failure.usage("unknown format '\(text)'; use camt053, mt940 or csv") }
                return format
            }
            try await withRuntime(common) { runtime in
                let summary: BankStatementImport.Summary
                do {
                    summary = try await runtime.bankImport.importFile(
                        url, format: chosen, metadata: EventMetadata(actor: "cli:import-statement"),
                        progress: { done, total in printError("booked \(done) of \(total) lines") }
                    )
                } catch let error as PaymentsError {
                    throw Failure.failed("\(file) was rejected: \(error.message); nothing was imported")
                }
                print("""
                    \(file): \(summary.format), \(summary.statements) statement(s), \(summary.lines) line(s)
                      matched \(summary.matched), queued for staff \(summary.queued), already imported \(summary.alreadyImported)
                      debits \(summary.debits), returns \(summary.returns), not booked yet \(summary.notBooked)
                    """)
                if summary.bookedOneByOne > 0 {
                    print("  \(summary.bookedOneByOne) line(s) were booked one at a time, more slowly: their hundred could not be written whole, usually because payments for the same profiles were recorded meanwhile (nothing is lost or doubled)")
                }
                if summary.zeroAmount > 0 {
                    print("  \(summary.zeroAmount) line(s) of 0.00 were kept as read: they move no money, so they are neither payments nor in the books")
                }
                if summary.unmatchedReturns > 0 {
                    print("  \(summary.unmatchedReturns) returned transfer(s) match no payment: find the payment each returns and refund or reverse it")
                }
            }
        }
    }
}
