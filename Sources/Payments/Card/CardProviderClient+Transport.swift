import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

extension CardProviderClient {
    /// POSTs a form to `path` and decodes a 2xx answer as `Response`; anything else becomes a ``PaymentsError``.
    func post<Response: Decodable & Sendable>(
        _ path: String,
        fields: [(String, String)],
        idempotencyKey: String,
        as type: Response.Type
    ) async throws(PaymentsError) -> Response {
        precondition(
            !idempotencyKey.isEmpty && idempotencyKey.utf8.count <= Self.idempotencyKeyLengthMax,
            "an idempotency key is 1 to \(Self.idempotencyKeyLengthMax) bytes"
        )
        var request = HTTPClientRequest(url: configuration.baseURL + path)
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(configuration.secretKey)")
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Idempotency-Key", value: idempotencyKey)
        request.body = .bytes(ByteBuffer(string: FormEncoding.encode(fields)))

        let (status, body) = try await exchange(request, path: path)
        switch status {
        case 200..<300:
            do {
                return try JSONDecoder().decode(type, from: body)
            } catch {
                throw PaymentsError(.malformedResponse, "POST \(path) answered \(status) with a body that is not the expected JSON", status: status)
            }
        case 400..<500:
            let providerError = Self.providerError(body)
            throw PaymentsError(
                .rejected,
                "the provider refused POST \(path)",
                status: status,
                providerMessage: providerError?.message,
                providerCode: providerError?.code
            )
        case 500..<600:
            let providerError = Self.providerError(body)
            throw PaymentsError(
                .failed,
                "the provider failed POST \(path)",
                status: status,
                providerMessage: providerError?.message,
                providerCode: providerError?.code
            )
        default:
            throw PaymentsError(.malformedResponse, "POST \(path) answered with unexpected status \(status)", status: status)
        }
    }

    /// Sends the request and reads the whole answer within the configured timeout.
    private func exchange(_ request: HTTPClientRequest, path: String) async throws(PaymentsError) -> (status: Int, body: Data) {
        try await HTTPExchange.answer(
            request,
            action: "POST \(path)",
            on: httpClient,
            timeoutSeconds: configuration.requestTimeoutSeconds,
            bodyBytesMax: Self.responseBodyBytesMax
        ) { problem, message in
            PaymentsError(problem == .responseTooLarge ? .malformedResponse : .unavailable, message)
        }
    }

    /// The provider's `{"error": {"message", "code"}}`, when the body is one.
    private static func providerError(_ body: Data) -> WireProviderError.Detail? {
        (try? JSONDecoder().decode(WireProviderError.self, from: body))?.error
    }
}

/// The provider's error body.
struct WireProviderError: Decodable {
    struct Detail: Decodable {
        var type: String?
        var message: String?
        var code: String?
        var param: String?
    }

    var error: Detail?
}

/// The fields of a created checkout session we use.
struct WireCreatedSession: Decodable, Sendable {
    var id: String?
    var url: String?
}

/// The fields of a created refund we use.
struct WireCreatedRefund: Decodable, Sendable {
    var id: String?
    var status: String?
    var amount: Int64?
    var currency: String?
}
