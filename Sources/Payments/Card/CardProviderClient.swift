public import AsyncHTTPClient
public import LedgerCore

/// Where and how to reach the card provider's API.
public struct CardProviderConfiguration: Sendable, CustomStringConvertible {
    /// The API's origin without a trailing slash, e.g. `https://api.stripe.com`.
    public var baseURL: String
    /// The secret API key, `sk_…`, sent as a bearer token.
    public var secretKey: String
    /// How long one call may take, connection to last body byte.
    public var requestTimeoutSeconds: Int64

    /// Creates a configuration; a trailing `/` on `baseURL` is dropped so paths join cleanly.
    public init(baseURL: String, secretKey: String, requestTimeoutSeconds: Int64 = 10) {
        precondition(requestTimeoutSeconds > 0, "a request timeout must be positive")
        var origin = baseURL
        while origin.hasSuffix("/") { origin.removeLast() }
        self.baseURL = origin
        self.secretKey = secretKey
        self.requestTimeoutSeconds = requestTimeoutSeconds
    }

    /// Leaves the secret key out, so logging a configuration never leaks it.
    public var description: String {
        "CardProviderConfiguration(baseURL: \(baseURL), secretKey: <redacted>, requestTimeoutSeconds: \(requestTimeoutSeconds))"
    }
}

/// What to sell in a hosted checkout session.
public struct CheckoutSessionRequest: Sendable {
    /// Where the payment belongs; travels as `client_reference_id` and in the payment intent's metadata.
    public var reference: CardReference
    /// The price; one line item of quantity one.
    public var amount: Money
    /// The product name the customer sees, e.g. `Directory listing (12 months)`.
    public var productName: String
    /// Where the provider sends the customer after paying.
    public var successURL: String
    /// Where the provider sends the customer after giving up.
    public var cancelURL: String

    /// Creates a request from its parts.
    public init(reference: CardReference, amount: Money, productName: String, successURL: String, cancelURL: String) {
        self.reference = reference
        self.amount = amount
        self.productName = productName
        self.successURL = successURL
        self.cancelURL = cancelURL
    }
}

/// A created checkout session.
public struct CheckoutSession: Sendable, Hashable {
    /// The session id, `cs_…`.
    public var id: String
    /// The hosted payment page to send the customer to.
    public var url: String

    /// Creates a session from its parts.
    public init(id: String, url: String) {
        self.id = id
        self.url = url
    }
}

/// A refund as the provider reported it when created.
public struct CardRefund: Sendable, Hashable {
    /// The refund id, `re_…`.
    public var id: String
    /// `pending`, `succeeded`, `failed`, …; the final state arrives later as a webhook.
    public var status: String
    /// The refunded amount.
    public var amount: Money

    /// Creates a refund from its parts.
    public init(id: String, status: String, amount: Money) {
        self.id = id
        self.status = status
        self.amount = amount
    }
}

/// Calls the card provider's API: checkout sessions and refunds.
///
/// Every call carries an idempotency key, so a retry after a timeout can never create a second session or
/// refund, and every call is bounded by the configured timeout, so a hanging provider never hangs a request.
public struct CardProviderClient: Sendable {
    /// The longest idempotency key the provider accepts.
    public static let idempotencyKeyLengthMax = 255
    /// The largest response body read; the provider's answers are a few kilobytes.
    public static let responseBodyBytesMax = 1024 * 1024

    let configuration: CardProviderConfiguration
    let httpClient: HTTPClient

    /// Creates a client on an `HTTPClient` the caller owns and shuts down.
    public init(configuration: CardProviderConfiguration, httpClient: HTTPClient) {
        self.configuration = configuration
        self.httpClient = httpClient
    }

    /// Creates a hosted checkout session for one card payment.
    ///
    /// The profile and purpose go into `client_reference_id` and into the payment intent's metadata, because the
    /// provider does not copy session metadata to the payment intent or charge, and refund and dispute events
    /// could not be traced otherwise.
    public func createCheckoutSession(_ request: CheckoutSessionRequest, idempotencyKey: String) async throws(PaymentsError) -> CheckoutSession {
        precondition(request.amount.minorUnits > 0, "a checkout session needs a positive amount")
        let reference = request.reference
        let fields: [(String, String)] = [
            ("mode", "payment"),
            ("success_url", request.successURL),
            ("cancel_url", request.cancelURL),
            ("client_reference_id", reference.clientReferenceID),
            ("metadata[profile_id]", reference.profileID),
            ("metadata[purpose]", reference.purpose),
            ("payment_intent_data[metadata][profile_id]", reference.profileID),
            ("payment_intent_data[metadata][purpose]", reference.purpose),
            ("line_items[0][quantity]", "1"),
            ("line_items[0][price_data][currency]", request.amount.currency.lowercased()),
            ("line_items[0][price_data][unit_amount]", String(try CardAmounts.wireUnits(request.amount))),
            ("line_items[0][price_data][product_data][name]", request.productName),
            ("payment_method_types[0]", "card"),
        ]
        let session = try await post("/v1/checkout/sessions", fields: fields, idempotencyKey: idempotencyKey, as: WireCreatedSession.self)
        guard let id = session.id, let url = session.url else {
            throw PaymentsError(.malformedResponse, "the created checkout session has no id or no url")
        }
        return CheckoutSession(id: id, url: url)
    }

    /// Refunds a payment intent: `amount` of it, or everything not yet refunded when `amount` is `nil`.
    public func createRefund(paymentIntentID: String, amount: Money?, idempotencyKey: String) async throws(PaymentsError) -> CardRefund {
        precondition(amount.map { $0.minorUnits > 0 } ?? true, "a refund amount must be positive")
        var fields: [(String, String)] = [("payment_intent", paymentIntentID)]
        if let amount {
            fields.append(("amount", String(try CardAmounts.wireUnits(amount))))
        }
        let refund = try await post("/v1/refunds", fields: fields, idempotencyKey: idempotencyKey, as: WireCreatedRefund.self)
        guard let id = refund.id, let status = refund.status, let units = refund.amount, let currency = refund.currency else {
            throw PaymentsError(.malformedResponse, "the created refund lacks id, status, amount or currency")
        }
        guard units >= 0, let amount = CardAmounts.money(providerUnits: units, currency: currency) else {
            throw PaymentsError(.malformedResponse, "the created refund's amount \(units) is negative, not whole \(currency.uppercased()) or more than \(LedgerBounds.amountLimitDescription)")
        }
        return CardRefund(id: id, status: status, amount: amount)
    }
}
