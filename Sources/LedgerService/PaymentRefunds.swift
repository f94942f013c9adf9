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

    /// Whether a failed call is a refusal: the provider answered no (a 4xx), or the call was never made (an
    /// identifier it cannot name, an amount it cannot take). A 409 (the key is in use by a call still running) or a 429 (slow down) says
    /// nothing about the refund, so neither is one.
    static func isRefusal(_ error: PaymentsError) -> Bool {
        switch error.code {
        case .rejected: ![409, 429].contains(error.status ?? 0)
        case .invalidIdentifier, .unsupportedAmount: true
        default: false
        }
    }
}

/// Staff refunds of card and PayPal payments.
///
/// The request is recorded on the payment (``PaymentRefundRequested``) before the provider is called, under the
/// key the call carries as its idempotency key; the provider's answer is recorded after it
/// (``PaymentRefundAnswered``). So no refund is asked of a provider without a record of who asked, and a
/// request is sent again only under its own key, which the provider answers with the first refund, and only
/// while the provider still keeps that key.
public struct PaymentRefunds: Sendable {
    public let card: CardPayments
    public let payPal: PayPalPayments
    /// How long a recorded request without an answer is taken to be with the provider (its caller may still be
    /// waiting for it); after that, asking again sends it again. Longer than a provider call can take.
    let leaseSeconds: TimeInterval
    /// How long after it was recorded a request without an answer may be sent again. The card provider keeps an
    /// idempotency key for 24 hours; past that, the same key would make a new refund. An older request is not
    /// sent again and no longer holds other amounts back, but its money stays counted against what remains
    /// (whether the provider made it is unknown) until the provider reports the refund.
    static let resendWindowSeconds: TimeInterval = 20 * 3_600
    /// How long after it was recorded a request without an answer may be closed by staff: an hour past the
    /// resend window, so that no resend started within the window (whose provider call takes at most
    /// minutes) is still waiting when its request is closed.
    public static let closableAfterSeconds: TimeInterval = resendWindowSeconds + 3_600

    public init(card: CardPayments, payPal: PayPalPayments, leaseSeconds: TimeInterval = 60) {
        self.card = card
        self.payPal = payPal
        self.leaseSeconds = leaseSeconds
    }

