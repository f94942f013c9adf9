public import Foundation

/// A change of the dated listing policy, recorded in the `policy` stream: from `effectiveFrom` on, a period
/// of `monthsPerPeriod` months costs `price`, and `graceDays` of grace follow a last paid day.
///
/// Changes are history: a later change never edits an earlier one, and one with the same `effectiveFrom`
/// replaces it from then on only in the sense that the latest recorded change for a day is the one in force.
public struct ListingPolicyChanged: Sendable, Hashable, Codable {
    public static let typeName = "ListingPolicyChanged"
    public static let schemaVersion = 1

    public var effectiveFrom: LocalDate
    public var price: Money
    public var monthsPerPeriod: Int
    public var graceDays: Int
    public var reason: String
    /// True when the change takes effect before the day it was recorded: asked for explicitly.
    public var retroactive: Bool
    public var occurredAt: Date

    public init(
        effectiveFrom: LocalDate, price: Money, monthsPerPeriod: Int, graceDays: Int, reason: String, retroactive: Bool, occurredAt: Date
    ) {
        self.effectiveFrom = effectiveFrom
        self.price = price
        self.monthsPerPeriod = monthsPerPeriod
        self.graceDays = graceDays
        self.reason = reason
        self.retroactive = retroactive
        self.occurredAt = occurredAt
    }

    /// The data as stored, like every other event: JSON with sorted keys.
    public func encodedData() throws -> Data {
        try ProfileEvent.encoder.encode(self)
    }

    /// Decodes a stored change; nil for another type.
    public static func decode(typeName: String, data: Data) throws -> ListingPolicyChanged? {
        guard typeName == Self.typeName else { return nil }
        return try ProfileEvent.decoder.decode(Self.self, from: data)
    }
}

/// What staff ask to change in the policy.
public struct PolicyChangeRequest: Sendable, Hashable {
    public var effectiveFrom: LocalDate
    public var price: Money
    public var monthsPerPeriod: Int
    public var graceDays: Int
    public var reason: String
    /// Whether a change may take effect before today.
    public var allowPast: Bool
    /// What changes already scheduled after `effectiveFrom` would put back of what this one sets (see
    /// ``PolicyDecider/putBack(from:price:months:graceDays:tariff:graceDefault:)``); the change is refused while
    /// there is any.
    public var putBackLater: [String]
    /// The version of the `policy` stream the request was filled in and checked against (nil: not known); the
    /// change is recorded only if the stream is still there, so two changes made at once cannot pass each
    /// other's checks.
    public var basedOnVersion: Int64?

    public init(
        effectiveFrom: LocalDate, price: Money, monthsPerPeriod: Int, graceDays: Int, reason: String, allowPast: Bool, putBackLater: [String] = [],
        basedOnVersion: Int64? = nil
    ) {
        self.effectiveFrom = effectiveFrom
        self.price = price
        self.monthsPerPeriod = monthsPerPeriod
        self.graceDays = graceDays
        self.reason = reason
        self.allowPast = allowPast
        self.putBackLater = putBackLater
        self.basedOnVersion = basedOnVersion
    }
}

/// The rules of the dated policy: pure, like ``ProfileDecider``.
public enum PolicyDecider {
    /// The longest period a price may buy, in months.
    public static let monthsPerPeriodMax = 120
    /// The longest grace, in days.
    public static let graceDaysMax = 365
    /// The most changes the `policy` stream holds (far above any real history: a change a week for twenty years).
    public static let changesMax = 1_000

