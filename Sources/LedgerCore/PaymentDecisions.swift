public import Foundation

/// The payment rules as decisions: what a reported fact adds to a payment's stream, and what the payment
/// then asks of its profile. Pure, like ``ProfileDecider``.
public enum PaymentDecider {
    /// The events a fact adds to the payment's stream: none when the fact is known already, so duplicates
    /// and overlapping reports (a checkout and its payment intent) record money once.
    ///
    /// - Parameter profile: the state of the profile the fact names, if it names one, for screening.
    public static func decide(
        _ fact: PaymentFact, state: PaymentState, paymentID: PaymentID, method: PaymentMethod,
        profile: ProfileState?, now: Date, policy: ListingPolicy
    ) -> [PaymentEvent] {
        switch fact {
        case .received(
            let amount, let purpose, let profileID, let effectiveDate, let note, let suggestion, let unknownReference, let payerAccount, let endToEndID, let fee,
            let namedProfiles
        ):
            guard state.received == nil else { return [] }
            var received = PaymentReceived(
                paymentID: paymentID, method: method, amount: amount, purpose: purpose ?? .listing, profileID: profileID,
                effectiveDate: effectiveDate, note: String(note.prefix(ProfileDecider.textBytesMax)), payerAccount: payerAccount, endToEndID: endToEndID, occurredAt: now
            )
            // A fee is kept only when it is a part of what arrived, in its currency.
            if let fee, fee.currency == amount.currency, fee.minorUnits > 0, fee.minorUnits <= amount.minorUnits { received.fee = fee }
            var events: [PaymentEvent] = [.received(received)]
            if let hold = holdReason(
                amount: amount, purpose: purpose, profileID: profileID, effectiveDate: effectiveDate,
                at: now, profile: profile, policy: policy, acceptsMultiples: method == .bank || method == .offline, unknownReference: unknownReference,
                namedProfiles: namedProfiles
            ) {
                events.append(.held(PaymentHeld(paymentID: paymentID, reasonCode: hold.code, reason: hold.detail, suggestedProfileID: suggestion, occurredAt: now)))
            }
            return events

        case .pending(let amount, let purpose, let profileID):
            guard state.received == nil, state.pending == nil, state.failed == nil else { return [] }
            return [.pending(PaymentPending(paymentID: paymentID, amount: amount, purpose: purpose, profileID: profileID, occurredAt: now))]

        case .failed(let reason):
            guard state.received == nil, state.failed == nil else { return [] }
            return [.failed(PaymentFailed(paymentID: paymentID, reason: String(reason.prefix(ProfileDecider.textBytesMax)), occurredAt: now))]

        case .refund(let refundID, let amount, let cumulative, let status, let asOf, let madeAt):
            let report = PaymentRefundReported(
                paymentID: paymentID, refundID: cumulative ? nil : refundID, amount: amount, cumulative: cumulative, status: status,
                asOf: asOf, madeAt: cumulative ? nil : madeAt, occurredAt: now
            )
            // Only what changes the payment is recorded: a redelivery, a running total older than the one
            // recorded, or a refund's status said before the one recorded (or after it failed) say nothing.
            guard state.changes(with: report) else { return [] }
            return [.refundReported(report)]

        case .dispute(let disputeID, let phase, let amount, let openedAt, let asOf):
            guard state.disputes[disputeID]?.contains(phase) != true else { return [] }
            return [.disputeUpdated(PaymentDisputeUpdated(
                paymentID: paymentID, disputeID: disputeID, phase: phase, amount: amount, openedAt: openedAt, asOf: asOf, occurredAt: now
            ))]

        case .returned(let reason, let bookingDate):
            guard state.returned == nil else { return [] }
            return [.returned(PaymentReturned(
                paymentID: paymentID, reason: String(reason.prefix(ProfileDecider.textBytesMax)), bookingDate: bookingDate, occurredAt: now
            ))]
        }
    }

