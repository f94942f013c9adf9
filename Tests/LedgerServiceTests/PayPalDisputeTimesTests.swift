import Foundation
import LedgerCore
@testable import LedgerService
import Payments
import Testing

/// The times a PayPal reversal or dispute is recorded with: PayPal's own, from the resource, or the event's
/// where the resource gives none, so every new one can be judged by time.
@Suite("PayPal dispute times")
struct PayPalDisputeTimesTests {
    static let sent = Date(timeIntervalSince1970: 1_780_000_000)
    static let euros = Money(minorUnits: 12_500, currency: "EUR")

    static func facts(_ fact: PayPalFact, type: String) -> [PaymentFact] {
        PayPalPayments.paymentFacts(PayPalEvent(id: "WH-1", eventType: type, createTime: sent, fact: fact), calendar: .amsterdam).1
    }

    static func reversal(createdAt: Date?) -> PayPalFact {
        .refund(PayPalRefundFact(
            refundID: "8RH61452YT7823120", captureID: "3C679366HH908993F", amount: euros, status: "COMPLETED", customID: nil, kind: .reversed,
            createdAt: createdAt
        ))
    }

    static func resolved(createdAt: Date?, updatedAt: Date?, outcome: String = "RESOLVED_SELLER_FAVOUR") -> PayPalFact {
        .dispute(PayPalDisputeFact(
            disputeID: "PP-D-1", captureIDs: ["3C679366HH908993F"], amount: euros, outcome: outcome, status: "RESOLVED",
            phase: .resolved, createdAt: createdAt, updatedAt: updatedAt
        ))
    }

    @Test
    func aReversalIsDatedByTheRefundOrElseByTheEvent() {
        let made = Self.sent - 60
        #expect(Self.facts(Self.reversal(createdAt: made), type: "PAYMENT.CAPTURE.REVERSED") == [
            .dispute(disputeID: "8RH61452YT7823120", phase: .fundsWithdrawn, amount: Self.euros, openedAt: made, asOf: made)
        ])
        #expect(Self.facts(Self.reversal(createdAt: nil), type: "PAYMENT.CAPTURE.REVERSED") == [
            .dispute(disputeID: "8RH61452YT7823120", phase: .fundsWithdrawn, amount: Self.euros, openedAt: Self.sent, asOf: Self.sent)
        ])
    }

    @Test
    func aDisputeIsDatedByItsOwnTimesOrElseByTheEvent() {
        let opened = Self.sent - 86_400 * 10, decided = Self.sent - 30
        #expect(Self.facts(Self.resolved(createdAt: opened, updatedAt: decided), type: "CUSTOMER.DISPUTE.RESOLVED") == [
            .dispute(disputeID: "PP-D-1", phase: .won, amount: Self.euros, openedAt: opened, asOf: decided)
        ])
        #expect(Self.facts(Self.resolved(createdAt: nil, updatedAt: nil), type: "CUSTOMER.DISPUTE.RESOLVED") == [
            .dispute(disputeID: "PP-D-1", phase: .won, amount: Self.euros, openedAt: nil, asOf: Self.sent)
        ])
    }

    /// The outcomes that leave the money with the buyer are losses: PayPal deciding for the buyer, and the seller
    /// accepting the claim (PayPal then refunds the buyer). The others leave it with us.
    @Test(arguments: [
        ("RESOLVED_BUYER_FAVOUR", DisputePhase.lost), ("ACCEPTED", .lost), ("RESOLVED_SELLER_FAVOUR", .won), ("RESOLVED_WITH_PAYOUT", .won),
        ("CANCELED_BY_BUYER", .won), ("DENIED", .won),
    ])
    func aResolvedDisputeIsLostWhenTheBuyerKeepsTheMoney(outcome: String, phase: DisputePhase) {
        let facts = Self.facts(Self.resolved(createdAt: Self.sent, updatedAt: Self.sent, outcome: outcome), type: "CUSTOMER.DISPUTE.RESOLVED")
        #expect(facts == [.dispute(disputeID: "PP-D-1", phase: phase, amount: Self.euros, openedAt: Self.sent, asOf: Self.sent)])
    }
}
