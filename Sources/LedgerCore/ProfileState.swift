public import Foundation

/// A profile's state: the fold of its stream. Built by ``evolve(_:)`` alone, so it is deterministic.
public struct ProfileState: Sendable, Hashable, Codable {
    public var profileID: ProfileID?
    public var kind: ProfileKind?
    public var displayName: String = ""
    public var contactEmail: String = ""
    /// How many events were folded: the stream's version.
    public var version: Int64 = 0
    /// Certification changes in order.
    public var certificationChanges: [CertificationChanged] = []
    /// Allocations in the order recorded.
    public var allocations: [AllocationRecord] = []
    public var waivers: [WaiverRecord] = []
    /// The last visibility the directory was told.
    public var published: ListingVisibilityChanged?
    /// Every visibility change, for "what was the directory told then".
    public var publishedHistory: [ListingVisibilityChanged] = []
    /// Reminders recorded, as (paid-through date, days before).
    public var reminders: [RenewalReminderDue] = []
    /// The latest instant any of its events says it happened (nil before the first, and in states kept before it
    /// was). A decision is made no earlier than this (``ProfileDecider/decide(_:state:profileID:now:policy:)``).
    public var lastEventAt: Date?

    public init() {}

    public var isRegistered: Bool { profileID != nil }

    /// How far ahead of a clock the latest event of a stream is still believed (``decisionInstant(now:)``).
    public static let clockLeadBelievedMax: TimeInterval = 300

    /// The instant a decision about the profile is made at, on a clock reading `now`: never before what its stream
    /// already says happened, so an instance whose clock is behind another's (or was stepped back) does not
    /// evaluate the profile before a refund or suspension the other recorded a moment "later", find the listing
    /// still paid, and publish it visible again. An event dated more than ``clockLeadBelievedMax`` ahead of `now`
    /// is taken for a clock gone wrong and moves the decision only that far, so one bad reading cannot carry a
    /// profile's decisions into the future.
    public func decisionInstant(now: Date) -> Date {
        guard let lastEventAt, lastEventAt > now else { return now }
        return min(lastEventAt, now.addingTimeInterval(Self.clockLeadBelievedMax))
    }

    /// The certification state at `instant`.
    public func certification(at instant: Date) -> CertificationState {
        certificationChanges.last { $0.occurredAt <= instant }?.state ?? .none
    }

    /// The certification state now (after every change recorded).
    public var currentCertification: CertificationState { certificationChanges.last?.state ?? .none }

    /// Applies one event.
    public mutating func evolve(_ event: ProfileEvent) {
        version += 1
        lastEventAt = max(lastEventAt ?? event.occurredAt, event.occurredAt)
        switch event {
        case .registered(let registered):
            profileID = registered.profileID
            kind = registered.kind
            displayName = registered.displayName
            contactEmail = registered.contactEmail
        case .certificationChanged(let change):
            certificationChanges.append(change)
        case .contributionAllocated(let allocation):
            allocations.append(AllocationRecord(event: allocation, changes: []))
        case .allocationReversed(let reversal):
            if let index = allocations.lastIndex(where: { $0.event.paymentID == reversal.paymentID }) {
                allocations[index].changes.append(.init(active: false, at: reversal.occurredAt, reversedAs: reversal.kind, byRule: reversal.byRule))
            }
        case .allocationReinstated(let reinstatement):
            if let index = allocations.lastIndex(where: { $0.event.paymentID == reinstatement.paymentID }) {
                allocations[index].changes.append(.init(active: true, at: reinstatement.occurredAt))
            }
        case .waiverGranted(let waiver):
            waivers.append(WaiverRecord(granted: waiver, revokedAt: nil))
        case .waiverRevoked(let revocation):
            if let index = waivers.firstIndex(where: { $0.granted.waiverID == revocation.waiverID }) {
                waivers[index].revokedAt = revocation.occurredAt
            }
        case .visibilityChanged(let change):
            published = change
            publishedHistory.append(change)
        case .renewalReminderDue(let reminder):
            reminders.append(reminder)
        }
    }

    /// Folds a whole stream.
    public static func fold(_ events: some Sequence<ProfileEvent>) -> ProfileState {
        var state = ProfileState()
        for event in events { state.evolve(event) }
        return state
    }

    /// The allocation of a payment, if any.
    public func allocation(of paymentID: PaymentID) -> AllocationRecord? {
        allocations.last { $0.event.paymentID == paymentID }
    }

    /// What the directory was told as of `instant`: the last visibility change at or before it.
    public func published(at instant: Date) -> ListingVisibilityChanged? {
        publishedHistory.last { $0.occurredAt <= instant }
    }
}

/// An allocation and its reversals and reinstatements.
public struct AllocationRecord: Sendable, Hashable, Codable {
    public struct Change: Sendable, Hashable, Codable {
        public var active: Bool
        public var at: Date
        /// For a reversal, why.
        public var reversedAs: ReversalKind?
        /// For a reversal, whether the payment rules made it (see ``AllocationReversed/byRule``).
        public var byRule: Bool?

        public init(active: Bool, at: Date, reversedAs: ReversalKind? = nil, byRule: Bool? = nil) {
            self.active = active
            self.at = at
            self.reversedAs = reversedAs
            self.byRule = byRule
        }
    }

    public var event: ContributionAllocated
    public var changes: [Change]

    /// Whether the allocation counts at `instant`.
    public func isActive(at instant: Date) -> Bool {
        changes.last { $0.at <= instant }?.active ?? true
    }

    /// Whether, at `instant`, it was taken back as a correction (voided, moved to another profile, its resolution
    /// reopened): then it never paid for this profile, where a refund, chargeback or return took back what it did.
    public func isCorrected(at instant: Date) -> Bool {
        guard let change = changes.last(where: { $0.at <= instant }), !change.active else { return false }
        return change.reversedAs == .correction
    }

    /// Whether it counts after every recorded change.
    public var isActiveNow: Bool { changes.last?.active ?? true }

    /// Why it stopped counting, if it did and has not counted again since.
    public var reversedAs: ReversalKind? { changes.last.flatMap { $0.active ? nil : $0.reversedAs } }

    /// Whether the payment rules took it back (not staff by hand), if it does not count now.
    public var reversedByRule: Bool { changes.last.map { !$0.active && $0.byRule == true } ?? false }
}

/// A waiver and its revocation.
public struct WaiverRecord: Sendable, Hashable, Codable {
    public var granted: WaiverGranted
    public var revokedAt: Date?

    /// Whether the waiver makes the listing visible at `instant` (on local date `today`).
    public func isActive(at instant: Date, on today: LocalDate) -> Bool {
        granted.from <= today && today <= granted.through && (revokedAt.map { instant < $0 } ?? true)
    }

    /// Whether the waiver counted on any day: not when it was revoked before its first day began.
    func everCounted(calendar: OrganisationCalendar) -> Bool {
        revokedAt.map { calendar.date(at: $0) >= granted.from } ?? true
    }

    /// The first day the waiver no longer counted, if that is on or before `today`; nil for a waiver that never
    /// counted. A revocation after its last day does not move its end.
    func end(before instant: Date, today: LocalDate, calendar: OrganisationCalendar) -> LocalDate? {
        guard granted.from <= today, everCounted(calendar: calendar) else { return nil }
        let ran = granted.through.addingDays(1)
        if let revokedAt, revokedAt <= instant {
            return min(calendar.date(at: revokedAt), ran)
        }
        return granted.through < today ? ran : nil
    }
}
