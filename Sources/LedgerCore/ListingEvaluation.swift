public import Foundation

/// Where a listing stands.
public enum ListingStatus: String, Sendable, Hashable, Codable, CaseIterable {
    /// Registered, never paid or waived, or not yet certified.
    case pending
    /// Paid through today.
    case active
    /// Past the last paid day, within the grace days: still visible.
    case grace
    /// Visible on a staff waiver.
    case waived
    /// Was paid or waived; no longer.
    case expired
    /// Certification suspended or revoked.
    case suspended
}

/// Why a listing is visible: the payments of the current paid period, or a waiver.
public struct ListingBasis: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable { case payments, waiver }
    public var kind: Kind
    public var paymentIDs: [PaymentID]
    public var waiverID: String?

    public static func payments(_ ids: [PaymentID]) -> ListingBasis { ListingBasis(kind: .payments, paymentIDs: ids, waiverID: nil) }
    public static func waiver(_ id: String) -> ListingBasis { ListingBasis(kind: .waiver, paymentIDs: [], waiverID: id) }
}

/// Why a listing is hidden.
public enum HiddenReason: String, Sendable, Hashable, Codable, CaseIterable {
    case notRegistered = "not_registered"
    case notCertified = "not_certified"
    case certificationSuspended = "certification_suspended"
    case certificationRevoked = "certification_revoked"
    case neverPaid = "never_paid"
    case expired
    case refunded
    case waiverEnded = "waiver_ended"
}

/// A profile's listing at one instant, with exactly one of `basis` (visible) or `reason` (hidden).
public struct ListingEvaluation: Sendable, Hashable {
    public var status: ListingStatus
    public var visible: Bool
    public var basis: ListingBasis?
    public var reason: HiddenReason?
    /// The last paid day of the current (or most recent) paid period.
    public var paidThrough: LocalDate?
    /// Money on the profile not yet enough for a period, in minor units (EUR).
    public var creditMinorUnits: Int64
    /// The next instant at which the listing would change by itself (expiry, grace end, waiver start or end,
    /// a renewal reminder, an event recorded with an instant still ahead), or nil if nothing is scheduled.
    public var nextChangeAt: Date?

    /// Whether `published` already tells the directory this (same visibility, status and paid-through date).
    public func matches(_ published: ListingVisibilityChanged?) -> Bool {
        guard let published else { return !visible && status == .pending }
        return published.visible == visible && published.status == status && published.paidThrough == paidThrough
    }
}

/// One stretch of paid days, bought by consecutive payments.
public struct PaidPeriod: Sendable, Hashable {
    public var start: LocalDate
    public var lastDay: LocalDate
    /// The days each payment added to the stretch, in order: a renewal's are the ones after the days before it.
    public var parts: [PaidPart]
    /// The months bought from `start`, up to `lastDay`; nil once they no longer fit in an `Int` (the stretch then
    /// runs to the last day there is).
    var months: Int?

    /// A stretch of the days one payment bought: `months` from `part`'s start, or to the last day there is.
    init(_ part: PaidPart, months: Int?) {
        start = part.start
        lastDay = part.lastDay
        parts = [part]
        self.months = months
    }

    /// The stretch with `months` more bought by `paymentID` (nil: more than an `Int` holds), from the day after its
    /// last. They are counted from the stretch's start, as if bought with the months before at once: renewing a
    /// stretch begun on 31 January month by month, or one begun on 29 February year by year, loses no day at each
    /// shorter month's end.
    mutating func renew(paymentID: PaymentID, months more: Int?) {
        let start = lastDay.addingDays(1)
        let total = months.flatMap { months in
            more.flatMap { more in
                let (sum, overflow) = months.addingReportingOverflow(more)
                return overflow ? nil : sum
            }
        }
        months = total
        extend(PaidPart(paymentID: paymentID, start: start, lastDay: total.map { self.start.addingMonths($0).addingDays(-1) } ?? .last))
    }

    /// The payments that bought the stretch, in order.
    public var paymentIDs: [PaymentID] { parts.map(\.paymentID) }

    /// Adds the days the next payment bought, from the day after the stretch's last.
    mutating func extend(_ part: PaidPart) {
        lastDay = part.lastDay
        parts.append(part)
    }

    /// The days `paymentID` paid for in this stretch (from its first part to its last), if it paid for any.
    public func days(paidBy paymentID: PaymentID) -> (start: LocalDate, lastDay: LocalDate)? {
        let own = parts.filter { $0.paymentID == paymentID }
        guard let first = own.first, let last = own.last else { return nil }
        return (first.start, last.lastDay)
    }
}

/// The days one payment added to a paid stretch.
public struct PaidPart: Sendable, Hashable {
    public var paymentID: PaymentID
    public var start: LocalDate
    public var lastDay: LocalDate
}

