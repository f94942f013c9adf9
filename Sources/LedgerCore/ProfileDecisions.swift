public import Foundation

/// What staff, payment handlers and the sweeper ask of a profile.
public enum ProfileCommand: Sendable, Hashable {
    case register(kind: ProfileKind, displayName: String, contactEmail: String)
    case changeCertification(CertificationAction, reason: String)
    case grantWaiver(waiverID: String, from: LocalDate, through: LocalDate, reason: String)
    case revokeWaiver(waiverID: String, reason: String)
    /// Apply a listing payment. `acceptShortfall` lets staff count a short payment as a full period.
    case allocate(paymentID: PaymentID, amount: Money, effectiveDate: LocalDate, acceptShortfall: Bool)
    /// `byRule`: the payment rules take it back (see ``AllocationReversed/byRule``); staff's reversals are not.
    case reverseAllocation(paymentID: PaymentID, kind: ReversalKind, reason: String, byRule: Bool = false)
    case reinstateAllocation(paymentID: PaymentID, reason: String)
    /// Record time-driven changes: expiry, grace end, waiver start or end, renewal reminders.
    case sweep
}

extension ProfileCommand {
    /// The command as text naming each of its values, the same for the same command in every build: what makes
    /// two commands sent under one idempotency key one command.
    public var canonicalText: String {
        let parts: [String]
        switch self {
        case .register(let kind, let displayName, let contactEmail): parts = ["register", kind.rawValue, displayName, contactEmail]
        case .changeCertification(let action, let reason): parts = ["certification", action.rawValue, reason]
        case .grantWaiver(let waiverID, let from, let through, let reason): parts = ["grant-waiver", waiverID, from.description, through.description, reason]
        case .revokeWaiver(let waiverID, let reason): parts = ["revoke-waiver", waiverID, reason]
        case .allocate(let paymentID, let amount, let effectiveDate, let acceptShortfall):
            parts = ["allocate", paymentID.rawValue, String(amount.minorUnits), amount.currency, effectiveDate.description, String(acceptShortfall)]
        case .reverseAllocation(let paymentID, let kind, let reason, let byRule): parts = ["reverse", paymentID.rawValue, kind.rawValue, reason, String(byRule)]
        case .reinstateAllocation(let paymentID, let reason): parts = ["reinstate", paymentID.rawValue, reason]
        case .sweep: parts = ["sweep"]
        }
        return parts.joined(separator: "\u{0}")
    }
}

/// What staff can do to a certification.
public enum CertificationAction: String, Sendable, Hashable, Codable, CaseIterable {
    case grant, suspend, revoke, reinstate
}

/// The listing rules as decisions: pure, no clock reads, no I/O.
public enum ProfileDecider {
    /// The longest free text (names, reasons) accepted.
    public static let textBytesMax = 500

    /// Decides a command against the profile's state at `now`.
    ///
    /// Whenever the result changes what the directory should show, a ``ListingVisibilityChanged`` follows
    /// the command's own events, so both are appended together.
    public static func decide(
        _ command: ProfileCommand, state: ProfileState, profileID: ProfileID, now: Date, policy: ListingPolicy
    ) throws(DomainError) -> [ProfileEvent] {
        try decide([command], state: state, profileID: profileID, now: now, policy: policy)
    }

    /// Decides several commands as one change: each sees the state after the previous ones, and the
    /// visibility is evaluated once at the end, so the directory never sees a flicker in between (a
    /// payment allocated and refunded in one step stays hidden).
    public static func decide(
        _ commands: [ProfileCommand], state: ProfileState, profileID: ProfileID, now: Date, policy: ListingPolicy
    ) throws(DomainError) -> [ProfileEvent] {
        let decidedAt = state.decisionInstant(now: now)
        var events: [ProfileEvent] = []
        var after = state
        for command in commands {
            if case .register = command {} else if !after.isRegistered {
                throw .profileNotFound(profileID.rawValue)
            }
            let decided = try commandEvents(command, state: after, profileID: profileID, now: decidedAt, policy: policy)
            for event in decided { after.evolve(event) }
            events += decided
        }
        let evaluation = after.evaluate(at: decidedAt, policy: policy)
        if !evaluation.matches(after.published) {
            events.append(.visibilityChanged(ListingVisibilityChanged(
                visible: evaluation.visible, status: evaluation.status, basis: evaluation.basis,
                reason: evaluation.reason, paidThrough: evaluation.paidThrough, occurredAt: decidedAt
            )))
        }
        return events
    }

