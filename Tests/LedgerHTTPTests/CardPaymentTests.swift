import AsyncHTTPClient
import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LedgerCore
import LedgerHTTP
import LedgerService
import NIOCore
import Payments
import NIOFoundationCompat
import TestSupport
import Testing

private let secretKey = "sk_test_listing_ledger"
private let webhookSecret = "whsec_test_current"

/// A running service wired to a running card provider stand-in, with a staff and a website key.
struct CardWorld: Sendable {
    let client: any TestClientProtocol
    let runtime: LedgerRuntime
    let provider: CardProviderStandIn
    let staff: HTTPFields
    let website: HTTPFields

    var webhookURL: String { "http://127.0.0.1:\(client.port ?? 0)/webhooks/card" }

    static func run(
        _ backend: Backend, webhookSecrets: [String] = [webhookSecret], timeoutSeconds: Int = 10, now: @escaping @Sendable () -> Date = { Date() },
        settings: [String: String] = [:], _ body: @Sendable (CardWorld) async throws -> Void
    ) async throws {
        let provider = try await CardProviderStandIn.start(secretKey: secretKey, webhookSecrets: [webhookSecret], now: now)
        let runtime: LedgerRuntime
        do {
            runtime = try await TestRuntime.make(backend, settings: [
                "card.secret_key": secretKey, "card.api_base_url": provider.baseURL,
                "card.webhook_secrets": webhookSecrets.joined(separator: ","), "card.timeout_seconds": String(timeoutSeconds),
            ].merging(settings) { _, given in given }, now: now)
        } catch {
            await provider.stop()
            throw error
        }
        do {
            let staffKey = try await runtime.apiKeys.create(name: "Anna", role: .staff).key
            let websiteKey = try await runtime.apiKeys.create(name: "Website", role: .website).key
            try await buildApplication(runtime: runtime).test(.live) { client in
                var staff = bearer(staffKey)
                staff[.contentType] = "application/json"
                var website = bearer(websiteKey)
                website[.contentType] = "application/json"
                try await body(CardWorld(client: client, runtime: runtime, provider: provider, staff: staff, website: website))
            }
        } catch {
            await runtime.close()
            await provider.stop()
            throw error
        }
        await runtime.close()
        await provider.stop()
    }

    func post(_ uri: String, _ headers: HTTPFields, _ object: [String: Any]) async throws -> TestResponse {
        try await client.execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: object)))
    }

    func get(_ uri: String) async throws -> TestResponse {
        try await client.execute(uri: uri, method: .get, headers: staff)
    }

    /// A certified profile whose listing was paid by a checkout the provider reported completed.
    func paidListing(_ id: String) async throws -> StandInPayment {
        try await certifiedProfile(id)
        let session = try await checkout(id)
        let paid = try provider.completeSession(session)
        try await deliver(provider.checkoutSessionCompletedEvent(session))
        return paid
    }

    /// Registers and certifies a profile.
    func certifiedProfile(_ id: String) async throws {
        let registered = try await post("/api/v1/profiles", staff, [
            "profileId": id, "kind": "mediator", "displayName": "Grace Hopper", "contactEmail": "grace@example.org",
        ])
        #expect(registered.status == .created)
        let certified = try await post("/api/v1/profiles/\(id)/certification", staff, ["action": "grant", "reason": "assessed"])
        #expect(certified.status == .ok)
    }

    /// Starts a checkout and returns the provider's session id.
    func checkout(_ profileID: String, purpose: String = "listing", amount: String? = nil) async throws -> String {
        var body: [String: Any] = [
            "method": "card", "purpose": purpose,
            "successUrl": "https://imi.example/paid", "cancelUrl": "https://imi.example/cancelled",
        ]
        body["amount"] = amount
        let response = try await post("/api/v1/profiles/\(profileID)/checkout", website, body)
        #expect(response.status == .created, "\(response.text)")
        let checkoutID = try #require(response.json["checkoutId"] as? String)
        #expect(response.json["redirectUrl"] as? String == "\(provider.baseURL)/pay/\(checkoutID)")
        return checkoutID
    }

    /// Certifies a profile and has it pay 125.00 by card (the checkout completed and delivered); returns the
    /// payment intent's id.
    func paidByCard(_ profileID: String) async throws -> String {
        try await certifiedProfile(profileID)
        let sessionID = try await checkout(profileID)
        let paymentIntentID = try provider.completeSession(sessionID).paymentIntentID
        _ = try await deliver(provider.checkoutSessionCompletedEvent(sessionID))
        return paymentIntentID
    }

    /// The card payment's documents, issuing those due: kind and amount of each, in the order issued.
    func documents(_ paymentIntentID: String) async throws -> [String] {
        let answer = try await client.execute(uri: "/api/v1/payments/card-\(paymentIntentID)/receipts", method: .get, headers: website)
        #expect(answer.status == .ok, "\(answer.text)")
        let list = try JSONSerialization.jsonObject(with: Data(answer.text.utf8)) as? [[String: Any]] ?? []
        return list.map { "\($0["kind"] as? String ?? "?") \($0["amount"] as? String ?? "?")" }
    }

    /// Delivers an event and expects it acknowledged.
    @discardableResult
    func deliver(_ event: StandInEvent) async throws -> [String: Any] {
        let (status, body) = try await provider.deliver(event, to: webhookURL)
        #expect(status == 200, "\(event.type): \(body)")
        return (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:]
    }

    /// What the ledger ends up saying: the listing, the payment, and the event types of both streams.
    func books(_ profileID: String, payment: String) async throws -> Books {
        let listing = try await get("/api/v1/profiles/\(profileID)/listing")
        let paymentView = try await get("/api/v1/payments/card-\(payment)")
        let profileTypes = try await runtime.store.readStream("profile-\(profileID)", fromVersion: 1, limit: 100).map(\.type)
        let paymentTypes = try await runtime.store.readStream("payment-card-\(payment)", fromVersion: 1, limit: 100).map(\.type)
        return Books(
            listed: listing.json["visible"] as? Bool ?? false,
            status: listing.json["status"] as? String ?? "",
            reason: listing.json["reason"] as? String,
            paymentStatus: paymentView.json["status"] as? String ?? "",
            amount: paymentView.json["amount"] as? String,
            refunded: paymentView.json["refunded"] as? String ?? "",
            allocation: paymentView.json["allocation"] as? String,
            allocations: profileTypes.filter { $0.hasPrefix("Contribution") || $0.hasPrefix("Allocation") },
            paymentEvents: paymentTypes.sorted()
        )
    }
}

/// The parts of the ledger that must not depend on delivery order or duplication.
struct Books: Equatable {
    var listed: Bool
    var status: String
    var reason: String?
    var paymentStatus: String
    var amount: String?
    var refunded: String
    var allocation: String?
    var allocations: [String]
    var paymentEvents: [String]
}

@Suite("Card payments end to end")
struct CardPaymentTests {
    /// The key a checkout carries to the provider names the whole request: the same caller's key with another
    /// amount (a first attempt whose answer never reached the caller, then corrected) is a new checkout, not a
    /// provider error; with the same request it is the same checkout.
    @Test
    func aCheckoutKeySentAgainWithAnotherAmountIsANewCheckout() async throws {
        try await CardWorld.run(.sqlite) { world in
            try await world.certifiedProfile("grace-1")
            func start(_ amount: Int64) async throws -> CheckoutStarted {
                let request = CheckoutRequest(
                    profileID: try ProfileID("grace-1"), purpose: .donation, donationAmount: Money(minorUnits: amount, currency: "EUR"),
                    successURL: "https://imi.example/paid", cancelURL: "https://imi.example/"
                )
                return try await world.runtime.card.startCheckout(request, idempotencyKey: "donate-1", metadata: EventMetadata(actor: "test"))
            }
            let first = try await start(2_500)
            let corrected = try await start(3_000)
            let again = try await start(2_500)
            #expect(corrected.checkoutID != first.checkoutID)
            #expect(corrected.amount == Money(minorUnits: 3_000, currency: "EUR"))
            #expect(again.checkoutID == first.checkoutID)
            #expect(world.provider.createdSessions.count == 2)
        }
    }

