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

    public struct Held: Sendable, Encodable {
        public var reasonCode: String
        public var reason: String
    }

    init(_ paymentID: PaymentID, _ state: PaymentState, allocation: String?) {
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
        refunded = Money(minorUnits: state.refundedMinorUnits, currency: currency ?? "EUR").decimalString
        disputes = state.disputes.mapValues { $0.map(\.rawValue).sorted() }
        held = state.held.map { Held(reasonCode: $0.reasonCode.rawValue, reason: $0.reason) }
        self.allocation = allocation
        refundRequests = state.refundRequests.map(\.refundID)
    }
}

extension PaymentPipeline {
    /// The payment as staff see it, with what it does to its profile's listing; nil when no such payment exists.
    public func view(_ paymentID: PaymentID) async throws -> PaymentView? {
        let payment = try await loadPayment(paymentID)
        guard payment.version > 0 else { return nil }
        var allocation: String?
        if let profileID = payment.received?.profileID {
            allocation = try await profiles.load(profileID).state.allocation(of: paymentID).map { $0.isActiveNow ? "active" : "reversed" }
        }
        return PaymentView(paymentID, payment, allocation: allocation)
    }
}
