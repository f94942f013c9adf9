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
    /// Whether the body carries a secret shown once (a directory endpoint's signing secret): it is then stored
    /// sealed under `LEDGER_SECRETS_KEY`, as the secret itself is, never in clear.
    public var carriesSecret: Bool

    public init(fingerprint: Data, status: Int, contentType: String, location: String?, body: Data, carriesSecret: Bool = false) {
        self.fingerprint = fingerprint
        self.status = status
        self.contentType = contentType
        self.location = location
        self.body = body
        self.carriesSecret = carriesSecret
    }

    /// The fingerprint of a request: what makes two requests "the same request".
    public static func fingerprint(method: String, path: String, contentType: String?, body: some Sequence<UInt8>) -> Data {
        var hasher = SHA256()
        hasher.update(data: Data("\(method)\u{0}\(path)\u{0}\(contentType ?? "")\u{0}".utf8))
        hasher.update(data: Data(body))
        return Data(hasher.finalize())
    }
}

/// Stores and finds first outcomes, per caller and key (the `idempotency_records` table); while a request
/// is being answered, its key is claimed, so the same key sent again at once does not run twice.
///
/// Keys are scoped to the API key that sent them, so two clients cannot collide or read each other's
/// answers. Only successful outcomes are kept: a refused request wrote nothing, so running it again is
/// harmless and lets the client correct it.
public struct IdempotencyRecords: Sendable {
    let store: any EventStore
    let now: @Sendable () -> Date
    /// Seals the bodies of outcomes that carry a secret.
    let sealer: SecretSealer

    /// The largest response body kept (larger successful answers are not replayed, only re-run).
    public static let bodyBytesMax = 1_048_576

    /// How often a request still running renews its claim, well within ``claimSeconds``, so a long request (a
    /// large statement booked) keeps its key however long it runs and only a stopped instance's claim lapses.
    let renewEvery: Duration

    public init(store: any EventStore, now: @escaping @Sendable () -> Date, sealer: SecretSealer, renewEvery: Duration = .seconds(claimSeconds / 4)) {
        self.store = store
        self.now = now
        self.sealer = sealer
        self.renewEvery = renewEvery
    }

    /// What binds a sealed body to its row: a sealed body copied to another caller's or key's row does not open.
    private static func sealingContext(caller: String, key: String) -> String { "idempotency \(caller) \(key)" }

    /// The body as stored: sealed when the outcome carries a secret (`sealed:v1:…`; no answer of the service
    /// starts so, JSON or text, so a body in clear is never taken for one).
    func storedBody(_ outcome: IdempotentOutcome, caller: String, key: String) throws -> Data {
        guard outcome.carriesSecret else { return outcome.body }
        return Data(try sealer.seal(String(decoding: outcome.body, as: UTF8.self), context: Self.sealingContext(caller: caller, key: key)).utf8)
    }

    /// A stored body as answered, and whether it was sealed.
    func answeredBody(_ stored: Data, caller: String, key: String) throws -> (body: Data, sealed: Bool) {
        guard stored.starts(with: Data(SecretSealer.prefix.utf8)) else { return (stored, false) }
        return (Data(try sealer.open(String(decoding: stored, as: UTF8.self), context: Self.sealingContext(caller: caller, key: key)).utf8), true)
    }

    /// How long a claim lasts since it was made or last renewed before another request with the same key may take
    /// it over: a request renews its claim while it runs (``renewEvery``), so only a claim of a request whose
    /// instance stopped mid-way lapses.
    public static let claimSeconds: Int64 = 120

    /// The `status` of a key claimed by a request still being answered (its `body` is the claim's token).
    static let claimedStatus: Int64 = 0

    /// What a request with an `Idempotency-Key` finds when it claims the key.
    public enum Claim: Sendable, Hashable {
        /// The key is this request's to answer; `token` completes or releases it.
        case claimed(token: Data)
        /// An earlier request with the key was answered this way.
        case answered(IdempotentOutcome)
        /// Another request with the key, of this fingerprint, is being answered now.
        case inProgress(fingerprint: Data)
    }

    /// Claims `key` for a request of `fingerprint` before it runs, so two requests sent at once with the same
    /// key cannot both run: the first claims it, the other finds it in progress (or, once answered, gets that
    /// answer). A claim older than ``claimSeconds`` belongs to a request that will not finish, and is taken over.
    public func claim(caller: String, key: String, fingerprint: Data) async throws -> Claim {
        let token = Data(SymmetricKey(size: .bits128).withUnsafeBytes { Array($0) })
        let micros = Self.micros(now())
        try await store.withReadModelTransaction { connection in
            try await connection.execute(
                """
                INSERT INTO idempotency_records (caller, idempotency_key, fingerprint, status, content_type, location, body, created_at_micros)
                VALUES (?, ?, ?, ?, '', NULL, ?, ?) ON CONFLICT (caller, idempotency_key) DO NOTHING
                """,
                [.text(caller), .text(key), .blob(fingerprint), .integer(Self.claimedStatus), .blob(token), .integer(micros)]
            )
            try await connection.execute(
                """
                UPDATE idempotency_records SET fingerprint = ?, body = ?, created_at_micros = ?
                WHERE caller = ? AND idempotency_key = ? AND status = ? AND created_at_micros < ?
                """,
                [.blob(fingerprint), .blob(token), .integer(micros), .text(caller), .text(key), .integer(Self.claimedStatus),
                 .integer(micros - Self.claimSeconds * 1_000_000)]
            )
        }
        switch try await find(caller: caller, key: key) {
        case .answered(let outcome)?: return .answered(outcome)
        case .claimed(let holder, let claimedFingerprint)?: return holder == token ? .claimed(token: token) : .inProgress(fingerprint: claimedFingerprint)
        case nil: throw IdempotencyRecordError("an idempotency key's claim was not found after it was written")
        }
    }

