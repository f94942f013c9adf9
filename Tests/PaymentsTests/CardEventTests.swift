import Foundation
import LedgerCore
import Payments
import Testing

@Suite struct CardEventTests {
    static let examplesDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("webhooks/inbound/card/examples")

    static let reference = CardReference(profileID: "mediator-0042", purpose: "listing")
    static let fullAmount = Money(minorUnits: 12500, currency: "EUR")

    static func example(_ name: String) throws -> CardEvent {
        let body = try Data(contentsOf: examplesDirectory.appendingPathComponent("\(name).json"))
        return try CardEvent.parse(body)
    }

    static func session(_ status: String, _ stage: CheckoutSessionFact.Stage) -> CardFact {
        .checkoutSession(
            CheckoutSessionFact(
                sessionID: "cs_test_a1Kq8ZrT4bXw0042",
                paymentIntentID: "pi_test_3QmXv7Lk2Rt0042",
                paymentStatus: status,
                amountTotal: fullAmount,
                reference: reference,
                stage: stage
            )
        )
    }

    static func dispute(_ phase: DisputeFact.Phase, _ status: String) -> CardFact {
        .dispute(
            DisputeFact(
                disputeID: "dp_test_1QnBv5Hj8Ws0042",
                chargeID: "ch_test_3QmXv7Lk2Rt0042",
                paymentIntentID: "pi_test_3QmXv7Lk2Rt0042",
                amount: fullAmount,
                phase: phase,
                status: status
            )
        )
    }

    static func chargeRefunded(_ refundedMinorUnits: Int64, fully: Bool) -> CardFact {
        .chargeRefunded(
            ChargeRefundFact(
                chargeID: "ch_test_3QmXv7Lk2Rt0042",
                paymentIntentID: "pi_test_3QmXv7Lk2Rt0042",
                amount: fullAmount,
                amountRefunded: .euros(minorUnits: refundedMinorUnits),
                fullyRefunded: fully,
                reference: reference
            )
        )
    }

    static let expectations: [(file: String, id: String, fact: CardFact)] = [
        ("checkout.session.completed.paid", "evt_test_1QmXv8Lk2Rt0042Sc", session("paid", .completed)),
        ("checkout.session.async_payment_succeeded", "evt_test_1QmYa2Lk2Rt0042As", session("paid", .asyncSucceeded)),
        ("checkout.session.async_payment_failed", "evt_test_1QmYa3Lk2Rt0042Af", session("unpaid", .asyncFailed)),
        (
            "payment_intent.succeeded", "evt_test_3QmXv8Lk2Rt0042Pi",
            .paymentIntent(PaymentIntentFact(paymentIntentID: "pi_test_3QmXv7Lk2Rt0042", amount: fullAmount, reference: reference, succeeded: true))
        ),
        ("charge.refunded.partial", "evt_test_3QnA12Lk2Rt0042Cr", chargeRefunded(5000, fully: false)),
        ("charge.refunded.full", "evt_test_3QnC23Lk2Rt0042Cr", chargeRefunded(12500, fully: true)),
        (
            "refund.created", "evt_test_3QnA13Lk2Rt0042Rc",
            .refund(
                RefundFact(
                    refundID: "re_test_3QnA11Lk2Rt0042",
                    paymentIntentID: "pi_test_3QmXv7Lk2Rt0042",
                    chargeID: "ch_test_3QmXv7Lk2Rt0042",
                    amount: .euros(minorUnits: 5000),
                    status: "succeeded",
                    created: Date(timeIntervalSince1970: 1_780_128_000)
                )
            )
        ),
        ("charge.dispute.created", "evt_test_1QnBv6Hj8Ws0042Dc", dispute(.created, "needs_response")),
        ("charge.dispute.funds_withdrawn", "evt_test_1QnBv7Hj8Ws0042Dw", dispute(.fundsWithdrawn, "needs_response")),
        ("charge.dispute.closed.won", "evt_test_1QpRe2Hj8Ws0042Dx", dispute(.closed, "won")),
        ("customer.created", "evt_test_1QmXu1Lk2Rt0042Cu", .other),
    ]

