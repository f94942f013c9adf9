public import EventStore
public import Foundation
public import LedgerCore

/// The `payment_exceptions` read model: every payment that was held for staff, and whether it still waits.
/// A held payment stops waiting once it has been given back in full.
///
/// A fold: each payment's state is kept in `projection_states`, with the instant its hold stopped waiting
/// (the recorded time of the event that ended it), so a rebuild writes the same rows as the live service.
public struct PaymentExceptionsProjection: Projection {
    public let name = "payment-exceptions"
    let store: any EventStore
    var states: FoldedStates<HeldPaymentState> { FoldedStates(projection: name) }

    /// A payment's fold and when its hold stopped waiting.
    struct HeldPaymentState: Codable, Sendable {
        var payment = PaymentState()
        var resolvedAt: Date?

        /// How the hold ended, if it did: the staff resolution, or a refund of everything.
        var resolution: String? {
            payment.resolution.map { "\($0.resolution.rawValue): \($0.reason)" } ?? (payment.isFullyRefunded ? "refunded" : nil)
        }
    }

    /// The projection; `store` serves only the queries (``list(includeResolved:limit:offset:)``).
    public init(store: any EventStore) {
        self.store = store
    }

    public func reset(_ connection: any ReadModelConnection) async throws {
        try await connection.execute("DELETE FROM payment_exceptions")
        try await states.reset(connection)
    }

    public func apply(_ events: [RecordedEvent], _ connection: any ReadModelConnection) async throws {
        let folded = try await states.fold(events, following: StreamName.isPayment, initial: { HeldPaymentState() }, connection) { state, recorded in
            if let event = try PaymentEvent.decode(typeName: recorded.type, data: recorded.data) {
                state.payment.evolve(event)
            }
            state.payment.version = recorded.version
            if state.resolvedAt == nil, state.payment.held != nil, state.resolution != nil {
                state.resolvedAt = recorded.recordedAt
            }
            // A reopened resolution puts the payment back in the queue.
            if state.resolution == nil { state.resolvedAt = nil }
        }
        try await Self.rows.write(
            folded.compactMap { folded in StreamName(folded.stream)?.paymentID.flatMap { Self.row($0, folded.state) } }, connection
        )
    }

    /// The `payment_exceptions` row of a payment that was held; nil for one that never was.
    private static func row(_ paymentID: PaymentID, _ state: HeldPaymentState) -> [SQLValue]? {
        guard let held = state.payment.held, let received = state.payment.received else { return nil }
        let resolution = state.resolution
        return [
            .text(paymentID.rawValue), .text(received.method.rawValue), .integer(received.amount.minorUnits), .text(received.amount.currency),
            .text(received.purpose.rawValue), .optional(received.profileID?.rawValue), .text(held.reasonCode.rawValue), .text(held.reason),
            .optional(held.suggestedProfileID?.rawValue), .text("\(received.effectiveDate) \(received.amount): \(received.note)"),
            .integer(ListingProjection.micros(held.occurredAt)), .bool(resolution != nil), .optional(resolution),
            .optional(resolution == nil ? nil : state.resolvedAt.map(ListingProjection.micros)),
        ]
    }

    private static var rows: BulkUpsert {
        BulkUpsert(
            table: "payment_exceptions",
            columns: [
                "payment_id", "method", "amount_minor_units", "currency", "purpose", "profile_id", "reason_code", "reason",
                "suggested_profile_id", "details", "raised_at_micros", "resolved", "resolution", "resolved_at_micros",
            ],
            onConflict: """
            ON CONFLICT (payment_id) DO UPDATE SET resolved = excluded.resolved, resolution = excluded.resolution,
                resolved_at_micros = excluded.resolved_at_micros
            """
        )
    }
}

/// One entry of the staff exception queue.
public struct PaymentExceptionRow: Sendable, Hashable, Codable {
    public var paymentId: String
    public var method: String
    public var amount: String
    public var currency: String
    public var purpose: String?
    public var profileId: String?
    public var reasonCode: String
    public var reason: String
    /// The profile the payment probably belongs to, for staff to confirm.
    public var suggestedProfileId: String?
    /// The payment as it arrived (for a bank transfer: the statement line).
    public var details: String?
    public var raisedAt: Date
    public var resolved: Bool
    public var resolution: String?
}

extension PaymentExceptionsProjection {
    /// The most rows one page returns.
    public static let pageSizeMax = 500

    /// Held payments, oldest first; only those still waiting unless `includeResolved`.
    public func list(includeResolved: Bool, limit: Int, offset: Int) async throws -> [PaymentExceptionRow] {
        let filter = includeResolved ? "" : "WHERE resolved = 0"
        return try await store.withReadModelConnection { connection in
            try await connection.query(
                """
                SELECT payment_id, method, amount_minor_units, currency, purpose, profile_id, reason_code, reason, raised_at_micros, resolved, resolution,
                       suggested_profile_id, details
                FROM payment_exceptions \(filter) ORDER BY raised_at_micros, payment_id LIMIT ? OFFSET ?
                """,
                [.integer(Int64(limit)), .integer(Int64(offset))]
            ).map { row in
                let currency = try row.text(3)
                return try PaymentExceptionRow(
                    paymentId: row.text(0), method: row.text(1),
                    amount: Money(minorUnits: row.integer(2), currency: currency).decimalString, currency: currency,
                    purpose: row.optionalText(4), profileId: row.optionalText(5), reasonCode: row.text(6), reason: row.text(7),
                    suggestedProfileId: row.optionalText(11), details: row.optionalText(12),
                    raisedAt: Date(timeIntervalSince1970: Double(row.integer(8)) / 1_000_000), resolved: row.bool(9),
                    resolution: row.optionalText(10)
                )
            }
        }
    }
}
