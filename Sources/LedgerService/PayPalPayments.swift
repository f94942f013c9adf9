import AsyncHTTPClient
public import EventStore
public import Foundation
public import LedgerCore
import NIOSSL
public import Payments

/// PayPal payments: orders for checkout, their capture, staff refunds, and verified webhooks through the same
/// inbox and payment pipeline as card payments.
public struct PayPalPayments: PaymentProvider {
    public let pipeline: PaymentPipeline
    /// The REST client; nil when PayPal is not configured.
    public let client: PayPalClient?
    /// The webhook verifier; nil without a webhook id.
    public let verifier: PayPalWebhookVerifier?
    /// The clients this owns, shut down with the runtime.
    let httpClient: HTTPClient
    let certificateSource: PayPalHTTPCertificateSource
    /// Order captures, each made at most once; nil when PayPal is not configured.
    let captureCalls: PayPalCaptureCalls?

    var profiles: ProfileService { pipeline.profiles }
    /// Verified transmission ids, so signed headers replayed over another body are refused.
    var transmissions: PayPalTransmissions { PayPalTransmissions(store: pipeline.profiles.store, now: pipeline.profiles.now) }

    /// Builds the clients from configuration.
    public static func make(configuration: LedgerConfiguration, pipeline: PaymentPipeline) throws -> PayPalPayments {
        var tls = TLSConfiguration.makeClientConfiguration()
        let tlsRoots = try configuration.payPalTrustRootsPEM.flatMap { try NIOSSLCertificate.fromPEMBytes(Array($0.utf8)) }
        if !tlsRoots.isEmpty { tls.additionalTrustRoots = [.certificates(tlsRoots)] }
        let httpClient = HTTPClient(
            eventLoopGroupProvider: .singleton,
            configuration: HTTPClient.Configuration(tlsConfiguration: tls, redirectConfiguration: .disallow)
        )
        let source = try PayPalHTTPCertificateSource(
            additionalTrustRootsPEM: configuration.payPalTrustRootsPEM, requestTimeoutSeconds: configuration.payPalTimeoutSeconds
        )
        let client = configuration.payPal.map {
            PayPalClient(
                configuration: PayPalConfiguration(baseURL: $0.apiBaseURL, clientID: $0.clientID, clientSecret: $0.clientSecret, requestTimeoutSeconds: configuration.payPalTimeoutSeconds),
                httpClient: httpClient, now: pipeline.profiles.now
            )
        }
        // Signing certificates chain to the system's roots, where PayPal's public authority is, or to an
        // authority configured beside them (a test authority, a sandbox proxy's).
        let roots = try PayPalTrustRoots(pem: configuration.payPalTrustRootsPEM, includingSystemRoots: true)
        let verifier = configuration.payPalWebhookID.map {
            PayPalWebhookVerifier(
                configuration: PayPalWebhookConfiguration(
                    webhookID: $0, allowedCertificateHosts: configuration.payPalCertificateHosts,
                    subjectMustContain: configuration.payPalCertificateSubject, trustRoots: roots
                ),
                certificateSource: source
            )
        }
        let captureCalls = client.map {
            PayPalCaptureCalls(
                store: pipeline.store, client: $0, now: pipeline.profiles.now,
                leaseSeconds: TimeInterval(8 * configuration.payPalTimeoutSeconds)
            )
        }
        return PayPalPayments(
            pipeline: pipeline, client: client, verifier: verifier, httpClient: httpClient, certificateSource: source, captureCalls: captureCalls
        )
    }

    func shutdown() async {
        try? await httpClient.shutdown()
        await certificateSource.shutdown()
    }

