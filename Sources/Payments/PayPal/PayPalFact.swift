public import Foundation
public import LedgerCore

/// What a PayPal event tells us, reduced to the fields the ledger acts on.
public enum PayPalFact: Sendable, Hashable {
    /// `PAYMENT.CAPTURE.COMPLETED`, `.PENDING`, `.DENIED` or `.DECLINED`.
    case capture(PayPalCaptureFact)
    /// `PAYMENT.CAPTURE.REFUNDED` or `.REVERSED`: the resource is a refund, traced to its capture.
    case refund(PayPalRefundFact)
    /// `CUSTOMER.DISPUTE.CREATED` or `.RESOLVED`.
    case dispute(PayPalDisputeFact)
    /// `CHECKOUT.ORDER.APPROVED`: the buyer approved, no money has moved yet.
    case orderApproved(PayPalOrderApprovedFact)
    /// Any other event type: acknowledged so PayPal stops retrying, with no effect on the ledger.
    case other
}

/// Where a payment belongs: the profile and purpose we sent as the purchase unit's `custom_id`.
///
/// Kept as raw strings because they arrive from outside; the service validates them into ``ProfileID`` and
/// ``PaymentPurpose`` and decides what to do with values it does not know.
public struct PayPalReference: Sendable, Hashable {
    /// PayPal's limit on `custom_id`.
    public static let customIDLengthMax = 127

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

    /// `<purpose>:<profileID>`, the form sent as `custom_id`; at most ``customIDLengthMax`` characters when the
    /// profile id is a valid ``ProfileID``.
    public var customID: String { "\(purpose):\(profileID)" }

    /// Reads `<purpose>:<profileID>`, splitting at the first `:`; `nil` when either part is empty or the whole
    /// is longer than PayPal allows.
    public init?(customID: String) {
        guard customID.count <= Self.customIDLengthMax, let colon = customID.firstIndex(of: ":") else { return nil }
        let purpose = String(customID[..<colon])
        let profileID = String(customID[customID.index(after: colon)...])
        guard !purpose.isEmpty, !profileID.isEmpty else { return nil }
        self.init(profileID: profileID, purpose: purpose)
    }
}

/// A capture event: money taken, waiting, or refused.
public struct PayPalCaptureFact: Sendable, Hashable {
    /// Which capture event this was.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// `PAYMENT.CAPTURE.COMPLETED`: the money is ours; fulfil on this.
        case completed
        /// `PAYMENT.CAPTURE.PENDING`: PayPal holds the money (e.g. an eCheck, a review); record, do not apply.
        case pending
        /// `PAYMENT.CAPTURE.DENIED` or `.DECLINED` (PayPal's documents use both names): no money will come.
        case denied
    }

    /// The capture id: PayPal's transaction id, which refunds and disputes name.
    public var captureID: String
    /// PayPal's `status`, e.g. `COMPLETED`, `PENDING`, `DECLINED`.
    public var status: String
    /// The captured amount, read exactly from PayPal's decimal string.
    public var amount: Money
    /// PayPal's fee for the capture (`seller_receivable_breakdown.paypal_fee`), when PayPal reports it.
    public var fee: Money?
    /// The purchase unit's `custom_id` as sent; see ``reference``.
    public var customID: String?
    /// The purchase unit's `invoice_id`, when one was set.
    public var invoiceID: String?
    /// The order the capture belongs to, from `supplementary_data.related_ids.order_id`.
    public var orderID: String?
    /// Which event this was.
    public var kind: Kind

    /// Creates a fact from its parts.
    public init(
        captureID: String, status: String, amount: Money, fee: Money? = nil, customID: String?, invoiceID: String?, orderID: String?, kind: Kind
    ) {
        self.captureID = captureID
        self.status = status
        self.amount = amount
        self.fee = fee
        self.customID = customID
        self.invoiceID = invoiceID
        self.orderID = orderID
        self.kind = kind
    }

    /// The profile and purpose, when `custom_id` is one of ours.
    public var reference: PayPalReference? { customID.flatMap(PayPalReference.init(customID:)) }
}