    @Test(arguments: Backend.allCases)
    func checkoutPaidWebhookListsAndRefundHides(backend: Backend) async throws {
        try await CardWorld.run(backend) { world in
            try await world.certifiedProfile("grace-1")
            let sessionID = try await world.checkout("grace-1")
            let session = try #require(world.provider.createdSessions.first { $0.id == sessionID })
            #expect(session.fields["client_reference_id"] == "listing:grace-1")
            #expect(session.fields["payment_intent_data[metadata][profile_id]"] == "grace-1")
            #expect(session.fields["line_items[0][price_data][unit_amount]"] == "12500")
            #expect(session.fields["line_items[0][price_data][currency]"] == "eur")
            #expect(session.idempotencyKey?.isEmpty == false)
            let recorded = try await world.runtime.store.readStream("checkout-card-\(sessionID)", fromVersion: 1, limit: 10)
            #expect(recorded.map(\.type) == ["CheckoutStarted"])

            let completed = world.provider.checkoutSessionCompletedEvent(sessionID)
            let paymentIntentID = try world.provider.completeSession(sessionID).paymentIntentID
            let ack = try await world.deliver(completed)
            #expect(ack["duplicate"] as? Bool == false)

            let listed = try await world.get("/api/v1/profiles/grace-1/listing")
            #expect(listed.json["visible"] as? Bool == true)
            let basis = try #require(listed.json["basis"] as? [String: Any])
            #expect(basis["paymentIDs"] as? [String] == ["card-\(paymentIntentID)"])

            let refund = try await world.post("/api/v1/payments/card-\(paymentIntentID)/refund", world.staff, [:])
            #expect(refund.status == .accepted, "\(refund.text)")
            #expect(world.provider.createdRefunds.map(\.paymentIntentID) == [paymentIntentID])
            #expect(world.provider.createdRefunds.first?.idempotencyKey?.isEmpty == false)
            // Listed until the provider confirms.
            #expect(try await world.get("/api/v1/profiles/grace-1/listing").json["visible"] as? Bool == true)

            try await world.deliver(world.provider.chargeRefundedEvent(paymentIntentID))
            let hidden = try await world.get("/api/v1/profiles/grace-1/listing")
            #expect(hidden.json["visible"] as? Bool == false)
            #expect(hidden.json["reason"] as? String == "refunded")

            let changes = try await world.runtime.profiles.load(try ProfileID("grace-1")).state.publishedHistory
            #expect(changes.map(\.visible) == [true, false])
            #expect(changes.last?.reason == .refunded)
        }
    }

    /// The longest ids a card event may carry (`evt_` and 200 more, an object id of 200) are recorded, their
    /// streams within the event store's 256-byte names, and pay for the listing; one byte longer is refused as
    /// malformed and writes nothing.
    @Test(arguments: Backend.allCases)
    func theLongestIdsACardEventMayCarryAreRecorded(backend: Backend) async throws {
        try await CardWorld.run(backend) { world in
            try await world.certifiedProfile("long-1")
            let sessionID = try await world.checkout("long-1")
            let completed = world.provider.checkoutSessionCompletedEvent(sessionID)
            func rewritten(eventID: String, paymentIntentID: String) throws -> StandInEvent {
                var envelope = try #require(try JSONSerialization.jsonObject(with: completed.body) as? [String: Any])
                var data = try #require(envelope["data"] as? [String: Any])
                var object = try #require(data["object"] as? [String: Any])
                object["payment_intent"] = paymentIntentID
                data["object"] = object
                envelope["data"] = data
                envelope["id"] = eventID
                return StandInEvent(id: eventID, type: completed.type, body: try JSONSerialization.data(withJSONObject: envelope))
            }
            let longest = "pi_" + String(repeating: "p", count: 197)
            for (eventID, paymentIntentID) in [("evt_" + String(repeating: "e", count: 201), longest), ("evt_long_2", longest + "p")] {
                let (status, body) = try await world.provider.deliver(try rewritten(eventID: eventID, paymentIntentID: paymentIntentID), to: world.webhookURL)
                #expect(status == 400 && body.contains("malformed-event"), "\(body)")
            }
            #expect(try await world.get("/api/v1/profiles/long-1/listing").json["visible"] as? Bool == false)

            let eventID = "evt_" + String(repeating: "e", count: 200)
            let ack = try await world.deliver(try rewritten(eventID: eventID, paymentIntentID: longest))
            #expect(ack["eventId"] as? String == eventID && ack["duplicate"] as? Bool == false, "\(ack)")
            #expect(try await world.runtime.store.readStream("inbox-card-\(eventID)", fromVersion: 1, limit: 1).count == 1)
            #expect(try await world.get("/api/v1/profiles/long-1/listing").json["visible"] as? Bool == true)
            #expect(try await world.get("/api/v1/payments/card-\(longest)").status == .ok)
        }
    }

    /// A refund's body is read as strictly as every other: a misspelt field, a repeated one or a body that is not
    /// JSON is refused before anything is recorded or asked of the provider (a misspelt `"ammount"` would
    /// otherwise refund the whole payment); no body at all is still a refund of all that remains.
    @Test(arguments: Backend.allCases)
    func aRefundBodyIsReadStrictly(backend: Backend) async throws {
        try await CardWorld.run(backend) { world in
            let paymentIntentID = try await world.paidByCard("strict-1")
            let uri = "/api/v1/payments/card-\(paymentIntentID)/refund"
            func send(_ body: String, contentType: String = "application/json") async throws -> TestResponse {
                var headers = world.staff
                headers[.contentType] = contentType
                return try await world.client.execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: body))
            }
            let misspelt = try await send(#"{"ammount":"25.00"}"#)
            #expect(misspelt.status == .badRequest && misspelt.text.contains("ammount"), "\(misspelt.text)")
            let repeated = try await send(#"{"amount":"25.00","amount":"125.00"}"#)
            #expect(repeated.status == .badRequest, "\(repeated.text)")
            let text = try await send("amount=25.00", contentType: "text/plain")
            #expect(text.status == .unsupportedMediaType, "\(text.text)")
            #expect(world.provider.createdRefunds.isEmpty, "nothing was asked of the provider")
            let recorded = try await world.runtime.store.readStream("payment-card-\(paymentIntentID)", fromVersion: 1, limit: 100).map(\.type)
            #expect(!recorded.contains { $0.contains("Refund") }, "\(recorded)")

            let whole = try await send("")
            #expect(whole.status == .accepted && whole.json["amount"] as? String == "125.00", "\(whole.text)")
            #expect(world.provider.createdRefunds.count == 1)
        }
    }

    /// A refund the card issuer refuses after the provider reported it (`refund.failed`, and the charge's running
    /// total falls back): the money stayed with us, so the payment counts again and the profile is listed again;
    /// a new refund of the same amount hides it again.
    @Test(arguments: Backend.allCases)
    func aRefundThatFailsListsTheProfileAgain(backend: Backend) async throws {
        // The issuer refuses the refund days later: the provider's clock and ours move on between the steps.
        let clock = Mutex(Date())
        try await CardWorld.run(backend, now: { clock.withLock { $0 } }) { world in
            func daysPass(_ days: Int) { clock.withLock { $0 += TimeInterval(days * 86_400) } }
            let paymentIntentID = try await world.paidByCard("fail-1")
            func refund() async throws {
                let asked = try await world.post("/api/v1/payments/card-\(paymentIntentID)/refund", world.staff, [:])
                #expect(asked.status == .accepted, "\(asked.text)")
                try await world.deliver(world.provider.chargeRefundedEvent(paymentIntentID))
            }
            func listing() async throws -> (visible: Bool?, refunded: String?) {
                let listing = try await world.get("/api/v1/profiles/fail-1/listing")
                let payment = try await world.get("/api/v1/payments/card-\(paymentIntentID)")
                return (listing.json["visible"] as? Bool, payment.json["refunded"] as? String)
            }
            func documents() async throws -> [String] { try await world.documents(paymentIntentID) }
            #expect(try await documents() == ["receipt 125.00"])
            try await refund()
            #expect(try await listing() == (false, "125.00"))
            #expect(try await documents() == ["receipt 125.00", "credit-note 125.00"])

            daysPass(2)
            try await world.deliver(world.provider.refundFailedEvent(paymentIntentID))
            #expect(try await listing() == (true, "0.00"))
            #expect(try await documents() == ["receipt 125.00", "credit-note 125.00", "receipt 125.00"], "the money counts again, and a receipt says so")
            let profile = try await world.runtime.profiles.load(try ProfileID("fail-1")).state
            #expect(profile.publishedHistory.map(\.visible) == [true, false, true])

            daysPass(1)
            try await refund()
            #expect(try await listing() == (false, "125.00"))
            #expect(world.provider.createdRefunds.count == 2)
            #expect(try await documents() == ["receipt 125.00", "credit-note 125.00", "receipt 125.00", "credit-note 125.00"])
        }
    }

