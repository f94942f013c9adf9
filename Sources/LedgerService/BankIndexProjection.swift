public import EventStore
public import Foundation
public import LedgerCore

/// The `bank_payments` read model: each bank payment's payer account, end-to-end id and (once known) profile,
/// for suggesting a profile for a transfer without a reference and for finding what a returned transfer returns.
///
/// A fold: each bank payment's state is kept in `projection_states` and evolved by the events handed over.
public struct BankIndexProjection: Projection {
    public let name = "bank-index"
    let store: any EventStore
    var states: FoldedStates<PaymentState> { FoldedStates(projection: name) }

    /// The projection; `store` serves only the lookups.
    public init(store: any EventStore) {
        self.store = store
    }

    public func reset(_ connection: any ReadModelConnection) async throws {
        try await connection.execute("DELETE FROM bank_payments")
        try await states.reset(connection)
    }

    public func apply(_ events: [RecordedEvent], _ connection: any ReadModelConnection) async throws {
        let folded = try await states.fold(events, following: { StreamName($0)?.paymentID?.method == .bank }, initial: { PaymentState() }, connection) { state, recorded in
            if let event = try PaymentEvent.decode(typeName: recorded.type, data: recorded.data) {
                state.evolve(event)
            }
            state.version = recorded.version
        }
        try await BulkUpsert(
            table: "bank_payments", columns: ["payment_id", "payer_account", "end_to_end_id", "profile_id"],
            onConflict: "ON CONFLICT (payment_id) DO UPDATE SET profile_id = excluded.profile_id"
        ).write(
            folded.compactMap { _, _, state in
                guard let received = state.received else { return nil }
                let shares = state.listingShares.map(\.share.profileID)
                return [
                    .text(received.paymentID.rawValue), .optional(received.payerAccount), .optional(received.endToEndID),
                    .optional(shares.count == 1 ? shares[0].rawValue : nil),
                ]
            },
            connection
        )
    }
}

extension BankIndexProjection {
    /// Every profile earlier transfers from `account` paid for.
    public func profilesPaidFor(account: String) async throws -> Set<ProfileID> {
        try await store.withReadModelConnection { connection in
            Set(try await connection.query(
                "SELECT DISTINCT profile_id FROM bank_payments WHERE payer_account = ? AND profile_id IS NOT NULL", [.text(account)]
            ).compactMap { try? ProfileID(try $0.text(0)) })
        }
    }

    /// The bank payment with this end-to-end id, if exactly one.
    public func payment(endToEndID: String) async throws -> PaymentID? {
        let ids = try await store.withReadModelConnection { connection in
            try await connection.query("SELECT payment_id FROM bank_payments WHERE end_to_end_id = ?", [.text(endToEndID)]).map { try $0.text(0) }
        }
        return ids.count == 1 ? PaymentID(rawValue: ids[0]) : nil
    }
}
