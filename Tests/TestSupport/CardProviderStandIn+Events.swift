import AsyncHTTPClient
import Foundation
import LedgerCore
import NIOCore
import NIOHTTP1
import Payments
import Synchronization

extension CardProviderStandIn {
    /// `checkout.session.completed` for a session, completing it first if the customer has not paid yet.
    public func checkoutSessionCompletedEvent(_ sessionID: String, paymentStatus: String = "paid") -> StandInEvent {
        guard let completed = try? completeSession(sessionID), let session = state.withLock({ $0.sessions[sessionID] }) else {
            preconditionFailure("no checkout session \(sessionID)")
        }
        let payment = self.payment(completed.paymentIntentID)
        let metadata = Self.nested(session.fields, under: "metadata")
        return event(
            type: "checkout.session.completed",
            object: [
                "id": session.id,
                "object": "checkout.session",
                "amount_subtotal": session.amount.minorUnits,
                "amount_total": session.amount.minorUnits,
                "cancel_url": session.fields["cancel_url"],
                "client_reference_id": session.fields["client_reference_id"],
                "created": payment.created,
                "currency": session.amount.currency.lowercased(),
                "livemode": false,
                "metadata": metadata,
                "mode": "payment",
                "payment_intent": payment.paymentIntentID,
                "payment_method_types": ["card"],
                "payment_status": paymentStatus,
                "status": "complete",
                "success_url": session.fields["success_url"],
                "url": String?.none,
            ]
        )
    }

    /// `payment_intent.succeeded` for a completed session's payment.
    public func paymentIntentSucceededEvent(_ paymentIntentID: String) -> StandInEvent {
        let payment = self.payment(paymentIntentID)
        return event(
            type: "payment_intent.succeeded",
            object: [
                "id": payment.paymentIntentID,
                "object": "payment_intent",
                "amount": payment.amount.minorUnits,
                "amount_capturable": 0,
                "amount_received": payment.amount.minorUnits,
                "capture_method": "automatic_async",
                "created": payment.created,
                "currency": payment.amount.currency.lowercased(),
                "latest_charge": payment.chargeID,
                "livemode": false,
                "metadata": payment.metadata,
                "payment_method_types": ["card"],
                "status": "succeeded",
            ]
        )
    }

    /// `charge.refunded` with the cumulative amount refunded so far, through the API and out of band.
    public func chargeRefundedEvent(_ paymentIntentID: String) -> StandInEvent {
        let payment = self.payment(paymentIntentID)
        let refunds = payment.refunds.reversed().map { Self.refundObject($0, of: payment) as any Sendable }
        return event(
            type: "charge.refunded",
            object: [
                "id": payment.chargeID,
                "object": "charge",
                "amount": payment.amount.minorUnits,
                "amount_captured": payment.amount.minorUnits,
                "amount_refunded": payment.refundedMinorUnits,
                "captured": true,
                "created": payment.created,
                "currency": payment.amount.currency.lowercased(),
                "disputed": false,
                "livemode": false,
                "metadata": payment.metadata,
                "paid": true,
                "payment_intent": payment.paymentIntentID,
                "refunded": payment.remainingMinorUnits == 0,
                "refunds": [
                    "object": "list", "data": refunds, "has_more": false, "total_count": refunds.count,
                    "url": "/v1/charges/\(payment.chargeID)/refunds",
                ] as [String: any Sendable],
                "status": "succeeded",
            ]
        )
    }

    /// A dispute event (`charge.dispute.created`, `.funds_withdrawn`, `.funds_reinstated`, `.closed`) for the whole
    /// amount of a payment, with the dispute `status` given (`needs_response`, `won`, `lost`, …).
    public func disputeEvent(_ paymentIntentID: String, type: String, status: String) -> StandInEvent {
        let payment = self.payment(paymentIntentID)
        return event(
            type: type,
            object: [
                "id": payment.disputeID,
                "object": "dispute",
                "amount": payment.amount.minorUnits,
                "balance_transactions": [any Sendable](),
                "charge": payment.chargeID,
                "created": Int64(now().timeIntervalSince1970),
                "currency": payment.amount.currency.lowercased(),
                "is_charge_refundable": false,
                "livemode": false,
                "metadata": [String: String](),
                "payment_intent": payment.paymentIntentID,
                "reason": "fraudulent",
                "status": status,
            ]
        )
    }