    /// Part of a payment refunded, then the refund fails: the credit note took back that part, and a receipt of
    /// that part says it counts again; the first receipt still stands for the rest, and asking again issues nothing.
    @Test(arguments: Backend.allCases)
    func aPartRefundThatFailsGetsAReceiptForThatPart(backend: Backend) async throws {
        try await CardWorld.run(backend) { world in
            let paymentIntentID = try await world.paidByCard("part-1")
            #expect(try await world.documents(paymentIntentID) == ["receipt 125.00"])
            let asked = try await world.post("/api/v1/payments/card-\(paymentIntentID)/refund", world.staff, ["amount": "25.00"])
            #expect(asked.status == .accepted, "\(asked.text)")
            try await world.deliver(world.provider.chargeRefundedEvent(paymentIntentID))
            let credited = try await world.documents(paymentIntentID)
            #expect(credited == ["receipt 125.00", "credit-note 25.00"], "\(credited)")
            try await world.deliver(world.provider.refundFailedEvent(paymentIntentID))
            let again = try await world.documents(paymentIntentID)
            #expect(again == ["receipt 125.00", "credit-note 25.00", "receipt 25.00"], "\(again)")
            let still = try await world.documents(paymentIntentID)
            #expect(still == again, "asking again issues nothing")
        }
    }

    /// The card provider counts yen in whole units, as the ledger does (ISO 4217 minor units): a card payment of
    /// ¥1,000 (`1000`) reads as 1000 JPY, is held (a listing is paid in euros), and refunded whole; the same
    /// amount by bank transfer reads the same.
    @Test(arguments: Backend.allCases)
    func yenReadAsYenByCardAndByBankTransfer(backend: Backend) async throws {
        try await CardWorld.run(backend) { world in
            let paymentIntentID = try await Self.paidInYen(world, "yen-1")
            #expect(world.provider.createdSessions.last?.fields["line_items[0][price_data][unit_amount]"] == "1000")
            let payment = try await world.get("/api/v1/payments/card-\(paymentIntentID)")
            #expect(payment.json["amount"] as? String == "1000" && payment.json["currency"] as? String == "JPY", "\(payment.text)")
            #expect((payment.json["held"] as? [String: Any])?["reason"] as? String == "the payment is 1000 JPY; only EUR is accepted", "\(payment.text)")

            let back = try await world.post("/api/v1/payments/card-\(paymentIntentID)/refund", world.staff, [:])
            #expect(back.status == .accepted && back.json["amount"] as? String == "1000", "\(back.text)")
            try await world.deliver(world.provider.chargeRefundedEvent(paymentIntentID))
            #expect(try await world.get("/api/v1/payments/card-\(paymentIntentID)").json["refunded"] as? String == "1000")

            let statement = try CamtStatementBuilder(statements: [.init(id: "YEN-1", iban: "NL91ABNA0417164300", currency: "JPY", openingCents: 0, entries: [
                .init(date: "2026-03-02", bankReference: "YEN-A", transactions: [.init(amount: "1000", payerName: "Ken", text: "for the listing")]),
            ])]).write()
            _ = try await world.runtime.bankImport.importFile(statement, metadata: .init(actor: "test"))
            try await world.runtime.catchUpStaffViews()
            let held = try await world.runtime.paymentExceptions.list(includeResolved: false, limit: 10, offset: 0).filter { $0.method == "bank" }
            #expect(held.map(\.details) == ["2026-03-02 1000 JPY: Ken · for the listing"], "\(held)")
            try await (world.runtime.store as? any EventStoreTestHooks)?.waitUntilAllCommittedEventsAreVisible()
            try await ProjectionGroupRunner(store: world.runtime.store, projections: world.runtime.projectionRunners.map(\.projection)).catchUp()
            let journal = try await world.get("/api/v1/books/journal?format=beancount")
            #expect(journal.text.contains(" 1000 JPY") && !journal.text.contains("10.00 JPY"), "\(journal.text)")
            let checked = try BooksTests.beanCheck(journal.text)
            #expect(checked.status == 0, "bean-check refused the export: \(checked.output)\n\(journal.text)")
            let trial = try await world.get("/api/v1/books/trial-balance?date=2026-03-02")
            #expect(trial.text.contains(#""account":"Assets:Bank","balance":"1000","currency":"JPY""#), "\(trial.text)")
        }
    }

    /// Part of a yen payment is refunded in yen: the amount asked for is read in the payment's own currency, by
    /// the API and by the console, and one with decimals yen does not have is refused without asking the provider.
    @Test(arguments: Backend.allCases)
    func partOfAYenPaymentIsRefundedInYen(backend: Backend) async throws {
        try await CardWorld.run(backend) { world in
            let paymentIntentID = try await Self.paidInYen(world, "yen-2")
            let refusals: [(Any, HTTPResponse.Status, String)] = [
                ("400.50", .unprocessableContent, "'400.50' has decimals; JPY has none"),
                ("1001", .conflict, "1001 JPY cannot be refunded: 1000 JPY of 1000 JPY remains"),
                // Null is no amount given: refused, not taken for "all that remains".
                (NSNull(), .badRequest, "amount is null; give an amount, or leave the field out"),
            ]
            for (amount, status, detail) in refusals {
                let refused = try await world.post("/api/v1/payments/card-\(paymentIntentID)/refund", world.staff, ["amount": amount])
                #expect(refused.status == status && refused.text.contains(detail), "\(refused.text)")
            }
            #expect(world.provider.createdRefunds.isEmpty)
            let part = try await world.post("/api/v1/payments/card-\(paymentIntentID)/refund", world.staff, ["amount": "400"])
            #expect(part.status == .accepted && part.json["amount"] as? String == "400" && part.json["currency"] as? String == "JPY", "\(part.text)")
            #expect(world.provider.createdRefunds.map(\.amount) == [Money(minorUnits: 400, currency: "JPY")])

            _ = try await world.runtime.staffUsers.add(name: "Anna Berger", email: "anna@example.org", password: ConsoleTests.password)
            let anna = ConsoleTests.Browser(world.client)
            try await anna.signIn("anna@example.org")
            let page = try await anna.send("/console/payments/card-\(paymentIntentID)").text
            #expect(page.contains("Amount in JPY (empty: all of it)"), "\(page)")
            let key = try #require(ConsoleTests.hidden("refundKey", in: page))
            let odd = try await anna.post("/console/payments/card-\(paymentIntentID)/refund", ["amount": "1.5", "refundKey": key])
            #expect(odd.status == .unprocessableContent && odd.text.contains("has decimals; JPY has none"), "\(odd.text)")
            let sent = try await anna.post("/console/payments/card-\(paymentIntentID)/refund", ["amount": "600", "refundKey": key])
            #expect(sent.status == .seeOther, "\(sent.text)")
            #expect(world.provider.createdRefunds.map(\.amount.minorUnits) == [400, 600])
        }
    }

    /// The card provider counts krónur in hundredths and ariary in whole units, the reverse of ISO 4217, which the
    /// ledger follows: a payment of 12,500 ISK is asked for and reported as `1250000`, and reads as 12500 ISK; one
    /// of 500.00 MGA as `500`. Refunds are sent as the provider counts, and a fraction of an ariary, which the
    /// provider cannot be sent, is refused without asking it.
    @Test(arguments: Backend.allCases)
    func kronurAndAriaryAreCountedAsTheProviderCountsThem(backend: Backend) async throws {
        try await CardWorld.run(backend) { world in
            let kronur = try await Self.paidIn(world, "isk-1", amount: Money(minorUnits: 12_500, currency: "ISK"))
            #expect(world.provider.createdSessions.last?.fields["line_items[0][price_data][unit_amount]"] == "1250000")
            let payment = try await world.get("/api/v1/payments/card-\(kronur)")
            #expect(payment.json["amount"] as? String == "12500" && payment.json["currency"] as? String == "ISK", "\(payment.text)")
            let part = try await world.post("/api/v1/payments/card-\(kronur)/refund", world.staff, ["amount": "500"])
            #expect(part.status == .accepted && part.json["amount"] as? String == "500", "\(part.text)")
            let rest = try await world.post("/api/v1/payments/card-\(kronur)/refund", world.staff, [:])
            #expect(rest.status == .accepted && rest.json["amount"] as? String == "12000", "\(rest.text)")
            #expect(world.provider.createdRefunds.map(\.amount.minorUnits) == [50_000, 1_200_000])
            try await world.deliver(world.provider.chargeRefundedEvent(kronur))
            #expect(try await world.get("/api/v1/payments/card-\(kronur)").json["refunded"] as? String == "12500")

            let ariary = try await Self.paidIn(world, "mga-1", amount: Money(minorUnits: 50_000, currency: "MGA"))
            #expect(world.provider.createdSessions.last?.fields["line_items[0][price_data][unit_amount]"] == "500")
            let view = try await world.get("/api/v1/payments/card-\(ariary)")
            #expect(view.json["amount"] as? String == "500.00" && view.json["currency"] as? String == "MGA", "\(view.text)")
            let fraction = try await world.post("/api/v1/payments/card-\(ariary)/refund", world.staff, ["amount": "100.50"])
            #expect(fraction.status == .unprocessableContent && fraction.text.contains("MGA in whole units only"), "\(fraction.text)")
            let whole = try await world.post("/api/v1/payments/card-\(ariary)/refund", world.staff, ["amount": "100"])
            #expect(whole.status == .accepted && whole.json["amount"] as? String == "100.00", "\(whole.text)")
            #expect(world.provider.createdRefunds.map(\.amount.minorUnits) == [50_000, 1_200_000, 100])
        }
    }