/// A refund or reversal of a capture.
public struct PayPalRefundFact: Sendable, Hashable {
    /// Which event this was.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// `PAYMENT.CAPTURE.REFUNDED`: we (or someone in PayPal's dashboard) refunded the payer.
        case refunded
        /// `PAYMENT.CAPTURE.REVERSED`: PayPal took the money back, e.g. after a chargeback.
        case reversed
    }

    /// The refund's own id.
    public var refundID: String
    /// The refunded capture, from the refund's `links[rel="up"]`.
    public var captureID: String
    /// This refund's amount (not cumulative).
    public var amount: Money
    /// PayPal's `status`, e.g. `COMPLETED`, `PENDING`, `CANCELLED`.
    public var status: String
    /// The `custom_id` PayPal copies from the capture, when present.
    public var customID: String?
    /// Which event this was.
    public var kind: Kind
    /// When PayPal made the refund or reversal, its `create_time` (nil when absent or not an RFC 3339 time).
    public var createdAt: Date?

    /// Creates a fact from its parts.
    public init(refundID: String, captureID: String, amount: Money, status: String, customID: String?, kind: Kind, createdAt: Date? = nil) {
        self.refundID = refundID
        self.captureID = captureID
        self.amount = amount
        self.status = status
        self.customID = customID
        self.kind = kind
        self.createdAt = createdAt
    }
}

/// A buyer's dispute of one or more captures.
public struct PayPalDisputeFact: Sendable, Hashable {
    /// Which dispute event this was.
    public enum Phase: String, Sendable, Hashable, CaseIterable {
        /// `CUSTOMER.DISPUTE.CREATED`.
        case created
        /// `CUSTOMER.DISPUTE.RESOLVED`; see ``PayPalDisputeFact/outcome``.
        case resolved
    }

    /// The dispute id, `PP-D-…`.
    public var disputeID: String
    /// The disputed captures: each disputed transaction's `seller_transaction_id`.
    public var captureIDs: [String]
    /// The disputed amount, `dispute_amount`.
    public var amount: Money
    /// `dispute_outcome.outcome_code` once resolved, e.g. `RESOLVED_BUYER_FAVOUR`, `RESOLVED_SELLER_FAVOUR`.
    public var outcome: String?
    /// PayPal's `status`, e.g. `OPEN`, `WAITING_FOR_SELLER_RESPONSE`, `RESOLVED`.
    public var status: String?
    /// Which event this was.
    public var phase: Phase
    /// When the buyer opened the dispute, its `create_time` (nil when absent or not an RFC 3339 time).
    public var createdAt: Date?
    /// When PayPal last changed it (for a resolved dispute, when it was decided), its `update_time`.
    public var updatedAt: Date?

    /// Creates a fact from its parts.
    public init(
        disputeID: String, captureIDs: [String], amount: Money, outcome: String?, status: String?, phase: Phase, createdAt: Date? = nil,
        updatedAt: Date? = nil
    ) {
        self.disputeID = disputeID
        self.captureIDs = captureIDs
        self.amount = amount
        self.outcome = outcome
        self.status = status
        self.phase = phase
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// Whether the dispute ended for the buyer, the money staying with them: PayPal decided so
    /// (`RESOLVED_BUYER_FAVOUR`), or the seller accepted the claim (`ACCEPTED`: PayPal refunds the buyer).
    public var resolvedInBuyersFavour: Bool { outcome == "RESOLVED_BUYER_FAVOUR" || outcome == "ACCEPTED" }
}

/// An order the buyer approved; capturing it is still ours to do.
public struct PayPalOrderApprovedFact: Sendable, Hashable {
    /// The order id.
    public var orderID: String
    /// The first purchase unit's `custom_id`.
    public var customID: String?
    /// The first purchase unit's amount.
    public var amount: Money

    /// Creates a fact from its parts.
    public init(orderID: String, customID: String?, amount: Money) {
        self.orderID = orderID
        self.customID = customID
        self.amount = amount
    }

    /// The profile and purpose, when `custom_id` is one of ours.
    public var reference: PayPalReference? { customID.flatMap(PayPalReference.init(customID:)) }
}
