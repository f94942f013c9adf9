import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LedgerCore
import LedgerHTTP
import LedgerService
import NIOCore
import TestSupport
import Testing

/// The books through the real server: every money fact a balanced entry, the bank account's balance equal to the
/// last statement's closing balance, and exports that Beancount's own checker accepts.
@Suite("The books")
struct BooksTests {
    @Test(arguments: Backend.allCases)
    func theBooksBalanceMatchTheBankAndPassBeanCheck(backend: Backend) async throws {
        try await RebuildEqualsLiveTests.withProviders(backend) { runtime, card, payPal in
            let today = runtime.profiles.policy.calendar.date(at: runtime.now())
            // Card (paid and refunded), PayPal, and a first statement (opening 1,000.00) the day before yesterday:
            // one transfer matched, one short (accepted), one without a reference (allocated).
            try await RebuildEqualsLiveTests.liveHistory(runtime: runtime, card: card, payPal: payPal, today: today.addingDays(-1))
            try await Self.laterStatementsAndChecks(runtime: runtime, payPal: payPal, today: today)
        }
    }

    /// A CSV cell holding a line break, a comma or a quote is quoted, whatever follows it. As characters, a CRLF
    /// is one character that is neither CR nor LF, and a comma followed by a combining mark is one that is not a
    /// comma: a void's reason of two lines was written bare and broke its row in two.
    @Test(arguments: [
        ("entered twice\r\nsee ticket 12", "\"entered twice\r\nsee ticket 12\""),
        ("a,\u{301}b", "\"a,\u{301}b\""),
        ("say \"\u{301}hi", "\"say \"\"\u{301}hi\""),
        ("plain words", "plain words"),
    ])
    func aCSVCellIsQuotedByWhatItHoldsScalarByScalar(text: String, cell: String) {
        let written = BooksExport.csvCell(text)
        #expect(written.unicodeScalars.elementsEqual(cell.unicodeScalars), "\(written.debugDescription)")
    }

    /// The income report finds the income accounts whatever the database's collation. Picked out as the text
    /// range `'Income:'` to `'Income;'`, they were none on a PostgreSQL database whose collation puts `;`
    /// before `:` (ICU's, or glibc's en_US, which ignores both), and the report came back empty.
    @Test
    func theIncomeReportFindsItsAccountsWhateverTheDatabasesCollation() async throws {
        let url = try await TestDatabase.freshURL(.postgres, postgresICULocale: "en-US")
        let runtime = try await TestRuntime.open(url)
        do {
            _ = try await runtime.profiles.handle(
                .register(kind: .mediator, displayName: "Collated", contactEmail: "c@example.org"), profileID: try ProfileID("co-1"), metadata: .init(actor: "test")
            )
            let today = runtime.today
            _ = try await runtime.profiles.recordOfflinePayment(
                profileID: try ProfileID("co-1"), amount: .euros(minorUnits: 12_500), date: today, purpose: .listing, note: "cash",
                metadata: .init(actor: "test"), idempotencyKey: nil
            )
            try await (runtime.store as? any EventStoreTestHooks)?.waitUntilAllCommittedEventsAreVisible()
            _ = try await ProjectionRunner(store: runtime.store, projection: runtime.booksProjection).catchUp()
            // A part month (from the lines) and whole months (from the month totals).
            let firstOfMonth = try #require(LocalDate(year: today.year, month: today.month, day: 1))
            for (from, to) in [(today, today), (firstOfMonth.addingMonths(-1), firstOfMonth.addingMonths(1).addingDays(-1))] {
                let rows = try await runtime.books.income(from: from, through: to)
                #expect(rows.reduce(Int64(0)) { $0 + $1.netMinorUnits } == 12_500, "\(from) to \(to): \(rows)")
            }
            await runtime.close()
        } catch {
            await runtime.close()
            throw error
        }
    }

