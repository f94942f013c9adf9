public import Foundation

/// An event in a `payment-<method>-<id>` stream: what happened to one payment at its provider or bank.
///
/// The payment stream is the books' source for one payment; what the payment does to a listing is
/// recorded separately, in the profile's stream (allocations and their reversals).
public enum PaymentEvent: Sendable, Hashable {
    case received(PaymentReceived)
    case pending(PaymentPending)
    case failed(PaymentFailed)
    case refundReported(PaymentRefundReported)
    case refundRequested(PaymentRefundRequested)
    case refundAnswered(PaymentRefundAnswered)
    case disputeUpdated(PaymentDisputeUpdated)
    case held(PaymentHeld)
    case returned(PaymentReturned)
    case holdResolved(PaymentHoldResolved)
    case voided(PaymentVoided)
    case reassigned(PaymentReassigned)
    case resolutionReopened(PaymentResolutionReopened)
    case paidBack(PaymentPaidBack)
    case payBackReturned(PaymentPayBackReturned)
    case givenBackByHand(PaymentGivenBackByHand)
}

/// The payer started paying but the money has not moved yet (a delayed method); nothing is applied.
public struct PaymentPending: Sendable, Hashable, Codable {
    public static let typeName = "PaymentPending"
    public var paymentID: PaymentID
    public var amount: Money
    public var purpose: PaymentPurpose?
    public var profileID: ProfileID?
    public var occurredAt: Date

    public init(paymentID: PaymentID, amount: Money, purpose: PaymentPurpose?, profileID: ProfileID?, occurredAt: Date) {
        self.paymentID = paymentID
        self.amount = amount
        self.purpose = purpose
        self.profileID = profileID
        self.occurredAt = occurredAt
    }
}

/// The provider reported that the payment did not go through; no money moved.
public struct PaymentFailed: Sendable, Hashable, Codable {
    public static let typeName = "PaymentFailed"
    public var paymentID: PaymentID
    public var reason: String
    public var occurredAt: Date

    public init(paymentID: PaymentID, reason: String, occurredAt: Date) {
        self.paymentID = paymentID
        self.reason = reason
        self.occurredAt = occurredAt
    }
}

/// Where a refund stands at the provider.
public enum RefundStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case pending, succeeded, failed

    /// The order a refund moves through its statuses in.
    public var rank: Int {
        switch self {
        case .pending: 0
        case .succeeded: 1
        case .failed: 2
        }
    }
}

/// The provider reported money given back.
///
/// Providers report refunds two ways: a running total for the whole payment (`cumulative`, e.g. a card
/// charge's `amount_refunded`), and single refunds by id. Both are kept; the refunded total is the larger of
/// the highest running total and the sum of succeeded single refunds, so neither order nor duplication of
/// reports can count money twice.
public struct PaymentRefundReported: Sendable, Hashable, Codable {
    public static let typeName = "PaymentRefundReported"
    public var paymentID: PaymentID
    /// The provider's refund id; nil for a running total.
    public var refundID: String?
    public var amount: Money
    public var cumulative: Bool
    public var status: RefundStatus
    /// When the provider said it (its event's time): a running total is the provider's figure at that instant,
    /// and of two reports the later one holds. Nil in reports recorded before it was kept.
    public var asOf: Date?
    /// When the provider made the refund (a single refund's own creation time), if it says.
    public var madeAt: Date?
    public var occurredAt: Date

    public init(
        paymentID: PaymentID, refundID: String?, amount: Money, cumulative: Bool, status: RefundStatus, asOf: Date? = nil, madeAt: Date? = nil,
        occurredAt: Date
    ) {
        self.paymentID = paymentID
        self.refundID = refundID
        self.amount = amount
        self.cumulative = cumulative
        self.status = status
        self.asOf = asOf
        self.madeAt = madeAt
        self.occurredAt = occurredAt
    }
}

/// Staff asked for a refund. Recorded before the provider is called, under the key the call carries (the
/// provider's idempotency key), so a call is only ever made for a recorded request, and repeating it cannot
/// refund twice; the provider's answer follows (``PaymentRefundAnswered``). The money moves when the provider
/// confirms by webhook. Requests recorded before answers were kept apart carry the provider's refund id and
/// no key.
public struct PaymentRefundRequested: Sendable, Hashable, Codable {
    public static let typeName = "PaymentRefundRequested"
    public var paymentID: PaymentID
    /// The provider's refund id, on requests recorded together with the provider's answer.
    public var refundID: String?
    /// The key the call to the provider carries; nil on requests recorded together with the answer.
    public var requestKey: String?
    public var amount: Money
    /// Whether all that remained was asked for (the provider is sent no amount).
    public var whole: Bool?
    public var occurredAt: Date

