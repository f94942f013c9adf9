public import Foundation

/// The instants stored in events: `YYYY-MM-DDTHH:MM:SS.sssZ`, UTC, milliseconds truncated. Written and read by
/// hand because Foundation's ISO 8601 format style took about a tenth of a read model's rebuild; the text is the
/// one `Date.ISO8601FormatStyle` with fractional seconds writes, except that an instant read from a text is
/// written back as the same text (the format style writes some of them a millisecond early). Other ISO 8601
/// forms are left to the format style.
public enum StoredInstant {
    /// The canonical text of `date`, as `Date.ISO8601FormatStyle().year().month().day()
    /// .time(includingFractionalSeconds: true).timeZone(separator: .omitted)` writes it.
    public static func format(_ date: Date) -> String {
        // Counted from the reference date, as the format style counts, so both truncate to the same millisecond.
        let sinceReference = date.timeIntervalSinceReferenceDate
        let wholeSeconds = sinceReference.rounded(.down)
        guard wholeSeconds.isFinite, abs(wholeSeconds) < 1e13 else { return date.formatted(fallbackStyle) }
        let seconds = Int(wholeSeconds) + referenceDateUnixSeconds
        // Truncated to the millisecond, but an instant within half a microsecond (or, far from 2001, one unit in
        // the last place) below a millisecond counts as that millisecond: a parsed instant lies up to that far
        // below its millisecond (the nearest double), and must be written as it was read.
        let tolerance = max(0.000_000_5, sinceReference.magnitude.ulp * 2)
        let milliseconds = min(999, max(0, Int(((sinceReference - wholeSeconds + tolerance) * 1_000).rounded(.down))))
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        guard (LocalDate.firstDayNumber...LocalDate.lastDayNumber).contains(days) else { return date.formatted(fallbackStyle) }
        let calendarDay = LocalDate(dayNumber: days)
        var text = ""
        text.reserveCapacity(24)
        appendDayAndTime(calendarDay, secondOfDay, to: &text)
        text += "."
        append(milliseconds, width: 3, to: &text)
        text += "Z"
        return text
    }

    /// `YYYY-MM-DDTHH:MM:SSZ`, UTC, the seconds truncated: what `JSONEncoder`'s `.iso8601` date strategy writes.
    /// Written by hand from 1583 to 9999; outside those years (where Foundation's calendar is the Julian one, or
    /// the year has five digits) Foundation writes it.
    public static func formatWholeSeconds(_ date: Date) -> String {
        let wholeSeconds = date.timeIntervalSinceReferenceDate.rounded(.down)
        // 1583-01-01T00:00:00Z and 10000-01-01T00:00:00Z, in seconds since 2001.
        guard wholeSeconds >= -13_191_177_600, wholeSeconds < 252_423_993_600 else { return foundationWholeSeconds(date) }
        let seconds = Int(wholeSeconds) + referenceDateUnixSeconds
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        var text = ""
        text.reserveCapacity(20)
        appendDayAndTime(LocalDate(dayNumber: days), secondOfDay, to: &text)
        text += "Z"
        return text
    }

    private static func foundationWholeSeconds(_ date: Date) -> String {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        guard let quoted = try? encoder.encode(date), quoted.count >= 2 else { return date.formatted(.iso8601) }
        return String(decoding: quoted.dropFirst().dropLast(), as: UTF8.self)
    }

    /// The instant of a canonical text (exactly 24 characters, as ``format(_:)`` writes); nil for any other text,
    /// including an impossible date or time.
    public static func parse(_ text: String) -> Date? {
        var text = text
        return text.withUTF8 { bytes -> Date? in
            guard bytes.count == 24, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: "T"),
                  bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"), bytes[19] == UInt8(ascii: "."),
                  bytes[23] == UInt8(ascii: "Z") else { return nil }
            func number(_ range: Range<Int>) -> Int? {
                var value = 0
                for index in range {
                    let digit = Int(bytes[index]) - Int(UInt8(ascii: "0"))
                    guard (0...9).contains(digit) else { return nil }
                    value = value * 10 + digit
                }
                return value
            }
            guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
                  let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
                  let millisecond = number(20..<23),
                  let date = LocalDate(year: year, month: month, day: day), hour < 24, minute < 60, second < 60 else { return nil }
            let seconds = date.dayNumber * 86_400 + hour * 3_600 + minute * 60 + second
            return Date(timeIntervalSinceReferenceDate: Double(seconds - referenceDateUnixSeconds) + Double(millisecond) * 0.001)
        }
    }

    /// 2001-01-01T00:00:00Z in seconds since 1970.
    static let referenceDateUnixSeconds = 978_307_200

    static var fallbackStyle: Date.ISO8601FormatStyle {
        .iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted)
    }

    /// `YYYY-MM-DDTHH:MM:SS`.
    private static func appendDayAndTime(_ day: LocalDate, _ secondOfDay: Int, to text: inout String) {
        text += day.description
        text += "T"
        append(secondOfDay / 3_600, width: 2, to: &text)
        text += ":"
        append(secondOfDay % 3_600 / 60, width: 2, to: &text)
        text += ":"
        append(secondOfDay % 60, width: 2, to: &text)
    }

    private static func append(_ value: Int, width: Int, to text: inout String) {
        let digits = String(value)
        if digits.count < width { text += String(repeating: "0", count: width - digits.count) }
        text += digits
    }
}
