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
    guard let key = request.headers[HTTPField.Name("Idempotency-Key")!] else { return nil }
    guard !key.isEmpty, key.utf8.count <= 255 else { throw Problem.badRequest("Idempotency-Key must be 1 to 255 bytes") }
    return key
}

func decode<Body: Decodable>(_ type: Body.Type, _ request: Request, _ context: LedgerRequestContext) async throws -> Body {
    let buffer = try await request.body.collect(upTo: context.bodyBytesMax)
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