    /// Why money that arrived cannot be applied without staff, if it cannot.
    ///
    /// Card and PayPal checkouts are for exactly one period, so any other amount is unexpected. A bank
    /// transfer may pay several periods at once, or more (the rest is credit); it is short when, with the
    /// profile's credit, it does not reach one period (an allocated amount buys floor((credit + amount) / price)
    /// periods).
    static func holdReason(
        amount: Money, purpose: PaymentPurpose?, profileID: ProfileID?, effectiveDate: LocalDate, at now: Date,
        profile: ProfileState?, policy: ListingPolicy, acceptsMultiples: Bool = false, unknownReference: String? = nil,
        namedProfiles: [ProfileID] = []
    ) -> (code: HoldReason, detail: String)? {
        let today = policy.calendar.date(at: now)
        let price = policy.tariff.entry(on: effectiveDate).price
        let credit = acceptsMultiples && amount.currency == price.currency ? profile?.paidPeriods(at: now, policy: policy).creditMinorUnits ?? 0 : 0
        guard amount.currency == price.currency else {
            return (.currencyNotAccepted, "the payment is \(amount); only \(price.currency) is accepted")
        }
        guard LedgerBounds.acceptsPaymentDate(effectiveDate, today: today) else {
            return (.dateOutOfRange, "the payment is dated \(effectiveDate); \(LedgerBounds.paymentDateLimit(today: today))")
        }
        if let problem = policy.amountLimitProblem(amount) { return (.amountOverLimit, problem) }
        if purpose == .listing, (credit &+ amount.minorUnits) / price.minorUnits > Int64(LedgerBounds.periodsPerAllocationMax) {
            let withCredit = credit > 0 ? " with the profile's \(Money(minorUnits: credit, currency: price.currency)) of credit" : ""
            return (.amountOverLimit, "\(amount)\(withCredit) would buy more than the \(LedgerBounds.periodsPerAllocationMax) periods one payment may buy")
        }
        if profileID == nil, namedProfiles.count > 1 {
            let names = namedProfiles.map(\.rawValue).joined(separator: ", ")
            return (.severalProfiles, "the payment of \(amount) names several profiles (\(names)): split it between them, or allocate it to one")
        }
        if profileID == nil, let unknownReference {
            return (.unknownReference, "the reference \(unknownReference) has valid check digits but belongs to no profile")
        }
        guard let purpose, purpose == .donation || profileID != nil else {
            return (.missingProfileReference, "the payment of \(amount) names no profile and purpose")
        }
        switch purpose {
        case .listing:
            guard let profileID else { return (.missingProfileReference, "the payment of \(amount) names no profile") }
            guard profile?.isRegistered == true else {
                return (.unknownProfile, "the payment of \(amount) names profile '\(profileID)', which is not registered")
            }
            if acceptsMultiples {
                guard credit &+ amount.minorUnits >= price.minorUnits else {
                    let shortfall = Money(minorUnits: price.minorUnits - credit - amount.minorUnits, currency: price.currency)
                    let withCredit = credit > 0 ? " (with the profile's \(Money(minorUnits: credit, currency: price.currency)) of credit)" : ""
                    return (.shortPayment, "a listing contribution on \(effectiveDate) is \(price); \(amount) arrived\(withCredit), \(shortfall) short")
                }
            } else {
                guard amount == price else {
                    return (.unexpectedAmount, "a listing contribution on \(effectiveDate) is \(price); \(amount) arrived")
                }
            }
        case .donation:
            guard amount.minorUnits > 0 else { return (.unexpectedAmount, "a donation must be positive; \(amount) arrived") }
        }
        return nil
    }

