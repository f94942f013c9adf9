import EventStore
import Foundation
import HTTPTypes
import HummingbirdTesting
import LedgerCore
import Logging
@testable import LedgerService
import NIOCore
import Payments
import TestSupport
import Testing

/// "The same days imported again in another format are refused": each booking day of an account is claimed by
/// the format of the first statement that brings it, and a file bringing a day another format claimed books
/// nothing.
@Suite("Statement days and their format")
struct BankDayClaimsTests {
    static let ourIBAN = "NL91ABNA0417164300"

    static func reference(_ profile: String) throws -> String {
        CreditorReference.forProfile(try ProfileID(profile)).electronic
    }

    static func certified(_ runtime: LedgerRuntime, _ ids: String...) async throws {
        for id in ids {
            let profile = try ProfileID(id)
            _ = try await runtime.profiles.handle(.register(kind: .mediator, displayName: id, contactEmail: "\(id)@example.org"), profileID: profile, metadata: .init(actor: "test"))
            _ = try await runtime.profiles.handle(.changeCertification(.grant, reason: "assessed"), profileID: profile, metadata: .init(actor: "test"))
        }
    }

    /// A bank reference the bank gives another transfer later (a CSV export numbering its rows afresh each time)
    /// books that transfer all the same: before, it was counted as imported already and lost. Each file imported
    /// again books nothing twice, and two lines of one file under one reference that say different things are
    /// two transfers.
    @Test(arguments: Backend.allCases)
    func aBankReferenceGivenToAnotherTransferBooksItAllTheSame(backend: Backend) async throws {
        let runtime = try await TestRuntime.make(backend)
        do {
            try await Self.certified(runtime, "ru-1", "ru-2", "ru-3", "ru-4")
            let today = runtime.profiles.policy.calendar.date(at: runtime.now())
            let csv = Self.csvWithBankReferences
            func importing(_ file: URL) async throws -> BankStatementImport.Summary {
                try await runtime.bankImport.importFile(file, metadata: .init(actor: "test"))
            }
            let earlier = try csv([(today.addingDays(-4), "ru-1", "7")])
            let later = try csv([(today.addingDays(-3), "ru-2", "7")])
            #expect(try await importing(earlier).matched == 1)
            let second = try await importing(later)
            #expect(second.matched == 1 && second.alreadyImported == 0, "\(second)")
            for file in [earlier, later] {
                let again = try await importing(file)
                #expect(again.alreadyImported == 1 && again.matched == 0, "\(again)")
            }
            let twins = try csv([(today.addingDays(-2), "ru-3", "9"), (today.addingDays(-1), "ru-4", "9")])
            let both = try await importing(twins)
            #expect(both.matched == 2 && both.alreadyImported == 0, "\(both)")
            let bothAgain = try await importing(twins)
            #expect(bothAgain.alreadyImported == 2 && bothAgain.matched == 0, "\(bothAgain)")
            try await Self.expectOnePaymentEach(runtime, ["ru-1", "ru-2", "ru-3", "ru-4"])
        } catch {
            await runtime.close()
            throw error
        }
        await runtime.close()
    }

    /// Expects each profile to have exactly one payment booked.
    static func expectOnePaymentEach(_ runtime: LedgerRuntime, _ ids: [String], sourceLocation: SourceLocation = #_sourceLocation) async throws {
        for id in ids {
            let allocations = try await runtime.profiles.load(try ProfileID(id)).state.allocations
            #expect(allocations.count == 1, "\(id) has \(allocations.count) payments booked", sourceLocation: sourceLocation)
        }
    }

    /// A CSV file of 125.00 transfers, each naming its profile's reference and carrying a bank reference.
    static func csvWithBankReferences(_ rows: [(day: LocalDate, profile: String, bankReference: String)]) throws -> URL {
        var text = "date,amount,currency,payer_name,payer_iban,reference,bank_reference\n"
        for row in rows { text += "\(row.day),125.00,EUR,Payer \(row.profile),,\(try Self.reference(row.profile)),\(row.bankReference)\n" }
        let file = TestScratch.folder.appendingPathComponent("reused-\(UUID().uuidString).csv")
        try Data(text.utf8).write(to: file)
        return file
    }

