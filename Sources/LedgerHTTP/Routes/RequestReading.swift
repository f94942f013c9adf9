import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import LedgerService

// Reading requests the same way on every route.

func metadata(_ request: Request, _ context: LedgerRequestContext) -> EventMetadata {
    EventMetadata(actor: context.caller?.actor, correlationID: context.requestID, requestID: context.requestID)
}

func idempotencyKey(_ request: Request) throws -> String? {
    guard let name = IdempotencyMiddleware.header, let key = request.headers[name] else { return nil }
    try IdempotencyMiddleware.validate(key)
    return key
}

/// Reads a JSON body: a declared type other than JSON is 415, duplicate keys and control characters are 400.
func decode<Body: Decodable>(_ type: Body.Type, _ request: Request, _ context: LedgerRequestContext) async throws -> Body {
    if let declared = request.headers[.contentType] {
        let media = declared.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        guard media == "application/json" || (media.hasPrefix("application/") && media.hasSuffix("+json")) else {
            throw Problem(
                .unsupportedMediaType, "unsupported-media-type", title: "Unsupported Media Type",
                detail: "the body must be JSON (Content-Type: application/json), not '\(media.prefix(60))'"
            )
        }
    }
    let buffer = try await request.body.collect(upTo: context.bodyBytesMax)
    if let problem = StrictJSON.problem(in: buffer.readableBytesView) { throw Problem.badRequest(problem) }
    do {
        return try JSONDecoder().decode(Body.self, from: Data(buffer.readableBytesView))
    } catch let error as DecodingError {
        throw Problem.badRequest("the JSON body is invalid: \(describe(error))")
    } catch {
        throw Problem.badRequest("the body is not JSON")
    }
}

func describe(_ error: DecodingError) -> String {
    switch error {
    case .keyNotFound(let key, _): "missing field '\(key.stringValue)'"
    case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
        "\(context.codingPath.map(\.stringValue).joined(separator: ".")): \(context.debugDescription)"
    @unknown default: "\(error)"
    }
}

/// `limit` (1 to `pageSizeMax`, default 100) and `offset` (default 0).
func pageParameters(_ request: Request, pageSizeMax: Int) throws -> (Int, Int) {
    let limit = try request.uri.queryParameters["limit"].map { text -> Int in
        guard let value = Int(text), (1...pageSizeMax).contains(value) else { throw Problem.badRequest("limit must be 1 to \(pageSizeMax)") }
        return value
    } ?? 100
    let offset = try request.uri.queryParameters["offset"].map { text -> Int in
        guard let value = Int(text), value >= 0 else { throw Problem.badRequest("offset must be 0 or more") }
        return value
    } ?? 0
    return (limit, offset)
}
