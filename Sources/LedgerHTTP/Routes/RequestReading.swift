import Foundation
import HTTPTypes
import Hummingbird
import LedgerCore
import LedgerService

// Reading requests the same way on every route.

func metadata(_ request: Request, _ context: LedgerRequestContext) -> CommandMetadata {
    CommandAttribution.metadata(actor: context.staffSession?.user.actor ?? context.caller?.actor, requestID: context.requestID)
}

/// The request's `Idempotency-Key`, scoped to the API key that sent it: the ids and provider keys derived from
/// it then belong to that key alone. Two API keys may carry the same name, and the same `Idempotency-Key` from
/// each is two requests, not a retry. (Only API routes read the header; the console makes its own keys.)
func idempotencyKey(_ request: Request, _ context: LedgerRequestContext) throws -> String? {
    guard let name = IdempotencyMiddleware.header, let key = request.headers[name] else { return nil }
    try IdempotencyMiddleware.validate(key)
    guard let caller = context.caller else { throw Problem.unauthorized("an Idempotency-Key is read only from a request made with an API key") }
    // A key is visible ASCII, so the space keeps the scope and the key apart.
    return "key:\(caller.keyID) \(key)"
}

/// A JSON request body whose fields are known, so a field the route does not read is refused rather than
/// silently ignored (a misspelt `"ammount"` must not go unnoticed).
protocol JSONRequestBody: Decodable {
    /// The fields of the top-level object.
    static var fieldNames: Set<String> { get }
    /// The fields of objects nested in it (the items of a list), if any.
    static var nestedFieldNames: Set<String> { get }
}

extension JSONRequestBody {
    static var nestedFieldNames: Set<String> { [] }
}

/// Reads a JSON body: a declared type other than JSON is 415; duplicate keys, unknown fields and control
/// characters are 400. Where a route's body is optional, `whenEmpty` is what an empty body means.
func decode<Body: JSONRequestBody>(
    _ type: Body.Type, _ request: Request, _ context: LedgerRequestContext, whenEmpty: Body? = nil
) async throws -> Body {
    let buffer = try await request.body.collect(upTo: context.bodyBytesMax)
    if buffer.readableBytes == 0, let whenEmpty { return whenEmpty }
    if let declared = request.headers[.contentType] {
        let media = declared.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        guard media == "application/json" || (media.hasPrefix("application/") && media.hasSuffix("+json")) else {
            throw Problem(
                .unsupportedMediaType, "unsupported-media-type", title: "Unsupported Media Type",
                detail: "the body must be JSON (Content-Type: application/json), not '\(media.prefix(60))'"
            )
        }
    }
    if let problem = StrictJSON.problem(in: buffer.readableBytesView, fields: Body.fieldNames, nestedFields: Body.nestedFieldNames) {
        throw Problem.badRequest(problem)
    }
    do {
        return try JSONDecoder().decode(Body.self, from: Data(buffer.readableBytesView))
    } catch let error as DecodingError {
        throw Problem.badRequest("the JSON body is invalid: \(describe(error))")
    } catch let problem as Problem {
        // A body's own rule (a field given null where leaving it out means something else).
        throw problem
    } catch {
        throw Problem.badRequest("the body is not JSON")
    }
}

func describe(_ error: DecodingError) -> String {
    switch error {
    case .keyNotFound(let key, _): "missing field '\(key.stringValue)'"
    case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
        // The decoder's own words can hold the whole value it refused.
        "\(context.codingPath.map(\.stringValue).joined(separator: ".").prefix(200)): \(context.debugDescription.prefix(200))"
    @unknown default: "\(error)"
    }
}

/// The largest `offset` accepted.
let offsetMax = 1_000_000_000

/// A path parameter that may hold any text (a waiver id, a refund request's key), percent-decoded: the router
/// hands it over as sent, so `2026%2Fhardship` names the waiver `2026/hardship`. Text that is not valid percent
/// encoding (a lone `%`) is taken as it is.
func pathParameter(_ context: LedgerRequestContext, _ name: String) throws -> String {
    let raw = try context.parameters.require(name)
    return raw.removingPercentEncoding ?? raw
}

/// `limit` (1 to `pageSizeMax`, default 100) and `offset` (0 to ``offsetMax``, default 0).
func pageParameters(_ request: Request, pageSizeMax: Int) throws -> (Int, Int) {
    let limit = try request.uri.queryParameters["limit"].map { text -> Int in
        guard let value = Int(text), (1...pageSizeMax).contains(value) else { throw Problem.badRequest("limit must be 1 to \(pageSizeMax)") }
        return value
    } ?? 100
    let offset = try request.uri.queryParameters["offset"].map { text -> Int in
        guard let value = Int(text), (0...offsetMax).contains(value) else { throw Problem.badRequest("offset must be 0 to \(offsetMax)") }
        return value
    } ?? 0
    return (limit, offset)
}

/// An RFC 3339 instant within ``LedgerBounds``: 400 for anything not written like one, 422 for one written
/// right that names a day that does not exist (2026-02-30T00:00:00Z).
func instant(_ text: String, field: String) throws -> Date {
    if let instant = LedgerBounds.instant(parsing: text) { return instant }
    if LedgerBounds.namesAMissingDay(text) {
        throw Problem(.unprocessableContent, "invalid-date", title: "Unprocessable Content", detail: "\(field) '\(text.prefix(40))' names a day that does not exist")
    }
    throw Problem.badRequest("\(field) '\(text.prefix(40))' is not an instant like 2026-01-31T12:00:00Z between \(LedgerBounds.earliestDate) and \(LedgerBounds.latestDate)")
}

/// A calendar month from the query (`2026-01`), within ``LedgerBounds``, as its first day; nil when absent,
/// 400 when it is not a month.
func queryMonth(_ request: Request, _ field: String) throws -> LocalDate? {
    guard let text = request.uri.queryParameters[Substring(field)].map(String.init) else { return nil }
    guard text.utf8.count == 7, let first = LocalDate(iso: text + "-01"), LedgerBounds.contains(first) else {
        throw Problem.badRequest("\(field) must be a month like 2026-01, not '\(text.prefix(40))'")
    }
    return first
}

extension LocalDate {
    /// `YYYY-MM`.
    var monthText: String { String(description.prefix(7)) }
}
