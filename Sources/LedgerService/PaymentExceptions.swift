public import EventStore
public import Foundation
public import LedgerCore

/// The staff exception queue: every payment that was held for staff, and whether it still waits, from the
/// `payment_exceptions` table the payment views keep (``PaymentViewsProjection``).
public struct PaymentExceptions: Sendable {
    let store: any EventStore
    /// The fold that keeps the queue; a list first takes in what the log holds.
    let views: PaymentViewsProjection

    public init(store: any EventStore, views: PaymentViewsProjection) {
        self.store = store
        self.views = views
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

extension PaymentExceptions {
    /// The most rows one page returns.
    public static let pageSizeMax = 500

    /// How many held payments still wait for staff.
    public func waitingCount() async throws -> Int {
        _ = try await ProjectionRunner(store: store, projection: views).catchUp()
        return try await store.withReadModelConnection { connection in
            Int(try await connection.query("SELECT COUNT(*) FROM payment_exceptions WHERE resolved = 0", []).first?.integer(0) ?? 0)
        }
    }

    /// Held payments, oldest first; only those still waiting unless `includeResolved`. First takes in what the log
    /// holds, as the other staff lists do: a payment held a moment ago is in the queue, and after a migration
    /// that emptied the payment views the queue is whole again before it answers.
    ///
    /// `recentFirst` orders them by their latest change instead, newest first (when decided, else when held).
    public func list(includeResolved: Bool, recentFirst: Bool = false, limit: Int, offset: Int) async throws -> [PaymentExceptionRow] {
        _ = try await ProjectionRunner(store: store, projection: views).catchUp()
        let filter = includeResolved ? "" : "WHERE resolved = 0"
        let order = recentFirst ? "COALESCE(resolved_at_micros, raised_at_micros) DESC, payment_id DESC" : "raised_at_micros, payment_id"
        return try await store.withReadModelConnection { connection in
            try await connection.query(
                """
                SELECT payment_id, method, amount_minor_units, currency, purpose, profile_id, reason_code, reason, raised_at_micros, resolved, resolution,
                       suggested_profile_id, details
                FROM payment_exceptions \(filter) ORDER BY \(order) LIMIT ? OFFSET ?
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