    /// A certified profile's card payment of ¥1,000, from a session created the way the ledger's own client creates
    /// one (the ledger itself only asks for euros); answers its payment intent.
    static func paidInYen(_ world: CardWorld, _ profile: String) async throws -> String {
        try await paidIn(world, profile, amount: Money(minorUnits: 1_000, currency: "JPY"))
    }

    /// A certified profile's card payment of `amount`, from a session created the way the ledger's own client
    /// creates one; answers its payment intent.
    static func paidIn(_ world: CardWorld, _ profile: String, amount: Money) async throws -> String {
        try await world.certifiedProfile(profile)
        let client = CardProviderClient(configuration: CardProviderConfiguration(baseURL: world.provider.baseURL, secretKey: secretKey), httpClient: .shared)
        let session = try await client.createCheckoutSession(
            CheckoutSessionRequest(
                reference: CardReference(profileID: try ProfileID(profile), purpose: .listing), amount: amount,
                productName: "Listing", successURL: "https://imi.example/paid", cancelURL: "https://imi.example/cancelled"
            ),
            idempotencyKey: "checkout-\(profile)"
        )
        let paymentIntentID = try world.provider.completeSession(session.id).paymentIntentID
        try await world.deliver(world.provider.checkoutSessionCompletedEvent(session.id))
        return paymentIntentID
    }

    /// A signed event whose `created` time is far out of any range (the largest integer) is taken without a time
    /// to order it by, and nothing traps: the refund it reports counts as any untimed report does.
    @Test
    func anEventCreatedAtTheLargestIntegerIsTakenWithoutATime() async throws {
        try await CardWorld.run(.sqlite) { world in
            let paymentIntentID = try await world.paidByCard("far-1")
            _ = try await world.post("/api/v1/payments/card-\(paymentIntentID)/refund", world.staff, [:])
            var event = world.provider.chargeRefundedEvent(paymentIntentID)
            let text = String(decoding: event.body, as: UTF8.self)
            let created = try #require(text.range(of: #""created":[0-9]+"#, options: .regularExpression))
            event.body = Data(text.replacingCharacters(in: created, with: #""created":\#(Int64.max)"#).utf8)
            let answer = try await world.deliver(event)
            #expect(answer["duplicate"] as? Bool == false, "\(answer)")
            let payment = try await world.get("/api/v1/payments/card-\(paymentIntentID)")
            #expect(payment.json["refunded"] as? String == "125.00", "\(payment.text)")
        }
    }

    /// "Within 20 hours of the request, asking for the same refund again sends it again": in the console too, from
    /// the page drawn after the failure (whose form carries a new key of its own), under the first request's key.
    @Test(arguments: Backend.allCases)
    func aRefundTheProviderDidNotAnswerIsSentAgainFromTheConsole(backend: Backend) async throws {
        try await CardWorld.run(backend) { world in
            let paymentIntentID = try await world.paidByCard("again-1")
            _ = try await world.runtime.staffUsers.add(name: "Anna Berger", email: "anna@example.org", password: ConsoleTests.password)
            let anna = ConsoleTests.Browser(world.client)
            try await anna.signIn("anna@example.org")
            let uri = "/console/payments/card-\(paymentIntentID)"
            world.provider.failNextRequests(status: 500, count: 1)
            let firstKey = try #require(ConsoleTests.hidden("refundKey", in: try await anna.send(uri).text))
            let failed = try await anna.post(uri + "/refund", ["amount": "", "refundKey": firstKey])
            #expect(failed.status == .badGateway, "\(failed.text)")
            #expect(world.provider.createdRefunds.isEmpty)

            let page = try await anna.send(uri).text
            let secondKey = try #require(ConsoleTests.hidden("refundKey", in: page))
            #expect(secondKey != firstKey)
            let sent = try await anna.post(uri + "/refund", ["amount": "", "refundKey": secondKey])
            #expect(sent.status == .seeOther, "\(sent.text)")
            let payment = try await world.runtime.card.pipeline.loadPayment(PaymentID(rawValue: "card-\(paymentIntentID)"))
            #expect(payment.refundRequests.count == 1, "one request, sent twice")
            #expect(world.provider.createdRefunds.map(\.idempotencyKey) == [payment.refundRequests.first?.requestKey])
        }
    }

    /// A refund is recorded before the provider is called; a call without an answer is sent again, under the
    /// same key, when staff ask again; ten requests at once make one call.
    @Test(arguments: Backend.allCases)
    func aRefundIsRecordedBeforeTheCallAndSentAgainOnlyUnderItsKey(backend: Backend) async throws {
        try await CardWorld.run(backend) { world in
            func paid(_ profile: String) async throws -> String {
                try await world.certifiedProfile(profile)
                let sessionID = try await world.checkout(profile)
                let completed = world.provider.checkoutSessionCompletedEvent(sessionID)
                let paymentIntentID = try world.provider.completeSession(sessionID).paymentIntentID
                _ = try await world.deliver(completed)
                return paymentIntentID
            }
            func types(_ paymentIntentID: String) async throws -> [String] {
                try await world.runtime.store.readStream("payment-card-\(paymentIntentID)", fromVersion: 1, limit: 50).map(\.type)
                    .filter { $0.hasPrefix("PaymentRefund") }
            }
            let first = try await paid("ref-1")
            world.provider.failNextRequests(status: 500, count: 1)
            let failed = try await world.post("/api/v1/payments/card-\(first)/refund", world.staff, [:])
            #expect(failed.status == .badGateway, "\(failed.text)")
            #expect(failed.text.contains("ask for the same refund again"), "\(failed.text)")
            #expect(world.provider.createdRefunds.isEmpty)
            #expect(try await types(first) == ["PaymentRefundRequested", "PaymentRefundAnswered"])
            // Another amount is not sent while the first request has no answer.
            let other = try await world.post("/api/v1/payments/card-\(first)/refund", world.staff, ["amount": "25.00"])
            #expect(other.status == .conflict, "\(other.text)")

            let again = try await world.post("/api/v1/payments/card-\(first)/refund", world.staff, [:])
            #expect(again.status == .accepted, "\(again.text)")
            let keys = world.provider.createdRefunds.map(\.idempotencyKey)
            #expect(keys.count == 1)
            let payment = try await world.runtime.card.pipeline.loadPayment(PaymentID(rawValue: "card-\(first)"))
            #expect(payment.refundRequests.count == 1 && keys.first == payment.refundRequests.first?.requestKey)
            #expect(try await types(first) == ["PaymentRefundRequested", "PaymentRefundAnswered", "PaymentRefundAnswered"])
            #expect(payment.refundID(of: payment.refundRequests[0]) == world.provider.createdRefunds.first?.id)
            // Nothing remains to ask for.
            #expect(try await world.post("/api/v1/payments/card-\(first)/refund", world.staff, [:]).status == .conflict)

            let second = try await paid("ref-2")
            let calls = world.provider.apiRequestCount
            let url = "http://127.0.0.1:\(world.client.port ?? 0)/api/v1/payments/card-\(second)/refund"
            let headers = world.staff.map { ($0.name.rawName, $0.value) }
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<10 {
                    group.addTask { try await LoopbackClient.post(url, headers: headers, body: "{}").status }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == 202 }.count == 1, "\(statuses)")
            #expect(statuses.filter { $0 == 409 }.count == 9, "\(statuses)")
            #expect(world.provider.apiRequestCount - calls == 1)
            #expect(world.provider.createdRefunds.filter { $0.paymentIntentID == second }.count == 1)
            #expect(try await types(second) == ["PaymentRefundRequested", "PaymentRefundAnswered"])
        }
    }

    /// The console's refund form carries a key of its own: the same form sent twice asks for one refund.
    @Test(arguments: Backend.allCases)
    func theSameRefundFormSentTwiceRefundsOnce(backend: Backend) async throws {
        try await CardWorld.run(backend) { world in
            try await world.certifiedProfile("ref-4")
            let sessionID = try await world.checkout("ref-4")
            let completed = world.provider.checkoutSessionCompletedEvent(sessionID)
            let paymentIntentID = try world.provider.completeSession(sessionID).paymentIntentID
            _ = try await world.deliver(completed)
            _ = try await world.runtime.staffUsers.add(name: "Anna Berger", email: "anna@example.org", password: ConsoleTests.password)
            let anna = ConsoleTests.Browser(world.client)
            try await anna.signIn("anna@example.org")
            let page = try await anna.send("/console/payments/card-\(paymentIntentID)")
            let key = try #require(ConsoleTests.hidden("refundKey", in: page.text))
            for _ in 0..<2 {
                let sent = try await anna.post("/console/payments/card-\(paymentIntentID)/refund", ["amount": "30.00", "refundKey": key])
                #expect(sent.status == .seeOther, "\(sent.text)")
            }
            #expect(world.provider.createdRefunds.map(\.amount.minorUnits) == [3_000])
            // The same form sent again with another amount (changed after going back to it) is refused: its key
            // asked for 30.00, and answering with that refund would say 40.00 was asked for.
            let changed = try await anna.post("/console/payments/card-\(paymentIntentID)/refund", ["amount": "40.00", "refundKey": key])
            #expect(changed.status == .unprocessableContent && changed.text.contains("was asked under this key"), "\(changed.text)")
            #expect(world.provider.createdRefunds.map(\.amount.minorUnits) == [3_000])
            let payment = try await world.runtime.card.pipeline.loadPayment(PaymentID(rawValue: "card-\(paymentIntentID)"))
            #expect(payment.refundRequests.count == 1)
            // A new page is a new form: a second refund of 30.00 is a second request.
            let next = try #require(ConsoleTests.hidden("refundKey", in: try await anna.send("/console/payments/card-\(paymentIntentID)").text))
            #expect(next != key)
        }
    }

    /// Without the provider's credentials a refund answers 503 and records nothing.
    @Test(arguments: Backend.allCases)
    func aRefundThatCannotBeAskedRecordsNothing(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            var staff = bearer(try await runtime.apiKeys.create(name: "Anna", role: .staff).key)
            staff[.contentType] = "application/json"
            let paymentID = PaymentID(method: .card, externalID: "pi_unconfigured")
            let received = PaymentReceived(
                paymentID: paymentID, method: .card, amount: .euros(minorUnits: 12_500), purpose: .donation, profileID: nil,
                effectiveDate: LocalDate(iso: "2026-03-02")!, note: "card", occurredAt: Date()
            )
            _ = try await runtime.store.append(
                [NewEvent(id: UUID(), type: PaymentReceived.typeName, data: try received.encodedData())], to: paymentID.streamName, expecting: .noStream
            )
            let refused = try await client.execute(uri: "/api/v1/payments/\(paymentID.rawValue)/refund", method: .post, headers: staff, body: ByteBuffer(string: "{}"))
            #expect(refused.status == .serviceUnavailable, "\(refused.text)")
            #expect(try await runtime.store.readStream(paymentID.streamName, fromVersion: 1, limit: 10).map(\.type) == ["PaymentReceived"])
        }
    }