    /// Records the outcome of the request that holds `token`, and returns the outcome now on record (the
    /// request's own, or, had its claim been taken over and answered meanwhile, that one).
    public func complete(_ outcome: IdempotentOutcome, caller: String, key: String, token: Data) async throws -> IdempotentOutcome {
        let micros = Self.micros(now())
        try await store.withReadModelTransaction { connection in
            try await connection.execute(
                """
                UPDATE idempotency_records SET fingerprint = ?, status = ?, content_type = ?, location = ?, body = ?, created_at_micros = ?
                WHERE caller = ? AND idempotency_key = ? AND status = ? AND body = ?
                """,
                [.blob(outcome.fingerprint), .integer(Int64(outcome.status)), .text(outcome.contentType), .optional(outcome.location),
                 .blob(try storedBody(outcome, caller: caller, key: key)), .integer(micros), .text(caller), .text(key), .integer(Self.claimedStatus), .blob(token)]
            )
        }
        guard case .answered(let recorded)? = try await find(caller: caller, key: key) else { return outcome }
        return recorded
    }

    /// Stamps the claim `token` holds with the time now, so it lasts another ``claimSeconds``.
    func renew(caller: String, key: String, token: Data) async throws {
        let micros = Self.micros(now())
        try await store.withReadModelTransaction { connection in
            try await connection.execute(
                "UPDATE idempotency_records SET created_at_micros = ? WHERE caller = ? AND idempotency_key = ? AND status = ? AND body = ?",
                [.integer(micros), .text(caller), .text(key), .integer(Self.claimedStatus), .blob(token)]
            )
        }
    }

    /// Gives up the claim `token` holds (the request was refused or failed): the key is free for a corrected
    /// request.
    public func release(caller: String, key: String, token: Data) async throws {
        try await store.withReadModelTransaction { connection in
            try await connection.execute(
                "DELETE FROM idempotency_records WHERE caller = ? AND idempotency_key = ? AND status = ? AND body = ?",
                [.text(caller), .text(key), .integer(Self.claimedStatus), .blob(token)]
            )
        }
    }

    /// Runs a request under the claim `token` holds, the steps every holder of a claimed key takes: `body`
    /// answers the request and says what to keep for the key (nil keeps nothing and frees the key, as a
    /// refused request does); a `body` that throws frees the key too. Returns the answer and the outcome now on
    /// record for the key: the one kept, or, had the claim lapsed and a retry been answered meanwhile, that one.
    ///
    /// Once `body` has run, its answer is returned whatever happens to the record: should the key not be freed
    /// or the outcome not be kept (the database failing at that moment), `storeFailed` is told, the recorded
    /// outcome is nil, and the claim lapses after ``claimSeconds``. The work is done; the caller still sees what it
    /// did (a new API key's secret, shown once, among it).
    public func run<Answer>(
        caller: String, key: String, token: Data, storeFailed: (any Error) -> Void,
        _ body: () async throws -> (answer: Answer, keep: IdempotentOutcome?)
    ) async throws -> (answer: Answer, recorded: IdempotentOutcome?) {
        let done: (answer: Answer, keep: IdempotentOutcome?)
        let renewal = Task { [self] in
            while true {
                try await Task.sleep(for: renewEvery)
                // A renewal that fails is tried again at the next; the claim lasts ``claimSeconds`` meanwhile.
                try? await renew(caller: caller, key: key, token: token)
            }
        }
        defer { renewal.cancel() }
        do {
            done = try await body()
            renewal.cancel()
        } catch {
            renewal.cancel()
            do {
                try await release(caller: caller, key: key, token: token)
            } catch let releaseError {
                storeFailed(releaseError)
            }
            throw error
        }
        do {
            guard let keep = done.keep else {
                try await release(caller: caller, key: key, token: token)
                return (done.answer, nil)
            }
            return (done.answer, try await complete(keep, caller: caller, key: key, token: token))
        } catch {
            storeFailed(error)
            return (done.answer, nil)
        }
    }

    enum Record {
        case answered(IdempotentOutcome)
        case claimed(token: Data, fingerprint: Data)
    }

    func find(caller: String, key: String) async throws -> Record? {
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
        if status == Self.claimedStatus { return .claimed(token: body, fingerprint: fingerprint) }
        // Replayed as a response, which must carry an HTTP status.
        guard (100...599).contains(status) else { throw IdempotencyRecordError("the stored outcome of an idempotency key is damaged") }
        let answered = try answeredBody(body, caller: caller, key: key)
        return .answered(IdempotentOutcome(
            fingerprint: fingerprint, status: Int(status), contentType: contentType, location: try row.optionalText(3), body: answered.body,
            carriesSecret: answered.sealed
        ))
    }

    static func micros(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1_000_000).rounded())
    }
}

/// A stored idempotency outcome that cannot be read back.
public struct IdempotencyRecordError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}
