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
    /// The stored form of metadata: compact JSON with sorted keys.
    func encoded() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Encoding a struct of optional strings cannot fail.
        return (try? encoder.encode(self)) ?? Data("{}".utf8)
    }

    /// Decodes stored metadata; unreadable metadata reads as empty rather than failing a replay.
    static func decoded(from data: Data) -> EventMetadata {
        (try? JSONDecoder().decode(EventMetadata.self, from: data)) ?? EventMetadata()
    }
}
