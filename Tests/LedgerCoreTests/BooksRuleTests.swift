import Foundation
import Testing
@testable import LedgerCore

/// How each payment fact moves money between the books' accounts.
@Suite("Books: postings per payment fact")
struct BooksRuleTests {
    let paymentID = PaymentID(method: .card, externalID: "pi_1")

    func received(_ minorUnits: Int64 = 12_500, method: PaymentMethod = .card, purpose: PaymentPurpose = .listing, profile: ProfileID? = profile) -> PaymentEvent {
        .received(PaymentReceived(
            paymentID: paymentID, method: method, amount: euros(minorUnits), purpose: purpose, profileID: profile, effectiveDate: day("2026-03-01"),
            note: "", occurredAt: noon("2026-03-01")
        ))
    }

    /// Applies `events` one at a time; returns each step's postings as account → amount.
    func post(_ events: [PaymentEvent]) -> [[BookAccount: Int64]] {
        var books = PaymentBooks()
        return events.map { event in
            let before = books.target
            books.evolve(event)
            let postings = books.postings(since: before)
            #expect(postings.reduce(Int64(0)) { $0 + $1.minorUnits } == 0, "an entry must balance: \(postings)")
            return Dictionary(postings.map { ($0.account, $0.minorUnits) }) { $0 + $1 }
        }
    }

    @Test func aContributionByCardDebitsCardClearingAndCreditsContributions() {
        #expect(post([received()]) == [[.cardClearing: 12_500, .contributions: -12_500]])
    }

