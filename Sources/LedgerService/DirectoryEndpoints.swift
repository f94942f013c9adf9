public import Directory
public import EventStore
public import Foundation

/// The event types published to the directory.
public enum DirectoryEventType: String, Sendable, Codable, CaseIterable {
    case visibilityChanged = "listing.visibility_changed"
    case renewalReminderDue = "listing.renewal_reminder_due"
}

/// A directory endpoint as listed; never includes a secret.
public struct DirectoryEndpoint: Sendable, Hashable, Codable {
    public var endpointId: String
    public var url: String
    public var eventTypes: [DirectoryEventType]
    public var enabled: Bool
    public var disabledReason: String?
    /// Whether a rotated-out secret still signs beside the current one.
    public var rotating: Bool
    public var createdAt: Date
}

/// A request about endpoints that cannot be carried out; the message says why.
public struct DirectoryEndpointError: Error, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable {
        case invalidRequest = "invalid-request"
        case notFound = "endpoint-not-found"
        /// A rotation's day of overlap has not ended: another would stop the oldest secret at once.
        case rotating = "rotation-in-progress"
    }

    public let code: Code
    public let description: String
}

/// Adds, lists, disables, re-enables and rotates the secrets of directory endpoints.
public struct DirectoryEndpoints: Sendable {
    public let store: any EventStore
    let now: @Sendable () -> Date
    /// Seals the signing secrets before they are stored.
    let sealer: SecretSealer
    /// Which URLs are accepted.
    let urlPolicy: EndpointURLPolicy

    /// How long a rotated-out secret keeps signing beside the new one.
    public static let rotationOverlapSeconds: Double = 24 * 3600
    /// The longest endpoint URL accepted.
    public static let urlBytesMax = 2_048

    public init(
        store: any EventStore, now: @escaping @Sendable () -> Date, sealer: SecretSealer = .development, urlPolicy: EndpointURLPolicy = .development
    ) {
        self.store = store
        self.now = now
        self.sealer = sealer
        self.urlPolicy = urlPolicy
    }

    /// Adds an endpoint; the returned secret (`whsec_…`) is shown once (it is kept, to sign, but never listed again).
    public func add(url: String, eventTypes: [DirectoryEventType]) async throws -> (endpoint: DirectoryEndpoint, secret: String) {
        guard url.utf8.count <= Self.urlBytesMax, let parsed = URL(string: url), ["https", "http"].contains(parsed.scheme?.lowercased() ?? ""),
              parsed.host?.isEmpty == false else {
            throw DirectoryEndpointError(code: .invalidRequest, description: "the endpoint URL must be an absolute http(s) URL of at most \(Self.urlBytesMax) bytes")
        }
        if let problem = await urlPolicy.problem(with: parsed) {
            throw DirectoryEndpointError(code: .invalidRequest, description: problem)
        }
        let types = eventTypes.isEmpty ? DirectoryEventType.allCases : Array(Set(eventTypes)).sorted { $0.rawValue < $1.rawValue }
        let endpointID = "ep_" + APIKeyStore.randomHex(bytes: 8)
        let secret = WebhookSecret.generate()
        let createdAt = now()
        try await store.withReadModelTransaction { connection in
            try await connection.execute(
                """
                INSERT INTO directory_endpoints (endpoint_id, url, secret, event_types, enabled, created_at_micros)
                VALUES (?, ?, ?, ?, 1, ?)
                """,
                [.text(endpointID), .text(url), .text(try sealer.seal(secret.text, context: endpointID)), .text(types.map(\.rawValue).joined(separator: ",")), .integer(APIKeyStore.micros(createdAt))]
            )
        }
        let endpoint = DirectoryEndpoint(endpointId: endpointID, url: url, eventTypes: types, enabled: true, disabledReason: nil, rotating: false, createdAt: createdAt)
        return (endpoint, secret.text)
    }

    /// Every endpoint, oldest first.
    public func list() async throws -> [DirectoryEndpoint] {
        let instant = APIKeyStore.micros(now())
        return try await store.withReadModelConnection { connection in
            try await connection.query(
                """
                SELECT endpoint_id, url, event_types, enabled, disabled_reason, previous_secret_until_micros, created_at_micros
                FROM directory_endpoints ORDER BY created_at_micros, endpoint_id
                """,
                []
            ).map { row in
                try DirectoryEndpoint(
                    endpointId: row.text(0), url: row.text(1),
                    eventTypes: row.text(2).split(separator: ",").compactMap { DirectoryEventType(rawValue: String($0)) },
                    enabled: row.bool(3), disabledReason: row.optionalText(4), rotating: (row.optionalInteger(5) ?? 0) > instant,
                    createdAt: APIKeyStore.date(micros: row.integer(6))
                )
            }
        }
    }

