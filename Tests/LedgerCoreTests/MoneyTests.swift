@testable import LedgerCore
import Testing

@Suite("Money")
struct MoneyTests {
    @Test(arguments: [("125.00", 12_500), ("125,00", 12_500), ("125", 12_500), ("0.5", 50), ("0,05", 5), (" 7.10 ", 710)])
    func parsesExactly(text: String, minorUnits: Int64) throws {
        #expect(try Money(parsing: text, currency: "eur") == Money(minorUnits: minorUnits, currency: "EUR"))
    }

    @Test(arguments: ["125.001", "-125.00", "+125", "1,250.00", "12 500", "", ".50", "125.", "abc", "99999999999999999999"])
    func rejectsAnythingElse(text: String) {
        #expect(throws: DomainError.self) { try Money(parsing: text, currency: "EUR") }
    }

    /// An amount field of megabytes is refused with a message of a line, not sent back whole.
    @Test(arguments: [String(repeating: "9", count: 1_000_000), String(repeating: "x", count: 1_000_000), "1." + String(repeating: "5", count: 100_000)])
    func namesLongTextCutShort(text: String) {
        #expect {
            try Money(parsing: text, currency: "EUR")
        } throws: { error in
            guard case DomainError.invalidAmount(let message) = error else { return false }
            return message.count < 120 && message.contains(String(text.prefix(40)) + "…")
        }
    }

    @Test
    func formatsAndAddsWithoutOverflowOrMixing() throws {
        #expect(euros(12_505).decimalString == "125.05")
        #expect(euros(-7).decimalString == "-0.07")
        #expect(try euros(100).adding(euros(25)) == euros(125))
        #expect(throws: DomainError.self) { try euros(1).adding(Money(minorUnits: 1, currency: "USD")) }
        #expect(throws: DomainError.self) { try euros(.max).adding(euros(1)) }
    }

    /// Minor units are the currency's own (ISO 4217), as the card provider and bank statements count them: yen
    /// have none (1000 minor units are ¥1,000, written "1000"), dinars three decimals (1250 are "1.250").
    @Test
    func everyCurrencyIsWrittenWithItsOwnDecimals() throws {
        #expect(Money(minorUnits: 1_000, currency: "jpy").decimalString == "1000")
        #expect(try Money(parsing: "1000", currency: "JPY") == Money(minorUnits: 1_000, currency: "JPY"))
        #expect(throws: DomainError.self) { try Money(parsing: "1000.50", currency: "JPY") }
        #expect(Money(minorUnits: 1_250, currency: "KWD").decimalString == "1.250")
        #expect(Money(minorUnits: -5, currency: "KWD").decimalString == "-0.005")
        #expect(try Money(parsing: "1.25", currency: "KWD") == Money(minorUnits: 1_250, currency: "KWD"))
        #expect(throws: DomainError.self) { try Money(parsing: "1.2505", currency: "KWD") }
        #expect(Money(minorUnits: 12_500, currency: "USD").decimalString == "125.00")
        #expect(Money(minorUnits: 7, currency: "").decimalString == "0.07")
        for currency in ["EUR", "JPY", "KWD"] {
            for minor in [Int64.min + 1, -1_001, 0, 9, 1_000_001, .max] {
                let money = Money(minorUnits: minor, currency: currency)
                if minor >= 0 { #expect(try Money(parsing: money.decimalString, currency: currency) == money, "\(money)") }
            }
        }
    }
}

@Suite("Calendar dates")
struct LocalDateTests {
    @Test(arguments: [
        ("2026-01-31", 1, "2026-02-28"), ("2028-01-31", 1, "2028-02-29"), ("2028-02-29", 12, "2029-02-28"),
        ("2026-03-31", 1, "2026-04-30"), ("2026-12-15", 1, "2027-01-15"), ("2026-01-15", 12, "2027-01-15"),
        ("2026-08-31", 6, "2027-02-28"), ("2026-05-31", -3, "2026-02-28"),
    ])
    func monthsClampToTheMonthsEndNeverThirtyDays(start: String, months: Int, expected: String) {
        #expect(day(start).addingMonths(months) == day(expected))
    }

    @Test
    func dayArithmeticRoundTrips() {
        for number in stride(from: -1_000, to: 30_000, by: 37) {
            let date = LocalDate(dayNumber: number)
            #expect(date.dayNumber == number)
            #expect(date.addingDays(1) > date)
        }
        #expect(day("2026-03-01").addingDays(-1) == day("2026-02-28"))
        #expect(day("2028-03-01").addingDays(-1) == day("2028-02-29"))
    }

    @Test
    func datesFollowAmsterdamAcrossDaylightSavingChanges() {
        // 2026-03-29 02:00 CET becomes 03:00 CEST; 2026-10-25 03:00 CEST becomes 02:00 CET.
        let calendar = OrganisationCalendar.amsterdam
        #expect(calendar.date(at: Date(timeIntervalSince1970: 1_774_738_800)) == day("2026-03-29")) // 2026-03-28T23:00Z = 00:00 CET
        #expect(calendar.date(at: Date(timeIntervalSince1970: 1_774_738_799)) == day("2026-03-28"))
        #expect(calendar.startOfDay(day("2026-03-30")).timeIntervalSince(calendar.startOfDay(day("2026-03-29"))) == 23 * 3600)
        #expect(calendar.startOfDay(day("2026-10-26")).timeIntervalSince(calendar.startOfDay(day("2026-10-25"))) == 25 * 3600)
        // 23:30 UTC on 31 December is already 1 January in Amsterdam.
        #expect(calendar.date(at: Date(timeIntervalSince1970: 1_798_759_800)) == day("2027-01-01"))
    }
}

import Foundation
