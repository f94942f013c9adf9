public import Foundation

/// A calendar date in the organisation's time zone: no time, no zone. Periods are made of these.
public struct LocalDate: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int

    /// A valid date, or nil (e.g. 2026-02-30).
    public init?(year: Int, month: Int, day: Int) {
        guard (1...9999).contains(year), (1...12).contains(month), (1...Self.daysIn(month: month, year: year)).contains(day) else {
            return nil
        }
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses `YYYY-MM-DD`, digits only (`Int` alone would take `2026-01-+1` for the first of January).
    public init?(iso text: some StringProtocol) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              parts.allSatisfy({ $0.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) } }),
              let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2]) else { return nil }
        self.init(year: year, month: month, day: day)
    }

    /// `YYYY-MM-DD` (years are 1 to 9999, so always four digits).
    public var description: String {
        func digits(_ value: Int, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return digits(year, 4) + "-" + digits(month, 2) + "-" + digits(day, 2)
    }

    public static func < (lhs: LocalDate, rhs: LocalDate) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }

    static func isLeap(_ year: Int) -> Bool { (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// The first date this type holds: 0001-01-01.
    public static let first = LocalDate(uncheckedYear: 1, month: 1, day: 1)
    /// The last date this type holds: 9999-12-31.
    public static let last = LocalDate(uncheckedYear: 9_999, month: 12, day: 31)

    private init(uncheckedYear year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// Adds calendar months, clamping to the month's end: 31 Jan + 1 month = 28/29 Feb, 29 Feb + 12 months
    /// = 28 Feb. Never "30 days".
    ///
    /// Arithmetic never traps: a result beyond the years 1…9999 saturates at ``first`` or ``last``. The
    /// ledger bounds every date and amount where it enters (``LedgerBounds``), so no real answer comes near
    /// either end; saturation only keeps a bug or a hostile value from stopping the process.
    public func addingMonths(_ months: Int) -> LocalDate {
        let (zeroBased, overflow) = (year * 12 + (month - 1)).addingReportingOverflow(months)
        guard !overflow else { return months < 0 ? .first : .last }
        let newYear = zeroBased / 12
        guard newYear >= 1 else { return .first }
        guard newYear <= 9_999 else { return .last }
        let newMonth = zeroBased % 12 + 1
        let newDay = min(day, Self.daysIn(month: newMonth, year: newYear))
        return LocalDate(uncheckedYear: newYear, month: newMonth, day: newDay)
    }

    /// Days since 1970-01-01 (proleptic Gregorian), for day arithmetic.
    public var dayNumber: Int {
        // Howard Hinnant's days_from_civil.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The date `dayNumber` days after 1970-01-01, saturating at ``first`` and ``last``.
    public init(dayNumber: Int) {
        let dayNumber = min(max(dayNumber, Self.firstDayNumber), Self.lastDayNumber)
        let z = dayNumber + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        self.year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        self.month = month
        self.day = day
    }

    /// Day numbers of ``first`` and ``last``.
    static let firstDayNumber = -719_162
    static let lastDayNumber = 2_932_896

    /// Adds days, saturating at ``first`` and ``last`` (see ``addingMonths(_:)``).
    public func addingDays(_ days: Int) -> LocalDate {
        let (sum, overflow) = dayNumber.addingReportingOverflow(days)
        guard !overflow else { return days < 0 ? .first : .last }
        return LocalDate(dayNumber: sum)
    }

    /// Whole days from `self` to `other` (positive when `other` is later).
    public func days(until other: LocalDate) -> Int { other.dayNumber - dayNumber }
}

/// Converts between instants and the organisation's calendar dates.
public struct OrganisationCalendar: Sendable, Hashable {
    public let timeZone: TimeZone

    public init(timeZone: TimeZone) {
        self.timeZone = timeZone
    }

    /// Europe/Amsterdam, the default.
    public static let amsterdam = OrganisationCalendar(timeZone: TimeZone(identifier: "Europe/Amsterdam")!)

    private var calendar: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        return calendar
    }

    /// Seconds from 1970 of 0001-01-01T00:00:00Z and of 9999-12-31T23:59:59Z: instants outside are read
    /// as these, so no instant, however far off, makes a date that does not exist.
    static let instantSecondsRange: ClosedRange<Double> = -62_135_596_800 ... 253_402_300_799

    /// The calendar date at `instant` in the organisation's zone (saturating at ``LocalDate/first`` and
    /// ``LocalDate/last``).
    public func date(at instant: Date) -> LocalDate {
        let seconds = instant.timeIntervalSince1970
        guard seconds.isFinite else { return seconds < 0 ? .first : .last }
        let clamped = min(max(seconds, Self.instantSecondsRange.lowerBound), Self.instantSecondsRange.upperBound)
        let local = clamped + Double(timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: clamped)))
        return LocalDate(dayNumber: Int((local / 86_400).rounded(.down)))
    }

    /// The instant a date begins (local midnight; the zone's rules handle daylight-saving changes).
    public func startOfDay(_ date: LocalDate) -> Date {
        if let start = calendar.date(from: DateComponents(year: date.year, month: date.month, day: date.day)) {
            return start
        }
        // Foundation gives no date only at the far ends of its calendar: take UTC midnight there.
        return Date(timeIntervalSince1970: Double(date.dayNumber) * 86_400)
    }
}
