import Foundation
import LedgerCore

/// JSON decoding shared by the provider adapters: errors become messages naming the offending field.
///
/// Webhook bodies are read with LedgerCore's ``CompactJSONDecoder`` (UTF-8, as both providers send it), which
/// reads them about twice as fast as Foundation's decoder and reports the same `DecodingError`s; every card
/// webhook is read twice (its envelope, then its object as its type says).
enum WireJSON {
    /// Decodes `body`; when it does not decode, throws `failure` with a message saying which field is wrong.
    static func decode<Value: Decodable, Failure: Error>(
        _ type: Value.Type,
        from body: Data,
        failure: (String) -> Failure
    ) throws(Failure) -> Value {
        do {
            return try CompactJSONDecoder(dates: .secondsSinceReferenceDate).decode(type, from: body)
        } catch let error as DecodingError {
            throw failure(describe(error))
        } catch {
            throw failure("the body is not JSON")
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        switch error {
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? "the body is not a JSON event object" : "'\(path)' has the wrong type"
        case .keyNotFound(let key, let context):
            let path = (context.codingPath + [key]).map(\.stringValue).joined(separator: ".")
            return "'\(path)' is missing"
        case .dataCorrupted:
            return "the body is not JSON"
        @unknown default:
            return "the body is not a JSON event object"
        }
    }
}

/// Checks that a value is a JSON object without reading it, so unknown event types cost nothing.
struct ObjectPresence: Decodable {
    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init(from decoder: any Decoder) throws {
        _ = try decoder.container(keyedBy: AnyKey.self)
    }
}