    public init(paymentID: PaymentID, refundID: String? = nil, requestKey: String?, amount: Money, whole: Bool? = nil, occurredAt: Date) {
        self.paymentID = paymentID
        self.refundID = refundID
        self.requestKey = requestKey
        self.amount = amount
        self.whole = whole
        self.occurredAt = occurredAt
    }
}

/// What the provider answered to a recorded refund request.
public struct PaymentRefundAnswered: Sendable, Hashable, Codable {
    public static let typeName = "PaymentRefundAnswered"

    public enum Outcome: String, Sendable, Hashable, Codable {
        /// The provider took the refund (its id is given); the money moves when it confirms by webhook.
        case accepted
        /// The provider refused it (e.g. more than remains); nothing will move.
        case refused
        /// No usable answer (a timeout, a server error): whether the provider took it is unknown, so the
        /// request may be sent again under its key.
        case unanswered
        /// Not the provider's answer: staff closed a request that got none, once its key may be gone, having found
        /// that the provider made no refund for it. Its money no longer counts as asked back.
        case closed
    }

    public var paymentID: PaymentID
    public var requestKey: String
    public var outcome: Outcome
    public var refundID: String?
    public var status: String?
    public var amount: Money?
    public var reason: String?
    public var occurredAt: Date

    public init(
        paymentID: PaymentID, requestKey: String, outcome: Outcome, refundID: String? = nil, status: String? = nil, amount: Money? = nil,
        reason: String? = nil, occurredAt: Date
    ) {
        self.paymentID = paymentID
        self.requestKey = requestKey
        self.outcome = outcome
        self.refundID = refundID
        self.status = status
        self.amount = amount
        self.reason = reason.map { String($0.prefix(500)) }
        self.occurredAt = occurredAt
    }
}

/// How far a dispute (chargeback) has gone.
public enum DisputePhase: String, Sendable, Hashable, Codable, CaseIterable {
    /// Opened; the money is still ours.
    case opened
    /// The provider took the disputed money back while the dispute runs.
    case fundsWithdrawn = "funds_withdrawn"
    /// The provider returned the money.
    case fundsReinstated = "funds_reinstated"
    /// Closed in our favour (or closed without money moving).
    case won
    /// Closed against us: the money is gone.
    case lost
}

/// A dispute on the payment moved on.
public struct PaymentDisputeUpdated: Sendable, Hashable, Codable {
    public static let typeName = "PaymentDisputeUpdated"
    public var paymentID: PaymentID
    public var disputeID: String
    public var phase: DisputePhase
    public var amount: Money
    /// When the provider says the dispute was opened (for a PayPal reversal, when PayPal made it); nil when it did
    /// not say, and for events recorded before it was kept.
    public var openedAt: Date?
    /// When the provider says this phase was reached; nil as for `openedAt`.
    public var asOf: Date?
    public var occurredAt: Date

    public init(
        paymentID: PaymentID, disputeID: String, phase: DisputePhase, amount: Money, openedAt: Date? = nil, asOf: Date? = nil, occurredAt: Date
    ) {
        self.paymentID = paymentID
        self.disputeID = disputeID
        self.phase = phase
        self.amount = amount
        self.openedAt = openedAt
        self.asOf = asOf
        self.occurredAt = occurredAt
    }
}

/// Why a payment waits for staff instead of being applied.
public enum HoldReason: String, Sendable, Hashable, Codable, CaseIterable {
    case currencyNotAccepted = "currency-not-accepted"
    case unexpectedAmount = "unexpected-amount"
    case missingProfileReference = "missing-profile-reference"
    case unknownProfile = "unknown-profile"
    /// Less than one period's price arrived for a listing.
    case shortPayment = "short-payment"
    /// A valid RF reference that belongs to no profile.
    case unknownReference = "unknown-reference"
    /// More than one payment may be without staff review, or more periods than one payment may buy.
    case amountOverLimit = "amount-over-limit"
    /// An effective date before 2000 or more than a few days ahead (``LedgerBounds``).
    case dateOutOfRange = "date-out-of-range"
    /// A transfer whose references name more than one profile: staff split it between them, or allocate it.
    case severalProfiles = "several-profiles"
}

