import AsyncHTTPClient
import Crypto
public import Foundation
public import LedgerCore
import NIOCore
import NIOHTTP1
public import Payments
import Synchronization
import _CryptoExtras

extension PayPalStandIn {
    /// `PAYMENT.CAPTURE.COMPLETED` for a capture made through the API.
    public func captureCompletedEvent(captureID: String) -> PayPalStandInEvent {
        captureEvent(captureID, eventType: "PAYMENT.CAPTURE.COMPLETED", status: "COMPLETED", summary: "Payment completed")
    }

    /// `PAYMENT.CAPTURE.PENDING`: PayPal holds the money for review.
    public func capturePendingEvent(captureID: String) -> PayPalStandInEvent {
        captureEvent(captureID, eventType: "PAYMENT.CAPTURE.PENDING", status: "PENDING", summary: "Payment pending")
    }

    /// `PAYMENT.CAPTURE.DENIED` (or `eventType: "PAYMENT.CAPTURE.DECLINED"`, the other name PayPal uses).
    public func captureDeniedEvent(captureID: String, eventType: String = "PAYMENT.CAPTURE.DENIED") -> PayPalStandInEvent {
        captureEvent(captureID, eventType: eventType, status: "DECLINED", summary: "Payment denied")
    }

    /// A capture event whose resource says what `changes` say instead of what the stand-in holds, as a forger
    /// holding one signed delivery would write it; the stand-in's API keeps answering the truth.
    public func alteredCaptureEvent(captureID: String, eventType: String = "PAYMENT.CAPTURE.COMPLETED", changes: [String: any Sendable]) -> PayPalStandInEvent {
        let capture = state.withLock { $0.captures[captureID] }
        var resource = capture.map { captureObject($0) } ?? ["id": captureID, "status": "COMPLETED", "amount": Self.amount(Money(minorUnits: 12_500, currency: "EUR"))]
        for (key, value) in changes { resource[key] = value }
        return event(eventType: eventType, resourceType: "capture", summary: "Payment completed", resource: resource)
    }

    /// `PAYMENT.CAPTURE.REFUNDED` for a refund made through the API or ``refundOutOfBand(captureID:amount:)``;
    /// the resource is the refund, whose `up` link names the capture.
    public func captureRefundedEvent(refundID: String) -> PayPalStandInEvent {
        let (refund, capture) = refundAndCapture(refundID)
        return event(
            eventType: "PAYMENT.CAPTURE.REFUNDED",
            resourceType: "refund",
            summary: "A \(refund.amount) capture payment was refunded",
            resource: refundObject(refund, of: capture)
        )
    }

    /// `PAYMENT.CAPTURE.REVERSED`: PayPal takes `amount` back (by default the whole remaining amount), recorded
    /// as a new refund.
    public func captureReversedEvent(captureID: String, amount: Money? = nil) -> PayPalStandInEvent {
        let refundID = refundOutOfBand(captureID: captureID, amount: amount)
        let (refund, capture) = refundAndCapture(refundID)
        return event(
            eventType: "PAYMENT.CAPTURE.REVERSED",
            resourceType: "refund",
            summary: "A \(refund.amount) capture payment was reversed",
            resource: refundObject(refund, of: capture)
        )
    }

    /// `CUSTOMER.DISPUTE.CREATED` for `amount` (by default the whole amount of the capture); `disputeID` names a
    /// dispute of its own (by default a capture has one, `PP-D-` and the capture id's last eight characters).
    public func disputeCreatedEvent(captureID: String, disputeID: String? = nil, amount: Money? = nil) -> PayPalStandInEvent {
        disputeEvent(captureID, disputeID: disputeID, amount: amount, eventType: "CUSTOMER.DISPUTE.CREATED", status: "OPEN", outcome: nil)
    }

    /// `CUSTOMER.DISPUTE.RESOLVED` with `outcome`, e.g. `RESOLVED_BUYER_FAVOUR` or `RESOLVED_SELLER_FAVOUR`.
    public func disputeResolvedEvent(captureID: String, disputeID: String? = nil, outcome: String) -> PayPalStandInEvent {
        disputeEvent(captureID, disputeID: disputeID, amount: nil, eventType: "CUSTOMER.DISPUTE.RESOLVED", status: "RESOLVED", outcome: outcome)
    }

    /// `CHECKOUT.ORDER.APPROVED`, approving the order first if the buyer has not yet.
    public func orderApprovedEvent(orderID: String) -> PayPalStandInEvent {
        guard let order = state.withLock({ state -> OrderRecord? in
            state.orders[orderID]?.approved = true
            return state.orders[orderID]
        }) else {
            preconditionFailure("no order \(orderID)")
        }
        return event(
            eventType: "CHECKOUT.ORDER.APPROVED",
            resourceType: "checkout-order",
            summary: "An order has been approved by buyer",
            resource: orderObject(order, status: "APPROVED", approvalRel: nil, capture: nil)
        )
    }

