import Foundation
import LedgerCore

/// The one JSON form the service stores and sends for its own records (inbox records, checkouts, directory
/// payloads): sorted keys, unescaped slashes, ISO 8601 instants — so equal values are equal bytes. Written by
/// ``CompactJSONEncoder``, the same bytes as Foundation's `JSONEncoder` with those options.
enum StoredJSON {
    static let encoder = CompactJSONEncoder(dates: .iso8601)

    /// Throws rather than answering empty data when a value cannot be encoded (a record is never empty).
    static func encode(_ value: some Encodable) throws -> Data {
        try encoder.encode(value)
    }
}