    /// A request without an answer is sent again under its key only while the provider keeps keys (20 hours
    /// here, the card provider keeps them 24): after that it no longer holds other refunds back, and asking again
    /// makes a new request under a new key.
    @Test(arguments: Backend.allCases)
    func anUnansweredRefundIsNotSentAgainOnceItsKeyMayBeGone(backend: Backend) async throws {
        let clock = TestClock(Date())
        try await CardWorld.run(backend, now: clock.function) { world in
            try await world.certifiedProfile("ref-3")
            let sessionID = try await world.checkout("ref-3")
            let completed = world.provider.checkoutSessionCompletedEvent(sessionID)
            let paymentIntentID = try world.provider.completeSession(sessionID).paymentIntentID
            _ = try await world.deliver(completed)

            world.provider.failNextRequests(status: 500, count: 1)
            #expect(try await world.post("/api/v1/payments/card-\(paymentIntentID)/refund", world.staff, ["amount": "30.00"]).status == .badGateway)
            clock.set(clock.function().addingTimeInterval(21 * 3_600))
            // Another amount is no longer held back, and the old request is not sent again.
            let later = try await world.post("/api/v1/payments/card-\(paymentIntentID)/refund", world.staff, ["amount": "40.00"])
            #expect(later.status == .accepted, "\(later.text)")
            let payment = try await world.runtime.card.pipeline.loadPayment(PaymentID(rawValue: "card-\(paymentIntentID)"))
            #expect(payment.refundRequests.map(\.amount.minorUnits) == [3_000, 4_000])
            #expect(world.provider.createdRefunds.map(\.amount.minorUnits) == [4_000])
            #expect(world.provider.createdRefunds.map(\.idempotencyKey) == [payment.refundRequests[1].requestKey])
            // The same key again, after the window: refused with a sentence, nothing sent.
            let calls = world.provider.apiRequestCount
            var keyed = world.staff
            keyed[HTTPField.Name("Idempotency-Key")!] = "refund-once"
            world.provider.failNextRequests(status: 500, count: 1)
            #expect(try await world.post("/api/v1/payments/card-\(paymentIntentID)/refund", keyed, ["amount": "10.00"]).status == .badGateway)
            clock.set(clock.function().addingTimeInterval(21 * 3_600))
            let stale = try await world.post("/api/v1/payments/card-\(paymentIntentID)/refund", keyed, ["amount": "10.00"])
            #expect(stale.status == .conflict && stale.text.contains("too old to send again"), "\(stale.text)")
            #expect(world.provider.apiRequestCount - calls == 1)
        }
    }

    /// A refund request that never got an answer holds its money against what remains, however old. Once its
    /// key may be gone, staff can close it (having found that the provider made no refund); the money can then
    /// be refunded. Before then, or for a request the provider took, closing is refused and writes nothing.
    @Test(arguments: Backend.allCases)
    func anUnansweredRefundRequestIsClosedByStaffOnceItsKeyMayBeGone(backend: Backend) async throws {
        let clock = TestClock(Date())
        try await CardWorld.run(backend, now: clock.function) { world in
            let paymentIntentID = try await world.paidByCard("ref-4")
            let paymentID = PaymentID(rawValue: "card-\(paymentIntentID)")
            let uri = "/api/v1/payments/\(paymentID.rawValue)"

            world.provider.failNextRequests(status: 500, count: 1)
            #expect(try await world.post("\(uri)/refund", world.staff, [:]).status == .badGateway)
            let open = try #require((try await world.get(uri)).json["unansweredRefundRequests"] as? [[String: Any]])
            #expect(open.count == 1 && open.first?["amount"] as? String == "125.00")
            let key = try #require(open.first?["requestKey"] as? String)
            let version = try await world.runtime.card.pipeline.loadPayment(paymentID).version
            // Too early: asking again gets the provider's own answer.
            let early = try await world.post("\(uri)/refund-requests/\(key)/close", world.staff, ["reason": "not in the dashboard"])
            #expect(early.status == .conflict && early.text.contains("21 hours") && early.text.contains("sent again"), "\(early.text)")
            // Nor just past the resend window: a resend started within it may still be waiting on the provider.
            clock.set(clock.function().addingTimeInterval(20.5 * 3_600))
            let waiting = try await world.post("\(uri)/refund-requests/\(key)/close", world.staff, ["reason": "not in the dashboard"])
            #expect(waiting.status == .conflict && waiting.text.contains("a resend may still be waiting"), "\(waiting.text)")

            clock.set(clock.function().addingTimeInterval(0.5 * 3_600))
            // The old request still holds the whole payment.
            let stuck = try await world.post("\(uri)/refund", world.staff, ["amount": "10.00"])
            #expect(stuck.status == .conflict && stuck.text.contains("cannot be refunded"), "\(stuck.text)")
            // No reason, an unknown request, a field it does not know: refused, nothing written.
            #expect(try await world.post("\(uri)/refund-requests/\(key)/close", world.staff, ["reason": "  "]).status == .unprocessableContent)
            #expect(try await world.post("\(uri)/refund-requests/\(key)/close", world.staff, ["reason": String(repeating: "é", count: 251)]).status == .unprocessableContent)
            #expect(try await world.post("\(uri)/refund-requests/\(key)/close", world.staff, [:]).status == .badRequest)
            #expect(try await world.post("\(uri)/refund-requests/no-such-key/close", world.staff, ["reason": "x"]).status == .notFound)
            #expect(try await world.post("\(uri)/refund-requests/\(key)/close", world.staff, ["reason": "x", "amount": "1"]).status == .badRequest)
            #expect(try await world.runtime.card.pipeline.loadPayment(paymentID).version == version)

            let closed = try await world.post("\(uri)/refund-requests/\(key)/close", world.staff, ["reason": "no refund in the provider's dashboard"])
            #expect(closed.status == .ok, "\(closed.text)")
            #expect((closed.json["unansweredRefundRequests"] as? [Any])?.isEmpty == true)
            // Closing it again changes nothing.
            #expect(try await world.post("\(uri)/refund-requests/\(key)/close", world.staff, ["reason": "again"]).status == .ok)
            let log = try await world.runtime.store.readStream(paymentID.streamName, fromVersion: 1, limit: 100)
            let answers = try log.compactMap { recorded -> PaymentRefundAnswered? in
                if case .refundAnswered(let answer)? = try PaymentEvent.decode(typeName: recorded.type, data: recorded.data) { answer } else { nil }
            }
            #expect(answers.map(\.outcome) == [.unanswered, .closed])
            #expect(answers.last?.reason == "no refund in the provider's dashboard")
            #expect(log.last?.metadata.actor == "staff:Anna")

            // The money can be refunded now, once.
            #expect(world.provider.createdRefunds.isEmpty)
            let refunded = try await world.post("\(uri)/refund", world.staff, [:])
            #expect(refunded.status == .accepted, "\(refunded.text)")
            #expect(world.provider.createdRefunds.map(\.amount.minorUnits) == [12_500])
            // A request the provider took is not closed.
            let taken = try await world.runtime.card.pipeline.loadPayment(paymentID).refundRequests.last?.requestKey ?? ""
            clock.set(clock.function().addingTimeInterval(21 * 3_600))
            let refusal = try await world.post("\(uri)/refund-requests/\(taken)/close", world.staff, ["reason": "x"])
            #expect(refusal.status == .conflict && refusal.text.contains("cannot be closed"), "\(refusal.text)")
        }
    }

