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

/// Receipts and credit notes: numbered per year without gaps or repeats, from the log, for the website and staff.
@Suite("Receipts")
struct ReceiptsTests {
    /// A renewal's receipt names the year the renewal paid for, not the whole stretch of paid days it extends; so
    /// does the first payment's receipt, asked for after the renewal.
    @Test(arguments: Backend.allCases)
    func aRenewalsReceiptNamesTheYearItPaidFor(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let session = try await StaffSession.start(client, runtime)
            let post = session.post
            #expect(try await post("/api/v1/profiles", ["profileId": "r-1", "kind": "mediator", "displayName": "Rena", "contactEmail": "r-1@example.org"]).status == .created)
            #expect(try await post("/api/v1/profiles/r-1/certification", ["action": "grant", "reason": "assessed"]).status == .ok)
            let today = runtime.profiles.policy.calendar.date(at: runtime.now())
            let (first, renewal) = (today.addingDays(-300), today.addingDays(-10))
            func paid(on day: LocalDate) async throws -> String {
                let response = try await post("/api/v1/profiles/r-1/offline-payments", ["amount": "125.00", "date": day.description, "purpose": "listing"])
                #expect(response.status == .created, "\(response.text)")
                return try #require(response.headers[.location]?.split(separator: "/").last.map(String.init))
            }
            let (firstPayment, renewalPayment) = (try await paid(on: first), try await paid(on: renewal))
            func period(_ paymentID: String) async throws -> String {
                let response = try await client.execute(uri: "/api/v1/payments/\(paymentID)/receipts", method: .get, headers: session.headers)
                let documents = try JSONSerialization.jsonObject(with: Data(response.text.utf8)) as? [[String: Any]] ?? []
                return "\(documents.first?["periodFrom"] as? String ?? "-") to \(documents.first?["periodThrough"] as? String ?? "-")"
            }
            let yearAfter = first.addingMonths(12)
            #expect(try await period(renewalPayment) == "\(yearAfter) to \(yearAfter.addingMonths(12).addingDays(-1))")
            #expect(try await period(firstPayment) == "\(first) to \(yearAfter.addingDays(-1))")
        }
    }

    @Test(arguments: Backend.allCases)
    func aContributionGetsAReceiptAndAVoidACreditNoteThatRefersToIt(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let session = try await StaffSession.start(client, runtime)
            let staffKey = session.key
            let staff = session.headers
            let website = bearer(try await runtime.apiKeys.create(name: "Website", role: .website).key)
            let directory = bearer(try await runtime.apiKeys.create(name: "Directory", role: .directory).key)
            let post = session.post
            func documents(_ paymentID: String) async throws -> [[String: Any]] {
                let response = try await client.execute(uri: "/api/v1/payments/\(paymentID)/receipts", method: .get, headers: website)
                #expect(response.status == .ok, "\(response.text)")
                return try JSONSerialization.jsonObject(with: Data(response.text.utf8)) as? [[String: Any]] ?? []
            }
            for id in ["p-1", "p-2"] {
                #expect(try await post("/api/v1/profiles", ["profileId": id, "kind": "mediator", "displayName": "Ann <\(id)>", "contactEmail": "\(id)@example.org"]).status == .created)
                #expect(try await post("/api/v1/profiles/\(id)/certification", ["action": "grant", "reason": "assessed"]).status == .ok)
            }
            let today = runtime.profiles.policy.calendar.date(at: runtime.now())
            let year = today.year
            func location(_ response: TestResponse) throws -> String { try #require(response.headers[.location]?.split(separator: "/").last.map(String.init)) }
            let contribution = try location(try await post("/api/v1/profiles/p-1/offline-payments", ["amount": "125.00", "date": today.description, "purpose": "listing"]))
            let donation = try location(try await post("/api/v1/profiles/p-2/offline-payments", ["amount": "25.00", "date": today.description, "purpose": "donation"]))

            // A receipt each, numbered 1 and 2 of the year; asking again issues nothing new.
            let first = try await documents(contribution)
            #expect(first.map { $0["number"] as? String } == [ReceiptIssued.printedNumber(year: year, number: 1)])
            #expect(first.first?["payerName"] as? String == "Ann <p-1>" && first.first?["amount"] as? String == "125.00")
            #expect(first.first?["periodFrom"] as? String == today.description, "the listing period it paid for: \(first)")
            #expect(try await documents(contribution).count == 1)
            let gift = try await documents(donation)
            #expect(gift.map { $0["number"] as? String } == [ReceiptIssued.printedNumber(year: year, number: 2)])
            #expect(gift.first?["purpose"] as? String == "donation")

            // Voided: a credit note that refers to the receipt, with the next number.
            #expect(try await post("/api/v1/payments/\(contribution)/void", ["reason": "entered by mistake"]).status == .ok)
            let corrected = try await documents(contribution)
            #expect(corrected.count == 2)
            #expect(corrected.last?["kind"] as? String == "credit-note")
            #expect(corrected.last?["number"] as? String == ReceiptIssued.printedNumber(year: year, number: 3))
            #expect(corrected.last?["refersTo"] as? String == ReceiptIssued.printedNumber(year: year, number: 1))
            #expect((corrected.last?["reason"] as? String)?.contains("entered by mistake") == true)

            // Printable pages, for the website to mail a link to; text from people is escaped.
            let page = try await client.execute(uri: "/api/v1/receipts/\(ReceiptIssued.printedNumber(year: year, number: 1))?format=html", method: .get, headers: website)
            #expect(page.status == .ok)
            #expect(page.headers[.contentType] == "text/html; charset=utf-8")
            #expect(page.text.contains("Receipt \(ReceiptIssued.printedNumber(year: year, number: 1))") && page.text.contains("€125.00"))
            #expect(page.text.contains("Ann &lt;p-1&gt;") && !page.text.contains("Ann <p-1>"))
            #expect(page.text.contains("@page { size: A4"))
            let note = try await client.execute(uri: "/api/v1/receipts/\(ReceiptIssued.printedNumber(year: year, number: 3))?format=html", method: .get, headers: staff)
            #expect(note.text.contains("Credit note") && note.text.contains("cancels"))
            #expect(try await client.execute(uri: "/api/v1/receipts/\(year)-000099", method: .get, headers: website).status == .notFound)
            #expect(try await client.execute(uri: "/api/v1/receipts/not-a-number", method: .get, headers: website).status == .notFound)
            #expect(try await client.execute(uri: "/api/v1/payments/\(contribution)/receipts", method: .get, headers: directory).status == .forbidden)

            // A payment waiting for staff has no receipt yet, and says why.
            let xml = CamtStatementBuilder(statements: [.init(id: "RC-1", iban: "NL91ABNA0417164300", entries: [
                .init(date: today.description, bankReference: "RC-1", transactions: [.init(amount: "125.00", payerName: "Someone", text: "membership")]),
            ])]).xml
            #expect(try await client.execute(uri: "/api/v1/bank-statements", method: .post, headers: bearer(staffKey), body: ByteBuffer(string: xml)).status == .created)
            try await (runtime.store as? any EventStoreTestHooks)?.waitUntilAllCommittedEventsAreVisible()
            try await ProjectionRunner(store: runtime.store, projection: runtime.paymentViews).catchUp()
            let queue = try JSONSerialization.jsonObject(with: Data((try await client.execute(uri: "/api/v1/reconciliation/exceptions", method: .get, headers: staff)).text.utf8)) as? [[String: Any]] ?? []
            let held = try #require(queue.first?["paymentId"] as? String)
            let none = try await client.execute(uri: "/api/v1/payments/\(held)/receipts", method: .get, headers: website)
            #expect(none.status == .notFound && (none.json["detail"] as? String)?.contains("waits for a staff decision") == true, "\(none.text)")
        }
    }

    /// A payment voided before anyone asked for its receipt has none, and the 404 says so, not "it is not a
    /// contribution or a donation".
    @Test(arguments: Backend.allCases)
    func aPaymentVoidedBeforeItsReceiptSaysSo(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let session = try await StaffSession.start(client, runtime)
            try await session.certifiedProfile("vd-1")
            let paid = try await session.post("/api/v1/profiles/vd-1/offline-payments", ["amount": "125.00", "date": runtime.today.description, "purpose": "listing"])
            let paymentID = try #require(paid.headers[.location]?.split(separator: "/").last.map(String.init), "\(paid.text)")
            #expect(try await session.post("/api/v1/payments/\(paymentID)/void", ["reason": "entered twice"]).status == .ok)
            let none = try await session.get("/api/v1/payments/\(paymentID)/receipts")
            #expect(none.status == .notFound && (none.json["detail"] as? String)?.contains("it was voided before a receipt was asked for") == true, "\(none.text)")
        }
    }

    /// A donation in another currency (a transfer held as `currency-not-accepted`, resolved as a donation) gets a
    /// receipt in that currency, written with its code and never with the euro sign.
    @Test(arguments: Backend.allCases)
    func aReceiptInAnotherCurrencyNamesThatCurrency(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let session = try await StaffSession.start(client, runtime)
            try await session.certifiedProfile("usd-1")
            let xml = CamtStatementBuilder(statements: [.init(id: "USD-1", iban: "NL91ABNA0417164300", currency: "USD", entries: [
                .init(date: runtime.today.description, bankReference: "USD-1", transactions: [
                    .init(amount: "100.00", payerName: "Someone", structuredReference: CreditorReference.forDonation(by: try ProfileID("usd-1")).electronic),
                ]),
            ])]).xml
            let imported = try await client.execute(uri: "/api/v1/bank-statements", method: .post, headers: bearer(session.key), body: ByteBuffer(string: xml))
            #expect(imported.status == .created, "\(imported.text)")
            try await runtime.catchUpStaffViews()
            let queue = try JSONSerialization.jsonObject(with: Data(try await session.get("/api/v1/reconciliation/exceptions").text.utf8)) as? [[String: Any]] ?? []
            let held = try #require(queue.first?["paymentId"] as? String, "\(queue)")
            let resolved = try await session.post("/api/v1/reconciliation/exceptions/\(held)/resolve", ["resolution": "donation", "reason": "a gift in dollars"])
            #expect(resolved.status == .ok, "\(resolved.text)")
            let documents = try JSONSerialization.jsonObject(with: Data(try await session.get("/api/v1/payments/\(held)/receipts").text.utf8)) as? [[String: Any]] ?? []
            let number = try #require(documents.first?["number"] as? String, "\(documents)")
            let page = try await session.get("/api/v1/receipts/\(number)?format=html").text
            #expect(page.contains("100.00 USD") && !page.contains("€"), "\(page)")
        }
    }

    /// A payment moved to another profile and back: each move credits the receipt of the profile it leaves and
    /// receipts the profile it reaches, also one that had a receipt before (its money counts again).
    @Test(arguments: Backend.allCases)
    func aPaymentMovedBackGetsANewReceiptForTheProfileItCountsForAgain(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let session = try await StaffSession.start(client, runtime)
            let post = session.post
            try await Self.register(["mb-1", "mb-2"], session, certified: false)
            let today = runtime.profiles.policy.calendar.date(at: runtime.now())
            let paid = try await post("/api/v1/profiles/mb-1/offline-payments", ["amount": "125.00", "date": today.description, "purpose": "listing"])
            let paymentID = try #require(paid.headers[.location]?.split(separator: "/").last.map(String.init), "\(paid.text)")
            func documents() async throws -> [String] { try await Self.documents(of: paymentID, session, ["kind", "profileId", "amount"]) }
            #expect(try await documents() == ["receipt mb-1 125.00"])
            #expect(try await post("/api/v1/payments/\(paymentID)/reassign", ["fromProfileId": "mb-1", "toProfileId": "mb-2", "reason": "paid for her colleague"]).status == .ok)
            #expect(try await documents() == ["receipt mb-1 125.00", "credit-note mb-1 125.00", "receipt mb-2 125.00"])
            #expect(try await post("/api/v1/payments/\(paymentID)/reassign", ["fromProfileId": "mb-2", "toProfileId": "mb-1", "reason": "hers after all"]).status == .ok)
            #expect(try await documents() == [
                "receipt mb-1 125.00", "credit-note mb-1 125.00", "receipt mb-2 125.00", "credit-note mb-2 125.00", "receipt mb-1 125.00",
            ], "the money counts for mb-1 again, and a receipt says so")
            #expect(try await documents().count == 5, "asking again issues nothing new")
        }
    }

    /// A payment shared by several profiles gets a receipt for each profile's part, naming the profile and its
    /// payer (a split, decided by staff); part of a payment moved to another profile credits only that part of the
    /// first receipt and receipts the part where it went. Before, both got one receipt naming no one, and the
    /// part that stayed was credited too.
    @Test(arguments: Backend.allCases)
    func eachProfileOfASharedPaymentGetsAReceiptForItsPart(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let session = try await StaffSession.start(client, runtime)
            let post = session.post
            try await Self.register(["sp-1", "sp-2"], session, certified: true)
            func documents(_ paymentID: String) async throws -> [String] {
                try await Self.documents(of: paymentID, session, ["kind", "profileId", "payerName", "amount"])
            }
            let today = runtime.profiles.policy.calendar.date(at: runtime.now())
            let held = try await ConsoleTests.heldAfterImporting(runtime, .init(
                date: today.description, bankReference: "SPLIT-1", transactions: [.init(amount: "250.00", payerName: "Two Colleagues", text: "for both of us")]
            ))
            let split = try await post("/api/v1/reconciliation/exceptions/\(held.paymentId)/resolve", [
                "resolution": "split", "shares": [["profileId": "sp-1", "amount": "125.00"], ["profileId": "sp-2", "amount": "125.00"]], "reason": "two colleagues",
            ])
            #expect(split.status == .ok, "\(split.text)")
            #expect(try await documents(held.paymentId) == ["receipt sp-1 Mediator sp-1 125.00", "receipt sp-2 Mediator sp-2 125.00"])

            let paid = try await post("/api/v1/profiles/sp-1/offline-payments", ["amount": "250.00", "date": today.description, "purpose": "listing"])
            let paymentID = try #require(paid.headers[.location]?.split(separator: "/").last.map(String.init), "\(paid.text)")
            #expect(try await documents(paymentID) == ["receipt sp-1 Mediator sp-1 250.00"])
            let moved = try await post("/api/v1/payments/\(paymentID)/reassign", [
                "fromProfileId": "sp-1", "toProfileId": "sp-2", "amount": "125.00", "reason": "half was for her colleague",
            ])
            #expect(moved.status == .ok, "\(moved.text)")
            #expect(try await documents(paymentID) == [
                "receipt sp-1 Mediator sp-1 250.00", "credit-note sp-1 Mediator sp-1 125.00", "receipt sp-2 Mediator sp-2 125.00",
            ])
            #expect(try await documents(paymentID).count == 3, "asking again issues nothing new")
        }
    }

    /// A card payment partly refunded, then moved to another profile: the receipt of the profile it leaves is
    /// credited because the payment moved, and the credit note says so; the refund took only its own part,
    /// which the receipt left out already.
    @Test(arguments: Backend.allCases)
    func aPartlyRefundedPaymentMovedIsCreditedAsMoved(backend: Backend) async throws {
        try await CardWorld.run(backend) { world in
            try await world.certifiedProfile("pr-1")
            try await world.certifiedProfile("pr-2")
            let sessionID = try await world.checkout("pr-1")
            let payment = try world.provider.completeSession(sessionID)
            try await world.deliver(world.provider.checkoutSessionCompletedEvent(sessionID))
            world.provider.refundOutOfBand(payment.paymentIntentID, amount: Money(minorUnits: 100, currency: "EUR"))
            try await world.deliver(world.provider.chargeRefundedEvent(payment.paymentIntentID))
            let paymentID = "card-\(payment.paymentIntentID)"
            func documents() async throws -> [String] {
                try await Self.documents(of: paymentID, world.client, world.staff, ["kind", "profileId", "amount", "reason"])
            }
            #expect(try await documents() == ["receipt pr-1 124.00 -"])
            let moved = try await world.client.execute(
                uri: "/api/v1/payments/\(paymentID)/reassign", method: .post, headers: world.staff,
                body: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: ["fromProfileId": "pr-1", "toProfileId": "pr-2", "reason": "paid for her colleague"]))
            )
            #expect(moved.status == .ok, "\(moved.text)")
            #expect(try await documents() == [
                "receipt pr-1 124.00 -", "credit-note pr-1 124.00 moved to pr-2: paid for her colleague", "receipt pr-2 124.00 -",
            ])
        }
    }

    /// Money refunded before part of a payment moved stays with the profile it was taken from: the part that moved
    /// is receipted whole where it went, and the first receipt is credited for it as moved. A payment split
    /// between two profiles, part of one moved to a third and the rest refunded in part, keeps each credit note's
    /// reason.
    @Test(arguments: Backend.allCases)
    func aRefundBeforeAPartIsMovedStaysWithTheProfileItWasTakenFrom(backend: Backend) async throws {
        try await CardWorld.run(backend) { world in
            for id in ["rm-1", "rm-2"] { try await world.certifiedProfile(id) }
            let sessionID = try await world.checkout("rm-1")
            let payment = try world.provider.completeSession(sessionID)
            try await world.deliver(world.provider.checkoutSessionCompletedEvent(sessionID))
            let paymentID = "card-\(payment.paymentIntentID)"
            func documents() async throws -> [String] {
                try await Self.documents(of: paymentID, world.client, world.staff, ["kind", "profileId", "amount", "reason"])
            }
            #expect(try await documents() == ["receipt rm-1 125.00 -"])
            world.provider.refundOutOfBand(payment.paymentIntentID, amount: Money(minorUnits: 2_500, currency: "EUR"))
            try await world.deliver(world.provider.chargeRefundedEvent(payment.paymentIntentID))
            #expect(try await documents() == ["receipt rm-1 125.00 -", "credit-note rm-1 25.00 refunded"])
            let moved = try await world.post("/api/v1/payments/\(paymentID)/reassign", world.staff, [
                "fromProfileId": "rm-1", "toProfileId": "rm-2", "amount": "100.00", "reason": "paid for her colleague",
            ])
            #expect(moved.status == .ok, "\(moved.text)")
            #expect(try await documents() == [
                "receipt rm-1 125.00 -", "credit-note rm-1 25.00 refunded",
                "credit-note rm-1 100.00 moved to rm-2: paid for her colleague", "receipt rm-2 100.00 -",
            ])
        }
    }

    /// A payment shared by two profiles whose receipt was issued before receipts were made per profile (one
    /// receipt naming no profile) is reissued: that receipt is credited, saying so, and each profile gets its own.
    @Test(arguments: Backend.allCases)
    func aSharedPaymentsReceiptNamingNoProfileIsReissuedPerProfile(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let session = try await StaffSession.start(client, runtime)
            try await Self.register(["rs-1", "rs-2"], session, certified: true)
            let today = runtime.profiles.policy.calendar.date(at: runtime.now())
            let held = try await ConsoleTests.heldAfterImporting(runtime, .init(
                date: today.description, bankReference: "SPLIT-OLD", transactions: [.init(amount: "250.00", payerName: "Two Colleagues", text: "for both of us")]
            ))
            let split = try await session.post("/api/v1/reconciliation/exceptions/\(held.paymentId)/resolve", [
                "resolution": "split", "shares": [["profileId": "rs-1", "amount": "125.00"], ["profileId": "rs-2", "amount": "125.00"]], "reason": "two colleagues",
            ])
            #expect(split.status == .ok, "\(split.text)")
            // The receipt as it was issued before: the whole payment, no profile.
            let year = today.year
            let paymentID = PaymentID(rawValue: held.paymentId)
            let old = ReceiptIssued(
                kind: .receipt, year: year, number: 1, paymentID: paymentID, refersTo: nil, profileID: nil, payerName: nil,
                amount: Money(minorUnits: 25_000, currency: "EUR"), method: .bank, purpose: .listing, paymentDate: today,
                periodFrom: nil, periodThrough: nil, reason: nil, occurredAt: runtime.now()
            )
            _ = try await runtime.store.append([
                StreamAppend(stream: ReceiptIssued.yearStream(year), events: [NewEvent(id: .timeOrdered(), type: ReceiptIssued.typeName, data: try old.encodedData(), metadata: .init(actor: "test"))], expecting: .noStream),
                StreamAppend(stream: ReceiptIssued.paymentStream(paymentID), events: [NewEvent(id: .timeOrdered(), type: ReceiptIssued.typeName, data: try old.encodedData(), metadata: .init(actor: "test"))], expecting: .noStream),
            ])
            #expect(try await Self.documents(of: held.paymentId, session, ["kind", "profileId", "amount", "reason"]) == [
                "receipt - 250.00 -", "credit-note - 250.00 reissued as one receipt for each profile's part", "receipt rs-1 125.00 -", "receipt rs-2 125.00 -",
            ])
        }
    }

    /// Registers mediators named "Mediator <id>" through the API, certified if asked.
    static func register(_ ids: [String], _ session: StaffSession, certified: Bool) async throws {
        for id in ids {
            #expect(try await session.post("/api/v1/profiles", ["profileId": id, "kind": "mediator", "displayName": "Mediator \(id)", "contactEmail": "\(id)@example.org"]).status == .created)
            if certified { #expect(try await session.post("/api/v1/profiles/\(id)/certification", ["action": "grant", "reason": "assessed"]).status == .ok) }
        }
    }

    /// The payment's documents, oldest first, each as its `fields` joined by spaces ("-" for one it lacks).
    static func documents(of paymentID: String, _ session: StaffSession, _ fields: [String]) async throws -> [String] {
        try await documents(of: paymentID, session.client, session.headers, fields)
    }

    /// The same, asked with `headers` (a staff key's).
    static func documents(of paymentID: String, _ client: any TestClientProtocol, _ headers: HTTPFields, _ fields: [String]) async throws -> [String] {
        let answer = try await client.execute(uri: "/api/v1/payments/\(paymentID)/receipts", method: .get, headers: headers)
        #expect(answer.status == .ok, "\(answer.text)")
        let list = try JSONSerialization.jsonObject(with: Data(answer.text.utf8)) as? [[String: Any]] ?? []
        return list.map { document in fields.map { document[$0] as? String ?? "-" }.joined(separator: " ") }
    }

    /// Two instances of the service issuing receipts for the same payments at the same time: every payment gets
    /// exactly one receipt, and the numbers are 1 to N, none missing, none twice.
    @Test(arguments: Backend.allCases)
    func twoInstancesIssuingAtOnceLeaveNoGapAndNoRepeat(backend: Backend) async throws {
        let url = try await TestDatabase.freshURL(backend)
        let first = try await TestRuntime.open(url)
        let second = try await TestRuntime.open(url)
        do {
            let today = first.profiles.policy.calendar.date(at: first.now())
            var paymentIDs: [PaymentID] = []
            for index in 0..<24 {
                let profileID = try ProfileID("n-\(index)")
                _ = try await first.profiles.handle(.register(kind: .mediator, displayName: "N \(index)", contactEmail: "n\(index)@example.org"), profileID: profileID, metadata: .init(actor: "test"))
                let (paymentID, _) = try await first.profiles.recordOfflinePayment(
                    profileID: profileID, amount: .euros(minorUnits: 12_500), date: today, purpose: .listing, note: "", metadata: .init(actor: "test"), idempotencyKey: nil
                )
                paymentIDs.append(paymentID)
            }
            let issued = try await withThrowingTaskGroup(of: [ReceiptIssued].self) { group in
                for paymentID in paymentIDs {
                    for runtime in [first, second] {
                        group.addTask { try await runtime.receipts.documents(for: paymentID, metadata: .init(actor: "test")) }
                    }
                }
                var all: [ReceiptIssued] = []
                for try await documents in group { all += documents }
                return all
            }
            // Both instances answered for every payment, with the same single receipt.
            let byPayment = Dictionary(grouping: issued, by: \.paymentID)
            #expect(byPayment.count == paymentIDs.count)
            #expect(byPayment.values.allSatisfy { Set($0.map(\.number)).count == 1 }, "a payment got two receipts")
            let numbers = byPayment.values.compactMap(\.first?.number).sorted()
            #expect(numbers == Array(1...Int64(paymentIDs.count)), "\(numbers)")
        } catch {
            await first.close()
            await second.close()
            throw error
        }
        await first.close()
        await second.close()
    }
}
