public import EventStore
public import Foundation
public import LedgerCore
import Payments

extension CardPayments {
    /// What a staff refund request did at the provider.
    public struct RefundRequested: Sendable {
        public var paymentID: PaymentID
        public var refundID: String
        public var status: String
        public var amount: Money
    }

    /// Asks the provider to refund a card payment (all that remains, or `amount`). The payment and the
    /// listing change when the provider confirms by webhook; the request itself is recorded on the payment.
    ///
    /// The provider idempotency key is bound to the payment, the amount and the refunds requested so far (or
    /// to the caller's key), so a repeated click refunds once.
    public func refund(paymentID: PaymentID, amount: Money?, idempotencyKey: String?, metadata: EventMetadata) async throws -> RefundRequested {
        guard let client else { throw PaymentServiceError.notConfigured("card refunds (no provider secret key is set)") }
        let payment = try await pipeline.loadPayment(paymentID)
        guard let received = payment.received else {
            throw PaymentServiceError(code: .paymentNotFound, description: "no received payment '\(paymentID)'")
        }
        guard received.method == .card else {
            throw PaymentServiceError(code: .notRefundable, description: "payment '\(paymentID)' was made by \(received.method.rawValue); only card payments are refunded here")
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
        let intentID = String(paymentID.rawValue.dropFirst("card-".count))
        let providerKey = idempotencyKey.map { Self.providerKey("refund", paymentID.rawValue, $0) }
            ?? Self.providerKey("refund", paymentID.rawValue, String(payment.refundRequests.count), String(wanted.minorUnits))
        let refund: CardRefund
        do {
            refund = try await client.createRefund(paymentIntentID: intentID, amount: amount == nil ? nil : wanted, idempotencyKey: providerKey)
        } catch {
            throw PaymentServiceError(code: .providerFailed, description: "the card provider did not refund: \(error.message)")
        }
        if !payment.refundRequests.contains(where: { $0.refundID == refund.id }) {
            let event = PaymentEvent.refundRequested(PaymentRefundRequested(
                paymentID: paymentID, refundID: refund.id, amount: refund.amount, occurredAt: profiles.now()
            ))
            _ = try await store.append([PaymentPipeline.newEvent(event, metadata)], to: paymentID.streamName, expecting: .any)
        }
        return RefundRequested(paymentID: paymentID, refundID: refund.id, status: refund.status, amount: refund.amount)
    }
}