extension ProfileState {
    /// The paid periods as known at `instant`: allocations effective by then and not reversed by then,
    /// applied in effective-date order with the rolling-period rule.
    ///
    /// A payment allocated again to the same profile (a part of it moved away, its first allocation taken back
    /// as a correction and made anew for the rest) counts in its new allocation only from when that was
    /// recorded: before then its first allocation counted, and the same money must not count twice.
    ///
    /// `ignoringReversals` counts also what was given back (refunded, charged back, returned by the bank), to
    /// tell a refund apart from an end of the period; a correction (a void, a move, a reopened resolution) is
    /// never counted, since that payment did not pay for this profile.
    public func paidPeriods(at instant: Date, policy: ListingPolicy, ignoringReversals: Bool = false) -> (periods: [PaidPeriod], creditMinorUnits: Int64) {
        let today = policy.calendar.date(at: instant)
        var allocatedBefore = Set<PaymentID>()
        let madeAnew = allocations.map { allocatedBefore.insert($0.event.paymentID).inserted == false }
        let counted = allocations.enumerated()
            .filter { entry in
                let allocation = entry.element
                return allocation.event.effectiveDate <= today
                    && (allocation.isActive(at: instant) || (ignoringReversals && !allocation.isCorrected(at: instant)))
            }
            .filter { !madeAnew[$0.offset] || $0.element.event.occurredAt <= instant }
            .sorted { ($0.element.event.effectiveDate, $0.offset) < ($1.element.event.effectiveDate, $1.offset) }
            .map(\.element.event)
        return Self.periods(for: counted, policy: policy)
    }

    /// The rolling-period rule over allocations in effective-date order. Pure arithmetic, no clock.
    static func periods(for allocations: [ContributionAllocated], policy: ListingPolicy) -> (periods: [PaidPeriod], creditMinorUnits: Int64) {
        var periods: [PaidPeriod] = []
        var credit: Int64 = 0
        for allocation in allocations {
            // Stored events were bounded when they were decided; the arithmetic still saturates rather than
            // trap, so no history, however odd, can stop an evaluation.
            let price = allocation.price.minorUnits
            guard price > 0, allocation.monthsPerPeriod > 0 else { continue }
            // A shortfall staff accepted makes the payment one full period: it tops up to the price, never beyond.
            // The shortfall was fixed against the credit known when it was decided; an earlier-dated payment
            // imported since may have brought credit that needs less, or none, and adding the recorded shortfall
            // then would make credit no one paid.
            var total = credit.addingSaturated(allocation.amount.minorUnits)
            if allocation.acceptedShortfallMinorUnits > 0, total < price { total = price }
            guard total > 0 else { continue }
            let bought = Int(total / price)
            credit = total % price
            guard bought > 0 else { continue }
            let (months, overflow) = bought.multipliedReportingOverflow(by: allocation.monthsPerPeriod)
            if let last = periods.last, allocation.effectiveDate <= policy.lastVisibleDay(after: last.lastDay) {
                // Current or in grace: extend from the old last day, so no day is lost or counted twice.
                periods[periods.count - 1].renew(paymentID: allocation.paymentID, months: overflow ? nil : months)
            } else {
                // After grace: a new period from the payment's own date.
                let start = allocation.effectiveDate
                periods.append(PaidPeriod(
                    PaidPart(paymentID: allocation.paymentID, start: start, lastDay: overflow ? .last : start.addingMonths(months).addingDays(-1)),
                    months: overflow ? nil : months
                ))
            }
        }
        return (periods, credit)
    }

    /// The listing at `instant`, from everything known now.
    public func evaluate(at instant: Date, policy: ListingPolicy) -> ListingEvaluation {
        let today = policy.calendar.date(at: instant)
        let (periods, credit) = paidPeriods(at: instant, policy: policy)
        let current = periods.last { $0.start <= today && today <= $0.lastDay }
        let inGrace = current == nil ? periods.last { $0.lastDay < today && today <= policy.lastVisibleDay(after: $0.lastDay) } : nil
        let latest = periods.last { $0.start <= today }
        let waiver = waivers.last { $0.isActive(at: instant, on: today) }
        let nextDay = nextChange(after: today, at: instant, periods: periods, policy: policy).map(policy.calendar.startOfDay)
        // An event recorded with an instant still ahead (by a clock further ahead than a decision believes, see
        // ``decisionInstant(now:)``) counts only from that instant, and nothing else would make the sweeper look again then.
        let next = [nextDay, firstRecordedInstant(after: instant)].compactMap { $0 }.min()
        var evaluation = ListingEvaluation(
            status: .pending, visible: false, basis: nil, reason: nil,
            paidThrough: (current ?? inGrace ?? latest)?.lastDay, creditMinorUnits: credit, nextChangeAt: next
        )
        guard isRegistered else {
            evaluation.reason = .notRegistered
            return evaluation
        }
        switch certification(at: instant) {
        case .none:
            evaluation.reason = .notCertified
            return evaluation
        case .suspended:
            evaluation.status = .suspended
            evaluation.reason = .certificationSuspended
            return evaluation
        case .revoked:
            evaluation.status = .suspended
            evaluation.reason = .certificationRevoked
            return evaluation
        case .certified:
            break
        }
        if let current {
            evaluation.status = .active
            evaluation.visible = true
            evaluation.basis = .payments(current.paymentIDs)
        } else if let inGrace {
            evaluation.status = .grace
            evaluation.visible = true
            evaluation.basis = .payments(inGrace.paymentIDs)
        } else if let waiver {
            evaluation.status = .waived
            evaluation.visible = true
            evaluation.basis = .waiver(waiver.granted.waiverID)
        } else {
            evaluation.reason = hiddenReason(at: instant, today: today, periods: periods, policy: policy)
            // A waiver revoked before its first day never listed anyone.
            let hadListing = latest != nil || waivers.contains { $0.granted.from <= today && $0.everCounted(calendar: policy.calendar) }
                || evaluation.reason == .refunded
            evaluation.status = hadListing ? .expired : .pending
        }
        return evaluation
    }

