import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LedgerCore
import LedgerHTTP
import LedgerService
import NIOCore
import NIOFoundationCompat
import TestSupport
import Testing

/// Promises the README makes about bank transfers and the books (its second half), tried as a user reading it
/// would, through the real server on loopback: a transfer's credit, references of nobody, reversals without a
/// reason, the accounts staff decisions post to, the chart of accounts, balances brought forward into a range,
/// the bank account's opening balance and which statement gives a day's balance check.
@Suite("README audit, bank transfers and the books")
struct ReadmeAuditTwoTests {
    // MARK: Matching a transfer

    /// "125.00 buys one year, 250.00 two, anything above a multiple is credit, and the profile's credit counts:
    /// with 25.00 of credit, 100.00 buys a year" … "one payment buys at most 10 periods, credit included, and
    /// more is queued as `amount-over-limit`". 150.00 leaves 25.00 of credit; a later 100.00 then buys the next
    /// year; a later 1,350.00 (ten periods on its own, eleven with the credit) is queued and buys nothing.
    @Test(arguments: Backend.allCases)
    func aTransfersCreditBuysPartOfTheNextYearAndCountsTowardTheTenPeriodLimit(backend: Backend) async throws {
        try await Self.serve(backend) { client, runtime, staff in
            for id in ["cr-1", "cr-2"] { try await Self.certified(runtime, id) }
            let cora = try Self.reference("cr-1")
            let carl = try Self.reference("cr-2")
            typealias T = CamtStatementBuilder.Transaction
            let first = CamtStatementBuilder(statements: [.init(id: "CR-1", iban: Self.ourIBAN, entries: [
                .init(date: "2026-03-02", bankReference: "CR-1-A", transactions: [T(amount: "150.00", payerName: "Cora", structuredReference: cora)]),
                .init(date: "2026-03-02", bankReference: "CR-1-B", transactions: [T(amount: "150.00", payerName: "Carl", structuredReference: carl)]),
            ])]).xml
            let imported = try await Self.upload(client, staff, first)
            #expect(imported.status == .created, "\(imported.text)")
            #expect(imported.json["matched"] as? Int == 2 && imported.json["queued"] as? Int == 0, "\(imported.text)")
            for id in ["cr-1", "cr-2"] {
                let listing = try await Self.listing(client, staff, id)
                #expect(listing["visible"] as? Bool == true, "\(id): \(listing)")
                #expect(listing["paidThrough"] as? String == "2027-03-01", "\(id): 150.00 buys one year: \(listing)")
                #expect(listing["credit"] as? String == "25.00", "\(id): what is above the price is credit: \(listing)")
            }

            let second = CamtStatementBuilder(statements: [.init(id: "CR-2", iban: Self.ourIBAN, openingCents: 130_000, entries: [
                .init(date: "2026-03-04", bankReference: "CR-2-A", transactions: [T(amount: "100.00", payerName: "Cora", structuredReference: cora)]),
                .init(date: "2026-03-04", bankReference: "CR-2-B", transactions: [T(amount: "1350.00", payerName: "Carl", structuredReference: carl)]),
            ])]).xml
            let later = try await Self.upload(client, staff, second)
            #expect(later.status == .created, "\(later.text)")
            #expect(later.json["matched"] as? Int == 1 && later.json["queued"] as? Int == 1, "\(later.text)")

            // With 25.00 of credit, 100.00 buys the next year, and uses the credit up.
            let renewed = try await Self.listing(client, staff, "cr-1")
            #expect(renewed["paidThrough"] as? String == "2028-03-01", "100.00 with 25.00 of credit buys a year: \(renewed)")
            #expect(renewed["credit"] as? String == "0.00", "\(renewed)")

            // 1,350.00 alone buys ten periods; with the 25.00 of credit it would buy eleven: queued, nothing bought.
            let held = try await Self.listing(client, staff, "cr-2")
            #expect(held["paidThrough"] as? String == "2027-03-01" && held["credit"] as? String == "25.00", "\(held)")
            let queue = try await Self.exceptions(client, runtime, staff)
            let over = try #require(queue.first { $0["reasonCode"] as? String == "amount-over-limit" }, "\(queue)")
            #expect(over["amount"] as? String == "1350.00", "\(over)")
            #expect((over["reason"] as? String)?.contains("25.00 EUR of credit") == true, "the credit is counted: \(over)")
            #expect(queue.count == 1, "\(queue)")
        }
    }

    /// "… a valid reference of nobody's as `unknown-reference`": a listing reference and a donation reference
    /// with valid check digits that no registered profile holds. The money waits for staff in
    /// `Liabilities:UnidentifiedReceipts` ("money held for a staff decision"), not in income.
    @Test(arguments: Backend.allCases)
    func aValidReferenceThatNobodyHoldsIsQueuedAsUnknownReference(backend: Backend) async throws {
        try await Self.serve(backend) { client, runtime, staff in
            try await Self.certified(runtime, "ur-1")
            let nobody = try ProfileID("nobody-9")
            let listingReference = CreditorReference.forProfile(nobody)
            let donationReference = CreditorReference.forDonation(by: nobody)
            typealias T = CamtStatementBuilder.Transaction
            let xml = CamtStatementBuilder(statements: [.init(id: "UR-1", iban: Self.ourIBAN, entries: [
                .init(date: "2026-03-02", bankReference: "UR-A", transactions: [T(amount: "125.00", payerName: "Nina", structuredReference: listingReference.electronic)]),
                .init(date: "2026-03-02", bankReference: "UR-B", transactions: [T(amount: "25.00", payerName: "Nils", text: "gift \(donationReference.printed)")]),
            ])]).xml
            let imported = try await Self.upload(client, staff, xml)
            #expect(imported.status == .created, "\(imported.text)")
            #expect(imported.json["matched"] as? Int == 0 && imported.json["queued"] as? Int == 2, "\(imported.text)")

            let queue = try await Self.exceptions(client, runtime, staff)
            #expect(queue.compactMap { $0["reasonCode"] as? String } == ["unknown-reference", "unknown-reference"], "\(queue)")
            for (reference, amount) in [(listingReference, "125.00"), (donationReference, "25.00")] {
                let entry = queue.first { $0["amount"] as? String == amount }
                let reason = (entry?["reason"] as? String ?? "").replacingOccurrences(of: " ", with: "")
                #expect(reason.contains(reference.electronic), "the reason names the reference \(reference.printed): \(String(describing: entry))")
                #expect((entry?["profileId"] as? String) == nil, "not a profile's: \(String(describing: entry))")
            }

            let balances = try await Self.balances(client, staff, on: "2026-03-02")
            #expect(balances["Liabilities:UnidentifiedReceipts"] == "-150.00", "\(balances)")
            #expect(balances["Income:ListingContributions"] == nil && balances["Income:Donations"] == nil, "\(balances)")
            #expect(try await Self.listing(client, staff, "ur-1")["visible"] as? Bool == false)
        }
    }

