import Crypto
public import EventStore
public import Foundation

/// Who a client is: the role decides which route groups it may call.
public enum APIRole: String, Sendable, Codable, CaseIterable {
    case staff, website, directory
}

/// An API key as listed; never includes the secret.
public struct APIKeyRecord: Sendable, Hashable, Codable {
    public var keyID: String
    public var name: String
    public var role: APIRole
    public var createdAt: Date
    public var revokedAt: Date?
}

/// A freshly created key: the only time its full text exists outside the client.
public struct CreatedAPIKey: Sendable {
    public var record: APIKeyRecord
    /// `llk_<key id>_<secret>`: give this to the client.
    public var key: String
}

/// An authenticated caller.
public struct APICaller: Sendable, Hashable {
    public var keyID: String
    public var name: String
    public var role: APIRole

    public init(keyID: String, name: String, role: APIRole) {
        self.keyID = keyID
        self.name = name
        self.role = role
    }

    /// How the caller appears in event metadata.
    public var actor: String { "\(role.rawValue):\(name)" }
}

/// Creates, lists, revokes and checks API keys.
///
/// A key is `llk_<key id>_<secret>`. The key id finds the row; the secret is checked against
/// HMAC-SHA256(pepper, secret) in constant time. Secrets are 32 random bytes, so a fast hash is enough; the
/// pepper keeps a stolen database copy from being used to test guesses offline.
public struct APIKeyStore: Sendable {
    public let store: any EventStore
    private let pepper: SymmetricKey
    private let now: @Sendable () -> Date

    /// The longest key name accepted.
    public static let nameBytesMax = 100

    public init(store: any EventStore, pepper: String, now: @escaping @Sendable () -> Date = { Date() }) {
        self.store = store
        self.pepper = SymmetricKey(data: Data(pepper.utf8))
        self.now = now
    }

    /// Creates a key; the returned text is shown once and never stored.
    public func create(name: String, role: APIRole) async throws -> CreatedAPIKey {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty, trimmed.utf8.count <= Self.nameBytesMax else {
            throw APIKeyError("a key needs a name of 1 to \(Self.nameBytesMax) bytes")
        }
        // Hex, so a key id never starts with '-' (which a command line would take for an option).
        let keyID = Self.randomHex(bytes: 9)
        let secret = Self.randomToken(bytes: 32)
        let createdAt = now()
        let hash = hash(secret)
        try await store.withReadModelTransaction { connection in
            try await connection.execute(
                "INSERT INTO api_keys (key_id, name, role, secret_hash, created_at_micros) VALUES (?, ?, ?, ?, ?)",
                [.text(keyID), .text(trimmed), .text(role.rawValue), .blob(hash), .integer(Self.micros(createdAt))]
            )
        }
        let record = APIKeyRecord(keyID: keyID, name: trimmed, role: role, createdAt: createdAt, revokedAt: nil)
        return CreatedAPIKey(record: record, key: "llk_\(keyID)_\(secret)")
    }

    /// A stored role; one this build does not know is a defect in the row, not a website key.
    static func role(_ text: String) throws -> APIRole {
        guard let role = APIRole(rawValue: text) else { throw EventStoreError(.unexpectedRow, "api_keys holds the unknown role '\(text.prefix(40))'") }
        return role
    }

    /// Every key, newest first, revoked ones included.
    public func list() async throws -> [APIKeyRecord] {
        try await store.withReadModelConnection { connection in
            try await connection.query(
                "SELECT key_id, name, role, created_at_micros, revoked_at_micros FROM api_keys ORDER BY created_at_micros DESC, key_id",
                []
            ).map { row in
                try APIKeyRecord(
                    keyID: row.text(0), name: row.text(1), role: Self.role(row.text(2)),
                    createdAt: Self.date(micros: row.integer(3)), revokedAt: row.optionalInteger(4).map(Self.date(micros:))
                )
            }
        }
    }

    /// Revokes a key; revoking it again changes nothing. Returns false if no such key exists.
    @discardableResult
    public func revoke(keyID: String) async throws -> Bool {
        let revokedAt = Self.micros(now())
        return try await store.withReadModelTransaction { connection in
            let rows = try await connection.query("SELECT revoked_at_micros FROM api_keys WHERE key_id = ?", [.text(keyID)])
            guard let row = rows.first else { return false }
            if row[0].isNull {
                try await connection.execute(
                    "UPDATE api_keys SET revoked_at_micros = ? WHERE key_id = ?", [.integer(revokedAt), .text(keyID)]
                )
            }
            return true
        }
    }

    /// The caller a presented key belongs to, or nil if the key is malformed, unknown, revoked or wrong.
    public func authenticate(_ presented: String) async throws -> APICaller? {
        let parts = presented.split(separator: "_", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "llk", parts[1].count <= 32, parts[2].count <= 128 else { return nil }
        let keyID = String(parts[1])
        let rows = try await store.withReadModelConnection { connection in
            try await connection.query(
                "SELECT name, role, secret_hash FROM api_keys WHERE key_id = ? AND revoked_at_micros IS NULL", [.text(keyID)]
            )
        }
        guard let row = rows.first, let storedHash = try? row.blob(2), let role = APIRole(rawValue: (try? row.text(1)) ?? "") else {
            return nil
        }
        guard HMAC<SHA256>.isValidAuthenticationCode(storedHash, authenticating: Data(parts[2].utf8), using: pepper) else {
            return nil
        }
        return APICaller(keyID: keyID, name: try row.text(0), role: role)
    }

    private func hash(_ secret: String) -> Data {
        Data(HMAC<SHA256>.authenticationCode(for: Data(secret.utf8), using: pepper))
    }

    /// URL-safe base64 of random bytes, without padding.
    public static func randomToken(bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        let data = Data((0..<bytes).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
        return data.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Lowercase hex of random bytes.
    static func randomHex(bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<bytes).map { _ in
            let byte = UInt8.random(in: .min ... .max, using: &generator)
            return String(byte >> 4, radix: 16) + String(byte & 0x0F, radix: 16)
        }.joined()
    }

    static func micros(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1_000_000).rounded()) }
    static func date(micros: Int64) -> Date { Date(timeIntervalSince1970: Double(micros) / 1_000_000) }
}

/// A request about API keys that cannot be carried out; the message says why.
public struct APIKeyError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
