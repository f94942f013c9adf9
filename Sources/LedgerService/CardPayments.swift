import AsyncHTTPClient
import Crypto
public import EventStore
public import Foundation
public import LedgerCore
public import Payments

/// Card payments: starting a checkout at the provider, applying its webhooks, and asking it for refunds.
public struct CardPayments: PaymentProvider {
    public let pipeline: PaymentPipeline
    /// The provider's API; nil when card payments are not configured.
    public let client: CardProviderClient?
    public let webhookSecrets: [String]
    public let webhookToleranceSeconds: Int64

    public init(pipeline: PaymentPipeline, client: CardProviderClient?, webhookSecrets: [String], webhookToleranceSeconds: Int64) {
        self.pipeline = pipeline
        self.client = client
        self.webhookSecrets = webhookSecrets
        self.webhookToleranceSeconds = webhookToleranceSeconds
    }

    var store: any EventStore { pipeline.store }
    var profiles: ProfileService { pipeline.profiles }

    public var method: PaymentMethod { .card }

    /// Checks the `Stripe-Signature` header against every configured secret and reads the event.
    public func verifiedEvent(body: Data, header: (String) -> String?) async throws -> CardEvent {
        guard !webhookSecrets.isEmpty else { throw PaymentServiceError.notConfigured("card webhooks (no signing secret is set)") }
        try CardSignature.verify(
            payload: body, header: header("Stripe-Signature"), secrets: webhookSecrets, now: profiles.now(), toleranceSeconds: webhookToleranceSeconds
        )
        return try CardEvent.parse(body)
    }

    public func identity(of event: CardEvent) -> (id: String, type: String) { (event.id, event.type) }

    public func paymentFacts(_ event: CardEvent) -> (PaymentID?, [PaymentFact]) {
        Self.paymentFacts(event, calendar: profiles.policy.calendar)
    }

    public func checkRefundable(_ paymentID: PaymentID, amount: Money?) throws {
        guard client != nil else { throw PaymentServiceError.notConfigured("card refunds (no provider secret key is set)") }
        guard paymentID.method == .card, paymentID.externalID != nil else {
            throw PaymentServiceError(code: .invalidRequest, description: "\(paymentID) is not a card payment")
        }
        if let amount, !CardAmounts.accepts(amount) {
            throw DomainError.invalidAmount("the card provider takes \(amount.currency) in whole units only; \(amount) cannot be refunded through it")
        }
    }

    /// Asks the provider to refund a payment intent (all that remains unless `whole` is false).
    public func requestRefund(paymentID: PaymentID, payment: PaymentState, wanted: Money, whole: Bool, key: String) async throws -> RefundRequested {
        try checkRefundable(paymentID, amount: whole ? nil : wanted)
        guard let client, let intentID = paymentID.externalID else { throw PaymentServiceError.notConfigured("card refunds") }
        do {
            let refund = try await client.createRefund(paymentIntentID: intentID, amount: whole ? nil : wanted, idempotencyKey: key)
            return RefundRequested(paymentID: paymentID, refundID: refund.id, status: refund.status, amount: refund.amount)
        } catch {
            throw RefundCallFailure(refused: RefundCallFailure.isRefusal(error), message: "the card provider: \(error.message)")
        }
    }

