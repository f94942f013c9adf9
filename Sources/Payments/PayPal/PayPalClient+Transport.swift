import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

extension PayPalClient {
    /// POSTs `body` as JSON to `path` with a bearer token and decodes a 2xx answer as `Response`.
    ///
    /// A 401 means the token was revoked or expired early: it is dropped and the call repeated once with a new
    /// one, which is safe because the `PayPal-Request-Id` makes the repetition idempotent.
    func post<Body: Encodable, Response: Decodable>(
        _ path: String,
        body: Body,
        requestID: String,
        as type: Response.Type
    ) async throws(PaymentsError) -> Response {
        precondition(
            !requestID.isEmpty && requestID.utf8.count <= Self.requestIDLengthMax,
            "a PayPal-Request-Id is 1 to \(Self.requestIDLengthMax) bytes"
        )
        let json: Data
        do {
            json = try JSONEncoder().encode(body)
        } catch {
            preconditionFailure("a request body always encodes: \(error)")
        }
        var (status, answer) = try await send(path, json: json, requestID: requestID)
        if status == 401 {
            await tokens.invalidate()
            (status, answer) = try await send(path, json: json, requestID: requestID)
        }
        return try Self.decoded(type, status: status, body: answer, action: "POST \(path)")
    }

    /// GETs `path` with a bearer token and decodes a 2xx answer as `Response`; a 401 is retried once with a
    /// new token, as for POSTs.
    func get<Response: Decodable>(_ path: String, as type: Response.Type) async throws(PaymentsError) -> Response {
        var (status, answer) = try await fetch(path)
        if status == 401 {
            await tokens.invalidate()
            (status, answer) = try await fetch(path)
        }
        return try Self.decoded(type, status: status, body: answer, action: "GET \(path)")
    }

    private static func decoded<Response: Decodable>(
        _ type: Response.Type, status: Int, body: Data, action: String
    ) throws(PaymentsError) -> Response {
        switch status {
        case 200..<300:
            do {
                return try JSONDecoder().decode(type, from: body)
            } catch {
                throw PaymentsError(.malformedResponse, "\(action) answered \(status) with a body that is not the expected JSON", status: status)
            }
        default:
            throw error(status: status, body: body, action: action)
        }
    }

    private func fetch(_ path: String) async throws(PaymentsError) -> (status: Int, body: Data) {
        let token = try await accessToken()
        var request = HTTPClientRequest(url: configuration.baseURL + path)
        request.method = .GET
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Accept", value: "application/json")
        return try await exchange(request, action: "GET \(path)")
    }

