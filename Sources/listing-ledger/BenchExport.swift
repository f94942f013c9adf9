import ArgumentParser
import EventStore
import Foundation
import LedgerCore
import LedgerService
import Logging

extension BenchCommand {
    /// `bench export`: the books of a year exported as Beancount or CSV, against reading the same journal lines.
    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Export a year of the books and compare with reading the same journal lines.",
            discussion: """
            Unless the books already hold --entries entries, the ledger is first given that many more payments of \
            the last full calendar year (donations by bank transfer, spread over its days; each one entry of two \
            lines), appended to the log in batches, and the books take them in (timed). Then, in the same process, \
            the year's journal lines are read without formatting (the reference), and the year is exported in \
            --format to a sink that counts the bytes. The peak resident memory is measured during the export \
            alone (the kernel's high-water mark is reset before it starts).
            """
        )
        @OptionGroup var common: CommonOptions
        @Option(help: "Entries the books hold at least.") var entries: Int = 100_000
        @Option(help: "beancount or csv.") var format: String = "beancount"

        func validate() throws {
            guard (1...10_000_000).contains(entries) else { throw ValidationError("--entries must be 1 to 10,000,000") }
            guard BooksExport.Format(rawValue: format) != nil else { throw ValidationError("--format must be beancount or csv") }
        }

        func run() async throws {
            try await reportingFailures {
                let configuration = try await common.resolve()
                let runtime = try await LedgerRuntime.open(configuration, logger: Logger(label: "bench"))
                do {
                    let calendar = runtime.profiles.policy.calendar
                    let year = calendar.date(at: runtime.now()).year - 1
                    guard let first = LocalDate(year: year, month: 1, day: 1), let last = LocalDate(year: year, month: 12, day: 31) else {
                        throw ValidationError("no calendar year before this one")
                    }
                    let clock = ContinuousClock()
                    try await runtime.books.catchUp()
                    let held = try await Self.entries(runtime, from: first, through: last)
                    if held < entries {
                        let appended = try await Self.fill(runtime, count: entries - held, from: first)
                        let started = clock.now
                        try await runtime.books.catchUp()
                        let seconds = (clock.now - started).seconds
                        print(String(format: "books: took in %d payments in %.2f s: %.0f entries/s", appended, seconds, Double(appended) / seconds))
                    }
                    var started = clock.now
                    var lines = 0
                    try await runtime.books.forEachLine(from: first, through: last) { page in lines += page.count }
                    let readSeconds = (clock.now - started).seconds
                    print(String(format: "read: %d journal lines of %d in %.2f s: %.0f lines/s", lines, year, readSeconds, Double(lines) / readSeconds))
                    PeakMemory.reset()
                    let before = PeakMemory.currentMiB()
                    started = clock.now
                    var bytes = 0
                    try await BooksExport(books: runtime.books).write(BooksExport.Format(rawValue: format) ?? .beancount, from: first, through: last) { chunk in
                        bytes += chunk.utf8.count
                    }
                    let exportSeconds = (clock.now - started).seconds
                    print(String(
                        format: "export %@ %@: %d lines, %.1f MiB in %.2f s: %.0f lines/s (%.2f of the plain read); resident memory %d MiB at the start, peak %d MiB during the export (+%d MiB)",
                        format, runtime.store.backendName, lines, Double(bytes) / 1_048_576, exportSeconds, Double(lines) / exportSeconds,
                        readSeconds / exportSeconds, before, PeakMemory.residentMiB(), PeakMemory.residentMiB() - before
                    ))
                } catch {
                    await runtime.close()
                    throw error
                }
                await runtime.close()
            }
        }

        /// Entries the books hold for the days given.
        static func entries(_ runtime: LedgerRuntime, from: LocalDate, through: LocalDate) async throws -> Int {
            try await runtime.store.withReadModelConnection { connection in
                Int(try await connection.query(
                    "SELECT COUNT(DISTINCT entry_id) FROM journal_lines WHERE entry_date >= ? AND entry_date <= ?", [.text(from.description), .text(through.description)]
                ).first?.integer(0) ?? 0)
            }
        }

        /// Appends `count` bank donations spread over the year starting at `from`, 500 payments per append.
        static func fill(_ runtime: LedgerRuntime, count: Int, from: LocalDate) async throws -> Int {
            let run = UUID().uuidString.prefix(8).lowercased()
            let metadata = EventMetadata(actor: "system:bench")
            var done = 0
            while done < count {
                let batch = min(500, count - done)
                let appends = try (0..<batch).map { offset -> StreamAppend in
                    let index = done + offset
                    let paymentID = PaymentID(method: .bank, externalID: "bench-\(run)-\(index)")
                    let received = PaymentReceived(
                        paymentID: paymentID, method: .bank, amount: .euros(minorUnits: Int64(1_000 + index % 9_000)), purpose: .donation, profileID: nil,
                        effectiveDate: from.addingDays(index % 365), note: "benchmark donation \(index)", occurredAt: runtime.now()
                    )
                    return StreamAppend(
                        stream: paymentID.streamName,
                        events: [NewEvent(id: .timeOrdered(), type: PaymentReceived.typeName, data: try received.encodedData(), metadata: metadata)],
                        expecting: .noStream
                    )
                }
                _ = try await runtime.store.append(appends)
                done += batch
            }
            return done
        }
    }
}