    /// The payment a card event concerns (keyed by its payment intent) and what it says about it.
    /// Events that cannot be traced to a payment intent, and types we do not act on, say nothing.
    static func paymentFacts(_ event: CardEvent, calendar: OrganisationCalendar) -> (PaymentID?, [PaymentFact]) {
        let effectiveDate = calendar.date(at: event.created)
        // When the provider said it, for ordering its refund reports (whole seconds); an instant out of range says
        // nothing about order.
        let asOf = LedgerBounds.bounded(event.created)
        func payment(_ intentID: String?) -> PaymentID? {
            intentID.map { PaymentID(method: .card, externalID: $0) }
        }
        func target(_ reference: CardReference?) -> (PaymentPurpose?, ProfileID?) {
            (reference.flatMap { PaymentPurpose(rawValue: $0.purpose) }, reference.flatMap { try? ProfileID($0.profileID) })
        }
        switch event.fact {
        case .checkoutSession(let session):
            guard let paymentID = payment(session.paymentIntentID) else { return (nil, []) }
            let (purpose, profileID) = target(session.reference)
            let note = "card checkout \(session.sessionID)"
            switch (session.stage, session.paymentStatus) {
            case (.completed, "paid"), (.asyncSucceeded, _):
                return (paymentID, [.received(amount: session.amountTotal, purpose: purpose, profileID: profileID, effectiveDate: effectiveDate, note: note)])
            case (.completed, "unpaid"):
                return (paymentID, [.pending(amount: session.amountTotal, purpose: purpose, profileID: profileID)])
            case (.asyncFailed, _):
                return (paymentID, [.failed(reason: "the delayed card payment of checkout \(session.sessionID) failed")])
            default:
                return (paymentID, [])
            }
        case .paymentIntent(let intent):
            guard intent.succeeded else { return (payment(intent.paymentIntentID), []) }
            let (purpose, profileID) = target(intent.reference)
            return (payment(intent.paymentIntentID), [.received(
                amount: intent.amount, purpose: purpose, profileID: profileID, effectiveDate: effectiveDate,
                note: "card payment \(intent.paymentIntentID)"
            )])
        case .chargeRefunded(let charge):
            return (payment(charge.paymentIntentID), [.refund(refundID: nil, amount: charge.amountRefunded, cumulative: true, status: .succeeded, asOf: asOf)])
        case .refund(let refund):
            let status: RefundStatus = switch refund.status {
            case "succeeded": .succeeded
            case "failed", "canceled": .failed
            default: .pending
            }
            return (payment(refund.paymentIntentID), [.refund(
                refundID: refund.refundID, amount: refund.amount, cumulative: false, status: status, asOf: asOf, madeAt: refund.created
            )])
        case .dispute(let dispute):
            let phase: DisputePhase = switch (dispute.phase, dispute.status) {
            case (.created, _): .opened
            case (.fundsWithdrawn, _): .fundsWithdrawn
            case (.fundsReinstated, _): .fundsReinstated
            case (.closed, "lost"): .lost
            case (.closed, "won"), (.closed, "warning_closed"): .won
            case (.closed, _): .opened
            }
            return (payment(dispute.paymentIntentID), [.dispute(disputeID: dispute.disputeID, phase: phase, amount: dispute.amount)])
        case .other:
            return (nil, [])
        }
    }
}

/// What recording one provider webhook did, for its answer.
public struct ProviderWebhookReceipt: Sendable {
    public var eventID: String
    public var eventType: String
    public var duplicate: Bool
    public var paymentID: PaymentID?
}

/// A payment request the service refuses or cannot complete. The HTTP layer maps codes to statuses.
public struct PaymentServiceError: Error, Sendable, CustomStringConvertible {
    /// How a ``Code/likelyDuplicate`` refusal says to go on: the API's field (the console names its box instead).
    public static let confirmDuplicateAdvice = "send it again with confirmDuplicate: true"

    public enum Code: String, Sendable {
        case notConfigured = "not-configured"
        case invalidRequest = "invalid-request"
        case paymentNotFound = "payment-not-found"
        case notRefundable = "not-refundable"
        case providerFailed = "provider-failed"
        /// Another request is doing the same thing with the provider right now; asking again shortly works.
        case inProgress = "in-progress"
        /// The correction does not fit the payment as it stands (not recorded by staff, already voided, …).
        case notCorrectable = "not-correctable"
        /// An offline payment like one recorded before (same profile, amount and date); send it again confirmed.
        case likelyDuplicate = "likely-duplicate"
        /// The idempotency key recorded a payment with other details (profile, amount, day or purpose).
        case idempotencyKeyReused = "idempotency-key-reused"
    }

    public let code: Code
    public let description: String

    static func notConfigured(_ what: String) -> PaymentServiceError {
        PaymentServiceError(code: .notConfigured, description: "\(what) is not configured on this service")
    }
}
