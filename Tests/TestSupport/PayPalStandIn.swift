import AsyncHTTPClient
public import Foundation
public import LedgerCore
public import NIOSSL
import NIOCore
public import Payments
import Synchronization

/// A PayPal-compatible provider for end-to-end tests, speaking the real wire format over HTTPS on 127.0.0.1.
///
/// At start it makes a test certificate authority, a TLS certificate for `127.0.0.1` / `localhost` and an RSA
/// webhook signing certificate issued by that authority. It serves the OAuth2 token endpoint, Orders v2 create
/// and capture, Payments v2 refund the reads of captures, refunds and disputes, and `GET /v1/notifications/certs/{name}`; builds events as PayPal does; and delivers them
/// signed with `PAYPAL-TRANSMISSION-SIG` and a `PAYPAL-CERT-URL` pointing at itself. Clients must trust
/// ``caCertificatePEM``; verifiers must allow host `127.0.0.1`. It can be told to fail or hang.
public final class PayPalStandIn: Sendable {
    /// The largest request body the stand-in reads.
    static let requestBodyBytesMax = 64 * 1024
    /// The name under which the current signing certificate is served.
    public static let signingCertificateName = "CERT-360caa42-fca2a594-standin01"

    let clientID: String
    let clientSecret: String
    let signingCommonName: String
    let tokenLifetimeSeconds: Int64
    let now: @Sendable () -> Date
    let certificates: PayPalStandInCertificates
    let httpClient: HTTPClient
    let state = Mutex(State())
    let faults = LoopbackServer.Faults()

    private init(
        clientID: String,
        clientSecret: String,
        signingCommonName: String,
        tokenLifetimeSeconds: Int64,
        now: @escaping @Sendable () -> Date
    ) throws {
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.signingCommonName = signingCommonName
        self.tokenLifetimeSeconds = tokenLifetimeSeconds
        self.now = now
        // TLS checks certificates against the real clock, whatever clock the test gives the stand-in.
        self.certificates = try PayPalStandInCertificates(now: Date())
        self.httpClient = HTTPClient(eventLoopGroupProvider: .singleton)
    }

