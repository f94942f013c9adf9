import Crypto
public import Foundation

/// Encrypts secrets the service must keep readable (directory endpoints' signing secrets) before they are
/// stored, with AES-256-GCM under the configured key (`LEDGER_SECRETS_KEY`), bound to the row they belong to.
///
/// A stored value is `sealed:v1:` and the base64 of nonce, ciphertext and tag. Values stored before sealing
/// existed (a `whsec_` secret in clear) are still read, and sealed at the next start.
public struct SecretSealer: Sendable {
    private let key: SymmetricKey

    /// The prefix of sealed values.
    static let prefix = "sealed:v1:"
    /// The development key: published, so it protects nothing; production refuses it.
    public static let developmentKeyBase64 = Data("development-only-secrets-key-32b".utf8).base64EncodedString()

    /// A sealer under a base64-encoded 32-byte key; nil when the text is not one.
    public init?(keyBase64: String) {
        guard let bytes = Data(base64Encoded: keyBase64.trimmingCharacters(in: .whitespaces)), bytes.count == 32 else { return nil }
        key = SymmetricKey(data: bytes)
    }

    /// The sealer under the development key.
    public static var development: SecretSealer {
        // The development key is a constant of the right length.
        guard let sealer = SecretSealer(keyBase64: developmentKeyBase64) else { preconditionFailure("the development secrets key is malformed") }
        return sealer
    }

    /// Whether `stored` is sealed (rather than a value kept in clear before sealing existed).
    static func isSealed(_ stored: String) -> Bool { stored.hasPrefix(prefix) }

    /// Seals `secret` for the row named by `context` (so a sealed value copied to another row does not open).
    func seal(_ secret: String, context: String) throws -> String {
        let box = try AES.GCM.seal(Data(secret.utf8), using: key, authenticating: Data(context.utf8))
        guard let combined = box.combined else { throw SecretSealerError("sealing produced no output") }
        return Self.prefix + combined.base64EncodedString()
    }

    /// The secret in `stored`, sealed or kept in clear.
    func open(_ stored: String, context: String) throws -> String {
        guard Self.isSealed(stored) else { return stored }
        guard let combined = Data(base64Encoded: String(stored.dropFirst(Self.prefix.count))) else {
            throw SecretSealerError("a stored secret is damaged")
        }
        do {
            let box = try AES.GCM.SealedBox(combined: combined)
            let opened = try AES.GCM.open(box, using: key, authenticating: Data(context.utf8))
            return String(decoding: opened, as: UTF8.self)
        } catch {
            throw SecretSealerError("a stored secret does not open with LEDGER_SECRETS_KEY: the key differs from the one it was sealed with")
        }
    }
}

/// A secret that cannot be sealed or opened; the message says why.
public struct SecretSealerError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
