import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization

extension PayPalStandIn {
    /// PayPal's API routes, the certificate endpoint and the buyer's approval page.
    func buildRouter() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.post("v1/oauth2/token") { request, _ in
            await self.issueToken(request)
        }
        router.post("v2/checkout/orders") { request, _ in
            await self.handle(request, path: "/v2/checkout/orders") { json, requestID in
                self.createOrder(json, requestID: requestID)
            }
        }
        router.post("v2/checkout/orders/:id/capture") { request, context in
            let orderID = context.parameters.get("id") ?? ""
            self.state.withLock { $0.captureRequestCount += 1 }
            return await self.handle(request, path: "/v2/checkout/orders/\(orderID)/capture") { _, _ in
                self.captureOrder(orderID)
            }
        }
        router.post("v2/payments/captures/:id/refund") { request, context in
            let captureID = context.parameters.get("id") ?? ""
            return await self.handle(request, path: "/v2/payments/captures/\(captureID)/refund") { json, _ in
                self.refundCapture(captureID, json)
            }
        }
        router.get("v2/payments/captures/:id") { request, context in
            let captureID = context.parameters.get("id") ?? ""
            return await self.handle(request, path: "/v2/payments/captures/\(captureID)") { _, _ in
                self.readCapture(captureID)
            }
        }
        router.get("v2/payments/refunds/:id") { request, context in
            let refundID = context.parameters.get("id") ?? ""
            return await self.handle(request, path: "/v2/payments/refunds/\(refundID)") { _, _ in
                self.readRefund(refundID)
            }
        }
        router.get("v1/customer/disputes/:id") { request, context in
            let disputeID = context.parameters.get("id") ?? ""
            return await self.handle(request, path: "/v1/customer/disputes/\(disputeID)") { _, _ in
                self.readDispute(disputeID)
            }
        }
        router.get("v1/notifications/certs/:name") { _, context in
            self.serveCertificate(context.parameters.get("name") ?? "")
        }
        router.get("checkoutnow") { request, _ in
            self.approveAndReturn(request.uri.queryParameters.get("token") ?? "")
        }
        return router
    }

    /// What an API call answers: a status and a JSON body, and whether it is kept for idempotent replay.
    struct APIAnswer {
        var status: Int
        var body: Data
        var replayable: Bool

        static func ok(_ object: [String: any Sendable]) -> APIAnswer {
            APIAnswer(status: 200, body: StandInJSON.data(object), replayable: false)
        }

        static func created(_ object: [String: any Sendable]) -> APIAnswer {
            APIAnswer(status: 201, body: StandInJSON.data(object), replayable: true)
        }

        /// PayPal's REST error body: `name`, `message`, `debug_id`, `details[{issue, description}]`, `links`.
        static func error(_ status: Int, name: String, message: String, issue: String? = nil, description: String? = nil) -> APIAnswer {
            var body: [String: any Sendable] = [
                "name": name,
                "message": message,
                "debug_id": String(UUID().uuidString.prefix(13)).lowercased(),
            ]
            if let issue {
                body["details"] = [["issue": issue, "description": description ?? message] as [String: any Sendable]]
                body["links"] = [
                    [
                        "href": "https://developer.paypal.com/docs/api/orders/v2/#error-\(issue)",
                        "rel": "information_link",
                        "method": "GET",
                    ] as [String: any Sendable]
                ]
            }
            return APIAnswer(status: status, body: StandInJSON.data(body), replayable: false)
        }

        static func invalid(_ issue: String, _ description: String) -> APIAnswer {
            .error(400, name: "INVALID_REQUEST", message: "Request is not well-formed, syntactically incorrect, or violates schema.", issue: issue, description: description)
        }

        static func unprocessable(_ issue: String, _ description: String) -> APIAnswer {
            .error(422, name: "UNPROCESSABLE_ENTITY", message: "The requested action could not be performed, semantically incorrect, or failed business validation.", issue: issue, description: description)
        }

        static func notFound(_ description: String) -> APIAnswer {
            .error(404, name: "RESOURCE_NOT_FOUND", message: "The specified resource does not exist.", issue: "INVALID_RESOURCE_ID", description: description)
        }
    }

    typealias Operation = @Sendable (_ json: [String: Any], _ requestID: String?) -> APIAnswer

    /// `POST /v1/oauth2/token`: client credentials in basic auth, `grant_type=client_credentials` in a form.
    private func issueToken(_ request: Request) async -> Response {
        state.withLock { $0.tokenRequestCount += 1 }
        if let injected = await injectedAnswer() {
            return respond(injected)
        }
        let expected = "Basic " + Data("\(clientID):\(clientSecret)".utf8).base64EncodedString()
        guard request.headers[.authorization] == expected else {
            return respond(oauthError(401, "invalid_client", "Client Authentication failed"))
        }
        let form = (try? await request.body.collect(upTo: Self.requestBodyBytesMax)).map { String(buffer: $0) } ?? ""
        guard form.split(separator: "&").contains("grant_type=client_credentials") else {
            return respond(oauthError(400, "unsupported_grant_type", "Grant Type is NULL"))
        }
        let token = "A21AA" + UUID().uuidString.replacingOccurrences(of: "-", with: "") + UUID().uuidString.replacingOccurrences(of: "-", with: "")
        state.withLock { $0.tokens[token] = now() + TimeInterval(tokenLifetimeSeconds) }
        return respond(
            APIAnswer(
                status: 200,
                body: StandInJSON.data([
                    "scope": "https://uri.paypal.com/services/payments/refund https://uri.paypal.com/services/payments/payment",
                    "access_token": token,
                    "token_type": "Bearer",
                    "app_id": "APP-80W284485P519543T",
                    "expires_in": tokenLifetimeSeconds,
                    "nonce": "\(Self.timestamp(now()))\(UUID().uuidString.prefix(8))",
                ] as [String: any Sendable]),
                replayable: false
            )
        )
    }

    private func oauthError(_ status: Int, _ error: String, _ description: String) -> APIAnswer {
        APIAnswer(status: status, body: StandInJSON.data(["error": error, "error_description": description] as [String: any Sendable]), replayable: false)
    }

    /// The steps every REST call shares: outage simulation, bearer token, JSON body, replay by request id.
    private func handle(_ request: Request, path: String, operation: Operation) async -> Response {
        if let injected = await injectedAnswer() {
            return respond(injected)
        }
        guard isAuthorized(request.headers[.authorization]) else {
            return respond(
                .error(401, name: "AUTHENTICATION_FAILURE", message: "Authentication failed due to invalid authentication credentials or a missing Authorization header.")
            )
        }
        let json: [String: Any]
        do {
            let buffer = try await request.body.collect(upTo: Self.requestBodyBytesMax)
            if buffer.readableBytes == 0 {
                json = [:]
            } else {
                guard let object = try JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? [String: Any] else {
                    return respond(.invalid("MALFORMED_REQUEST_JSON", "The request JSON is not an object."))
                }
                json = object
            }
        } catch {
            return respond(.invalid("MALFORMED_REQUEST_JSON", "The request JSON is not well formed."))
        }
        let requestID = request.headers[HTTPField.Name("PayPal-Request-Id")!]
        if let requestID, requestID.utf8.count > 108 {
            return respond(.invalid("INVALID_PARAMETER_VALUE", "PayPal-Request-Id is longer than 108 characters."))
        }
        let key = requestID.map { "\(path)\n\($0)" }
        if let key, let stored = state.withLock({ $0.idempotentResponses[key] }) {
            return respond(APIAnswer(status: stored.status, body: stored.body, replayable: false))
        }
        let answer = operation(json, requestID)
        if let key, answer.replayable {
            state.withLock { $0.idempotentResponses[key] = StoredAnswer(status: answer.status, body: answer.body) }
        }
        return respond(answer)
    }

    private func isAuthorized(_ authorization: String?) -> Bool {
        guard let authorization, authorization.hasPrefix("Bearer ") else { return false }
        let token = String(authorization.dropFirst("Bearer ".count))
        let instant = now()
        return state.withLock { state in state.tokens[token].map { instant < $0 } ?? false }
    }

    /// A failure or hang the test asked for, counting the request either way.
    private func injectedAnswer() async -> APIAnswer? {
        switch await faults.nextFault() {
        case nil:
            return nil
        case .hang:
            return .error(503, name: "SERVICE_UNAVAILABLE", message: "The stand-in stopped.")
        case .fail(let status):
            let name = status >= 500 ? "INTERNAL_SERVER_ERROR" : "UNPROCESSABLE_ENTITY"
            return .error(status, name: name, message: "Simulated PayPal failure \(status).")
        }
    }

    /// `GET /v1/notifications/certs/{name}`: the signing certificate and its issuer, as PEM.
    private func serveCertificate(_ name: String) -> Response {
        let pem = state.withLock { state in
            state.certificateRequestCount += 1
            return state.certificates[name]
        }
        guard let pem else {
            return respond(.notFound("No certificate named \(name)."))
        }
        return Response(
            status: .ok,
            headers: [.contentType: "application/x-pem-file"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: pem))
        )
    }

    /// `GET /checkoutnow?token=<order id>`: the buyer approves and is sent to the order's return URL.
    private func approveAndReturn(_ orderID: String) -> Response {
        let returnURL: String? = state.withLock { state in
            guard state.orders[orderID] != nil else { return nil }
            state.orders[orderID]?.approved = true
            return state.orders[orderID]?.returnURL ?? ""
        }
        guard let returnURL else {
            return respond(.notFound("No order \(orderID)."))
        }
        let separator = returnURL.contains("?") ? "&" : "?"
        return Response(status: .found, headers: [.location: "\(returnURL)\(separator)token=\(orderID)&PayerID=QYR5Z8XDVJNXQ"])
    }

    private func respond(_ answer: APIAnswer) -> Response {
        Response(
            status: HTTPResponse.Status(code: answer.status),
            headers: [.contentType: "application/json", HTTPField.Name("Paypal-Debug-Id")!: "standin\(answer.status)"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: answer.body))
        )
    }
}