    /// The payment page lists a refund request that got no answer and, once its key may be gone, closes it with
    /// the staff member's words.
    @Test(arguments: Backend.allCases)
    func anUnansweredRefundRequestIsClosedFromThePaymentPage(backend: Backend) async throws {
        let clock = TestClock(Date())
        try await CardWorld.run(backend, now: clock.function) { world in
            let paymentIntentID = try await world.paidByCard("ref-5")
            world.provider.failNextRequests(status: 500, count: 1)
            #expect(try await world.post("/api/v1/payments/card-\(paymentIntentID)/refund", world.staff, ["amount": "30.00"]).status == .badGateway)
            _ = try await world.runtime.staffUsers.add(name: "Anna Berger", email: "anna@example.org", password: ConsoleTests.password)
            let anna = ConsoleTests.Browser(world.client)
            try await anna.signIn("anna@example.org")
            let page = "/console/payments/card-\(paymentIntentID)"
            let early = try await anna.send(page).text
            #expect(early.contains("Refunds asked that got no answer") && early.contains("It can be closed from"))
            #expect(!early.contains("Close: the provider made no refund"))

            clock.set(clock.function().addingTimeInterval(21 * 3_600))
            try await anna.signIn("anna@example.org") // (a sign-in lasts less than a day)
            let later = try await anna.send(page).text
            #expect(later.contains("Close: the provider made no refund"))
            let action = try #require(later.range(of: #"action="(/console/payments/[^"]+/close)""#, options: .regularExpression).map { String(later[$0].dropFirst(8).dropLast()) })
            let empty = try await anna.post(action, ["reason": ""])
            #expect(empty.status == .unprocessableContent && empty.text.contains("Nothing was changed"), "\(empty.text)")
            let closed = try await anna.post(action, ["reason": "Not in the provider's dashboard"])
            #expect(closed.status == .seeOther, "\(closed.text)")
            let after = try await anna.send(page).text
            #expect(after.contains("The refund request is closed") && !after.contains("Refunds asked that got no answer"))
            let payment = try await world.runtime.card.pipeline.loadPayment(PaymentID(rawValue: "card-\(paymentIntentID)"))
            #expect(payment.refundAnswers?.values.map(\.outcome) == [.closed])
        }
    }

    /// The same payment and refund, delivered in order, in reverse order, and each three times at once,
    /// leave the same listing and the same books.
    @Test(arguments: Backend.allCases)
    func orderAndDuplicatesDoNotChangeTheOutcome(backend: Backend) async throws {
        var outcomes: [Books] = []
        for scenario in ["in order", "reversed", "three times at once"] {
            let books = try await Self.payAndRefund(backend, scenario: scenario)
            outcomes.append(books)
        }
        #expect(outcomes[0].listed == false && outcomes[0].reason == "refunded")
        #expect(outcomes[0].refunded == "125.00" && outcomes[0].allocation == "reversed")
        #expect(outcomes[1] == outcomes[0])
        #expect(outcomes[2] == outcomes[0])
    }

    private static func payAndRefund(_ backend: Backend, scenario: String) async throws -> Books {
        let result = Mutex<Books?>(nil)
        try await CardWorld.run(backend) { world in
            try await world.certifiedProfile("lin-2")
            let sessionID = try await world.checkout("lin-2")
            let payment = try world.provider.completeSession(sessionID)
            let events = [
                world.provider.checkoutSessionCompletedEvent(sessionID),
                world.provider.paymentIntentSucceededEvent(payment.paymentIntentID),
            ]
            world.provider.refundOutOfBand(payment.paymentIntentID, amount: nil)
            let refunded = world.provider.chargeRefundedEvent(payment.paymentIntentID)
            let all = events + [refunded]
            switch scenario {
            case "in order":
                for event in all { try await world.deliver(event) }
            case "reversed":
                for event in all.reversed() { try await world.deliver(event) }
            default:
                for event in all {
                    let acknowledgements = try await withThrowingTaskGroup(of: Bool.self) { group in
                        for _ in 0..<3 { group.addTask { try await world.deliver(event)["duplicate"] as? Bool == true } }
                        var duplicates = 0
                        for try await duplicate in group where duplicate { duplicates += 1 }
                        return duplicates
                    }
                    #expect(acknowledgements == 2, "\(event.type): exactly one of three deliveries is new")
                }
            }
            for event in all {
                let inbox = try await world.runtime.store.readStream("inbox-card-\(event.id)", fromVersion: 1, limit: 10)
                #expect(inbox.count == 1)
            }
            let books = try await world.books("lin-2", payment: payment.paymentIntentID)
            result.withLock { $0 = books }
        }
        return try #require(result.withLock { $0 })
    }

    @Test(arguments: Backend.allCases)
    func aDonationNeverChangesTheListing(backend: Backend) async throws {
        try await CardWorld.run(backend) { world in
            try await world.certifiedProfile("don-3")
            let sessionID = try await world.checkout("don-3", purpose: "donation", amount: "25.00")
            #expect(world.provider.createdSessions.first?.fields["line_items[0][price_data][unit_amount]"] == "2500")
            let payment = try world.provider.completeSession(sessionID)
            try await world.deliver(world.provider.checkoutSessionCompletedEvent(sessionID))

            let listing = try await world.get("/api/v1/profiles/don-3/listing")
            #expect(listing.json["visible"] as? Bool == false)
            #expect(listing.json["status"] as? String == "pending")
            let view = try await world.get("/api/v1/payments/card-\(payment.paymentIntentID)")
            #expect(view.json["purpose"] as? String == "donation" && view.json["amount"] as? String == "25.00")
            #expect(view.json["allocation"] == nil)
            let profileTypes = try await world.runtime.store.readStream("profile-don-3", fromVersion: 1, limit: 100).map(\.type)
            #expect(!profileTypes.contains("ContributionAllocated"))
        }
    }