/// The payment was recorded but not applied; it is in the staff exception queue.
public struct PaymentHeld: Sendable, Hashable, Codable {
    public static let typeName = "PaymentHeld"
    public var paymentID: PaymentID
    public var reasonCode: HoldReason
    /// What staff read: what was expected and what arrived.
    public var reason: String
    /// The profile the payment probably belongs to (the payer's account paid for it before), for staff to confirm.
    public var suggestedProfileID: ProfileID?
    public var occurredAt: Date

    public init(paymentID: PaymentID, reasonCode: HoldReason, reason: String, suggestedProfileID: ProfileID? = nil, occurredAt: Date) {
        self.paymentID = paymentID
        self.reasonCode = reasonCode
        self.reason = reason
        self.suggestedProfileID = suggestedProfileID
        self.occurredAt = occurredAt
    }
}

/// The bank returned or reversed the transfer: the money went back to the payer.
public struct PaymentReturned: Sendable, Hashable, Codable {
    public static let typeName = "PaymentReturned"
    public var paymentID: PaymentID
    /// The bank's return reason code (AC01, MD07, …) or a description.
    public var reason: String
    /// The day the bank booked the return, from its statement line (the books date the money leaving the bank
    /// then, as the statement's balances do); nil in returns recorded before it was kept.
    public var bookingDate: LocalDate?
    public var occurredAt: Date

    public init(paymentID: PaymentID, reason: String, bookingDate: LocalDate? = nil, occurredAt: Date) {
        self.paymentID = paymentID
        self.reason = reason
        self.bookingDate = bookingDate
        self.occurredAt = occurredAt
    }
}

/// Staff paid back a bank transfer they had decided to pay back (resolved as `refund`) by a transfer from the
/// bank account: `movementLineKey` names the statement line of the money going out. The whole amount goes back.
public struct PaymentPaidBack: Sendable, Hashable, Codable {
    public static let typeName = "PaymentPaidBack"
    public var paymentID: PaymentID
    public var amount: Money
    /// The day the money went back: the bank's booking day of the transfer.
    public var paidOn: LocalDate
    /// The key of the bank statement line (a ``BankMovementRecorded``) that paid it back.
    public var movementLineKey: String
    public var note: String
    public var occurredAt: Date

    public init(paymentID: PaymentID, amount: Money, paidOn: LocalDate, movementLineKey: String, note: String, occurredAt: Date) {
        self.paymentID = paymentID
        self.amount = amount
        self.paidOn = paidOn
        self.movementLineKey = movementLineKey
        self.note = note
        self.occurredAt = occurredAt
    }
}

/// The transfer that paid the payment back (its ``PaymentPaidBack``) came back: the payer's bank returned it, and
/// the bank statement shows the money coming in again (`movementLineKey`, a ``BankMovementRecorded`` of money in).
/// The payment is owed to its payer again, whole, and can be paid back by another transfer. `amount` is what came
/// back: at most what went out (a bank may keep a charge); what it kept stays money paid out of the account.
public struct PaymentPayBackReturned: Sendable, Hashable, Codable {
    public static let typeName = "PaymentPayBackReturned"
    public var paymentID: PaymentID
    /// What came back.
    public var amount: Money
    /// The day the money came back: the bank's booking day of the line.
    public var returnedOn: LocalDate
    /// The key of the bank statement line of the money coming back.
    public var movementLineKey: String
    /// The transfer that came back: the pay-back it undoes.
    public var paidBack: PaymentPaidBack
    public var note: String
    public var occurredAt: Date

    public init(
        paymentID: PaymentID, amount: Money, returnedOn: LocalDate, movementLineKey: String, paidBack: PaymentPaidBack, note: String, occurredAt: Date
    ) {
        self.paymentID = paymentID
        self.amount = amount
        self.returnedOn = returnedOn
        self.movementLineKey = movementLineKey
        self.paidBack = paidBack
        self.note = note
        self.occurredAt = occurredAt
    }
}

/// Staff recorded that what the payment paid for one profile was given back outside the ledger's view (a reversal
/// by hand): a refund made outside any provider (in cash, by a transfer from the bank account), a chargeback or a
/// bank return no report of the provider or bank names. `amount` is the money that went back that way, at most
/// what the payment paid for that profile (`0.00`: only the listing was taken back).
public struct PaymentGivenBackByHand: Sendable, Hashable, Codable {
    public static let typeName = "PaymentGivenBackByHand"
    public var paymentID: PaymentID
    public var profileID: ProfileID
    /// Never ``ReversalKind/correction``.
    public var kind: ReversalKind
    public var amount: Money
    /// What reports of the provider or bank had taken back of the payment when this was recorded
    /// (``PaymentState/reportedTakenMinorUnits``): what they take back later is the same money as this.
    public var reportedBeforeMinorUnits: Int64
    /// How many of the payment's disputes had ended with the money back with us when this was recorded
    /// (``PaymentState/restoredDisputeCount``): a chargeback by hand ends when another one does.
    public var restoredDisputesBefore: Int
    public var reason: String
    public var occurredAt: Date