    /// Stops deliveries to an endpoint (they wait, and go out if it is enabled again).
    public func disable(_ endpointID: String, reason: String) async throws {
        try await update(endpointID, "UPDATE directory_endpoints SET enabled = 0, disabled_reason = ? WHERE endpoint_id = ?", [.text(reason), .text(endpointID)])
    }

    /// Resumes deliveries to an endpoint.
    public func enable(_ endpointID: String) async throws {
        try await update(endpointID, "UPDATE directory_endpoints SET enabled = 1, disabled_reason = NULL WHERE endpoint_id = ?", [.text(endpointID)])
    }

    /// Makes a new secret; the old one keeps signing beside it for a day, so the receiver can switch over.
    /// Another rotation during that day is refused (``DirectoryEndpointError/Code/rotating``): it would stop the
    /// secret the receiver may still hold at once.
    public func rotateSecret(_ endpointID: String) async throws -> String {
        let secret = WebhookSecret.generate()
        let instant = APIKeyStore.micros(now())
        let until = APIKeyStore.micros(now().addingTimeInterval(Self.rotationOverlapSeconds))
        let sealed = try sealer.seal(secret.text, context: endpointID)
        let rotatingUntil: Int64? = try await store.withReadModelTransaction { connection in
            let rows = try await connection.query("SELECT previous_secret_until_micros FROM directory_endpoints WHERE endpoint_id = ?", [.text(endpointID)])
            guard let row = rows.first else { throw DirectoryEndpointError(code: .notFound, description: "no directory endpoint '\(endpointID.prefix(80))'") }
            if let previousUntil = try row.optionalInteger(0), previousUntil > instant { return previousUntil }
            try await connection.execute(
                "UPDATE directory_endpoints SET previous_secret = secret, previous_secret_until_micros = ?, secret = ? WHERE endpoint_id = ?",
                [.integer(until), .text(sealed), .text(endpointID)]
            )
            return nil
        }
        if let rotatingUntil {
            let ends = APIKeyStore.date(micros: rotatingUntil).formatted(.iso8601)
            throw DirectoryEndpointError(
                code: .rotating,
                description: "endpoint '\(endpointID.prefix(80))' is rotating its secret: the previous one signs beside the new one until \(ends); rotate again after that"
            )
        }
        return secret.text
    }

    /// Opens every stored secret, so a wrong `LEDGER_SECRETS_KEY` stops start-up instead of failing every
    /// delivery, and seals the ones stored in clear before sealing existed.
    public func sealStoredSecrets() async throws {
        try await store.withReadModelTransaction { connection in
            let rows = try await connection.query("SELECT endpoint_id, secret, previous_secret FROM directory_endpoints", [])
            for row in rows {
                guard let endpointID = try? row.text(0), let current = try? row.text(1) else {
                    throw SecretSealerError("a directory endpoint row has no id or secret")
                }
                let opened = try sealer.open(current, context: endpointID)
                let storedPrevious = try row.optionalText(2)
                let previous = try storedPrevious.map { try sealer.open($0, context: endpointID) }
                guard !SecretSealer.isSealed(current) || storedPrevious.map({ !SecretSealer.isSealed($0) }) == true else { continue }
                try await connection.execute(
                    "UPDATE directory_endpoints SET secret = ?, previous_secret = ? WHERE endpoint_id = ?",
                    [.text(try sealer.seal(opened, context: endpointID)), .optional(try previous.map { try sealer.seal($0, context: endpointID) }), .text(endpointID)]
                )
            }
        }
    }

    private func update(_ endpointID: String, _ sql: String, _ binds: [SQLValue]) async throws {
        let found = try await store.withReadModelTransaction { connection in
            let exists = try await connection.query("SELECT 1 FROM directory_endpoints WHERE endpoint_id = ?", [.text(endpointID)])
            guard !exists.isEmpty else { return false }
            try await connection.execute(sql, binds)
            return true
        }
        guard found else { throw DirectoryEndpointError(code: .notFound, description: "no directory endpoint '\(endpointID.prefix(80))'") }
    }

    /// The secrets an endpoint's requests are signed with at `instant`: the current one, and a rotated-out
    /// one during its overlap.
    ///
    /// Stored secrets are sealed (``SecretSealer``); one that does not open signs nothing, and a delivery with nothing
    /// to sign it is not sent: it counts as a failed attempt and waits (``WebhookDeliveryClient/send(url:webhookID:body:secrets:now:)``).
    static func signingSecrets(
        endpointID: String, current: String, previous: String?, previousUntilMicros: Int64?, at instant: Date, sealer: SecretSealer
    ) -> [WebhookSecret] {
        var secrets = (try? sealer.open(current, context: endpointID)).flatMap(WebhookSecret.init).map { [$0] } ?? []
        if let previous, let until = previousUntilMicros, until > APIKeyStore.micros(instant),
           let old = (try? sealer.open(previous, context: endpointID)).flatMap(WebhookSecret.init) {
            secrets.append(old)
        }
        return secrets
    }
}
