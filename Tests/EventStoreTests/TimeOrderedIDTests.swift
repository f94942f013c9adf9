@testable import EventStore
import Foundation
import Testing

@Suite("Time-ordered ids")
struct TimeOrderedIDTests {
    /// A generator that repeats one value, so the random bits are known.
    struct Repeating: RandomNumberGenerator {
        var value: UInt64
        mutating func next() -> UInt64 { value }
    }

    /// A generator that gives its values in turn, so each draw's place in the id shows.
    struct InTurn: RandomNumberGenerator {
        var values: [UInt64]
        mutating func next() -> UInt64 { values.isEmpty ? 0 : values.removeFirst() }
    }

    @Test func theFirstFortyEightBitsAreTheMillisecondThenVersionSevenAndTheVariant() {
        // 2026-12-01T12:00:00.1235Z falls in the millisecond 1,796,126,400,123 ms after 1970: 0x01A2_3179_DE7B.
        let instant = Date(timeIntervalSince1970: 1_796_126_400.1235)
        var zeros = Repeating(value: 0)
        #expect(UUID.timeOrdered(at: instant, using: &zeros).uuidString.lowercased() == "01a23179-de7b-7000-8000-000000000000")
        var ones = Repeating(value: .max)
        #expect(UUID.timeOrdered(at: instant, using: &ones).uuidString.lowercased() == "01a23179-de7b-7fff-bfff-ffffffffffff")
        // The first draw fills the last eight bytes (its low byte first), the second the two before them (its two
        // high bytes); version and variant bits are set over them.
        var inTurn = InTurn(values: [0x0102_0304_0506_0708, 0x1112_1314_1516_1718])
        #expect(UUID.timeOrdered(at: instant, using: &inTurn).uuidString.lowercased() == "01a23179-de7b-7211-8807-060504030201")
    }

    @Test func idsOfLaterMillisecondsSortAfterEarlierOnesAsBytesAndAsText() {
        // Each instant half a millisecond into its millisecond, so that rounding never moves it into the next.
        let start = Date(timeIntervalSince1970: 1_796_126_400.0005)
        var previous = UUID.timeOrdered(at: start)
        for step in 1...2_000 {
            let next = UUID.timeOrdered(at: start.addingTimeInterval(Double(step) / 1_000))
            // The log's index compares the lowercased text on SQLite and the bytes on PostgreSQL.
            #expect(previous.uuidString.lowercased() < next.uuidString.lowercased())
            #expect(withUnsafeBytes(of: previous.uuid) { a in withUnsafeBytes(of: next.uuid) { b in a.lexicographicallyPrecedes(b) } })
            previous = next
        }
    }

    @Test func idsOfOneMillisecondDiffer() {
        let instant = Date(timeIntervalSince1970: 1_796_126_400)
        let ids = Set((0..<10_000).map { _ in UUID.timeOrdered(at: instant) })
        #expect(ids.count == 10_000)
        #expect(ids.allSatisfy { $0.uuidString.hasPrefix("01A23179-DE00-7") })
    }

    @Test func aClockOutsideWhatTheIdHoldsIsClampedNotTrapped() {
        var zeros = Repeating(value: 0)
        for instant in [Date(timeIntervalSince1970: -1), Date(timeIntervalSince1970: -.greatestFiniteMagnitude), Date(timeIntervalSinceReferenceDate: .nan)] {
            #expect(UUID.timeOrdered(at: instant, using: &zeros).uuidString.lowercased() == "00000000-0000-7000-8000-000000000000")
        }
        for instant in [Date.distantFuture.addingTimeInterval(1e15), Date(timeIntervalSince1970: .infinity)] {
            #expect(UUID.timeOrdered(at: instant, using: &zeros).uuidString.lowercased() == "ffffffff-ffff-7000-8000-000000000000")
        }
    }
}
