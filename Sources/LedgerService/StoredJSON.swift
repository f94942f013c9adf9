import Foundation

/// The one JSON form the service stores and sends for its own records (inbox records, checkouts, directory
/// payloads): sorted keys, unescaped slashes, ISO 8601 instants — so equal values are equal bytes.
enum StoredJSON {
    static func encode(_ value: some Encodable) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        // These records are plain values; encoding them cannot fail.
        return (try? encoder.encode(value)) ?? Data()
    }

    /// The same form, throwing instead of answering empty data when a value cannot be encoded.
    static func encodeChecked(_ value: some Encodable) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return try encoder.encode(value)
    }
}
