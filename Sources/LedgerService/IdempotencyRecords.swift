import Crypto
public import EventStore
public import Foundation

/// The first outcome of a request sent with an `Idempotency-Key`, kept so that a retry gets the same
/// answer, whatever happened in between (a restart, a moving clock, a change another request made).
public struct IdempotentOutcome: Sendable, Hashable {
    /// SHA-256 of the request: method, path with query, content type and body.
    public var fingerprint: Data
    public var status: Int
    public var contentType: String
    public var location: String?
    public var body: Data

    public init(fingerprint: Data, status: Int, contentType: String, location: String?, body: Data) {
        self.fingerprint = fingerprint
        self.status = status
        self.contentType = contentType
        self.location = location
        self.body = body
    }

    /// The fingerprint of a request: what makes two requests "the same request".
    public static func fingerprint(method: String, path: String, contentType: String?, body: some Sequence<UInt8>) -> Data {
        var hasher = SHA256()
        hasher.update(data: Data("\(method)\u{0}\(path)\u{0}\(contentType ?? "")\u{0}".utf8))
        hasher.update(data: Data(body))
        return Data(hasher.finalize())
    }
}

/// Stores and finds first outcomes, per caller and key (the `idempotency_records` table).
///
/// Keys are scoped to the API key that sent them, so two clients cannot collide or read each other's
/// answers. Only successful outcomes are kept: a refused request wrote nothing, so running it again is
/// harmless and lets the client correct it.
public struct IdempotencyRecords: Sendable {
    let store: any EventStore
    let now: @Sendable () -> Date

    /// The largest response body kept (larger successful answers are not replayed, only re-run).
    public static let bodyBytesMax = 1_048_576

    public init(store: any EventStore, now: @escaping @Sendable () -> Date) {
        self.store = store
        self.now = now
    }

    /// The outcome first recorded for `key` by `caller`, if any.
    public func find(caller: String, key: String) async throws -> IdempotentOutcome? {
        let rows = try await store.withReadModelConnection { connection in
            try await connection.query(
                "SELECT fingerprint, status, content_type, location, body FROM idempotency_records WHERE caller = ? AND idempotency_key = ?",
                [.text(caller), .text(key)]
            )
        }
        guard let row = rows.first else { return nil }
        guard let fingerprint = try? row.blob(0), let status = try? row.integer(1), let contentType = try? row.text(2), let body = try? row.blob(4) else {
            throw IdempotencyRecordError("the stored outcome of an idempotency key is damaged")
        }
        return IdempotentOutcome(fingerprint: fingerprint, status: Int(status), contentType: contentType, location: try row.optionalText(3), body: body)
    }

    /// Records `outcome` unless another request with the same key got there first, and returns the outcome
    /// that is now on record (the first one).
    public func record(_ outcome: IdempotentOutcome, caller: String, key: String) async throws -> IdempotentOutcome {
        let micros = Int64((now().timeIntervalSince1970 * 1_000_000).rounded())
        try await store.withReadModelTransaction { connection in
            try await connection.execute(
                """
                INSERT INTO idempotency_records (caller, idempotency_key, fingerprint, status, content_type, location, body, created_at_micros)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (caller, idempotency_key) DO NOTHING
                """,
                [.text(caller), .text(key), .blob(outcome.fingerprint), .integer(Int64(outcome.status)), .text(outcome.contentType),
                 .optional(outcome.location), .blob(outcome.body), .integer(micros)]
            )
        }
        return try await find(caller: caller, key: key) ?? outcome
    }
}

/// A stored idempotency outcome that cannot be read back.
public struct IdempotencyRecordError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