    /// Starts a stand-in on an OS-chosen port and returns once it accepts connections.
    ///
    /// `signingCommonName` is the webhook signing certificate's common name; the default contains `paypal`, as
    /// the verifier's default subject check expects. `now` stamps objects, events, transmissions, token expiry
    /// and the signing certificate's validity, so a test clock can move the provider's time too.
    public static func start(
        clientID: String,
        clientSecret: String,
        signingCommonName: String = "messageverificationcerts.paypal.com",
        tokenLifetimeSeconds: Int64 = 32_400,
        now: @escaping @Sendable () -> Date = { Date() }
    ) async throws -> PayPalStandIn {
        let standIn = try PayPalStandIn(
            clientID: clientID,
            clientSecret: clientSecret,
            signingCommonName: signingCommonName,
            tokenLifetimeSeconds: tokenLifetimeSeconds,
            now: now
        )
        let issued = now()
        try standIn.publishCertificate(
            name: signingCertificateName,
            notValidBefore: issued - 86_400,
            notValidAfter: issued + 365 * 86_400
        )
        let tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(standIn.certificates.serverCertificatePEM.utf8)).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(standIn.certificates.serverKeyPEM.utf8), format: .pem))
        )
        do {
            let server = try await LoopbackServer.start(name: "PayPal stand-in", router: standIn.buildRouter(), tlsConfiguration: tls)
            standIn.state.withLock { $0.server = server }
        } catch {
            try? await standIn.httpClient.shutdown()
            throw error
        }
        return standIn
    }

    /// `https://127.0.0.1:<port>`, the value for PayPal's base URL.
    public var baseURL: String { "https://127.0.0.1:\(state.withLock { $0.server?.port ?? 0 })" }

    /// The host and port a verifier must allow for the stand-in's certificate URLs (it does not listen on 443).
    public var certificateHost: String { "127.0.0.1:\(state.withLock { $0.server?.port ?? 0 })" }

    /// The test authority's certificate (PEM): trust it to talk to the stand-in over TLS.
    public var caCertificatePEM: String { certificates.authorityPEM }

    /// A client TLS configuration that trusts the system's roots and the test authority.
    public func clientTLSConfiguration() throws -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.additionalTrustRoots = [.certificates(try NIOSSLCertificate.fromPEMBytes(Array(caCertificatePEM.utf8)))]
        return tls
    }

    /// A webhook configuration that accepts the stand-in's deliveries for `webhookID`.
    public func webhookConfiguration(webhookID: String) -> PayPalWebhookConfiguration {
        PayPalWebhookConfiguration(
            webhookID: webhookID,
            allowedCertificateHosts: [certificateHost],
            subjectMustContain: signingCommonName
        )
    }

    /// `https://127.0.0.1:<port>/v1/notifications/certs/<name>`, PayPal's own path.
    public func certificateURL(name: String = signingCertificateName) -> String {
        "\(baseURL)/v1/notifications/certs/\(name)"
    }

    /// Serves a signing certificate for the stand-in's key at `/v1/notifications/certs/<name>`, e.g. an expired one, or one with
    /// another subject; `commonName` defaults to the stand-in's signing common name.
    public func publishCertificate(name: String, commonName: String? = nil, notValidBefore: Date, notValidAfter: Date) throws {
        let pem = try certificates.signingCertificateChainPEM(
            commonName: commonName ?? signingCommonName,
            notValidBefore: notValidBefore,
            notValidAfter: notValidAfter
        )
        state.withLock { $0.certificates[name] = pem }
    }

    /// Releases hanging requests, stops the server and the delivery client. Safe to call twice.
    public func stop() async {
        faults.releaseHanging()
        await state.withLock { $0.server }?.stop()
        try? await httpClient.shutdown()
    }

    /// API requests received (token, orders, captures, refunds), including failed, hung and replayed ones.
    public var apiRequestCount: Int { faults.requestCount }

    /// Token requests received, including refused ones.
    public var tokenRequestCount: Int { state.withLock { $0.tokenRequestCount } }

    /// Capture requests received (`POST /v2/checkout/orders/{id}/capture`), replays and refusals included.
    public var captureRequestCount: Int { state.withLock { $0.captureRequestCount } }

    /// Reads of captures, refunds and disputes received.
    public var resourceReadCount: Int { state.withLock { $0.resourceReadCount } }

    /// Certificate downloads served.
    public var certificateRequestCount: Int { state.withLock { $0.certificateRequestCount } }

    /// Orders created through the API, oldest first; an idempotent replay adds none.
    public var createdOrders: [PayPalStandInOrder] {
        state.withLock { state in state.orderSequence.compactMap { state.orders[$0].map(Self.publicOrder) } }
    }

    /// Refunds created through the API, oldest first; an idempotent replay adds none.
    public var createdRefunds: [PayPalStandInRefund] {
        state.withLock { state in
            state.apiRefunds.compactMap { state.refunds[$0] }.map {
                PayPalStandInRefund(id: $0.id, captureID: $0.captureID, amount: $0.amount)
            }
        }
    }

    /// Makes the next `count` API requests answer `status` with PayPal's error JSON and no effect.
    public func failNextRequests(status: Int, count: Int) {
        faults.failNextRequests(status: status, count: count)
    }

    /// Makes the next `count` API requests never answer, until ``stop()``.
    public func hangNextRequests(count: Int) {
        faults.hangNextRequests(count: count)
    }

    /// Forgets every access token issued, as when PayPal revokes them; the next API call answers 401.
    public func revokeTokens() {
        state.withLock { $0.tokens = [:] }
    }

    /// Makes later captures `PENDING` (held for review) instead of `COMPLETED`, or back.
    public func setCapturesPending(_ pending: Bool) {
        state.withLock { $0.captureStatus = pending ? "PENDING" : "COMPLETED" }
    }

    /// Approves an order, as the buyer does on PayPal's page; only approved orders can be captured.
    public func approve(_ orderID: String) throws {
        try state.withLock { state throws in
            guard state.orders[orderID] != nil else { throw StandInError("no order \(orderID)") }
            state.orders[orderID]?.approved = true
            state.orders[orderID]?.instrumentDeclined = false
        }
    }

    /// Makes the capture of an order refused as PayPal refuses a declined card (422 `INSTRUMENT_DECLINED`) until
    /// the buyer approves it again with another instrument (``approve(_:)``).
    public func declineInstrument(ofOrder orderID: String) throws {
        try state.withLock { state throws in
            guard state.orders[orderID] != nil else { throw StandInError("no order \(orderID)") }
            state.orders[orderID]?.instrumentDeclined = true
        }
    }

    /// The order with `id`, as created.
    public func order(_ id: String) -> PayPalStandInOrder? {
        state.withLock { $0.orders[id].map(Self.publicOrder) }
    }

    /// The capture of an order, once captured through the API.
    public func capture(ofOrder orderID: String) -> PayPalStandInCapture? {
        state.withLock { state in
            state.orders[orderID]?.captureID.flatMap { state.captures[$0] }.map {
                PayPalStandInCapture(id: $0.id, orderID: $0.orderID, status: $0.status, amount: $0.amount, customID: $0.customID)
            }
        }
    }

    /// Records a refund made in PayPal's dashboard: no API call of ours. `nil` refunds what remains.
    /// Returns the refund id, for ``captureRefundedEvent(refundID:)``.
    public func refundOutOfBand(captureID: String, amount: Money?) -> String {
        state.withLock { state in
            guard let capture = state.captures[captureID] else { preconditionFailure("no capture \(captureID)") }
            let remaining = capture.amount.minorUnits - capture.refundedMinorUnits(in: state.refunds)
            let units = amount?.minorUnits ?? remaining
            precondition(units > 0 && units <= remaining, "refund \(units) exceeds what remains (\(remaining))")
            return state.addRefund(of: units, to: capture, createTime: now()).id
        }
    }

    static func publicOrder(_ order: OrderRecord) -> PayPalStandInOrder {
        PayPalStandInOrder(
            id: order.id,
            amount: order.amount,
            customID: order.customID,
            returnURL: order.returnURL,
            cancelURL: order.cancelURL,
            requestID: order.requestID,
            approved: order.approved,
            captureID: order.captureID
        )
    }
}

