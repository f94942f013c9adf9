import EventStore
public import Foundation
public import LedgerCore

/// A profile's events in plain words, for staff.
public enum Timeline {
    /// One event of a profile's history.
    public struct Entry: Sendable, Encodable {
        public var version: Int64
        public var type: String
        public var occurredAt: Date
        public var recordedAt: Date
        public var actor: String?
        public var summary: String
    }

    static func entry(_ recorded: RecordedEvent, _ event: ProfileEvent) -> Entry {
        Entry(
            version: recorded.version, type: recorded.type, occurredAt: event.occurredAt, recordedAt: recorded.recordedAt,
            actor: recorded.metadata.actor, summary: summary(event)
        )
    }

    static func summary(_ event: ProfileEvent) -> String {
        switch event {
        case .registered(let e): "Registered \(e.displayName) as \(e.kind.rawValue) (\(e.contactEmail))"
        case .certificationChanged(let e): "Certification \(e.state == .certified ? "granted" : e.state.rawValue): \(e.reason)"
        case .contributionAllocated(let e):
            "Payment \(e.paymentID) of \(e.amount) on \(e.effectiveDate) bought \(e.periodsBought) period(s) of \(e.monthsPerPeriod) months; credit \(Money.euros(minorUnits: e.creditAfterMinorUnits).decimalString) EUR"
                + (e.acceptedShortfallMinorUnits > 0 ? "; shortfall of \(Money.euros(minorUnits: e.acceptedShortfallMinorUnits)) accepted" : "")
        case .allocationReversed(let e): "Payment \(e.paymentID) reversed (\(e.kind.rawValue)): \(e.reason)"
        case .allocationReinstated(let e): "Payment \(e.paymentID) counts again: \(e.reason)"
        case .waiverGranted(let e): "Waiver \(e.waiverID) granted from \(e.from) through \(e.through): \(e.reason)"
        case .waiverRevoked(let e): "Waiver \(e.waiverID) revoked: \(e.reason)"
        case .visibilityChanged(let e):
            (e.visible ? "Listed (\(e.status.rawValue))" : "Hidden (\(e.reason?.rawValue ?? e.status.rawValue))")
                + (e.paidThrough.map { ", paid through \($0)" } ?? "")
        case .renewalReminderDue(let e): "Renewal reminder due: \(e.daysBefore) days before \(e.paidThrough)"
        }
    }
}