    static func laterStatementsAndChecks(runtime: LedgerRuntime, payPal: PayPalStandIn, today: LocalDate) async throws {
        let staffKey = try await runtime.apiKeys.create(name: "Accountant", role: .staff).key
        let websiteKey = try await runtime.apiKeys.create(name: "Website for books", role: .website).key
        try await buildApplication(runtime: runtime).test(.live) { client in
            let staff = bearer(staffKey)
            typealias T = CamtStatementBuilder.Transaction
            let reference = CreditorReference.forProfile(try ProfileID("r-6")).electronic
            // Yesterday: bank charges out, r-6 pays by transfer, and r-3 donates 25.00 with its donation reference.
            // Today: the bank returns r-6's transfer.
            let second = CamtStatementBuilder(statements: [.init(id: "BOOKS-2", iban: "NL91ABNA0417164300", openingCents: 136_000, entries: [
                .init(credit: false, date: today.addingDays(-1).description, bankReference: "BK-CHARGES", transactions: [T(amount: "12.50", payerName: "Bank", text: "account fee")]),
                .init(date: today.addingDays(-1).description, bankReference: "BK-R6", transactions: [
                    T(amount: "125.00", endToEndID: "E2E-R6", payerName: "Six", payerIBAN: "DE89370400440532013000", structuredReference: reference),
                ]),
                .init(date: today.addingDays(-1).description, bankReference: "BK-GIFT", transactions: [
                    T(amount: "25.00", payerName: "Three", structuredReference: CreditorReference.forDonation(by: try ProfileID("r-3")).electronic),
                ]),
            ])]).xml
            let third = CamtStatementBuilder(statements: [.init(id: "BOOKS-3", iban: "NL91ABNA0417164300", openingCents: 149_750, entries: [
                .init(credit: false, date: today.description, bankReference: "BK-R6-RETURN", transactions: [
                    T(amount: "125.00", endToEndID: "E2E-R6", payerName: "Six", returnReason: "AC04"),
                ]),
            ])]).xml
            for xml in [second, third, second] {
                let imported = try await client.execute(uri: "/api/v1/bank-statements", method: .post, headers: staff, body: ByteBuffer(string: xml))
                #expect(imported.status == .created, "\(imported.text)")
            }
            // The PayPal payer disputes the payment and wins: a chargeback.
            let paypalList = try await client.execute(uri: "/api/v1/payments?method=paypal", method: .get, headers: staff)
            let paypalPayments = try JSONSerialization.jsonObject(with: Data(paypalList.text.utf8)) as? [[String: Any]] ?? []
            let captureID = try #require((paypalPayments.first?["paymentId"] as? String)?.dropFirst("paypal-".count).description)
            for event in [payPal.disputeCreatedEvent(captureID: captureID), payPal.disputeResolvedEvent(captureID: captureID, outcome: "RESOLVED_BUYER_FAVOUR")] {
                let answer = try await payPal.deliver(event, to: "http://127.0.0.1:\(client.port ?? 0)/webhooks/paypal", webhookID: "WH-REBUILD")
                #expect(answer.status == 200, "\(answer.body)")
            }
            // Corrections: an offline payment entered by mistake is voided; r-3's transfer is moved to r-2.
            var json = staff
            json[.contentType] = "application/json"
            func post(_ uri: String, _ object: [String: Any]) async throws -> TestResponse {
                try await client.execute(uri: uri, method: .post, headers: json, body: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: object)))
            }
            let offline = try await post("/api/v1/profiles/r-1/offline-payments", ["amount": "125.00", "date": today.description, "purpose": "listing"])
            let offlineID = try #require(offline.headers[.location]?.split(separator: "/").last.map(String.init), "\(offline.text)")
            #expect(try await post("/api/v1/payments/\(offlineID)/void", ["reason": "entered by mistake"]).status == .ok)
            let bankList = try await client.execute(uri: "/api/v1/payments?method=bank&purpose=listing", method: .get, headers: staff)
            let r3 = try #require((try JSONSerialization.jsonObject(with: Data(bankList.text.utf8)) as? [[String: Any]] ?? []).first { $0["profileId"] as? String == "r-3" })
            let moved = try await post("/api/v1/payments/\(r3["paymentId"] as? String ?? "")/reassign", ["fromProfileId": "r-3", "toProfileId": "r-2", "reason": "paid for a colleague"])
            #expect(moved.status == .ok, "\(moved.text)")

