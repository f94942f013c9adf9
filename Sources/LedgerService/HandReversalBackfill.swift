import EventStore
import Foundation
import LedgerCore
import Logging

/// Reversals by hand that only the profile's stream records (made by a version from before the payment's stream
/// recorded them too): each still standing gets its ``PaymentGivenBackByHand`` once, so the books and receipts
/// take the money back. Its progress is the `hand-reversals-checked` stream (``LogBackfill``).
struct HandReversalBackfill {
    let payments: PaymentPipeline

    static let progressStream = StreamName.handReversalsChecked.description

    /// Returns how many reversals the payments' streams now record.
    @discardableResult
    func run(logger: Logger) async throws -> Int {
        let metadata = EventMetadata(actor: "system:hand-reversals")
        let check = LogBackfill(store: payments.store, progressStream: Self.progressStream, progressType: "HandReversalsChecked")
        let recorded = try await check.run(metadata: metadata) { batch in
            var recorded = 0
            for event in batch where event.type == AllocationReversed.typeName {
                guard let profileID = StreamName(event.stream)?.profileID,
                      case .allocationReversed(let reversal)? = try ProfileEvent.decode(typeName: event.type, data: event.data),
                      reversal.byRule != true, reversal.kind != .correction
                else { continue }
                if try await record(reversal, for: profileID, metadata: metadata) { recorded += 1 }
            }
            return recorded
        }
        if recorded > 0 {
            logger.notice("recorded on their payments the reversals by hand recorded on profiles only", metadata: ["recorded": "\(recorded)"])
        }
        return recorded
    }

    /// Records `reversal` on its payment, unless the payment knows it already, a report of the provider or bank
    /// took the payment back (a reversal from before the rules marked their own, or one the report covers), or it
    /// no longer stands (a dispute won brought a chargeback back).
    private func record(_ reversal: AllocationReversed, for profileID: ProfileID, metadata: EventMetadata) async throws -> Bool {
        let outcome = try await payments.commit(inbox: nil, paymentID: reversal.paymentID, metadata: metadata) { payment, _, profileState in
            guard payment.received != nil, payment.reversal == nil, payment.givenBackByHand(for: profileID) == nil,
                  payment.listingShares.contains(where: { $0.share.profileID == profileID })
            else { return [] }
            let profile = try await profileState(profileID)
            guard let allocation = profile.allocation(of: reversal.paymentID), !allocation.isActiveNow,
                  allocation.reversedAs == reversal.kind, !allocation.reversedByRule
            else { return [] }
            return [.givenBackByHand(PaymentGivenBackByHand(
                paymentID: reversal.paymentID, profileID: profileID, kind: reversal.kind, amount: allocation.event.amount,
                reason: reversal.reason, occurredAt: reversal.occurredAt
            ))]
        }
        guard case .recorded(let paymentEvents, _) = outcome else { return false }
        return !paymentEvents.isEmpty
    }
}