    /// A second return of a payment the bank returned already (in the same file, or in a later one) takes back
    /// nothing more, and its money still leaves the bank account in the books: it is counted for staff and
    /// booked as a bank movement, so the statement's closing balance holds.
    @Test(arguments: Backend.allCases)
    func aSecondReturnOfAReturnedPaymentIsStillMoneyOut(backend: Backend) async throws {
        try await Self.serve(backend) { client, runtime, staff in
            try await Self.certified(runtime, "rt-1")
            typealias T = CamtStatementBuilder.Transaction
            let paid = CamtStatementBuilder(statements: [.init(id: "RT-1", iban: Self.ourIBAN, entries: [
                .init(date: "2026-03-02", bankReference: "RT-1-A", transactions: [
                    T(amount: "125.00", endToEndID: "E2E-RT-1", payerName: "Rita", structuredReference: try Self.reference("rt-1")),
                ]),
                .init(credit: false, date: "2026-03-03", bankReference: "RT-1-B", transactions: [T(amount: "125.00", endToEndID: "E2E-RT-1", returnReason: "AC04")]),
                .init(credit: false, date: "2026-03-03", bankReference: "RT-1-C", transactions: [T(amount: "125.00", endToEndID: "E2E-RT-1", returnReason: "AC04")]),
            ])]).xml
            let first = try await Self.upload(client, staff, paid)
            #expect(first.status == .created, "\(first.text)")
            #expect(first.json["returns"] as? Int == 1 && first.json["unmatchedReturns"] as? Int == 1, "\(first.text)")
            let later = CamtStatementBuilder(statements: [.init(id: "RT-2", iban: Self.ourIBAN, entries: [
                .init(credit: false, date: "2026-03-05", bankReference: "RT-2-A", transactions: [T(amount: "125.00", endToEndID: "E2E-RT-1", returnReason: "AC04")]),
            ])]).xml
            let second = try await Self.upload(client, staff, later)
            #expect(second.json["returns"] as? Int == 0 && second.json["unmatchedReturns"] as? Int == 1, "\(second.text)")

            // A file that holds the credit again (imported before) and one more return, but not the earlier returns.
            let again = CamtStatementBuilder(statements: [.init(id: "RT-1", iban: Self.ourIBAN, entries: [
                .init(date: "2026-03-02", bankReference: "RT-1-A", transactions: [
                    T(amount: "125.00", endToEndID: "E2E-RT-1", payerName: "Rita", structuredReference: try Self.reference("rt-1")),
                ]),
                .init(credit: false, date: "2026-03-03", bankReference: "RT-1-D", transactions: [T(amount: "125.00", endToEndID: "E2E-RT-1", returnReason: "AC04")]),
            ])]).xml
            let third = try await Self.upload(client, staff, again)
            #expect(third.json["returns"] as? Int == 0 && third.json["unmatchedReturns"] as? Int == 1, "\(third.text)")

            let unmatched = try await runtime.books.unmatchedReturns(limit: 20)
            #expect(unmatched.map(\.amount) == Array(repeating: .euros(minorUnits: 12_500), count: 3), "\(unmatched)")
            let balances = try await Self.balances(client, staff, on: "2026-03-06")
            #expect(balances["Income:Returns"] == "125.00", "\(balances)")
            #expect(balances["Assets:Bank"] == "625.00", "1,000.00 opening + 125.00 in, four times 125.00 out: \(balances)")
        }
    }

    /// "A returned or reversed transfer reverses the payment it returns (found by end-to-end id)" … "A reversal
    /// the bank gives no reason for counts as a return." A camt.053 reversal (`RvslInd`) without `RtrInf` of a
    /// matched transfer takes back what it bought; one that matches no payment is counted apart
    /// (`unmatchedReturns`) and listed for staff, not as an ordinary debit.
    @Test(arguments: Backend.allCases)
    func aReversalWithoutAReasonCountsAsAReturn(backend: Backend) async throws {
        try await Self.serve(backend) { client, runtime, staff in
            try await Self.certified(runtime, "rv-1")
            typealias T = CamtStatementBuilder.Transaction
            let paid = CamtStatementBuilder(statements: [.init(id: "RV-1", iban: Self.ourIBAN, entries: [
                .init(date: "2026-03-02", bankReference: "RV-1-A", transactions: [
                    T(amount: "125.00", endToEndID: "E2E-RV-1", payerName: "Rosa", structuredReference: try Self.reference("rv-1")),
                ]),
            ])]).xml
            let first = try await Self.upload(client, staff, paid)
            #expect(first.json["matched"] as? Int == 1, "\(first.text)")
            #expect(try await Self.listing(client, staff, "rv-1")["visible"] as? Bool == true)

            // Both debits are reversals with no return information: the bank says nothing about why.
            let reversals = CamtStatementBuilder(statements: [.init(id: "RV-2", iban: Self.ourIBAN, openingCents: 112_500, entries: [
                .init(credit: false, date: "2026-03-04", bankReference: "RV-2-A", transactions: [T(amount: "125.00", endToEndID: "E2E-RV-1")]),
                .init(credit: false, date: "2026-03-04", bankReference: "RV-2-B", transactions: [T(amount: "40.00", endToEndID: "E2E-ELSEWHERE")]),
            ])]).xml.replacingOccurrences(of: "<CdtDbtInd>DBIT</CdtDbtInd><Sts>", with: "<CdtDbtInd>DBIT</CdtDbtInd><RvslInd>true</RvslInd><Sts>")
            #expect(reversals.components(separatedBy: "<RvslInd>true</RvslInd>").count == 3 && !reversals.contains("<RtrInf>"))
            let second = try await Self.upload(client, staff, reversals)
            #expect(second.status == .created, "\(second.text)")
            #expect(second.json["returns"] as? Int == 1, "the reversal of the matched transfer is a return: \(second.text)")
            #expect(second.json["unmatchedReturns"] as? Int == 1, "the other reverses nothing: \(second.text)")
            #expect(second.json["debits"] as? Int == 0, "a reversal is not an ordinary debit: \(second.text)")

            #expect(try await Self.listing(client, staff, "rv-1")["visible"] as? Bool == false, "the returned transfer no longer lists rv-1")
            let paymentID = try #require(try await runtime.profiles.load(try ProfileID("rv-1")).state.allocations.first?.event.paymentID.rawValue)
            let view = try await client.execute(uri: "/api/v1/payments/\(paymentID)", method: .get, headers: staff).json
            let allocation = (view["allocations"] as? [[String: Any]])?.first
            #expect(allocation?["state"] as? String == "reversed" && allocation?["reversedAs"] as? String == "bank_return", "\(view)")
            #expect(((view["history"] as? [[String: Any]]) ?? []).contains { $0["type"] as? String == "PaymentReturned" }, "\(view)")

            let unmatched = try await runtime.books.unmatchedReturns(limit: 20)
            #expect(unmatched.map(\.amount) == [.euros(minorUnits: 4_000)], "\(unmatched)")
            let balances = try await Self.balances(client, staff, on: "2026-03-06")
            #expect(balances["Income:Returns"] == "125.00", "\(balances)")
            #expect(balances["Assets:Bank"] == "960.00", "1,000.00 opening + 125.00 − 125.00 − 40.00: \(balances)")
        }
    }

    // MARK: The books

