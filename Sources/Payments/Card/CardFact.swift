public import Foundation
public import LedgerCore

/// What a card provider event tells us, reduced to the fields the ledger acts on.
public enum CardFact: Sendable, Hashable {
    /// `checkout.session.completed`, `.async_payment_succeeded`, `.async_payment_failed` or `.expired`.
    case checkoutSession(CheckoutSessionFact)
    /// `payment_intent.succeeded` or `payment_intent.payment_failed`.
    case paymentIntent(PaymentIntentFact)
    /// `charge.refunded`, sent for partial refunds too.
    case chargeRefunded(ChargeRefundFact)
    /// `refund.created`, `refund.updated` or `refund.failed`.
    case refund(RefundFact)
    /// `charge.dispute.created`, `.funds_withdrawn`, `.funds_reinstated` or `.closed`.
    case dispute(DisputeFact)
    /// Any other event type: acknowledged so the provider stops retrying, with no effect on the ledger.
    case other
}

/// Where a payment belongs: the profile and the purpose we sent when creating the checkout session.
///
/// Kept as raw strings because they arrive from outside; the service validates them into ``ProfileID`` and
/// ``PaymentPurpose`` and decides what to do with values it does not know.
public struct CardReference: Sendable, Hashable {
    /// The profile id as sent, e.g. `mediator-0042`.
    public var profileID: String
    /// The purpose as sent, e.g. `listing`.
    public var purpose: String

    /// Creates a reference from its parts.
    public init(profileID: String, purpose: String) {
        self.profileID = profileID
        self.purpose = purpose
    }

    /// Creates a reference from a validated profile and purpose.
    public init(profileID: ProfileID, purpose: PaymentPurpose) {
        self.init(profileID: profileID.rawValue, purpose: purpose.rawValue)
    }

    /// `<purpose>:<profileID>`, the form sent as the session's `client_reference_id`.
    public var clientReferenceID: String { "\(purpose):\(profileID)" }

    /// Reads `<purpose>:<profileID>`, splitting at the first `:`; `nil` when either part is empty.
    public init?(clientReferenceID: String) {
        guard let colon = clientReferenceID.firstIndex(of: ":") else { return nil }
        let purpose = String(clientReferenceID[..<colon])
        let profileID = String(clientReferenceID[clientReferenceID.index(after: colon)...])
        guard !purpose.isEmpty, !profileID.isEmpty else { return nil }
        self.init(profileID: profileID, purpose: purpose)
    }

    /// Reads `metadata["profile_id"]` and `metadata["purpose"]`; `nil` unless both are present and non-empty.
    public init?(metadata: [String: String]) {
        guard let profileID = metadata["profile_id"], !profileID.isEmpty,
            let purpose = metadata["purpose"], !purpose.isEmpty
        else { return nil }
        self.init(profileID: profileID, purpose: purpose)
    }
}

/// A checkout session event.
public struct CheckoutSessionFact: Sendable, Hashable {
    /// Which checkout session event this was.
    public enum Stage: String, Sendable, Hashable, CaseIterable {
        /// `checkout.session.completed`: check ``CheckoutSessionFact/paymentStatus``, a delayed method may still be unpaid.
        case completed
        /// `checkout.session.async_payment_succeeded`: a delayed payment has arrived.
        case asyncSucceeded
        /// `checkout.session.async_payment_failed`: a delayed payment will not arrive.
        case asyncFailed
        /// `checkout.session.expired`: the customer never paid.
        case expired
    }

    /// The session id, `cs_…`.
    public var sessionID: String
    /// The payment intent, `pi_…`, once one exists.
    public var paymentIntentID: String?
    /// `paid`, `unpaid` or `no_payment_required`.
    public var paymentStatus: String
    /// The session's total, `amount_total` in `currency`.
    public var amountTotal: Money
    /// From `client_reference_id`, else from the session's metadata.
    public var reference: CardReference?
    /// Which event this was.
    public var stage: Stage

    /// Creates a fact from its parts.
    public init(sessionID: String, paymentIntentID: String?, paymentStatus: String, amountTotal: Money, reference: CardReference?, stage: Stage) {
        self.sessionID = sessionID
        self.paymentIntentID = paymentIntentID
        self.paymentStatus = paymentStatus
        self.amountTotal = amountTotal
        self.reference = reference
        self.stage = stage
    }
}

