import LedgerCore
import Testing

@Suite("Stream names")
struct StreamNameTests {
    static let every: [StreamName] = [
        .profile(try! ProfileID("ada-1")), .payment(PaymentID(method: .bank, externalID: "0a1b")), .referenceClaim("RF18539007547034"),
        .referenceClaimsChecked, .inbox(provider: "card", eventID: "evt_1-2"), .checkout(method: "paypal", checkoutID: "checkout-9"),
        .payPalCapture(orderID: "5O190127TN364715T"), .policy, .bankMovement(lineKey: "9f8e"), .paidBackBy(lineKey: "9f8e"), .payBackReturnedBy(lineKey: "9f8e"), .bankStatement(statementKey: "77aa"),
        .bankDays(year: 2026, accountKey: "4c1d"), .bankDaysChecked, .receiptYear(2026), .receipt(PaymentID(method: .offline, externalID: "x-1")),
    ]

    @Test
    func everyStreamReadsBackAsItself() {
        for name in Self.every {
            #expect(StreamName(name.description) == name, "\(name)")
        }
        #expect(Set(Self.every.map(\.description)).count == Self.every.count, "no two kinds share a text")
    }

    @Test
    func theTextsAreTheOnesTheLedgerHasAlwaysStored() throws {
        #expect(StreamName.profile(try! ProfileID("ada-1")).description == "profile-ada-1")
        #expect(StreamName.payment(PaymentID(method: .card, externalID: "pi_1")).description == "payment-card-pi_1")
        #expect(StreamName.inbox(provider: "bank", eventID: "k").description == "inbox-bank-k")
        #expect(StreamName.receiptYear(2026).description == "receipts-2026")
        #expect(try ProfileID("ada-1").streamName == "profile-ada-1")
    }

    @Test
    func textsNoStreamOfTheLedgerHasReadAsNothing() {
        for text in ["", "profile-", "profile-not valid", "payment-", "inbox-card", "inbox--x", "inbox-card-", "checkout-card", "receipts-20x6", "bank-days-2026", "bank-days-20x6-4c1d", "bench-1-2", "replay-7"] {
            #expect(StreamName(text) == nil, "\(text)")
        }
        #expect(StreamName.isPayment("payment-card-pi_1") && !StreamName.isPayment("profile-p"))
        #expect(StreamName.isProfile("profile-p") && !StreamName.isProfile("payment-card-pi_1"))
    }

    @Test
    func aPaymentIDNamesItsMethodAndTheProvidersID() {
        #expect(PaymentID(method: .paypal, externalID: "CAP-1").method == .paypal)
        #expect(PaymentID(method: .paypal, externalID: "CAP-1").externalID == "CAP-1")
        #expect(PaymentID(rawValue: "legacy").method == nil)
        #expect(PaymentID(rawValue: "legacy").externalID == nil)
        #expect(PaymentID(rawValue: "crypto-1").method == nil)
    }
}