    /// Any event in PayPal's envelope: for other currencies, unknown types or broken resources.
    ///
    /// Values may be `String`, `Bool`, `Int`, `Int64`, dictionaries and arrays of those, and `nil` for `null`.
    public func event(eventType: String, resourceType: String, summary: String = "", resource: [String: any Sendable]) -> PayPalStandInEvent {
        let id = "WH-\(state.withLock { $0.nextID() })-\(state.withLock { $0.nextID() })"
        let envelope: [String: any Sendable] = [
            "id": id,
            "event_version": "1.0",
            "create_time": now().formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)),
            "resource_type": resourceType,
            "resource_version": "2.0",
            "event_type": eventType,
            "summary": summary,
            "resource": resource,
            "links": [
                Self.link("\(baseURL)/v1/notifications/webhooks-events/\(id)", "self", "GET"),
                Self.link("\(baseURL)/v1/notifications/webhooks-events/\(id)/resend", "resend", "POST"),
            ] as [any Sendable],
        ]
        return PayPalStandInEvent(id: id, eventType: eventType, body: StandInJSON.data(envelope))
    }

    /// The headers PayPal would send with `body` for our subscription `webhookID`, changed as `tampering` says.
    public func signedTransmission(for body: Data, webhookID: String, tampering: PayPalTampering = PayPalTampering()) -> PayPalTransmission {
        let transmissionID = UUID().uuidString.lowercased()
        let transmissionTime = (tampering.transmissionTime ?? now()).formatted(Date.ISO8601FormatStyle())
        let signed = PayPalTransmission.signedString(
            transmissionID: transmissionID,
            transmissionTime: transmissionTime,
            webhookID: webhookID,
            body: body
        )
        let key = tampering.signWithOtherKey ? certificates.otherSigningKey : certificates.signingKey
        guard let signature = try? key.signature(for: SHA256.hash(data: Data(signed.utf8)), padding: .insecurePKCS1v1_5) else {
            preconditionFailure("an RSA signature over a short string cannot fail")
        }
        var transmission = PayPalTransmission(
            transmissionID: transmissionID,
            transmissionTime: transmissionTime,
            transmissionSignature: signature.rawRepresentation.base64EncodedString(),
            certificateURL: tampering.certificateURL ?? certificateURL(),
            authenticationAlgorithm: tampering.algorithm
        )
        switch tampering.omittedHeader?.uppercased() {
        case PayPalTransmission.transmissionIDHeader: transmission.transmissionID = nil
        case PayPalTransmission.transmissionTimeHeader: transmission.transmissionTime = nil
        case PayPalTransmission.transmissionSignatureHeader: transmission.transmissionSignature = nil
        case PayPalTransmission.certificateURLHeader: transmission.certificateURL = nil
        case PayPalTransmission.authenticationAlgorithmHeader: transmission.authenticationAlgorithm = nil
        default: break
        }
        return transmission
    }

    /// POSTs the event's exact bytes to `url` as PayPal does, signed for `webhookID`, and returns the receiver's
    /// status and body. `tampering` forges the delivery in the ways an attacker or a broken proxy would.
    public func deliver(
        _ event: PayPalStandInEvent,
        to url: String,
        webhookID: String,
        tampering: PayPalTampering = PayPalTampering()
    ) async throws -> (status: Int, body: String) {
        let transmission = signedTransmission(for: event.body, webhookID: webhookID, tampering: tampering)
        let body = tampering.changeBodyAfterSigning ? Self.flipOneByte(event.body) : event.body
        return try await post(body, transmission: transmission, to: url)
    }

    /// POSTs `body` with `transmission`'s headers, as PayPal (or someone replaying its headers) would.
    public func post(_ body: Data, transmission: PayPalTransmission, to url: String) async throws -> (status: Int, body: String) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "PayPal/AUHD-214.0-58139683")
        request.headers.add(name: "Correlation-Id", value: String(UUID().uuidString.prefix(13)).lowercased())
        for header in transmission.headers {
            request.headers.add(name: header.name, value: header.value)
        }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await httpClient.execute(request, timeout: .seconds(30))
        let answer = try await response.body.collect(upTo: 1024 * 1024)
        return (Int(response.status.code), String(buffer: answer))
    }

    /// The body with one byte changed where it stays valid JSON: a letter of the event id's last character
    /// is swapped, so the receiver would read a plausible event if it did not check the signature.
    static func flipOneByte(_ body: Data) -> Data {
        var changed = body
        let marker = Data(#""id":"WH-"#.utf8)
        guard let range = changed.firstRange(of: marker) else {
            preconditionFailure("a stand-in event body starts with its id")
        }
        let index = range.upperBound
        changed[index] = changed[index] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        return changed
    }

    /// The event of a capture reaching `status`, which the stand-in's API reports from then on.
    private func captureEvent(_ captureID: String, eventType: String, status: String, summary: String) -> PayPalStandInEvent {
        guard let capture = state.withLock({ state -> CaptureRecord? in
            state.captures[captureID]?.status = status
            return state.captures[captureID]
        }) else {
            preconditionFailure("no capture \(captureID); capture an approved order through the API first")
        }
        return event(
            eventType: eventType,
            resourceType: "capture",
            summary: "\(summary) for \(capture.amount)",
            resource: captureObject(capture)
        )
    }

    /// The event of a dispute reaching `status` (and `outcome`), which the stand-in's API reports from then on.
    /// `amount` is a new dispute's (by default the capture's); a dispute keeps the amount it was opened with.
    private func disputeEvent(
        _ captureID: String, disputeID: String?, amount: Money?, eventType: String, status: String, outcome: String?
    ) -> PayPalStandInEvent {
        let time = now()
        guard let (dispute, capture) = state.withLock({ state -> (DisputeRecord, CaptureRecord)? in
            guard let capture = state.captures[captureID] else { return nil }
            let id = disputeID ?? "PP-D-\(capture.id.suffix(8))"
            var dispute = state.disputes[id]
                ?? DisputeRecord(
                    id: id, captureID: capture.id, amount: amount ?? capture.amount, status: status, outcome: nil, createTime: time, updateTime: time
                )
            dispute.status = status
            dispute.outcome = outcome
            dispute.updateTime = time
            state.disputes[id] = dispute
            return (dispute, capture)
        }) else {
            preconditionFailure("no capture \(captureID)")
        }
        return event(
            eventType: eventType, resourceType: "dispute", summary: "Dispute \(dispute.id) \(status.lowercased())",
            resource: disputeObject(dispute, of: capture)
        )
    }

    /// A dispute as PayPal prints it, in webhook resources and `GET /v1/customer/disputes/{id}`.
    func disputeObject(_ dispute: DisputeRecord, of capture: CaptureRecord) -> [String: any Sendable] {
        var resource: [String: any Sendable] = [
            "dispute_id": dispute.id,
            "create_time": Self.timestamp(dispute.createTime),
            "update_time": Self.timestamp(dispute.updateTime),
            "disputed_transactions": [
                [
                    "seller_transaction_id": capture.id,
                    "create_time": Self.timestamp(capture.createTime),
                    "transaction_status": "COMPLETED",
                    "gross_amount": Self.amount(capture.amount),
                    "invoice_number": capture.invoiceID,
                    "custom": capture.customID,
                    "seller": ["merchant_id": "7KNGBPH2U58GQ", "name": "ListingLedger"] as [String: any Sendable],
                ] as [String: any Sendable]
            ] as [any Sendable],
            "reason": "MERCHANDISE_OR_SERVICE_NOT_AS_DESCRIBED",
            "status": dispute.status,
            "dispute_amount": Self.amount(dispute.amount),
            "dispute_life_cycle_stage": "INQUIRY",
            "dispute_channel": "INTERNAL",
            "links": [Self.link("\(baseURL)/v1/customer/disputes/\(dispute.id)", "self", "GET")] as [any Sendable],
        ]
        if let outcome = dispute.outcome {
            let refunded = outcome == "RESOLVED_BUYER_FAVOUR" ? dispute.amount.minorUnits : 0
            resource["dispute_outcome"] = [
                "outcome_code": outcome,
                "amount_refunded": Self.amount(Money(minorUnits: refunded, currency: dispute.amount.currency)),
            ] as [String: any Sendable]
        }
        return resource
    }

    private func refundAndCapture(_ refundID: String) -> (RefundRecord, CaptureRecord) {
        guard let pair = state.withLock({ state -> (RefundRecord, CaptureRecord)? in
            guard let refund = state.refunds[refundID], let capture = state.captures[refund.captureID] else { return nil }
            return (refund, capture)
        }) else {
            preconditionFailure("no refund \(refundID)")
        }
        return pair
    }
}

