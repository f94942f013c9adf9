public import EventStore
public import Foundation
public import LedgerCore

/// Lookups in the `bank_payments` table the payment views keep (``PaymentViewsProjection``): each bank
/// payment's payer account, end-to-end id and (once known) profile.
public struct BankIndex: Sendable {
    let store: any EventStore
    /// The fold that keeps the table, caught up before a statement is booked.
    public let views: PaymentViewsProjection

    public init(store: any EventStore, views: PaymentViewsProjection) {
        self.store = store
        self.views = views
    }
}

extension BankIndex {
    /// Every profile earlier transfers from `account` paid for.
    public func profilesPaidFor(account: String) async throws -> Set<ProfileID> {
        try await store.withReadModelConnection { connection in
            Set(try await connection.query(
                "SELECT DISTINCT profile_id FROM bank_payments WHERE payer_account = ? AND profile_id IS NOT NULL", [.text(account)]
            ).compactMap { try? ProfileID(try $0.text(0)) })
        }
    }

    /// Every bank payment with this end-to-end id.
    public func payments(endToEndID: String) async throws -> Set<PaymentID> {
        let ids = try await store.withReadModelConnection { connection in
            try await connection.query("SELECT payment_id FROM bank_payments WHERE end_to_end_id = ?", [.text(endToEndID)]).map { try $0.text(0) }
        }
        return Set(ids.map { PaymentID(rawValue: $0) })
    }
}
