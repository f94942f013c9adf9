public import EventStore
public import Foundation
public import LedgerCore

/// The `bank_payments` read model: each bank payment's payer account, end-to-end id and (once known) profile,
/// for suggesting a profile for a transfer without a reference and for finding what a returned transfer returns.
public struct BankIndexProjection: Projection {
    public let name = "bank-index"
    public let pipeline: PaymentPipeline

    public init(pipeline: PaymentPipeline) {
        self.pipeline = pipeline
    }

    public func reset(_ connection: any ReadModelConnection) async throws {
        try await connection.execute("DELETE FROM bank_payments")
    }

    public func apply(_ events: [RecordedEvent], _ connection: any ReadModelConnection) async throws {
        var touched: [String] = []
        for event in events where event.stream.hasPrefix("payment-bank-") && !touched.contains(event.stream) {
            touched.append(event.stream)
        }
        for stream in touched {
            let state = try await pipeline.loadPayment(PaymentID(rawValue: String(stream.dropFirst("payment-".count))))
            guard let received = state.received else { continue }
            let shares = state.listingShares.map(\.share.profileID)
            try await connection.execute(
                """
                INSERT INTO bank_payments (payment_id, payer_account, end_to_end_id, profile_id) VALUES (?, ?, ?, ?)
                ON CONFLICT (payment_id) DO UPDATE SET profile_id = excluded.profile_id
                """,
                [
                    .text(received.paymentID.rawValue), .optional(received.payerAccount), .optional(received.endToEndID),
                    .optional(shares.count == 1 ? shares[0].rawValue : nil),
                ]
            )
        }
    }
}

extension BankIndexProjection {
    /// The one profile earlier transfers from `account` paid for, if exactly one.
    public func suggestedProfile(forAccount account: String) async throws -> ProfileID? {
        let profiles = try await pipeline.store.withReadModelConnection { connection in
            try await connection.query(
                "SELECT DISTINCT profile_id FROM bank_payments WHERE payer_account = ? AND profile_id IS NOT NULL", [.text(account)]
            ).compactMap { $0[0].text }
        }
        guard profiles.count == 1 else { return nil }
        return try? ProfileID(profiles[0])
    }

    /// The bank payment with this end-to-end id, if exactly one.
    public func payment(endToEndID: String) async throws -> PaymentID? {
        let ids = try await pipeline.store.withReadModelConnection { connection in
            try await connection.query("SELECT payment_id FROM bank_payments WHERE end_to_end_id = ?", [.text(endToEndID)]).compactMap { $0[0].text }
        }
        return ids.count == 1 ? PaymentID(rawValue: ids[0]) : nil
    }
}
