import Crypto
public import EventStore
public import Foundation

/// The PayPal transmissions verified so far, by transmission id, with a hash of their bodies
/// (`paypal_transmissions`). PayPal's signature covers only a CRC-32 of the body, which anyone holding one
/// signed delivery can match with another body; a transmission id that comes back with another body is
/// therefore refused before its signature is even checked.
public struct PayPalTransmissions: Sendable {
    let store: any EventStore
    let now: @Sendable () -> Date

    public init(store: any EventStore, now: @escaping @Sendable () -> Date) {
        self.store = store
        self.now = now
    }

    /// SHA-256 of a body.
    static func hash(_ body: Data) -> Data { Data(SHA256.hash(data: body)) }

    /// Whether `transmissionID` was verified before with a body other than `body`.
    public func wasSeenWithAnotherBody(_ transmissionID: String, body: Data) async throws -> Bool {
        let rows = try await store.withReadModelConnection { connection in
            try await connection.query("SELECT body_sha256 FROM paypal_transmissions WHERE transmission_id = ?", [.text(transmissionID)])
        }
        guard let row = rows.first else { return false }
        return try row.blob(0) != Self.hash(body)
    }

    /// Records a verified transmission (the first body wins).
    public func record(_ transmissionID: String, body: Data) async throws {
        let micros = Int64((now().timeIntervalSince1970 * 1_000_000).rounded())
        try await store.withReadModelTransaction { connection in
            try await connection.execute(
                "INSERT INTO paypal_transmissions (transmission_id, body_sha256, seen_at_micros) VALUES (?, ?, ?) ON CONFLICT (transmission_id) DO NOTHING",
                [.text(transmissionID), .blob(Self.hash(body)), .integer(micros)]
            )
        }
    }
}