    @Test(arguments: Backend.allCases)
    func aPaymentInDollarsIsQueuedForStaffAndNotApplied(backend: Backend) async throws {
        try await CardWorld.run(backend) { world in
            try await world.certifiedProfile("usd-4")
            let event = world.provider.event(type: "checkout.session.completed", object: [
                "id": "cs_test_usd", "object": "checkout.session", "amount_total": 12500, "currency": "usd",
                "client_reference_id": "listing:usd-4", "metadata": ["profile_id": "usd-4", "purpose": "listing"],
                "payment_intent": "pi_test_usd", "payment_status": "paid", "status": "complete", "mode": "payment",
            ])
            try await world.deliver(event)
            #expect(try await world.get("/api/v1/profiles/usd-4/listing").json["visible"] as? Bool == false)
            let view = try await world.get("/api/v1/payments/card-pi_test_usd")
            #expect((view.json["held"] as? [String: Any])?["reasonCode"] as? String == "currency-not-accepted")

            try await (world.runtime.store as? any EventStoreTestHooks)?.waitUntilAllCommittedEventsAreVisible()
            try await ProjectionRunner(store: world.runtime.store, projection: world.runtime.paymentViews).catchUp()
            let queue = try await world.get("/api/v1/reconciliation/exceptions")
            let entries = try #require(try JSONSerialization.jsonObject(with: Data(buffer: queue.body)) as? [[String: Any]])
            #expect(entries.count == 1)
            #expect(entries.first?["paymentId"] as? String == "card-pi_test_usd")
            #expect(entries.first?["currency"] as? String == "USD")
            #expect(entries.first?["reasonCode"] as? String == "currency-not-accepted")
        }
    }

    @Test(arguments: Backend.allCases)
    func unexpectedAmountsAndMissingReferencesAreQueuedNotApplied(backend: Backend) async throws {
        try await CardWorld.run(backend) { world in
            try await world.certifiedProfile("odd-5")
            try await world.deliver(world.provider.event(type: "payment_intent.succeeded", object: [
                "id": "pi_test_short", "object": "payment_intent", "amount": 10000, "amount_received": 10000, "currency": "eur",
                "metadata": ["profile_id": "odd-5", "purpose": "listing"], "status": "succeeded",
            ]))
            try await world.deliver(world.provider.event(type: "payment_intent.succeeded", object: [
                "id": "pi_test_anonymous", "object": "payment_intent", "amount": 12500, "amount_received": 12500, "currency": "eur",
                "metadata": [String: String](), "status": "succeeded",
            ]))
            let short = try await world.get("/api/v1/payments/card-pi_test_short")
            #expect((short.json["held"] as? [String: Any])?["reasonCode"] as? String == "unexpected-amount")
            let anonymous = try await world.get("/api/v1/payments/card-pi_test_anonymous")
            #expect((anonymous.json["held"] as? [String: Any])?["reasonCode"] as? String == "missing-profile-reference")
            #expect(try await world.get("/api/v1/profiles/odd-5/listing").json["visible"] as? Bool == false)
        }
    }

    @Test(arguments: Backend.allCases)
    func aDisputeHidesTheListingAndWinningItListsAgain(backend: Backend) async throws {
        try await CardWorld.run(backend) { world in
            try await world.certifiedProfile("dis-6")
            let sessionID = try await world.checkout("dis-6")
            let payment = try world.provider.completeSession(sessionID)
            try await world.deliver(world.provider.checkoutSessionCompletedEvent(sessionID))
            #expect(try await world.documents(payment.paymentIntentID) == ["receipt 125.00"])
            try await world.deliver(world.provider.disputeEvent(payment.paymentIntentID, type: "charge.dispute.created", status: "needs_response"))
            #expect(try await world.get("/api/v1/profiles/dis-6/listing").json["visible"] as? Bool == true)
            try await world.deliver(world.provider.disputeEvent(payment.paymentIntentID, type: "charge.dispute.funds_withdrawn", status: "needs_response"))
            let hidden = try await world.get("/api/v1/profiles/dis-6/listing")
            #expect(hidden.json["visible"] as? Bool == false)
            let chargedBack = try await world.documents(payment.paymentIntentID)
            #expect(chargedBack == ["receipt 125.00", "credit-note 125.00"], "\(chargedBack)")
            try await world.deliver(world.provider.disputeEvent(payment.paymentIntentID, type: "charge.dispute.closed", status: "won"))
            #expect(try await world.get("/api/v1/profiles/dis-6/listing").json["visible"] as? Bool == true)
            let wonBack = try await world.documents(payment.paymentIntentID)
            #expect(wonBack == ["receipt 125.00", "credit-note 125.00", "receipt 125.00"], "won back, counted again: \(wonBack)")
        }
    }

    @Test(arguments: Backend.allCases)
    func aListingStaffTookBackByHandStaysTakenBackWhateverTheDisputesDo(backend: Backend) async throws {
        try await CardWorld.run(backend) { world in
            func visible(_ profileID: String) async throws -> Bool? {
                try await world.get("/api/v1/profiles/\(profileID)/listing").json["visible"] as? Bool
            }
            func reinstated(_ profileID: String) async throws -> Int {
                try await world.runtime.store.readStream("profile-\(profileID)", fromVersion: 1, limit: 100).filter { $0.type == "AllocationReinstated" }.count
            }
            // The money was given back outside the provider; the payer's bank later closes an inquiry in our
            // favour ("warning_closed", a dispute won).
            try await world.certifiedProfile("dis-9")
            let first = try await world.checkout("dis-9")
            let paid = try world.provider.completeSession(first)
            try await world.deliver(world.provider.checkoutSessionCompletedEvent(first))
            #expect(try await visible("dis-9") == true)
            let reversed = try await world.post(
                "/api/v1/profiles/dis-9/allocations/card-\(paid.paymentIntentID)/reverse", world.staff, ["kind": "refund", "reason": "given back in cash"]
            )
            #expect(reversed.status == .ok, "\(reversed.text)")
            #expect(try await visible("dis-9") == false)
            // The payment records it too: it lists as refunded, and the books take the money back, from where the
            // transfer or cash that gave it back leaves them (money paid out), not from the provider's account.
            let payment = try await world.get("/api/v1/payments/card-\(paid.paymentIntentID)")
            #expect(payment.json["refunded"] as? String == "125.00", "\(payment.text)")
            let given = (payment.json["givenBackByHand"] as? [[String: Any]])?.first
            #expect(given?["kind"] as? String == "refund" && given?["amount"] as? String == "125.00" && given?["reason"] as? String == "given back in cash")
            let listed = try await world.get("/api/v1/payments?state=refunded")
            #expect(listed.text.contains("card-\(paid.paymentIntentID)"), "\(listed.text)")
            _ = try await world.runtime.staffUsers.add(name: "Anna Berger", email: "anna@example.org", password: ConsoleTests.password)
            let anna = ConsoleTests.Browser(world.client)
            try await anna.signIn("anna@example.org")
            let page = try await anna.send("/console/payments/card-\(paid.paymentIntentID)").text
            #expect(page.contains("<dt>Given back by hand</dt><dd>€125.00 of what paid for dis-9 (refund): given back in cash, "), "\(page)")
            // Given back in full by hand: the provider is not asked to give it back again.
            let twice = try await world.post("/api/v1/payments/card-\(paid.paymentIntentID)/refund", world.staff, [:])
            #expect(twice.status == .conflict, "\(twice.text)")
            #expect(twice.text.contains("nothing of 125.00 EUR remains to be refunded (staff recorded 125.00 EUR as given back by hand)"), "\(twice.text)")
            #expect((payment.json["history"] as? [[String: Any]])?.contains { $0["type"] as? String == "PaymentGivenBackByHand" } == true, "\(payment.text)")
            let today = OrganisationCalendar.amsterdam.date(at: Date())
            let trial = try await world.get("/api/v1/books/trial-balance?date=\(today)")
            let balances = Dictionary(((trial.json["accounts"] as? [[String: Any]]) ?? []).compactMap { row in
                (row["account"] as? String).map { ($0, row["balance"] as? String ?? "") }
            }, uniquingKeysWith: { $1 })
            #expect(balances["Income:Refunds"] == "125.00" && balances["Expenses:Bank:Outgoing"] == "-125.00", "\(trial.text)")
            try await world.deliver(world.provider.disputeEvent(paid.paymentIntentID, type: "charge.dispute.closed", status: "warning_closed"))
            #expect(try await visible("dis-9") == false)
            #expect(try await reinstated("dis-9") == 0)

            // A dispute won before staff took the listing back by hand: a later event of the payment brings
            // nothing back either.
            try await world.certifiedProfile("dis-10")
            let second = try await world.checkout("dis-10")
            let won = try world.provider.completeSession(second)
            try await world.deliver(world.provider.checkoutSessionCompletedEvent(second))
            try await world.deliver(world.provider.disputeEvent(won.paymentIntentID, type: "charge.dispute.closed", status: "won"))
            #expect(try await visible("dis-10") == true)
            let byHand = try await world.post(
                "/api/v1/profiles/dis-10/allocations/card-\(won.paymentIntentID)/reverse", world.staff, ["kind": "bank_return", "reason": "the bank took it back"]
            )
            #expect(byHand.status == .ok, "\(byHand.text)")
            try await world.deliver(world.provider.disputeEvent(won.paymentIntentID, type: "charge.dispute.funds_reinstated", status: "won"))
            #expect(try await visible("dis-10") == false)
            #expect(try await reinstated("dis-10") == 0)
        }
    }

