public import Foundation

extension UUID {
    /// A new id that sorts after the ids made in earlier milliseconds: a version 7 UUID (RFC 9562), the Unix time
    /// in milliseconds in its first 48 bits and 74 random bits after the version and variant.
    ///
    /// Events get such ids (unless their id is derived from an idempotency key), so each append adds its ids at
    /// the end of the log's unique index on `event_id` instead of on pages all over it: a transaction of a few
    /// hundred events then rewrites a few index pages, not a few hundred. Ordering is by millisecond only; ids
    /// made in the same millisecond are in random order among themselves, and nothing relies on their order.
    public static func timeOrdered(at instant: Date = Date()) -> UUID {
        var generator = SystemRandomNumberGenerator()
        return timeOrdered(at: instant, using: &generator)
    }

    /// ``timeOrdered(at:)`` with the random bits from `generator`.
    public static func timeOrdered(at instant: Date, using generator: inout some RandomNumberGenerator) -> UUID {
        let milliseconds = instant.timeIntervalSince1970 * 1_000
        // The clock is ours, but a clock set before 1970 or past the year 10889 must not trap: it is clamped.
        let clamped: UInt64 = milliseconds.isNaN || milliseconds <= 0 ? 0 : UInt64(min(milliseconds, Double(timeOrderedMillisecondsMax)))
        let random = generator.next() as UInt64
        let more = generator.next() as UInt64
        var value: uuid_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &value) { bytes in
            for index in 0..<6 { bytes[index] = UInt8(truncatingIfNeeded: clamped >> (8 * (5 - index))) }
            for index in 6..<16 { bytes[index] = UInt8(truncatingIfNeeded: (index < 8 ? more : random) >> (8 * (index % 8))) }
            bytes[6] = 0x70 | (bytes[6] & 0x0F)
            bytes[8] = 0x80 | (bytes[8] & 0x3F)
        }
        return UUID(uuid: value)
    }

    /// The latest millisecond a version 7 UUID holds: 48 bits.
    static var timeOrderedMillisecondsMax: UInt64 { (1 << 48) - 1 }
}
