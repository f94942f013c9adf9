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

    /// Returns how many reversals the payments' streams now record. One that cannot be recorded is logged and
    /// left, so the ledger still opens.
    @discardableResult
    func run(logger: Logger) async throws -> Int {
        let check = LogBackfill(store: payments.store, progressStream: Self.progressStream, progressType: "HandReversalsChecked")
        let recorded = try await check.run(metadata: EventMetadata(actor: "system:hand-reversals")) { batch in
            var recorded = 0
            for event in batch where event.type == AllocationReversed.typeName {
                do {
                    guard let profileID = StreamName(event.stream)?.profileID,
                          case .allocationReversed(let reversal)? = try ProfileEvent.decode(typeName: event.type, data: event.data),
                          reversal.byRule != true, reversal.kind != .correction, !Self.isTheRules(reversal)
                    else { continue }
                    // Recorded in the name of whoever made the reversal.
                    if try await record(reversal, for: profileID, metadata: EventMetadata(actor: event.metadata.actor ?? "system:hand-reversals")) {
                        recorded += 1
                    }
                } catch {
                    logger.warning("a reversal by hand could not be recorded on its payment", metadata: [
                        "stream": "\(event.stream)", "event": "\(event.id)", "error": "\(error)",
                    ])
                }
            }
            return recorded
        }
        if recorded > 0 {
            logger.notice("recorded on their payments the reversals by hand recorded on profiles only", metadata: ["recorded": "\(recorded)"])
        }
        return recorded
    }

    /// Whether the payment rules made the reversal: those from before the rules marked their own (`byRule`) carry
    /// the rules' own words.
    static func isTheRules(_ reversal: AllocationReversed) -> Bool {
        switch reversal.kind {
        case .refund: reversal.reason.hasPrefix("refunded: ") && reversal.reason.hasSuffix(" given back")
        case .chargeback: reversal.reason == "the payer disputed the payment and the money was taken back"
        case .bankReturn: reversal.reason.hasPrefix("the bank returned the payment (")
        case .correction: true
        }
    }

    /// Records `reversal` on its payment, unless the payment knows it already or it no longer stands (a dispute
    /// won brought a chargeback back). It gives back what a reversal by hand without an amount gives back now, or
    /// nothing when a refund was reported or asked for before it.
    private func record(_ reversal: AllocationReversed, for profileID: ProfileID, metadata: EventMetadata) async throws -> Bool {
        let outcome = try await payments.commit(inbox: nil, paymentID: reversal.paymentID, metadata: metadata) { payment, now, profileState in
            guard payment.received != nil, payment.givenBackByHand(for: profileID) == nil,
                  let share = payment.listingShares.first(where: { $0.share.profileID == profileID })?.share
            else { return [] }
            let profile = try await profileState(profileID)
            guard let allocation = profile.allocation(of: reversal.paymentID), !allocation.isActiveNow,
                  allocation.reversedAs == reversal.kind, !allocation.reversedByRule
            else { return [] }
            // Reversals by hand had no amount: one made after a refund was reported or asked for took back only the
            // listing (as the README of its time said to do after a partial refund).
            let refundedBefore = payment.refunds.values.contains { $0.occurredAt <= reversal.occurredAt }
                || payment.refundRequests.contains { $0.occurredAt <= reversal.occurredAt }
                || (payment.cumulativeRefundMinorUnits > 0 && (payment.cumulativeRefundAsOf ?? .distantFuture) <= reversal.occurredAt)
            let most = PaymentPipeline.mostGivenBack(payment, share: share, profileID: profileID)
            // Recorded now: what was refunded or asked of the provider until now is other money.
            return [.givenBackByHand(PaymentGivenBackByHand(
                paymentID: reversal.paymentID, profileID: profileID, kind: reversal.kind,
                amount: refundedBefore ? Money(minorUnits: 0, currency: most.currency) : most,
                reportedBeforeMinorUnits: payment.takenOrAskedMinorUnits, restoredDisputesBefore: payment.restoredDisputeCount,
                reason: reversal.reason, occurredAt: now
            ))]
        }
        guard case .recorded(let paymentEvents, _) = outcome else { return false }
        return !paymentEvents.isEmpty
    }
}