    /// After part of a payment was given back by hand, a refund of all that remains asks the provider for that
    /// rest by its amount: asked without one, the provider would give back everything it holds.
    @Test(arguments: Backend.allCases)
    func allThatRemainsAfterAPartGivenBackByHandIsAskedForByItsAmount(backend: Backend) async throws {
        try await CardWorld.run(backend) { world in
            let paid = try await world.paidListing("gb-1")
            let reversed = try await world.post(
                "/api/v1/profiles/gb-1/allocations/card-\(paid.paymentIntentID)/reverse", world.staff,
                ["kind": "refund", "reason": "25 given back in cash", "amount": "25.00"]
            )
            #expect(reversed.status == .ok, "\(reversed.text)")
            let asked = try await world.post("/api/v1/payments/card-\(paid.paymentIntentID)/refund", world.staff, [:])
            #expect(asked.status == .accepted && asked.json["amount"] as? String == "100.00", "\(asked.text)")
            #expect(world.provider.createdRefunds.map(\.amount) == [.euros(minorUnits: 10_000)])
        }
    }

    /// A refund asked of the provider before a reversal by hand is other money: without an amount, the reversal
    /// gives back the rest, and the refund's report afterwards does not cover it.
    @Test(arguments: Backend.allCases)
    func aRefundAskedBeforeAReversalByHandIsOtherMoney(backend: Backend) async throws {
        try await CardWorld.run(backend) { world in
            let paid = try await world.paidListing("gb-2")
            let asked = try await world.post("/api/v1/payments/card-\(paid.paymentIntentID)/refund", world.staff, ["amount": "40.00"])
            #expect(asked.status == .accepted, "\(asked.text)")
            let reversed = try await world.post(
                "/api/v1/profiles/gb-2/allocations/card-\(paid.paymentIntentID)/reverse", world.staff, ["kind": "refund", "reason": "the rest in cash"]
            )
            #expect(reversed.status == .ok, "\(reversed.text)")
            try await world.deliver(world.provider.chargeRefundedEvent(paid.paymentIntentID))
            let payment = try await world.get("/api/v1/payments/card-\(paid.paymentIntentID)")
            let given = (payment.json["givenBackByHand"] as? [[String: Any]])?.first
            #expect(given?["amount"] as? String == "85.00" && given?["standing"] as? String == "85.00", "\(payment.text)")
            #expect(payment.json["refunded"] as? String == "125.00", "\(payment.text)")
            let again = try await world.post("/api/v1/payments/card-\(paid.paymentIntentID)/refund", world.staff, [:])
            #expect(again.status == .conflict, "\(again.text)")
        }
    }

    @Test(arguments: Backend.allCases)
    func anUnknownEventTypeIsAcknowledgedAndRecorded(backend: Backend) async throws {
        try await CardWorld.run(backend) { world in
            let event = world.provider.event(type: "customer.created", object: ["id": "cus_test_1", "object": "customer"])
            let ack = try await world.deliver(event)
            #expect(ack["duplicate"] as? Bool == false)
            let inbox = try await world.runtime.store.readStream("inbox-card-\(event.id)", fromVersion: 1, limit: 10)
            #expect(inbox.map(\.type) == ["ProviderEventReceived"])
            #expect(String(decoding: inbox[0].data, as: UTF8.self).contains("customer.created"))
            let again = try await world.deliver(event)
            #expect(again["duplicate"] as? Bool == true)
        }
    }

    /// A donation is refused at checkout and in payment instructions above `LEDGER_PAYMENT_AMOUNT_MAX`, the limit
    /// above which its payment would be held (422 `amount-over-limit`, the payer never charged, nothing recorded),
    /// and taken up to it, a raised limit included.
    @Test(arguments: [("500.00", "500.01"), ("50000.00", "50000.01")])
    func aDonationIsTakenUpToTheConfiguredPaymentLimit(limit: String, past: String) async throws {
        try await CardWorld.run(.sqlite, settings: ["payment.amount_max": limit]) { world in
            try await world.certifiedProfile("don-9")
            let before = try await world.runtime.store.headCursor()
            let requests = world.provider.apiRequestCount
            let body: [String: Any] = [
                "method": "card", "purpose": "donation", "amount": past, "successUrl": "https://imi.example/a", "cancelUrl": "https://imi.example/b",
            ]
            let refused = try await world.post("/api/v1/profiles/don-9/checkout", world.website, body)
            expectProblem(refused, .unprocessableContent, "amount-over-limit", "a donation checkout of \(past)")
            for path in ["/api/v1/profiles/don-9/payment-instructions?purpose=donation&amount=\(past)", "/api/v1/donation-instructions?amount=\(past)"] {
                let instructions = try await world.client.execute(uri: path, method: .get, headers: world.website)
                expectProblem(instructions, .unprocessableContent, "amount-over-limit", path)
            }
            #expect(world.provider.apiRequestCount == requests, "the provider was asked for a checkout past the limit")
            #expect(try await world.runtime.store.headCursor() == before)

            _ = try await world.checkout("don-9", purpose: "donation", amount: limit)
            let instructions = try await world.client.execute(uri: "/api/v1/donation-instructions?amount=\(limit)", method: .get, headers: world.website)
            #expect(instructions.status == .ok, "\(instructions.text)")
        }
    }

    @Test
    func providerFailuresAnswer502AndAHangingProviderTimesOut() async throws {
        try await CardWorld.run(.sqlite, timeoutSeconds: 1) { world in
            try await world.certifiedProfile("fail-7")
            let body: [String: Any] = ["method": "card", "purpose": "listing", "successUrl": "https://imi.example/a", "cancelUrl": "https://imi.example/b"]
            let before = try await world.runtime.store.headCursor()
            world.provider.failNextRequests(status: 500, count: 1)
            let failed = try await world.post("/api/v1/profiles/fail-7/checkout", world.website, body)
            #expect(failed.status == .badGateway)
            #expect(failed.headers[.contentType] == "application/problem+json")

            world.provider.hangNextRequests(count: 1)
            let started = ContinuousClock.now
            let hung = try await world.post("/api/v1/profiles/fail-7/checkout", world.website, body)
            #expect(hung.status == .badGateway)
            #expect(ContinuousClock.now - started < .seconds(10))
            // A checkout the provider did not answer records nothing (a checkout is recorded in a stream of its
            // own, never the profile's).
            #expect(try await world.runtime.store.headCursor() == before)
        }
    }

    @Test
    func checkoutRefusesBadRequestsWithProblems() async throws {
        try await CardWorld.run(.sqlite) { world in
            try await world.certifiedProfile("bad-8")
            let base: [String: Any] = ["method": "card", "purpose": "listing", "successUrl": "https://imi.example/a", "cancelUrl": "https://imi.example/b"]
            var withAmount = base
            withAmount["amount"] = "10.00"
            var badURL = base
            badURL["successUrl"] = "javascript:alert(1)"
            var donationWithoutAmount = base
            donationWithoutAmount["purpose"] = "donation"
            var paypal = base
            paypal["method"] = "bitcoin"
            // A currency other than the tariff's, also without an amount: a listing in dollars is not charged in euros.
            var inDollars = base
            inDollars["currency"] = "USD"
            for (body, status) in [(withAmount, HTTPResponse.Status.unprocessableContent), (badURL, .unprocessableContent),
                                   (donationWithoutAmount, .unprocessableContent), (paypal, .unprocessableContent), (inDollars, .unprocessableContent)] {
                let response = try await world.post("/api/v1/profiles/bad-8/checkout", world.website, body)
                #expect(response.status == status, "\(body): \(response.text)")
                #expect(response.headers[.contentType] == "application/problem+json")
            }
            let unknown = try await world.post("/api/v1/profiles/nobody/checkout", world.website, base)
            #expect(unknown.status == .notFound)
            let asStaff = try await world.post("/api/v1/profiles/bad-8/checkout", world.staff, base)
            #expect(asStaff.status == .forbidden)
            #expect(world.provider.createdSessions.isEmpty)
        }
    }
}

import Synchronization
