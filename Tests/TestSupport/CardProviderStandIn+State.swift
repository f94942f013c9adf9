import Foundation
import LedgerCore
import Payments

extension CardProviderStandIn {
    /// Everything the stand-in remembers, behind one lock.
    struct State {
        /// The running server, once started.
        var server: LoopbackServer?
        var idCounter = 0
        var sessions: [String: StandInSession] = [:]
        var sessionOrder: [String] = []
        var paymentIntentBySession: [String: String] = [:]
        var payments: [String: PaymentRecord] = [:]
        var apiRefunds: [StandInRefund] = []
        var idempotentResponses: [String: StoredResponse] = [:]

        /// A unique, id-safe suffix: a counter for readability and random letters so ids differ across runs.
        mutating func nextSuffix() -> String {
            idCounter += 1
            let random = UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12)
            return "\(idCounter)\(random)"
        }
    }

    /// A payment made through a completed session.
    struct PaymentRecord {
        var paymentIntentID: String
        var chargeID: String
        var disputeID: String
        var sessionID: String
        var amount: Money
        var reference: CardReference?
        /// From the session's `payment_intent_data[metadata]`: the provider copies nothing else to the intent.
        var metadata: [String: String]
        var created: Int64
        var refunds: [RefundRecord] = []

        /// What was refunded and did not fail: the charge's `amount_refunded` (a failed refund's money comes back).
        var refundedMinorUnits: Int64 { refunds.filter { !$0.failed }.reduce(0) { $0 + $1.minorUnits } }
        var remainingMinorUnits: Int64 { amount.minorUnits - refundedMinorUnits }

        var `public`: StandInPayment {
            StandInPayment(paymentIntentID: paymentIntentID, chargeID: chargeID, amount: amount, reference: reference)
        }
    }

    /// One refund of a payment, through the API or out of band.
    struct RefundRecord {
        var id: String
        var minorUnits: Int64
        var created: Int64
        /// The card issuer refused it (a closed card account, say): the money came back to the merchant.
        var failed = false
    }

    /// A response kept for replay under its idempotency key, with the request it answered.
    struct StoredResponse {
        var path: String
        var fields: [String]
        var status: Int
        var body: Data
    }
}