    public init(
        paymentID: PaymentID, profileID: ProfileID, kind: ReversalKind, amount: Money, reportedBeforeMinorUnits: Int64, restoredDisputesBefore: Int,
        reason: String, occurredAt: Date
    ) {
        self.paymentID = paymentID
        self.profileID = profileID
        self.kind = kind
        self.amount = amount
        self.reportedBeforeMinorUnits = reportedBeforeMinorUnits
        self.restoredDisputesBefore = restoredDisputesBefore
        self.reason = reason
        self.occurredAt = occurredAt
    }
}

/// What staff decided for a held payment.
public enum HoldResolution: String, Sendable, Hashable, Codable, CaseIterable {
    /// Allocate it to one profile (its amount buys what it buys; a remainder is credit).
    case allocate
    /// Split it across several profiles (one transfer paying for several mediators).
    case split
    /// Keep it as a donation.
    case donation
    /// Count a short payment as one full period.
    case acceptShort = "accept-short"
    /// Not a contribution at all (other income).
    case notContribution = "not-contribution"
    /// To be paid back; nothing is allocated.
    case refund
    /// A bank transfer that is the card provider paying out card payments: it empties
    /// `Assets:Clearing:Card` into the bank account, and is neither income nor anyone's contribution.
    case cardPayout = "card-payout"
    /// The same for PayPal paying out to the bank account (`Assets:Clearing:PayPal`).
    case payPalPayout = "paypal-payout"
}

/// One profile's part of a resolved payment.
public struct AllocationShare: Sendable, Hashable, Codable {
    public var profileID: ProfileID
    public var amount: Money

    public init(profileID: ProfileID, amount: Money) {
        self.profileID = profileID
        self.amount = amount
    }
}

/// Staff resolved a held payment. Recorded with the actor (in the event's metadata) and a reason.
public struct PaymentHoldResolved: Sendable, Hashable, Codable {
    public static let typeName = "PaymentHoldResolved"
    public var paymentID: PaymentID
    public var resolution: HoldResolution
    /// The profiles it is allocated to, for `allocate`, `split` and `accept-short`.
    public var shares: [AllocationShare]
    public var reason: String
    public var occurredAt: Date

    public init(paymentID: PaymentID, resolution: HoldResolution, shares: [AllocationShare], reason: String, occurredAt: Date) {
        self.paymentID = paymentID
        self.resolution = resolution
        self.shares = shares
        self.reason = reason
        self.occurredAt = occurredAt
    }
}

/// Staff voided a payment they recorded by mistake (an offline payment): no money moved, so this is a
/// correction, not a refund. What it bought is taken back.
public struct PaymentVoided: Sendable, Hashable, Codable {
    public static let typeName = "PaymentVoided"
    public var paymentID: PaymentID
    public var reason: String
    public var occurredAt: Date

    public init(paymentID: PaymentID, reason: String, occurredAt: Date) {
        self.paymentID = paymentID
        self.reason = reason
        self.occurredAt = occurredAt
    }
}

/// Staff moved what a payment pays for from one profile to another (allocated to the wrong mediator): all of
/// it, or `amount` of it (one transfer that paid for two mediators).
public struct PaymentReassigned: Sendable, Hashable, Codable {
    public static let typeName = "PaymentReassigned"
    public var paymentID: PaymentID
    public var from: ProfileID
    public var to: ProfileID
    /// The part moved; nil moves all of `from`'s share (events from before partial moves have none).
    public var amount: Money?
    public var reason: String
    public var occurredAt: Date

    public init(paymentID: PaymentID, from: ProfileID, to: ProfileID, amount: Money? = nil, reason: String, occurredAt: Date) {
        self.paymentID = paymentID
        self.from = from
        self.to = to
        self.amount = amount
        self.reason = reason
        self.occurredAt = occurredAt
    }
}

/// Staff reopened a resolution made in error: the payment waits for a decision again, and what the resolution
/// allocated is taken back.
public struct PaymentResolutionReopened: Sendable, Hashable, Codable {
    public static let typeName = "PaymentResolutionReopened"
    public var paymentID: PaymentID
    public var reason: String
    public var occurredAt: Date