/// A payment intent event.
public struct PaymentIntentFact: Sendable, Hashable {
    /// The payment intent id, `pi_…`.
    public var paymentIntentID: String
    /// `amount_received` when positive, else `amount`: what actually moved, or what was attempted.
    public var amount: Money
    /// From the payment intent's metadata, which our sessions fill through `payment_intent_data[metadata]`.
    public var reference: CardReference?
    /// `true` for `payment_intent.succeeded`, `false` for `payment_intent.payment_failed`.
    public var succeeded: Bool

    /// Creates a fact from its parts.
    public init(paymentIntentID: String, amount: Money, reference: CardReference?, succeeded: Bool) {
        self.paymentIntentID = paymentIntentID
        self.amount = amount
        self.reference = reference
        self.succeeded = succeeded
    }
}

/// A `charge.refunded` event.
public struct ChargeRefundFact: Sendable, Hashable {
    /// The charge id, `ch_…`.
    public var chargeID: String
    /// The payment intent the charge belongs to.
    public var paymentIntentID: String?
    /// The amount charged.
    public var amount: Money
    /// Everything refunded so far, not just this refund: deliveries can arrive out of order, and a cumulative
    /// figure lets the ledger take the largest one seen.
    public var amountRefunded: Money
    /// The provider's `refunded` flag: true only once the whole charge is refunded.
    public var fullyRefunded: Bool
    /// From the charge's metadata.
    public var reference: CardReference?

    /// Creates a fact from its parts.
    public init(chargeID: String, paymentIntentID: String?, amount: Money, amountRefunded: Money, fullyRefunded: Bool, reference: CardReference?) {
        self.chargeID = chargeID
        self.paymentIntentID = paymentIntentID
        self.amount = amount
        self.amountRefunded = amountRefunded
        self.fullyRefunded = fullyRefunded
        self.reference = reference
    }
}

/// A refund object event.
public struct RefundFact: Sendable, Hashable {
    /// The refund id, `re_…`.
    public var refundID: String
    /// The refunded payment intent, when the provider names it.
    public var paymentIntentID: String?
    /// The refunded charge, when the provider names it.
    public var chargeID: String?
    /// This refund's amount.
    public var amount: Money
    /// `pending`, `requires_action`, `succeeded`, `failed` or `canceled`.
    public var status: String
    /// When the provider made the refund (`created`), if it says.
    public var created: Date?

    /// Creates a fact from its parts.
    public init(refundID: String, paymentIntentID: String?, chargeID: String?, amount: Money, status: String, created: Date? = nil) {
        self.refundID = refundID
        self.paymentIntentID = paymentIntentID
        self.chargeID = chargeID
        self.amount = amount
        self.status = status
        self.created = created
    }
}

/// A dispute (chargeback) event.
public struct DisputeFact: Sendable, Hashable {
    /// Which dispute event this was.
    public enum Phase: String, Sendable, Hashable, CaseIterable {
        /// `charge.dispute.created`: the cardholder disputes the charge.
        case created
        /// `charge.dispute.funds_withdrawn`: the disputed amount has left our balance.
        case fundsWithdrawn
        /// `charge.dispute.funds_reinstated`: the disputed amount is back.
        case fundsReinstated
        /// `charge.dispute.closed`: decided; see ``DisputeFact/status``.
        case closed
    }

    /// The dispute id, `dp_…`.
    public var disputeID: String
    /// The disputed charge.
    public var chargeID: String
    /// The payment intent of the disputed charge, when the provider names it.
    public var paymentIntentID: String?
    /// The disputed amount.
    public var amount: Money
    /// Which event this was.
    public var phase: Phase
    /// `warning_needs_response`, `needs_response`, `under_review`, `won`, `lost`, `warning_closed`, …
    public var status: String

    /// Creates a fact from its parts.
    public init(disputeID: String, chargeID: String, paymentIntentID: String?, amount: Money, phase: Phase, status: String) {
        self.disputeID = disputeID
        self.chargeID = chargeID
        self.paymentIntentID = paymentIntentID
        self.amount = amount
        self.phase = phase
        self.status = status
    }
}