    /// Checks a requested change against the bounds and today, and returns the event that records it.
    public static func decide(_ request: PolicyChangeRequest, today: LocalDate, now: Date, amountMax: Money) throws(DomainError) -> ListingPolicyChanged {
        let reason = try ProfileDecider.requireText(request.reason, "reason")
        guard request.price.currency == "EUR" else { throw .currencyMismatch(request.price.currency, "EUR") }
        guard request.price.minorUnits > 0, request.price.minorUnits <= amountMax.minorUnits else {
            throw .invalidAmount("a price must be more than 0.00 and at most \(amountMax)")
        }
        guard (1...monthsPerPeriodMax).contains(request.monthsPerPeriod) else {
            throw .invalidArgument("a period is 1 to \(monthsPerPeriodMax) months")
        }
        guard (0...graceDaysMax).contains(request.graceDays) else {
            throw .invalidArgument("grace is 0 to \(graceDaysMax) days")
        }
        guard LedgerBounds.contains(request.effectiveFrom) else {
            throw .outOfBounds("a change must take effect \(LedgerBounds.dateRangeDescription)")
        }
        guard (request.basedOnVersion ?? 0) < changesMax else {
            throw .outOfBounds("the policy already holds \(changesMax) changes, the most the ledger keeps; no more can be scheduled")
        }
        // Each change keeps a whole copy of the tariff from its day: one scheduled before a later change would last
        // only until that one's day, silently. It is refused, saying what to do instead.
        guard request.putBackLater.isEmpty else {
            throw .invalidDateRange(
                "a change already scheduled later would put back what this one sets (\(request.putBackLater.joined(separator: "; "))), so "
                    + "this change would last only until then; schedule the later change again with the new values first (a second change "
                    + "for one day replaces the first), then this one"
            )
        }
        let retroactive = request.effectiveFrom < today
        guard !retroactive || request.allowPast else {
            throw .invalidDateRange(
                "the change would take effect on \(request.effectiveFrom), before today (\(today)), and so rewrite past answers; ask for it explicitly (allowPast in the API, --allow-past on the command line) with a reason if that is intended"
            )
        }
        return ListingPolicyChanged(
            effectiveFrom: request.effectiveFrom, price: request.price, monthsPerPeriod: request.monthsPerPeriod,
            graceDays: request.graceDays, reason: reason, retroactive: retroactive, occurredAt: now
        )
    }

    /// What the changes already in `tariff` dated after `from` would put back, from their own day, of the values a
    /// new change sets (`nil`: left as it is). Each entry is a whole copy of the tariff, so a later entry that only
    /// carried a value forward (it keeps the value in force on `from`) would end the new value on its day. A later
    /// entry that set a value of its own is a decision of its own: it and the entries after it are left alone for
    /// that value. Each in words: "from 2027-03-01 the price is 125.00 EUR".
    public static func putBack(from: LocalDate, price: Money?, months: Int?, graceDays: Int?, tariff: Tariff, graceDefault: Int) -> [String] {
        let before = tariff.entry(on: from)
        let later = tariff.entries.filter { $0.effectiveFrom > from }
        func copies<Value: Equatable>(_ new: Value?, _ value: (TariffEntry) -> Value, _ words: (TariffEntry) -> String) -> [String] {
            guard let new, new != value(before) else { return [] }
            return later.prefix { value($0) == value(before) }.map(words)
        }
        return copies(price, \.price) { "from \($0.effectiveFrom) the price is \($0.price)" }
            + copies(months, \.months) { "from \($0.effectiveFrom) a period is \($0.months) months" }
            + copies(graceDays, { $0.graceDays ?? graceDefault }) { "from \($0.effectiveFrom) grace is \($0.graceDays ?? graceDefault) days" }
    }

    /// The dated tariff the changes make, in recorded order (a later change for the same day wins); nil for
    /// no changes.
    public static func tariff(from changes: [ListingPolicyChanged]) -> Tariff? {
        var byDay: [LocalDate: TariffEntry] = [:]
        // Only changes the decider could have made count; anything else in the stream is ignored, never trapped on.
        for change in changes where change.price.minorUnits > 0 && change.monthsPerPeriod > 0 && change.graceDays >= 0 {
            byDay[change.effectiveFrom] = TariffEntry(
                effectiveFrom: change.effectiveFrom, price: change.price, months: change.monthsPerPeriod, graceDays: change.graceDays
            )
        }
        guard !byDay.isEmpty else { return nil }
        return Tariff(entries: Array(byDay.values))
    }
}