            // The trial balance: balanced, and the bank account holds the last statement's closing balance.
            let trial = try await client.execute(uri: "/api/v1/books/trial-balance?date=\(today)", method: .get, headers: staff)
            #expect(trial.status == .ok, "\(trial.text)")
            #expect(trial.json["balanced"] as? Bool == true, "\(trial.text)")
            let balances = Dictionary(
                ((trial.json["accounts"] as? [[String: Any]]) ?? []).map { ($0["account"] as? String ?? "", $0["balance"] as? String ?? "") }
            ) { first, _ in first }
            #expect(balances["Assets:Bank"] == "1372.50", "1,000.00 opening + 360.00 + 125.00 + 25.00 in, 12.50 + 125.00 out: \(trial.text)")
            #expect(balances["Income:Donations"] == "-25.00", "the donation by its own reference")
            #expect((balances["Assets:Offline"] ?? "0.00") == "0.00", "recorded and voided")
            #expect(balances["Equity:OpeningBalances"] == "-1000.00")
            #expect(balances["Income:ListingContributions"] == "-735.00", "six contributions, one of them 110.00 accepted short: \(trial.text)")
            #expect(balances["Income:Refunds"] == "125.00", "the card refund")
            #expect(balances["Income:Returns"] == "125.00", "the returned transfer")
            #expect(balances["Expenses:Bank:Outgoing"] == "12.50")
            #expect(balances["Assets:Clearing:PayPal"] == "-4.71", "125.00 captured, PayPal kept its fee, then took the 125.00 back")
            #expect(balances["Income:Chargebacks"] == "125.00", "the PayPal dispute the payer won")
            #expect(balances["Expenses:PaymentFees"] == "4.71", "PayPal's fee as its capture reported it (3.49 % + 0.35)")
            #expect((balances["Assets:Clearing:Card"] ?? "0.00") == "0.00", "paid and refunded")
            #expect((balances["Liabilities:UnidentifiedReceipts"] ?? "0.00") == "0.00", "every held payment was resolved")

            // The income report agrees with the books: its net income is what the income accounts hold.
            let income = try await client.execute(uri: "/api/v1/reports/income?to=\(today)", method: .get, headers: staff)
            #expect(income.status == .ok, "\(income.text)")
            let incomeRows = try JSONSerialization.jsonObject(with: Data(income.text.utf8)) as? [[String: Any]] ?? []
            let reportedNet = incomeRows.reduce(Int64(0)) { $0 + (($1["netMinorUnits"] as? NSNumber)?.int64Value ?? 0) }
            let booksIncome = ((trial.json["accounts"] as? [[String: Any]]) ?? []).filter { ($0["account"] as? String)?.hasPrefix("Income:") == true }
                .reduce(Int64(0)) { $0 - (($1["minorUnits"] as? NSNumber)?.int64Value ?? 0) }
            #expect(reportedNet == booksIncome && booksIncome == 38_500, "735.00 contributions + 25.00 donated − 125.00 refunded, returned and charged back each: \(income.text)")
            let card = incomeRows.first { $0["method"] as? String == "card" }
            #expect(card?["contributions"] as? String == "125.00" && card?["refunds"] as? String == "-125.00" && card?["net"] as? String == "0.00", "\(income.text)")
            let incomeCSV = try await client.execute(uri: "/api/v1/reports/income?format=csv&to=\(today)", method: .get, headers: staff)
            #expect(incomeCSV.text.hasPrefix("month,method,currency,contributions,donations,other,refunds,chargebacks,returns,net\r\n"))
            #expect(incomeCSV.text.split(separator: "\r\n").count == incomeRows.count + 1)
            // Whole months are read from the month totals, part months from the lines: any range agrees with
            // summing the lines themselves.
            let firstDay = try #require(try await runtime.books.firstEntryDate())
            let monthStart = try #require(LocalDate(year: firstDay.year, month: firstDay.month, day: 1))
            for (from, to) in [(firstDay, today), (firstDay.addingDays(1), today.addingDays(-1)), (monthStart, monthStart.addingMonths(3).addingDays(-1)), (monthStart.addingMonths(-13), today.addingDays(40))] {
                let net = try await runtime.books.income(from: from, through: to).reduce(Int64(0)) { $0 + $1.netMinorUnits }
                let lines = try await runtime.store.withReadModelConnection { connection in
                    try await connection.query(
                        "SELECT COALESCE(CAST(SUM(amount_minor_units) AS BIGINT), 0) FROM journal_lines WHERE entry_date >= ? AND entry_date <= ? AND account LIKE 'Income:%'",
                        [.text(from.description), .text(to.description)]
                    ).first?.integer(0) ?? 0
                }
                #expect(net == -lines, "\(from) to \(to)")
            }

            // The day before the last statement, the books held the second statement's closing balance.
            let earlier = try await client.execute(uri: "/api/v1/books/trial-balance?date=\(today.addingDays(-1))", method: .get, headers: staff)
            #expect(earlier.text.contains("\"account\":\"Assets:Bank\",\"balance\":\"1497.50\""), "\(earlier.text)")