    /// A bank that lists a batch's transactions in another order in a later export of the day gives each
    /// transaction's place (and so its key) to a transfer of another amount: that tells no transfer apart, so
    /// nothing is booked again. A transfer under a reference is told apart by its day only.
    @Test(arguments: Backend.allCases)
    func aBatchListedInAnotherOrderBooksNothingAgain(backend: Backend) async throws {
        let runtime = try await TestRuntime.make(backend)
        do {
            try await Self.certified(runtime, "bo-1", "bo-2")
            typealias T = CamtStatementBuilder.Transaction
            let one = T(amount: "125.00", payerName: "One", structuredReference: try Self.reference("bo-1"))
            let two = T(amount: "250.00", payerName: "Two", structuredReference: try Self.reference("bo-2"))
            func file(_ transactions: [T]) throws -> URL {
                let entry = CamtStatementBuilder.Entry(date: "2026-03-02", bankReference: "BATCH-7", transactions: transactions)
                let url = TestScratch.folder.appendingPathComponent("batch-order-\(UUID().uuidString).xml")
                try Data(CamtStatementBuilder(statements: [.init(id: "BO-1", iban: Self.ourIBAN, entries: [entry])]).xml.utf8).write(to: url)
                return url
            }
            let first = try await runtime.bankImport.importFile(try file([one, two]), metadata: .init(actor: "test"))
            #expect(first.matched == 2, "\(first)")
            let reordered = try await runtime.bankImport.importFile(try file([two, one]), metadata: .init(actor: "test"))
            #expect(reordered.matched == 0 && reordered.alreadyImported == 2, "\(reordered)")
            try await Self.expectOnePaymentEach(runtime, ["bo-1", "bo-2"])
        } catch {
            await runtime.close()
            throw error
        }
        await runtime.close()
    }

    /// Another import records a transfer under a reused bank reference while this one's batch is decided: the
    /// week's file lists X on one day and Y on the next under one reference, and the next day's file, imported
    /// meanwhile, brings Y. The week's batch is refused and its lines are booked one by one under keys decided
    /// again, so each transfer is booked once (before, X was taken for Y and lost, and Y was booked twice).
    @Test(arguments: Backend.allCases)
    func aReferenceTakenByAnotherImportMeanwhileIsToldApartAgain(backend: Backend) async throws {
        let runtime = try await TestRuntime.make(backend)
        do {
            try await Self.certified(runtime, "rr-1", "rr-2")
            let today = runtime.profiles.policy.calendar.date(at: runtime.now())
            let week = try Self.csvWithBankReferences([(today.addingDays(-4), "rr-1", "R5"), (today.addingDays(-3), "rr-2", "R5")])
            let day = try Self.csvWithBankReferences([(today.addingDays(-3), "rr-2", "R5")])
            let plain = runtime.bankImport
            let once = FirstTime()
            var importer = runtime.bankImport
            importer.hooks.beforeAppending = { _ in
                if await once.take() { _ = try await plain.importFile(day, metadata: .init(actor: "test")) }
            }
            let summary = try await importer.importFile(week, metadata: .init(actor: "test"))
            #expect(summary.bookedOneByOne == 2 && summary.matched == 1 && summary.alreadyImported == 1, "\(summary)")
            try await Self.expectOnePaymentEach(runtime, ["rr-1", "rr-2"])
            let again = try await plain.importFile(week, metadata: .init(actor: "test"))
            #expect(again.alreadyImported == 2 && again.matched == 0, "\(again)")
        } catch {
            await runtime.close()
            throw error
        }
        await runtime.close()
    }

    /// A file that a version counting pending entries among identical lines imported (its booked line then
    /// known by the second place, after its pending twin) books nothing when imported again: the line is found
    /// under the key that version gave it, though it is now counted first.
    @Test(arguments: Backend.allCases)
    func aLineKeyedWithItsPendingTwinCountedIsFoundAgain(backend: Backend) async throws {
        let runtime = try await TestRuntime.make(backend)
        do {
            try await Self.certified(runtime, "pf-1")
            typealias T = CamtStatementBuilder.Transaction
            let entry = CamtStatementBuilder.Entry(
                date: "2026-03-02", bankReference: nil, transactions: [T(amount: "125.00", payerName: "Pia", structuredReference: try Self.reference("pf-1"))]
            )
            var pending = entry
            pending.pending = true
            let file = try CamtStatementBuilder(statements: [.init(id: "PF-NOON", iban: Self.ourIBAN, entries: [pending, entry])]).write()
            var older = runtime.bankImport
            older.hooks.countsPendingLines = true
            let first = try await older.importFile(file, metadata: .init(actor: "test"))
            #expect(first.matched == 1 && first.notBooked == 1, "\(first)")
            let again = try await runtime.bankImport.importFile(file, metadata: .init(actor: "test"))
            #expect(again.matched == 0 && again.alreadyImported == 1, "\(again)")
            try await Self.expectOnePaymentEach(runtime, ["pf-1"])
        } catch {
            await runtime.close()
            throw error
        }
        await runtime.close()
    }

