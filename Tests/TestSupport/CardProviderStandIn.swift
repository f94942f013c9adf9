import AsyncHTTPClient
public import Foundation
import Hummingbird
public import LedgerCore
public import Payments
import Synchronization

/// A Stripe-compatible card provider for end-to-end tests, speaking the real wire format on 127.0.0.1.
///
/// It serves `POST /v1/checkout/sessions` and `POST /v1/refunds` (bearer key, form bodies, idempotency keys
/// replayed, Stripe's error JSON), builds events as the provider does, and delivers them with a real
/// `Stripe-Signature`. It can be told to fail or hang, so tests can check our 502 and timeout handling.
public final class CardProviderStandIn: Sendable {
    /// The largest request body the stand-in reads.
    static let requestBodyBytesMax = 64 * 1024

    let secretKey: String
    let webhookSecrets: [String]
    let now: @Sendable () -> Date
    let httpClient: HTTPClient
    let state = Mutex(State())
    let faults = LoopbackServer.Faults()

    private init(secretKey: String, webhookSecrets: [String], now: @escaping @Sendable () -> Date) {
        self.secretKey = secretKey
        self.webhookSecrets = webhookSecrets
        self.now = now
        self.httpClient = HTTPClient(eventLoopGroupProvider: .singleton)
    }

    /// Starts a stand-in on an OS-chosen port and returns once it accepts connections.
    ///
    /// `now` stamps objects, events and signatures, so a test clock can move the provider's time too.
    public static func start(
        secretKey: String,
        webhookSecrets: [String],
        now: @escaping @Sendable () -> Date = { Date() }
    ) async throws -> CardProviderStandIn {
        let standIn = CardProviderStandIn(secretKey: secretKey, webhookSecrets: webhookSecrets, now: now)
        do {
            let server = try await LoopbackServer.start(name: "card provider stand-in", router: standIn.buildRouter())
            standIn.state.withLock { $0.server = server }
        } catch {
            try? await standIn.httpClient.shutdown()
            throw error
        }
        return standIn
    }

    /// `http://127.0.0.1:<port>`, the value for the card provider's base URL.
    public var baseURL: String { "http://127.0.0.1:\(state.withLock { $0.server?.port ?? 0 })" }

    /// Releases hanging requests, stops the server and the delivery client. Safe to call twice.
    public func stop() async {
        faults.releaseHanging()
        await state.withLock { $0.server }?.stop()
        try? await httpClient.shutdown()
    }

    /// Checkout sessions created through the API, oldest first; an idempotent replay adds none.
    public var createdSessions: [StandInSession] { state.withLock { state in state.sessionOrder.compactMap { state.sessions[$0] } } }

    /// Refunds created through the API, oldest first; an idempotent replay adds none.
    public var createdRefunds: [StandInRefund] { state.withLock { $0.apiRefunds } }

    /// API requests received, including failed, hung and replayed ones.
    public var apiRequestCount: Int { faults.requestCount }

    /// Makes the next `count` API requests answer `status` with the provider's error JSON and no effect.
    public func failNextRequests(status: Int, count: Int) {
        faults.failNextRequests(status: status, count: count)
    }

    /// Makes the next `count` API requests never answer, until ``stop()``.
    public func hangNextRequests(count: Int) {
        faults.hangNextRequests(count: count)
    }

    /// Marks a session paid, as a customer paying on the hosted page does: assigns its payment intent and charge.
    ///
    /// Completing a session twice returns the same payment.
    public func completeSession(_ sessionID: String) throws -> StandInPayment {
        try state.withLock { state throws -> StandInPayment in
            guard let session = state.sessions[sessionID] else {
                throw StandInError("no checkout session \(sessionID)")
            }
            if let paymentIntentID = state.paymentIntentBySession[sessionID], let payment = state.payments[paymentIntentID] {
                return payment.public
            }
            let suffix = state.nextSuffix()
            let payment = PaymentRecord(
                paymentIntentID: "pi_test_\(suffix)",
                chargeID: "ch_test_\(suffix)",
                disputeID: "dp_test_\(suffix)",
                sessionID: sessionID,
                amount: session.amount,
                reference: session.reference,
                metadata: Self.nested(session.fields, under: "payment_intent_data[metadata]"),
                created: Int64(now().timeIntervalSince1970)
            )
            state.payments[payment.paymentIntentID] = payment
            state.paymentIntentBySession[sessionID] = payment.paymentIntentID
            return payment.public
        }
    }

    /// Records a refund made in the provider's dashboard: no API call of ours, but later `charge.refunded`
    /// events include it. `nil` refunds everything that remains.
    public func refundOutOfBand(_ paymentIntentID: String, amount: Money?) {
        state.withLock { state in
            guard let payment = state.payments[paymentIntentID] else {
                preconditionFailure("no completed payment \(paymentIntentID)")
            }
            let units = amount?.minorUnits ?? payment.remainingMinorUnits
            precondition(units > 0 && units <= payment.remainingMinorUnits, "refund \(units) exceeds what remains")
            let refund = RefundRecord(id: "re_test_\(state.nextSuffix())", minorUnits: units, created: Int64(now().timeIntervalSince1970))
            state.payments[paymentIntentID]?.refunds.append(refund)
        }
    }
}

/// A checkout session created through the stand-in's API.
public struct StandInSession: Sendable, Hashable {
    /// The session id, `cs_test_…`.
    public var id: String
    /// The decoded form fields as sent (the last value wins for a repeated key).
    public var fields: [String: String]
    /// The `Idempotency-Key` sent, if any.
    public var idempotencyKey: String?
    /// `unit_amount × quantity` in the requested currency.
    public var amount: Money
    /// From `client_reference_id`, else from `metadata`.
    public var reference: CardReference?
}

/// A refund created through the stand-in's API.
public struct StandInRefund: Sendable, Hashable {
    /// The refund id, `re_test_…`.
    public var id: String
    /// The refunded payment intent.
    public var paymentIntentID: String
    /// The refunded amount.
    public var amount: Money
    /// The decoded form fields as sent.
    public var fields: [String: String]
    /// The `Idempotency-Key` sent, if any.
    public var idempotencyKey: String?
}

/// A completed session's payment.
public struct StandInPayment: Sendable, Hashable {
    /// The payment intent id, `pi_test_…`.
    public var paymentIntentID: String
    /// The charge id, `ch_test_…`.
    public var chargeID: String
    /// The amount charged.
    public var amount: Money
    /// The session's reference, copied to the payment intent's and charge's metadata.
    public var reference: CardReference?
}

/// A built event: its id, type and the exact body bytes that are signed and delivered.
public struct StandInEvent: Sendable {
    /// The event id, `evt_test_…`.
    public var id: String
    /// The event type.
    public var type: String
    /// The JSON body.
    public var body: Data

    /// An event as given, e.g. one of the stand-in's rewritten.
    public init(id: String, type: String, body: Data) {
        self.id = id
        self.type = type
        self.body = body
    }
}

/// A misuse of the stand-in or a failure to start it.
public struct StandInError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}
