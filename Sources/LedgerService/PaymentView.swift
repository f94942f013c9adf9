public import Foundation
import EventStore
public import LedgerCore

/// One payment as staff see it: the money, its refunds and disputes, and what it does to a listing.
public struct PaymentView: Sendable, Encodable {
    public var paymentId: String
    public var version: Int64
    public var status: String
    public var method: String?
    public var amount: String?
    public var currency: String?
    public var purpose: String?
    public var profileId: String?
    public var effectiveDate: String?
    public var refunded: String
    public var disputes: [String: [String]]
    public var held: Held?
    public var allocation: String?
    public var refundRequests: [String]
    /// Refunds asked of the provider that got no answer: their money counts against what remains until the
    /// provider reports them, or staff close them (``PaymentRefunds/close(paymentID:requestKey:reason:metadata:)``).
    public var unansweredRefundRequests: [UnansweredRefund]
    /// True while the payment is held and no staff decision stands.
    public var waitingForStaff: Bool
    /// The staff decision that ended the hold, if one stands.
    public var resolution: Resolution?
    /// Set when staff voided the payment (recorded by mistake).
    public var voided: Correction?
    /// Set when the bank returned the transfer to the payer.
    public var returned: Returned?
    /// What staff recorded as given back outside the ledger's view (reversals by hand), oldest first.
    public var givenBackByHand: [GivenBack]
    /// Every profile the payment paid for, and whether that still counts.
    public var allocations: [Allocation]
    /// Every event of the payment, oldest first, with who caused it.
    public var history: [Step]
    /// Whether staff may void it: a payment they recorded, not voided, of which nothing was given back by hand
    /// (``PaymentPipeline/void(paymentID:reason:metadata:)`` refuses the others). Not part of the API's answer.
    public var voidable: Bool

    private enum CodingKeys: String, CodingKey {
        case paymentId, version, status, method, amount, currency, purpose, profileId, effectiveDate, refunded, disputes, held, allocation
        case refundRequests, unansweredRefundRequests, waitingForStaff, resolution, voided, returned, givenBackByHand, allocations, history
    }

    public struct Held: Sendable, Encodable {
        public var reasonCode: String
        public var reason: String
    }

    public struct Resolution: Sendable, Encodable {
        public var resolution: String
        public var reason: String
        public var by: String?
        public var at: Date
        public var shares: [Share]
    }

    public struct Share: Sendable, Encodable {
        public var profileId: String
        public var amount: String
    }

    public struct Returned: Sendable, Encodable {
        /// The bank's return reason code (AC01, MD07, …) or its words.
        public var reason: String
        /// The day the bank booked the return (absent in returns recorded before it was kept).
        public var bookingDate: String?
    }

    public struct GivenBack: Sendable, Encodable {
        public var profileId: String
        /// refund, chargeback or bank_return.
        public var kind: String
        public var amount: String
        /// What of it stands: a refund, return or chargeback the provider or bank reported afterwards is the
        /// same money, counted once, by the report.
        public var standing: String
        public var reason: String
        public var at: Date
    }

    public struct Correction: Sendable, Encodable {
        public var reason: String
        public var by: String?
        public var at: Date
    }

    public struct Allocation: Sendable, Encodable {
        public var profileId: String
        public var amount: String
        /// `active` or `reversed`.
        public var state: String
        /// Why it was taken back: refund, chargeback, bank_return or correction.
        public var reversedAs: String?
    }

    public struct UnansweredRefund: Sendable, Encodable {
        public var requestKey: String
        public var amount: String
        public var askedAt: Date
        /// When it may be closed (an hour after it may last be sent again, which asking for the same refund does).
        public var closableFrom: Date
    }

    public struct Step: Sendable, Encodable {
        public var type: String
        public var at: Date
        public var by: String?
    }