    /// A transfer staff decided to pay back is paid back by a transfer from the bank account: once the statement
    /// with the money going out is imported, staff name its line, and the books settle what was due against it
    /// (no money paid out is left to classify, nothing is due any more). A line pays back one payment; lines of
    /// another amount, unknown keys and payments that did not come by transfer are refused.
    @Test(arguments: Backend.allCases)
    func aPaymentToPayBackIsPaidBackByTheTransferThatSentItBack(backend: Backend) async throws {
        try await Self.serve(backend) { client, runtime, staff in
            typealias T = CamtStatementBuilder.Transaction
            let due = try await Self.twoTransfersToPayBack(client, runtime, staff, "PB", second: "60.00")
            let sent = CamtStatementBuilder(statements: [.init(id: "PB-2", iban: Self.ourIBAN, openingCents: 112_000, entries: [
                .init(credit: false, date: "2026-03-04", bankReference: "PB-C", transactions: [T(amount: "60.00", payerName: "Finn", text: "your money back")]),
                .init(credit: false, date: "2026-03-04", bankReference: "PB-D", transactions: [T(amount: "60.00", endToEndID: "E2E-ELSEWHERE", returnReason: "AC04")]),
                .init(credit: false, date: "2026-03-04", bankReference: "PB-E", transactions: [T(amount: "25.00", payerName: "Bank", text: "charges")]),
            ])]).xml
            #expect(try await Self.upload(client, staff, sent).status == .created)
            let offered = try await client.execute(uri: "/api/v1/payments/\(due[0])/pay-back-lines", method: .get, headers: staff)
            let lines = offered.json["lines"] as? [[String: Any]] ?? []
            // The transfer back, and the return that matched no payment (money that went back all the same); not
            // the charges, of another amount.
            #expect(lines.count == 2 && lines.allSatisfy { $0["bookingDate"] as? String == "2026-03-04" && $0["amount"] as? String == "60.00" }, "\(offered.text)")
            let lineKey = try #require(lines.first { ($0["details"] as? String)?.contains("your money back") == true }?["lineKey"] as? String, "\(offered.text)")
            let returnKey = try #require(
                lines.first { ($0["details"] as? String)?.hasPrefix("returned by the bank (AC04)") == true }?["lineKey"] as? String, "\(offered.text)"
            )
            let before = try await Self.balances(client, staff, on: "2026-03-06")
            #expect(before["Liabilities:RefundsDue"] == "-120.00" && before["Expenses:Bank:Outgoing"] == "145.00", "\(before)")

            // The same request five times at once (a double click, a retry): recorded once, each answered 200.
            let url = "http://127.0.0.1:\(client.port ?? 0)/api/v1/payments/\(due[0])/paid-back"
            let headers = staff.map { ($0.name.rawName, $0.value) } + [("Content-Type", "application/json")]
            let answers = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for _ in 0..<5 {
                    group.addTask {
                        let paid = try await LoopbackClient.post(url, headers: headers, body: #"{"lineKey":"\#(lineKey)","note":"sent back on the 4th"}"#)
                        return (paid.status, paid.body)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(answers.allSatisfy { $0.0 == 200 }, "\(answers)")
            #expect(answers.filter { $0.1.contains("PaymentPaidBack") }.count == 1, "\(answers)")
            let recorded = try await runtime.store.readStream("payment-\(due[0])", fromVersion: 1, limit: 20).map(\.type)
            #expect(recorded.filter { $0 == "PaymentPaidBack" }.count == 1, "\(recorded)")
            let again = try await Self.post(client, staff, "/api/v1/payments/\(due[0])/paid-back", ["lineKey": lineKey, "note": "sent back on the 4th"])
            #expect(again.status == .ok && again.json["appended"] as? [String] == [], "the same again changes nothing: \(again.text)")
            let other = try await Self.post(client, staff, "/api/v1/payments/\(due[1])/paid-back", ["lineKey": lineKey])
            #expect(other.status == .conflict, "one line pays back one payment: \(other.text)")
            // The payment paid back names its line; another line for it is refused and left free.
            let secondLine = CamtStatementBuilder(statements: [.init(id: "PB-3", iban: Self.ourIBAN, openingCents: 97_500, entries: [
                .init(credit: false, date: "2026-03-05", bankReference: "PB-F", transactions: [T(amount: "60.00", payerName: "Finn", text: "sent twice")]),
            ])]).xml
            #expect(try await Self.upload(client, staff, secondLine).status == .created)
            let twice = try #require(try await runtime.books.moneyOutToPayBack(.euros(minorUnits: 6_000), bookedFrom: LocalDate(iso: "2026-03-05")!, limit: 5).first?.lineKey)
            let anotherLine = try await Self.post(client, staff, "/api/v1/payments/\(due[0])/paid-back", ["lineKey": twice])
            #expect(anotherLine.status == .conflict, "\(anotherLine.text)")
            #expect(try await runtime.store.readStream("paid-back-\(twice)", fromVersion: 1, limit: 5).isEmpty)
            let left = try await client.execute(uri: "/api/v1/payments/\(due[1])/pay-back-lines", method: .get, headers: staff)
            #expect((left.json["lines"] as? [[String: Any]])?.compactMap { $0["lineKey"] as? String } == [twice, returnKey], "the line used is offered no more: \(left.text)")

            let view = try await client.execute(uri: "/api/v1/payments/\(due[0])", method: .get, headers: staff)
            #expect(view.json["refunded"] as? String == "60.00", "\(view.text)")
            let after = try await Self.balances(client, staff, on: "2026-03-06")
            #expect(after["Liabilities:RefundsDue"] == "-60.00", "only the other payment is still due: \(after)")
            #expect(after["Expenses:Bank:Outgoing"] == "145.00", "the return, the charges and the second 60.00 are still money paid out: \(after)")
            #expect(after["Assets:Bank"] == "915.00", "1,000.00 + 120.00 in, 60.00 back, 60.00 returned, 25.00 and 60.00 out, each once: \(after)")
            let onTheDay = try await Self.balances(client, staff, on: "2026-03-04")
            #expect(onTheDay["Expenses:Bank:Outgoing"] == "85.00", "settled on the day the bank booked the transfer: \(onTheDay)")

            // Refused, and nothing written: a key that names no line, a line of money coming in or another amount,
            // no key, a payment staff recorded by hand.
            let unknown = try await Self.post(client, staff, "/api/v1/payments/\(due[1])/paid-back", ["lineKey": "abc123"])
            #expect(unknown.status == .unprocessableContent, "\(unknown.text)")
            let charges = try #require(try await runtime.books.moneyOutToPayBack(.euros(minorUnits: 2_500), bookedFrom: LocalDate(iso: "2026-03-01")!, limit: 5).first?.lineKey)
            let otherAmount = try await Self.post(client, staff, "/api/v1/payments/\(due[1])/paid-back", ["lineKey": charges])
            #expect(otherAmount.status == .unprocessableContent, "\(otherAmount.text)")
            let noKey = try await Self.post(client, staff, "/api/v1/payments/\(due[1])/paid-back", ["note": "sent"])
            #expect(noKey.status == .badRequest || noKey.status == .unprocessableContent, "\(noKey.text)")
            try await Self.certified(runtime, "pb-9")
            let cash = try await Self.post(client, staff, "/api/v1/profiles/pb-9/offline-payments", ["amount": "125.00", "date": "2026-03-02", "purpose": "listing", "note": "cash"])
            let cashID = try #require(cash.headers[.location]?.split(separator: "/").last.map(String.init), "\(cash.text)")
            let byHand = try await Self.post(client, staff, "/api/v1/payments/\(cashID)/paid-back", ["lineKey": charges])
            #expect(byHand.status == .conflict, "only a bank transfer is paid back by a transfer: \(byHand.text)")
            #expect(try await runtime.store.readStream("paid-back-\(charges)", fromVersion: 1, limit: 5).isEmpty, "the refused requests claimed nothing")
            let stillDue = try await Self.balances(client, staff, on: "2026-03-06")
            #expect(stillDue["Liabilities:RefundsDue"] == after["Liabilities:RefundsDue"] && stillDue["Expenses:Bank:Outgoing"] == after["Expenses:Bank:Outgoing"], "\(stillDue)")

            // A transfer the bank returned without naming it (no end-to-end id to match) is traced by staff to the
            // payment it was: that payment, resolved as a refund, is paid back by the return, and nothing is left
            // due for it (before, the return was refused and the refund stayed due for good).
            let byReturn = try await Self.post(client, staff, "/api/v1/payments/\(due[1])/paid-back", ["lineKey": returnKey, "note": "returned by Fay's bank"])
            #expect(byReturn.status == .ok, "\(byReturn.text)")
            let settled = try await Self.balances(client, staff, on: "2026-03-06")
            #expect((settled["Liabilities:RefundsDue"] ?? "0.00") == "0.00", "nothing is due any more: \(settled)")
            #expect(settled["Expenses:Bank:Outgoing"] == "85.00", "the charges and the second 60.00 are still money paid out: \(settled)")
            #expect(settled["Assets:Bank"] == after["Assets:Bank"], "no money moved: \(settled)")
        }
    }

    /// A transfer back that the payer's bank returned: staff name the line that brought the money back, the payment
    /// is owed again (`to-refund`, `Liabilities:RefundsDue`) from the day it came back, what the bank kept stays money
    /// paid out, the returned credit is no income, and another transfer pays the payment back. Before, the money that
    /// came back was booked as `Income:Bank:Other`, the payment stayed refunded, and nothing could pay it back again.
    @Test(arguments: Backend.allCases)
    func aTransferBackThatCameBackIsOwedAgainUntilAnotherPaysItBack(backend: Backend) async throws {
        try await Self.serve(backend) { client, runtime, staff in
            typealias T = CamtStatementBuilder.Transaction
            let due = try await Self.twoTransfersToPayBack(client, runtime, staff, "RB", second: "40.00")
            let paymentID = due[0]
            let sent = CamtStatementBuilder(statements: [.init(id: "RB-2", iban: Self.ourIBAN, openingCents: 110_000, entries: [
                .init(credit: false, date: "2026-03-03", bankReference: "RB-C", transactions: [T(amount: "60.00", payerName: "Finn", text: "your money back")]),
            ])]).xml
            #expect(try await Self.upload(client, staff, sent).status == .created)
            let out = try #require(try await runtime.books.moneyOutToPayBack(.euros(minorUnits: 6_000), bookedFrom: LocalDate(iso: "2026-03-02")!, limit: 5).first?.lineKey)
            #expect(try await Self.post(client, staff, "/api/v1/payments/\(paymentID)/paid-back", ["lineKey": out]).status == .ok)
            let none = try await client.execute(uri: "/api/v1/payments/\(paymentID)/pay-back-returned-lines", method: .get, headers: staff)
            #expect(none.status == .ok && (none.json["lines"] as? [[String: Any]])?.isEmpty == true, "nothing came in yet: \(none.text)")
            let notPaid = try await client.execute(uri: "/api/v1/payments/\(due[1])/pay-back-returned-lines", method: .get, headers: staff)
            #expect(notPaid.status == .ok && (notPaid.json["lines"] as? [[String: Any]])?.isEmpty == true, "not paid back: no lines: \(notPaid.text)")
            let noPayment = try await client.execute(uri: "/api/v1/payments/bank-nothing/pay-back-returned-lines", method: .get, headers: staff)
            #expect(noPayment.status == .notFound, "\(noPayment.text)")

            // Finn's bank sends it back, less 2.50 it kept; and an unrelated return of 75.00 comes in the same day.
            let back = CamtStatementBuilder(statements: [.init(id: "RB-3", iban: Self.ourIBAN, openingCents: 104_000, entries: [
                .init(date: "2026-03-04", bankReference: "RB-D", transactions: [T(amount: "57.50", payerName: "Finn", text: "account closed", returnReason: "AC04")]),
                .init(date: "2026-03-04", bankReference: "RB-E", transactions: [T(amount: "75.00", payerName: "Gert", text: "unknown", returnReason: "MD07")]),
            ])]).xml
            #expect(try await Self.upload(client, staff, back).json["unmatchedReturns"] as? Int == 2)
            let offered = try await client.execute(uri: "/api/v1/payments/\(paymentID)/pay-back-returned-lines", method: .get, headers: staff)
            let lines = offered.json["lines"] as? [[String: Any]] ?? []
            #expect(lines.count == 1 && lines.first?["amount"] as? String == "57.50" && lines.first?["bookingDate"] as? String == "2026-03-04", "at most what went out: \(offered.text)")
            let lineKey = try #require(lines.first?["lineKey"] as? String, "\(offered.text)")
            let before = try await Self.balances(client, staff, on: "2026-03-06")
            #expect((before["Liabilities:RefundsDue"] ?? "0.00") == "-40.00" && before["Income:Bank:Other"] == "-132.50", "\(before)")

            // Refused, and nothing written: a line of more than went out, a payment not paid back, an unknown key, a
            // line of money going out.
            let more = try #require(
                try await runtime.books.moneyInReturningPayBack(.euros(minorUnits: 10_000), bookedFrom: LocalDate(iso: "2026-03-01")!, limit: 5)
                    .first { $0.amount.minorUnits == 7_500 }?.lineKey
            )
            let tooMuch = try await Self.post(client, staff, "/api/v1/payments/\(paymentID)/pay-back-returned", ["lineKey": more])
            #expect(tooMuch.status == .unprocessableContent, "\(tooMuch.text)")
            let notPaidBack = try await Self.post(client, staff, "/api/v1/payments/\(due[1])/pay-back-returned", ["lineKey": lineKey])
            #expect(notPaidBack.status == .conflict, "\(notPaidBack.text)")
            let unknown = try await Self.post(client, staff, "/api/v1/payments/\(paymentID)/pay-back-returned", ["lineKey": "abc123"])
            #expect(unknown.status == .unprocessableContent, "\(unknown.text)")
            let outgoing = try await Self.post(client, staff, "/api/v1/payments/\(paymentID)/pay-back-returned", ["lineKey": out])
            #expect(outgoing.status == .unprocessableContent, "\(outgoing.text)")
            for key in [lineKey, more] {
                #expect(try await runtime.store.readStream("pay-back-returned-\(key)", fromVersion: 1, limit: 5).isEmpty, "the refused requests claimed nothing")
            }

            // The same request five times at once: recorded once, each answered 200.
            let url = "http://127.0.0.1:\(client.port ?? 0)/api/v1/payments/\(paymentID)/pay-back-returned"
            let headers = staff.map { ($0.name.rawName, $0.value) } + [("Content-Type", "application/json")]
            let answers = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for _ in 0..<5 {
                    group.addTask {
                        let came = try await LoopbackClient.post(url, headers: headers, body: #"{"lineKey":"\#(lineKey)","note":"Finn's account is closed"}"#)
                        return (came.status, came.body)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(answers.allSatisfy { $0.0 == 200 }, "\(answers)")
            #expect(answers.filter { $0.1.contains("PaymentPayBackReturned") }.count == 1, "\(answers)")
            let again = try await Self.post(client, staff, "/api/v1/payments/\(paymentID)/pay-back-returned", ["lineKey": lineKey])
            #expect(again.status == .ok && again.json["appended"] as? [String] == [], "the same again changes nothing: \(again.text)")
            let view = try await client.execute(uri: "/api/v1/payments/\(paymentID)", method: .get, headers: staff)
            #expect(view.json["refunded"] as? String == "0.00", "owed again: \(view.text)")
            let toRefund = try await client.execute(uri: "/api/v1/payments?state=to-refund", method: .get, headers: staff)
            #expect(Self.ids(toRefund) == Set(due), "both are to be paid back: \(toRefund.text)")
            let owed = try await Self.balances(client, staff, on: "2026-03-06")
            #expect(owed["Liabilities:RefundsDue"] == "-100.00", "both payments are due: \(owed)")
            #expect(owed["Income:Bank:Other"] == "-75.00", "only the unrelated return is money in without a payment: \(owed)")
            #expect(owed["Expenses:Bank:Outgoing"] == "2.50", "what Finn's bank kept is money paid out: \(owed)")
            #expect(owed["Assets:Bank"] == "1172.50", "1,000.00 + 100.00 in, 60.00 out, 57.50 and 75.00 back: \(owed)")
            // Owed again from the day the money came back (the decisions to pay back are dated when staff made them,
            // after the statements' days).
            let dayBefore = try await Self.balances(client, staff, on: "2026-03-03")
            let onTheDay = try await Self.balances(client, staff, on: "2026-03-04")
            #expect(dayBefore["Liabilities:RefundsDue"] == "60.00" && (onTheDay["Liabilities:RefundsDue"] ?? "0.00") == "0.00", "\(dayBefore) \(onTheDay)")
            let other = try await Self.post(client, staff, "/api/v1/payments/\(due[1])/pay-back-returned", ["lineKey": lineKey])
            #expect(other.status == .conflict, "one line brings back one transfer: \(other.text)")
            let oldLine = try await Self.post(client, staff, "/api/v1/payments/\(paymentID)/paid-back", ["lineKey": out])
            #expect(oldLine.status == .conflict, "the transfer that came back pays nothing back: \(oldLine.text)")
            let used = try await runtime.books.moneyInReturningPayBack(.euros(minorUnits: 10_000), bookedFrom: LocalDate(iso: "2026-03-01")!, limit: 5)
            #expect(used.map(\.lineKey) == [more], "the line used is offered no more: \(used)")

            // Sent again (and, by mistake, twice), and paid back by one of the new transfers: the two named at once,
            // one is recorded and the other refused, and claims nothing (before, it was answered 200 with nothing
            // recorded, and its line was claimed for the payment for good).
            let again2 = CamtStatementBuilder(statements: [.init(id: "RB-4", iban: Self.ourIBAN, openingCents: 117_250, entries: [
                .init(credit: false, date: "2026-03-05", bankReference: "RB-F", transactions: [T(amount: "60.00", payerName: "Finn", text: "to the new account")]),
                .init(credit: false, date: "2026-03-05", bankReference: "RB-G", transactions: [T(amount: "60.00", payerName: "Finn", text: "to the new account, again")]),
            ])]).xml
            #expect(try await Self.upload(client, staff, again2).status == .created)
            let offer = try await client.execute(uri: "/api/v1/payments/\(paymentID)/pay-back-lines", method: .get, headers: staff)
            let newLines = (offer.json["lines"] as? [[String: Any]])?.compactMap { $0["lineKey"] as? String } ?? []
            #expect(newLines.count == 2 && !newLines.contains(out), "\(offer.text)")
            let paidURL = "http://127.0.0.1:\(client.port ?? 0)/api/v1/payments/\(paymentID)/paid-back"
            let both = try await withThrowingTaskGroup(of: (String, Int, String).self) { group in
                for key in newLines {
                    group.addTask {
                        let paid = try await LoopbackClient.post(paidURL, headers: headers, body: #"{"lineKey":"\#(key)"}"#)
                        return (key, paid.status, paid.body)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(both.map(\.1).sorted() == [200, 409] && both.contains { $0.1 == 200 && $0.2.contains("PaymentPaidBack") }, "\(both)")
            for (key, status, _) in both where status == 409 {
                #expect(try await runtime.store.readStream("paid-back-\(key)", fromVersion: 1, limit: 5).isEmpty, "the refused line claimed nothing")
                let free = try await runtime.books.moneyOutToPayBack(.euros(minorUnits: 6_000), bookedFrom: LocalDate(iso: "2026-03-05")!, limit: 5)
                #expect(free.map(\.lineKey) == [key], "the refused line is still free: \(free)")
            }
            let settled = try await Self.balances(client, staff, on: "2026-03-06")
            #expect(settled["Liabilities:RefundsDue"] == "-40.00", "only the other payment is due: \(settled)")
            #expect(settled["Expenses:Bank:Outgoing"] == "62.50" && settled["Income:Bank:Other"] == "-75.00", "the second transfer is still money paid out: \(settled)")
            let refunded = try await client.execute(uri: "/api/v1/payments?state=refunded", method: .get, headers: staff)
            #expect(Self.ids(refunded) == [paymentID], "\(refunded.text)")
            let returned = try await client.execute(uri: "/api/v1/payments/\(paymentID)/pay-back-returned-lines", method: .get, headers: staff)
            #expect(returned.status == .ok && (returned.json["lines"] as? [[String: Any]])?.isEmpty == true, "nothing came in after the new transfer: \(returned.text)")
        }
    }

    /// "`Liabilities:UnidentifiedReceipts` (money held for a staff decision), `Liabilities:RefundsDue`,
    /// `Income:ListingContributions`, `Income:Donations`, `Income:Other` (staff decided it is not a
    /// contribution)", and the income report's "other income". Three transfers without a reference wait as a
    /// liability; staff decide one is not a contribution, one is to be paid back and one is a donation.
    @Test(arguments: Backend.allCases)
    func staffDecisionsOnHeldTransfersPostToTheAccountsTheREADMENames(backend: Backend) async throws {
        try await Self.serve(backend) { client, runtime, staff in
            typealias T = CamtStatementBuilder.Transaction
            let xml = CamtStatementBuilder(statements: [.init(id: "RS-1", iban: Self.ourIBAN, entries: [
                .init(date: "2026-03-02", bankReference: "RS-A", transactions: [T(amount: "40.00", payerName: "Eva", text: "conference fee")]),
                .init(date: "2026-03-02", bankReference: "RS-B", transactions: [T(amount: "60.00", payerName: "Finn", text: "paid twice by mistake")]),
                .init(date: "2026-03-02", bankReference: "RS-C", transactions: [T(amount: "25.00", payerName: "Gert", text: "for the institute")]),
            ])]).xml
            let imported = try await Self.upload(client, staff, xml)
            #expect(imported.json["queued"] as? Int == 3, "\(imported.text)")
            let held = try await Self.balances(client, staff, on: "2026-03-02")
            #expect(held["Liabilities:UnidentifiedReceipts"] == "-125.00", "held money is a liability: \(held)")
            #expect(!held.keys.contains { $0.hasPrefix("Income:") }, "\(held)")

            let queue = try await Self.exceptions(client, runtime, staff)
            for (words, resolution) in [("conference fee", "not-contribution"), ("paid twice by mistake", "refund"), ("for the institute", "donation")] {
                let paymentID = try #require(queue.first { ($0["details"] as? String)?.contains(words) == true }?["paymentId"] as? String, "\(queue)")
                let resolved = try await Self.post(client, staff, "/api/v1/reconciliation/exceptions/\(paymentID)/resolve", [
                    "resolution": resolution, "reason": "staff decided: \(words)",
                ])
                #expect(resolved.status == .ok, "\(resolution): \(resolved.text)")
            }

            let decided = try await Self.balances(client, staff, on: "2026-03-06")
            #expect(decided["Income:Other"] == "-40.00", "not a contribution: \(decided)")
            #expect(decided["Liabilities:RefundsDue"] == "-60.00", "to be paid back: \(decided)")
            #expect(decided["Income:Donations"] == "-25.00", "\(decided)")
            #expect((decided["Liabilities:UnidentifiedReceipts"] ?? "0.00") == "0.00", "nothing waits any more: \(decided)")
            #expect(decided["Income:ListingContributions"] == nil, "\(decided)")
            #expect(decided["Assets:Bank"] == "1125.00", "\(decided)")

            let report = try await client.execute(uri: "/api/v1/reports/income?from=2026-03-01&to=2026-03-31", method: .get, headers: staff)
            #expect(report.status == .ok, "\(report.text)")
            let rows = try JSONSerialization.jsonObject(with: Data(buffer: report.body)) as? [[String: Any]] ?? []
            let bank = try #require(rows.first { $0["method"] as? String == "bank" }, "\(report.text)")
            #expect(bank["other"] as? String == "40.00" && bank["donations"] as? String == "25.00", "\(report.text)")
            #expect(bank["contributions"] as? String == "0.00" && bank["net"] as? String == "65.00", "money to be paid back is no income: \(report.text)")
        }
    }

    /// A provider's payout to the bank account: the transfer waits without a reference, staff resolve it as the
    /// card provider's or PayPal's payout, and the books move it out of that provider's clearing account into
    /// the bank account; it is no income, no one's contribution, and gets no receipt. Only a bank transfer can
    /// be one; reopened, the clearing account holds the money again; `bean-check` accepts the journal.
    @Test(arguments: Backend.allCases)
    func aProvidersPayoutEmptiesItsClearingAccountIntoTheBank(backend: Backend) async throws {
        try await Self.serve(backend) { client, runtime, staff in
            try await Self.certified(runtime, "po-1")
            let profile = try ProfileID("po-1")
            let day = LocalDate(iso: "2026-03-02")!
            func paid(_ provider: String, _ method: PaymentMethod, _ id: String, _ amount: Int64, fee: Int64? = nil) async throws {
                let entry = PaymentPipeline.InboxEntry(provider: provider, eventID: "evt-\(id)", eventType: "paid", payload: Data("{}".utf8))
                let fact = PaymentFact.received(
                    amount: .euros(minorUnits: amount), purpose: .listing, profileID: profile, effectiveDate: day, note: "paid",
                    fee: fee.map { .euros(minorUnits: $0) }
                )
                let outcome = try await runtime.payments.record(
                    entry, paymentID: PaymentID(method: method, externalID: id), method: method, facts: [fact], metadata: .init(actor: provider)
                )
                #expect(outcome != .duplicate)
            }
            // Two card payments (one of them for an amount no tariff has: it waits for staff) and a PayPal one
            // whose fee PayPal kept.
            try await paid("card", .card, "pi_po_1", 12_500)
            try await paid("card", .card, "pi_po_2", 9_900)
            try await paid("paypal", .paypal, "CAP-PO-1", 12_500, fee: 400)
            typealias T = CamtStatementBuilder.Transaction
            let statement = CamtStatementBuilder(statements: [.init(id: "PO-1", iban: Self.ourIBAN, entries: [
                .init(date: "2026-03-03", bankReference: "PO-A", transactions: [T(amount: "220.00", payerName: "STRIPE PAYMENTS EUROPE", text: "STRIPE PAYOUT")]),
                .init(date: "2026-03-03", bankReference: "PO-B", transactions: [T(amount: "121.00", endToEndID: "E2E-PP-OUT", payerName: "PAYPAL EUROPE", text: "PAYPAL TRANSFER")]),
            ]), .init(id: "PO-USD", iban: Self.ourIBAN, currency: "USD", openingCents: 0, entries: [
                .init(date: "2026-03-03", bankReference: "PO-U", transactions: [T(amount: "50.00", payerName: "STRIPE PAYMENTS EUROPE", text: "STRIPE USD PAYOUT")]),
            ])]).xml
            #expect(try await Self.upload(client, staff, statement).json["queued"] as? Int == 3)
            let queue = try await Self.exceptions(client, runtime, staff)
            func held(_ words: String) throws -> String {
                try #require(queue.first { ($0["details"] as? String)?.contains(words) == true }?["paymentId"] as? String, "\(queue)")
            }
            let (stripe, payPal, dollars) = (try held("STRIPE PAYOUT"), try held("PAYPAL TRANSFER"), try held("STRIPE USD PAYOUT"))
            let before = try await Self.balances(client, staff, on: "2026-03-06")
            #expect(before["Assets:Clearing:Card"] == "224.00" && before["Assets:Clearing:PayPal"] == "121.00", "\(before)")
            #expect(before["Liabilities:UnidentifiedReceipts"] == "-440.00", "the short card payment and both payouts wait: \(before)")

            // Refused, nothing written: a card payment is no payout (held: 422; not waiting for staff: 409), nor is a
            // payout allocated to a profile, nor one in dollars.
            let heldCard = try await Self.post(client, staff, "/api/v1/reconciliation/exceptions/card-pi_po_2/resolve", ["resolution": "card-payout", "reason": "wrong"])
            #expect(heldCard.status == .unprocessableContent && heldCard.text.contains("only a bank transfer"), "\(heldCard.text)")
            let counted = try await Self.post(client, staff, "/api/v1/reconciliation/exceptions/card-pi_po_1/resolve", ["resolution": "card-payout", "reason": "wrong"])
            #expect(counted.status == .conflict, "\(counted.text)")
            let withProfile = try await Self.post(client, staff, "/api/v1/reconciliation/exceptions/\(stripe)/resolve", [
                "resolution": "card-payout", "profileId": "po-1", "reason": "wrong",
            ])
            #expect(withProfile.status == .unprocessableContent && withProfile.text.contains("send no profiles"), "\(withProfile.text)")
            let inDollars = try await Self.post(client, staff, "/api/v1/reconciliation/exceptions/\(dollars)/resolve", ["resolution": "card-payout", "reason": "wrong"])
            #expect(inDollars.status == .unprocessableContent && inDollars.text.contains("booked in EUR"), "\(inDollars.text)")
            #expect(try await Self.balances(client, staff, on: "2026-03-06") == before, "the refused decisions booked nothing")

            for (paymentID, resolution) in [(stripe, "card-payout"), (payPal, "paypal-payout")] {
                let resolved = try await Self.post(client, staff, "/api/v1/reconciliation/exceptions/\(paymentID)/resolve", ["resolution": resolution, "reason": "the provider's payout"])
                #expect(resolved.status == .ok, "\(resolution): \(resolved.text)")
            }
            let after = try await Self.balances(client, staff, on: "2026-03-06")
            #expect(after["Assets:Clearing:Card"] == "4.00", "the card provider paid out what it held but its fee, which stays for the accountant: \(after)")
            #expect((after["Assets:Clearing:PayPal"] ?? "0.00") == "0.00", "PayPal paid out what it held less its fee: \(after)")
            #expect(after["Expenses:PaymentFees"] == "4.00" && after["Assets:Bank"] == before["Assets:Bank"], "\(after)")
            #expect(after["Liabilities:UnidentifiedReceipts"] == "-99.00", "only the short card payment waits: \(after)")
            #expect(after["Income:Other"] == nil && after["Income:Donations"] == nil, "a payout is no income: \(after)")
            #expect(after["Income:ListingContributions"] == "-250.00" && before["Income:ListingContributions"] == "-250.00", "\(after)")
            let report = try await client.execute(uri: "/api/v1/reports/income?from=2026-03-01&to=2026-03-31", method: .get, headers: staff)
            #expect(report.status == .ok, "\(report.text)")
            let rows = try JSONSerialization.jsonObject(with: Data(buffer: report.body)) as? [[String: Any]] ?? []
            #expect(rows.contains { $0["method"] as? String == "card" && $0["net"] as? String == "125.00" }, "the card contribution is income: \(report.text)")
            #expect(!rows.contains { $0["method"] as? String == "bank" && $0["net"] as? String != "0.00" }, "no bank income: \(report.text)")
            let receipts = try await client.execute(uri: "/api/v1/payments/\(stripe)/receipts", method: .get, headers: staff)
            #expect(receipts.status == .notFound && receipts.text.contains("not a contribution or a donation"), "a payout gets no receipt: \(receipts.text)")
            let dayBefore = try await Self.balances(client, staff, on: "2026-03-05")
            #expect(dayBefore["Assets:Clearing:Card"] == "224.00", "the decision is booked on the day it is made: \(dayBefore)")
            let view = try await client.execute(uri: "/api/v1/payments/\(stripe)", method: .get, headers: staff)
            #expect((view.json["resolution"] as? [String: Any])?["resolution"] as? String == "card-payout", "\(view.text)")
            // The payments list says what each payout is, and lists neither among listing contributions.
            for (paymentID, purpose) in [(stripe, "card-payout"), (payPal, "paypal-payout")] {
                let listed = try await client.execute(uri: "/api/v1/payments?purpose=\(purpose)", method: .get, headers: staff)
                let ids = (try JSONSerialization.jsonObject(with: Data(buffer: listed.body)) as? [[String: Any]] ?? []).compactMap { $0["paymentId"] as? String }
                #expect(ids == [paymentID], "\(purpose): \(listed.text)")
            }
            let contributions = try await client.execute(uri: "/api/v1/payments?purpose=listing&format=csv", method: .get, headers: staff)
            #expect(contributions.text.contains("card-pi_po_1") && !contributions.text.contains(stripe) && !contributions.text.contains(payPal), "\(contributions.text)")

            let journal = try await client.execute(uri: "/api/v1/books/journal?format=beancount", method: .get, headers: staff)
            let checked = try BooksTests.beanCheck(journal.text)
            #expect(checked.status == 0, "bean-check refused the export: \(checked.output)\n\(journal.text)")

            let reopened = try await Self.post(client, staff, "/api/v1/reconciliation/exceptions/\(stripe)/reopen", ["reason": "not the payout after all"])
            #expect(reopened.status == .ok, "\(reopened.text)")
            let again = try await Self.balances(client, staff, on: "2026-03-06")
            #expect(again["Assets:Clearing:Card"] == "224.00" && again["Liabilities:UnidentifiedReceipts"] == "-319.00", "\(again)")

            // The bank returns PayPal's payout: the money is PayPal's to pay out again, no income taken back.
            let returned = CamtStatementBuilder(statements: [.init(id: "PO-2", iban: Self.ourIBAN, openingCents: 134_100, entries: [
                .init(credit: false, date: "2026-03-06", bankReference: "PO-C", transactions: [T(amount: "121.00", endToEndID: "E2E-PP-OUT", returnReason: "AC04")]),
            ])]).xml
            #expect(try await Self.upload(client, staff, returned).json["returns"] as? Int == 1)
            let back = try await Self.balances(client, staff, on: "2026-03-06")
            #expect(back["Assets:Clearing:PayPal"] == "121.00" && back["Income:Returns"] == nil, "\(back)")
            #expect(back["Assets:Bank"] == "1220.00", "1,000.00 + 220.00 + 121.00 in, 121.00 back: \(back)")
            let final = try await client.execute(uri: "/api/v1/books/journal?format=beancount", method: .get, headers: staff)
            let finalCheck = try BooksTests.beanCheck(final.text)
            #expect(finalCheck.status == 0, "bean-check refused the export: \(finalCheck.output)\n\(final.text)")
        }
    }

    /// `curl -sH "$H" "$U/books/accounts"   # the chart of accounts`, and "Accounts: `Assets:Bank`, …, and, in
    /// exports of a range, `Equity:BroughtForward`": the chart holds exactly the accounts the README lists, each
    /// with what it holds; "Staff keys read it" (the website's key does not).
    @Test
    func theChartOfAccountsListsExactlyTheAccountsTheREADMENames() async throws {
        try await withLiveServer(.sqlite) { client, runtime in
            let staff = bearer(try await runtime.apiKeys.create(name: "Accountant", role: .staff).key)
            let website = bearer(try await runtime.apiKeys.create(name: "Website", role: .website).key)
            let answer = try await client.execute(uri: "/api/v1/books/accounts", method: .get, headers: staff)
            #expect(answer.status == .ok, "\(answer.text)")
            let chart = try JSONSerialization.jsonObject(with: Data(buffer: answer.body)) as? [[String: Any]] ?? []
            let names = chart.compactMap { $0["account"] as? String }
            let readme: Set<String> = [
                "Assets:Bank", "Assets:Clearing:Card", "Assets:Clearing:PayPal", "Assets:Offline", "Liabilities:UnidentifiedReceipts",
                "Liabilities:RefundsDue", "Income:ListingContributions", "Income:Donations", "Income:Other", "Income:Refunds",
                "Income:Chargebacks", "Income:Returns", "Expenses:Bank:Outgoing", "Expenses:PaymentFees", "Income:Bank:Other",
                "Equity:OpeningBalances", "Equity:BroughtForward",
            ]
            #expect(Set(names) == readme, "\(answer.text)")
            #expect(names.count == readme.count, "each account once: \(names)")
            #expect(chart.allSatisfy { !(($0["meaning"] as? String) ?? "").isEmpty }, "\(answer.text)")
            #expect(try await client.execute(uri: "/api/v1/books/accounts", method: .get, headers: website).status == .forbidden)
        }
    }

    /// "Exports … a range that starts later brings the balance-sheet accounts forward" (against
    /// `Equity:BroughtForward`, "in exports of a range"): a Beancount export from a later day opens with what
    /// the bank, the offline account and the opening balance held before it, never income, and `bean-check`
    /// accepts it; the whole history brings nothing forward.
    @Test(arguments: Backend.allCases)
    func aRangeThatStartsLaterBringsTheBalanceSheetAccountsForward(backend: Backend) async throws {
        try await Self.serve(backend) { client, runtime, staff in
            for id in ["bf-1", "bf-2"] { try await Self.certified(runtime, id) }
            let cash = try await Self.post(client, staff, "/api/v1/profiles/bf-1/offline-payments", [
                "amount": "125.00", "date": "2026-03-02", "purpose": "listing", "note": "cash",
            ])
            #expect(cash.status == .created, "\(cash.text)")
            typealias T = CamtStatementBuilder.Transaction
            let xml = CamtStatementBuilder(statements: [.init(id: "BF-1", iban: Self.ourIBAN, entries: [
                .init(date: "2026-03-03", bankReference: "BF-A", transactions: [T(amount: "125.00", payerName: "Bea", structuredReference: try Self.reference("bf-2"))]),
            ])]).xml
            #expect(try await Self.upload(client, staff, xml).json["matched"] as? Int == 1)

            let ranged = try await client.execute(uri: "/api/v1/books/journal?format=beancount&from=2026-03-05&to=2026-03-06", method: .get, headers: staff)
            #expect(ranged.status == .ok, "\(ranged.text)")
            let blocks = ranged.text.components(separatedBy: "\n\n")
            let forward = try #require(blocks.first { $0.contains("\n  Equity:BroughtForward ") }, "nothing brought forward: \(ranged.text)")
            let header = forward.split(separator: "\n").first.map(String.init) ?? ""
            #expect(String(header.prefix(10)) < "2026-03-05", "brought forward before the range starts: \(forward)")
            var postings: [String: String] = [:]
            for line in forward.split(separator: "\n") where line.hasPrefix("  ") {
                let words = line.split(separator: " ")
                if words.count >= 3, words[0].contains(":") { postings[String(words[0])] = "\(words[1]) \(words[2])" }
            }
            #expect(postings == [
                "Assets:Bank": "1125.00 EUR", "Assets:Offline": "125.00 EUR", "Equity:OpeningBalances": "-1000.00 EUR", "Equity:BroughtForward": "-250.00 EUR",
            ], "\(forward)")
            let checked = try BooksTests.beanCheck(ranged.text)
            #expect(checked.status == 0, "\(checked.output)\n\(ranged.text)")

            let whole = try await client.execute(uri: "/api/v1/books/journal?format=beancount", method: .get, headers: staff)
            // The postings themselves, not only the account's `open` line (which every export writes).
            let contributions = whole.text.split(separator: "\n").filter { $0.hasPrefix("  Income:ListingContributions ") }
                .map { $0.split(separator: " ").dropFirst().joined(separator: " ") }
            #expect(whole.status == .ok && contributions == ["-125.00 EUR", "-125.00 EUR"], "\(whole.text)")
            #expect(!whole.text.contains("\n  Equity:BroughtForward "), "nothing lies before the first entry: \(whole.text)")
        }
    }

    /// "in each currency, the first imported statement that states an opening balance books it (against
    /// `Equity:OpeningBalances`: the difference between that balance and what the books already held before its
    /// first day)". A CSV statement (no balances) books 30.00 first; a camt.053 statement opening at 1,030.00
    /// then books 1,000.00 of opening balance; a later statement stating another opening books none.
    @Test(arguments: Backend.allCases)
    func theOpeningBalanceIsTheDifferenceToWhatTheBooksHeldAndIsBookedOnce(backend: Backend) async throws {
        try await Self.serve(backend) { client, runtime, staff in
            try await Self.certified(runtime, "ob-1")
            let csv = "date,amount,currency,payer_name,payer_iban,reference,bank_reference\n2026-03-02,30.00,EUR,Bo,,gift,CSV-1\n"
            let fromCSV = try await Self.upload(client, staff, csv)
            #expect(fromCSV.status == .created && fromCSV.json["lines"] as? Int == 1, "\(fromCSV.text)")
            let before = try await Self.balances(client, staff, on: "2026-03-02")
            #expect(before["Assets:Bank"] == "30.00" && before["Equity:OpeningBalances"] == nil, "\(before)")

            typealias T = CamtStatementBuilder.Transaction
            let opening = CamtStatementBuilder(statements: [.init(id: "OB-1", iban: Self.ourIBAN, openingCents: 103_000, entries: [
                .init(date: "2026-03-03", bankReference: "OB-1-A", transactions: [T(amount: "125.00", payerName: "Ola", structuredReference: try Self.reference("ob-1"))]),
            ])]).xml
            #expect(try await Self.upload(client, staff, opening).status == .created)
            let opened = try await Self.balances(client, staff, on: "2026-03-03")
            #expect(opened["Equity:OpeningBalances"] == "-1000.00", "1,030.00 less the 30.00 the books held before 2026-03-03: \(opened)")
            #expect(opened["Assets:Bank"] == "1155.00", "the statement's closing balance: \(opened)")

            // A later statement stating another opening balance books none: the first one did.
            let another = CamtStatementBuilder(statements: [.init(id: "OB-2", iban: Self.ourIBAN, openingCents: 500_000, entries: [
                .init(date: "2026-03-04", bankReference: "OB-2-A", transactions: [T(amount: "10.00", payerName: "Cy", text: "tip")]),
            ])]).xml
            #expect(try await Self.upload(client, staff, another).status == .created)
            let later = try await Self.balances(client, staff, on: "2026-03-04")
            #expect(later["Equity:OpeningBalances"] == "-1000.00", "\(later)")
            #expect(later["Assets:Bank"] == "1165.00", "\(later)")
        }
    }

    /// "Of two statements ending on the same day, the one imported last gives that day's check", and "each
    /// statement's balances are recorded once, however often it is imported": the check on the day after their
    /// last line is the closing balance of the statement imported second, even after the first is imported
    /// again.
    @Test(arguments: Backend.allCases)
    func ofTwoStatementsEndingOnOneDayTheOneImportedLastGivesTheCheck(backend: Backend) async throws {
        try await Self.serve(backend) { client, _, staff in
            typealias T = CamtStatementBuilder.Transaction
            // Closing 1,125.00, imported first; closing 1,050.00, imported last. Their ids sort the other way.
            let first = CamtStatementBuilder(statements: [.init(id: "ZZ-FIRST", iban: Self.ourIBAN, entries: [
                .init(date: "2026-03-02", bankReference: "ZZ-1", transactions: [T(amount: "125.00", payerName: "Ada", text: "membership")]),
            ])]).xml
            let last = CamtStatementBuilder(statements: [.init(id: "AA-LAST", iban: Self.ourIBAN, entries: [
                .init(date: "2026-03-02", bankReference: "AA-1", transactions: [T(amount: "50.00", payerName: "Bo", text: "gift")]),
            ])]).xml
            for xml in [first, last] {
                #expect(try await Self.upload(client, staff, xml).status == .created)
            }
            let again = try await Self.upload(client, staff, first)
            #expect(again.json["alreadyImported"] as? Int == 1, "\(again.text)")

            let exported = try await client.execute(uri: "/api/v1/books/journal?format=beancount", method: .get, headers: staff)
            #expect(exported.status == .ok)
            let checks = exported.text.split(separator: "\n").filter { $0.hasPrefix("2026-03-03 balance Assets:Bank") }
            #expect(checks.count == 1, "one check for the day: \(checks)")
            #expect(checks.first?.hasPrefix("2026-03-03 balance Assets:Bank  1050.00 ~ 0.00 EUR") == true, "\(checks)")
            #expect(checks.first?.contains("AA-LAST") == true, "\(checks)")
        }
    }

    // MARK: Publishing to the directory

    /// "Endpoints added later receive changes from then on; a replay by time sends an endpoint again what it
    /// was sent since then, never what happened before it was added", with `POST $U/directory/replay`
    /// ("replay --since"): an endpoint registered after a profile was listed gets nothing of that change, by
    /// itself or by the replay, while the endpoint that was there is sent it again.
    @Test(arguments: Backend.allCases)
    func anEndpointAddedLaterReceivesChangesFromThenOnAndAReplayByTimeResendsOnlyWhatWasSent(backend: Backend) async throws {
        try await DirectoryWorld.run(backend) { world in
            try await world.listedProfile("hx-1")
            try await world.publish()
            let stored = try await world.visibilityEvents("hx-1")
            #expect(!stored.isEmpty && world.received("hx-1").map(\.webhookID) == stored.map(\.id), "the endpoint there already got the change")

            let later = try await DirectoryReceiver.start(now: world.clock.function)
            do {
                let added = try await world.post("/api/v1/directory/endpoints", ["url": later.url])
                #expect(added.status == .created, "\(added.text)")
                later.trust(secret: try #require(added.json["secret"] as? String))
                try await world.publish()
                #expect(later.received.isEmpty, "an endpoint added later receives changes from then on")

                let replayed = try await world.post("/api/v1/directory/replay", ["since": "2026-03-02T00:00:00Z"])
                #expect(replayed.status == .ok, "\(replayed.text)")
                try await world.publish()
                #expect(later.received.isEmpty, "a replay by time sent the later endpoint what happened before it was added")
                let again = world.received("hx-1").map(\.webhookID)
                #expect(again == stored.map(\.id) + stored.map(\.id), "the endpoint that was there is sent the change again: \(again)")
            } catch {
                await later.stop()
                throw error
            }
            await later.stop()
        }
    }

    // MARK: Helpers

    private static let ourIBAN = "NL91ABNA0417164300"

    /// Noon in Amsterdam on 2026-03-06: the statements above are of that week.
    private static let noon = OrganisationCalendar.amsterdam.startOfDay(LocalDate(iso: "2026-03-06")!).addingTimeInterval(12 * 3600)

    /// The service from noon on 2026-03-06 (a clock that moves a millisecond each time it is read, so no two
    /// appends share an instant), answering on loopback without background services (each query below takes in
    /// the log itself, or is caught up here), with a staff key's headers.
    private static func serve(
        _ backend: Backend, _ body: @Sendable (any TestClientProtocol, LedgerRuntime, HTTPFields) async throws -> Void
    ) async throws {
        let runtime = try await TestRuntime.make(backend, now: TestClock(Self.noon).ticking(0.001))
        do {
            let staff = bearer(try await runtime.apiKeys.create(name: "Auditor", role: .staff).key)
            let application = Application(router: buildRouter(runtime: runtime), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
            try await application.test(.live) { client in
                try await body(client, runtime, staff)
            }
        } catch {
            await runtime.close()
            throw error
        }
        await runtime.close()
    }

    /// Registers and certifies a profile.
    private static func certified(_ runtime: LedgerRuntime, _ id: String) async throws {
        let profileID = try ProfileID(id)
        _ = try await runtime.profiles.handle(
            .register(kind: .mediator, displayName: "Mediator \(id)", contactEmail: "\(id)@example.org"), profileID: profileID, metadata: .init(actor: "test")
        )
        _ = try await runtime.profiles.handle(.changeCertification(.grant, reason: "assessed"), profileID: profileID, metadata: .init(actor: "test"))
    }

    /// A profile's RF reference, as a payer's bank sends it.
    private static func reference(_ id: String) throws -> String {
        CreditorReference.forProfile(try ProfileID(id)).electronic
    }

    /// Uploads a statement file as `POST /bank-statements` takes it.
    private static func upload(_ client: any TestClientProtocol, _ staff: HTTPFields, _ text: String) async throws -> TestResponse {
        try await client.execute(uri: "/api/v1/bank-statements", method: .post, headers: staff, body: ByteBuffer(string: text))
    }

    /// Posts a JSON body with the staff key.
    private static func post(_ client: any TestClientProtocol, _ staff: HTTPFields, _ uri: String, _ object: [String: Any]) async throws -> TestResponse {
        var headers = staff
        headers[.contentType] = "application/json"
        return try await client.execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: object)))
    }

    /// A profile's listing now.
    private static func listing(_ client: any TestClientProtocol, _ staff: HTTPFields, _ id: String) async throws -> [String: Any] {
        try await client.execute(uri: "/api/v1/profiles/\(id)/listing", method: .get, headers: staff).json
    }

    /// The exception queue, once the payment views have taken in the log.
    private static func exceptions(_ client: any TestClientProtocol, _ runtime: LedgerRuntime, _ staff: HTTPFields) async throws -> [[String: Any]] {
        try await (runtime.store as? any EventStoreTestHooks)?.waitUntilAllCommittedEventsAreVisible()
        try await ProjectionRunner(store: runtime.store, projection: runtime.paymentViews).catchUp()
        let queue = try await client.execute(uri: "/api/v1/reconciliation/exceptions", method: .get, headers: staff)
        #expect(queue.status == .ok, "\(queue.text)")
        return try JSONSerialization.jsonObject(with: Data(buffer: queue.body)) as? [[String: Any]] ?? []
    }

    /// Imports a statement with two transfers that name no one (Finn's 60.00 and Fay's `second`, on 2026-03-02, bank
    /// references `<prefix>-A` and `-B`) and resolves both as refunds: their payment ids, Finn's first.
    private static func twoTransfersToPayBack(
        _ client: any TestClientProtocol, _ runtime: LedgerRuntime, _ staff: HTTPFields, _ prefix: String, second: String
    ) async throws -> [String] {
        typealias T = CamtStatementBuilder.Transaction
        let received = CamtStatementBuilder(statements: [.init(id: "\(prefix)-1", iban: Self.ourIBAN, entries: [
            .init(date: "2026-03-02", bankReference: "\(prefix)-A", transactions: [T(amount: "60.00", payerName: "Finn", text: "paid twice by mistake")]),
            .init(date: "2026-03-02", bankReference: "\(prefix)-B", transactions: [T(amount: second, payerName: "Fay", text: "paid twice too")]),
        ])]).xml
        #expect(try await Self.upload(client, staff, received).json["queued"] as? Int == 2)
        let queue = try await Self.exceptions(client, runtime, staff)
        var due: [String] = []
        for words in ["paid twice by mistake", "paid twice too"] {
            let paymentID = try #require(queue.first { ($0["details"] as? String)?.contains(words) == true }?["paymentId"] as? String, "\(queue)")
            let resolved = try await Self.post(client, staff, "/api/v1/reconciliation/exceptions/\(paymentID)/resolve", ["resolution": "refund", "reason": words])
            #expect(resolved.status == .ok, "\(resolved.text)")
            due.append(paymentID)
        }
        return due
    }

    /// The payment ids of a payment list's answer.
    private static func ids(_ list: TestResponse) -> Set<String> {
        let rows = (try? JSONSerialization.jsonObject(with: Data(buffer: list.body))) as? [[String: Any]] ?? []
        return Set(rows.compactMap { $0["paymentId"] as? String })
    }

    /// The trial balance at the end of `day`: each EUR account's balance as text.
    private static func balances(_ client: any TestClientProtocol, _ staff: HTTPFields, on day: String) async throws -> [String: String] {
        let trial = try await client.execute(uri: "/api/v1/books/trial-balance?date=\(day)", method: .get, headers: staff)
        #expect(trial.status == .ok && trial.json["balanced"] as? Bool == true, "\(trial.text)")
        let accounts = (trial.json["accounts"] as? [[String: Any]] ?? []).filter { $0["currency"] as? String == "EUR" }
        return Dictionary(accounts.map { ($0["account"] as? String ?? "", $0["balance"] as? String ?? "") }) { first, _ in first }
    }
}
