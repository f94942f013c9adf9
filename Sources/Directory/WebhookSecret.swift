public import Foundation

/// A Standard Webhooks signing secret: `whsec_` followed by the base64 of 24 to 64 random bytes, which are
/// the HMAC key (the text is decoded before use).
public struct WebhookSecret: Sendable, Hashable, CustomStringConvertible {
    /// The prefix every secret carries.
    public static let prefix = "whsec_"
    /// Key sizes the scheme allows, in bytes.
    public static let keyBytesRange = 24...64
    /// The size of the secrets we generate.
    public static let generatedKeyBytes = 32

    /// The secret as shown once to the directory's operator.
    public let text: String
    /// The HMAC key.
    public let key: Data

    /// Reads `whsec_<base64>`; nil unless the key decodes to 24 to 64 bytes.
    public init?(_ text: String) {
        guard text.hasPrefix(Self.prefix), let key = Data(base64Encoded: String(text.dropFirst(Self.prefix.count))),
              Self.keyBytesRange.contains(key.count) else { return nil }
        self.text = text
        self.key = key
    }

    /// A new secret from the system's random number generator.
    public static func generate() -> WebhookSecret {
        var generator = SystemRandomNumberGenerator()
        let key = Data((0..<generatedKeyBytes).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
        // A freshly encoded key of an allowed size always reads back.
        return WebhookSecret(prefix + key.base64EncodedString())!
    }

    /// Never prints the key.
    public var description: String { "whsec_…" }
}