    /// Asks the payment's provider to refund it (all that remains, or `amount`). The payment and the listing
    /// change when the provider confirms by webhook.
    ///
    /// `amount` is read in the payment's own currency, as a person writes it: `"25.00"` of a euro payment,
    /// `"400"` of a yen one (an amount with decimals its currency does not have is refused, nothing recorded).
    ///
    /// The request's key is bound to the payment and the caller's idempotency key, or, without one, to the
    /// refunds requested so far and the amount. A request the provider
    /// did not answer is sent again, under its key, when the same refund is asked for again within
    /// ``resendWindowSeconds``; if the provider has meanwhile reported a refund of its amount, that refund is
    /// taken as its answer instead.
    public func refund(paymentID: PaymentID, amount asked: String?, idempotencyKey: String?, metadata: EventMetadata) async throws -> RefundRequested {
        let pipeline = card.pipeline
        attempts: for _ in 0..<PaymentPipeline.conflictRetriesMax {
            let payment = try await pipeline.loadPayment(paymentID)
            // What staff gave back by hand: never asked of the provider again, and never part of "all that remains".
            let byHand = payment.givenBackByHandMinorUnits()
            guard let received = payment.received else {
                throw PaymentServiceError(code: .paymentNotFound, description: "no received payment '\(paymentID)'")
            }
            guard received.method == .card || received.method == .paypal else {
                throw PaymentServiceError(code: .notRefundable, description: "payment '\(paymentID)' was made by \(received.method.rawValue); only card and PayPal payments are refunded here")
            }
            let amount = try asked.map { text throws(DomainError) in try Money(parsing: text, currency: received.amount.currency) }
            let provider: any PaymentProvider = received.method == .card ? card : payPal
            let now = pipeline.profiles.now()
            let cutoff = now.addingTimeInterval(-Self.resendWindowSeconds)
            let callerKey = idempotencyKey.map { CardPayments.providerKey("refund", paymentID.rawValue, $0) }
            if let callerKey, let earlier = payment.refundRequests.last(where: { $0.requestKey == callerKey }) {
                // A key names one request. Asked again for another amount (a form sent again after it was changed),
                // it is refused, not answered with the first request's refund as if this one had been made. (A
                // request recorded before `whole` was kept cannot say what it asked for, and is not compared.)
                if earlier.whole != nil, !Self.sameAsk(amount, earlier) {
                    throw PaymentServiceError(
                        code: .idempotencyKeyReused,
                        description: "\(Self.describe(earlier)) was asked under this key; ask for another amount with a new key (on a new page)"
                    )
                }
                let answer = payment.refundAnswer(callerKey)
                switch answer?.outcome {
                case .accepted?:
                    return RefundRequested(
                        paymentID: paymentID, refundID: answer?.refundID ?? "", status: answer?.status ?? "", amount: answer?.amount ?? earlier.amount
                    )
                case .refused?:
                    throw PaymentServiceError(code: .notRefundable, description: "the provider refused this refund: \(answer?.reason ?? "no reason given")")
                case .closed?:
                    throw PaymentServiceError(
                        code: .notRefundable, description: "this refund request was closed by staff (\(answer?.reason ?? "no reason given")); ask with a new key"
                    )
                case .unanswered?, nil:
                    guard earlier.occurredAt >= cutoff else {
                        throw PaymentServiceError(
                            code: .notRefundable,
                            description: "\(Self.describe(earlier)) got no answer and is too old to send again under its key; look at the payment's refunds, and ask with a new key if the money has not gone back"
                        )
                    }
                }
            }
            // A request whose answer was lost, and whose refund the provider has reported since, is answered by it.
            for lost in payment.unansweredRefundRequests {
                guard let reported = payment.reportedRefund(matching: lost), let key = lost.requestKey, let refundID = reported.refundID else { continue }
                try await record(PaymentRefundAnswered(
                    paymentID: paymentID, requestKey: key, outcome: .accepted, refundID: refundID, status: reported.status.rawValue, amount: reported.amount,
                    reason: "the provider reported this refund", occurredAt: now
                ), metadata: metadata)
                if lost.requestKey == callerKey || (callerKey == nil && lost.occurredAt >= cutoff && Self.sameAsk(amount, lost)) {
                    return RefundRequested(paymentID: paymentID, refundID: refundID, status: reported.status.rawValue, amount: reported.amount)
                }
                continue attempts
            }
            if let open = payment.openRefundRequest(recordedSince: cutoff) {
                let asked = Self.describe(open)
                if payment.refundAnswer(open.requestKey) == nil, now.timeIntervalSince(open.occurredAt) < leaseSeconds {
                    throw PaymentServiceError(code: .inProgress, description: "\(asked) is being sent to the provider; look at the payment again in a minute")
                }
                guard (callerKey == nil || callerKey == open.requestKey) && Self.sameAsk(amount, open) else {
                    throw PaymentServiceError(
                        code: .inProgress,
                        description: "\(asked) got no answer from the provider; ask for the same refund again to send it again under its key (the provider then answers with the refund it made, if it made one)"
                    )
                }
                try provider.checkRefundable(paymentID, amount: open.whole == true && byHand == 0 ? nil : open.amount)
                return try await call(open, payment: payment, metadata: metadata)
            }
            let remaining = received.amount.minorUnits - max(payment.refundTakenMinorUnits, payment.requestedRefundMinorUnits) - byHand
            if amount == nil, remaining <= 0 {
                let given = byHand > 0 ? " (staff recorded \(Money(minorUnits: byHand, currency: received.amount.currency)) as given back by hand)" : ""
                throw PaymentServiceError(code: .notRefundable, description: "nothing of \(received.amount) remains to be refunded\(given)")
            }
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
            // A refund this provider cannot be asked for at all, or not of this amount, records nothing.
            try provider.checkRefundable(paymentID, amount: amount == nil && byHand == 0 ? nil : wanted)
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

    /// Closes a refund request that got no answer, once its key may be gone (``closableAfterSeconds`` after it
    /// was asked for), after staff found in the provider's dashboard that no refund was made for it: its money no
    /// longer counts against what remains. Within ``resendWindowSeconds``, asking for the same refund again gets the
    /// provider's own answer instead. A request already refused or closed is left as it is; one the provider took, or whose refund it
    /// has reported since, is not closed.
    ///
    /// If the provider did make the refund after all, its report still counts: what remains is the payment less
    /// the larger of what was reported and what is still asked.
    public func close(paymentID: PaymentID, requestKey: String, reason: String, metadata: EventMetadata) async throws {
        let reason = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !reason.isEmpty, reason.utf8.count <= ProfileDecider.textBytesMax else {
            throw PaymentServiceError(
                code: .invalidRequest, description: "say in 1 to \(ProfileDecider.textBytesMax) bytes how you found that the provider made no refund"
            )
        }
        let pipeline = card.pipeline
        for _ in 0..<PaymentPipeline.conflictRetriesMax {
            let payment = try await pipeline.loadPayment(paymentID)
            guard let request = payment.refundRequests.last(where: { $0.requestKey == requestKey }) else {
                throw PaymentServiceError(code: .paymentNotFound, description: "payment '\(paymentID)' has no refund request '\(requestKey.prefix(80))'")
            }
            switch payment.refundAnswer(requestKey)?.outcome {
            case .refused?, .closed?: return
            case .accepted?:
                throw PaymentServiceError(code: .inProgress, description: "the provider took \(Self.describe(request)); it cannot be closed")
            case .unanswered?, nil: break
            }
            if let reported = payment.reportedRefund(matching: request) {
                throw PaymentServiceError(
                    code: .inProgress,
                    description: "the provider reported a refund of \(reported.amount) (\(reported.refundID ?? "no id")) after \(Self.describe(request)): ask for the same refund again to take it as its answer"
                )
            }
            let now = pipeline.profiles.now()
            let age = now.timeIntervalSince(request.occurredAt)
            guard age >= Self.closableAfterSeconds else {
                let meanwhile = age < Self.resendWindowSeconds
                    ? "ask for the same refund again meanwhile: it is sent again, and the provider answers with the refund it made, if it made one"
                    : "a resend may still be waiting on the provider"
                throw PaymentServiceError(
                    code: .inProgress,
                    description: "\(Self.describe(request)) can be closed only \(Int(Self.closableAfterSeconds / 3_600)) hours after it was asked for; \(meanwhile)"
                )
            }
            let answer = PaymentRefundAnswered(paymentID: paymentID, requestKey: requestKey, outcome: .closed, reason: reason, occurredAt: now)
            do {
                _ = try await pipeline.store.append(
                    [PaymentPipeline.newEvent(.refundAnswered(answer), metadata)], to: paymentID.streamName, expecting: .exact(payment.version)
                )
                return
            } catch let error as EventStoreError where error.code == .versionConflict {
                continue
            }
        }
        throw PaymentServiceError(code: .inProgress, description: "payment '\(paymentID)' kept changing while the request was closed; try again")
    }

    /// Calls the provider for a recorded request, under its key, and records the answer.
    private func call(_ request: PaymentRefundRequested, payment: PaymentState, metadata: EventMetadata) async throws -> RefundRequested {
        guard let key = request.requestKey else {
            throw PaymentServiceError(code: .notRefundable, description: "\(Self.describe(request)) has no key to send it under")
        }
        let provider: any PaymentProvider = request.paymentID.method == .card ? card : payPal
        let answer: PaymentRefundAnswered
        let result: Result<RefundRequested, any Error>
        // "All that remains" asks the provider for everything it holds: once staff gave part back by hand, only the
        // amount the ledger worked out is asked for.
        let whole = request.whole == true && payment.givenBackByHandMinorUnits() == 0
        let answeredAt = { card.pipeline.profiles.now() }
        do {
            let refund = try await provider.requestRefund(paymentID: request.paymentID, payment: payment, wanted: request.amount, whole: whole, key: key)
            answer = PaymentRefundAnswered(
                paymentID: request.paymentID, requestKey: key, outcome: .accepted, refundID: refund.refundID, status: refund.status, amount: refund.amount,
                occurredAt: answeredAt()
            )
            result = .success(refund)
        } catch let failure as RefundCallFailure {
            answer = PaymentRefundAnswered(
                paymentID: request.paymentID, requestKey: key, outcome: failure.refused ? .refused : .unanswered, reason: failure.message,
                occurredAt: answeredAt()
            )
            result = .failure(PaymentServiceError(
                code: .providerFailed,
                description: failure.refused
                    ? "the provider refused the refund: \(failure.message)"
                    : "the provider did not answer the refund (\(failure.message)); ask for the same refund again to send it again under its key (the provider then answers with the refund it made, if it made one)"
            ))
        } catch {
            // Refused before any call (no provider configured, not the provider's payment): nothing more will come of it.
            answer = PaymentRefundAnswered(
                paymentID: request.paymentID, requestKey: key, outcome: .refused, reason: "not sent: \(error)", occurredAt: answeredAt()
            )
            result = .failure(error)
        }
        try await record(answer, metadata: metadata)
        return try result.get()
    }

    /// Records a provider's answer, even if the caller has gone: a stop must not leave a request looking in flight.
    private func record(_ answer: PaymentRefundAnswered, metadata: EventMetadata) async throws {
        let store = card.pipeline.store
        try await Task {
            _ = try await store.append([PaymentPipeline.newEvent(.refundAnswered(answer), metadata)], to: answer.paymentID.streamName, expecting: .any)
        }.value
    }

    /// Whether asking for `amount` (nil: all that remains) is asking for `request` again.
    private static func sameAsk(_ amount: Money?, _ request: PaymentRefundRequested) -> Bool {
        amount == nil ? request.whole == true : amount == request.amount && request.whole != true
    }

    /// A request in words, for staff.
    private static func describe(_ request: PaymentRefundRequested) -> String {
        "the refund of \(request.whole == true ? "all that remained (\(request.amount))" : "\(request.amount)") asked for at \(StoredInstant.formatWholeSeconds(request.occurredAt))"
    }
}