            // Beancount, the whole history and a range that starts later (balances brought forward): bean-check
            // accepts both, including the statements' closing balances as balance checks.
            for query in ["format=beancount", "format=beancount&from=\(today.addingDays(-1))&to=\(today)"] {
                let exported = try await client.execute(uri: "/api/v1/books/journal?\(query)", method: .get, headers: staff)
                #expect(exported.status == .ok)
                #expect(exported.headers[.contentType]?.hasPrefix("text/plain") == true)
                #expect(exported.text.contains(" balance Assets:Bank  1372.50 ~ 0.00 EUR"), "\(exported.text)")
                let checked = try beanCheck(exported.text)
                #expect(checked.status == 0, "bean-check refused the export (\(query)): \(checked.output)\n\(exported.text)")
            }
            // A closing balance one cent off makes bean-check fail (the checks allow no difference at all): the
            // check above can fail.
            let full = try await client.execute(uri: "/api/v1/books/journal?format=beancount", method: .get, headers: staff).text
            for off in ["1372.51", "1372.49"] {
                let tampered = full.replacingOccurrences(of: " balance Assets:Bank  1372.50 ~ 0.00 EUR", with: " balance Assets:Bank  \(off) ~ 0.00 EUR")
                let checked = try beanCheck(tampered)
                #expect(tampered != full && checked.status != 0, "bean-check took a closing balance of \(off) for 1372.50")
            }