    /// Creates an order and records the payment we expect; answers with the approval URL.
    public func startCheckout(_ request: CheckoutRequest, idempotencyKey: String?, metadata: EventMetadata) async throws -> CheckoutStarted {
        guard let client else { throw PaymentServiceError.notConfigured("PayPal checkout (no client id and secret are set)") }
        let profile = try await profiles.load(request.profileID).state
        guard profile.isRegistered else { throw DomainError.profileNotFound(request.profileID.rawValue) }
        let now = profiles.now()
        let amount = try CardPayments.expectedAmount(request, on: profiles.policy.calendar.date(at: now), policy: profiles.policy)
        try CardPayments.checkReturnURLs(request)
        let requestID = idempotencyKey.map { CardPayments.providerKey("order", $0, request: request, amount: amount) }
            ?? "order-\(UUID().uuidString.lowercased())"
        let order: PayPalOrder
        do {
            order = try await client.createOrder(
                reference: PayPalReference(profileID: request.profileID, purpose: request.purpose), amount: amount,
                returnURL: request.successURL, cancelURL: request.cancelURL, requestID: String(requestID.prefix(PayPalClient.requestIDLengthMax))
            )
        } catch {
            throw PaymentServiceError(code: .providerFailed, description: "PayPal did not create an order: \(error.message)")
        }
        let started = CheckoutStarted(
            method: .paypal, checkoutID: order.id, profileID: request.profileID, purpose: request.purpose, amount: amount,
            redirectURL: order.approvalURL, occurredAt: now
        )
        try await CardPayments.recordCheckout(started, store: pipeline.store, metadata: metadata)
        return started
    }

    /// Captures an approved order (called when the buyer returns). An order is captured at most once: a
    /// capture recorded before (by the approval webhook or an earlier return) is answered from the record
    /// without calling PayPal. The listing changes when PayPal's capture webhook arrives.
    ///
    /// Only an order a checkout here started is captured: any other id answers `payment-not-found` before
    /// anything is recorded or PayPal is asked.
    public func capture(orderID: String, metadata: EventMetadata) async throws -> CapturedOrder {
        guard let captureCalls else { throw PaymentServiceError.notConfigured("PayPal checkout (no client id and secret are set)") }
        let outcome: PayPalCaptureCalls.Outcome
        do {
            try PayPalClient.checkIdentifier(orderID, "order")
            let checkout = StreamName.checkout(method: PaymentMethod.paypal.rawValue, checkoutID: orderID).description
            guard try await !pipeline.store.readStream(checkout, fromVersion: 1, limit: 1).isEmpty else {
                throw PaymentServiceError(code: .paymentNotFound, description: "no PayPal checkout was started here for order '\(orderID)'")
            }
            outcome = try await captureCalls.capture(orderID: orderID, metadata: metadata)
        } catch let error as PaymentsError {
            if error.code == .invalidIdentifier || error.status == 404 {
                throw PaymentServiceError(code: .paymentNotFound, description: "PayPal knows no order '\(orderID.prefix(64))'")
            }
            if error.code == .rejected {
                throw PaymentServiceError(code: .notRefundable, description: "PayPal refused to capture order \(orderID): \(error.message)")
            }
            throw PaymentServiceError(code: .providerFailed, description: "PayPal did not capture order \(orderID): \(error.message)")
        }
        switch outcome {
        case .captured(let capture):
            return CapturedOrder(capture)
        case .capturedElsewhere:
            throw PaymentServiceError(code: .notRefundable, description: "order \(orderID) is captured already")
        case .inFlight:
            throw PaymentServiceError(code: .inProgress, description: "order \(orderID) is being captured right now; ask again in a moment")
        case .refused(let reason):
            throw PaymentServiceError(code: .notRefundable, description: "PayPal refused to capture order \(orderID): \(reason)")
        }
    }

    public var method: PaymentMethod { .paypal }

    /// Verifies a delivery: its transmission id not seen before with another body, then its signature against
    /// PayPal's certificate. The transmission is remembered once verified.
    public func verifiedEvent(body: Data, header: (String) -> String?) async throws -> PayPalEvent {
        guard let verifier else { throw PaymentServiceError.notConfigured("PayPal webhooks (no webhook id is set)") }
        let transmission = PayPalTransmission(header: header)
        if let transmissionID = transmission.transmissionID, try await transmissions.wasSeenWithAnotherBody(transmissionID, body: body) {
            throw PaymentsError(
                .transmissionReused, "the transmission \(transmissionID.prefix(80)) was verified before with another body; this delivery is not PayPal's"
            )
        }
        let event = try await verifier.verifiedEvent(body: body, transmission: transmission, now: profiles.now())
        if let transmissionID = transmission.transmissionID {
            try await transmissions.record(transmissionID, body: body)
        }
        return event
    }

    public func identity(of event: PayPalEvent) -> (id: String, type: String) { (event.id, event.eventType) }

