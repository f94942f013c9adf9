public import Directory
public import EventStore
public import Foundation
public import Logging
public import ServiceLifecycle

/// Delivers the outbox to the directory's endpoints: claims due deliveries (a lease, and `FOR UPDATE SKIP
/// LOCKED` on PostgreSQL, so several instances never send one delivery at once), sends each as a signed
/// Standard Webhooks request, and records the outcome. Woken by appends, and by the next retry falling due.
///
/// Per endpoint and profile, a delivery waits while an earlier one for the same profile is still pending, so
/// the directory hears of each profile's changes in log order. A crash between sending and recording leaves
/// the lease to expire and the delivery to be sent again, with the same `webhook-id`.
public struct DirectoryPublisher: Service {
    public let store: any EventStore
    public let outbox: ProjectionRunner
    public let client: WebhookDeliveryClient
    public let policy: DeliveryRetryPolicy
    public let now: @Sendable () -> Date
    public let logger: Logger
    /// Names this instance's claims.
    public let instanceID: String
    /// Opens the stored signing secrets.
    let sealer: SecretSealer

    /// The most deliveries one claim takes (and sends at once).
    static let claimBatchMax = 16
    /// How long a claim holds a delivery: longer than its request may take (twice the time limit, and half a
    /// minute to record the answer; a minute at the default limit of 15 s), so no other instance sends it meanwhile.
    var leaseSeconds: Double { Double(client.requestTimeoutSeconds) * 2 + 30 }
    /// The longest sleep without a wake-up. On PostgreSQL an append can wake the publisher before its event is
    /// visible to readers (they see only what is below the oldest running transaction); this short poll picks
    /// such an event up within a second instead of at the next append.
    public static let idleMaxDefault: Duration = .seconds(1)
    /// This publisher's longest sleep without a wake-up (``idleMaxDefault`` unless configured).
    let idleMax: Duration

