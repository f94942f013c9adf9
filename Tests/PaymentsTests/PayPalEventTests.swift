import Foundation
import LedgerCore
import Payments
import Testing

@Suite struct PayPalEventTests {
    static let examplesDirectory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("webhooks/inbound/paypal/examples")

    static let captureID = "3C679366HH908993F"
    static let orderID = "5O190127TN364715T"
    static let customID = "listing:mediator-0042"
    static let fullAmount = Money(minorUnits: 12500, currency: "EUR")

    static func example(_ name: String) throws -> PayPalEvent {
        let body = try Data(contentsOf: examplesDirectory.appendingPathComponent("\(name).json"))
        return try PayPalEvent.parse(body)
    }

    static func capture(_ status: String, _ kind: PayPalCaptureFact.Kind) -> PayPalFact {
        .capture(
            PayPalCaptureFact(
                captureID: captureID,
                status: status,
                amount: fullAmount,
                fee: Money(minorUnits: 460, currency: "EUR"),
                customID: customID,
                invoiceID: "LL-2025-000042",
                orderID: orderID,
                kind: kind
            )
        )
    }

    /// A time as PayPal prints it, e.g. `2025-03-10T14:27:02Z`.
    static func time(_ text: String) -> Date? { try? Date(text, strategy: Date.ISO8601FormatStyle()) }

    static func refund(_ id: String, _ minorUnits: Int64, _ kind: PayPalRefundFact.Kind, created: String) -> PayPalFact {
        .refund(
            PayPalRefundFact(
                refundID: id,
                captureID: captureID,
                amount: .euros(minorUnits: minorUnits),
                status: "COMPLETED",
                customID: customID,
                kind: kind,
                createdAt: time(created)
            )
        )
    }

    static func dispute(_ phase: PayPalDisputeFact.Phase, status: String, outcome: String?, updated: String) -> PayPalFact {
        .dispute(
            PayPalDisputeFact(
                disputeID: "PP-D-27803",
                captureIDs: [captureID],
                amount: fullAmount,
                outcome: outcome,
                status: status,
                phase: phase,
                createdAt: time("2025-03-20T08:12:44Z"),
                updatedAt: time(updated)
            )
        )
    }

    static let expectations: [(file: String, id: String, fact: PayPalFact)] = [
        (
            "CHECKOUT.ORDER.APPROVED", "WH-7Y7254563A4550640-11C85146MK032031A",
            .orderApproved(PayPalOrderApprovedFact(orderID: orderID, customID: customID, amount: fullAmount))
        ),
        ("PAYMENT.CAPTURE.COMPLETED", "WH-58D329510W468432D-8HN650336L201105X", capture("COMPLETED", .completed)),
        ("PAYMENT.CAPTURE.PENDING", "WH-1GE84257G0350133W-6RW800890C634293G", capture("PENDING", .pending)),
        ("PAYMENT.CAPTURE.DENIED", "WH-4SW78779LY2325805-07E03580SX1414828", capture("DECLINED", .denied)),
        ("PAYMENT.CAPTURE.REFUNDED", "WH-1S115631EN580315E-9KH94552VF7913711", refund("1JU08902781691411", 12500, .refunded, created: "2025-03-10T14:27:02Z")),
        ("PAYMENT.CAPTURE.REFUNDED.partial", "WH-6TD369808N914414D-1YJ376786E892292F", refund("0NA49127TK287533E", 10, .refunded, created: "2025-03-05T16:40:15Z")),
        ("PAYMENT.CAPTURE.REVERSED", "WH-6F207351SC284371F-0KX52201050121307", refund("8RH61452YT7823120", 12500, .reversed, created: "2025-04-02T07:15:41Z")),
        ("CUSTOMER.DISPUTE.CREATED", "WH-4M0448861G563140B-9EX36365822141321", dispute(.created, status: "OPEN", outcome: nil, updated: "2025-03-20T08:12:44Z")),
        (
            "CUSTOMER.DISPUTE.RESOLVED", "WH-2N242548W9943490U-1JU23391CS4765624",
            dispute(.resolved, status: "RESOLVED", outcome: "RESOLVED_BUYER_FAVOUR", updated: "2025-04-01T10:05:08Z")
        ),
        (
            "CUSTOMER.DISPUTE.RESOLVED.seller", "WH-9K6061312L5207406-3LD78436SV2218536",
            dispute(.resolved, status: "RESOLVED", outcome: "RESOLVED_SELLER_FAVOUR", updated: "2025-04-03T12:44:27Z")
        ),
        ("CATALOG.PRODUCT.CREATED", "WH-55TG7562XN2588878-8YH955435R661687G", .other),
    ]

