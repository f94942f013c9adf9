import Foundation

/// Reads PayPal's RFC 3339 timestamps, with or without fractional seconds (`2024-05-02T10:15:30Z`,
/// `2024-05-02T10:15:30.583Z`): PayPal uses both forms, in headers and in events.
enum PayPalTime {
    static func parse(_ text: String) -> Date? {
        guard text.utf8.count <= 64 else { return nil }
        if let date = try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) {
            return date
        }
        return try? Date(text, strategy: Date.ISO8601FormatStyle())
    }
}