    /// Appends a statement's record, and nothing else, as a version from before the days were claimed left it.
    static func recordAsAnOlderVersion(_ url: DatabaseURL, _ recorded: BankStatementRecorded) async throws {
        let older = try await TestRuntime.open(url)
        do {
            _ = try await older.store.append(
                [NewEvent(id: .timeOrdered(), type: BankStatementRecorded.typeName, data: try recorded.encodedData(), metadata: .init(actor: "older version"))],
                to: BankStatementRecorded.streamName(statementKey: recorded.statementKey), expecting: .noStream
            )
        } catch {
            await older.close()
            throw error
        }
        await older.close()
    }

    static func upload(_ client: any TestClientProtocol, _ staff: HTTPFields, _ text: String) async throws -> TestResponse {
        try await client.execute(uri: "/api/v1/bank-statements", method: .post, headers: staff, body: ByteBuffer(string: text))
    }

    /// An MT940 statement of `account` with one 125.00 credit a day, each paying for one profile.
    static func mt940(account: String, _ credits: [(day: String, profile: String)]) throws -> String {
        func short(_ iso: String) -> String { iso.replacingOccurrences(of: "-", with: "").dropFirst(2).description }
        guard let first = credits.first, let last = credits.last else { return "" }
        var text = ":20:M\(short(first.day))\n:25:\(account)\n:28C:1/1\n:60F:C\(short(first.day))EUR0,00\n"
        for credit in credits {
            let day = short(credit.day)
            text += ":61:\(day)\(day.suffix(4))C125,00NTRFNONREF\n:86:/NAME/P/REMI/USTD//\(try reference(credit.profile))\n"
        }
        text += ":62F:C\(short(last.day))EUR\(credits.count * 125),00\n"
        return text
    }

    /// A camt.053 statement of `iban` with one 125.00 credit a day, each paying for one profile.
    static func camt(iban: String = ourIBAN, id: String, _ credits: [(day: String, profile: String)]) throws -> String {
        typealias T = CamtStatementBuilder.Transaction
        return CamtStatementBuilder(statements: [.init(id: id, iban: iban, entries: try credits.map { credit in
            .init(date: credit.day, bankReference: "\(id)-\(credit.profile)", transactions: [T(amount: "125.00", payerName: "P", structuredReference: try reference(credit.profile))])
        })]).xml
    }

    static func income(_ client: any TestClientProtocol, _ staff: HTTPFields) async throws -> String? {
        let trial = try await client.execute(uri: "/api/v1/books/trial-balance?date=2026-12-31", method: .get, headers: staff)
        let accounts = (trial.json["accounts"] as? [[String: Any]]) ?? []
        return accounts.first { $0["account"] as? String == "Income:ListingContributions" }?["balance"] as? String
    }