/// Ways to forge a delivery; the default changes nothing.
public struct PayPalTampering: Sendable {
    /// Sign with a key other than the certificate's.
    public var signWithOtherKey: Bool
    /// Point `PAYPAL-CERT-URL` elsewhere, e.g. another host or `http://`.
    public var certificateURL: String?
    /// Sign with this transmission time instead of now, e.g. days ago.
    public var transmissionTime: Date?
    /// Send this `PAYPAL-AUTH-ALGO` instead of `SHA256withRSA`.
    public var algorithm: String
    /// Change one byte of the body after signing it.
    public var changeBodyAfterSigning: Bool
    /// Leave out the header with this name.
    public var omittedHeader: String?

    /// Creates tampering options; with no arguments, an honest delivery.
    public init(
        signWithOtherKey: Bool = false,
        certificateURL: String? = nil,
        transmissionTime: Date? = nil,
        algorithm: String = PayPalTransmission.algorithmSHA256WithRSA,
        changeBodyAfterSigning: Bool = false,
        omittedHeader: String? = nil
    ) {
        self.signWithOtherKey = signWithOtherKey
        self.certificateURL = certificateURL
        self.transmissionTime = transmissionTime
        self.algorithm = algorithm
        self.changeBodyAfterSigning = changeBodyAfterSigning
        self.omittedHeader = omittedHeader
    }
}
