import Foundation
@testable import LedgerCore
import Testing

/// The compact encoder writes the very bytes Foundation's `JSONEncoder` writes with sorted keys and unescaped
/// slashes (stored events are compared by the hash of their bytes, so an event encoded again must be equal),
/// and the states it writes read back as they were.
@Suite("Compact JSON encoder")
struct CompactJSONEncoderTests {
    /// Foundation's encoder as events were encoded before: the reference.
    static var foundation: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(StoredInstant.format(date))
        }
        return encoder
    }

    static func same<Value: Encodable>(_ value: Value, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let expected = String(decoding: try foundation.encode(value), as: UTF8.self)
        let written = String(decoding: try CompactJSONEncoder(dates: .storedInstant).encode(value), as: UTF8.self)
        #expect(written == expected, sourceLocation: sourceLocation)
    }

    /// Keys out of order, upper and lower case, underscores and digits, nested values, optionals, arrays,
    /// dictionaries and every kind of number.
    struct Everything: Codable, Equatable {
        enum Kind: String, Codable { case first, second = "second_kind" }
        struct Inner: Codable, Equatable {
            var zeta: String
            var alpha: Int?
            var Beta: [Int]
            var when: Date
        }

        var zulu: String
        var alpha: Int64
        var Alpha: Int8
        var _underscore: UInt64
        var key10: Int32
        var key2: Int16
        var aB: UInt8
        var aa: UInt16
        var negative: Int
        var unsigned: UInt32
        var unsignedWord: UInt
        var yes: Bool
        var no: Bool
        var kind: Kind
        var missing: String?
        var present: String?
        var inner: Inner
        var inners: [Inner]
        var empty: [String]
        var emptyObject: [String: Int]
        var byName: [String: Inner]
        var byNumber: [Int: String]
        var nested: [[String]]
        var dates: [Date]
        var day: LocalDate
        var money: Money
        var decimal: Decimal
    }

    static let instant = Date(timeIntervalSince1970: 1_768_478_400.123)

    static var everything: Everything {
        let inner = Everything.Inner(zeta: "z/slash", alpha: nil, Beta: [3, 1, 2], when: instant)
        return Everything(
            zulu: "last", alpha: .max, Alpha: .min, _underscore: .max, key10: .min, key2: -2, aB: 255, aa: 0, negative: -42,
            unsigned: .max, unsignedWord: 7, yes: true, no: false, kind: .second, missing: nil, present: "here", inner: inner,
            inners: [inner, Everything.Inner(zeta: "", alpha: 1, Beta: [], when: Date(timeIntervalSince1970: 0))], empty: [], emptyObject: [:],
            byName: ["b": inner, "B": inner, "a1": inner, "a10": inner, "a2": inner], byNumber: [10: "ten", 2: "two", -1: "minus one"],
            nested: [[], ["a"], ["b", "c"]], dates: [instant, Date(timeIntervalSince1970: -1)], day: LocalDate(iso: "2026-02-28")!,
            money: .euros(minorUnits: -12_500), decimal: Decimal(string: "-1234.5600")!
        )
    }

    @Test
    func aValueOfEveryShapeIsWrittenAsFoundationWritesIt() throws {
        try Self.same(Self.everything)
        try Self.same([Self.everything, Self.everything])
        try Self.same(["top": Self.everything])
    }

    /// Keys are ordered by their first eight bytes first: keys that share those, keys that begin others, keys
    /// with a NUL, a quote or bytes above ASCII in the first eight, in every order they can arrive in.
    @Test
    func keysThatShareTheirFirstEightBytesAreOrderedAsFoundationOrdersThem() throws {
        let keys = [
            "abcdefgh", "abcdefghi", "abcdefgh\u{0}", "abcdefghij", "abcdefgha", "abcdefg", "abcdefgh\"", "abcdéfgh",
            "abcdefgZ", "ABCDEFGH", "", "a", "\u{0}", "abcdefgh\u{1F600}", "zzzzzzzzzz", "zzzzzzzzz", "é", "\u{FFFF}x",
        ]
        var generator = SystemRandomNumberGenerator()
        for round in 0..<200 {
            let chosen = keys.shuffled(using: &generator).prefix(round % keys.count + 1)
            var value: [String: Int] = [:]
            for (index, key) in chosen.enumerated() { value[key] = index }
            try Self.same(value)
            try Self.same(["outer": value, "outer0": [:], "oute": value])
        }
    }

    @Test
    func topLevelFragmentsAreWrittenAsFoundationWritesThem() throws {
        try Self.same("text")
        try Self.same(12)
        try Self.same(true)
        try Self.same([String]())
        try Self.same([String: Int]())
        try Self.same(Optional<Int>.none)
        try Self.same(Self.instant)
    }

    /// Every control character, quotes, backslashes, slashes, and characters outside ASCII (combining marks,
    /// right-to-left text, emoji, a byte-order mark, DEL), alone and in random mixtures.
    @Test
    func everyStringIsEscapedAsFoundationEscapesIt() throws {
        var pieces = (0..<0x20).map { String(UnicodeScalar(UInt8($0))) }
        pieces += ["\"", "\\", "/", "\u{7F}", "é", "e\u{301}", "ß", "\u{FEFF}", "\u{2028}", "\u{2029}", "שלום", "👩‍⚖️", "𝄞", "a", " ", "{}", "[]", ":,"]
        for piece in pieces {
            try Self.same(piece)
            try Self.same(["k\(piece)": piece])
        }
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let text = (0..<Int.random(in: 0...12, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined()
            try Self.same([text: [text]])
        }
    }

    /// Stored profile events: the bytes of the catalogue's examples, the very bytes stored before.
    @Test(arguments: 0..<EventCatalogueTests.examples.count)
    func storedEventsAreTheCataloguesBytes(index: Int) throws {
        let (_, json, event) = EventCatalogueTests.examples[index]
        #expect(String(decoding: try event.encodedData(), as: UTF8.self) == json)
    }

    /// A type that writes through nested containers and super encoders, which the ledger's types do not use.
    struct Handwritten: Encodable {
        enum Keys: String, CodingKey { case zebra, apple, inner, list, base }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode("z", forKey: .zebra)
            var inner = container.nestedContainer(keyedBy: Keys.self, forKey: .inner)
            var list = container.nestedUnkeyedContainer(forKey: .list)
            try container.encode(1, forKey: .apple)
            try inner.encode(true, forKey: .zebra)
            var again = container.nestedContainer(keyedBy: Keys.self, forKey: .inner)
            try again.encode(false, forKey: .apple)
            try list.encode("one")
            var pair = list.nestedUnkeyedContainer()
            try list.encode("three")
            try pair.encode(2)
            try pair.encode(2.5)
            let base = container.superEncoder(forKey: .base)
            var baseValue = base.singleValueContainer()
            try baseValue.encode("base")
        }
    }

    @Test
    func nestedContainersAndSuperEncodersAreWrittenAsFoundationWritesThem() throws {
        try Self.same(Handwritten())
        try Self.same([Handwritten(), Handwritten()])
    }

    final class WeakReference: @unchecked Sendable {
        weak var object: AnyObject?
    }

    /// Keeps a weak reference to the encoder it is handed.
    struct Spy: Encodable {
        enum Keys: String, CodingKey { case b, a }
        let seen: WeakReference

        func encode(to encoder: any Encoder) throws {
            seen.object = encoder as AnyObject
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(1, forKey: .b)
            var list = container.nestedUnkeyedContainer(forKey: .a)
            try list.encode(2)
        }
    }

    /// An encoder and its container's frame refer to each other; once the value is written, neither may be
    /// left keeping the other alive (a rebuild encodes hundreds of thousands of states).
    @Test
    func nothingIsKeptOnceAValueIsWritten() throws {
        for value in [true, false] {
            let seen = WeakReference()
            let written = try CompactJSONEncoder(dates: .storedInstant).encode(value ? [Spy(seen: seen)] : [Spy(seen: seen), Spy(seen: WeakReference())])
            #expect(String(decoding: written, as: UTF8.self).hasPrefix(#"[{"a":[2],"b":1}"#))
            #expect(seen.object == nil)
        }
    }

    /// Keeps weak references to the encoders of the nested containers it opens, then fails or writes a key
    /// twice.
    struct Failing: Encodable {
        enum Keys: String, CodingKey { case a, b }
        let seen: [WeakReference]
        let fails: Bool

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            let first = container.superEncoder(forKey: .a)
            seen[0].object = first as AnyObject
            var inner = first.container(keyedBy: Keys.self)
            try inner.encode(1, forKey: .b)
            let second = container.superEncoder(forKey: .a)
            seen[1].object = second as AnyObject
            var list = second.unkeyedContainer()
            try list.encode(2)
            if fails { throw EncodingError.invalidValue(0, .init(codingPath: [], debugDescription: "refused")) }
        }
    }

    /// Nor when the value threw, or a key's open member was given again.
    @Test
    func nothingIsKeptWhenAValueFailsOrAKeyIsGivenTwice() throws {
        for fails in [true, false] {
            let seen = [WeakReference(), WeakReference()]
            let written = try? CompactJSONEncoder(dates: .storedInstant).encode([Failing(seen: seen, fails: fails)])
            #expect((written == nil) == fails)
            // (Which of the two Foundation keeps differs; the ledger's types never give a key twice.)
            if let written { #expect(try JSONSerialization.jsonObject(with: written) is [Any]) }
            #expect(seen.allSatisfy { $0.object == nil })
        }
    }

    @Test
    func aKeyWrittenTwiceKeepsItsLastValue() throws {
        struct Twice: Encodable {
            enum Keys: String, CodingKey { case b, a }
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: Keys.self)
                try container.encode(1, forKey: .b)
                try container.encode(2, forKey: .a)
                try container.encode(3, forKey: .b)
            }
        }
        #expect(String(decoding: try CompactJSONEncoder(dates: .storedInstant).encode(Twice()), as: UTF8.self) == #"{"a":2,"b":3}"#)
    }

    /// Keys are one key when Swift's strings are equal, whatever their bytes: "é" written as one scalar and then
    /// as "e" with a combining accent is one member, the last value under the last spelling. (Foundation also
    /// writes one member, under the first spelling.)
    @Test
    func keysEqualAsStringsAreOneKeyWhateverTheirBytes() throws {
        struct Spelled: Encodable {
            struct Key: CodingKey {
                var stringValue: String
                var intValue: Int? { nil }
                init(stringValue: String) { self.stringValue = stringValue }
                init?(intValue: Int) { nil }
            }
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: Key.self)
                try container.encode(1, forKey: Key(stringValue: "caf\u{E9}"))
                try container.encode(2, forKey: Key(stringValue: "b"))
                try container.encode(3, forKey: Key(stringValue: "cafe\u{301}"))
            }
        }
        let written = String(decoding: try CompactJSONEncoder(dates: .storedInstant).encode(Spelled()), as: UTF8.self)
        #expect(try JSONSerialization.jsonObject(with: Data(written.utf8)) is [String: Int])
        #expect(Array(written.utf8) == Array(#"{"b":2,"cafe\#u{301}":3}"#.utf8), "\(written)")
    }

    /// Folded states: dates as seconds since 2001 (Foundation's own form of a date), read back by a plain
    /// `JSONDecoder` to the same value, fractions of a second included.
    @Test
    func statesReadBackAsTheyWereWritten() throws {
        var value = Self.everything
        value.dates = [Date(timeIntervalSinceReferenceDate: 0.000_001), Date(timeIntervalSince1970: 1_768_478_400.987_654), Date(timeIntervalSince1970: -86_400.5)]
        let data = try CompactJSONEncoder(dates: .secondsSinceReferenceDate).encode(value)
        #expect(try JSONDecoder().decode(Everything.self, from: data) == value)
        let numbers: [Double] = [0, 1, -1, 0.1, 1e-7, 123_456_789.123_456, -2.5e300, Double.leastNonzeroMagnitude]
        let written = try CompactJSONEncoder(dates: .secondsSinceReferenceDate).encode(numbers)
        #expect(try JSONDecoder().decode([Double].self, from: written) == numbers)
        let reference = JSONEncoder()
        #expect(written == (try reference.encode(numbers)))
    }

    /// The service's own records (inbox records, checkouts, directory payloads): dates as ISO 8601 text to the
    /// second, the bytes Foundation writes with `.iso8601`, for every instant, whole, fractional and negative,
    /// from year 1 (Foundation's calendar is the Julian one before October 1582) past year 9999.
    @Test
    func iso8601DatesAreWrittenAsFoundationWritesThem() throws {
        let reference = JSONEncoder()
        reference.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        reference.dateEncodingStrategy = .iso8601
        let compact = CompactJSONEncoder(dates: .iso8601)
        var instants: [Double] = [
            0, 0.4, 0.5, 0.999_999, -0.5, -1, -1.5, -86_400.7, 1_768_478_400, 1_768_478_400.999_999,
            951_782_400, 951_868_799.5, 4_107_542_400, // 2000-02-29, the next day's last second, 2100-03-01
            -12_219_292_800, -12_219_292_801, -12_212_553_600, -12_212_553_601, // October 1582, 1583-01-01
            -62_135_596_800, -62_135_596_801, 253_402_300_799.9, 253_402_300_800, 1e12, -1e12,
        ]
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            // Whole microseconds, as clocks give them, from year 1 to year 10,500.
            instants.append(Double(Int64.random(in: -62_135_596_800_000_000...269_000_000_000_000_000, using: &generator)) / 1_000_000)
        }
        for seconds in instants {
            let value = ["at": Date(timeIntervalSince1970: seconds)]
            let expected = String(decoding: try reference.encode(value), as: UTF8.self)
            #expect(String(decoding: try compact.encode(value), as: UTF8.self) == expected, "\(seconds)")
        }
    }

    /// A value that writes nothing: an empty object inside another value, an error alone (as in Foundation).
    struct Nothing: Encodable {
        let single: Bool
        func encode(to encoder: any Encoder) throws {
            if single { _ = encoder.singleValueContainer() }
        }
    }

    @Test
    func aNumberJSONCannotHoldIsAnErrorAndAValueWithoutContentIsWrittenAsFoundationWritesIt() throws {
        #expect(throws: EncodingError.self) { try CompactJSONEncoder(dates: .storedInstant).encode([Double.nan]) }
        #expect(throws: EncodingError.self) { try CompactJSONEncoder(dates: .storedInstant).encode(["a": Float.infinity]) }
        for single in [true, false] {
            try Self.same(["a": Nothing(single: single)])
            try Self.same([Nothing(single: single)])
            #expect(throws: EncodingError.self) { try CompactJSONEncoder(dates: .storedInstant).encode(Nothing(single: single)) }
            #expect(throws: EncodingError.self) { try Self.foundation.encode(Nothing(single: single)) }
        }
    }

    /// A member whose value failed and whose error was caught is left out, as in Foundation.
    @Test
    func aMemberThatFailedIsLeftOut() throws {
        struct Careless: Encodable {
            enum Keys: String, CodingKey { case a, b, c }
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: Keys.self)
                try container.encode(1, forKey: .a)
                try? container.encode(Double.infinity, forKey: .b)
                var list = container.nestedUnkeyedContainer(forKey: .c)
                try? list.encode(Double.nan)
                try list.encode(3)
            }
        }
        try Self.same(Careless())
        try Self.same(["x": Careless()])
    }

    /// Two values given to one single value container would not be JSON: an error, not two values in a row.
    @Test
    func twoValuesForOneSingleValueContainerAreAnError() {
        struct Twice: Encodable {
            func encode(to encoder: any Encoder) throws {
                var container = encoder.singleValueContainer()
                try container.encode("a")
                try container.encode("b")
            }
        }
        #expect(throws: EncodingError.self) { try CompactJSONEncoder(dates: .storedInstant).encode(["k": Twice()]) }
    }
}
