public import AsyncHTTPClient
public import Foundation
public import LedgerCore

/// Where and how to reach PayPal's REST API.
public struct PayPalConfiguration: Sendable, CustomStringConvertible {
    /// PayPal's live API.
    public static let liveBaseURL = "https://api-m.paypal.com"
    /// PayPal's sandbox API.
    public static let sandboxBaseURL = "https://api-m.sandbox.paypal.com"

    /// The API's origin without a trailing slash.
    public var baseURL: String
    /// The REST app's client id.
    public var clientID: String
    /// The REST app's secret; sent only to the token endpoint.
    public var clientSecret: String
    /// How long one call may take, connection to last body byte.
    public var requestTimeoutSeconds: Int64

    /// Creates a configuration; a trailing `/` on `baseURL` is dropped so paths join cleanly.
    public init(baseURL: String, clientID: String, clientSecret: String, requestTimeoutSeconds: Int64 = 10) {
        precondition(requestTimeoutSeconds > 0, "a request timeout must be positive")
        var origin = baseURL
        while origin.hasSuffix("/") { origin.removeLast() }
        self.baseURL = origin
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.requestTimeoutSeconds = requestTimeoutSeconds
    }

    /// Leaves the secret out, so logging a configuration never leaks it.
    public var description: String {
        "PayPalConfiguration(baseURL: \(baseURL), clientID: \(clientID), clientSecret: <redacted>, requestTimeoutSeconds: \(requestTimeoutSeconds))"
    }
}

/// A created order, waiting for the buyer's approval.
public struct PayPalOrder: Sendable, Hashable {
    /// The order id.
    public var id: String
    /// PayPal's `status`, `CREATED` or `PAYER_ACTION_REQUIRED`.
    public var status: String
    /// Where to send the buyer to approve: the `payer-action` (or older `approve`) link.
    public var approvalURL: String

    /// Creates an order from its parts.
    public init(id: String, status: String, approvalURL: String) {
        self.id = id
        self.status = status
        self.approvalURL = approvalURL
    }
}

/// The capture made when an approved order is captured.
public struct PayPalCapture: Sendable, Hashable {
    /// The capture id, which refunds and disputes name.
    public var id: String
    /// The order it belongs to.
    public var orderID: String
    /// PayPal's capture `status`: `COMPLETED`, or `PENDING` while PayPal holds the money.
    public var status: String
    /// The captured amount.
    public var amount: Money
    /// The purchase unit's `custom_id`.
    public var customID: String?

    /// Creates a capture from its parts.
    public init(id: String, orderID: String, status: String, amount: Money, customID: String?) {
        self.id = id
        self.orderID = orderID
        self.status = status
        self.amount = amount
        self.customID = customID
    }
}

/// A refund as PayPal reported it when created.
public struct PayPalRefund: Sendable, Hashable {
    /// The refund id.
    public var id: String
    /// `COMPLETED`, `PENDING`, …; the final state arrives later as a webhook.
    public var status: String
    /// The refunded amount, when PayPal returns it.
    public var amount: Money?

    /// Creates a refund from its parts.
    public init(id: String, status: String, amount: Money?) {
        self.id = id
        self.status = status
        self.amount = amount
    }
}

/// Calls PayPal's Orders v2 and Payments v2 APIs: create and capture orders, refund captures.
///
/// Every POST carries a `PayPal-Request-Id`, so a retry after a timeout can never create a second order,
/// capture or refund. Every HTTP exchange, head and body, is bounded by the configured timeout; a call makes at
/// most four (token, request, and once more each after a 401), so it never hangs. The OAuth2 access token is
/// fetched once and shared by all copies of the client until shortly before it expires.
public struct PayPalClient: Sendable {
    /// The longest `PayPal-Request-Id` PayPal accepts.
    public static let requestIDLengthMax = 108
    /// The largest response body read; PayPal's answers are a few kilobytes.
    public static let responseBodyBytesMax = 1024 * 1024
    /// The longest order or capture id accepted; PayPal's are 17 characters.
    public static let identifierLengthMax = 64

    let configuration: PayPalConfiguration
    let httpClient: HTTPClient
    let now: @Sendable () -> Date
    let tokens: PayPalAccessTokens

    /// Creates a client on an `HTTPClient` the caller owns and shuts down; `now` decides when a token expires.
    public init(configuration: PayPalConfiguration, httpClient: HTTPClient, now: @escaping @Sendable () -> Date = { Date() }) {
        self.configuration = configuration
        self.httpClient = httpClient
        self.now = now
        self.tokens = PayPalAccessTokens()
    }

