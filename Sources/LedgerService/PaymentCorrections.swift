public import EventStore
public import Foundation
public import LedgerCore

/// Staff correcting their own mistakes. Each correction is a new event in the payment's stream, with a
/// reason and the person as actor, appended with the allocation changes it causes in one transaction: nothing
/// is edited or deleted, and both profiles' timelines say what happened.
extension PaymentPipeline {
    /// Voids an offline payment entered by mistake: no money moved, so it is a correction, not a refund. What
    /// it bought is taken back. Voiding a voided payment changes nothing.
    public func void(paymentID: PaymentID, reason: String, metadata: EventMetadata) async throws -> Outcome {
        let reason = try Self.correctionReason(reason)
        return try await commit(inbox: nil, paymentID: paymentID, metadata: metadata) { payment, now, _ in
            let received = try Self.received(payment, paymentID)
            guard received.method == .offline else {
                throw PaymentServiceError(
                    code: .notCorrectable,
                    description: "only a payment staff recorded by hand can be voided; '\(paymentID)' came by \(received.method.rawValue): refund it instead"
                )
            }
            guard payment.voided == nil else { return [] }
            if let given = payment.givenBackByHandWithMoney {
                throw PaymentServiceError(
                    code: .notCorrectable,
                    description: "payment '\(paymentID)' was given back (\(given.kind.rawValue), recorded by hand for \(given.profileID)); it cannot be voided"
                )
            }
            return [.voided(PaymentVoided(paymentID: paymentID, reason: reason, occurredAt: now))]
        }
    }

    /// Moves what the payment pays for from one profile to another (allocated to the wrong mediator): `from`'s
    /// allocation is taken back and `to` gets it, in one transaction. With `amount`, only that part moves:
    /// `from` is allocated the rest anew, and `to` gets the part as an ordinary payment (credit if it buys no
    /// whole period).
    public func reassign(
        paymentID: PaymentID, from: ProfileID, to: ProfileID, amount: Money? = nil, reason: String, metadata: EventMetadata
    ) async throws -> Outcome {
        let reason = try Self.correctionReason(reason)
        guard from != to else { throw PaymentServiceError(code: .invalidRequest, description: "the payment would move from \(from) to itself") }
        return try await commit(inbox: nil, paymentID: paymentID, metadata: metadata) { payment, now, profileState in
            _ = try Self.received(payment, paymentID)
            let profiles = payment.listingShares.map(\.share.profileID)
            guard payment.reversal == nil else {
                throw PaymentServiceError(code: .notCorrectable, description: "payment '\(paymentID)' was taken back (\(payment.reversal?.rawValue ?? "")); it pays for nobody to move")
            }
            guard profiles.contains(from) else {
                let current = profiles.isEmpty ? "no profile" : profiles.map(\.rawValue).joined(separator: ", ")
                throw PaymentServiceError(code: .notCorrectable, description: "payment '\(paymentID)' pays for \(current), not \(from)")
            }
            // Money given back outside the ledger's view for a profile (a reversal by hand): a move from that
            // profile would buy `to` a listing with it, and a move to it would take the money from `from` and give
            // it to nobody.
            try await Self.refuseIfGivenBackByHand(paymentID, for: [from, to], profileState, "it cannot move")
            // A profile the payment already pays for takes the moved part on top of its own share.
            guard try await profileState(to).isRegistered else { throw DomainError.profileNotFound(to.rawValue) }
            var part = amount
            if let amount, let share = payment.listingShares.first(where: { $0.share.profileID == from })?.share.amount {
                guard amount.currency == share.currency, amount.minorUnits > 0, amount.minorUnits <= share.minorUnits else {
                    throw PaymentServiceError(code: .invalidRequest, description: "the part to move must be more than 0 and at most the \(share) that pays for \(from)")
                }
                if amount == share { part = nil }
            }
            return [.reassigned(PaymentReassigned(paymentID: paymentID, from: from, to: to, amount: part, reason: reason, occurredAt: now))]
        }
    }

    /// Reopens a resolution made in error: the payment waits for staff again, and what the resolution allocated
    /// is taken back.
    public func reopen(paymentID: PaymentID, reason: String, metadata: EventMetadata) async throws -> Outcome {
        let reason = try Self.correctionReason(reason)
        return try await commit(inbox: nil, paymentID: paymentID, metadata: metadata) { payment, now, profileState in
            _ = try Self.received(payment, paymentID)
            guard payment.held != nil, payment.resolution != nil else {
                throw PaymentServiceError(code: .notCorrectable, description: "payment '\(paymentID)' has no resolution to reopen")
            }
            if let paidBack = payment.paidBack {
                throw PaymentServiceError(code: .notCorrectable, description: "payment '\(paymentID)' was paid back on \(paidBack.paidOn) as resolved; its resolution stays")
            }
            guard payment.reversal == nil else {
                throw PaymentServiceError(code: .notCorrectable, description: "payment '\(paymentID)' was taken back (\(payment.reversal?.rawValue ?? "")); there is nothing to decide again")
            }
            // Resolved again, it could pay for another profile with money already given back.
            try await Self.refuseIfGivenBackByHand(paymentID, for: payment.listingShares.map(\.share.profileID), profileState, "there is nothing to decide again")
            return [.resolutionReopened(PaymentResolutionReopened(paymentID: paymentID, reason: reason, occurredAt: now))]
        }
    }