    /// Any event, wrapped in the provider's envelope: for other currencies, unknown types or broken objects.
    ///
    /// Values may be `String`, `Bool`, `Int`, `Int64`, dictionaries and arrays of those, and `nil` for `null`.
    public func event(type: String, object: [String: any Sendable]) -> StandInEvent {
        let id = "evt_test_\(state.withLock { $0.nextSuffix() })"
        let envelope: [String: any Sendable] = [
            "id": id,
            "object": "event",
            "api_version": "2024-06-20",
            "created": Int64(now().timeIntervalSince1970),
            "data": ["object": object] as [String: any Sendable],
            "livemode": false,
            "pending_webhooks": 1,
            "request": ["id": String?.none, "idempotency_key": String?.none] as [String: any Sendable],
            "type": type,
        ]
        return StandInEvent(id: id, type: type, body: StandInJSON.data(envelope))
    }

    /// POSTs the event's exact bytes to `url` as the provider does, signed at `timestamp` (default now) with
    /// `secrets` (default the stand-in's webhook secrets), and returns the receiver's status and body.
    public func deliver(
        _ event: StandInEvent,
        to url: String,
        timestamp: Int64? = nil,
        secrets: [String]? = nil
    ) async throws -> (status: Int, body: String) {
        let signedAt = timestamp ?? Int64(now().timeIntervalSince1970)
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
        request.headers.add(name: "User-Agent", value: "Stripe/1.0 (+https://stripe.com/docs/webhooks)")
        request.headers.add(
            name: "Stripe-Signature",
            value: CardSignature.header(payload: event.body, secrets: secrets ?? webhookSecrets, timestamp: signedAt)
        )
        request.body = .bytes(ByteBuffer(bytes: event.body))
        let response = try await httpClient.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 1024 * 1024)
        return (Int(response.status.code), String(buffer: body))
    }

    /// A refund as the provider prints it.
    static func refundObject(_ refund: RefundRecord, of payment: PaymentRecord) -> [String: any Sendable] {
        [
            "id": refund.id,
            "object": "refund",
            "amount": refund.minorUnits,
            "charge": payment.chargeID,
            "created": refund.created,
            "currency": payment.amount.currency.lowercased(),
            "metadata": [String: String](),
            "payment_intent": payment.paymentIntentID,
            "reason": String?.none,
            "status": refund.failed ? "failed" : "succeeded",
        ] .merging(refund.failed ? ["failure_reason": "expired_or_canceled_card"] : [:]) { first, _ in first }
    }

    /// The card issuer refuses the payment's latest refund: it fails, its money comes back (the charge's
    /// `amount_refunded` no longer counts it), and `refund.failed` says so.
    public func refundFailedEvent(_ paymentIntentID: String) -> StandInEvent {
        let (refund, payment) = state.withLock { state -> (RefundRecord?, PaymentRecord?) in
            guard var payment = state.payments[paymentIntentID], let last = payment.refunds.indices.last else { return (nil, nil) }
            payment.refunds[last].failed = true
            state.payments[paymentIntentID] = payment
            return (payment.refunds[last], payment)
        }
        guard let refund, let payment else { preconditionFailure("no refund of \(paymentIntentID) to fail; refund it first") }
        return event(type: "refund.failed", object: Self.refundObject(refund, of: payment))
    }

    private func payment(_ paymentIntentID: String) -> PaymentRecord {
        guard let payment = state.withLock({ $0.payments[paymentIntentID] }) else {
            preconditionFailure("no completed payment \(paymentIntentID); call completeSession first")
        }
        return payment
    }
}