    /// A capture, refund or dispute event is acted on as PayPal's API describes the resource, fetched by its id
    /// before anything is recorded.
    public func needsConfirmation(_ event: PayPalEvent) -> Bool { Self.movesMoney(event.fact) }

    public func confirmed(_ event: PayPalEvent) async throws -> PayPalEvent {
        var event = event
        event.fact = try await confirmed(event.fact)
        return event
    }

    public func paymentFacts(_ event: PayPalEvent) -> (PaymentID?, [PaymentFact]) {
        Self.paymentFacts(event, calendar: profiles.policy.calendar)
    }

    /// An approval is recorded first; only then is the order captured, at most once however many deliveries of
    /// it arrive (see ``PayPalCaptureCalls``).
    public func afterRecording(_ event: PayPalEvent, metadata: EventMetadata) async throws {
        guard case .orderApproved(let approved) = event.fact, let captureCalls else { return }
        // No money has moved yet: capture now, after the approval is on record, so a buyer who never came
        // back still pays. A failure answers 502 and PayPal's redelivery (a duplicate) tries again.
        let captured: PayPalCaptureCalls.Outcome
        do {
            captured = try await captureCalls.capture(orderID: approved.orderID, metadata: metadata)
        } catch let error as PaymentsError where PayPalCaptureCalls.refusesForGood(error) {
            // PayPal declined the buyer's card, which the same approval delivered again cannot change: the
            // refusal is recorded in the order's capture stream and the delivery acknowledged, or PayPal would
            // deliver it for three days, each delivery asking for the capture again. The buyer approves again
            // with another card; their return, or the new approval, captures it.
            return
        } catch let error as PaymentsError {
            throw PaymentServiceError(code: .providerFailed, description: "PayPal did not capture order \(approved.orderID): \(error.message)")
        }
        if case .refused = captured {
            // This approval met PayPal's refusal before (above) and is being delivered again: not asked again.
            return
        }
        if captured == .inFlight {
            // Another request is capturing it; if that one fails, PayPal's redelivery of this approval
            // (answered 503 now) tries again, so the order is never left approved and uncaptured.
            throw PaymentServiceError(
                code: .inProgress,
                description: "order \(approved.orderID) is being captured by another request; deliver the approval again"
            )
        }
    }

    /// Whether an event reports money moving (a capture, refund, reversal or dispute): such events are acted on
    /// only as PayPal's API confirms them.
    static func movesMoney(_ fact: PayPalFact) -> Bool {
        switch fact {
        case .capture, .refund, .dispute: true
        case .orderApproved, .other: false
        }
    }

    /// The fact as PayPal's API states it.
    private func confirmed(_ fact: PayPalFact) async throws -> PayPalFact {
        guard let client else {
            throw PaymentServiceError.notConfigured("PayPal payment events (no client id and secret are set to confirm them with PayPal's API)")
        }
        do {
            return try await client.confirmed(fact)
        } catch {
            if error.status == 404 || error.code == .invalidIdentifier {
                throw PaymentsError(.unknownResource, "PayPal's API knows no resource with the id this event names; it is not acted on")
            }
            throw PaymentServiceError(code: .providerFailed, description: "PayPal's API did not confirm the event: \(error.message)")
        }
    }