    /// Records a reversal by hand: what the payment paid for `profileID` was given back outside the ledger's view
    /// (`kind`: a refund, chargeback or bank return that no provider or bank report shows). The payment's stream
    /// records it with `amount`, the money that went back that way, so the books and receipts take it back; what
    /// the payment bought there is taken back in the same append. Without `amount`: what pays for the profile,
    /// less what reports took back of the payment already (and refunds asked of the provider); `0.00` takes only
    /// the listing back; at most ``mostGivenBack(_:share:profileID:)``, which is also what it gives back without an
    /// amount. The same reversal again changes nothing; another one for the same profile is refused.
    public func giveBack(
        paymentID: PaymentID, profileID: ProfileID, kind: ReversalKind, amount: Money? = nil, reason: String, metadata: EventMetadata
    ) async throws -> Outcome {
        try ReversalKind.checkMadeByHand(kind)
        let reason = try ProfileDecider.requireText(reason, "reason")
        return try await commit(inbox: nil, paymentID: paymentID, metadata: metadata) { payment, now, profileState in
            let profile = try await profileState(profileID)
            guard profile.isRegistered else { throw DomainError.profileNotFound(profileID.rawValue) }
            guard payment.received != nil, let allocation = profile.allocation(of: paymentID) else {
                throw DomainError.allocationNotFound(paymentID.rawValue)
            }
            if let recorded = payment.givenBackByHand(for: profileID) {
                if payment.isUndone(recorded) {
                    // A chargeback a won dispute undid is over: the payer charging back again is recorded anew.
                    guard kind == .chargeback else {
                        throw DomainError.invalidArgument(
                            "staff recorded a chargeback of this payment for \(profileID), which a won dispute undid; only another chargeback can be recorded for it"
                        )
                    }
                } else {
                    // Sent again (an answer that never came): nothing more. Anything else would change what staff recorded.
                    guard recorded.kind == kind, amount == nil || amount == recorded.amount else {
                        throw DomainError.invalidArgument(
                            "staff recorded already that \(recorded.amount) of this payment went back for \(profileID) (\(recorded.kind.rawValue)); it cannot be recorded again otherwise"
                        )
                    }
                    return []
                }
            }
            // Taken back already (by a report or a correction): nothing more to record.
            guard allocation.isActiveNow else { return [] }
            guard let share = payment.listingShares.first(where: { $0.share.profileID == profileID })?.share else {
                throw PaymentServiceError(code: .notCorrectable, description: "payment '\(paymentID)' no longer pays for \(profileID)")
            }
            let most = Self.mostGivenBack(payment, share: share, profileID: profileID)
            let given = amount ?? most
            guard given.currency == share.amount.currency, given.minorUnits >= 0, given.minorUnits <= most.minorUnits else {
                let why = most.minorUnits < share.amount.minorUnits ? ": the rest of the payment was refunded, asked of the provider, or pays for another profile" : ""
                throw DomainError.invalidArgument("the amount given back must be from 0.00 to \(most) of the \(share.amount) that pays for \(profileID)\(why)")
            }
            return [.givenBackByHand(PaymentGivenBackByHand(
                paymentID: paymentID, profileID: profileID, kind: kind, amount: given, reportedBeforeMinorUnits: payment.takenOrAskedMinorUnits,
                restoredDisputesBefore: payment.restoredDisputeCount, reason: reason, occurredAt: now
            ))]
        }
    }

    /// The most a reversal by hand for `profileID` can have given back, and what it gives back without an amount:
    /// its share, but no more than still counts of the payment, less what refunds asked of the provider and not
    /// yet reported will take, and less the shares of the payment's other profiles that nothing took back.
    static func mostGivenBack(_ payment: PaymentState, share: AllocationShare, profileID: ProfileID) -> Money {
        var books = PaymentBooks()
        books.payment = payment
        let asked = max(0, max(payment.refundTakenMinorUnits, payment.requestedRefundMinorUnits) - payment.refundedMinorUnits)
        let others = payment.listingShares
            .filter { $0.share.profileID != profileID && payment.givenBackByHandNotUndone(for: $0.share.profileID) == nil }
            .reduce(Int64(0)) { $0.addingSaturated(max(0, $1.share.amount.minorUnits)) }
        let available = max(0, books.countingMinorUnits - asked - others)
        return Money(minorUnits: min(share.amount.minorUnits, available), currency: share.amount.currency)
    }

    /// Refuses (409) a correction of a payment that staff recorded as given back, by hand, for one of `profiles`
    /// (a refund, chargeback or bank return outside the ledger's view): such money pays for nobody.
    private static func refuseIfGivenBackByHand(
        _ paymentID: PaymentID, for profiles: [ProfileID], _ profileState: (ProfileID) async throws -> ProfileState, _ consequence: String
    ) async throws {
        for profile in profiles {
            guard let kind = try await profileState(profile).allocation(of: paymentID)?.reversedAs, kind != .correction else { continue }
            throw PaymentServiceError(
                code: .notCorrectable,
                description: "payment '\(paymentID)' was given back (\(kind.rawValue), recorded by hand for \(profile)); \(consequence)"
            )
        }
    }

    private static func received(_ payment: PaymentState, _ paymentID: PaymentID) throws -> PaymentReceived {
        guard let received = payment.received else {
            throw PaymentServiceError(code: .paymentNotFound, description: "no received payment '\(paymentID)'")
        }
        return received
    }

    private static func correctionReason(_ text: String) throws -> String {
        let reason = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !reason.isEmpty, reason.utf8.count <= ProfileDecider.textBytesMax else {
            throw PaymentServiceError(code: .invalidRequest, description: "a correction needs a reason of 1 to \(ProfileDecider.textBytesMax) bytes")
        }
        return reason
    }
}
