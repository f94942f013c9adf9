import Foundation
import LedgerCore
import Testing

@Suite("Instants and dates as stored")
struct StoredInstantTests {
    static let style = Date.ISO8601FormatStyle().year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted)

    @Test func anInstantIsWrittenExactlyAsFoundationsFormatStyleWritesIt() {
        var generator = SeededGenerator(seed: 20_261_130)
        for _ in 0..<50_000 {
            // 1970 to 2096, at any fraction of a millisecond, and the millisecond values a parse gives back.
            let milliseconds = Int64.random(in: 0...4_000_000_000_000, using: &generator)
            let jitter = Double.random(in: -0.0011..<0.0011, using: &generator)
            for date in [
                Date(timeIntervalSince1970: Double(milliseconds) / 1_000 + jitter),
                Date(timeIntervalSinceReferenceDate: Double(milliseconds / 1_000 - 978_307_200) + Double(milliseconds % 1_000) * 0.001),
            ] {
                // Within a microsecond below a millisecond the format style truncates and the stored form rounds up
                // (so that what was read is written back unchanged); everywhere else they agree.
                let sinceReference = date.timeIntervalSinceReferenceDate
                let fraction = (sinceReference - sinceReference.rounded(.down)) * 1_000
                guard fraction - fraction.rounded(.down) < 0.999 else { continue }
                #expect(StoredInstant.format(date) == date.formatted(Self.style), "\(date.timeIntervalSince1970)")
            }
        }
    }

    @Test func aStoredInstantIsWrittenBackAsTheSameTextAndReadWithinAMicrosecondOfTheFormatStyle() throws {
        var generator = SeededGenerator(seed: 7)
        for _ in 0..<20_000 {
            let date = Date(timeIntervalSince1970: Double.random(in: 0..<4_000_000_000, using: &generator))
            let text = date.formatted(Self.style)
            let parsed = try #require(StoredInstant.parse(text), "\(text)")
            #expect(StoredInstant.format(parsed) == text)
            #expect(abs(parsed.timeIntervalSince(try Date(text, strategy: Self.style))) < 0.000_001, "\(text)")
        }
    }

    /// Far from 2001 a double's last place is coarser than a microsecond; what was read is still written back.
    @Test func instantsFromTheYear1000ToThe9999thAreWrittenBackAsTheyWereRead() throws {
        var generator = SeededGenerator(seed: 11)
        for _ in 0..<20_000 {
            let year = Int.random(in: 1_000...9_999, using: &generator)
            let text = String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", year, Int.random(in: 1...12, using: &generator),
                              Int.random(in: 1...28, using: &generator), Int.random(in: 0...23, using: &generator),
                              Int.random(in: 0...59, using: &generator), Int.random(in: 0...59, using: &generator),
                              Int.random(in: 0...999, using: &generator))
            let parsed = try #require(StoredInstant.parse(text), "\(text)")
            #expect(StoredInstant.format(parsed) == text)
        }
    }

    @Test(arguments: [
        "2026-02-30T00:00:00.000Z", "2026-11-30T24:00:00.000Z", "2026-11-30T23:60:00.000Z", "2026-11-30T23:59:60.000Z",
        "2026-11-30T08:27:09.123+01:00", "2026-11-30T08:27:09Z", "2026-11-30 08:27:09.123Z", "2026-11-30T08:27:09.12xZ",
        "0000-01-01T00:00:00.000Z", "", "2026-11-30T08:27:09.123Z ",
    ])
    func anythingButTheCanonicalFormIsLeftToTheFormatStyle(text: String) {
        #expect(StoredInstant.parse(text) == nil)
    }

    @Test func aLocalDateIsWrittenWithFourDigitYearsAndTwoDigitMonthsAndDays() throws {
        #expect(try #require(LocalDate(year: 1, month: 2, day: 3)).description == "0001-02-03")
        #expect(try #require(LocalDate(year: 2026, month: 11, day: 30)).description == "2026-11-30")
        #expect(try #require(LocalDate(year: 987, month: 10, day: 9)).description == "0987-10-09")
    }
}

/// SplitMix64: the same numbers every run, so a failure names an input that fails again.
private struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }
}
