import Foundation
import LedgerCore

extension PayPalFact {
    /// Reads `resource` of `body` according to `eventType`; types we do not act on become ``PayPalFact/other``.
    init(eventType: String, body: Data) throws(PaymentsError) {
        switch eventType {
        case "PAYMENT.CAPTURE.COMPLETED": self = try .capture(Self.capture(body, kind: .completed))
        case "PAYMENT.CAPTURE.PENDING": self = try .capture(Self.capture(body, kind: .pending))
        case "PAYMENT.CAPTURE.DENIED", "PAYMENT.CAPTURE.DECLINED": self = try .capture(Self.capture(body, kind: .denied))
        case "PAYMENT.CAPTURE.REFUNDED": self = try .refund(Self.refund(body, kind: .refunded))
        case "PAYMENT.CAPTURE.REVERSED": self = try .refund(Self.refund(body, kind: .reversed))
        case "CUSTOMER.DISPUTE.CREATED": self = try .dispute(Self.dispute(body, phase: .created))
        case "CUSTOMER.DISPUTE.RESOLVED": self = try .dispute(Self.dispute(body, phase: .resolved))
        case "CHECKOUT.ORDER.APPROVED": self = try .orderApproved(Self.orderApproved(body))
        default: self = .other
        }
    }

    private static func capture(_ body: Data, kind: PayPalCaptureFact.Kind) throws(PaymentsError) -> PayPalCaptureFact {
        try capture(WireJSON.decode(PayPalWireResourceEnvelope<PayPalWireCapture>.self, from: body, failure: paypalMalformed).resource, kind: kind)
    }

    /// A capture resource, from an event or from `GET /v2/payments/captures/{id}`.
    static func capture(_ capture: PayPalWireCapture, kind: PayPalCaptureFact.Kind) throws(PaymentsError) -> PayPalCaptureFact {
        let fields = PayPalFieldReader(resourceName: "capture")
        return PayPalCaptureFact(
            captureID: try fields.require(capture.id, "id"),
            status: try fields.require(capture.status, "status"),
            amount: try fields.money(capture.amount, "amount"),
            fee: try capture.sellerReceivableBreakdown?.paypalFee.map { fee throws(PaymentsError) in
                try fields.money(fee, "seller_receivable_breakdown.paypal_fee")
            },
            customID: capture.customID,
            invoiceID: capture.invoiceID,
            orderID: capture.supplementaryData?.relatedIDs?.orderID,
            kind: kind
        )
    }

    private static func refund(_ body: Data, kind: PayPalRefundFact.Kind) throws(PaymentsError) -> PayPalRefundFact {
        try refund(WireJSON.decode(PayPalWireResourceEnvelope<PayPalWireRefund>.self, from: body, failure: paypalMalformed).resource, kind: kind)
    }

    /// A refund resource, from an event or from `GET /v2/payments/refunds/{id}`.
    static func refund(_ refund: PayPalWireRefund, kind: PayPalRefundFact.Kind) throws(PaymentsError) -> PayPalRefundFact {
        let fields = PayPalFieldReader(resourceName: "refund")
        let up = try fields.require(refund.links?.first(where: { $0.rel == "up" })?.href, "links[rel=up]")
        guard let captureID = captureID(fromUpLink: up) else {
            throw paypalMalformed("the refund resource's up link '\(up.prefix(120))' does not name a capture (…/v2/payments/captures/<id>)")
        }
        return PayPalRefundFact(
            refundID: try fields.require(refund.id, "id"),
            captureID: captureID,
            amount: try fields.money(refund.amount, "amount"),
            status: try fields.require(refund.status, "status"),
            customID: refund.customID,
            kind: kind,
            createdAt: refund.createTime.flatMap(PayPalTime.parse)
        )
    }

    private static func dispute(_ body: Data, phase: PayPalDisputeFact.Phase) throws(PaymentsError) -> PayPalDisputeFact {
        try dispute(WireJSON.decode(PayPalWireResourceEnvelope<PayPalWireDispute>.self, from: body, failure: paypalMalformed).resource, phase: phase)
    }

    /// A dispute resource, from an event or from `GET /v1/customer/disputes/{id}`.
    static func dispute(_ dispute: PayPalWireDispute, phase: PayPalDisputeFact.Phase) throws(PaymentsError) -> PayPalDisputeFact {
        let fields = PayPalFieldReader(resourceName: "dispute")
        let transactions = try fields.require(dispute.disputedTransactions, "disputed_transactions")
        let captureIDs = transactions.compactMap(\.sellerTransactionID).filter { !$0.isEmpty }
        guard !captureIDs.isEmpty else {
            throw paypalMalformed("the dispute resource names no disputed_transactions[].seller_transaction_id")
        }
        return PayPalDisputeFact(
            disputeID: try fields.require(dispute.disputeID, "dispute_id"),
            captureIDs: captureIDs,
            amount: try fields.money(dispute.disputeAmount, "dispute_amount"),
            outcome: dispute.disputeOutcome?.outcomeCode,
            status: dispute.status,
            phase: phase,
            createdAt: dispute.createTime.flatMap(PayPalTime.parse),
            updatedAt: dispute.updateTime.flatMap(PayPalTime.parse)
        )
    }

    private static func orderApproved(_ body: Data) throws(PaymentsError) -> PayPalOrderApprovedFact {
        let order = try WireJSON.decode(PayPalWireResourceEnvelope<PayPalWireOrder>.self, from: body, failure: paypalMalformed).resource
        let fields = PayPalFieldReader(resourceName: "order")
        let unit = try fields.require(order.purchaseUnits?.first, "purchase_units[0]")
        return PayPalOrderApprovedFact(
            orderID: try fields.require(order.id, "id"),
            customID: unit.customID,
            amount: try fields.money(unit.amount, "purchase_units[0].amount")
        )
    }

    /// The capture id in `…/v2/payments/captures/<id>`, the form of a refund's `up` link.
    static func captureID(fromUpLink href: String) -> String? {
        guard let path = URLComponents(string: href)?.path else { return nil }
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        guard segments.count >= 4 else { return nil }
        let tail = segments.suffix(4).map(String.init)
        guard tail[0] == "v2", tail[1] == "payments", tail[2] == "captures", !tail[3].isEmpty else { return nil }
        return tail[3]
    }
}