    /// The payment a PayPal event concerns (keyed by the capture; a refund finds it through its `up` link)
    /// and what it says about it.
    static func paymentFacts(_ event: PayPalEvent, calendar: OrganisationCalendar) -> (PaymentID?, [PaymentFact]) {
        func payment(_ captureID: String) -> PaymentID { PaymentID(method: .paypal, externalID: captureID) }
        switch event.fact {
        case .capture(let capture):
            let reference = capture.reference
            let purpose = reference.flatMap { PaymentPurpose(rawValue: $0.purpose) }
            let profileID = reference.flatMap { try? ProfileID($0.profileID) }
            switch capture.kind {
            case .completed:
                return (payment(capture.captureID), [.received(
                    amount: capture.amount, purpose: purpose, profileID: profileID, effectiveDate: calendar.date(at: event.createTime),
                    note: "PayPal capture \(capture.captureID)", fee: capture.fee
                )])
            case .pending:
                return (payment(capture.captureID), [.pending(amount: capture.amount, purpose: purpose, profileID: profileID)])
            case .denied:
                return (payment(capture.captureID), [.failed(reason: "PayPal \(event.eventType.lowercased())")])
            }
        case .refund(let refund):
            switch refund.kind {
            case .refunded:
                let status: RefundStatus = refund.status == "COMPLETED" ? .succeeded : refund.status == "FAILED" || refund.status == "CANCELLED" ? .failed : .pending
                // The status is PayPal's as its API gives it now (see `PayPalClient+Confirmation`), not as of the
                // event: the last one read holds, untimed.
                return (payment(refund.captureID), [.refund(refundID: refund.refundID, amount: refund.amount, cumulative: false, status: status)])
            case .reversed:
                // PayPal took the money back for a dispute, which decides whether it stays taken (see
                // `PaymentState.judgedDisputes`).
                // Dated by the refund's `create_time`, or, without one, by the event's.
                let madeAt = refund.createdAt ?? event.createTime
                return (payment(refund.captureID), [.dispute(
                    disputeID: refund.refundID, phase: .fundsWithdrawn, amount: refund.amount, openedAt: madeAt, asOf: madeAt
                )])
            }
        case .dispute(let dispute):
            guard let captureID = dispute.captureIDs.first else { return (nil, []) }
            let phase: DisputePhase = switch dispute.phase {
            case .created: .opened
            case .resolved: dispute.resolvedInBuyersFavour ? .lost : .won
            }
            return (payment(captureID), [.dispute(
                disputeID: dispute.disputeID, phase: phase, amount: dispute.amount, openedAt: dispute.createdAt,
                asOf: dispute.updatedAt ?? event.createTime
            )])
        case .orderApproved, .other:
            return (nil, [])
        }
    }

    public func checkRefundable(_ paymentID: PaymentID, amount: Money?) throws {
        guard client != nil else { throw PaymentServiceError.notConfigured("PayPal refunds (no client id and secret are set)") }
        guard paymentID.method == .paypal, let captureID = paymentID.externalID else {
            throw PaymentServiceError(code: .invalidRequest, description: "\(paymentID) is not a PayPal payment")
        }
        do {
            try PayPalClient.checkIdentifier(captureID, "capture")
        } catch {
            throw PaymentServiceError(code: .invalidRequest, description: "\(paymentID) names no PayPal capture: \(error.message)")
        }
        if let amount, !PayPalClient.accepts(amount) {
            throw DomainError.invalidAmount("PayPal takes \(amount.currency) in whole units only; \(amount) cannot be refunded through it")
        }
    }

    /// Asks PayPal to refund a capture (all that remains, or `amount`); the listing changes when PayPal's
    /// refund webhook arrives.
    public func requestRefund(paymentID: PaymentID, payment: PaymentState, wanted: Money, whole: Bool, key: String) async throws -> RefundRequested {
        try checkRefundable(paymentID, amount: whole ? nil : wanted)
        guard let client, let captureID = paymentID.externalID else { throw PaymentServiceError.notConfigured("PayPal refunds") }
        let refund: PayPalRefund
        do {
            refund = try await client.refundCapture(captureID: captureID, amount: whole ? nil : wanted, requestID: String(key.prefix(PayPalClient.requestIDLengthMax)))
        } catch {
            throw RefundCallFailure(refused: RefundCallFailure.isRefusal(error), message: "PayPal: \(error.message)")
        }
        return RefundRequested(paymentID: paymentID, refundID: refund.id, status: refund.status, amount: refund.amount ?? wanted)
    }
}

/// A captured order, as the website is answered when the buyer returns.
public struct CapturedOrder: Sendable, Hashable, Encodable {
    public var orderId: String
    public var captureId: String
    /// The payment the capture becomes: `paypal-<capture id>`.
    public var paymentId: String
    /// PayPal's capture status: `COMPLETED`, or `PENDING` while PayPal holds the money.
    public var status: String
    public var amount: String
    public var currency: String

    init(_ capture: PayPalCapture) {
        orderId = capture.orderID
        captureId = capture.id
        paymentId = PaymentID(method: .paypal, externalID: capture.id).rawValue
        status = capture.status
        amount = capture.amount.decimalString
        currency = capture.amount.currency
    }
}