    /// The profile commands that bring `profileID`'s listing in line with the payment: allocate its share,
    /// reverse or reinstate it, or nothing when it already agrees.
    public static func allocationCommands(payment: PaymentState, profileID: ProfileID, profile: ProfileState) -> [ProfileCommand] {
        guard let received = payment.received else { return [] }
        guard let share = payment.listingShares.first(where: { $0.share.profileID == profileID }) else {
            // No longer paid for by this payment (moved to another profile, or its resolution reopened): what it
            // bought here is taken back.
            guard let allocation = profile.allocation(of: received.paymentID), allocation.isActiveNow else { return [] }
            return [.reverseAllocation(paymentID: received.paymentID, kind: .correction, reason: correctionReason(payment, leaving: profileID))]
        }
        let allocate = ProfileCommand.allocate(
            paymentID: received.paymentID, amount: share.share.amount, effectiveDate: received.effectiveDate, acceptShortfall: share.acceptShortfall
        )
        let allocation = profile.allocation(of: received.paymentID)
        // Given back by hand for this profile: what it bought stays taken back as staff recorded it, whatever the
        // payment's refunds and disputes do; a chargeback by hand, until a dispute ends with the money back with us
        // (then it comes back below, as the rules' own chargeback does).
        if let given = payment.givenBackByHandNotUndone(for: profileID) {
            guard let allocation, allocation.isActiveNow else { return [] }
            return [.reverseAllocation(paymentID: received.paymentID, kind: given.kind, reason: given.reason)]
        }
        if let kind = payment.reversal {
            let reverse = ProfileCommand.reverseAllocation(paymentID: received.paymentID, kind: kind, reason: reversalReason(kind, payment: payment), byRule: true)
            guard let allocation else { return [allocate, reverse] }
            return allocation.isActiveNow ? [reverse] : []
        }
        guard let allocation else { return [allocate] }
        let coveredShortfall = allocation.event.acceptedShortfallMinorUnits > 0
        // A share whose amount changed (part of the payment moved away or back), or that no longer counts a
        // short payment as a full period, is taken back and allocated anew as it now stands.
        if allocation.isActiveNow, allocation.event.amount != share.share.amount || (coveredShortfall && !share.acceptShortfall) {
            return [.reverseAllocation(paymentID: received.paymentID, kind: .correction, reason: correctionReason(payment, leaving: profileID)), allocate]
        }
        guard !allocation.isActiveNow else { return [] }
        if allocation.reversedAs == .correction {
            // What staff took back comes back as it was only when it is what the payment now decides: the same
            // amount, and a shortfall accepted exactly when it is now (a resolution reopened and decided the
            // other way is allocated anew).
            guard allocation.event.amount == share.share.amount, coveredShortfall == share.acceptShortfall else { return [allocate] }
            return [.reinstateAllocation(paymentID: received.paymentID, reason: "staff moved the payment back to this profile")]
        }
        // What a dispute took comes back when a dispute ends with the money back with us, and what a refund took
        // when the refund fails; what staff took back for another reason (money given back outside the provider,
        // a return) stays taken back, whatever the payment's disputes and refunds do.
        if allocation.reversedAs == .refund, allocation.reversedByRule {
            // The payment rules took it back when the provider reported the payment refunded in full, and it no
            // longer is (a refund failed: its money came back to us): what it bought counts again.
            return [.reinstateAllocation(paymentID: received.paymentID, reason: "the provider reported the refund failed: the money stayed with us")]
        }
        guard allocation.reversedAs == .chargeback, payment.hasDisputeRestored else { return [] }
        return [.reinstateAllocation(paymentID: received.paymentID, reason: "the dispute ended with the money returned")]
    }

    /// The commands for the payment's first (usually only) profile.
    public static func allocationCommands(payment: PaymentState, profile: ProfileState) -> [ProfileCommand] {
        guard let profileID = payment.listingShares.first?.share.profileID else { return [] }
        return allocationCommands(payment: payment, profileID: profileID, profile: profile)
    }

    static func reversalReason(_ kind: ReversalKind, payment: PaymentState) -> String {
        switch kind {
        case .refund:
            let currency = payment.received?.amount.currency ?? "EUR"
            return "refunded: \(Money(minorUnits: payment.refundedMinorUnits, currency: currency)) given back"
        case .chargeback: return "the payer disputed the payment and the money was taken back"
        case .bankReturn: return "the bank returned the payment (\(payment.returned?.reason ?? "no reason given"))"
        case .correction: return "voided by staff: \(payment.voided?.reason ?? "recorded by mistake")"
        }
    }

    /// Why a profile no longer has what the payment bought.
    static func correctionReason(_ payment: PaymentState, leaving profileID: ProfileID) -> String {
        if let move = payment.reassignments.last(where: { $0.from == profileID }) {
            let what = move.amount.map { "\($0) of it" } ?? "moved"
            return move.amount == nil ? "\(what) to \(move.to) by staff: \(move.reason)" : "\(what) moved to \(move.to) by staff: \(move.reason)"
        }
        if let reopened = payment.reopened.last {
            return "the resolution was reopened by staff: \(reopened.reason)"
        }
        return "no longer paid for by this payment"
    }
}