    public init(paymentID: PaymentID, reason: String, occurredAt: Date) {
        self.paymentID = paymentID
        self.reason = reason
        self.occurredAt = occurredAt
    }
}

extension PaymentEvent {
    /// The event's stable type name.
    public var typeName: String {
        switch self {
        case .received: PaymentReceived.typeName
        case .pending: PaymentPending.typeName
        case .failed: PaymentFailed.typeName
        case .refundReported: PaymentRefundReported.typeName
        case .refundRequested: PaymentRefundRequested.typeName
        case .refundAnswered: PaymentRefundAnswered.typeName
        case .disputeUpdated: PaymentDisputeUpdated.typeName
        case .held: PaymentHeld.typeName
        case .returned: PaymentReturned.typeName
        case .holdResolved: PaymentHoldResolved.typeName
        case .voided: PaymentVoided.typeName
        case .reassigned: PaymentReassigned.typeName
        case .resolutionReopened: PaymentResolutionReopened.typeName
        case .paidBack: PaymentPaidBack.typeName
        case .payBackReturned: PaymentPayBackReturned.typeName
        case .givenBackByHand: PaymentGivenBackByHand.typeName
        }
    }

    /// Every payment event type is at schema version 1.
    public static let schemaVersion = 1

    /// The stored form: JSON with sorted keys.
    public func encodedData() throws -> Data {
        let encoder = ProfileEvent.encoder
        return switch self {
        case .received(let event): try encoder.encode(event)
        case .pending(let event): try encoder.encode(event)
        case .failed(let event): try encoder.encode(event)
        case .refundReported(let event): try encoder.encode(event)
        case .refundRequested(let event): try encoder.encode(event)
        case .refundAnswered(let event): try encoder.encode(event)
        case .disputeUpdated(let event): try encoder.encode(event)
        case .held(let event): try encoder.encode(event)
        case .returned(let event): try encoder.encode(event)
        case .holdResolved(let event): try encoder.encode(event)
        case .voided(let event): try encoder.encode(event)
        case .reassigned(let event): try encoder.encode(event)
        case .resolutionReopened(let event): try encoder.encode(event)
        case .paidBack(let event): try encoder.encode(event)
        case .payBackReturned(let event): try encoder.encode(event)
        case .givenBackByHand(let event): try encoder.encode(event)
        }
    }

    /// Decodes a stored event; nil for a type this stream does not hold.
    public static func decode(typeName: String, data: Data) throws -> PaymentEvent? {
        let decoder = ProfileEvent.decoder
        switch typeName {
        case PaymentReceived.typeName: return .received(try decoder.decode(PaymentReceived.self, from: data))
        case PaymentPending.typeName: return .pending(try decoder.decode(PaymentPending.self, from: data))
        case PaymentFailed.typeName: return .failed(try decoder.decode(PaymentFailed.self, from: data))
        case PaymentRefundReported.typeName: return .refundReported(try decoder.decode(PaymentRefundReported.self, from: data))
        case PaymentRefundRequested.typeName: return .refundRequested(try decoder.decode(PaymentRefundRequested.self, from: data))
        case PaymentRefundAnswered.typeName: return .refundAnswered(try decoder.decode(PaymentRefundAnswered.self, from: data))
        case PaymentDisputeUpdated.typeName: return .disputeUpdated(try decoder.decode(PaymentDisputeUpdated.self, from: data))
        case PaymentHeld.typeName: return .held(try decoder.decode(PaymentHeld.self, from: data))
        case PaymentReturned.typeName: return .returned(try decoder.decode(PaymentReturned.self, from: data))
        case PaymentHoldResolved.typeName: return .holdResolved(try decoder.decode(PaymentHoldResolved.self, from: data))
        case PaymentVoided.typeName: return .voided(try decoder.decode(PaymentVoided.self, from: data))
        case PaymentReassigned.typeName: return .reassigned(try decoder.decode(PaymentReassigned.self, from: data))
        case PaymentResolutionReopened.typeName: return .resolutionReopened(try decoder.decode(PaymentResolutionReopened.self, from: data))
        case PaymentPaidBack.typeName: return .paidBack(try decoder.decode(PaymentPaidBack.self, from: data))
        case PaymentPayBackReturned.typeName: return .payBackReturned(try decoder.decode(PaymentPayBackReturned.self, from: data))
        case PaymentGivenBackByHand.typeName: return .givenBackByHand(try decoder.decode(PaymentGivenBackByHand.self, from: data))
        default: return nil
        }
    }
}