            // CSV: one row per line, each entry summing to zero.
            let csv = try await client.execute(uri: "/api/v1/books/journal?format=csv", method: .get, headers: staff)
            #expect(csv.status == .ok)
            let rows = csv.text.split(separator: "\r\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false) }
            var byEntry: [Substring: Int64] = [:]
            for row in rows {
                let amount = try Money(parsing: String(row[4]).replacingOccurrences(of: "-", with: ""), currency: "EUR").minorUnits
                byEntry[row[1], default: 0] += row[4].hasPrefix("-") ? -amount : amount
            }
            #expect(rows.count >= 20, "\(csv.text)")
            #expect(byEntry.values.allSatisfy { $0 == 0 }, "\(csv.text)")

            // Refusals: no date, a day that does not exist, a range backwards, an unknown format; the website cannot
            // read the books.
            for (uri, status) in [
                ("/api/v1/books/trial-balance?date=31.01.2026", HTTPResponse.Status.badRequest), ("/api/v1/books/journal?from=1999-12-31", .badRequest),
                ("/api/v1/books/journal?format=xlsx", .badRequest), ("/api/v1/books/trial-balance?date=2026-02-30", .unprocessableContent),
                ("/api/v1/books/journal?from=\(today)&to=\(today.addingDays(-1))", .unprocessableContent),
            ] {
                let refused = try await client.execute(uri: uri, method: .get, headers: staff)
                #expect(refused.status == status, "\(uri): \(refused.text)")
                #expect(refused.headers[.contentType] == "application/problem+json")
            }
            // A backwards range says which last day it was: the one given, or today when none was.
            let backwards = try await client.execute(uri: "/api/v1/books/journal?from=\(today)&to=\(today.addingDays(-1))", method: .get, headers: staff)
            #expect(backwards.text.contains("from (\(today)) is after to (\(today.addingDays(-1)))"), "\(backwards.text)")
            let future = try await client.execute(uri: "/api/v1/books/journal?from=\(today.addingDays(1))", method: .get, headers: staff)
            #expect(future.status == .unprocessableContent && future.text.contains("is after today (\(today)), the last day when to is not given"), "\(future.text)")
            #expect(try await client.execute(uri: "/api/v1/books/journal", method: .get, headers: bearer(websiteKey)).status == .forbidden)
        }
    }

    /// A transfer the bank returns at the end of a year, on a statement imported in the new year: the money left
    /// the bank on the statement's day, so the books date the return then, and the year's last balance check
    /// (the statement's closing balance) holds.
    @Test(arguments: Backend.allCases)
    func aReturnIsBookedOnTheDayTheBankBookedItNotTheDayItWasImported(backend: Backend) async throws {
        let clock = TestClock(Date(timeIntervalSince1970: 1_796_558_400)) // 2026-12-06 12:00 UTC
        let runtime = try await TestRuntime.make(backend, now: clock.function)
        do {
            let staffKey = try await runtime.apiKeys.create(name: "Accountant", role: .staff).key
            let application = Application(router: buildRouter(runtime: runtime), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
            try await application.test(.live) { client in
                var staff = bearer(staffKey)
                staff[.contentType] = "application/json"
                for (uri, body) in [
                    ("/api/v1/profiles", #"{"profileId":"yr-1","kind":"mediator","displayName":"Yr","contactEmail":"yr@example.org"}"#),
                    ("/api/v1/profiles/yr-1/certification", #"{"action":"grant","reason":"assessed"}"#),
                ] {
                    let answer = try await client.execute(uri: uri, method: .post, headers: staff, body: ByteBuffer(string: body))
                    #expect(answer.status.code / 100 == 2, "\(answer.text)")
                }
                typealias T = CamtStatementBuilder.Transaction
                let reference = CreditorReference.forProfile(try ProfileID("yr-1")).electronic
                let december = CamtStatementBuilder(statements: [.init(id: "YEAR-1", iban: "NL91ABNA0417164300", openingCents: 100_000, entries: [
                    .init(date: "2026-12-05", bankReference: "BK-YR", transactions: [
                        T(amount: "125.00", endToEndID: "E2E-YR", payerName: "Yr", payerIBAN: "DE89370400440532013000", structuredReference: reference),
                    ]),
                ])]).xml
                let returned = CamtStatementBuilder(statements: [.init(id: "YEAR-2", iban: "NL91ABNA0417164300", openingCents: 112_500, entries: [
                    .init(credit: false, date: "2026-12-30", bankReference: "BK-YR-RETURN", transactions: [
                        T(amount: "125.00", endToEndID: "E2E-YR", payerName: "Yr", returnReason: "AC04"),
                    ]),
                ])]).xml
                var imported = try await client.execute(uri: "/api/v1/bank-statements", method: .post, headers: bearer(staffKey), body: ByteBuffer(string: december))
                #expect(imported.status == .created, "\(imported.text)")
                clock.set(Date(timeIntervalSince1970: 1_799_064_000)) // 2027-01-04 12:00 UTC
                imported = try await client.execute(uri: "/api/v1/bank-statements", method: .post, headers: bearer(staffKey), body: ByteBuffer(string: returned))
                #expect(imported.status == .created, "\(imported.text)")

                try await (runtime.store as? any EventStoreTestHooks)?.waitUntilAllCommittedEventsAreVisible()
                try await ProjectionGroupRunner(store: runtime.store, projections: runtime.projectionRunners.map(\.projection)).catchUp()
                let yearEnd = try await client.execute(uri: "/api/v1/books/trial-balance?date=2026-12-31", method: .get, headers: staff)
                #expect(yearEnd.text.contains("\"account\":\"Assets:Bank\",\"balance\":\"1000.00\""), "the return left the bank in 2026: \(yearEnd.text)")
                let exported = try await client.execute(uri: "/api/v1/books/journal?format=beancount", method: .get, headers: staff)
                #expect(exported.text.contains(" balance Assets:Bank  1000.00 ~ 0.00 EUR"), "\(exported.text)")
                let checked = try Self.beanCheck(exported.text)
                #expect(checked.status == 0, "bean-check refused the export: \(checked.output)\n\(exported.text)")

                // A transfer and its return on two daily statements of one file (recorded in one append): the
                // return is still an entry of its own, on its own day, and each day's closing balance holds.
                let reference2 = CreditorReference.forProfile(try ProfileID("yr-1")).electronic
                let both = CamtStatementBuilder(statements: [
                    .init(id: "YEAR-3", iban: "NL91ABNA0417164300", openingCents: 100_000, entries: [
                        .init(date: "2027-01-05", bankReference: "BK-YR2", transactions: [
                            T(amount: "125.00", endToEndID: "E2E-YR2", payerName: "Yr", payerIBAN: "DE89370400440532013000", structuredReference: reference2),
                        ]),
                    ]),
                    .init(id: "YEAR-4", iban: "NL91ABNA0417164300", openingCents: 112_500, entries: [
                        .init(credit: false, date: "2027-01-07", bankReference: "BK-YR2-RETURN", transactions: [
                            T(amount: "125.00", endToEndID: "E2E-YR2", payerName: "Yr", returnReason: "AC04"),
                        ]),
                    ]),
                ]).xml
                clock.set(Date(timeIntervalSince1970: 1_799_496_000)) // 2027-01-09 12:00 UTC
                imported = try await client.execute(uri: "/api/v1/bank-statements", method: .post, headers: bearer(staffKey), body: ByteBuffer(string: both))
                #expect(imported.status == .created, "\(imported.text)")
                try await (runtime.store as? any EventStoreTestHooks)?.waitUntilAllCommittedEventsAreVisible()
                try await ProjectionGroupRunner(store: runtime.store, projections: runtime.projectionRunners.map(\.projection)).catchUp()
                let between = try await client.execute(uri: "/api/v1/books/trial-balance?date=2027-01-06", method: .get, headers: staff)
                #expect(between.text.contains("\"account\":\"Assets:Bank\",\"balance\":\"1125.00\""), "the transfer in, not yet returned: \(between.text)")
                let after = try await client.execute(uri: "/api/v1/books/journal?format=beancount", method: .get, headers: staff)
                let checkedAfter = try Self.beanCheck(after.text)
                #expect(checkedAfter.status == 0, "bean-check refused the export: \(checkedAfter.output)\n\(after.text)")
            }
        } catch {
            await runtime.close()
            throw error
        }
        await runtime.close()
    }

    /// Statements imported out of order: March first (opening 1,000.00), then February (opening 800.00, 200.00 in).
    /// The opening balance moves to February's first day and amount, so the bank account holds 1,000.00 after
    /// February's line and until March's, as the bank says, and bean-check accepts every balance.
    @Test(arguments: Backend.allCases)
    func aStatementOfEarlierDaysImportedLaterMovesTheOpeningBalance(backend: Backend) async throws {
        let clock = TestClock(Date(timeIntervalSince1970: 1_775_044_800)) // 2026-04-01 12:00 UTC
        let runtime = try await TestRuntime.make(backend, now: clock.function)
        do {
            let staffKey = try await runtime.apiKeys.create(name: "Accountant", role: .staff).key
            let application = Application(router: buildRouter(runtime: runtime), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
            try await application.test(.live) { client in
                typealias T = CamtStatementBuilder.Transaction
                let march = CamtStatementBuilder(statements: [.init(id: "MAR", iban: "NL91ABNA0417164300", openingCents: 100_000, entries: [
                    .init(date: "2026-03-03", bankReference: "BK-MAR", transactions: [T(amount: "50.00", payerName: "Gift", text: "a gift")]),
                ])]).xml
                let february = CamtStatementBuilder(statements: [.init(id: "FEB", iban: "NL91ABNA0417164300", openingCents: 80_000, entries: [
                    .init(date: "2026-02-10", bankReference: "BK-FEB", transactions: [T(amount: "200.00", payerName: "Grant", text: "a grant")]),
                ])]).xml
                for statement in [march, february] {
                    let imported = try await client.execute(uri: "/api/v1/bank-statements", method: .post, headers: bearer(staffKey), body: ByteBuffer(string: statement))
                    #expect(imported.status == .created, "\(imported.text)")
                    try await (runtime.store as? any EventStoreTestHooks)?.waitUntilAllCommittedEventsAreVisible()
                    try await ProjectionGroupRunner(store: runtime.store, projections: runtime.projectionRunners.map(\.projection)).catchUp()
                }
                var staff = bearer(staffKey)
                staff[.contentType] = "application/json"
                // The opening is dated on the statement's first booking day (the balance at its start).
                for (date, balance) in [("2026-02-09", nil), ("2026-02-10", "1000.00"), ("2026-03-02", "1000.00"), ("2026-03-31", "1050.00")] {
                    let trial = try await client.execute(uri: "/api/v1/books/trial-balance?date=\(date)", method: .get, headers: staff)
                    if let balance {
                        #expect(trial.text.contains("\"account\":\"Assets:Bank\",\"balance\":\"\(balance)\""), "\(date): \(trial.text)")
                    } else {
                        #expect(!trial.text.contains("Assets:Bank"), "\(date): \(trial.text)")
                    }
                }
                let exported = try await client.execute(uri: "/api/v1/books/journal?format=beancount", method: .get, headers: staff)
                let checked = try Self.beanCheck(exported.text)
                #expect(checked.status == 0, "bean-check refused the export: \(checked.output)\n\(exported.text)")
            }
        } catch {
            await runtime.close()
            throw error
        }
        await runtime.close()
    }

    /// Runs Beancount's own checker on `text`; its exit status and what it printed.
    static func beanCheck(_ text: String) throws -> (status: Int32, output: String) {
        let file = TestScratch.folder.appendingPathComponent("books-\(UUID().uuidString).beancount")
        try Data(text.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", "-c", "import sys; from beancount.scripts.check import main; sys.exit(main(prog_name='bean-check'))", "--no-cache", file.path,
        ]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }
}
