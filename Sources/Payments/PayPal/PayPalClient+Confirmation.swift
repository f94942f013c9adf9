extension PayPalClient {
    /// What PayPal's API says about the resource a money event names, as the same kind of fact.
    ///
    /// A webhook's body is signed only through a CRC-32, so it is a notice, not evidence: the capture, refund or
    /// dispute is fetched by its id (`GET /v2/payments/captures/{id}`, `/v2/payments/refunds/{id}`,
    /// `/v1/customer/disputes/{id}`) and the answer replaces everything the event said about it (amount, status,
    /// `custom_id`, the refunded capture). A capture's kind comes from its current status; a notice that a capture
    /// completed or was denied while the API still shows it pending is not confirmed (``PaymentsError``
    /// `unavailable`), so a forged `COMPLETED` records nothing and a genuine one is delivered again. Other facts
    /// are returned unchanged.
    ///
    /// Throws ``PaymentsError`` with status 404 when PayPal knows no such resource.
    public func confirmed(_ fact: PayPalFact) async throws(PaymentsError) -> PayPalFact {
        switch fact {
        case .capture(let notice):
            try Self.checkIdentifier(notice.captureID, "capture")
            let wire = try await get("/v2/payments/captures/\(notice.captureID)", as: PayPalWireCapture.self)
            guard let kind = PayPalCaptureFact.Kind(apiStatus: wire.status ?? "") else {
                throw PaymentsError(.malformedResponse, "capture \(notice.captureID) has status '\((wire.status ?? "").prefix(40))', which is not one PayPal documents")
            }
            if kind == .pending, notice.kind != .pending {
                // The notice says the capture ended, the API does not show it yet: not confirmed now, and not
                // recorded as pending either, so PayPal's redelivery finds the final state.
                throw PaymentsError(.unavailable, "PayPal's API still shows capture \(notice.captureID) as \(wire.status ?? "PENDING")")
            }
            let capture = try Self.readResource { () throws(PaymentsError) in try PayPalFact.capture(wire, kind: kind) }
            try Self.checkSameResource(capture.captureID, notice.captureID, "capture")
            return .capture(capture)
        case .refund(let notice):
            try Self.checkIdentifier(notice.refundID, "refund")
            let wire = try await get("/v2/payments/refunds/\(notice.refundID)", as: PayPalWireRefund.self)
            let refund = try Self.readResource { () throws(PaymentsError) in try PayPalFact.refund(wire, kind: notice.kind) }
            try Self.checkSameResource(refund.refundID, notice.refundID, "refund")
            return .refund(refund)
        case .dispute(let notice):
            try Self.checkIdentifier(notice.disputeID, "dispute")
            let wire = try await get("/v1/customer/disputes/\(notice.disputeID)", as: PayPalWireDispute.self)
            let phase: PayPalDisputeFact.Phase = wire.status == "RESOLVED" ? .resolved : .created
            let dispute = try Self.readResource { () throws(PaymentsError) in try PayPalFact.dispute(wire, phase: phase) }
            try Self.checkSameResource(dispute.disputeID, notice.disputeID, "dispute")
            return .dispute(dispute)
        case .orderApproved, .other:
            return fact
        }
    }

    private static func readResource<Value>(_ read: () throws(PaymentsError) -> Value) throws(PaymentsError) -> Value {
        do {
            return try read()
        } catch {
            throw PaymentsError(.malformedResponse, "PayPal's answer is not readable: \(error.message)")
        }
    }

    private static func checkSameResource(_ answered: String, _ asked: String, _ kind: String) throws(PaymentsError) {
        guard answered == asked else {
            throw PaymentsError(.malformedResponse, "asked for \(kind) \(asked.prefix(64)), PayPal answered with \(answered.prefix(64))")
        }
    }
}

extension PayPalCaptureFact.Kind {
    /// The kind a capture's current API status means: `COMPLETED`, `PARTIALLY_REFUNDED` and `REFUNDED`
    /// captures completed (refunds are facts of their own); `PENDING` ones are held; `DECLINED` and `FAILED`
    /// ones will never pay. `nil` for a status PayPal does not document.
    init?(apiStatus: String) {
        switch apiStatus {
        case "COMPLETED", "PARTIALLY_REFUNDED", "REFUNDED": self = .completed
        case "PENDING": self = .pending
        case "DECLINED", "FAILED": self = .denied
        default: return nil
        }
    }
}