    @Test(arguments: 0..<expectations.count)
    func examplePayloadParsesToExpectedFact(index: Int) throws {
        let expected = Self.expectations[index]
        let event = try Self.example(expected.file)
        #expect(event.id == expected.id)
        #expect(event.type == expected.file.split(separator: ".").prefix(while: { $0 != "paid" && $0 != "partial" && $0 != "full" && $0 != "won" }).joined(separator: "."))
        #expect(event.livemode == false)
        #expect(event.fact == expected.fact)
    }

    @Test func everyExampleFileIsCovered() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.examplesDirectory.path)
            .filter { $0.hasSuffix(".json") }
            .map { String($0.dropLast(".json".count)) }
        #expect(Set(files) == Set(Self.expectations.map(\.file)))
    }

    @Test func createdIsReadAsUnixSeconds() throws {
        let event = try Self.example("checkout.session.completed.paid")
        #expect(event.created == Date(timeIntervalSince1970: 1_780_041_602))
    }

    /// A refund's `created` is read when it lies in 2000 … 2199, and left out otherwise: no timestamp can make
    /// an instant the ledger cannot order or store.
    @Test(arguments: [(Int64(1_780_128_000), true), (Int64.max, false), (-62_135_596_800, false), (253_402_300_800, false)])
    func aRefundsCreatedTimeIsReadOnlyWithinTheLedgersYears(created: Int64, kept: Bool) throws {
        let object = #"{"id":"re_1","object":"refund","amount":500,"currency":"eur","status":"failed","payment_intent":"pi_1","created":\#(created)}"#
        let event = try CardEvent.parse(Self.envelope(type: "refund.failed", object: object))
        guard case .refund(let refund) = event.fact else {
            Issue.record("expected a refund, got \(event.fact)")
            return
        }
        #expect(refund.created == (kept ? Date(timeIntervalSince1970: TimeInterval(created)) : nil))
    }

    static func envelope(type: String, object: String, id: String = "evt_test_1") -> Data {
        Data(#"{"id":"\#(id)","object":"event","created":1780041600,"livemode":false,"type":"\#(type)","data":{"object":\#(object)}}"#.utf8)
    }

    @Test func unknownTypeIsOtherEvenWithAnUnusualObject() throws {
        let event = try CardEvent.parse(Self.envelope(type: "invoice.paid", object: #"{"id":"in_1","amount_paid":"not a number"}"#))
        #expect(event.fact == .other)
        #expect(event.type == "invoice.paid")
    }

    /// A session in setup mode takes no money: Stripe sends it with `amount_total` and `currency` null. It is no
    /// payment of ours, and is read as such rather than refused (a refusal would be delivered again for days).
    @Test func aSessionThatTakesNoMoneyIsNoPayment() throws {
        let object = #"{"id":"cs_1","object":"checkout.session","mode":"setup","payment_status":"no_payment_required","amount_total":null,"currency":null,"payment_intent":null}"#
        #expect(try CardEvent.parse(Self.envelope(type: "checkout.session.completed", object: object)).fact == .other)
        // With an amount missing but a payment named, it is still refused, naming the field.
        let broken = #"{"id":"cs_1","payment_status":"paid","payment_intent":"pi_1","currency":"eur"}"#
        #expect(throws: PaymentsError(.malformedEvent, "")) { try CardEvent.parse(Self.envelope(type: "checkout.session.completed", object: broken)) }
    }

    @Test func sessionReferenceFallsBackToMetadata() throws {
        let object = #"{"id":"cs_1","payment_status":"paid","amount_total":9900,"currency":"usd","client_reference_id":null,"metadata":{"profile_id":"advocate-7","purpose":"donation"}}"#
        let event = try CardEvent.parse(Self.envelope(type: "checkout.session.completed", object: object))
        guard case .checkoutSession(let session) = event.fact else {
            Issue.record("expected a checkout session, got \(event.fact)")
            return
        }
        #expect(session.reference == CardReference(profileID: "advocate-7", purpose: "donation"))
        #expect(session.amountTotal == Money(minorUnits: 9900, currency: "USD"))
        #expect(session.paymentIntentID == nil)
    }

    /// The provider counts Icelandic krónur in hundredths and Malagasy ariary in whole units, where ISO 4217 (and
    /// the ledger) counts krónur whole and ariary in hundredths; every other currency as ISO 4217 does.
    @Test(arguments: [
        ("isk", Int64(1_250_000), Money(minorUnits: 12_500, currency: "ISK")),
        ("mga", 500, Money(minorUnits: 50_000, currency: "MGA")),
        ("jpy", 1_000, Money(minorUnits: 1_000, currency: "JPY")),
        ("kwd", 1_250, Money(minorUnits: 1_250, currency: "KWD")),
        ("eur", 12_500, Money.euros(minorUnits: 12_500)),
    ])
    func amountsAreReadAsTheProviderCountsThem(currency: String, units: Int64, money: Money) throws {
        let object = #"{"id":"pi_1","amount":\#(units),"currency":"\#(currency)","metadata":{}}"#
        let event = try CardEvent.parse(Self.envelope(type: "payment_intent.succeeded", object: object))
        #expect(event.fact == .paymentIntent(PaymentIntentFact(paymentIntentID: "pi_1", amount: money, reference: nil, succeeded: true)))
        #expect(CardAmounts.providerUnits(money) == units)
    }

    @Test func aFractionOfAWholeAriaryCannotBeSentToTheProvider() {
        #expect(CardAmounts.providerUnits(Money(minorUnits: 50_050, currency: "MGA")) == nil)
        #expect(!CardAmounts.accepts(Money(minorUnits: 1, currency: "MGA")))
        #expect(CardAmounts.providerUnits(Money(minorUnits: .max, currency: "ISK")) == nil)
        #expect(CardAmounts.money(providerUnits: 12_550, currency: "isk") == nil)
    }

    @Test func failedPaymentIntentReportsTheAttemptedAmount() throws {
        let object = #"{"id":"pi_1","amount":12500,"amount_received":0,"currency":"eur","metadata":{}}"#
        let event = try CardEvent.parse(Self.envelope(type: "payment_intent.payment_failed", object: object))
        #expect(event.fact == .paymentIntent(PaymentIntentFact(paymentIntentID: "pi_1", amount: Self.fullAmount, reference: nil, succeeded: false)))
    }

    @Test func clientReferenceSplitsAtTheFirstColon() {
        #expect(CardReference(clientReferenceID: "listing:mediator-0042") == Self.reference)
        #expect(CardReference(clientReferenceID: "listing:a:b")?.profileID == "a:b")
        #expect(CardReference(clientReferenceID: "listing:") == nil)
        #expect(CardReference(clientReferenceID: ":mediator-0042") == nil)
        #expect(CardReference(clientReferenceID: "mediator-0042") == nil)
        #expect(Self.reference.clientReferenceID == "listing:mediator-0042")
    }

    @Test(arguments: [
        "not json",
        "[1,2,3]",
        #"{"object":"event","created":1,"type":"customer.created","data":{"object":{}}}"#,
        #"{"id":"evt_1","object":"event","type":"customer.created","data":{"object":{}}}"#,
        #"{"id":"evt_1","object":"event","created":1,"data":{"object":{}}}"#,
        #"{"id":"evt_1","object":"event","created":1,"type":"customer.created","data":{}}"#,
        #"{"id":"evt_1","object":"event","created":1,"type":"customer.created","data":{"object":"cus_1"}}"#,
        #"{"id":"evt_1","object":"charge","created":1,"type":"customer.created","data":{"object":{}}}"#,
        #"{"id":"evt_1","object":"event","created":"yesterday","type":"customer.created","data":{"object":{}}}"#,
    ])
    func bodyThatIsNotAnEventIsMalformed(body: String) {
        #expect(throws: PaymentsError(.malformedEvent, "")) {
            try CardEvent.parse(Data(body.utf8))
        }
    }

    @Test(arguments: ["", "evt_", "ch_123", "evt-123", "evt_12 3", "evt_1;drop", "evt_é", "evt_" + String(repeating: "a", count: 201)])
    func badEventIDIsMalformed(id: String) {
        #expect(throws: PaymentsError(.malformedEvent, "")) {
            try CardEvent.parse(Self.envelope(type: "customer.created", object: "{}", id: id))
        }
    }

    @Test func longestAllowedEventIDIsAccepted() throws {
        let id = "evt_" + String(repeating: "a", count: 200)
        #expect(try CardEvent.parse(Self.envelope(type: "customer.created", object: "{}", id: id)).id == id)
    }

    @Test(arguments: [
        ("checkout.session.completed", #"{"id":"cs_1","payment_status":"paid","amount_total":1,"currency":"eur","payment_intent":"pi_1-2"}"#, "payment_intent"),
        ("payment_intent.succeeded", "{\"id\":\"pi_\(String(repeating: "1", count: 198))\",\"amount\":1,\"currency\":\"eur\"}", "id"),
        ("charge.dispute.closed", #"{"id":"dp_1","charge":"","amount":1,"currency":"eur","status":"won"}"#, "charge"),
        ("refund.created", #"{"id":"re_1","charge":"ch 1","amount":1,"currency":"eur","status":"pending"}"#, "charge"),
        ("checkout.session.completed", #"{"id":"cs_1","payment_status":"paid","currency":"eur"}"#, "amount_total"),
        ("checkout.session.completed", #"{"id":"cs_1","payment_status":"paid","amount_total":1}"#, "currency"),
        ("payment_intent.succeeded", #"{"amount":1,"currency":"eur"}"#, "id"),
        ("charge.refunded", #"{"id":"ch_1","amount":1,"amount_refunded":1,"currency":"eur"}"#, "refunded"),
        ("refund.created", #"{"id":"re_1","amount":1,"currency":"eur"}"#, "status"),
        ("charge.dispute.closed", #"{"id":"dp_1","amount":1,"currency":"eur","status":"won"}"#, "charge"),
        ("charge.refunded", #"{"id":"ch_1","amount":"12500","amount_refunded":0,"currency":"eur","refunded":false}"#, "amount"),
        ("refund.created", #"{"id":"re_1","amount":-5,"currency":"eur","status":"pending"}"#, "amount"),
        ("refund.created", #"{"id":"re_1","amount":5,"currency":"euro","status":"pending"}"#, "currency"),
        // Past the ledger's amount limit (10000000000.00 in minor units).
        ("checkout.session.completed", #"{"id":"cs_1","payment_status":"paid","amount_total":1000000000001,"currency":"eur"}"#, "amount_total"),
        ("refund.created", #"{"id":"re_1","amount":9223372036854775807,"currency":"eur","status":"succeeded"}"#, "amount"),
        // Krónur are counted in hundredths of whole krónur; ariary counted past the limit once made hundredths.
        ("refund.created", #"{"id":"re_1","amount":12550,"currency":"isk","status":"succeeded"}"#, "amount"),
        ("refund.created", #"{"id":"re_1","amount":92233720368547758,"currency":"mga","status":"succeeded"}"#, "amount"),
    ])
    func knownTypeLackingAFieldNamesIt(type: String, object: String, field: String) {
        do {
            _ = try CardEvent.parse(Self.envelope(type: type, object: object))
            Issue.record("\(type) without \(field) was accepted")
        } catch {
            #expect(error.code == .malformedEvent)
            #expect(error.message.contains(field), "message: \(error.message)")
        }
    }
}
