public import Foundation

/// Whom a profile lists.
public enum ProfileKind: String, Sendable, Hashable, Codable, CaseIterable {
    case mediator, advocate
}

/// The certification states a profile moves through.
public enum CertificationState: String, Sendable, Hashable, Codable {
    case none, certified, suspended, revoked
}

/// Why an allocation was reversed.
public enum ReversalKind: String, Sendable, Hashable, Codable, CaseIterable {
    case refund, chargeback, bankReturn = "bank_return"
    /// Staff corrected a mistake: the payment was voided, moved to another profile, or its resolution reopened.
    case correction

    /// Checks a reversal staff make by hand: money given back outside the ledger's view (a refund, a chargeback,
    /// a bank return). A correction is recorded by the ledger itself when staff void, move or reopen a payment;
    /// one made by hand would be undone by the payment's next event, which finds the payment still paying for
    /// the profile.
    public static func checkMadeByHand(_ kind: ReversalKind) throws(DomainError) {
        guard kind != .correction else {
            throw .invalidArgument(
                "a correction cannot be made by hand: void an offline payment, move a payment to another profile, or reopen its resolution; a reversal by hand is a refund, chargeback or bank_return"
            )
        }
    }
}

/// An event in a `profile-<id>` stream. Each case has a stable type name and schema version.
public enum ProfileEvent: Sendable, Hashable {
    case registered(ProfileRegistered)
    case certificationChanged(CertificationChanged)
    case contributionAllocated(ContributionAllocated)
    case allocationReversed(AllocationReversed)
    case allocationReinstated(AllocationReinstated)
    case waiverGranted(WaiverGranted)
    case waiverRevoked(WaiverRevoked)
    case visibilityChanged(ListingVisibilityChanged)
    case renewalReminderDue(RenewalReminderDue)
}

/// A profile joined the ledger.
public struct ProfileRegistered: Sendable, Hashable, Codable {
    public static let typeName = "ProfileRegistered"
    public var profileID: ProfileID
    public var kind: ProfileKind
    public var displayName: String
    public var contactEmail: String
    public var occurredAt: Date
}

/// Certification was granted, suspended, revoked or reinstated (`state` is the new state).
public struct CertificationChanged: Sendable, Hashable, Codable {
    public static let typeName = "CertificationChanged"
    public var state: CertificationState
    public var reason: String
    public var occurredAt: Date
}

/// A listing payment (or part of one) was applied to the profile.
///
/// The tariff in force and what the payment bought are recorded, so a later price change never rewrites
/// history.
public struct ContributionAllocated: Sendable, Hashable, Codable {
    public static let typeName = "ContributionAllocated"
    public var paymentID: PaymentID
    public var amount: Money
    /// The day the money arrived (for a bank transfer: the booking date).
    public var effectiveDate: LocalDate
    /// The tariff entry in force on the effective date.
    public var price: Money
    public var monthsPerPeriod: Int
    /// Periods the allocation bought, given the credit before it.
    public var periodsBought: Int
    /// Credit left on the profile afterwards, in minor units.
    public var creditAfterMinorUnits: Int64
    /// A short payment staff accepted as a full period; the shortfall is recorded here.
    public var acceptedShortfallMinorUnits: Int64
    public var occurredAt: Date
}

/// What a payment bought was taken back.
public struct AllocationReversed: Sendable, Hashable, Codable {
    public static let typeName = "AllocationReversed"
    public var paymentID: PaymentID
    public var kind: ReversalKind
    public var reason: String
    public var occurredAt: Date
    /// Whether the payment rules took it back (the provider reported the payment refunded, charged back or
    /// returned), not staff by hand. Nil in reversals recorded before it was kept.
    public var byRule: Bool? = nil
}

/// A reversed allocation counts again (a dispute won).
public struct AllocationReinstated: Sendable, Hashable, Codable {
    public static let typeName = "AllocationReinstated"
    public var paymentID: PaymentID
    public var reason: String
    public var occurredAt: Date
}

/// Staff let the profile be listed without paying, for a date range (both days inclusive).
public struct WaiverGranted: Sendable, Hashable, Codable {
    public static let typeName = "WaiverGranted"
    public var waiverID: String
    public var from: LocalDate
    public var through: LocalDate
    public var reason: String
    public var occurredAt: Date
}

/// A waiver stops counting from `occurredAt`.
public struct WaiverRevoked: Sendable, Hashable, Codable {
    public static let typeName = "WaiverRevoked"
    public var waiverID: String
    public var reason: String
    public var occurredAt: Date
}

/// The directory must show or hide the listing. Appended whenever the visibility changes.
public struct ListingVisibilityChanged: Sendable, Hashable, Codable {
    public static let typeName = "ListingVisibilityChanged"
    public var visible: Bool
    public var status: ListingStatus
    /// Why it is visible (payments or waiver), when visible.
    public var basis: ListingBasis?
    /// Why it is hidden, when hidden.
    public var reason: HiddenReason?
    public var paidThrough: LocalDate?
    public var occurredAt: Date
}

