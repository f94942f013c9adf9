import Foundation
import HTTPTypes
import Hummingbird
import LedgerCore
import NIOCore
import Payments
import Synchronization

extension CardProviderStandIn {
    /// The provider's API routes.
    func buildRouter() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.post("v1/checkout/sessions") { request, _ in
            await self.handle(request, path: "/v1/checkout/sessions", create: self.createSession)
        }
        router.post("v1/refunds") { request, _ in
            await self.handle(request, path: "/v1/refunds", create: self.createRefund)
        }
        return router
    }

    /// What a creation answers: a status and a JSON body, and whether it is kept for idempotent replay.
    struct APIAnswer {
        var status: Int
        var body: Data
        var replayable: Bool

        static func ok(_ object: [String: any Sendable]) -> APIAnswer {
            APIAnswer(status: 200, body: StandInJSON.data(object), replayable: true)
        }

        static func invalid(_ message: String, param: String?, code: String? = nil, status: Int = 400, type: String = "invalid_request_error") -> APIAnswer {
            var error: [String: any Sendable] = ["type": type, "message": message]
            if let param { error["param"] = param }
            if let code { error["code"] = code }
            return APIAnswer(status: status, body: StandInJSON.data(["error": error]), replayable: false)
        }
    }

    typealias Creation = @Sendable (_ fields: [String: String], _ idempotencyKey: String?) -> APIAnswer

    /// The steps every API call shares: outage simulation, authentication, form decoding, idempotent replay.
    private func handle(_ request: Request, path: String, create: Creation) async -> Response {
        switch await faults.nextFault() {
        case .hang:
            return respond(.invalid("the stand-in stopped", param: nil, status: 503, type: "api_error"))
        case .fail(let status):
            return respond(.invalid("Simulated provider failure \(status).", param: nil, status: status, type: "api_error"))
        case nil:
            break
        }
        guard request.headers[.authorization] == "Bearer \(secretKey)" else {
            let message = request.headers[.authorization] == nil
                ? "You did not provide an API key. Provide it in the Authorization header, using Bearer auth."
                : "Invalid API Key provided."
            return respond(.invalid(message, param: nil, status: 401))
        }
        let pairs: [(String, String)]
        do {
            let buffer = try await request.body.collect(upTo: Self.requestBodyBytesMax)
            pairs = try FormEncoding.decode(String(buffer: buffer))
        } catch {
            return respond(.invalid("The request body could not be decoded as a form: \(error)", param: nil))
        }
        let idempotencyKey = request.headers[HTTPField.Name("Idempotency-Key")!]
        if let idempotencyKey, idempotencyKey.utf8.count > 255 {
            return respond(.invalid("Idempotency-Key is longer than 255 characters.", param: nil, type: "idempotency_error"))
        }
        let fields = Dictionary(pairs, uniquingKeysWith: { _, last in last })
        let signature = pairs.map { "\($0.0)=\($0.1)" }
        if let idempotencyKey, let stored = state.withLock({ $0.idempotentResponses[idempotencyKey] }) {
            guard stored.path == path, stored.fields == signature else {
                return respond(
                    .invalid(
                        "Keys for idempotent requests can only be used with the same parameters they were first used with.",
                        param: nil,
                        type: "idempotency_error"
                    )
                )
            }
            return respond(APIAnswer(status: stored.status, body: stored.body, replayable: false), replayed: true)
        }
        let answer = create(fields, idempotencyKey)
        if let idempotencyKey, answer.replayable {
            state.withLock {
                $0.idempotentResponses[idempotencyKey] = StoredResponse(path: path, fields: signature, status: answer.status, body: answer.body)
            }
        }
        return respond(answer)
    }

    private func respond(_ answer: APIAnswer, replayed: Bool = false) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if replayed {
            headers[HTTPField.Name("Idempotent-Replayed")!] = "true"
        }
        return Response(
            status: HTTPResponse.Status(code: answer.status),
            headers: headers,
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: answer.body))
        )
    }
}