    init(_ paymentID: PaymentID, _ state: PaymentState, allocation: String?, allocations: [Allocation] = [], history: [RecordedStep] = []) {
        paymentId = paymentID.rawValue
        version = state.version
        let received = state.received
        status = received != nil ? "received" : state.failed != nil ? "failed" : state.pending != nil ? "pending" : "not-received"
        method = received?.method.rawValue
        amount = (received?.amount ?? state.pending?.amount)?.decimalString
        currency = (received?.amount ?? state.pending?.amount)?.currency
        purpose = received?.purpose.rawValue
        profileId = received?.profileID?.rawValue
        effectiveDate = received?.effectiveDate.description
        refunded = Money(minorUnits: state.refundedInAllMinorUnits, currency: currency ?? "EUR").decimalString
        disputes = state.disputes.mapValues { $0.map(\.rawValue).sorted() }
        held = state.held.map { Held(reasonCode: $0.reasonCode.rawValue, reason: $0.reason) }
        self.allocation = allocation
        refundRequests = state.refundRequests.compactMap { state.refundID(of: $0) }
        unansweredRefundRequests = state.unansweredRefundRequests.compactMap { request in
            request.requestKey.map { key in
                UnansweredRefund(
                    requestKey: key, amount: request.amount.decimalString, askedAt: request.occurredAt,
                    closableFrom: request.occurredAt.addingTimeInterval(PaymentRefunds.closableAfterSeconds)
                )
            }
        }
        waitingForStaff = state.isWaitingForStaff
        func actor(of type: String) -> String? { history.last { $0.type == type }?.by }
        resolution = state.resolution.map { resolved in
            Resolution(
                resolution: resolved.resolution.rawValue, reason: resolved.reason, by: actor(of: PaymentHoldResolved.typeName), at: resolved.occurredAt,
                shares: resolved.shares.map { Share(profileId: $0.profileID.rawValue, amount: $0.amount.decimalString) }
            )
        }
        voided = state.voided.map { Correction(reason: $0.reason, by: actor(of: PaymentVoided.typeName), at: $0.occurredAt) }
        returned = state.returned.map { Returned(reason: $0.reason, bookingDate: $0.bookingDate?.description) }
        givenBackByHand = state.standingGivenBackByHand.map { given, minorUnits in
            GivenBack(
                profileId: given.profileID.rawValue, kind: given.kind.rawValue, amount: given.amount.decimalString,
                standing: Money(minorUnits: minorUnits, currency: given.amount.currency).decimalString, reason: given.reason, at: given.occurredAt
            )
        }
        self.allocations = allocations
        self.history = history.map { Step(type: $0.type, at: $0.at, by: $0.by) }
        voidable = paymentID.method == .offline && state.voided == nil && state.givenBackByHandWithMoney == nil
    }

    /// One event of the payment's stream as the view shows it.
    struct RecordedStep {
        var type: String
        var at: Date
        var by: String?
    }
}

extension PaymentPipeline {
    /// The payment as staff see it, with what it does to its profile's listing; nil when no such payment exists.
    public func view(_ paymentID: PaymentID) async throws -> PaymentView? {
        try await viewAndState(paymentID)?.view
    }

    /// A payment's page in the console: the view and what it offers for paying the payment back and for a transfer
    /// back that came back (at most `limit` lines each), from one read of the payment's stream; nil when no such
    /// payment exists.
    public func page(_ paymentID: PaymentID, books: BooksQueries, limit: Int) async throws -> PaymentPage? {
        guard let (view, payment) = try await viewAndState(paymentID) else { return nil }
        return PaymentPage(
            view: view, payBack: try await payBackOffer(payment, books: books, limit: limit),
            payBackReturn: try await payBackReturnOffer(payment, books: books, limit: limit)
        )
    }

    private func viewAndState(_ paymentID: PaymentID) async throws -> (view: PaymentView, state: PaymentState)? {
        // One read of the stream: the state, and who caused each event.
        var steps: [PaymentView.RecordedStep] = []
        let payment = try await loadPayment(paymentID) { steps.append(PaymentView.RecordedStep(type: $0.type, at: $0.recordedAt, by: $0.metadata.actor)) }
        guard payment.version > 0 else { return nil }
        var allocation: String?
        if let profileID = payment.received?.profileID {
            allocation = try await profiles.load(profileID).state.allocation(of: paymentID).map { $0.isActiveNow ? "active" : "reversed" }
        }
        // Every profile it paid for: as received, as resolved, and where staff moved it.
        var profileIDs: [ProfileID] = []
        let candidates = [payment.received?.profileID].compactMap { $0 } + (payment.resolution?.shares.map(\.profileID) ?? [])
            + payment.reassignments.flatMap { [$0.from, $0.to] } + payment.listingShares.map(\.share.profileID)
        for profileID in candidates where !profileIDs.contains(profileID) { profileIDs.append(profileID) }
        var allocations: [PaymentView.Allocation] = []
        for profileID in profileIDs {
            guard let record = try await profiles.load(profileID).state.allocation(of: paymentID) else { continue }
            allocations.append(PaymentView.Allocation(
                profileId: profileID.rawValue, amount: record.event.amount.decimalString, state: record.isActiveNow ? "active" : "reversed",
                reversedAs: record.reversedAs?.rawValue
            ))
        }
        return (PaymentView(paymentID, payment, allocation: allocation, allocations: allocations, history: steps), payment)
    }
}

/// A payment's page in the console: see ``PaymentPipeline/page(_:books:limit:)``.
public struct PaymentPage: Sendable {
    public var view: PaymentView
    /// Set while staff can say which transfer paid the payment back.
    public var payBack: PaymentPipeline.PayBackOffer?
    /// Set while the payment is paid back by a transfer, which may come back.
    public var payBackReturn: PaymentPipeline.PayBackReturnOffer?
}
