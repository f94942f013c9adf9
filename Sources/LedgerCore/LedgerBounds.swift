public import Foundation

/// The limits every date, instant and period is held to where it enters the ledger (API, webhook,
/// statement, command line), so that nothing the outside world sends reaches arithmetic near the ends of
/// the calendar or of `Int64`.
///
/// A value outside these bounds is refused with a problem naming the limit, or, for money that has already
/// arrived (a webhook, a statement line), recorded and held for staff, never applied.
public enum LedgerBounds {
    /// The earliest date a payment, a waiver or an as-of question may name.
    public static let earliestDate = LocalDate(year: 2000, month: 1, day: 1) ?? .first
    /// The latest date an as-of question or a waiver may name.
    public static let latestDate = LocalDate(year: 2199, month: 12, day: 31) ?? .last
    /// How far after today a payment's effective date may lie (a bank's value date, a clock a little ahead).
    public static let paymentDateFutureDaysMax = 7
    /// The most listing periods one allocation may buy (ten years at the default tariff).
    public static let periodsPerAllocationMax = 10

    /// The largest amount, in minor units, a provider's payment or refund, or a statement's line or balance,
    /// may carry: 10000000000.00 in a currency with cents. Far above anything the ledger will see, and far
    /// enough below `Int64.max` that the books can add up millions of such amounts. A provider's event or a
    /// statement carrying more is refused whole, naming this limit.
    public static let amountMinorUnitsMax: Int64 = 1_000_000_000_000

    /// Whether `minorUnits` (of either sign) lies within ``amountMinorUnitsMax``.
    public static func acceptsAmount(_ minorUnits: Int64) -> Bool {
        minorUnits.magnitude <= amountMinorUnitsMax.magnitude
    }

    /// The limit as written in messages: `10000000000.00`.
    public static var amountLimitDescription: String { Money(minorUnits: amountMinorUnitsMax, currency: "").decimalString }

    /// Whether `date` may be a payment's effective date when today is `today`.
    public static func acceptsPaymentDate(_ date: LocalDate, today: LocalDate) -> Bool {
        earliestDate <= date && date <= today.addingDays(paymentDateFutureDaysMax)
    }

    /// A sentence naming the payment-date limit, for problems and holds.
    public static func paymentDateLimit(today: LocalDate) -> String {
        "a payment date must lie between \(earliestDate) and \(today.addingDays(paymentDateFutureDaysMax)) (at most \(paymentDateFutureDaysMax) days after today)"
    }

    /// Whether `text` starts like a date of 2000 to 2199 (`YYYY-MM-DD`) that does not exist (2026-02-30): the
    /// shape is right, the value is not, which deserves another answer than text that is no date at all.
    public static func namesAMissingDay(_ text: String) -> Bool {
        let head = Array(text.utf8.prefix(10))
        guard head.count == 10, text.hasPrefix("20") || text.hasPrefix("21") else { return false }
        let shaped = head.enumerated().allSatisfy { index, byte in [4, 7].contains(index) ? byte == UInt8(ascii: "-") : (0x30...0x39).contains(byte) }
        return shaped && LocalDate(iso: text.prefix(10)) == nil
    }

    /// Whether `date` lies within ``earliestDate`` … ``latestDate``.
    public static func contains(_ date: LocalDate) -> Bool {
        earliestDate <= date && date <= latestDate
    }

    /// A sentence naming the date range, for problems.
    public static var dateRangeDescription: String { "between \(earliestDate) and \(latestDate)" }

    /// `seconds` since 1970 (a provider's timestamp) as an instant, if it lies within ``earliestDate`` …
    /// ``latestDate`` (UTC); nil otherwise.
    public static func instant(unixSeconds seconds: Int64) -> Date? {
        bounded(Date(timeIntervalSince1970: TimeInterval(seconds)))
    }

    /// `instant` if it lies within ``earliestDate`` … ``latestDate`` (UTC); nil otherwise (a provider's time far
    /// out of range, which no conversion to whole seconds may trap on).
    public static func bounded(_ instant: Date) -> Date? {
        // 2000-01-01T00:00:00Z … 2199-12-31T23:59:59Z.
        (946_684_800.0...7_258_118_399.0).contains(instant.timeIntervalSince1970) ? instant : nil
    }
}

extension LedgerBounds {
    /// Parses an RFC 3339 instant strictly: `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, every field in its
    /// range (no 12:99 read as 13:39, no 24:00, no leap second), the date within ``earliestDate`` …
    /// ``latestDate``. Returns nil for anything else.
    public static func instant(parsing text: some StringProtocol) -> Date? {
        let bytes = Array(text.utf8)
        guard (20...35).contains(bytes.count) else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                let byte = bytes[index]
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
              bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: "t"),
              bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
              let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
              let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
              hour < 24, minute < 60, second < 60,
              let date = LocalDate(year: year, month: month, day: day), contains(date) else { return nil }
        var index = 19
        var fraction = 0.0
        if bytes[index] == UInt8(ascii: ".") {
            let start = index + 1
            index = start
            while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
            guard index > start, index - start <= 9, let digits = number(start..<index) else { return nil }
            fraction = Double(digits) / pow(10, Double(index - start))
        }
        guard index < bytes.count else { return nil }
        let offsetSeconds: Int
        switch bytes[index] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            guard index + 1 == bytes.count else { return nil }
            offsetSeconds = 0
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard index + 6 == bytes.count, bytes[index + 3] == UInt8(ascii: ":"),
                  let offsetHours = number(index + 1 ..< index + 3), let offsetMinutes = number(index + 4 ..< index + 6),
                  offsetHours < 24, offsetMinutes < 60 else { return nil }
            let sign = bytes[index] == UInt8(ascii: "-") ? -1 : 1
            offsetSeconds = sign * (offsetHours * 3_600 + offsetMinutes * 60)
        default:
            return nil
        }
        let seconds = date.dayNumber * 86_400 + hour * 3_600 + minute * 60 + second - offsetSeconds
        return Date(timeIntervalSince1970: Double(seconds) + fraction)
    }
}
