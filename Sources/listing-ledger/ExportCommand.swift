import ArgumentParser
import Foundation
import LedgerCore
import LedgerService

/// `listing-ledger export journal`: the books for the accountant, as the API's `/books/journal` gives them.
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export the books.",
        subcommands: [Journal.self]
    )

    struct Journal: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the journal (every payment, refund, chargeback, return and bank line as entries) for the accountant.",
            discussion: """
                The same file as GET /api/v1/books/journal: Beancount (checked with bean-check, the bank balances of \
                imported statements as balance checks) or CSV, one line per posting. Everything recorded until the \
                command starts is in it. Written to standard output unless --output names a file, which is replaced \
                only once the whole journal is written.
                """
        )
        @OptionGroup var common: CommonOptions
        @Option(help: "beancount or csv.") var format: String = "beancount"
        @Option(help: "The first day, YYYY-MM-DD (default: the first day with an entry).") var from: String?
        @Option(help: "The last day, YYYY-MM-DD (default: today).") var to: String?
        @Option(help: "The file to write (default: standard output).") var output: String?

        func run() async throws {
            try await reportingFailures {
                guard let chosen = BooksExport.Format(rawValue: format) else { throw Failure.usage("--format must be beancount or csv, not '\(format.prefix(40))'") }
                func day(_ text: String?, _ option: String) throws -> LocalDate? {
                    guard let text else { return nil }
                    guard let date = LocalDate(iso: text), LedgerBounds.contains(date) else {
                        throw Failure.usage("\(option) '\(text.prefix(40))' is not a day like 2026-01-31 between 2000 and 2199")
                    }
                    return date
                }
                let (given, last) = (try day(from, "--from"), try day(to, "--to"))
                try await withRuntime(common) { runtime in
                    let from: LocalDate
                    let to: LocalDate
                    let today = runtime.profiles.policy.calendar.date(at: runtime.now())
                    do {
                        (from, to) = try await runtime.books.range(from: given, through: last, today: today)
                    } catch DomainError.invalidDateRange {
                        // Only a given first day can come after the last (the default first day never does).
                        let end = last.map { "--to \($0)" } ?? "today (\(today))"
                        let hint = last == nil ? "; give --to to end on a later day" : ""
                        throw Failure.usage("--from \(given.map(\.description) ?? "") is after \(end): nothing lies between\(hint)")
                    }
                    let export = BooksExport(books: runtime.books)
                    if let output {
                        try await Self.write(to: output) { handle in
                            try await export.write(chosen, from: from, through: to) { text in try handle.write(contentsOf: Data(text.utf8)) }
                        }
                        printError("wrote the journal from \(from) to \(to) to \(output)")
                    } else {
                        try await export.write(chosen, from: from, through: to) { text in
                            try FileHandle.standardOutput.write(contentsOf: Data(text.utf8))
                        }
                    }
                }
            }
        }

        /// Writes into a new file beside `path` and moves it over `path` once `body` finished, so a failed
        /// export never leaves half a journal where a whole one was.
        static func write(to path: String, _ body: (FileHandle) async throws -> Void) async throws {
            let target = URL(fileURLWithPath: path)
            let partial = target.deletingLastPathComponent().appendingPathComponent(".\(target.lastPathComponent).\(UUID().uuidString.prefix(8)).partial")
            // The new file keeps the permissions of the one it replaces (a journal kept private stays private).
            let kept = (try? FileManager.default.attributesOfItem(atPath: target.path))?[.posixPermissions]
            guard FileManager.default.createFile(atPath: partial.path, contents: nil, attributes: kept.map { [.posixPermissions: $0] }) else {
                throw Failure.failed("cannot write in the folder of \(path)")
            }
            do {
                let handle = try FileHandle(forWritingTo: partial)
                do {
                    try await body(handle)
                    try handle.synchronize()
                    try handle.close()
                } catch {
                    try? handle.close()
                    throw error
                }
                // rename(2) replaces the old file in one step.
                guard rename(partial.path, target.path) == 0 else {
                    throw Failure.failed("cannot write \(path): \(String(cString: strerror(errno)))")
                }
            } catch {
                try? FileManager.default.removeItem(at: partial)
                if error is Failure { throw error }
                throw Failure.failed("cannot write \(path): \(error.localizedDescription)")
            }
        }
    }
}
