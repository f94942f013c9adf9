import Foundation
@testable import LedgerCore
import PropertyBased
import Testing

/// The compact decoder reads what Foundation's `JSONDecoder` reads, to the same values, and refuses what it
/// refuses, without ever trapping.
@Suite("Compact JSON decoder")
struct CompactJSONDecoderTests {
    /// Foundation's decoder as events were read before: the reference.
    static var foundationEvents: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let text = try decoder.singleValueContainer().decode(String.self)
            guard let date = StoredInstant.parse(text) else {
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: text))
            }
            return date
        }
        return decoder
    }

    static let events = CompactJSONDecoder(dates: .storedInstant)
    static let states = CompactJSONDecoder(dates: .secondsSinceReferenceDate)

    @Test
    func aValueOfEveryShapeReadsBackAsItWasWritten() throws {
        let value = CompactJSONEncoderTests.everything
        // (As events, dates are kept to the microsecond: both decoders read the same instant back.)
        let asEvent = try CompactJSONEncoder(dates: .storedInstant).encode(value)
        let read = try Self.events.decode(CompactJSONEncoderTests.Everything.self, from: asEvent)
        #expect(read == (try Self.foundationEvents.decode(CompactJSONEncoderTests.Everything.self, from: asEvent)))
        #expect(try CompactJSONEncoder(dates: .storedInstant).encode(read) == asEvent)
        var fractional = value
        fractional.dates = [Date(timeIntervalSinceReferenceDate: 0.000_001), Date(timeIntervalSince1970: 1_768_478_400.987_654), Date(timeIntervalSince1970: -86_400.5)]
        let asState = try CompactJSONEncoder(dates: .secondsSinceReferenceDate).encode([fractional, value])
        #expect(try Self.states.decode([CompactJSONEncoderTests.Everything].self, from: asState) == [fractional, value])
        #expect(try JSONDecoder().decode([CompactJSONEncoderTests.Everything].self, from: asState) == [fractional, value])
        let records = try CompactJSONEncoder(dates: .iso8601).encode(["at": Date(timeIntervalSince1970: 1_768_478_400)])
        #expect(try CompactJSONDecoder(dates: .iso8601).decode([String: Date].self, from: records) == ["at": Date(timeIntervalSince1970: 1_768_478_400)])
    }

    @Test(arguments: 0..<EventCatalogueTests.examples.count)
    func storedEventExamplesReadAsFoundationReadsThem(index: Int) throws {
        let (type, json, expected) = EventCatalogueTests.examples[index]
        #expect(try ProfileEvent.decode(typeName: type, data: Data(json.utf8)) == expected)
        let data = Data(json.utf8)
        #expect(try Self.events.decode([String: JSONValue].self, from: data) == (try Self.foundationEvents.decode([String: JSONValue].self, from: data)))
    }

    /// Profile states folded from random histories (payments, waivers, suspensions, reversals, sweeps), as the
    /// read models store them, and the events that made them.
    @Test
    func foldedStatesAndTheirEventsReadAsFoundationReadsThem() async {
        let actions = zip(Gen.int(in: 0...6), Gen.int(in: 0...900), Gen.int(in: 1_000...30_000)).array(of: 1...12)
        await propertyCheck(input: actions) { actions in
            var history = try History.certified(on: "2025-12-01")
            for (index, (kind, offset, amount)) in actions.sorted(by: { $0.1 < $1.1 }).enumerated() {
                let date = ListingPropertyTests.start.addingDays(offset)
                // Reasons with quotes, slashes, escapes and text outside ASCII.
                let command = ListingPropertyTests.command(
                    kind, index: index, waiver: index, on: date, amount: amount, history.state, reason: index % 2 == 0 ? "r \"quoted\" / é" : "r\n\u{1F600}"
                )
                _ = try? history.apply(command, at: noon(date.description))
            }
            let state = try CompactJSONEncoder(dates: .secondsSinceReferenceDate).encode(history.state)
            #expect(try Self.states.decode(ProfileState.self, from: state) == history.state)
            #expect(try JSONDecoder().decode(ProfileState.self, from: state) == history.state)
            for event in history.events {
                let data = try event.encodedData()
                let compact = try ProfileEvent.decode(typeName: event.typeName, data: data)
                #expect(compact == event)
                #expect(try Self.foundationEvents.decode([String: JSONValue].self, from: data) == (try Self.events.decode([String: JSONValue].self, from: data)))
            }
        }
    }

    /// A payment's state and its books (sets of dispute phases, dictionaries keyed by refund id and by book
    /// account), as the payment views and the books store them.
    @Test
    func paymentStatesReadAsFoundationReadsThem() throws {
        let (payment, events) = try PaymentRuleTests.apply([
            .pending(amount: euros(12_500), purpose: .listing, profileID: profile),
            PaymentRuleTests.received(euros(12_500)),
            .refund(refundID: "re_1", amount: euros(1_000), cumulative: false, status: .pending),
            .refund(refundID: "re_2", amount: euros(500), cumulative: false, status: .succeeded),
            .dispute(disputeID: "dp_1", phase: .opened, amount: euros(9_000)),
            .dispute(disputeID: "dp_1", phase: .won, amount: euros(9_000)),
        ])
        var books = PaymentBooks()
        for event in events { books.evolve(event) }
        #expect(!books.target.isEmpty && payment.disputes["dp_1"]?.count == 2 && payment.refunds.count == 2)
        let encoder = CompactJSONEncoder(dates: .secondsSinceReferenceDate)
        let state = try encoder.encode(payment)
        #expect(try Self.states.decode(PaymentState.self, from: state) == payment)
        #expect(try JSONDecoder().decode(PaymentState.self, from: state) == payment)
        let booked = try encoder.encode(books)
        #expect(try Self.states.decode(PaymentBooks.self, from: booked) == books)
        #expect(try JSONDecoder().decode(PaymentBooks.self, from: booked) == books)
        for event in events {
            #expect(try PaymentEvent.decode(typeName: event.typeName, data: event.encodedData()) == event)
        }
    }

    /// Any JSON value, read through the `Decodable` containers only.
    indirect enum JSONValue: Decodable, Equatable {
        case null, bool(Bool), integer(Int64), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

        /// Numbers are equal by their value, whether read as an integer or not (Foundation reads a number
        /// beyond 2^53 with a fraction as an integer, dropping the fraction; this decoder refuses it as one).
        static func == (left: JSONValue, right: JSONValue) -> Bool {
            switch (left, right) {
            case (.null, .null): true
            case (.bool(let a), .bool(let b)): a == b
            case (.string(let a), .string(let b)): a == b
            case (.array(let a), .array(let b)): a == b
            case (.object(let a), .object(let b)): a == b
            case (.integer(let a), .integer(let b)): a == b
            case (.number(let a), .number(let b)): a == b
            case (.integer(let a), .number(let b)), (.number(let b), .integer(let a)): Double(a) == b
            default: false
            }
        }

        struct AnyKey: CodingKey {
            let stringValue: String
            var intValue: Int? { nil }
            init?(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        init(from decoder: any Decoder) throws {
            if let object = try? decoder.container(keyedBy: AnyKey.self) {
                var members: [String: JSONValue] = [:]
                for key in object.allKeys { members[key.stringValue] = try object.decode(JSONValue.self, forKey: key) }
                self = .object(members)
            } else if var array = try? decoder.unkeyedContainer() {
                var elements: [JSONValue] = []
                while !array.isAtEnd { elements.append(try array.decode(JSONValue.self)) }
                self = .array(elements)
            } else {
                let single = try decoder.singleValueContainer()
                if single.decodeNil() {
                    self = .null
                } else if let bool = try? single.decode(Bool.self) {
                    self = .bool(bool)
                } else if let integer = try? single.decode(Int64.self) {
                    self = .integer(integer)
                } else if let number = try? single.decode(Double.self) {
                    self = .number(number)
                } else {
                    self = .string(try single.decode(String.self))
                }
            }
        }
    }

    /// The outcome of reading `text` both ways: the value, or that it was refused.
    static func both(_ text: [UInt8]) -> (foundation: JSONValue?, compact: JSONValue?) {
        (try? JSONDecoder().decode(JSONValue.self, from: Data(text)), try? events.decode(JSONValue.self, from: Data(text)))
    }

    static let samples: [String] = [
        #"{"a":1,"b":[true,false,null],"c":{"d":"e\"f\\g\/h\u00e9\ud83d\ude00"},"e":-0.5e-3,"f":""}"#,
        #"  [ 1 , 2.0 , -3 , 4e2 , 5E-1 , 9223372036854775807 , -9223372036854775808 , 9223372036854775808 , 1e400 ]  "#,
        #""text""#, "12", "-0", "true", "null", "[]", "{}", #"{"a":{"a":{"a":[[[{}]]]}}}"#,
        #"{"key":"tab\tand\nnewline\r\b\f"}"#, #"["é", "日本語", "\u0000", "\u001f"]"#,
    ]

    /// Every prefix of valid texts and random changes to their bytes: what Foundation refuses is refused, what
    /// it reads is read to the same value.
    @Test
    func brokenTextIsRefusedAsFoundationRefusesIt() {
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array(#"{}[]",:\/ u0123456789abcdefABCDEF-+.eEtrunlsx"#.utf8) + [0x00, 0x1F, 0x7F, 0x80, 0xC3, 0xA9, 0xED, 0xA0, 0xFF]
        for sample in Self.samples {
            let bytes = Array(sample.utf8)
            let whole = Self.both(bytes)
            #expect(whole.compact == whole.foundation, "\(sample)")
            for end in 0..<bytes.count {
                let prefix = Self.both(Array(bytes[..<end]))
                #expect(prefix.compact == prefix.foundation, "\(sample) cut at \(end)")
            }
            for _ in 0..<2_000 {
                var changed = bytes
                for _ in 0...Int.random(in: 0...2, using: &generator) {
                    let at = Int.random(in: 0..<changed.count, using: &generator)
                    switch Int.random(in: 0...2, using: &generator) {
                    case 0: changed[at] = alphabet.randomElement(using: &generator) ?? 0
                    case 1: changed.remove(at: at)
                    default: changed.insert(alphabet.randomElement(using: &generator) ?? 0, at: at)
                    }
                    if changed.isEmpty { break }
                }
                let outcome = Self.both(changed)
                // A zero byte is never JSON in UTF-8 (Foundation takes text with one among its first bytes for
                // UTF-16 or UTF-32; the ledger stores UTF-8 only).
                let twice = Self.holdsAKeyTwice(changed)
                if twice, changed.contains(0) {
                    // Not judged, wherever the zero byte lies: in a string that is the later value of such a key
                    // it is never read, and Foundation may take the text for UTF-16. Reading it must not trap; it
                    // did not.
                    continue
                } else if changed.contains(0) {
                    #expect(outcome.compact == nil, "\(changed)")
                } else if twice {
                    // Only the first value of such a key is read: Foundation checks the number in the other
                    // when it is read, this decoder as the text is indexed.
                    #expect(outcome.compact == nil || outcome.compact == outcome.foundation, "\(changed)")
                } else {
                    #expect(outcome.compact == outcome.foundation, "\(changed)")
                }
            }
        }
    }

    /// Whether an object of the text holds a key twice (by its bytes), read leniently: the text may be broken.
    static func holdsAKeyTwice(_ text: [UInt8]) -> Bool {
        // The open containers, innermost last, each object with the keys seen in it so far. (Not a stack of
        // optionals: PropertyBased's non-mutating `Sequence.append(_:)` takes `append([])` and `append(nil)` on
        // one, returns a new sequence and leaves the stack as it was.)
        enum Open { case object(Set<ArraySlice<UInt8>>), array }
        var open: [Open] = []
        var lastString: ArraySlice<UInt8>?
        var index = 0
        while index < text.count {
            switch text[index] {
            case UInt8(ascii: "\""):
                var end = index + 1
                while end < text.count, text[end] != UInt8(ascii: "\"") { end += text[end] == UInt8(ascii: "\\") ? 2 : 1 }
                lastString = text[(index + 1)..<min(end, text.count)]
                index = end + 1
                continue
            case UInt8(ascii: "{"): open.append(.object([]))
            case UInt8(ascii: "["): open.append(.array)
            case UInt8(ascii: "}"), UInt8(ascii: "]"): _ = open.popLast()
            case UInt8(ascii: ":"):
                if let key = lastString, case .object(var keys) = open.last {
                    guard keys.insert(key).inserted else { return true }
                    open[open.count - 1] = .object(keys)
                }
            default: break
            }
            if ![0x20, 0x0A, 0x0D, 0x09].contains(text[index]) { lastString = nil }
            index += 1
        }
        return false
    }

    /// The random test's own judge of duplicate keys: it sorts which outcome each changed text must have.
    @Test
    func keysWrittenTwiceAreFoundInEveryObject() {
        for text in [#"{"a":1,"a":2}"#, #"{"a":{"b":1},"c":[{"d":1,"d":2}]}"#, #"{"a":1,"b":{"x":1},"a":-E.5"#, #"{"":1,"":2}"#] {
            #expect(Self.holdsAKeyTwice(Array(text.utf8)), "\(text)")
        }
        for text in [#"{"a":1,"b":2}"#, #"{"a":{"a":1},"b":[{"a":1},{"a":2}]}"#, #"["a","a"]"#, #"{"a":"\"a\":1"}"#] {
            #expect(!Self.holdsAKeyTwice(Array(text.utf8)), "\(text)")
        }
    }

    @Test
    func escapesAndSurrogatesReadAsFoundationReadsThem() {
        for text in [
            #""\ud83d\ude00""#, #""\ud83d""#, #""\ude00""#, #""\ud83dx""#, #""\ud83d\u0041""#, #""\u00""#, #""\x""#, #""\""#,
            "\"\u{7F}\"", "\"a\u{01}b\"", #""\/\b\f\n\r\t\"\\""#, "\"\u{00E9}\"",
        ] {
            let outcome = Self.both(Array(text.utf8))
            #expect(outcome.compact == outcome.foundation, "\(text)")
        }
        // A bad escape or a lone surrogate in a value nobody reads is not refused; in a key, or a value read, it
        // is. Control characters and short `\u` escapes are refused anywhere.
        struct Pair: Decodable, Equatable { var a: Int }
        for text in [
            #"{"a":1,"a":"\x"}"#, #"{"a":1,"b":"\ud800"}"#, #"{"a":1,"b":"\x"}"#, #"{"a":1,"b\x":2}"#, #"{"a":1,"b":"\u12"}"#,
            #"{"a":1,"c":{"b\x":2}}"#, #"{"a":1,"a":"\uu00e9"}"#, #"{"a":1,"a":"\u12"}"#, "{\"a\":1,\"b\":\"\u{1F}\"}", "{\"a\":1,\"b\":\"\\\u{1F}\"}",
        ] {
            let foundation = try? JSONDecoder().decode(Pair.self, from: Data(text.utf8))
            #expect((try? Self.events.decode(Pair.self, from: Data(text.utf8))) == foundation, "\(text)")
        }
        // Invalid UTF-8 inside a string, and a lone continuation byte.
        for bytes: [UInt8] in [[0x22, 0xC3, 0x22], [0x22, 0x80, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0xF8, 0x88, 0x80, 0x80, 0x80, 0x22]] {
            let outcome = Self.both(bytes)
            #expect(outcome.compact == nil && outcome.foundation == nil, "\(bytes)")
        }
    }

    @Test
    func integersMustFitTheirTypeExactly() throws {
        struct Numbers: Decodable, Equatable {
            var small: Int8
            var word: UInt64
        }
        let cases = [
            #"{"small":127,"word":18446744073709551615}"#, #"{"small":128,"word":0}"#, #"{"small":-128,"word":-1}"#,
            #"{"small":1.0,"word":1e2}"#, #"{"small":1.5,"word":1}"#, #"{"small":-0,"word":0}"#, #"{"small":"1","word":1}"#,
            #"{"small":null,"word":1}"#, #"{"word":1}"#, #"{"small":1,"word":18446744073709551616}"#,
            #"{"small":150e-1,"word":1.5e1}"#,
            #"{"small":0.0e-5,"word":0e400}"#, #"{"small":-128.00,"word":1e19}"#, #"{"small":-12.8e1,"word":1e20}"#,
        ]
        for text in cases {
            let foundation = try? JSONDecoder().decode(Numbers.self, from: Data(text.utf8))
            let compact = try? Self.events.decode(Numbers.self, from: Data(text.utf8))
            #expect(compact == foundation, "\(text)")
        }
        // A fraction that is not zero is refused, however large the number (Foundation drops it beyond 2^53).
        #expect(throws: DecodingError.self) { try Self.events.decode(Numbers.self, from: Data(#"{"small":1,"word":1844674407370955161.5}"#.utf8)) }
        #expect(throws: DecodingError.self) { try Self.events.decode(Numbers.self, from: Data(#"{"small":1,"word":9007199254740993.5}"#.utf8)) }
        #expect(throws: DecodingError.self) { try Self.events.decode(Numbers.self, from: Data(#"{"small":1e-400,"word":1}"#.utf8)) }
        #expect(try Self.events.decode(Numbers.self, from: Data(#"{"small":1,"word":184467440737095516.1e2}"#.utf8)).word == 18_446_744_073_709_551_610)
    }

    /// Of a key written twice the first value is read, as Foundation reads it; members are found among many keys
    /// too; a comma after the last value is allowed, as Foundation allows it.
    @Test
    func aKeyGivenTwiceAndLargeObjectsReadAsFoundationReadsThem() throws {
        let text = #"{"a":1,"b":2,"a":3}"#
        #expect(try Self.events.decode([String: Int].self, from: Data(text.utf8)) == (try JSONDecoder().decode([String: Int].self, from: Data(text.utf8))))
        struct Pair: Decodable, Equatable { var a: Int }
        #expect(try Self.events.decode(Pair.self, from: Data(text.utf8)) == (try JSONDecoder().decode(Pair.self, from: Data(text.utf8))))
        var large: [String: Int] = [:]
        for index in 0..<500 { large["key\(index)"] = index }
        let data = try CompactJSONEncoder(dates: .storedInstant).encode(large)
        #expect(try Self.events.decode([String: Int].self, from: data) == large)
        let twice = Data(("{" + (0..<40).map { #""k\#($0 % 20)":\#($0)"# }.joined(separator: ",") + "}").utf8)
        #expect(try Self.events.decode([String: Int].self, from: twice) == (try JSONDecoder().decode([String: Int].self, from: twice)))
        #expect(try Self.events.decode([String: [Int]].self, from: Data(#"{"a":[1 ,],}"#.utf8)) == ["a": [1]])
        for refused in [#"[,]"#, #"{,}"#, #"[1,,]"#] {
            #expect(throws: DecodingError.self) { try Self.events.decode([Int].self, from: Data(refused.utf8)) }
        }
    }

    /// An element that failed to read as one type is read again as another; a super decoder of a missing key
    /// reads null; a key given twice is one key; an exponent far beyond any integer still reads exactly.
    @Test
    func containerEdgesReadAsFoundationReadsThem() throws {
        struct Mixed: Decodable, Equatable {
            var items: [String] = []
            init(from decoder: any Decoder) throws {
                var list = try decoder.unkeyedContainer()
                while !list.isAtEnd {
                    if let number = try? list.decode(Int.self) { items.append("int \(number)") } else { items.append("text " + (try list.decode(String.self))) }
                }
            }
        }
        let mixed = Data(#"[1,"two",3,"four"]"#.utf8)
        #expect(try Self.events.decode(Mixed.self, from: mixed) == (try JSONDecoder().decode(Mixed.self, from: mixed)))
        #expect(try Self.events.decode(Mixed.self, from: mixed).items == ["int 1", "text two", "int 3", "text four"])

        struct Super: Decodable, Equatable {
            enum Keys: String, CodingKey { case present, missing }
            var missingIsNull: Bool
            var present: Int
            init(from decoder: any Decoder) throws {
                let container = try decoder.container(keyedBy: Keys.self)
                missingIsNull = try container.superDecoder(forKey: .missing).singleValueContainer().decodeNil()
                present = try container.superDecoder(forKey: .present).singleValueContainer().decode(Int.self)
            }
        }
        let supers = Data(#"{"present":7}"#.utf8)
        #expect(try Self.events.decode(Super.self, from: supers) == (try JSONDecoder().decode(Super.self, from: supers)))
        let read = try Self.events.decode(Super.self, from: supers)
        #expect(read.missingIsNull && read.present == 7)

        enum Choice: Codable, Equatable { case one(Int), two(String) }
        for text in [#"{"one":{"_0":1},"one":{"_0":2}}"#, #"{"one":{"_0":1},"two":{"_0":"x"}}"#, #"{"two":{"_0":"x"}}"#] {
            #expect((try? Self.events.decode(Choice.self, from: Data(text.utf8))) == (try? JSONDecoder().decode(Choice.self, from: Data(text.utf8))), "\(text)")
        }

        struct Whole: Decodable, Equatable { var value: Int64 }
        for text in [
            #"{"value":1"# + String(repeating: "0", count: 100_001) + "e-100001}",
            #"{"value":0."# + String(repeating: "0", count: 99_999) + "1e100002}",
            #"{"value":1e9999999999999}"#, #"{"value":0e9999999999999}"#,
        ] {
            #expect((try? Self.events.decode(Whole.self, from: Data(text.utf8))) == (try? JSONDecoder().decode(Whole.self, from: Data(text.utf8))), "\(text.prefix(40))")
        }
        #expect(try Self.events.decode(Whole.self, from: Data((#"{"value":1"# + String(repeating: "0", count: 100_001) + "e-100001}").utf8)).value == 1)
        // Stricter than Foundation, which reads it as a Double that rounds to zero.
        #expect(throws: DecodingError.self) { try Self.events.decode(Whole.self, from: Data(#"{"value":5e-9999999999999}"#.utf8)) }
    }

    /// Errors name where they happened and what was wrong, as Foundation's do.
    @Test
    func errorsNameThePathAndTheProblem() throws {
        struct Outer: Decodable { var inner: [Inner] }
        struct Inner: Decodable { var amount: Int64 }
        let text = Data(#"{"inner":[{"amount":1},{"amount":"x"}]}"#.utf8)
        do {
            _ = try Self.events.decode(Outer.self, from: text)
            Issue.record("a string where a number belongs was read")
        } catch DecodingError.typeMismatch(_, let context) {
            #expect(context.codingPath.map(\.stringValue) == ["inner", "Index 1", "amount"])
        }
        do {
            _ = try Self.events.decode(Outer.self, from: Data(#"{"inner":[{}]}"#.utf8))
            Issue.record("a missing key was read")
        } catch DecodingError.keyNotFound(let key, let context) {
            #expect(key.stringValue == "amount")
            #expect(context.codingPath.map(\.stringValue) == ["inner", "Index 0"])
        }
        do {
            _ = try Self.events.decode(Outer.self, from: Data(#"{"inner":null}"#.utf8))
            Issue.record("null was read as an array")
        } catch DecodingError.valueNotFound(_, let context) {
            #expect(context.codingPath.map(\.stringValue) == ["inner"])
        }
    }

    /// Nesting past the limit is refused, however deep, without exhausting the stack.
    @Test
    func deepNestingIsRefused() throws {
        let deep = Data((String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)).utf8)
        #expect(throws: DecodingError.self) { try Self.events.decode(JSONValue.self, from: deep) }
        let allowed = CompactJSONDecoder.maximumDepth
        let fits = Data((String(repeating: "[", count: allowed) + String(repeating: "]", count: allowed)).utf8)
        #expect(throws: Never.self) { try Self.events.decode(JSONValue.self, from: fits) }
        let over = Data((String(repeating: "[", count: allowed + 1) + String(repeating: "]", count: allowed + 1)).utf8)
        #expect(throws: DecodingError.self) { try Self.events.decode(JSONValue.self, from: over) }
    }
}
