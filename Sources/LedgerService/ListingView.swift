public import Foundation
public import LedgerCore

/// A profile's listing as the API shows it.
public struct ListingView: Sendable, Encodable {
    public var profileId: String
    public var at: Date
    public var status: String
    public var visible: Bool
    public var paidThrough: String?
    public var credit: String
    public var basis: ListingBasis?
    public var reason: String?
    /// What the directory had been told by `at`.
    public var published: PublishedView?

    public struct PublishedView: Sendable, Encodable {
        public var visible: Bool
        public var status: String
        public var paidThrough: String?
        public var at: Date
    }

    public init(_ profileID: ProfileID, _ state: ProfileState, at instant: Date, policy: ListingPolicy) {
        let evaluation = state.evaluate(at: instant, policy: policy)
        profileId = profileID.rawValue
        at = instant
        status = evaluation.status.rawValue
        visible = evaluation.visible
        paidThrough = evaluation.paidThrough?.description
        credit = Money.euros(minorUnits: evaluation.creditMinorUnits).decimalString
        basis = evaluation.basis
        reason = evaluation.reason?.rawValue
        published = state.published(at: instant).map {
            PublishedView(visible: $0.visible, status: $0.status.rawValue, paidThrough: $0.paidThrough?.description, at: $0.occurredAt)
        }
    }
}

extension ListingQueries {
    /// What an as-of text names.
    public enum AsOf: Sendable, Hashable {
        /// An instant within ``LedgerBounds``.
        case instant(Date)
        /// Written like a date in range, but a day that does not exist (2026-02-30).
        case missingDay
        /// Neither a date nor an RFC 3339 instant within the bounds.
        case unreadable
    }

    /// Reads an as-of text: a date means the end of that day in the organisation's zone (its last millisecond);
    /// an RFC 3339 instant means itself. Both must lie within ``LedgerBounds``.
    public static func asOf(_ text: String, calendar: OrganisationCalendar) -> AsOf {
        if let date = LocalDate(iso: text), LedgerBounds.contains(date) {
            return .instant(calendar.startOfDay(date.addingDays(1)).addingTimeInterval(-0.001))
        }
        if let instant = LedgerBounds.instant(parsing: text) { return .instant(instant) }
        return LedgerBounds.namesAMissingDay(text) ? .missingDay : .unreadable
    }
}
