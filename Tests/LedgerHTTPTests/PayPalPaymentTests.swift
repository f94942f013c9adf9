import AsyncHTTPClient
import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LedgerCore
import LedgerHTTP
@testable import LedgerService
import NIOCore
import NIOFoundationCompat
import Payments
import Synchronization
import TestSupport
import Testing

private let webhookID = "WH-LISTING-LEDGER-TEST"

/// The service wired to a PayPal stand-in over HTTPS (trusting its test authority), with keys.
struct PayPalWorld: Sendable {
    let client: any TestClientProtocol
    let runtime: LedgerRuntime
    let provider: PayPalStandIn
    let staff: HTTPFields
    let website: HTTPFields

    var webhookURL: String { "http://127.0.0.1:\(client.port ?? 0)/webhooks/paypal" }

    /// `providerNow` is PayPal's clock (its resources' and events' times); by default the real one.
    static func run(
        _ backend: Backend, providerNow: @escaping @Sendable () -> Date = { Date() }, _ body: @Sendable (PayPalWorld) async throws -> Void
    ) async throws {
        let provider = try await PayPalStandIn.start(clientID: "client-1", clientSecret: "secret-1", now: providerNow)
        let trustFile = TestScratch.folder.appendingPathComponent("paypal-ca-\(UUID().uuidString).pem")
        try Data(provider.caCertificatePEM.utf8).write(to: trustFile)
        let runtime: LedgerRuntime
        do {
            runtime = try await TestRuntime.make(backend, settings: [
                "paypal.api_base_url": provider.baseURL, "paypal.client_id": "client-1", "paypal.client_secret": "secret-1",
                "paypal.webhook_id": webhookID, "paypal.certificate_hosts": provider.certificateHost,
                "paypal.certificate_subject": "paypal", "paypal.trust_roots_file": trustFile.path,
            ])
        } catch {
            await provider.stop()
            throw error
        }
        do {
            let staffKey = try await runtime.apiKeys.create(name: "Anna", role: .staff).key
            let websiteKey = try await runtime.apiKeys.create(name: "Website", role: .website).key
            let application = Application(router: buildRouter(runtime: runtime), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
            try await application.test(.live) { client in
                var staff = bearer(staffKey)
                staff[.contentType] = "application/json"
                var website = bearer(websiteKey)
                website[.contentType] = "application/json"
                try await body(PayPalWorld(client: client, runtime: runtime, provider: provider, staff: staff, website: website))
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

    func listing(_ id: String) async throws -> [String: Any] {
        try await client.execute(uri: "/api/v1/profiles/\(id)/listing", method: .get, headers: staff).json
    }

    func certifiedProfile(_ id: String) async throws {
        _ = try await runtime.profiles.handle(.register(kind: .mediator, displayName: id, contactEmail: "\(id)@example.org"), profileID: try ProfileID(id), metadata: .init(actor: "test"))
        _ = try await runtime.profiles.handle(.changeCertification(.grant, reason: "assessed"), profileID: try ProfileID(id), metadata: .init(actor: "test"))
    }

    /// Checkout → the buyer approves → capture: returns the capture id.
    func payThroughPayPal(_ profileID: String) async throws -> String {
        let orderID = try await startCheckout(profileID)
        try provider.approve(orderID)
        let captured = try await post("/api/v1/paypal/orders/\(orderID)/capture", website, [:])
        #expect(captured.status == .ok, "\(captured.text)")
        return try #require(captured.json["captureId"] as? String)
    }

    /// A certified profile paid through PayPal, the capture's completion delivered: returns the capture id.
    func listedThroughPayPal(_ profileID: String) async throws -> String {
        try await certifiedProfile(profileID)
        let captureID = try await payThroughPayPal(profileID)
        let completed = try await deliver(provider.captureCompletedEvent(captureID: captureID))
        #expect(completed.status == 200, "\(completed.body)")
        return captureID
    }

    /// A PayPal checkout for a year's listing: returns the order id.
    func startCheckout(_ profileID: String) async throws -> String {
        let checkout = try await post("/api/v1/profiles/\(profileID)/checkout", website, [
            "method": "paypal", "purpose": "listing", "successUrl": "https://imi.example/paid", "cancelUrl": "https://imi.example/",
        ])
        #expect(checkout.status == .created, "\(checkout.text)")
        let orderID = try #require(checkout.json["checkoutId"] as? String)
        #expect((checkout.json["redirectUrl"] as? String)?.contains(orderID) == true)
        #expect(provider.order(orderID)?.customID == "listing:\(profileID)")
        return orderID
    }

    @discardableResult
    func deliver(_ event: PayPalStandInEvent, tampering: PayPalTampering = PayPalTampering()) async throws -> (status: Int, body: String) {
        try await provider.deliver(event, to: webhookURL, webhookID: webhookID, tampering: tampering)
    }
}

@Suite("PayPal payments end to end")
struct PayPalPaymentTests {
    @Test(arguments: Backend.allCases)
    func checkoutApprovalCaptureWebhookListsAndARefundHides(backend: Backend) async throws {
        try await PayPalWorld.run(backend) { world in
            try await world.certifiedProfile("pp-1")
            let captureID = try await world.payThroughPayPal("pp-1")
            #expect(try await world.listing("pp-1")["visible"] as? Bool == false, "listed when PayPal confirms, not before")

            let completed = try await world.deliver(world.provider.captureCompletedEvent(captureID: captureID))
            #expect(completed.status == 200, "\(completed.body)")
            let listed = try await world.listing("pp-1")
            #expect(listed["visible"] as? Bool == true)
            #expect((listed["basis"] as? [String: Any])?["paymentIDs"] as? [String] == ["paypal-\(captureID)"])

            let refund = try await world.post("/api/v1/payments/paypal-\(captureID)/refund", world.staff, [:])
            #expect(refund.status == .accepted, "\(refund.text)")
            let refundID = try #require(refund.json["refundId"] as? String)
            let refunded = try await world.deliver(world.provider.captureRefundedEvent(refundID: refundID))
            #expect(refunded.status == 200, "\(refunded.body)")
            let hidden = try await world.listing("pp-1")
            #expect(hidden["visible"] as? Bool == false)
            #expect(hidden["reason"] as? String == "refunded")
            // The refund found its capture through the `up` link: it is on the capture's payment.
            let payment = try await world.client.execute(uri: "/api/v1/payments/paypal-\(captureID)", method: .get, headers: world.staff)
            #expect(payment.json["refunded"] as? String == "125.00")
        }
    }

    /// A buyer's return for an order no checkout here started (a made-up or mistyped id) answers 404
    /// `payment-not-found` without asking PayPal and records nothing.
    @Test(arguments: Backend.allCases)
    func anOrderNoCheckoutStartedIsNotCaptured(backend: Backend) async throws {
        try await PayPalWorld.run(backend) { world in
            let before = try await world.runtime.store.headCursor()
            let requests = world.provider.apiRequestCount
            for orderID in ["NOSUCHORDER0001", "NOSUCHORDER0002"] {
                let captured = try await world.post("/api/v1/paypal/orders/\(orderID)/capture", world.website, [:])
                expectProblem(captured, .notFound, "payment-not-found", "the capture of \(orderID)")
            }
            #expect(world.provider.apiRequestCount == requests, "PayPal was asked to capture an order no checkout started")
            #expect(try await world.runtime.store.headCursor() == before, "a capture of an unknown order recorded something")
        }
    }

    /// PayPal takes forint (and Taiwan dollars) in whole units only, though ISO 4217 gives them two decimals: a
    /// forint payment's part is refunded as `"400"`, and a part with fillér is refused before anything is
    /// recorded or sent, where PayPal would have refused it (`DECIMALS_NOT_SUPPORTED`).
    @Test(arguments: Backend.allCases)
    func aForintPaymentIsRefundedInWholeForints(backend: Backend) async throws {
        try await PayPalWorld.run(backend) { world in
            try await world.certifiedProfile("huf-1")
            // An order in forint, created the way the ledger's own client creates one (the ledger only asks for euros).
            let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: try world.provider.clientTLSConfiguration()))
            let client = PayPalClient(
                configuration: PayPalConfiguration(baseURL: world.provider.baseURL, clientID: "client-1", clientSecret: "secret-1"), httpClient: http
            )
            let order: PayPalOrder
            do {
                order = try await client.createOrder(
                    reference: PayPalReference(profileID: "huf-1", purpose: "listing"), amount: Money(minorUnits: 50_000, currency: "HUF"),
                    returnURL: "https://imi.example/paid", cancelURL: "https://imi.example/", requestID: "huf-order-1"
                )
            } catch {
                try await http.shutdown()
                throw error
            }
            try await http.shutdown()
            // Recorded as a checkout records its order (only an order a checkout started is captured).
            try await CardPayments.recordCheckout(CheckoutStarted(
                method: .paypal, checkoutID: order.id, profileID: try ProfileID("huf-1"), purpose: .listing,
                amount: Money(minorUnits: 50_000, currency: "HUF"), redirectURL: "\(world.provider.baseURL)/approve/\(order.id)", occurredAt: Date()
            ), store: world.runtime.store, metadata: .init(actor: "test"))
            #expect(world.provider.order(order.id)?.amount == Money(minorUnits: 50_000, currency: "HUF"))
            try world.provider.approve(order.id)
            let captured = try await world.post("/api/v1/paypal/orders/\(order.id)/capture", world.website, [:])
            #expect(captured.status == .ok && captured.json["amount"] as? String == "500.00", "\(captured.text)")
            let captureID = try #require(captured.json["captureId"] as? String)
            #expect(try await world.deliver(world.provider.captureCompletedEvent(captureID: captureID)).status == 200)

            let paymentID = PaymentID(rawValue: "paypal-\(captureID)")
            let fraction = try await world.post("/api/v1/payments/paypal-\(captureID)/refund", world.staff, ["amount": "400.50"])
            #expect(fraction.status == .unprocessableContent && fraction.text.contains("PayPal takes HUF in whole units only"), "\(fraction.text)")
            #expect(world.provider.createdRefunds.isEmpty)
            #expect(try await world.runtime.payPal.pipeline.loadPayment(paymentID).refundRequests.isEmpty, "nothing recorded")

            let part = try await world.post("/api/v1/payments/paypal-\(captureID)/refund", world.staff, ["amount": "400"])
            #expect(part.status == .accepted && part.json["amount"] as? String == "400.00", "\(part.text)")
            #expect(world.provider.createdRefunds.map(\.amount) == [Money(minorUnits: 40_000, currency: "HUF")])
        }
    }

    /// A refund whose answer was lost, and which PayPal then reported by webhook, is taken as the request's
    /// answer when staff ask again: nothing is sent to PayPal a second time.
    @Test(arguments: Backend.allCases)
    func aRefundReportedAfterItsAnswerWasLostIsTakenAsTheAnswer(backend: Backend) async throws {
        try await PayPalWorld.run(backend) { world in
            let captureID = try await world.listedThroughPayPal("pp-20")

            world.provider.failNextRequests(status: 500, count: 1)
            let lost = try await world.post("/api/v1/payments/paypal-\(captureID)/refund", world.staff, ["amount": "50.00"])
            #expect(lost.status == .badGateway, "\(lost.text)")
            // PayPal made it after all (here: by hand) and says so.
            let refundID = world.provider.refundOutOfBand(captureID: captureID, amount: .euros(minorUnits: 5_000))
            #expect(try await world.deliver(world.provider.captureRefundedEvent(refundID: refundID)).status == 200)

            let again = try await world.post("/api/v1/payments/paypal-\(captureID)/refund", world.staff, ["amount": "50.00"])
            #expect(again.status == .accepted, "\(again.text)")
            #expect(again.json["refundId"] as? String == refundID)
            #expect(world.provider.createdRefunds.isEmpty, "nothing was sent again")
            let payment = try await world.runtime.card.pipeline.loadPayment(PaymentID(rawValue: "paypal-\(captureID)"))
            #expect(payment.refundRequests.count == 1 && payment.refundID(of: payment.refundRequests[0]) == refundID)
            // What remains is what was not refunded: 75.00.
            let rest = try await world.post("/api/v1/payments/paypal-\(captureID)/refund", world.staff, ["amount": "80.00"])
            #expect(rest.status == .conflict && rest.text.contains("75.00 EUR of 125.00 EUR remains"), "\(rest.text)")
        }
    }

    /// Reordered and repeated deliveries end where ordered single ones do.
    @Test(arguments: Backend.allCases)
    func reorderedAndRepeatedDeliveriesLeaveTheSameEndState(backend: Backend) async throws {
        try await PayPalWorld.run(backend) { world in
            try await world.certifiedProfile("pp-2")
            let captureID = try await world.payThroughPayPal("pp-2")
            let refundID = world.provider.refundOutOfBand(captureID: captureID, amount: nil)
            let events = [world.provider.captureRefundedEvent(refundID: refundID), world.provider.captureCompletedEvent(captureID: captureID)]
            for event in events {
                for _ in 0..<2 { #expect(try await world.deliver(event).status == 200) }
            }
            let hidden = try await world.listing("pp-2")
            #expect(hidden["visible"] as? Bool == false)
            #expect(hidden["reason"] as? String == "refunded")
            let payment = try await world.client.execute(uri: "/api/v1/payments/paypal-\(captureID)", method: .get, headers: world.staff)
            #expect(payment.json["refunded"] as? String == "125.00")
            #expect(payment.json["allocation"] as? String == "reversed")
            let types = try await world.runtime.store.readStream("payment-paypal-\(captureID)", fromVersion: 1, limit: 100).map(\.type)
            #expect(types.sorted() == ["PaymentReceived", "PaymentRefundReported"])
        }
    }

    /// A buyer who approves but never comes back still pays: the approval webhook captures the order. A
    /// pending capture is recorded and not applied.
    @Test
    func anApprovedOrderIsCapturedByItsWebhookAndAPendingCaptureIsNotApplied() async throws {
        try await PayPalWorld.run(.postgres) { world in
            try await world.certifiedProfile("pp-4")
            let orderID = try await world.startCheckout("pp-4")
            try world.provider.approve(orderID)
            #expect(try await world.deliver(world.provider.orderApprovedEvent(orderID: orderID)).status == 200)
            let capture = try #require(world.provider.capture(ofOrder: orderID), "the webhook captured the order")
            #expect(try await world.listing("pp-4")["visible"] as? Bool == false, "no money has moved until the capture completes")

            #expect(try await world.deliver(world.provider.capturePendingEvent(captureID: capture.id)).status == 200)
            let pending = try await world.client.execute(uri: "/api/v1/payments/paypal-\(capture.id)", method: .get, headers: world.staff)
            #expect(pending.json["status"] as? String == "pending")
            #expect(try await world.listing("pp-4")["visible"] as? Bool == false)

            #expect(try await world.deliver(world.provider.captureCompletedEvent(captureID: capture.id)).status == 200)
            #expect(try await world.listing("pp-4")["visible"] as? Bool == true)
            let again = try await world.post("/api/v1/paypal/orders/\(orderID)/capture", world.website, [:])
            // The buyer's return after the webhook captured: the same request id replays the one capture.
            #expect(again.status == .ok)
            #expect(again.json["captureId"] as? String == capture.id)
        }
    }

    @Test(arguments: Backend.allCases)
    func forgedOrBrokenDeliveriesAreRefusedAndWriteNothing(backend: Backend) async throws {
        try await PayPalWorld.run(backend) { world in
            try await world.certifiedProfile("pp-3")
            let event = world.provider.event(eventType: "CUSTOMER.CREATED", resourceType: "customer", resource: ["id": "C-1"])
            try world.provider.publishCertificate(name: "expired", notValidBefore: Date().addingTimeInterval(-200 * 86_400), notValidAfter: Date().addingTimeInterval(-100 * 86_400))
            try await (world.runtime.store as? any EventStoreTestHooks)?.waitUntilAllCommittedEventsAreVisible()
            let head = try await world.runtime.store.headCursor()
            let fetchesBefore = world.provider.certificateRequestCount
            let outsider = try await world.deliver(event, tampering: PayPalTampering(certificateURL: "https://certs.example.net/cert.pem"))
            #expect(outsider.status == 400)
            #expect(outsider.body.contains("invalid-signature"))
            #expect(world.provider.certificateRequestCount == fetchesBefore, "no request to a host outside the allow-list")
            let cases: [(String, PayPalTampering)] = [
                ("wrong signature", PayPalTampering(signWithOtherKey: true)),
                ("body changed by one byte", PayPalTampering(changeBodyAfterSigning: true)),
                ("expired certificate", PayPalTampering(certificateURL: world.provider.certificateURL(name: "expired"))),
                // A made-up certificate name on an allowed host: the host answers 404, a forgery, not an outage.
                ("certificate the host does not have", PayPalTampering(certificateURL: world.provider.certificateURL(name: "made-up-7"))),
                ("unknown algorithm", PayPalTampering(algorithm: "SHA1withRSA")),
            ]
            for (name, tampering) in cases {
                let refused = try await world.deliver(event, tampering: tampering)
                #expect(refused.status == 400, "\(name): \(refused.body)")
            }
            try await (world.runtime.store as? any EventStoreTestHooks)?.waitUntilAllCommittedEventsAreVisible()
            #expect(try await world.runtime.store.headCursor() == head)
            #expect(try await world.deliver(event).status == 200, "the same event, honestly delivered, is accepted")
        }
    }

    /// PayPal signs a CRC-32 of the body, which anyone can match: signed headers seen once may not come back
    /// with another body, even if the signature checked out (here it would not; the refusal comes first).
    @Test(arguments: Backend.allCases)
    func signedHeadersReplayedWithAnotherBodyAreRefused(backend: Backend) async throws {
        try await PayPalWorld.run(backend) { world in
            let first = world.provider.event(eventType: "CUSTOMER.CREATED", resourceType: "customer", resource: ["id": "C-1"])
            let other = world.provider.event(eventType: "CUSTOMER.CREATED", resourceType: "customer", resource: ["id": "C-2"])
            let transmission = world.provider.signedTransmission(for: first.body, webhookID: webhookID)
            let accepted = try await world.provider.post(first.body, transmission: transmission, to: world.webhookURL)
            #expect(accepted.status == 200, "\(accepted.body)")
            let again = try await world.provider.post(first.body, transmission: transmission, to: world.webhookURL)
            #expect(again.status == 200, "a redelivery of the same body is a duplicate, not a forgery: \(again.body)")
            let forged = try await world.provider.post(other.body, transmission: transmission, to: world.webhookURL)
            #expect(forged.status == 400)
            #expect(forged.body.contains("transmission-reused"), "\(forged.body)")
            // The same id followed by white space the signature's check trims (a no-break space, an em space) is the
            // same transmission, not a new one.
            for space in ["\u{00A0}", "\u{2003}", " "] {
                var respaced = transmission
                respaced.transmissionID = (transmission.transmissionID ?? "") + space
                let again = try await world.provider.post(other.body, transmission: respaced, to: world.webhookURL)
                #expect(again.status == 400 && again.body.contains("transmission-reused"), "\(space.unicodeScalars.map(\.value)): \(again.status) \(again.body)")
            }
        }
    }
}

/// Money events are notices: what is recorded is what PayPal's API says, fetched before anything is written.
/// And a capture the ledger asks for is asked for once.
@Suite("PayPal on fetched truth")
struct PayPalFetchedTruthTests {
    /// A signed body may say anything its CRC-32 allows: the amount and profile recorded are the API's.
    @Test(arguments: Backend.allCases)
    func aCaptureIsRecordedAsTheAPIDescribesItNotAsTheEventSays(backend: Backend) async throws {
        try await PayPalWorld.run(backend) { world in
            try await world.certifiedProfile("pp-5")
            try await world.certifiedProfile("pp-6")
            let captureID = try await world.payThroughPayPal("pp-5")
            let readsBefore = world.provider.resourceReadCount
            let altered = world.provider.alteredCaptureEvent(captureID: captureID, changes: [
                "amount": ["currency_code": "EUR", "value": "9999.00"] as [String: any Sendable], "custom_id": "listing:pp-6",
            ])
            let delivered = try await world.deliver(altered)
            #expect(delivered.status == 200, "\(delivered.body)")
            #expect(world.provider.resourceReadCount == readsBefore + 1)
            let payment = try await world.client.execute(uri: "/api/v1/payments/paypal-\(captureID)", method: .get, headers: world.staff)
            #expect(payment.json["amount"] as? String == "125.00", "\(payment.text)")
            #expect(try await world.listing("pp-5")["visible"] as? Bool == true)
            #expect(try await world.listing("pp-6")["visible"] as? Bool == false)
            #expect(try await world.deliver(altered).status == 200)
            #expect(world.provider.resourceReadCount == readsBefore + 1, "a redelivery is a duplicate and asks PayPal nothing")
        }
    }

    /// A `COMPLETED` notice for a capture PayPal's API still shows as pending is not confirmed: nothing is
    /// recorded, and the answer makes PayPal deliver it again, when the API may agree.
    @Test(arguments: Backend.allCases)
    func aCompletedNoticeForACaptureTheAPIStillHoldsRecordsNothing(backend: Backend) async throws {
        try await PayPalWorld.run(backend) { world in
            try await world.certifiedProfile("pp-7")
            world.provider.setCapturesPending(true)
            let captureID = try await world.payThroughPayPal("pp-7")
            let notice = world.provider.alteredCaptureEvent(captureID: captureID, changes: ["status": "COMPLETED"])
            let answered = try await world.deliver(notice)
            #expect(answered.status == 502, "\(answered.body)")
            #expect(try await world.runtime.store.readStream("payment-paypal-\(captureID)", fromVersion: 1, limit: 10).isEmpty)
            #expect(try await world.listing("pp-7")["visible"] as? Bool == false)
            // Once PayPal completes it, the same notice is confirmed and lists the profile.
            let completed = world.provider.captureCompletedEvent(captureID: captureID)
            #expect(try await world.deliver(completed).status == 200)
            #expect(try await world.listing("pp-7")["visible"] as? Bool == true)
        }
    }

    @Test(arguments: Backend.allCases)
    func anEventNamingAResourcePayPalDoesNotKnowIsRefusedAndWritesNothing(backend: Backend) async throws {
        try await PayPalWorld.run(backend) { world in
            try await world.certifiedProfile("pp-8")
            try await (world.runtime.store as? any EventStoreTestHooks)?.waitUntilAllCommittedEventsAreVisible()
            let head = try await world.runtime.store.headCursor()
            let invented = world.provider.alteredCaptureEvent(captureID: "NOSUCHCAPTURE0001", changes: ["custom_id": "listing:pp-8"])
            let refused = try await world.deliver(invented)
            #expect(refused.status == 400)
            #expect(refused.body.contains("unknown-resource"), "\(refused.body)")
            try await (world.runtime.store as? any EventStoreTestHooks)?.waitUntilAllCommittedEventsAreVisible()
            #expect(try await world.runtime.store.headCursor() == head)
            #expect(try await world.listing("pp-8")["visible"] as? Bool == false)
        }
    }

    /// When PayPal's API cannot answer, nothing is recorded and the answer makes PayPal deliver again.
    @Test(arguments: Backend.allCases)
    func anEventPayPalCannotConfirmNowIsNotRecordedAndItsRedeliveryIs(backend: Backend) async throws {
        try await PayPalWorld.run(backend) { world in
            try await world.certifiedProfile("pp-9")
            let captureID = try await world.payThroughPayPal("pp-9")
            let event = world.provider.captureCompletedEvent(captureID: captureID)
            world.provider.failNextRequests(status: 500, count: 1)
            let failed = try await world.deliver(event)
            #expect(failed.status == 502, "\(failed.body)")
            #expect(try await world.listing("pp-9")["visible"] as? Bool == false)
            let again = try await world.deliver(event)
            #expect(again.status == 200, "\(again.body)")
            #expect(again.body.contains("\"duplicate\":false"), "\(again.body)")
            #expect(try await world.listing("pp-9")["visible"] as? Bool == true)
        }
    }

    /// Refunds and disputes are read from the API too: a refund notice claiming more than was refunded
    /// records what PayPal refunded.
    @Test(arguments: Backend.allCases)
    func aRefundIsRecordedAsTheAPIDescribesIt(backend: Backend) async throws {
        try await PayPalWorld.run(backend) { world in
            try await world.certifiedProfile("pp-10")
            let captureID = try await world.payThroughPayPal("pp-10")
            #expect(try await world.deliver(world.provider.captureCompletedEvent(captureID: captureID)).status == 200)
            let refundID = world.provider.refundOutOfBand(captureID: captureID, amount: Money(minorUnits: 2_500, currency: "EUR"))
            let honest = world.provider.captureRefundedEvent(refundID: refundID)
            let inflated = Data(String(decoding: honest.body, as: UTF8.self).replacingOccurrences(of: "\"value\":\"25.00\"", with: "\"value\":\"125.00\"").utf8)
            #expect(inflated != honest.body)
            let delivered = try await world.deliver(PayPalStandInEvent(id: honest.id, eventType: honest.eventType, body: inflated))
            #expect(delivered.status == 200, "\(delivered.body)")
            let payment = try await world.client.execute(uri: "/api/v1/payments/paypal-\(captureID)", method: .get, headers: world.staff)
            #expect(payment.json["refunded"] as? String == "25.00", "\(payment.text)")

            #expect(try await world.deliver(world.provider.disputeCreatedEvent(captureID: captureID)).status == 200)
            #expect(try await world.deliver(world.provider.disputeResolvedEvent(captureID: captureID, outcome: "RESOLVED_SELLER_FAVOUR")).status == 200)
            let types = try await world.runtime.store.readStream("payment-paypal-\(captureID)", fromVersion: 1, limit: 100).map(\.type)
            #expect(types.filter { $0.contains("Dispute") }.count == 2, "\(types)")
        }
    }

    /// A chargeback PayPal reverses (`PAYMENT.CAPTURE.REVERSED`, a refund id of its own) hides the listing, and
    /// the seller winning the capture's dispute (its own dispute id) brings the listing and the money back.
    @Test(arguments: Backend.allCases)
    func aReversalIsUndoneWhenTheSellerWinsTheDispute(backend: Backend) async throws {
        try await PayPalWorld.run(backend) { world in
            let captureID = try await world.listedThroughPayPal("pp-14")
            #expect(try await world.listing("pp-14")["visible"] as? Bool == true)
            let clearing = try #require(try await Self.balance("Assets:Clearing:PayPal", world))

            #expect(try await world.deliver(world.provider.disputeCreatedEvent(captureID: captureID)).status == 200)
            let reversed = try await world.deliver(world.provider.captureReversedEvent(captureID: captureID))
            #expect(reversed.status == 200, "\(reversed.body)")
            let hidden = try await world.listing("pp-14")
            #expect(hidden["visible"] as? Bool == false, "\(hidden)")
            #expect(try await Self.balance("Income:Chargebacks", world) == "125.00")

            let won = try await world.deliver(world.provider.disputeResolvedEvent(captureID: captureID, outcome: "RESOLVED_SELLER_FAVOUR"))
            #expect(won.status == 200, "\(won.body)")
            let listed = try await world.listing("pp-14")
            #expect(listed["visible"] as? Bool == true, "\(listed)")
            #expect((listed["basis"] as? [String: Any])?["paymentIDs"] as? [String] == ["paypal-\(captureID)"])
            #expect(try await Self.balance("Income:Chargebacks", world) == "0.00", "nothing is left charged back")
            #expect(try await Self.balance("Assets:Clearing:PayPal", world) == clearing)
        }
    }

    /// A dispute the seller won does not undo a reversal PayPal makes later: the reversal stands on its own until
    /// the dispute it belongs to is known (PayPal may date that dispute a moment after the reversal), and that
    /// dispute lost is the same money, taken once.
    @Test(arguments: Backend.allCases)
    func aReversalAfterADisputeWasWonStaysTaken(backend: Backend) async throws {
        let ahead = Mutex(0.0)
        let tick: @Sendable () -> Void = { ahead.withLock { $0 += 2 } }
        try await PayPalWorld.run(backend, providerNow: { Date() + ahead.withLock { $0 } }) { world in
            let captureID = try await world.listedThroughPayPal("pp-15")
            let clearing = try #require(try await Self.balance("Assets:Clearing:PayPal", world))
            #expect(try await world.deliver(world.provider.disputeCreatedEvent(captureID: captureID, disputeID: "PP-D-1001")).status == 200)
            tick()
            let won = try await world.deliver(world.provider.disputeResolvedEvent(captureID: captureID, disputeID: "PP-D-1001", outcome: "RESOLVED_SELLER_FAVOUR"))
            #expect(won.status == 200, "\(won.body)")
            #expect(try await world.listing("pp-15")["visible"] as? Bool == true)

            // A later chargeback of part of the payment: 50.00 reversed, then 50.00 disputed.
            let part = Money(minorUnits: 5_000, currency: "EUR")
            tick()
            let reversed = try await world.deliver(world.provider.captureReversedEvent(captureID: captureID, amount: part))
            #expect(reversed.status == 200, "\(reversed.body)")
            let hidden = try await world.listing("pp-15")
            #expect(hidden["visible"] as? Bool == false, "the dispute won before the reversal does not undo it: \(hidden)")
            #expect(try await Self.balance("Income:Chargebacks", world) == "50.00")

            tick()
            let opened = try await world.deliver(world.provider.disputeCreatedEvent(captureID: captureID, disputeID: "PP-D-1002", amount: part))
            #expect(opened.status == 200, "\(opened.body)")
            tick()
            let lost = try await world.deliver(world.provider.disputeResolvedEvent(captureID: captureID, disputeID: "PP-D-1002", outcome: "RESOLVED_BUYER_FAVOUR"))
            #expect(lost.status == 200, "\(lost.body)")
            #expect(try await world.listing("pp-15")["visible"] as? Bool == false)
            #expect(try await Self.balance("Income:Chargebacks", world) == "50.00", "the reversal and the dispute lost are one sum")
            let left = try #require(Decimal(string: clearing)) - 50
            #expect(try await Self.balance("Assets:Clearing:PayPal", world).flatMap { Decimal(string: $0) } == left)
        }
    }

    /// An account's balance in today's trial balance; nil when nothing was ever posted to it.
    static func balance(_ account: String, _ world: PayPalWorld) async throws -> String? {
        let trial = try await world.client.execute(uri: "/api/v1/books/trial-balance", method: .get, headers: world.staff)
        #expect(trial.json["balanced"] as? Bool == true, "\(trial.text)")
        let accounts = (trial.json["accounts"] as? [[String: Any]]) ?? []
        return accounts.first { $0["account"] as? String == account }?["balance"] as? String
    }

    /// However many deliveries of one approval arrive at once, PayPal is asked to capture once; later ones and
    /// the buyer's return are answered from the record.
    @Test(arguments: Backend.allCases)
    func tenConcurrentApprovalsCaptureOnce(backend: Backend) async throws {
        try await PayPalWorld.run(backend) { world in
            try await world.certifiedProfile("pp-11")
            let orderID = try await world.startCheckout("pp-11")
            let approval = world.provider.orderApprovedEvent(orderID: orderID)
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<10 { group.addTask { try await world.deliver(approval).status } }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            // One delivery captures; the others answer 200 once it has, or 409 `in-progress` while it is calling
            // PayPal, so PayPal delivers them again.
            #expect(statuses.allSatisfy { $0 == 200 || $0 == 409 }, "\(statuses)")
            #expect(statuses.contains(200))
            #expect(world.provider.captureRequestCount == 1)
            let capture = try #require(world.provider.capture(ofOrder: orderID))
            #expect(try await world.deliver(approval).status == 200)
            let returned = try await world.post("/api/v1/paypal/orders/\(orderID)/capture", world.website, [:])
            #expect(returned.status == .ok, "\(returned.text)")
            #expect(returned.json["captureId"] as? String == capture.id)
            #expect(world.provider.captureRequestCount == 1, "a redelivery and the buyer's return call PayPal no more")
        }
    }

    /// A capture PayPal refuses for good (the buyer's card declined) is recorded as refused and the approval
    /// acknowledged: delivered again, it is not asked for again. The buyer approves with another card and comes
    /// back, and the order is captured then.
    @Test(arguments: Backend.allCases)
    func aCaptureRefusedForGoodIsNotAskedForAgainByTheApproval(backend: Backend) async throws {
        try await PayPalWorld.run(backend) { world in
            try await world.certifiedProfile("pp-13")
            let orderID = try await world.startCheckout("pp-13")
            let approval = world.provider.orderApprovedEvent(orderID: orderID)
            try world.provider.declineInstrument(ofOrder: orderID)
            let refused = try await world.deliver(approval)
            #expect(refused.status == 200, "\(refused.body)")
            #expect(world.provider.captureRequestCount == 1)
            let again = try await world.deliver(approval)
            #expect(again.status == 200 && again.body.contains("\"duplicate\":true"), "\(again.body)")
            #expect(world.provider.captureRequestCount == 1, "a duplicate of a refused approval asks for nothing")
            let stream = try await world.runtime.store.readStream("paypal-capture-\(orderID)", fromVersion: 1, limit: 10)
            #expect(stream.map(\.type) == ["PayPalCaptureClaimed", "PayPalCaptureRefused"])
            let refusal = try #require(stream.last)
            #expect(String(decoding: refusal.data, as: UTF8.self).contains("PayPal refused"), "the refusal is recorded")

            try world.provider.approve(orderID)
            let returned = try await world.post("/api/v1/paypal/orders/\(orderID)/capture", world.website, [:])
            #expect(returned.status == .ok, "\(returned.text)")
            #expect(world.provider.capture(ofOrder: orderID) != nil)
            #expect(world.provider.captureRequestCount == 2)

            // Any other refusal (here a 422 naming no declined card) answers 502, and the redelivery asks again.
            let second = try await world.startCheckout("pp-13")
            let secondApproval = world.provider.orderApprovedEvent(orderID: second)
            world.provider.failNextRequests(status: 422, count: 1)
            let failed = try await world.deliver(secondApproval)
            #expect(failed.status == 502, "\(failed.body)")
            #expect(try await world.deliver(secondApproval).status == 200)
            #expect(world.provider.capture(ofOrder: second) != nil)
        }
    }

    /// A capture that failed is recorded as failed, and PayPal's redelivery of the approval tries again.
    @Test
    func aFailedCaptureIsTriedAgainByTheRedelivery() async throws {
        try await PayPalWorld.run(.sqlite) { world in
            try await world.certifiedProfile("pp-12")
            let orderID = try await world.startCheckout("pp-12")
            let approval = world.provider.orderApprovedEvent(orderID: orderID)
            world.provider.failNextRequests(status: 500, count: 1)
            let failed = try await world.deliver(approval)
            #expect(failed.status == 502, "\(failed.body)")
            #expect(world.provider.capture(ofOrder: orderID) == nil)
            let again = try await world.deliver(approval)
            #expect(again.status == 200, "\(again.body)")
            #expect(again.body.contains("\"duplicate\":true"), "the approval was on record before the capture was tried")
            #expect(world.provider.capture(ofOrder: orderID) != nil)
            #expect(world.provider.captureRequestCount == 2)
            let types = try await world.runtime.store.readStream("paypal-capture-\(orderID)", fromVersion: 1, limit: 10).map(\.type)
            #expect(types == ["PayPalCaptureClaimed", "PayPalCaptureFailed", "PayPalCaptureClaimed", "PayPalCaptureSucceeded"])
        }
    }
}