    private static func commandEvents(
        _ command: ProfileCommand, state: ProfileState, profileID: ProfileID, now: Date, policy: ListingPolicy
    ) throws(DomainError) -> [ProfileEvent] {
        switch command {
        case .register(let kind, let displayName, let contactEmail):
            guard !state.isRegistered else { throw .profileAlreadyRegistered(profileID.rawValue) }
            let name = try requireText(displayName, "display name")
            let email = contactEmail.trimmingCharacters(in: .whitespaces)
            guard email.utf8.count <= 254, email.split(separator: "@").count == 2, !email.hasPrefix("@"), !email.hasSuffix("@") else {
                throw .invalidArgument("contact e-mail '\(contactEmail.prefix(80))' is not an address like name@example.org")
            }
            return [.registered(ProfileRegistered(profileID: profileID, kind: kind, displayName: name, contactEmail: email, occurredAt: now))]

        case .changeCertification(let action, let reason):
            let reason = try requireText(reason, "reason")
            let current = state.currentCertification
            let next: CertificationState
            switch (action, current) {
            case (.grant, .none), (.grant, .revoked): next = .certified
            case (.suspend, .certified): next = .suspended
            case (.revoke, .certified), (.revoke, .suspended): next = .revoked
            case (.reinstate, .suspended): next = .certified
            default:
                throw .invalidCertificationChange("cannot \(action.rawValue) a certification that is \(current == .none ? "not granted" : current.rawValue)")
            }
            return [.certificationChanged(CertificationChanged(state: next, reason: reason, occurredAt: now))]

        case .grantWaiver(let waiverID, let from, let through, let reason):
            let reason = try requireText(reason, "reason")
            guard !waiverID.isEmpty, waiverID.utf8.count <= 64 else { throw .invalidArgument("a waiver id is 1 to 64 bytes") }
            guard from <= through else { throw .invalidDateRange("the waiver ends (\(through)) before it starts (\(from))") }
            guard LedgerBounds.contains(from), LedgerBounds.contains(through) else {
                throw .outOfBounds("a waiver's dates must lie \(LedgerBounds.dateRangeDescription)")
            }
            if let waiver = state.waivers.first(where: { $0.granted.waiverID == waiverID }) {
                // The same grant again (a request sent again after an answer that never came) changes nothing; a
                // revoked waiver stays revoked, and granting it again is refused, as before.
                let granted = waiver.granted
                guard waiver.revokedAt == nil, granted.from == from, granted.through == through, granted.reason == reason else {
                    throw .invalidArgument("waiver '\(waiverID)' exists already")
                }
                return []
            }
            return [.waiverGranted(WaiverGranted(waiverID: waiverID, from: from, through: through, reason: reason, occurredAt: now))]

        case .revokeWaiver(let waiverID, let reason):
            let reason = try requireText(reason, "reason")
            guard let waiver = state.waivers.first(where: { $0.granted.waiverID == waiverID }) else { throw .waiverNotFound(waiverID) }
            // Revoked already: the same request again changes nothing, as a second void or reversal does.
            guard waiver.revokedAt == nil else { return [] }
            return [.waiverRevoked(WaiverRevoked(waiverID: waiverID, reason: reason, occurredAt: now))]

        case .allocate(let paymentID, let amount, let effectiveDate, let acceptShortfall):
            return [.contributionAllocated(try allocation(
                paymentID: paymentID, amount: amount, effectiveDate: effectiveDate, acceptShortfall: acceptShortfall,
                state: state, now: now, policy: policy
            ))]

        case .reverseAllocation(let paymentID, let kind, let reason, let byRule):
            guard let allocation = state.allocation(of: paymentID) else { throw .allocationNotFound(paymentID.rawValue) }
            // Reversing twice (a refund webhook after a chargeback) changes nothing.
            guard allocation.isActiveNow else { return [] }
            return [.allocationReversed(AllocationReversed(
                paymentID: paymentID, kind: kind, reason: try requireText(reason, "reason"), occurredAt: now, byRule: byRule ? true : nil
            ))]

        case .reinstateAllocation(let paymentID, let reason):
            guard let allocation = state.allocation(of: paymentID) else { throw .allocationNotFound(paymentID.rawValue) }
            guard !allocation.isActiveNow else { return [] }
            return [.allocationReinstated(AllocationReinstated(paymentID: paymentID, reason: try requireText(reason, "reason"), occurredAt: now))]

        case .sweep:
            return dueReminders(state: state, now: now, policy: policy).map(ProfileEvent.renewalReminderDue)
        }
    }

