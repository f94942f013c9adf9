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

/// A refund call the provider did not take: refused outright, or not answered (whether it was taken is unknown).
struct RefundCallFailure: Error {
    var refused: Bool
    var message: String
}

/// Staff refunds of card and PayPal payments.
///
/// The request is recorded on the payment (``PaymentRefundRequested``) before the provider is called, under the
/// key the call carries as its idempotency key; the provider's answer is recorded after it
/// (``PaymentRefundAnswered``). So no refund is asked of a provider without a record of who asked, and a
/// request is sent again only under its own key, which the provider answers with the first refund.
public struct PaymentRefunds: Sendable {
    public let card: CardPayments
    public let payPal: PayPalPayments
    /// How long a recorded request without an answer is taken to be with the provider (its caller may still be
    /// waiting for it); after that, asking again sends it again. Longer than a provider call can take.
    let leaseSeconds: TimeInterval

    public init(card: CardPayments, payPal: PayPalPayments, leaseSeconds: TimeInterval = 60) {
        self.card = card
        self.payPal = payPal
        self.leaseSeconds = leaseSeconds
    }

    /// Asks the payment's provider to refund it (all that remains, or `amount`). The payment and the listing
    /// change when the provider confirms by webhook.
    ///
    /// The request's key is bound to the payment and the caller's idempotency key, or, without one, to the
    /// refunds requested so far and the amount, so a repeated click refunds once. A request the provider did
    /// not answer is sent again, under its key, when the same refund is asked for again.
    public func refund(paymentID: PaymentID, amount: Money?, idempotencyKey: String?, metadata: EventMetadata) async throws -> RefundRequested {
        let pipeline = card.pipeline
        for _ in 0..<PaymentPipeline.conflictRetriesMax {
            let payment = try await pipeline.loadPayment(paymentID)
            guard let received = payment.received else {
                throw PaymentServiceError(code: .paymentNotFound, description: "no received payment '\(paymentID)'")
            }
            guard received.method == .card || received.method == .paypal else {
                throw PaymentServiceError(code: .notRefundable, description: "payment '\(paymentID)' was made by \(received.method.rawValue); only card and PayPal payments are refunded here")
            }
            let callerKey = idempotencyKey.map { CardPayments.providerKey("refund", paymentID.rawValue, $0) }
            if let callerKey, let earlier = payment.refundRequests.last(where: { $0.requestKey == callerKey }) {
                if let answer = payment.refundAnswer(callerKey) {
                    switch answer.outcome {
                    case .accepted:
                        return RefundRequested(
                            paymentID: paymentID, refundID: answer.refundID ?? "", status: answer.status ?? "", amount: answer.amount ?? earlier.amount
                        )
                    case .refused:
                        throw PaymentServiceError(code: .notRefundable, description: "the provider refused this refund: \(answer.reason ?? "no reason given")")
                    case .unanswered:
                        break
                    }
                }
            }
            let now = pipeline.profiles.now()
            if let open = payment.openRefundRequest {
                let answered = payment.refundAnswer(open.requestKey) != nil
                let asked = Self.describe(open)
                if !answered, now.timeIntervalSince(open.occurredAt) < leaseSeconds {
                    throw PaymentServiceError(code: .inProgress, description: "\(asked) is being sent to the provider; look at the payment again in a minute")
                }
                let sameAsk = (callerKey == nil || callerKey == open.requestKey) && (amount == nil ? open.whole == true : amount == open.amount && open.whole != true)
                guard sameAsk else {
                    throw PaymentServiceError(
                        code: .inProgress,
                        description: "\(asked) got no answer from the provider; ask for the same refund again to send it again (it cannot refund twice)"
                    )
                }
                return try await call(open, payment: payment, metadata: metadata)
            }
            let remaining = received.amount.minorUnits - max(payment.refundedMinorUnits, payment.requestedRefundMinorUnits)
            let wanted = amount ?? Money(minorUnits: remaining, currency: received.amount.currency)
            guard wanted.currency == received.amount.currency else { throw DomainError.currencyMismatch(wanted.currency, received.amount.currency) }
            guard wanted.minorUnits > 0, wanted.minorUnits <= remaining else {
                throw PaymentServiceError(
                    code: .notRefundable,
                    description: "\(wanted) cannot be refunded: \(Money(minorUnits: max(remaining, 0), currency: received.amount.currency)) of \(received.amount) remains"
                )
            }
            let request = PaymentRefundRequested(
                paymentID: paymentID,
                requestKey: callerKey ?? CardPayments.providerKey("refund", paymentID.rawValue, String(payment.refundRequests.count), String(wanted.minorUnits)),
                amount: wanted, whole: amount == nil, occurredAt: now
            )
            do {
                // Against the version the decision read: two requests at once cannot both take what remains.
                _ = try await pipeline.store.append(
                    [PaymentPipeline.newEvent(.refundRequested(request), metadata)], to: paymentID.streamName, expecting: .exact(payment.version)
                )
            } catch let error as EventStoreError where error.code == .versionConflict {
                continue
            }
            return try await call(request, payment: payment, metadata: metadata)
        }
        throw PaymentServiceError(code: .inProgress, description: "payment '\(paymentID)' kept changing while the refund was asked for; ask again")
    }

    /// Calls the provider for a recorded request, under its key, and records the answer.
    private func call(_ request: PaymentRefundRequested, payment: PaymentState, metadata: EventMetadata) async throws -> RefundRequested {
        guard let key = request.requestKey else {
            throw PaymentServiceError(code: .notRefundable, description: "\(Self.describe(request)) has no key to send it under")
        }
        let provider: any PaymentProvider = request.paymentID.method == .card ? card : payPal
        let answer: PaymentRefundAnswered
        let result: Result<RefundRequested, PaymentServiceError>
        let whole = request.whole == true
        do {
            let refund = try await provider.requestRefund(paymentID: request.paymentID, payment: payment, wanted: request.amount, whole: whole, key: key)
            answer = PaymentRefundAnswered(
                paymentID: request.paymentID, requestKey: key, outcome: .accepted, refundID: refund.refundID, status: refund.status, amount: refund.amount,
                occurredAt: card.pipeline.profiles.now()
            )
            result = .success(refund)
        } catch let failure as RefundCallFailure {
            answer = PaymentRefundAnswered(
                paymentID: request.paymentID, requestKey: key, outcome: failure.refused ? .refused : .unanswered, reason: failure.message,
                occurredAt: card.pipeline.profiles.now()
            )
            result = .failure(PaymentServiceError(
                code: .providerFailed,
                description: failure.refused
                    ? "the provider refused the refund: \(failure.message)"
                    : "the provider did not answer the refund (\(failure.message)); ask for the same refund again to send it again (it cannot refund twice)"
            ))
        }
        // The answer is recorded even if the caller has gone: a stop must not leave a request looking in flight.
        let store = card.pipeline.store
        try await Task {
            _ = try await store.append([PaymentPipeline.newEvent(.refundAnswered(answer), metadata)], to: request.paymentID.streamName, expecting: .any)
        }.value
        return try result.get()
    }

    /// A request in words, for staff.
    private static func describe(_ request: PaymentRefundRequested) -> String {
        "the refund of \(request.whole == true ? "all that remained (\(request.amount))" : "\(request.amount)") asked for at \(StoredInstant.formatWholeSeconds(request.occurredAt))"
    }
}