    @Test(arguments: Backend.allCases)
    func daysImportedInMT940AreRefusedInCamtAndTheFileBooksNothing(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let staff = bearer(try await runtime.apiKeys.create(name: "Anna", role: .staff).key)
            try await Self.certified(runtime, "fd-1", "fd-2", "fd-3")
            let first = try await Self.upload(client, staff, try Self.mt940(account: Self.ourIBAN, [("2026-03-04", "fd-1"), ("2026-03-05", "fd-2")]))
            #expect(first.status == .created && first.json["matched"] as? Int == 2, "\(first.text)")

            // The week in camt.053 brings 03-05 again (the same transfer, known by another key) and 03-06.
            let overlapping = try Self.camt(id: "W-10", [("2026-03-05", "fd-2"), ("2026-03-06", "fd-3")])
            let refused = try await Self.upload(client, staff, overlapping)
            expectProblem(refused, .unprocessableContent, "statement-rejected")
            let detail = refused.json["detail"] as? String ?? ""
            #expect(detail.contains("1 day of this camt.053 statement (2026-03-05, account \(Self.ourIBAN) EUR) was already imported from MT940;"), "\(detail)")
            #expect(detail.hasSuffix("nothing was imported"), "\(detail)")
            // Its new day is not claimed, nor fd-3 paid (the income below holds the two MT940 transfers only).
            let claims = BankDayClaims(store: runtime.store, ownAccount: Self.ourIBAN)
            #expect(try await claims.lastDay(account: "\(Self.ourIBAN) EUR", through: LocalDate(iso: "2026-03-31")!) == LocalDate(iso: "2026-03-05"))
            let listing = try await client.execute(uri: "/api/v1/profiles/fd-3/listing", method: .get, headers: staff)
            #expect(listing.json["visible"] as? Bool == false, "\(listing.text)")
            #expect(try await Self.income(client, staff) == "-250.00")

            // Without the day MT940 brought, the camt.053 file books its own; the MT940 file again books nothing twice.
            let rest = try await Self.upload(client, staff, try Self.camt(id: "D-0306", [("2026-03-06", "fd-3")]))
            #expect(rest.status == .created && rest.json["matched"] as? Int == 1, "\(rest.text)")
            let again = try await Self.upload(client, staff, try Self.mt940(account: Self.ourIBAN, [("2026-03-04", "fd-1"), ("2026-03-05", "fd-2")]))
            #expect(again.status == .created && again.json["alreadyImported"] as? Int == 2, "\(again.text)")
            // And MT940 may not bring 03-06 now: camt.053 has it.
            let late = try await Self.upload(client, staff, try Self.mt940(account: Self.ourIBAN, [("2026-03-06", "fd-3")]))
            #expect(late.status == .unprocessableContent && (late.json["detail"] as? String ?? "").contains("already imported from camt.053"), "\(late.text)")
            #expect(try await Self.income(client, staff) == "-375.00", "three transfers, each booked once")
        }
    }

    /// The CSV layout names no account: its days are the body's own account's (`bank.iban`), so camt.053 of that
    /// account may not bring them again, while another account's statement of the same day is its own.
    @Test(arguments: Backend.allCases)
    func aCSVFileIsOnTheBodysOwnAccount(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let staff = bearer(try await runtime.apiKeys.create(name: "Anna", role: .staff).key)
            try await Self.certified(runtime, "cs-1", "cs-2")
            let csv = "date,amount,currency,payer_name,payer_iban,reference,bank_reference\n2026-03-02,125.00,EUR,P,,\(try Self.reference("cs-1")),CSV-1\n"
            let fromCSV = try await Self.upload(client, staff, csv)
            #expect(fromCSV.status == .created && fromCSV.json["matched"] as? Int == 1, "\(fromCSV.text)")
            let same = try await Self.upload(client, staff, try Self.camt(id: "C-0302", [("2026-03-02", "cs-1")]))
            #expect(same.status == .unprocessableContent && (same.json["detail"] as? String ?? "").contains("already imported from CSV"), "\(same.text)")
            let other = try await Self.upload(client, staff, try Self.camt(iban: "DE89370400440532013000", id: "O-0302", [("2026-03-02", "cs-2")]))
            #expect(other.status == .created && other.json["matched"] as? Int == 1, "\(other.text)")
            #expect(try await Self.income(client, staff) == "-250.00")
        }
    }

    /// A German MT940 file may name its account by bank code and account number: that is the IBAN it stands for.
    @Test(arguments: Backend.allCases)
    func aGermanAccountNumberIsTheIBANItStandsFor(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let staff = bearer(try await runtime.apiKeys.create(name: "Anna", role: .staff).key)
            try await Self.certified(runtime, "de-1")
            let first = try await Self.upload(client, staff, try Self.mt940(account: "37040044/0532013000", [("2026-03-09", "de-1")]))
            #expect(first.status == .created && first.json["matched"] as? Int == 1, "\(first.text)")
            let again = try await Self.upload(client, staff, try Self.camt(iban: "DE89370400440532013000", id: "G-0309", [("2026-03-09", "de-1")]))
            #expect(again.status == .unprocessableContent, "\(again.text)")
            #expect((again.json["detail"] as? String ?? "").contains("account DE89370400440532013000"), "\(again.text)")
        }
    }

    /// An IBAN with its currency after it whose whole text passes the check digits as well (about one account in
    /// 97; NL02ABNA0417164350EUR does) is still that IBAN: a day imported from MT940 is not booked again from
    /// camt.053 (it was claimed under another account, and the transfer booked twice).
    @Test(arguments: Backend.allCases)
    func anIBANWithItsCurrencyAfterItIsThatIBANEvenWhenTheWholeTextPassesTheCheck(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let staff = bearer(try await runtime.apiKeys.create(name: "Anna", role: .staff).key)
            try await Self.certified(runtime, "cc-1")
            let first = try await Self.upload(client, staff, try Self.mt940(account: "NL02ABNA0417164350EUR", [("2026-05-04", "cc-1")]))
            #expect(first.status == .created && first.json["matched"] as? Int == 1, "\(first.text)")
            let inCamt = try await Self.upload(client, staff, try Self.camt(iban: "NL02ABNA0417164350", id: "CC-0504", [("2026-05-04", "cc-1")]))
            #expect(inCamt.status == .unprocessableContent, "\(inCamt.text)")
            #expect((inCamt.json["detail"] as? String ?? "").contains("(2026-05-04, account NL02ABNA0417164350 EUR) was already imported from MT940"), "\(inCamt.text)")
            #expect(try await Self.income(client, staff) == "-125.00", "one transfer, booked once")
        }
    }

    /// Dutch MT940 files write the account as its domestic number, or the IBAN with its currency after it: both are
    /// the body's own account, whose days camt.053 may not bring again. The account written another way in the
    /// same format is refused too, since the lines' keys hold it.
    @Test(arguments: Backend.allCases)
    func anAccountWrittenAnotherWayIsTheSameAccount(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let staff = bearer(try await runtime.apiKeys.create(name: "Anna", role: .staff).key)
            try await Self.certified(runtime, "nl-1", "nl-2", "nl-3")
            for (account, day, profile) in [("417164300", "2026-04-01", "nl-1"), ("ABNA/0417164300", "2026-04-02", "nl-2"), ("NL91ABNA0417164300EUR", "2026-04-03", "nl-3")] {
                let first = try await Self.upload(client, staff, try Self.mt940(account: account, [(day, profile)]))
                #expect(first.status == .created && first.json["matched"] as? Int == 1, "\(account): \(first.text)")
                let inCamt = try await Self.upload(client, staff, try Self.camt(id: "NL-\(day)", [(day, profile)]))
                #expect(inCamt.status == .unprocessableContent, "\(account): \(inCamt.text)")
                #expect((inCamt.json["detail"] as? String ?? "").contains("(\(day), account \(Self.ourIBAN) EUR) was already imported from MT940"), "\(account): \(inCamt.text)")
            }
            let respelled = try await Self.upload(client, staff, try Self.mt940(account: Self.ourIBAN, [("2026-04-01", "nl-1")]))
            #expect(respelled.status == .unprocessableContent, "\(respelled.text)")
            #expect((respelled.json["detail"] as? String ?? "").contains("already imported from a statement writing the account as 417164300"), "\(respelled.text)")
            #expect(try await Self.income(client, staff) == "-375.00", "three transfers, each booked once")
        }
    }

    /// "An MT940 line without an entry date counts on its value date": camt.053 may not bring that day again.
    @Test
    func anMT940LineWithoutAnEntryDateCountsOnItsValueDate() async throws {
        try await withLiveServer(.sqlite) { client, runtime in
            let staff = bearer(try await runtime.apiKeys.create(name: "Anna", role: .staff).key)
            try await Self.certified(runtime, "vd-1")
            let mt940 = """
                :20:V1
                :25:\(Self.ourIBAN)
                :28C:1/1
                :60F:C260305EUR0,00
                :61:260306C125,00NTRFNONREF
                :86:/NAME/P/REMI/USTD//\(try Self.reference("vd-1"))
                :62F:C260306EUR125,00

                """
            #expect(try await Self.upload(client, staff, mt940).json["matched"] as? Int == 1)
            let inCamt = try await Self.upload(client, staff, try Self.camt(id: "V-0306", [("2026-03-06", "vd-1")]))
            #expect(inCamt.status == .unprocessableContent && (inCamt.json["detail"] as? String ?? "").contains("(2026-03-06, account"), "\(inCamt.text)")
        }
    }

    /// An account holding two currencies, its MT940 statements writing the currency after the IBAN: the EUR and the
    /// USD statement of one day are two statements, not one account written two ways; camt.053 of the EUR side of
    /// that day is refused.
    @Test
    func anAccountsCurrenciesAreClaimedApart() async throws {
        try await withLiveServer(.sqlite) { client, runtime in
            let staff = bearer(try await runtime.apiKeys.create(name: "Anna", role: .staff).key)
            try await Self.certified(runtime, "cu-1")
            func statement(_ currency: String, _ amount: String, _ text: String) -> String {
                """
                :20:C\(currency)
                :25:\(Self.ourIBAN)\(currency)
                :28C:1/1
                :60F:C260310\(currency)0,00
                :61:2603110311C\(amount)NTRFNONREF
                :86:/NAME/P/REMI/USTD//\(text)
                :62F:C260311\(currency)\(amount)

                """
            }
            let inEUR = try await Self.upload(client, staff, statement("EUR", "125,00", try Self.reference("cu-1")))
            #expect(inEUR.status == .created && inEUR.json["matched"] as? Int == 1, "\(inEUR.text)")
            let inUSD = try await Self.upload(client, staff, statement("USD", "40,00", "gift"))
            #expect(inUSD.status == .created && inUSD.json["queued"] as? Int == 1, "\(inUSD.text)")
            let inCamt = try await Self.upload(client, staff, try Self.camt(id: "CU-0311", [("2026-03-11", "cu-1")]))
            #expect(inCamt.status == .unprocessableContent && (inCamt.json["detail"] as? String ?? "").contains("(2026-03-11, account \(Self.ourIBAN) EUR) was already imported from MT940"), "\(inCamt.text)")
        }
    }

    /// Statements imported by a version from before the claims have their days claimed when the ledger is next
    /// opened, from their recorded first and last booking day: camt.053 of those days is refused, of the day
    /// after is booked; a later check claims nothing again.
    @Test(arguments: Backend.allCases)
    func daysOfStatementsImportedBeforeTheClaimsAreClaimedAtOpen(backend: Backend) async throws {
        let url = try await TestDatabase.freshURL(backend)
        // What an older version left of an MT940 import: the statement's record, and no claims.
        try await Self.recordAsAnOlderVersion(url, BankStatementRecorded(
            statementKey: "old-1", account: Self.ourIBAN, statementID: "OLD-1", format: "mt940", openingBalance: .euros(minorUnits: 0),
            closingBalance: .euros(minorUnits: 3_000), firstBookingDate: LocalDate(iso: "2026-02-02"), lastBookingDate: LocalDate(iso: "2026-02-04"),
            bookedLines: 2, occurredAt: Date()
        ))

        let runtime = try await TestRuntime.open(url)
        do {
            func importCamt(_ day: String) async -> PaymentsError.Code? {
                do {
                    let file = try CamtStatementBuilder(statements: [.init(id: "N-\(day)", iban: Self.ourIBAN, entries: [
                        .init(date: day, bankReference: "N-\(day)", transactions: [.init(amount: "30.00", payerName: "Bo", text: "gift")]),
                    ])]).write()
                    _ = try await runtime.bankImport.importFile(file, metadata: .init(actor: "test"))
                    return nil
                } catch let error as PaymentsError {
                    return error.code
                } catch {
                    Issue.record("\(error)")
                    return nil
                }
            }
            #expect(await importCamt("2026-02-03") == .importedInAnotherFormat, "a day inside the older statement")
            #expect(await importCamt("2026-02-05") == nil, "the day after it")
            let again = try await BankDayClaims(store: runtime.store, ownAccount: Self.ourIBAN).backfill(currency: "EUR", now: Date(), logger: Logger(label: "test"))
            #expect(again == 0)
        } catch {
            await runtime.close()
            throw error
        }
        await runtime.close()
    }

    /// A statement line dated outside the ledger's dates is refused with the file, before anything is recorded:
    /// a statement record ending on 9999-12-31, the last day of the calendar, kept every later opening of the
    /// ledger walking its days for good (adding a day to the last one gives the same day).
    @Test(arguments: Backend.allCases)
    func aStatementDatedOutsideTheLedgersDatesIsRefusedWhole(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let staff = bearer(try await runtime.apiKeys.create(name: "Anna", role: .staff).key)
            for (csv, named) in [
                ("date,amount,currency\n2026-03-02,30.00,EUR\n9999-12-31,-1.00,EUR\n", "statement 1, entry 2 is booked on 9999-12-31"),
                ("date,amount,currency\n1999-12-31,-1.00,EUR\n", "statement 1, entry 1 is booked on 1999-12-31"),
            ] {
                let refused = try await Self.upload(client, staff, csv)
                expectProblem(refused, .unprocessableContent, "statement-rejected")
                let detail = refused.json["detail"] as? String ?? ""
                #expect(detail.contains(named) && detail.contains("between 2000-01-01 and 2199-12-31"), "\(detail)")
            }
            // Nothing of either file was recorded: no statement, no line, no claimed day.
            let recorded = try await runtime.store.readAll(after: .start, limit: 1_000)
            #expect(!recorded.contains { $0.type == BankStatementRecorded.typeName || $0.stream.hasPrefix("inbox-bank-") }, "\(recorded.map(\.type))")
        }
    }

    /// A statement record ending on the last day of the calendar, as a version that did not bound statement
    /// dates could write, is left alone when the ledger opens, instead of stopping the opening for good.
    @Test(arguments: Backend.allCases)
    func aRecordedStatementEndingOnTheCalendarsLastDayDoesNotStopTheLedgerOpening(backend: Backend) async throws {
        let url = try await TestDatabase.freshURL(backend)
        try await Self.recordAsAnOlderVersion(url, BankStatementRecorded(
            statementKey: "end-1", account: Self.ourIBAN, statementID: "END-1", format: "csv", openingBalance: nil, closingBalance: nil,
            firstBookingDate: LocalDate(iso: "9999-12-30"), lastBookingDate: LocalDate(iso: "9999-12-31"), bookedLines: 2, occurredAt: Date()
        ))

        // Opening runs the check of the days of older statements: it returns, and claims none of those days.
        let runtime = try await TestRuntime.open(url)
        do {
            let claims = BankDayClaims(store: runtime.store, ownAccount: Self.ourIBAN)
            #expect(try await claims.lastDay(account: "\(Self.ourIBAN) EUR", through: .last) == nil)
        } catch {
            await runtime.close()
            throw error
        }
        await runtime.close()
    }

    /// A file spanning the turn of a year claims its days in each year's stream.
    @Test(arguments: Backend.allCases)
    func aFileAcrossTheTurnOfAYearClaimsTheDaysOfBoth(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let staff = bearer(try await runtime.apiKeys.create(name: "Anna", role: .staff).key)
            let csv = "date,amount,currency,payer_name,payer_iban,reference,bank_reference\n2025-12-31,30.00,EUR,Bo,,gift,Y-1\n2026-01-02,40.00,EUR,Cy,,gift,Y-2\n"
            let fromCSV = try await Self.upload(client, staff, csv)
            #expect(fromCSV.status == .created && fromCSV.json["lines"] as? Int == 2, "\(fromCSV.text)")
            for day in ["2025-12-31", "2026-01-02"] {
                typealias T = CamtStatementBuilder.Transaction
                let camt = CamtStatementBuilder(statements: [.init(id: "Y-\(day)", iban: Self.ourIBAN, entries: [
                    .init(date: day, bankReference: "YC-\(day)", transactions: [T(amount: "30.00", payerName: "Bo", text: "gift")]),
                ])]).xml
                let refused = try await Self.upload(client, staff, camt)
                #expect(refused.status == .unprocessableContent && (refused.json["detail"] as? String ?? "").contains("(\(day), account"), "\(day): \(refused.text)")
            }
            let between = CamtStatementBuilder(statements: [.init(id: "Y-0101", iban: Self.ourIBAN, entries: [
                .init(date: "2026-01-01", bankReference: "YC-0101", transactions: [.init(amount: "50.00", payerName: "Di", text: "gift")]),
            ])]).xml
            #expect(try await Self.upload(client, staff, between).status == .created, "a day the CSV file did not bring")
        }
    }

    @Test
    func aDomesticNumberIsTheAccountWhoseIBANItEnds() {
        let own = "NL91ABNA0417164300"
        for text in ["417164300", "0417164300", "ABNA/0417164300", "TRIODOSBANK/0417164300", "0417164300EUR"] {
            #expect(BankDayClaims.isDomesticNumber(text, of: own), "\(text)")
        }
        for text in ["17164300", "4300", "1417164300", "0417164301", "", "ABNA/", "04171643OO", "DE89370400440532013000"] {
            #expect(!BankDayClaims.isDomesticNumber(text, of: own), "\(text)")
        }
        #expect(!BankDayClaims.isDomesticNumber("532013000", of: "DE89370400440532013000"), "a German number without its bank code names no account")
        // An old Postbank number is short; the whole account number is still what must match.
        #expect(BankDayClaims.isDomesticNumber("0000123456", of: "NL20INGB0000123456") && BankDayClaims.isDomesticNumber("123456", of: "NL20INGB0000123456"))
        #expect(!BankDayClaims.isDomesticNumber("23456", of: "NL20INGB0000123456") && !BankDayClaims.isDomesticNumber("1234567", of: "NL20INGB0000123456"))
        #expect(BankDayClaims.isDomesticNumber("0417164300 EUR", of: own) && BankDayClaims.isDomesticNumber("0417 1643 00", of: own), "spaces are ignored")
    }

    @Test
    func bankCodeAndAccountNumberBecomeTheGermanIBAN() {
        #expect(BankDayClaims.germanIBAN("37040044/0532013000") == "DE89370400440532013000")
        #expect(IBAN(country: "NL", bban: "ABNA0417164300")?.electronic == "NL91ABNA0417164300")
        #expect(IBAN(country: "nl", bban: "ABNA0417164300") == nil && IBAN(country: "NL", bban: "ABNA 0417") == nil)
        #expect(BankDayClaims.germanIBAN("37040044/532013000") == "DE89370400440532013000", "the account number padded to ten digits")
        #expect(BankDayClaims.germanIBAN("37040044/0532013000EUR") == "DE89370400440532013000", "a currency after the number")
        for text in ["3704004/0532013000", "37040044/05320130001", "37040044/", "/0532013000", "37040044-0532013000", "3704004X/0532013000", "37040044/05320130x0", "37040044/1/2"] {
            #expect(BankDayClaims.germanIBAN(text) == nil, "\(text)")
        }
    }

    /// What an import came to: lines matched, the code of a refusal, or any other error.
    static func attempt(_ importer: BankStatementImport, _ file: URL, _ metadata: EventMetadata) async -> (booked: Int?, refusal: PaymentsError.Code?, other: String?) {
        do {
            return (try await importer.importFile(file, metadata: metadata).matched, nil, nil)
        } catch let error as PaymentsError {
            return (nil, error.code, nil)
        } catch {
            return (nil, nil, "\(error)")
        }
    }

    /// Two imports of one day in two formats, both deciding their claim before either appends it: one claims the
    /// day, the other finds the first one's claim when its own append is refused, and is refused itself (each
    /// claim expects the version of the stream it decided on).
    @Test(arguments: Backend.allCases)
    func twoFormatsOfOneDayDecidedAtOnceBookItOnce(backend: Backend) async throws {
        let runtime = try await TestRuntime.make(backend)
        do {
            try await Self.certified(runtime, "cc-1")
            let folder = TestScratch.folder.appendingPathComponent("ledger-days-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            let inMT940 = folder.appendingPathComponent("day.sta")
            let inCamt = folder.appendingPathComponent("day.xml")
            try Data(try Self.mt940(account: Self.ourIBAN, [("2026-03-10", "cc-1")]).utf8).write(to: inMT940)
            try Data(try Self.camt(id: "CC-1", [("2026-03-10", "cc-1")]).utf8).write(to: inCamt)
            // Each import waits, its claim decided, until the other has decided too (the first time only).
            let barrier = Barrier(parties: 2)
            var importer = runtime.bankImport
            importer.hooks.claimsDecided = { await barrier.arrive() }
            let metadata = EventMetadata(actor: "test")
            let hooked = importer
            async let first = Self.attempt(hooked, inMT940, metadata)
            async let second = Self.attempt(hooked, inCamt, metadata)
            let outcomes = await [first, second]
            #expect(outcomes.compactMap(\.booked) == [1], "\(outcomes)")
            #expect(outcomes.compactMap(\.refusal) == [.importedInAnotherFormat] && outcomes.allSatisfy { $0.other == nil }, "\(outcomes)")
            #expect(await barrier.arrivals == 2, "both decided before either appended")
        } catch {
            await runtime.close()
            throw error
        }
        await runtime.close()
    }
}

/// Holds each of the first `parties` callers until all of them have arrived; later callers pass at once.
private actor Barrier {
    let parties: Int
    private(set) var arrivals = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []

    init(parties: Int) {
        self.parties = parties
    }

    func arrive() async {
        arrivals += 1
        guard arrivals <= parties else { return }
        if arrivals == parties {
            waiting.forEach { $0.resume() }
            waiting = []
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }
}

/// True for the first caller only.
private actor FirstTime {
    private var taken = false

    func take() -> Bool {
        defer { taken = true }
        return !taken
    }
}
