import Crypto
import Foundation

/// The identity of an event's content, used to tell a true replay from an id reused for something else.
///
/// Metadata is left out on purpose: a retried request carries a new request id but the same facts.
enum ContentHash {
    static func of(_ event: NewEvent, stream: String) -> Data {
        var hasher = SHA256()
        for field in [stream, event.type, String(event.schemaVersion)] {
            hasher.update(data: Data(field.utf8))
            hasher.update(data: Data([0]))
        }
        hasher.update(data: event.data)
        return Data(hasher.finalize())
    }
}

extension EventMetadata {
    /// The stored form of metadata: compact JSON with sorted keys, the same bytes `JSONEncoder` with
    /// `.sortedKeys` writes. Written by hand because it runs on every append (a `JSONEncoder` per event was
    /// a measurable share of an append's CPU time).
    func encoded() -> Data {
        var json = "{"
        var first = true
        let fields = [
            ("actor", actor), ("causationID", causationID), ("commandDigest", commandDigest), ("correlationID", correlationID), ("requestID", requestID),
        ]
        for (key, value) in fields {
            guard let value else { continue }
            if !first { json += "," }
            first = false
            json += "\"\(key)\":"
            Self.appendQuoted(value, to: &json)
        }
        json += "}"
        return Data(json.utf8)
    }

    /// Appends `value` as a JSON string literal.
    static func appendQuoted(_ value: String, to json: inout String) {
        json += "\""
        // Most values (actors, request ids) need no escaping and are appended whole.
        guard value.utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) else {
            json += value
            json += "\""
            return
        }
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": json += "\\\""
            case "\\": json += "\\\\"
            case "\n": json += "\\n"
            case "\r": json += "\\r"
            case "\t": json += "\\t"
            case "\u{08}": json += "\\b"
            case "\u{0C}": json += "\\f"
            case _ where scalar.value < 0x20:
                json += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16)
            default: json.unicodeScalars.append(scalar)
            }
        }
        json += "\""
    }

    /// Decodes stored metadata; unreadable metadata reads as empty rather than failing a replay.
    static func decoded(from data: Data) -> EventMetadata {
        (try? JSONDecoder().decode(EventMetadata.self, from: data)) ?? EventMetadata()
    }
}
