import EventStore
import Foundation
import LedgerCore
import LedgerService
import Synchronization
import TestSupport
import Testing

/// The accountant's export is read from one snapshot of the books, a page at a time.
@Suite("Books export snapshot")
struct BooksExportSnapshotTests {
    /// A payment booked while the export is being written, on a day inside its range, is not in it: the pages
    /// after it agree with the ones before. The next export has it.
    @Test(arguments: Backend.allCases)
    func aPaymentBookedWhileTheExportIsWrittenIsLeftOutOfIt(backend: Backend) async throws {
        let now = OrganisationCalendar.amsterdam.startOfDay(LocalDate(iso: "2026-03-20")!).addingTimeInterval(12 * 3600)
        let runtime = try await TestRuntime.make(backend, now: { now })
        do {
            let id = try ProfileID("ada-1")
            _ = try await runtime.profiles.handle(
                .register(kind: .mediator, displayName: "Ada", contactEmail: "ada@example.org"), profileID: id, metadata: .init(actor: "test")
            )
            func pay(_ day: String, _ minorUnits: Int64) async throws {
                _ = try await runtime.profiles.recordOfflinePayment(
                    profileID: id, amount: .euros(minorUnits: minorUnits), date: LocalDate(iso: day)!, purpose: .donation, note: "",
                    metadata: .init(actor: "test"), idempotencyKey: nil
                )
            }
            try await pay("2026-03-01", 1_000)
            try await pay("2026-03-02", 2_000)
            try await runtime.books.catchUp()
            // Two lines a page: the first payment's entry is one page, the second's the next.
            let books = BooksQueries(store: runtime.store, projection: runtime.booksProjection, linesPerPage: 2)
            let from = LocalDate(iso: "2026-03-01")!, through = LocalDate(iso: "2026-03-31")!
            let chunks = Mutex(0)
            var text = ""
            try await BooksExport(books: books).write(.csv, from: from, through: through) { chunk in
                text += chunk
                // After the header and the first page: a payment dated after both is booked, and the books take it in.
                if chunks.withLock({ $0 += 1; return $0 }) == 2 {
                    try await pay("2026-03-03", 4_000)
                    try await runtime.books.catchUp()
                }
            }
            let rows = text.split(separator: "\r\n").dropFirst()
            #expect(rows.count == 4, "two entries of two lines each: \(text)")
            #expect(!text.contains("2026-03-03"), "\(text)")
            var again = ""
            try await BooksExport(books: books).write(.csv, from: from, through: through) { again += $0 }
            #expect(again.split(separator: "\r\n").dropFirst().count == 6, "\(again)")
        } catch {
            await runtime.close()
            throw error
        }
        await runtime.close()
    }
}