    /// Creates an order with intent `CAPTURE` for one purchase unit of `amount`, tagged with `reference` as its
    /// `custom_id`, and returns it with the URL to send the buyer to.
    ///
    /// The return and cancel URLs go into `payment_source.paypal.experience_context`, PayPal's current place for
    /// them; `user_action` is `PAY_NOW` because nothing is left to confirm on our side after approval.
    public func createOrder(
        reference: PayPalReference,
        amount: Money,
        returnURL: String,
        cancelURL: String,
        requestID: String
    ) async throws(PaymentsError) -> PayPalOrder {
        precondition(amount.minorUnits > 0, "an order needs a positive amount")
        precondition(reference.customID.count <= PayPalReference.customIDLengthMax, "custom_id is at most 127 characters")
        let body = PayPalWireCreateOrder(
            intent: "CAPTURE",
            purchaseUnits: [
                .init(customID: reference.customID, amount: PayPalWireAmount(currencyCode: amount.currency, value: try Self.wireValue(amount)))
            ],
            paymentSource: .init(
                paypal: .init(
                    experienceContext: .init(
                        returnURL: returnURL,
                        cancelURL: cancelURL,
                        userAction: "PAY_NOW",
                        shippingPreference: "NO_SHIPPING"
                    )
                )
            )
        )
        let order = try await post("/v2/checkout/orders", body: body, requestID: requestID, as: PayPalWireOrder.self)
        let approval = order.links?.first(where: { $0.rel == "payer-action" }) ?? order.links?.first(where: { $0.rel == "approve" })
        guard let id = order.id, let status = order.status, let approvalURL = approval?.href else {
            throw PaymentsError(.malformedResponse, "the created order lacks id, status or an approval link")
        }
        return PayPalOrder(id: id, status: status, approvalURL: approvalURL)
    }

    /// Captures an approved order. A second capture of the same order throws
    /// ``PaymentsError/Code/orderAlreadyCaptured`` (unless it repeats the first one's `requestID`, which
    /// PayPal answers with the first result).
    public func captureOrder(orderID: String, requestID: String) async throws(PaymentsError) -> PayPalCapture {
        try Self.checkIdentifier(orderID, "order")
        let path = "/v2/checkout/orders/\(orderID)/capture"
        let order = try await post(path, body: PayPalWireEmpty(), requestID: requestID, as: PayPalWireOrder.self)
        let unit = order.purchaseUnits?.first
        guard let capture = unit?.payments?.captures?.first, let id = capture.id, let status = capture.status else {
            throw PaymentsError(.malformedResponse, "the captured order \(orderID) names no capture")
        }
        guard let value = capture.amount?.value, let currency = capture.amount?.currencyCode,
            let amount = try? Money(parsing: value, currency: currency)
        else {
            throw PaymentsError(.malformedResponse, "capture \(id) has no readable amount")
        }
        return PayPalCapture(id: id, orderID: order.id ?? orderID, status: status, amount: amount, customID: capture.customID ?? unit?.customID)
    }

    /// Refunds `amount` of a capture, or everything not yet refunded when `amount` is `nil`.
    public func refundCapture(captureID: String, amount: Money?, requestID: String) async throws(PaymentsError) -> PayPalRefund {
        precondition(amount.map { $0.minorUnits > 0 } ?? true, "a refund amount must be positive")
        try Self.checkIdentifier(captureID, "capture")
        let body = PayPalWireRefundRequest(amount: try amount.map { money throws(PaymentsError) in
            PayPalWireAmount(currencyCode: money.currency, value: try Self.wireValue(money))
        })
        let refund = try await post("/v2/payments/captures/\(captureID)/refund", body: body, requestID: requestID, as: PayPalWireRefund.self)
        guard let id = refund.id, let status = refund.status else {
            throw PaymentsError(.malformedResponse, "the created refund lacks id or status")
        }
        let refunded = refund.amount.flatMap { wire -> Money? in
            guard let value = wire.value, let currency = wire.currencyCode else { return nil }
            // Parsing refuses a sign; the bound is the ledger's, as for every amount a provider sends.
            return (try? Money(parsing: value, currency: currency)).flatMap { LedgerBounds.acceptsAmount($0.minorUnits) ? $0 : nil }
        }
        return PayPalRefund(id: id, status: status, amount: refunded)
    }

    /// Ids go into URL paths (and stream names), so anything but PayPal's alphabet is refused before a request
    /// is made.
    public static func checkIdentifier(_ id: String, _ kind: String) throws(PaymentsError) {
        let valid = (1...identifierLengthMax).contains(id.utf8.count)
            && id.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
                    true
                default:
                    false
                }
            }
        guard valid else {
            throw PaymentsError(.invalidIdentifier, "'\(id.prefix(80))' is not a PayPal \(kind) id")
        }
    }
}

extension PayPalClient {
    /// Currencies PayPal takes in whole units only, though ISO 4217 gives them two decimals (PayPal's currency
    /// codes: "This currency does not support decimals"; yen has none in ISO 4217 either).
    public static let wholeUnitCurrencies: Set<String> = ["HUF", "TWD"]

    /// Whether PayPal's API can be sent `amount`: not a fraction of a currency it takes in whole units.
    public static func accepts(_ amount: Money) -> Bool {
        !wholeUnitCurrencies.contains(amount.currency) || amount.minorUnits % 100 == 0
    }

    /// `amount` as PayPal's API writes it: with its currency's decimals (`"125.00"`, `"1000"` yen), but in whole
    /// units for ``wholeUnitCurrencies`` (`"400"` forint). Throws `unsupportedAmount` for a fraction of those.
    static func wireValue(_ amount: Money) throws(PaymentsError) -> String {
        guard wholeUnitCurrencies.contains(amount.currency) else { return amount.decimalString }
        guard accepts(amount) else {
            throw PaymentsError(.unsupportedAmount, "PayPal takes \(amount.currency) in whole units only, not \(amount.decimalString)")
        }
        return String(amount.minorUnits / 100)
    }
}
