public import Foundation

/// One payment's state: the fold of its stream.
public struct PaymentState: Sendable, Hashable {
    public var version: Int64 = 0
    public var received: PaymentReceived?
    public var pending: PaymentPending?
    public var failed: PaymentFailed?
    /// The highest running refund total reported, in minor units.
    public var cumulativeRefundMinorUnits: Int64 = 0
    /// Single refunds by provider id, with their last status.
    public var refunds: [String: PaymentRefundReported] = [:]
    public var refundRequests: [PaymentRefundRequested] = []
    /// Phases seen per dispute id.
    public var disputes: [String: Set<DisputePhase>] = [:]
    public var held: PaymentHeld?

    public init() {}

    /// Applies one event.
    public mutating func evolve(_ event: PaymentEvent) {
        version += 1
        switch event {
        case .received(let event): received = event
        case .pending(let event): pending = event
        case .failed(let event): failed = event
        case .refundReported(let report):
            if report.cumulative {
                cumulativeRefundMinorUnits = max(cumulativeRefundMinorUnits, report.amount.minorUnits)
            } else if let refundID = report.refundID {
                refunds[refundID] = report
            }
        case .refundRequested(let request): refundRequests.append(request)
        case .disputeUpdated(let update): disputes[update.disputeID, default: []].insert(update.phase)
        case .held(let hold): held = hold
        }
    }

    /// Folds a whole stream.
    public static func fold(_ events: some Sequence<PaymentEvent>) -> PaymentState {
        var state = PaymentState()
        for event in events { state.evolve(event) }
        return state
    }

    /// Money given back so far, in minor units: whichever way of reporting saw more.
    public var refundedMinorUnits: Int64 {
        let single = refunds.values.filter { $0.status == .succeeded }.reduce(Int64(0)) { $0 + $1.amount.minorUnits }
        return max(cumulativeRefundMinorUnits, single)
    }

    /// Whether every cent received was given back.
    public var isFullyRefunded: Bool {
        guard let received else { return false }
        return refundedMinorUnits >= received.amount.minorUnits
    }

    /// Whether a dispute has taken the money (withdrawn or lost, and not since returned or won). Phases are
    /// judged as a set, so a dispute's events may arrive in any order.
    public var isTakenByDispute: Bool {
        disputes.values.contains { phases in
            phases.isDisjoint(with: [.won, .fundsReinstated]) && !phases.isDisjoint(with: [.fundsWithdrawn, .lost])
        }
    }

    /// Whether some dispute ended with the money back with us.
    public var hasDisputeRestored: Bool {
        disputes.values.contains { !$0.isDisjoint(with: [.won, .fundsReinstated]) }
    }

    /// What the payment should do to its profile's listing, given everything known about it.
    public var allocationTarget: AllocationTarget {
        guard let received, received.purpose == .listing, received.profileID != nil, held == nil else { return .none }
        if isFullyRefunded { return .reversed(.refund) }
        if isTakenByDispute { return .reversed(.chargeback) }
        return .active
    }
}

/// What a payment should do to a listing.
public enum AllocationTarget: Sendable, Hashable {
    /// Nothing: not received, not for a listing, or waiting for staff.
    case none
    /// Count towards the listing.
    case active
    /// Allocated and then taken back.
    case reversed(ReversalKind)
}

/// A fact a provider adapter or statement import reports about one payment, in provider-neutral terms.
public enum PaymentFact: Sendable, Hashable {
    /// Money arrived. `purpose` and `profileID` are nil when the payer's reference did not name them.
    case received(amount: Money, purpose: PaymentPurpose?, profileID: ProfileID?, effectiveDate: LocalDate, note: String)
    case pending(amount: Money, purpose: PaymentPurpose?, profileID: ProfileID?)
    case failed(reason: String)
    case refund(refundID: String?, amount: Money, cumulative: Bool, status: RefundStatus)
    case dispute(disputeID: String, phase: DisputePhase, amount: Money)
}