/// An order created through the stand-in's API.
public struct PayPalStandInOrder: Sendable, Hashable {
    /// The order id.
    public var id: String
    /// The first purchase unit's amount.
    public var amount: Money
    /// The first purchase unit's `custom_id`.
    public var customID: String?
    /// `experience_context.return_url` as sent.
    public var returnURL: String?
    /// `experience_context.cancel_url` as sent.
    public var cancelURL: String?
    /// The `PayPal-Request-Id` sent, if any.
    public var requestID: String?
    /// Whether the buyer approved it.
    public var approved: Bool
    /// Its capture, once captured.
    public var captureID: String?
}

/// A capture made through the stand-in's API.
public struct PayPalStandInCapture: Sendable, Hashable {
    /// The capture id.
    public var id: String
    /// The captured order.
    public var orderID: String
    /// `COMPLETED` or `PENDING`.
    public var status: String
    /// The captured amount.
    public var amount: Money
    /// The order's `custom_id`.
    public var customID: String?
}

/// A refund created through the stand-in's API.
public struct PayPalStandInRefund: Sendable, Hashable {
    /// The refund id.
    public var id: String
    /// The refunded capture.
    public var captureID: String
    /// The refunded amount.
    public var amount: Money
}

/// A built event: its id, type and the exact body bytes that are signed and delivered.
public struct PayPalStandInEvent: Sendable {
    /// The event id, `WH-…`.
    public var id: String
    /// The event type, e.g. `PAYMENT.CAPTURE.COMPLETED`.
    public var eventType: String
    /// The JSON body.
    public var body: Data

    /// An event from its parts, e.g. a built one with its body changed.
    public init(id: String, eventType: String, body: Data) {
        self.id = id
        self.eventType = eventType
        self.body = body
    }
}
