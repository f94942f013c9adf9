import Foundation
import LedgerCore
import Payments
import Synchronization

extension CardProviderStandIn {
    /// `POST /v1/checkout/sessions`: validates the fields our client sends and answers an open, unpaid session.
    func createSession(fields: [String: String], idempotencyKey: String?) -> APIAnswer {
        guard fields["mode"] == "payment" else {
            return .invalid("Missing or unsupported mode: only `payment` is supported here.", param: "mode")
        }
        guard let successURL = fields["success_url"], !successURL.isEmpty else {
            return .invalid("Missing required param: success_url.", param: "success_url")
        }
        let prefix = "line_items[0]"
        guard let currency = fields["\(prefix)[price_data][currency]"], currency.count == 3, currency == currency.lowercased() else {
            return .invalid("Missing or invalid currency: a lowercase ISO code is required.", param: "\(prefix)[price_data][currency]")
        }
        guard let unitAmount = fields["\(prefix)[price_data][unit_amount]"].flatMap({ Int64($0) }), unitAmount > 0 else {
            return .invalid("Invalid integer for unit_amount.", param: "\(prefix)[price_data][unit_amount]")
        }
        guard let quantity = fields["\(prefix)[quantity]"].flatMap({ Int64($0) }), (1...99).contains(quantity) else {
            return .invalid("Invalid quantity.", param: "\(prefix)[quantity]")
        }
        guard let name = fields["\(prefix)[price_data][product_data][name]"], !name.isEmpty else {
            return .invalid("Missing required param: product_data[name].", param: "\(prefix)[price_data][product_data][name]")
        }
        let metadata = Self.nested(fields, under: "metadata")
        let clientReferenceID = fields["client_reference_id"]
        let reference = clientReferenceID.flatMap(CardReference.init(clientReferenceID:)) ?? CardReference(metadata: metadata)
        let amount = Money(minorUnits: unitAmount * quantity, currency: currency)
        let created = Int64(now().timeIntervalSince1970)
        let session = state.withLock { state in
            let session = StandInSession(
                id: "cs_test_\(state.nextSuffix())",
                fields: fields,
                idempotencyKey: idempotencyKey,
                amount: amount,
                reference: reference
            )
            state.sessions[session.id] = session
            state.sessionOrder.append(session.id)
            return session
        }
        return .ok([
            "id": session.id,
            "object": "checkout.session",
            "amount_subtotal": amount.minorUnits,
            "amount_total": amount.minorUnits,
            "cancel_url": fields["cancel_url"],
            "client_reference_id": clientReferenceID,
            "created": created,
            "currency": currency,
            "expires_at": created + 86_400,
            "livemode": false,
            "metadata": metadata,
            "mode": "payment",
            "payment_intent": String?.none,
            "payment_method_types": ["card"],
            "payment_status": "unpaid",
            "status": "open",
            "success_url": successURL,
            "url": "\(baseURL)/pay/\(session.id)",
        ])
    }

    /// `POST /v1/refunds`: refunds `amount`, or what remains; more than remains is refused as the provider does.
    func createRefund(fields: [String: String], idempotencyKey: String?) -> APIAnswer {
        guard let paymentIntentID = fields["payment_intent"], !paymentIntentID.isEmpty else {
            return .invalid("One of `charge` or `payment_intent` is required.", param: "payment_intent")
        }
        let requested: Int64?
        if let text = fields["amount"] {
            guard let units = Int64(text), units > 0 else {
                return .invalid("Invalid positive integer for amount.", param: "amount")
            }
            requested = units
        } else {
            requested = nil
        }
        let created = Int64(now().timeIntervalSince1970)
        return state.withLock { state -> APIAnswer in
            guard let payment = state.payments[paymentIntentID] else {
                return .invalid("No such payment_intent: '\(paymentIntentID)'", param: "payment_intent", code: "resource_missing")
            }
            let remaining = payment.remainingMinorUnits
            guard remaining > 0 else {
                return .invalid("Charge \(payment.chargeID) has already been refunded.", param: nil, code: "charge_already_refunded")
            }
            let units = requested ?? remaining
            guard units <= remaining else {
                return .invalid(
                    "Refund amount (\(units)) is greater than unrefunded amount on charge (\(remaining)).",
                    param: "amount",
                    code: "amount_too_large"
                )
            }
            let refund = RefundRecord(id: "re_test_\(state.nextSuffix())", minorUnits: units, created: created)
            state.payments[paymentIntentID]?.refunds.append(refund)
            let amount = Money(minorUnits: units, currency: payment.amount.currency)
            state.apiRefunds.append(
                StandInRefund(id: refund.id, paymentIntentID: paymentIntentID, amount: amount, fields: fields, idempotencyKey: idempotencyKey)
            )
            return .ok(Self.refundObject(refund, of: payment))
        }
    }

    /// The entries of a nested form key, e.g. `metadata[purpose]` → `["purpose": …]` for `metadata`.
    static func nested(_ fields: [String: String], under prefix: String) -> [String: String] {
        var result: [String: String] = [:]
        for (key, value) in fields where key.hasPrefix("\(prefix)[") && key.hasSuffix("]") {
            let inner = key.dropFirst(prefix.count + 1).dropLast()
            if !inner.contains("[") && !inner.contains("]") {
                result[String(inner)] = value
            }
        }
        return result
    }
}
