import Foundation

/// The one JSON form the service stores and sends for its own records (inbox records, checkouts, directory
/// payloads): sorted keys, unescaped slashes, ISO 8601 instants — so equal values are equal bytes.
enum StoredJSON {
    /// Throws rather than answering empty data when a value cannot be encoded (a record is never empty).
    static func encode(_ value: some Encodable) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return try encoder.encode(value)
    }
}