/// A renewal reminder fell due `daysBefore` days before `paidThrough`.
public struct RenewalReminderDue: Sendable, Hashable, Codable {
    public static let typeName = "RenewalReminderDue"
    public var paidThrough: LocalDate
    public var daysBefore: Int
    public var occurredAt: Date
}

extension ProfileEvent {
    /// The event's stable type name.
    public var typeName: String {
        switch self {
        case .registered: ProfileRegistered.typeName
        case .certificationChanged: CertificationChanged.typeName
        case .contributionAllocated: ContributionAllocated.typeName
        case .allocationReversed: AllocationReversed.typeName
        case .allocationReinstated: AllocationReinstated.typeName
        case .waiverGranted: WaiverGranted.typeName
        case .waiverRevoked: WaiverRevoked.typeName
        case .visibilityChanged: ListingVisibilityChanged.typeName
        case .renewalReminderDue: RenewalReminderDue.typeName
        }
    }

    /// The visibility change, if this is one.
    public var visibilityChange: ListingVisibilityChanged? {
        if case .visibilityChanged(let change) = self { return change }
        return nil
    }

    /// Every event's schema is at version 1.
    public static let schemaVersion = 1

    /// When the fact happened.
    public var occurredAt: Date {
        switch self {
        case .registered(let event): event.occurredAt
        case .certificationChanged(let event): event.occurredAt
        case .contributionAllocated(let event): event.occurredAt
        case .allocationReversed(let event): event.occurredAt
        case .allocationReinstated(let event): event.occurredAt
        case .waiverGranted(let event): event.occurredAt
        case .waiverRevoked(let event): event.occurredAt
        case .visibilityChanged(let event): event.occurredAt
        case .renewalReminderDue(let event): event.occurredAt
        }
    }

    /// The data as stored: JSON with sorted keys, dates as ISO 8601.
    public func encodedData() throws -> Data {
        let encoder = Self.encoder
        return switch self {
        case .registered(let event): try encoder.encode(event)
        case .certificationChanged(let event): try encoder.encode(event)
        case .contributionAllocated(let event): try encoder.encode(event)
        case .allocationReversed(let event): try encoder.encode(event)
        case .allocationReinstated(let event): try encoder.encode(event)
        case .waiverGranted(let event): try encoder.encode(event)
        case .waiverRevoked(let event): try encoder.encode(event)
        case .visibilityChanged(let event): try encoder.encode(event)
        case .renewalReminderDue(let event): try encoder.encode(event)
        }
    }

    /// Decodes a stored event; nil for a type this stream does not hold.
    public static func decode(typeName: String, data: Data) throws -> ProfileEvent? {
        let decoder = Self.decoder
        switch typeName {
        case ProfileRegistered.typeName: return .registered(try decoder.decode(ProfileRegistered.self, from: data))
        case CertificationChanged.typeName: return .certificationChanged(try decoder.decode(CertificationChanged.self, from: data))
        case ContributionAllocated.typeName: return .contributionAllocated(try decoder.decode(ContributionAllocated.self, from: data))
        case AllocationReversed.typeName: return .allocationReversed(try decoder.decode(AllocationReversed.self, from: data))
        case AllocationReinstated.typeName: return .allocationReinstated(try decoder.decode(AllocationReinstated.self, from: data))
        case WaiverGranted.typeName: return .waiverGranted(try decoder.decode(WaiverGranted.self, from: data))
        case WaiverRevoked.typeName: return .waiverRevoked(try decoder.decode(WaiverRevoked.self, from: data))
        case ListingVisibilityChanged.typeName: return .visibilityChanged(try decoder.decode(ListingVisibilityChanged.self, from: data))
        case RenewalReminderDue.typeName: return .renewalReminderDue(try decoder.decode(RenewalReminderDue.self, from: data))
        default: return nil
        }
    }

    /// The stored form of every event: sorted keys, unescaped slashes, instants as ``StoredInstant`` text (the
    /// bytes Foundation's `JSONEncoder` wrote with those settings, see ``CompactJSONEncoder``).
    static var encoder: CompactJSONEncoder { CompactJSONEncoder(dates: .storedInstant) }

    /// The decoder of every stored event: instants as ``StoredInstant`` text (and, for events stored before it,
    /// any ISO 8601 instant), read by ``CompactJSONDecoder``.
    static let decoder = CompactJSONDecoder(dates: .storedInstant)
}

extension LocalDate {
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let date = LocalDate(iso: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "'\(text)' is not a YYYY-MM-DD date"))
        }
        self = date
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }
}