    /// Prices the payment by the tariff in force on its effective date and records what it buys.
    static func allocation(
        paymentID: PaymentID, amount: Money, effectiveDate: LocalDate, acceptShortfall: Bool,
        state: ProfileState, now: Date, policy: ListingPolicy
    ) throws(DomainError) -> ContributionAllocated {
        let tariff = policy.tariff.entry(on: effectiveDate)
        guard amount.currency == tariff.price.currency else {
            throw .currencyMismatch(amount.currency, tariff.price.currency)
        }
        guard amount.minorUnits > 0 else { throw .invalidAmount("a payment must be positive") }
        if let problem = policy.amountLimitProblem(amount) { throw .amountOverLimit(problem) }
        let today = policy.calendar.date(at: now)
        guard LedgerBounds.acceptsPaymentDate(effectiveDate, today: today) else {
            throw .outOfBounds("the payment date \(effectiveDate) is out of range: \(LedgerBounds.paymentDateLimit(today: today))")
        }
        // Allocated once; again only after staff took it back as a correction (part of it moved elsewhere).
        if let earlier = state.allocation(of: paymentID), earlier.isActiveNow || earlier.reversedAs != .correction {
            throw .paymentAlreadyAllocated(paymentID.rawValue)
        }
        let credit = state.paidPeriods(at: now, policy: policy).creditMinorUnits
        var total = credit + amount.minorUnits
        let periods = total / tariff.price.minorUnits
        guard periods <= LedgerBounds.periodsPerAllocationMax else {
            throw .amountOverLimit("\(amount) would buy \(periods) periods at once; one payment may buy at most \(LedgerBounds.periodsPerAllocationMax)")
        }
        var shortfall: Int64 = 0
        if acceptShortfall, total < tariff.price.minorUnits {
            shortfall = tariff.price.minorUnits - total
            total = tariff.price.minorUnits
        }
        return ContributionAllocated(
            paymentID: paymentID, amount: amount, effectiveDate: effectiveDate, price: tariff.price,
            monthsPerPeriod: tariff.months, periodsBought: Int(total / tariff.price.minorUnits),
            creditAfterMinorUnits: total % tariff.price.minorUnits, acceptedShortfallMinorUnits: shortfall, occurredAt: now
        )
    }

    /// A reminder is due `k` days before the paid-through date once that day has come, unless one for the
    /// same date with `k` or fewer days was recorded already (a late sweep sends only the nearest).
    static func dueReminders(state: ProfileState, now: Date, policy: ListingPolicy) -> [RenewalReminderDue] {
        let evaluation = state.evaluate(at: now, policy: policy)
        guard evaluation.status == .active, let paidThrough = evaluation.paidThrough else { return [] }
        let today = policy.calendar.date(at: now)
        let due = policy.reminderDaysBefore.filter { today >= paidThrough.addingDays(-$0) }
        guard let nearest = due.min() else { return [] }
        let sent = state.reminders.contains { $0.paidThrough == paidThrough && $0.daysBefore <= nearest }
        return sent ? [] : [RenewalReminderDue(paidThrough: paidThrough, daysBefore: nearest, occurredAt: now)]
    }

    public static func requireText(_ text: String, _ name: String) throws(DomainError) -> String {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw .invalidArgument("the \(name) must not be empty") }
        guard trimmed.utf8.count <= textBytesMax else { throw .invalidArgument("the \(name) is longer than \(textBytesMax) bytes") }
        return trimmed
    }
}
