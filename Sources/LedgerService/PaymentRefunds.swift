public import EventStore
public import Foundation
public import LedgerCore
import Payments

/// What a staff refund request did at the provider.
public struct RefundRequested: Sendable {
    public var paymentID: PaymentID
    public var refundID: String
    public var status: String
    public var amount: Money
}

/// Staff refunds of card and PayPal payments.
public struct PaymentRefunds: Sendable {
    public let card: CardPayments
    public let payPal: PayPalPayments

    public init(card: CardPayments, payPal: PayPalPayments) {
        self.card = card
        self.payPal = payPal
    }

    /// Asks the payment's provider to refund it (all that remains, or `amount`). The payment and the listing
    /// change when the provider confirms by webhook; the request itself is recorded on the payment.
    ///
    /// The provider's idempotency key is bound to the payment, the amount and the refunds requested so far (or
    /// to the caller's key), so a repeated click refunds once.
    public func refund(paymentID: PaymentID, amount: Money?, idempotencyKey: String?, metadata: EventMetadata) async throws -> RefundRequested {
        let pipeline = card.pipeline
        let payment = try await pipeline.loadPayment(paymentID)
        guard let received = payment.received else {
            throw PaymentServiceError(code: .paymentNotFound, description: "no received payment '\(paymentID)'")
        }
        guard received.method == .card || received.method == .paypal else {
            throw PaymentServiceError(code: .notRefundable, description: "payment '\(paymentID)' was made by \(received.method.rawValue); only card and PayPal payments are refunded here")
        }
        let requested = payment.refundRequests.reduce(Int64(0)) { $0 + $1.amount.minorUnits }
        let remaining = received.amount.minorUnits - max(payment.refundedMinorUnits, requested)
        let wanted = amount ?? Money(minorUnits: remaining, currency: received.amount.currency)
        guard wanted.currency == received.amount.currency else { throw DomainError.currencyMismatch(wanted.currency, received.amount.currency) }
        guard wanted.minorUnits > 0, wanted.minorUnits <= remaining else {
            throw PaymentServiceError(
                code: .notRefundable,
                description: "\(wanted) cannot be refunded: \(Money(minorUnits: max(remaining, 0), currency: received.amount.currency)) of \(received.amount) remains"
            )
        }
        let key = idempotencyKey.map { CardPayments.providerKey("refund", paymentID.rawValue, $0) }
            ?? CardPayments.providerKey("refund", paymentID.rawValue, String(payment.refundRequests.count), String(wanted.minorUnits))
        let provider: any PaymentProvider = received.method == .card ? card : payPal
        let refund = try await provider.requestRefund(paymentID: paymentID, payment: payment, wanted: wanted, whole: amount == nil, key: key)
        if !payment.refundRequests.contains(where: { $0.refundID == refund.refundID }) {
            let event = PaymentEvent.refundRequested(PaymentRefundRequested(
                paymentID: paymentID, refundID: refund.refundID, amount: refund.amount, occurredAt: pipeline.profiles.now()
            ))
            _ = try await pipeline.store.append([PaymentPipeline.newEvent(event, metadata)], to: paymentID.streamName, expecting: .any)
        }
        return refund
    }
}
