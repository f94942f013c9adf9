import EventStore
import Foundation
import LedgerCore
import LedgerService
import Synchronization
import TestSupport
import Testing

/// When the books date a payment's later entries.
@Suite("Payments dated ahead in the books and receipts")
struct BooksEntryDateTests {
    /// A payment recorded by hand for a day ahead and voided before that day is taken back on its own day: no
    /// trial balance shows it taken back before it came in, and the void's lines are dated on the receipt's day.
    @Test(arguments: Backend.allCases)
    func aVoidIsNeverBookedBeforeThePaymentsOwnDay(backend: Backend) async throws {
        let today = try #require(LocalDate(iso: "2026-01-29"))
        let clock = Clock(OrganisationCalendar.amsterdam.startOfDay(today).addingTimeInterval(12 * 3600))
        let runtime = try await TestRuntime.make(backend, now: { clock.now })
        do {
            let id = try ProfileID("fd-1")
            _ = try await runtime.profiles.handle(
                .register(kind: .mediator, displayName: "Fd", contactEmail: "fd@example.org"), profileID: id, metadata: .init(actor: "test")
            )
            let (paymentID, _) = try await runtime.profiles.recordOfflinePayment(
                profileID: id, amount: .euros(minorUnits: 12_500), date: today.addingDays(5), purpose: .listing, note: "cash",
                metadata: .init(actor: "test"), idempotencyKey: nil
            )
            // The next day, before the day the payment was recorded for.
            clock.advance(by: 86_400)
            _ = try await runtime.payments.void(paymentID: paymentID, reason: "entered by mistake", metadata: .init(actor: "test"))
            for day in [today, today.addingDays(1), today.addingDays(4)] {
                let balance = try await runtime.books.trialBalance(on: day)
                #expect(balance.accounts.allSatisfy { $0.minorUnits == 0 }, "\(day): \(balance.accounts)")
            }
            let after = try await runtime.books.trialBalance(on: today.addingDays(5))
            #expect(after.accounts.allSatisfy { $0.minorUnits == 0 } && after.balanced, "\(after.accounts)")
            var dates: Set<String> = []
            try await runtime.books.forEachLine(from: today.addingDays(-10), through: today.addingDays(10)) { lines in for line in lines { dates.insert(line.date) } }
            #expect(dates == [today.addingDays(5).description], "\(dates)")
            await runtime.close()
        } catch {
            await runtime.close()
            throw error
        }
    }
}

extension BooksEntryDateTests {
    /// A receipt asked for at once for a payment recorded by hand for a day ahead names the period it pays for,
    /// as a receipt asked for on that day would.
    @Test(arguments: Backend.allCases)
    func aReceiptForAPaymentDatedAheadNamesItsPeriod(backend: Backend) async throws {
        let today = try #require(LocalDate(iso: "2026-01-29"))
        let runtime = try await TestRuntime.make(backend, now: { OrganisationCalendar.amsterdam.startOfDay(today).addingTimeInterval(12 * 3600) })
        do {
            let id = try ProfileID("fd-2")
            _ = try await runtime.profiles.handle(
                .register(kind: .mediator, displayName: "Fd", contactEmail: "fd2@example.org"), profileID: id, metadata: .init(actor: "test")
            )
            _ = try await runtime.profiles.handle(.changeCertification(.grant, reason: "certified"), profileID: id, metadata: .init(actor: "test"))
            let (paymentID, _) = try await runtime.profiles.recordOfflinePayment(
                profileID: id, amount: .euros(minorUnits: 12_500), date: today.addingDays(3), purpose: .listing, note: "cash",
                metadata: .init(actor: "test"), idempotencyKey: nil
            )
            let documents = try await runtime.receipts.documents(for: paymentID, metadata: .init(actor: "test"))
            let receipt = try #require(documents.first)
            #expect(documents.count == 1 && receipt.kind == .receipt)
            #expect(receipt.periodFrom == today.addingDays(3), "\(String(describing: receipt.periodFrom))")
            #expect(receipt.periodThrough == LocalDate(iso: "2027-01-31"), "\(String(describing: receipt.periodThrough))")
            await runtime.close()
        } catch {
            await runtime.close()
            throw error
        }
    }
}

/// A clock the test moves.
private final class Clock: Sendable {
    private let instant: Mutex<Date>
    init(_ start: Date) { instant = Mutex(start) }
    var now: Date { instant.withLock { $0 } }
    func advance(by seconds: TimeInterval) { instant.withLock { $0 = $0.addingTimeInterval(seconds) } }
}