    public init(
        store: any EventStore, client: WebhookDeliveryClient, policy: DeliveryRetryPolicy = .standard,
        now: @escaping @Sendable () -> Date, logger: Logger, sealer: SecretSealer = .development, idleMax: Duration = idleMaxDefault
    ) {
        self.idleMax = idleMax
        self.sealer = sealer
        self.store = store
        self.outbox = ProjectionRunner(store: store, projection: DirectoryOutboxProjection(now: now))
        self.client = client
        self.policy = policy
        self.now = now
        self.logger = logger
        self.instanceID = APIKeyStore.randomHex(bytes: 6)
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var follower = AppendFollower(store: store)
            while !Task.isCancelled {
                do {
                    let queued: Int
                    do {
                        queued = try await outbox.catchUp()
                    } catch {
                        if Task.isCancelled { return }
                        // An event the outbox cannot take in holds back what comes after it, not what is queued
                        // already: that is still sent, and the outbox is tried again a while later.
                        logger.error("directory outbox stopped; delivering what is queued", metadata: ["error": "\(error)"])
                        try await deliverDue()
                        try? await Task.sleep(for: .seconds(5))
                        continue
                    }
                    let attempted = try await deliverDue()
                    if queued + attempted > 0 {
                        await follower.foundWork()
                        continue
                    }
                    var wait = idleMax
                    if let next = try await nextAttemptAt() {
                        let seconds = max(0, next.timeIntervalSince(now()))
                        wait = min(wait, .milliseconds(Int64(seconds * 1_000) + 10))
                    }
                    await follower.idle(timeout: wait)
                } catch {
                    if Task.isCancelled { return }
                    logger.error("directory publishing failed; retrying", metadata: ["error": "\(error)"])
                    try? await Task.sleep(for: .seconds(5))
                }
            }
        }
    }

    /// Sends every delivery that is due now; returns how many attempts were made.
    @discardableResult
    public func deliverDue() async throws -> Int {
        var attempted = 0
        while true {
            let claimed = try await claim()
            guard !claimed.isEmpty else { return attempted }
            let client = self.client
            let instant = now()
            let outcomes = await withTaskGroup(of: (ClaimedDelivery, WebhookDeliveryClient.Outcome).self) { group in
                for delivery in claimed {
                    group.addTask {
                        (delivery, await client.send(url: delivery.url, webhookID: delivery.eventID, body: Data(delivery.payload.utf8), secrets: delivery.secrets, now: instant))
                    }
                }
                var outcomes: [(ClaimedDelivery, WebhookDeliveryClient.Outcome)] = []
                for await outcome in group { outcomes.append(outcome) }
                return outcomes
            }
            if Task.isCancelled {
                // Stopping (SIGTERM): a send cut short says nothing of the directory, and this task's own
                // transactions may be refused on the way out. What was answered is recorded, the rest of the
                // claims are given back uncounted, in a task the stop does not cancel, so a restarted or another
                // instance sends them at once instead of after the lease.
                try await Task { try await self.recordAnsweredGivingBackTheRest(outcomes) }.value
                return attempted + outcomes.count { $0.1.wasAnswered }
            }
            for (delivery, outcome) in outcomes {
                try await record(outcome, of: delivery)
            }
            attempted += claimed.count
        }
    }

    /// Records the outcomes the directory answered, and gives back the claims of the others without counting an
    /// attempt (their next attempt is due at once).
    private func recordAnsweredGivingBackTheRest(_ outcomes: [(ClaimedDelivery, WebhookDeliveryClient.Outcome)]) async throws {
        for (delivery, outcome) in outcomes where outcome.wasAnswered {
            try await record(outcome, of: delivery)
        }
        let unanswered = outcomes.filter { !$0.1.wasAnswered }.map(\.0)
        guard !unanswered.isEmpty else { return }
        try await store.withReadModelTransaction { connection in
            for delivery in unanswered {
                try await connection.execute(
                    "UPDATE directory_deliveries SET claimed_until_micros = NULL, claimed_by = NULL WHERE delivery_id = ? AND claimed_by = ?",
                    [.integer(delivery.deliveryID), .text(delivery.claimToken)]
                )
                try await Self.giveBackReplayedLease(of: delivery, connection)
            }
        }
    }

    /// Ends the lease a replay kept for this claim's request in flight (see ``DirectoryQueries/replay(_:)``):
    /// the request has ended, so the replayed delivery may be claimed at once.
    static func giveBackReplayedLease(of delivery: ClaimedDelivery, _ connection: any ReadModelConnection) async throws {
        try await connection.execute(
            "UPDATE directory_deliveries SET claimed_until_micros = NULL, claimed_by = NULL WHERE delivery_id = ? AND claimed_by = ?",
            [.integer(delivery.deliveryID), .text(replayedClaimPrefix + delivery.claimToken)]
        )
    }

    struct ClaimedDelivery: Sendable {
        var deliveryID: Int64
        /// This claim's own token (`claimed_by`): an outcome is recorded only while the claim still stands (a
        /// replay, or a claim made after the lease ran out, ends it).
        var claimToken: String
        var endpointID: String
        var eventID: String
        var payload: String
        var attempts: Int
        var url: String
        var secrets: [WebhookSecret]
    }

    /// Takes up to ``claimBatchMax`` due deliveries whose profile has nothing earlier pending at the same endpoint.
    func claim() async throws -> [ClaimedDelivery] {
        let instant = now()
        let nowMicros = APIKeyStore.micros(instant)
        let leaseMicros = APIKeyStore.micros(instant.addingTimeInterval(leaseSeconds))
        // A token per claim, not per instance: an outcome of an earlier claim of the same row never matches.
        let claimToken = "\(instanceID)-\(APIKeyStore.randomHex(bytes: 8))"
        return try await store.withReadModelTransaction { connection in
            let skipLocked = connection.dialect == .postgres ? " FOR UPDATE OF d SKIP LOCKED" : ""
            let rows = try await connection.query(
                """
                UPDATE directory_deliveries SET claimed_until_micros = ?, claimed_by = ?
                WHERE delivery_id IN (
                    SELECT d.delivery_id FROM directory_deliveries d
                    JOIN directory_endpoints e ON e.endpoint_id = d.endpoint_id
                    WHERE d.status = 'pending' AND e.enabled = 1 AND d.next_attempt_at_micros <= ?
                      AND (d.claimed_until_micros IS NULL OR d.claimed_until_micros < ?)
                      AND \(Self.noEarlierPendingChange)
                    ORDER BY d.commit_order, d.position
                    LIMIT ?\(skipLocked)
                )
                RETURNING delivery_id, endpoint_id, event_id, payload, attempts
                """,
                [.integer(leaseMicros), .text(claimToken), .integer(nowMicros), .integer(nowMicros), .integer(Int64(Self.claimBatchMax))]
            )
            guard !rows.isEmpty else { return [] }
            var endpoints: [String: (url: String, secrets: [WebhookSecret])] = [:]
            for row in try await connection.query(
                "SELECT endpoint_id, url, secret, previous_secret, previous_secret_until_micros FROM directory_endpoints", []
            ) {
                endpoints[try row.text(0)] = (
                    try row.text(1),
                    try DirectoryEndpoints.signingSecrets(
                        endpointID: row.text(0), current: row.text(2), previous: row.optionalText(3), previousUntilMicros: row.optionalInteger(4),
                        at: instant, sealer: sealer
                    )
                )
            }
            return try rows.compactMap { row in
                guard let endpoint = endpoints[try row.text(1)] else { return nil }
                return try ClaimedDelivery(
                    deliveryID: row.integer(0), claimToken: claimToken, endpointID: row.text(1), eventID: row.text(2),
                    payload: row.text(3), attempts: Int(row.integer(4)), url: endpoint.url, secrets: endpoint.secrets
                )
            }
        }
    }

    /// What a replay puts before the token of a claim whose request is in flight: the claim's lease stands, but
    /// no outcome matches it.
    static let replayedClaimPrefix = "replayed:"

    /// Records what the receiver said: delivered, retry later (or dead), or endpoint gone. Only while the
    /// delivery's claim still stands: a replay issued while the request was in flight asked for a send that
    /// starts after it, so the delivery stays pending and is sent again once this sender gives its lease back.
    func record(_ outcome: WebhookDeliveryClient.Outcome, of delivery: ClaimedDelivery) async throws {
        let instant = now()
        let attempts = delivery.attempts + 1
        let claim: [SQLValue] = [.integer(delivery.deliveryID), .text(delivery.claimToken)]
        try await store.withReadModelTransaction { connection in
            // The lease a replay kept is given back after the outcome's statement (at the end): on PostgreSQL
            // that statement waits for a replay of the row in progress, so the statement after it sees the replay.
            switch outcome {
            case .delivered(let status):
                try await connection.execute(
                    """
                    UPDATE directory_deliveries SET status = 'delivered', attempts = ?, last_status = ?, last_error = NULL,
                        delivered_at_micros = ?, claimed_until_micros = NULL, claimed_by = NULL
                    WHERE delivery_id = ? AND claimed_by = ?
                    """,
                    [.integer(Int64(attempts)), .integer(Int64(status)), .integer(APIKeyStore.micros(instant))] + claim
                )
            case .gone:
                // Only while the claim stands: a 410 answered to a claim that ran out must not disable an endpoint
                // staff enabled again since.
                try await connection.execute(
                    """
                    UPDATE directory_endpoints SET enabled = 0, disabled_reason = ? WHERE endpoint_id = ?
                      AND EXISTS (SELECT 1 FROM directory_deliveries WHERE delivery_id = ? AND claimed_by = ?)
                    """,
                    [.text("the receiver answered 410 Gone at \(instant.formatted(.iso8601))"), .text(delivery.endpointID)] + claim
                )
                try await connection.execute(
                    """
                    UPDATE directory_deliveries SET attempts = ?, last_status = 410, last_error = 'endpoint gone',
                        claimed_until_micros = NULL, claimed_by = NULL
                    WHERE delivery_id = ? AND claimed_by = ?
                    """,
                    [.integer(Int64(attempts))] + claim
                )
            case .failed(let status, let retryAfter, let detail):
                let pause = policy.pauseSeconds(afterFailedAttempts: attempts, retryAfterSeconds: retryAfter)
                try await connection.execute(
                    """
                    UPDATE directory_deliveries SET status = ?, attempts = ?, last_status = ?, last_error = ?, next_attempt_at_micros = ?,
                        claimed_until_micros = NULL, claimed_by = NULL
                    WHERE delivery_id = ? AND claimed_by = ?
                    """,
                    [
                        .text(pause == nil ? "dead" : "pending"), .integer(Int64(attempts)), .optional(status.map(Int64.init)),
                        .text(String(detail.prefix(500))), .integer(APIKeyStore.micros(instant.addingTimeInterval(Double(pause ?? 0)))),
                    ] + claim
                )
            }
            try await Self.giveBackReplayedLease(of: delivery, connection)
        }
        if case .failed(_, _, let detail) = outcome {
            logger.warning("directory delivery failed", metadata: ["endpoint": "\(delivery.endpointID)", "event": "\(delivery.eventID)", "attempt": "\(attempts)", "error": "\(detail)"])
        }
    }

    /// The condition on a pending delivery `d` that no earlier change of its profile waits for the same endpoint:
    /// a profile's changes are sent in log order, each after the one before it.
    static let noEarlierPendingChange = """
        NOT EXISTS (
            SELECT 1 FROM directory_deliveries p
            WHERE p.endpoint_id = d.endpoint_id AND p.profile_id = d.profile_id AND p.status = 'pending'
              AND (p.commit_order < d.commit_order OR (p.commit_order = d.commit_order AND p.position < d.position))
        )
        """

    /// When the next pending delivery can be claimed, if any: of each profile's earliest pending change (a later
    /// one waits behind it, however long ago it fell due), when it falls due, or, while an instance holds it,
    /// when that claim runs out. So a change waiting behind one that failed, or one in flight elsewhere, does not
    /// wake the publisher before anything can be sent.
    public func nextAttemptAt() async throws -> Date? {
        try await store.withReadModelConnection { connection in
            try await connection.query(
                """
                SELECT MIN(CASE WHEN d.claimed_until_micros > d.next_attempt_at_micros THEN d.claimed_until_micros ELSE d.next_attempt_at_micros END)
                FROM directory_deliveries d JOIN directory_endpoints e ON e.endpoint_id = d.endpoint_id
                WHERE d.status = 'pending' AND e.enabled = 1
                  AND \(Self.noEarlierPendingChange)
                """,
                []
            ).first.flatMap { try $0.optionalInteger(0) }.map(APIKeyStore.date(micros:))
        }
    }
}

extension WebhookDeliveryClient.Outcome {
    /// Whether the directory answered (any status), as opposed to a send that ended without an answer.
    var wasAnswered: Bool {
        switch self {
        case .delivered, .gone: true
        case .failed(let status, _, _): status != nil
        }
    }
}