    private func send(_ path: String, json: Data, requestID: String) async throws(PaymentsError) -> (status: Int, body: Data) {
        let token = try await accessToken()
        var request = HTTPClientRequest(url: configuration.baseURL + path)
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "Prefer", value: "return=representation")
        request.headers.add(name: "PayPal-Request-Id", value: requestID)
        request.body = .bytes(ByteBuffer(bytes: json))
        return try await exchange(request, action: "POST \(path)")
    }

    /// The cached access token, or a new one; concurrent callers share a single refresh.
    func accessToken() async throws(PaymentsError) -> String {
        let client = self
        return try await tokens.token(now: now) { () async throws(PaymentsError) -> PayPalAccessToken in
            try await client.fetchAccessToken()
        }
    }

    /// `POST /v1/oauth2/token` with the client credentials grant.
    private func fetchAccessToken() async throws(PaymentsError) -> PayPalAccessToken {
        let path = "/v1/oauth2/token"
        let credentials = Data("\(configuration.clientID):\(configuration.clientSecret)".utf8).base64EncodedString()
        var request = HTTPClientRequest(url: configuration.baseURL + path)
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Basic \(credentials)")
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Accept", value: "application/json")
        request.body = .bytes(ByteBuffer(string: "grant_type=client_credentials"))
        let issuedAt = now()
        let (status, body) = try await exchange(request, action: "POST \(path)")
        guard (200..<300).contains(status) else {
            throw Self.error(status: status, body: body, action: "POST \(path)")
        }
        guard let token = try? JSONDecoder().decode(PayPalWireToken.self, from: body),
            let value = token.accessToken, !value.isEmpty, let expiresIn = token.expiresIn, expiresIn > 0
        else {
            throw PaymentsError(.malformedResponse, "the token answer lacks access_token or a positive expires_in", status: status)
        }
        return PayPalAccessToken(value: value, issuedAt: issuedAt, expiresInSeconds: expiresIn)
    }

    /// Sends the request and reads the whole answer within the configured timeout.
    private func exchange(_ request: HTTPClientRequest, action: String) async throws(PaymentsError) -> (status: Int, body: Data) {
        try await HTTPExchange.answer(
            request,
            action: action,
            on: httpClient,
            timeoutSeconds: configuration.requestTimeoutSeconds,
            bodyBytesMax: Self.responseBodyBytesMax
        ) { problem, message in
            PaymentsError(problem == .responseTooLarge ? .malformedResponse : .unavailable, message)
        }
    }

    /// The error for a non-2xx answer, carrying PayPal's own name, message and first issue.
    static func error(status: Int, body: Data, action: String) -> PaymentsError {
        let wire = try? JSONDecoder().decode(PayPalWireError.self, from: body)
        let name = wire?.name ?? wire?.error
        let message = wire?.message ?? wire?.errorDescription
        let issue = wire?.details?.first?.issue
        let code: PaymentsError.Code
        switch status {
        case 422 where issue == "ORDER_ALREADY_CAPTURED": code = .orderAlreadyCaptured
        case 400..<500: code = .rejected
        case 500..<600: code = .failed
        default: code = .malformedResponse
        }
        let summary =
            switch code {
            case .failed: "PayPal failed \(action)"
            case .malformedResponse: "\(action) answered with unexpected status \(status)"
            default: "PayPal refused \(action)"
            }
        return PaymentsError(code, summary, status: status, providerName: name, providerMessage: message, providerCode: issue)
    }
}

/// PayPal's error body: `{name, message, details: [{issue, description}], debug_id}` from the REST APIs, or
/// `{error, error_description}` from the OAuth2 endpoint.
struct PayPalWireError: Decodable {
    struct Detail: Decodable {
        var issue: String?
        var description: String?
    }

    var name: String?
    var message: String?
    var details: [Detail]?
    var error: String?
    var errorDescription: String?

    enum CodingKeys: String, CodingKey {
        case name, message, details, error
        case errorDescription = "error_description"
    }
}

struct PayPalWireToken: Decodable {
    var accessToken: String?
    var tokenType: String?
    var expiresIn: Int64?

    enum CodingKeys: String, CodingKey {
        case accessToken = "access_token"
        case tokenType = "token_type"
        case expiresIn = "expires_in"
    }
}

/// The body of `POST /v2/checkout/orders`.
struct PayPalWireCreateOrder: Encodable {
    struct PurchaseUnit: Encodable {
        var customID: String
        var amount: PayPalWireAmount

        enum CodingKeys: String, CodingKey {
            case amount
            case customID = "custom_id"
        }
    }

    struct PaymentSource: Encodable {
        struct PayPal: Encodable {
            var experienceContext: ExperienceContext

            enum CodingKeys: String, CodingKey {
                case experienceContext = "experience_context"
            }
        }

        var paypal: PayPal
    }

    struct ExperienceContext: Encodable {
        var returnURL: String
        var cancelURL: String
        var userAction: String
        var shippingPreference: String

        enum CodingKeys: String, CodingKey {
            case returnURL = "return_url"
            case cancelURL = "cancel_url"
            case userAction = "user_action"
            case shippingPreference = "shipping_preference"
        }
    }

    var intent: String
    var purchaseUnits: [PurchaseUnit]
    var paymentSource: PaymentSource

    enum CodingKeys: String, CodingKey {
        case intent
        case purchaseUnits = "purchase_units"
        case paymentSource = "payment_source"
    }
}

/// The body of `POST /v2/payments/captures/{id}/refund`: no amount refunds what remains.
struct PayPalWireRefundRequest: Encodable {
    var amount: PayPalWireAmount?
}

/// `{}`: a capture needs no fields, but PayPal expects a JSON body.
struct PayPalWireEmpty: Encodable {}