    @Test func aProvidersFeeIsAnExpenseAndStaysOneAfterARefund() {
        guard case .received(var payment) = received(12_500, method: .paypal) else { return }
        payment.fee = euros(471)
        let refund = PaymentEvent.refundReported(PaymentRefundReported(
            paymentID: paymentID, refundID: "r-1", amount: euros(12_500), cumulative: false, status: .succeeded, occurredAt: noon("2026-03-05")
        ))
        #expect(post([.received(payment), refund]) == [
            [.payPalClearing: 12_029, .providerFees: 471, .contributions: -12_500], [.payPalClearing: -12_500, .refunds: 12_500],
        ])
        var books = PaymentBooks()
        books.evolve(.received(payment))
        #expect(books.countingMinorUnits == 12_500, "a receipt is for what the payer paid, fee or not")
    }

    @Test func aDonationIsNeverAContribution() {
        #expect(post([received(2_500, method: .bank, purpose: .donation, profile: nil)]) == [[.bank: 2_500, .donations: -2_500]])
    }

    @Test func aPartialRefundReversesOnlyWhatWentBack() {
        let refund = PaymentEvent.refundReported(PaymentRefundReported(
            paymentID: paymentID, refundID: "re_1", amount: euros(2_500), cumulative: false, status: .succeeded, occurredAt: noon("2026-03-05")
        ))
        #expect(post([received(), refund, refund]) == [
            [.cardClearing: 12_500, .contributions: -12_500], [.cardClearing: -2_500, .refunds: 2_500], [:],
        ])
    }

    @Test func aChargebackWithdrawnAndThenWonIsReversedBothWays() {
        func dispute(_ phase: DisputePhase) -> PaymentEvent {
            .disputeUpdated(PaymentDisputeUpdated(paymentID: paymentID, disputeID: "dp_1", phase: phase, amount: euros(12_500), occurredAt: noon("2026-03-09")))
        }
        #expect(post([received(), dispute(.opened), dispute(.fundsWithdrawn), dispute(.won)]) == [
            [.cardClearing: 12_500, .contributions: -12_500], [:], [.cardClearing: -12_500, .chargebacks: 12_500], [.cardClearing: 12_500, .chargebacks: -12_500],
        ])
    }

    /// A PayPal reversal and the dispute of its capture are one chargeback: the money is taken back once, and
    /// comes back when the seller wins.
    @Test func aPayPalReversalIsBookedOnceAndUndoneByTheDisputeWon() {
        let paypal = PaymentID(method: .paypal, externalID: "8RH61452YT7823120")
        func dispute(_ id: String, _ phase: DisputePhase) -> PaymentEvent {
            .disputeUpdated(PaymentDisputeUpdated(paymentID: paypal, disputeID: id, phase: phase, amount: euros(12_500), occurredAt: noon("2026-03-09")))
        }
        guard case .received(var payment) = received(12_500, method: .paypal) else { return }
        payment.paymentID = paypal
        let reversal = dispute("3KF58957LT1234567", .lost)
        #expect(post([.received(payment), reversal, dispute("PP-D-1", .opened), dispute("PP-D-1", .won)]) == [
            [.payPalClearing: 12_500, .contributions: -12_500], [.payPalClearing: -12_500, .chargebacks: 12_500], [:],
            [.payPalClearing: 12_500, .chargebacks: -12_500],
        ])
        #expect(post([.received(payment), reversal, dispute("PP-D-1", .opened), dispute("PP-D-1", .lost)]).last == [:])
    }

    /// With PayPal's times: partial reversals made while a dispute runs each take their own money; the dispute
    /// lost is that money, not more; a reversal after a dispute was won takes its money again.
    @Test func payPalReversalsAreBookedByTheDisputeThatCoversThem() {
        let paypal = PaymentID(method: .paypal, externalID: "8RH61452YT7823120")
        func dispute(_ id: String, _ phase: DisputePhase, _ minorUnits: Int64, opened: String, at: String) -> PaymentEvent {
            .disputeUpdated(PaymentDisputeUpdated(
                paymentID: paypal, disputeID: id, phase: phase, amount: euros(minorUnits), openedAt: noon(opened), asOf: noon(at), occurredAt: noon(at)
            ))
        }
        guard case .received(var payment) = received(12_500, method: .paypal) else { return }
        payment.paymentID = paypal
        let opened = dispute("PP-D-1", .opened, 10_000, opened: "2026-03-03", at: "2026-03-03")
        let first = dispute("1AB", .fundsWithdrawn, 4_000, opened: "2026-03-04", at: "2026-03-04")
        let second = dispute("2CD", .fundsWithdrawn, 6_000, opened: "2026-03-05", at: "2026-03-05")
        #expect(post([.received(payment), opened, first, second, dispute("PP-D-1", .lost, 10_000, opened: "2026-03-03", at: "2026-03-09")]) == [
            [.payPalClearing: 12_500, .contributions: -12_500], [:], [.payPalClearing: -4_000, .chargebacks: 4_000],
            [.payPalClearing: -6_000, .chargebacks: 6_000], [:],
        ])
        let won = dispute("PP-D-1", .won, 10_000, opened: "2026-03-03", at: "2026-03-09")
        let later = dispute("3EF", .fundsWithdrawn, 12_500, opened: "2026-03-20", at: "2026-03-20")
        #expect(post([.received(payment), opened, first, second, won, later]).suffix(2) == [
            [.payPalClearing: 10_000, .chargebacks: -10_000], [.payPalClearing: -12_500, .chargebacks: 12_500],
        ])
    }

    @Test func heldMoneyWaitsAsALiabilityUntilStaffDecide() {
        let held = PaymentEvent.held(PaymentHeld(paymentID: paymentID, reasonCode: .shortPayment, reason: "short", occurredAt: noon("2026-03-01")))
        let resolved = PaymentEvent.holdResolved(PaymentHoldResolved(
            paymentID: paymentID, resolution: .acceptShort, shares: [AllocationShare(profileID: profile, amount: euros(11_000))], reason: "bank charges",
            occurredAt: noon("2026-03-02")
        ))
        #expect(post([received(11_000, method: .bank), held, resolved]) == [
            [.bank: 11_000, .contributions: -11_000], [.contributions: 11_000, .unallocated: -11_000], [.unallocated: 11_000, .contributions: -11_000],
        ])
    }

    @Test func moneyToBePaidBackIsOwedUntilTheBankReturnsIt() {
        let held = PaymentEvent.held(PaymentHeld(paymentID: paymentID, reasonCode: .unknownReference, reason: "unknown", occurredAt: noon("2026-03-01")))
        let refund = PaymentEvent.holdResolved(PaymentHoldResolved(paymentID: paymentID, resolution: .refund, shares: [], reason: "not ours", occurredAt: noon("2026-03-02")))
        let returned = PaymentEvent.returned(PaymentReturned(paymentID: paymentID, reason: "AC04", occurredAt: noon("2026-03-03")))
        let steps = post([received(12_500, method: .bank, profile: nil), held, refund, returned])
        #expect(steps == [[.bank: 12_500, .unallocated: -12_500], [:], [.unallocated: 12_500, .refundsDue: -12_500], [.bank: -12_500, .refundsDue: 12_500]])
    }

    @Test func refundsNeverTakeMoreThanArrived() {
        let huge = PaymentEvent.refundReported(PaymentRefundReported(
            paymentID: paymentID, refundID: nil, amount: euros(.max), cumulative: true, status: .succeeded, occurredAt: noon("2026-03-05")
        ))
        #expect(post([received(), huge]) == [[.cardClearing: 12_500, .contributions: -12_500], [.cardClearing: -12_500, .refunds: 12_500]])
    }

    /// Two refunds the provider reports, each under its own id, whose amounts add up past `Int64`: the sum
    /// saturates instead of trapping, and the books still take back no more than arrived.
    @Test func refundsAddingUpPastInt64StopAtWhatArrived() {
        let refunds = ["re_1", "re_2"].map { id in
            PaymentEvent.refundReported(PaymentRefundReported(
                paymentID: paymentID, refundID: id, amount: euros(.max / 2 + 1), cumulative: false, status: .succeeded, occurredAt: noon("2026-03-05")
            ))
        }
        var state = PaymentState()
        for event in [received()] + refunds { state.evolve(event) }
        #expect(state.refundedMinorUnits == 12_500, "the sum saturates, and money given back stops at what arrived")
        #expect(post([received()] + refunds) == [[.cardClearing: 12_500, .contributions: -12_500], [.cardClearing: -12_500, .refunds: 12_500], [:]])
    }
}
