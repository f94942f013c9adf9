/// One entry of the dated listing policy: from `effectiveFrom` on, a period of `months` costs `price`, and a
/// listing whose last paid day falls before a day in force of this entry stays visible `graceDays` longer.
public struct TariffEntry: Sendable, Hashable, Codable {
    public var effectiveFrom: LocalDate
    public var price: Money
    public var months: Int
    /// The grace in force from `effectiveFrom`; nil: the policy's ``ListingPolicy/graceDays``.
    public var graceDays: Int?

    public init(effectiveFrom: LocalDate, price: Money, months: Int, graceDays: Int? = nil) {
        precondition(price.minorUnits > 0 && months > 0, "a tariff needs a positive price and period")
        precondition(graceDays.map { $0 >= 0 } ?? true, "grace cannot be negative")
        self.effectiveFrom = effectiveFrom
        self.price = price
        self.months = months
        self.graceDays = graceDays
    }
}

/// The dated price list. The entry in force on a payment's effective date applies.
public struct Tariff: Sendable, Hashable, Codable {
    /// Entries sorted by `effectiveFrom`.
    public let entries: [TariffEntry]

    public init(entries: [TariffEntry]) {
        precondition(!entries.isEmpty, "a tariff needs at least one entry")
        self.entries = entries.sorted { $0.effectiveFrom < $1.effectiveFrom }
    }

    /// 125.00 EUR for 12 months, since ever.
    public static let standard = Tariff(entries: [
        TariffEntry(effectiveFrom: LocalDate(year: 2000, month: 1, day: 1)!, price: .euros(minorUnits: 12_500), months: 12),
    ])

    /// The entry in force on `date` (the first entry for dates before it).
    public func entry(on date: LocalDate) -> TariffEntry {
        entries.last { $0.effectiveFrom <= date } ?? entries[0]
    }
}

/// The listing rules' settings. Defaults are DESIGN.md §3's.
public struct ListingPolicy: Sendable, Hashable {
    public var tariff: Tariff
    /// Days after the last paid day during which the listing stays visible, where the tariff entry in force
    /// does not say otherwise (see ``graceDays(after:)``).
    public var graceDays: Int
    /// Days before the paid-through date at which a renewal reminder falls due.
    public var reminderDaysBefore: [Int]
    public var calendar: OrganisationCalendar
    /// The largest single payment applied without staff; above it a payment is held (`amount-over-limit`)
    /// and a staff command is refused.
    public var paymentAmountMax: Money

    /// 10,000.00 EUR, the default ``paymentAmountMax``.
    public static let defaultPaymentAmountMax = Money.euros(minorUnits: 1_000_000)

    public init(
        tariff: Tariff = .standard, graceDays: Int = 14, reminderDaysBefore: [Int] = [30, 7],
        calendar: OrganisationCalendar = .amsterdam, paymentAmountMax: Money = defaultPaymentAmountMax
    ) {
        precondition(graceDays >= 0)
        self.tariff = tariff
        self.graceDays = graceDays
        self.reminderDaysBefore = reminderDaysBefore.sorted(by: >)
        self.calendar = calendar
        self.paymentAmountMax = paymentAmountMax
    }

    /// The grace that follows a period whose last paid day is `lastDay`: the one in force on the first day
    /// of grace. A later change of grace therefore never rewrites an earlier answer.
    public func graceDays(after lastDay: LocalDate) -> Int {
        tariff.entry(on: lastDay.addingDays(1)).graceDays ?? graceDays
    }

    /// The last day a period ending on `lastDay` stays visible, grace included.
    public func lastVisibleDay(after lastDay: LocalDate) -> LocalDate {
        lastDay.addingDays(graceDays(after: lastDay))
    }

    /// Why `amount` may not be applied as one payment, if it may not: above ``paymentAmountMax``.
    public func amountLimitProblem(_ amount: Money) -> String? {
        guard amount.currency == paymentAmountMax.currency, amount.minorUnits > paymentAmountMax.minorUnits else { return nil }
        return "\(amount) is more than the \(paymentAmountMax) one payment may be without staff review"
    }

    public static let standard = ListingPolicy()
}
