import Foundation
public import HTTPTypes
public import Hummingbird
import NIOCore

/// An error answered as `application/problem+json` (RFC 9457): `type`, `title`, `status`, `detail`.
///
/// Problems are what the outside world caused: bad input, a missing key, a conflict. Their text is meant
/// for the client; nothing internal goes into it.
public struct Problem: Error, Sendable, HTTPResponseError {
    public var status: HTTPResponse.Status
    /// A short, stable slug; the `type` URI is built from it.
    public var slug: String
    public var title: String
    public var detail: String
    /// Extra response headers, e.g. `WWW-Authenticate` or `Allow`.
    public var headers: HTTPFields
    /// For a body over the limit: the limit, in bytes, so a page for a person can name it in words.
    var limitBytes: Int?

    /// The longest `detail` sent: a message that names what was given (an id, a field's value) is cut short here,
    /// however long the input was, so a field of megabytes is never sent back whole.
    static let detailCharactersMax = 1_000

    public init(_ status: HTTPResponse.Status, _ slug: String, title: String, detail: String, headers: HTTPFields = [:]) {
        self.status = status
        self.slug = slug
        self.title = title
        // Counted in Unicode scalars, not characters: a character may carry any number of combining marks.
        self.detail = detail.unicodeScalars.count > Self.detailCharactersMax
            ? String(detail.unicodeScalars.prefix(Self.detailCharactersMax)) + "…" : detail
        self.headers = headers
    }

    /// The `type` member: a stable URI naming the kind of problem.
    public var type: String { "https://listing-ledger.example/problems/\(slug)" }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        response(requestID: nil)
    }

    /// The problem as a response, with the request id in the body when known.
    func response(requestID: String?) -> Response {
        let body = Body(type: type, title: title, status: Int(status.code), detail: detail, requestId: requestID)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding five plain fields cannot fail.
        let json = (try? encoder.encode(body)) ?? Data("{}".utf8)
        var headers = self.headers
        headers[.contentType] = "application/problem+json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: json)))
    }

    /// The RFC 9457 members we send.
    private struct Body: Encodable {
        var type: String
        var title: String
        var status: Int
        var detail: String
        var requestId: String?
    }
}

extension Problem {
    static func badRequest(_ detail: String) -> Problem {
        Problem(.badRequest, "bad-request", title: "The request is malformed", detail: detail)
    }

    static func notFound(_ detail: String) -> Problem {
        Problem(.notFound, "not-found", title: "Not found", detail: detail)
    }

    static func unauthorized(_ detail: String) -> Problem {
        Problem(
            .unauthorized, "unauthorized", title: "Authentication required", detail: detail,
            headers: [.wwwAuthenticate: "Bearer realm=\"listing-ledger\""]
        )
    }

    static func forbidden(_ detail: String) -> Problem {
        Problem(.forbidden, "forbidden", title: "Not allowed for this key", detail: detail)
    }

    static func contentTooLarge(limit: Int) -> Problem {
        var problem = Problem(.contentTooLarge, "content-too-large", title: "Request body too large", detail: "the request body exceeds \(limit) bytes")
        problem.limitBytes = limit
        return problem
    }

    static func internalError() -> Problem {
        Problem(.internalServerError, "internal-error", title: "Internal error", detail: "the server failed; the request id identifies it in the logs")
    }
}