    @Test(arguments: 0..<expectations.count)
    func exampleIsReadIntoItsFact(index: Int) throws {
        let expected = Self.expectations[index]
        let event = try Self.example(expected.file)
        #expect(event.id == expected.id)
        #expect(expected.file.hasPrefix(event.eventType))
        #expect(event.fact == expected.fact)
    }

    @Test func everyExampleFileIsCovered() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.examplesDirectory.path)
            .filter { $0.hasSuffix(".json") }
            .map { String($0.dropLast(".json".count)) }
        #expect(Set(files) == Set(Self.expectations.map(\.file)))
    }

    @Test func createTimeKeepsFractionalSeconds() throws {
        let event = try Self.example("PAYMENT.CAPTURE.COMPLETED")
        #expect(abs(event.createTime.timeIntervalSince1970 - 1_740_994_889.872) < 0.000_5)
    }

    @Test func referenceIsReadFromCustomID() throws {
        guard case .capture(let capture) = try Self.example("PAYMENT.CAPTURE.COMPLETED").fact else {
            Issue.record("not a capture")
            return
        }
        #expect(capture.reference == PayPalReference(profileID: "mediator-0042", purpose: "listing"))
    }

    @Test func declinedIsReadLikeDenied() throws {
        let body = try Self.body("PAYMENT.CAPTURE.DENIED").replacingOccurrences(of: "\"PAYMENT.CAPTURE.DENIED\"", with: "\"PAYMENT.CAPTURE.DECLINED\"")
        let event = try PayPalEvent.parse(Data(body.utf8))
        #expect(event.eventType == "PAYMENT.CAPTURE.DECLINED")
        #expect(event.fact == Self.capture("DECLINED", .denied))
    }

    @Test(arguments: [("125.00", 12500), ("0.10", 10), ("0.01", 1), ("125", 12500), ("7.5", 750), ("10000000000.00", 1_000_000_000_000)])
    func amountIsReadExactlyFromTheDecimalString(value: String, minorUnits: Int64) throws {
        let event = try PayPalEvent.parse(Self.capture(value: value))
        guard case .capture(let capture) = event.fact else {
            Issue.record("not a capture")
            return
        }
        #expect(capture.amount == Money(minorUnits: minorUnits, currency: "EUR"))
    }

    @Test(arguments: ["125,00", "-125.00", "125.001", "1e2", "", " 125.00", "92233720368547758.08", "0x10", "10000000000.01", "92233720368547758.07"])
    func amountThatIsNotAPlainDecimalIsMalformed(value: String) {
        #expect(throws: PaymentsError(.malformedEvent, "")) {
            try PayPalEvent.parse(Self.capture(value: value))
        }
    }

    @Test func amountInAnotherCurrencyIsReadAsIs() throws {
        let event = try PayPalEvent.parse(Self.capture(value: "99.00", currency: "USD"))
        guard case .capture(let capture) = event.fact else {
            Issue.record("not a capture")
            return
        }
        #expect(capture.amount == Money(minorUnits: 9900, currency: "USD"))
    }

    @Test func refundWithoutAnUpLinkIsMalformed() throws {
        let body = try Self.body("PAYMENT.CAPTURE.REFUNDED").replacingOccurrences(of: "\"rel\": \"up\"", with: "\"rel\": \"related\"")
        #expect(throws: PaymentsError(.malformedEvent, "")) {
            try PayPalEvent.parse(Data(body.utf8))
        }
    }

    @Test func refundWhoseUpLinkIsNotACaptureIsMalformed() throws {
        let body = try Self.body("PAYMENT.CAPTURE.REFUNDED")
            .replacingOccurrences(of: "/v2/payments/captures/\(Self.captureID)\"", with: "/v2/checkout/orders/\(Self.orderID)\"")
        #expect(throws: PaymentsError(.malformedEvent, "")) {
            try PayPalEvent.parse(Data(body.utf8))
        }
    }

    @Test(arguments: [
        (#"[]"#, "not an object"),
        (#"{"event_type":"PAYMENT.CAPTURE.COMPLETED","create_time":"2025-03-03T09:41:29Z","resource":{}}"#, "no id"),
        (#"{"id":"evt_1","event_type":"X","create_time":"2025-03-03T09:41:29Z","resource":{}}"#, "not WH-"),
        (#"{"id":"WH-1","create_time":"2025-03-03T09:41:29Z","resource":{}}"#, "no type"),
        (#"{"id":"WH-1","event_type":"X","resource":{}}"#, "no time"),
        (#"{"id":"WH-1","event_type":"X","create_time":"yesterday","resource":{}}"#, "bad time"),
        (#"{"id":"WH-1","event_type":"X","create_time":"2025-03-03T09:41:29Z"}"#, "no resource"),
        (#"{"id":"WH-1","event_type":"PAYMENT.CAPTURE.COMPLETED","create_time":"2025-03-03T09:41:29Z","resource":{"status":"COMPLETED"}}"#, "capture without id"),
    ])
    func envelopeWithoutWhatWeNeedIsMalformed(body: String, reason: String) {
        #expect(throws: PaymentsError(.malformedEvent, ""), "\(reason)") {
            try PayPalEvent.parse(Data(body.utf8))
        }
    }

    @Test func eventIDAtTheLengthLimitIsAcceptedAndOnePastItIsNot() throws {
        let atLimit = "WH-" + String(repeating: "A", count: PayPalEvent.idSuffixLengthMax)
        #expect(try PayPalEvent.parse(Self.envelope(id: atLimit)).id == atLimit)
        #expect(throws: PaymentsError(.malformedEvent, "")) {
            try PayPalEvent.parse(Self.envelope(id: atLimit + "A"))
        }
    }

    @Test func customIDSplitsAtTheFirstColonAndRespectsPayPalsLimit() {
        #expect(PayPalReference(customID: "listing:mediator-0042") == PayPalReference(profileID: "mediator-0042", purpose: "listing"))
        #expect(PayPalReference(customID: "donation:a:b")?.profileID == "a:b")
        #expect(PayPalReference(customID: "listing:") == nil)
        #expect(PayPalReference(customID: ":mediator-0042") == nil)
        #expect(PayPalReference(customID: "mediator-0042") == nil)
        let atLimit = "listing:" + String(repeating: "m", count: PayPalReference.customIDLengthMax - 8)
        #expect(PayPalReference(customID: atLimit)?.customID == atLimit)
        #expect(PayPalReference(customID: atLimit + "m") == nil)
    }

    static func body(_ name: String) throws -> String {
        try String(contentsOf: examplesDirectory.appendingPathComponent("\(name).json"), encoding: .utf8)
    }

    static func capture(value: String, currency: String = "EUR") -> Data {
        Data(
            """
            {"id":"WH-1","event_type":"PAYMENT.CAPTURE.COMPLETED","create_time":"2025-03-03T09:41:29Z",
             "resource":{"id":"3C679366HH908993F","status":"COMPLETED","amount":{"currency_code":"\(currency)","value":"\(value)"}}}
            """.utf8
        )
    }

    static func envelope(id: String) -> Data {
        Data(#"{"id":"\#(id)","event_type":"X","create_time":"2025-03-03T09:41:29Z","resource":{}}"#.utf8)
    }
}