    /// Why a certified profile with no current payment or waiver is hidden: the cause that stopped
    /// counting most recently (a refund, a waiver's end, or the end of the paid period and its grace).
    private func hiddenReason(at instant: Date, today: LocalDate, periods: [PaidPeriod], policy: ListingPolicy) -> HiddenReason {
        var causes: [(since: LocalDate, reason: HiddenReason)] = []
        if let lastPaid = periods.last(where: { $0.start <= today }) {
            causes.append((policy.lastVisibleDay(after: lastPaid.lastDay).addingDays(1), .expired))
        }
        let withoutReversals = paidPeriods(at: instant, policy: policy, ignoringReversals: true).periods
        if withoutReversals.contains(where: { $0.start <= today && today <= policy.lastVisibleDay(after: $0.lastDay) }) {
            let reversedAt = allocations.compactMap { allocation in
                allocation.isActive(at: instant) || allocation.isCorrected(at: instant) ? nil : allocation.changes.last { $0.at <= instant }?.at
            }.max()
            causes.append((reversedAt.map(policy.calendar.date(at:)) ?? today, .refunded))
        }
        for waiver in waivers {
            if let end = waiver.end(before: instant, today: today, calendar: policy.calendar) {
                causes.append((end, .waiverEnded))
            }
        }
        return causes.max { $0.since < $1.since }?.reason ?? .neverPaid
    }

    /// The earliest instant after `instant` at which a recorded event changes what counts: a certification change,
    /// an allocation (one made anew counts from its own instant), a reversal or reinstatement, a waiver's revocation.
    func firstRecordedInstant(after instant: Date) -> Date? {
        var first: Date?
        func consider(_ candidate: Date) {
            if candidate > instant, candidate < first ?? .distantFuture { first = candidate }
        }
        certificationChanges.forEach { consider($0.occurredAt) }
        for allocation in allocations {
            consider(allocation.event.occurredAt)
            allocation.changes.forEach { consider($0.at) }
        }
        waivers.forEach { $0.revokedAt.map(consider) }
        return first
    }

    /// The next date after `today` on which the evaluation or a reminder can change by itself.
    private func nextChange(after today: LocalDate, at instant: Date, periods: [PaidPeriod], policy: ListingPolicy) -> LocalDate? {
        var candidates: [LocalDate] = []
        if allocations.contains(where: { !$0.isActive(at: instant) && !$0.isCorrected(at: instant) }) {
            // What reversed payments had bought still names the refund as the reason until its grace ends;
            // after that the profile reads as if it never paid (``hiddenReason``).
            for period in paidPeriods(at: instant, policy: policy, ignoringReversals: true).periods {
                candidates.append(policy.lastVisibleDay(after: period.lastDay).addingDays(1))
            }
        }
        for period in periods {
            candidates.append(period.lastDay.addingDays(1))
            candidates.append(policy.lastVisibleDay(after: period.lastDay).addingDays(1))
            for days in policy.reminderDaysBefore {
                candidates.append(period.lastDay.addingDays(-days))
            }
        }
        for waiver in waivers where waiver.revokedAt == nil {
            candidates.append(waiver.granted.from)
            candidates.append(waiver.granted.through.addingDays(1))
        }
        // A payment dated ahead (up to a week) counts from its own day, which nothing else would schedule.
        for allocation in allocations where allocation.event.effectiveDate > today {
            candidates.append(allocation.event.effectiveDate)
        }
        return candidates.filter { $0 > today }.min()
    }
}

extension Int64 {
    /// The sum, or the nearest end of `Int64` when it overflows.
    public func addingSaturated(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        guard overflow else { return sum }
        return other < 0 ? .min : .max
    }
}
