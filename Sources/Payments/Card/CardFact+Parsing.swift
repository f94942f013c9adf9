import Foundation
import LedgerCore

extension CardFact {
    /// Reads `data.object` of `body` according to `type`; types we do not act on become ``CardFact/other``.
    init(type: String, body: Data) throws(PaymentsError) {
        switch type {
        case "checkout.session.completed":
            // A session that takes no money (setup mode: no amount, no payment intent) is no payment of ours.
            guard let session = try Self.checkoutSession(body, stage: .completed) else { self = .other; return }
            self = .checkoutSession(session)
        case "checkout.session.async_payment_succeeded": self = try Self.checkoutSession(body, stage: .asyncSucceeded).map(CardFact.checkoutSession) ?? .other
        case "checkout.session.async_payment_failed": self = try Self.checkoutSession(body, stage: .asyncFailed).map(CardFact.checkoutSession) ?? .other
        case "checkout.session.expired": self = try Self.checkoutSession(body, stage: .expired).map(CardFact.checkoutSession) ?? .other
        case "payment_intent.succeeded": self = try .paymentIntent(Self.paymentIntent(body, succeeded: true))
        case "payment_intent.payment_failed": self = try .paymentIntent(Self.paymentIntent(body, succeeded: false))
        case "charge.refunded": self = try .chargeRefunded(Self.chargeRefunded(body))
        case "refund.created", "refund.updated", "refund.failed": self = try .refund(Self.refund(body))
        case "charge.dispute.created": self = try .dispute(Self.dispute(body, phase: .created))
        case "charge.dispute.funds_withdrawn": self = try .dispute(Self.dispute(body, phase: .fundsWithdrawn))
        case "charge.dispute.funds_reinstated": self = try .dispute(Self.dispute(body, phase: .fundsReinstated))
        case "charge.dispute.closed": self = try .dispute(Self.dispute(body, phase: .closed))
        default: self = .other
        }
    }

    private static func checkoutSession(_ body: Data, stage: CheckoutSessionFact.Stage) throws(PaymentsError) -> CheckoutSessionFact? {
        let session = try WireJSON.decode(WireObjectEnvelope<WireCheckoutSession>.self, from: body, failure: malformed).data.object
        if session.paymentStatus == "no_payment_required", session.amountTotal == nil, session.paymentIntent == nil { return nil }
        let fields = FieldReader(objectName: "checkout.session")
        // The client reference is set by us on every session; metadata is the fallback for sessions made by hand.
        let reference = session.clientReferenceID.flatMap(CardReference.init(clientReferenceID:))
            ?? session.metadata.flatMap(CardReference.init(metadata:))
        return CheckoutSessionFact(
            sessionID: try fields.identifier(session.id, "id"),
            paymentIntentID: try fields.optionalIdentifier(session.paymentIntent, "payment_intent"),
            paymentStatus: try fields.require(session.paymentStatus, "payment_status"),
            amountTotal: try fields.money(session.amountTotal, "amount_total", currency: session.currency),
            reference: reference,
            stage: stage
        )
    }

    private static func paymentIntent(_ body: Data, succeeded: Bool) throws(PaymentsError) -> PaymentIntentFact {
        let intent = try WireJSON.decode(WireObjectEnvelope<WirePaymentIntent>.self, from: body, failure: malformed).data.object
        let fields = FieldReader(objectName: "payment_intent")
        // A failed intent received nothing, so the attempted amount is the useful figure there.
        var units = intent.amountReceived ?? 0
        if units <= 0 {
            units = try fields.require(intent.amount, "amount")
        }
        return PaymentIntentFact(
            paymentIntentID: try fields.identifier(intent.id, "id"),
            amount: try fields.money(units, "amount", currency: intent.currency),
            reference: intent.metadata.flatMap(CardReference.init(metadata:)),
            succeeded: succeeded
        )
    }

    private static func chargeRefunded(_ body: Data) throws(PaymentsError) -> ChargeRefundFact {
        let charge = try WireJSON.decode(WireObjectEnvelope<WireCharge>.self, from: body, failure: malformed).data.object
        let fields = FieldReader(objectName: "charge")
        return ChargeRefundFact(
            chargeID: try fields.identifier(charge.id, "id"),
            paymentIntentID: try fields.optionalIdentifier(charge.paymentIntent, "payment_intent"),
            amount: try fields.money(charge.amount, "amount", currency: charge.currency),
            amountRefunded: try fields.money(charge.amountRefunded, "amount_refunded", currency: charge.currency),
            fullyRefunded: try fields.require(charge.refunded, "refunded"),
            reference: charge.metadata.flatMap(CardReference.init(metadata:))
        )
    }

    private static func refund(_ body: Data) throws(PaymentsError) -> RefundFact {
        let refund = try WireJSON.decode(WireObjectEnvelope<WireRefund>.self, from: body, failure: malformed).data.object
        let fields = FieldReader(objectName: "refund")
        return RefundFact(
            refundID: try fields.identifier(refund.id, "id"),
            paymentIntentID: try fields.optionalIdentifier(refund.paymentIntent, "payment_intent"),
            chargeID: try fields.optionalIdentifier(refund.charge, "charge"),
            amount: try fields.money(refund.amount, "amount", currency: refund.currency),
            status: try fields.require(refund.status, "status"),
            created: refund.created.flatMap(LedgerBounds.instant(unixSeconds:))
        )
    }

    private static func dispute(_ body: Data, phase: DisputeFact.Phase) throws(PaymentsError) -> DisputeFact {
        let dispute = try WireJSON.decode(WireObjectEnvelope<WireDispute>.self, from: body, failure: malformed).data.object
        let fields = FieldReader(objectName: "dispute")
        return DisputeFact(
            disputeID: try fields.identifier(dispute.id, "id"),
            chargeID: try fields.identifier(dispute.charge, "charge"),
            paymentIntentID: try fields.optionalIdentifier(dispute.paymentIntent, "payment_intent"),
            amount: try fields.money(dispute.amount, "amount", currency: dispute.currency),
            phase: phase,
            status: try fields.require(dispute.status, "status")
        )
    }
}
