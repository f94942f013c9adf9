public import Foundation

/// Reads JSON into `Decodable` values, as Foundation's `JSONDecoder` does for the values the ledger stores
/// (strings, integers, booleans, dates, nested structures, arrays and dictionaries), about twice as fast.
///
/// Every read of the log decodes its events, and every read-model batch decodes the folded states it did not
/// keep in memory; Foundation's decoder was a sixth of a rebuild's CPU time and more than a third of the
/// sweeper's. Here the text is checked and indexed once (one flat list of its values, each with where it
/// starts and ends), and each member is found by comparing its key's UTF-8 bytes where they lie: no
/// dictionary per object, and no string made for a key or a value nobody reads.
///
/// It reads what Foundation reads, to the same values, and refuses what it refuses, as Foundation does it:
/// any JSON text (a bare value at the top too), a comma allowed after an array's or object's last value, of a
/// key written twice the first value read, a string's escapes and control characters checked when the string
/// is read (a string nobody reads may hold bad ones). It is stricter in four ways: the text must be UTF-8
/// (Foundation also reads UTF-16 and UTF-32); a number is checked even if nobody reads it; a number whose
/// fraction is not zero is never read as an integer (`1.0` and `15e-1` are; Foundation reads some numbers
/// beyond 2^53 as integers by dropping their fraction); and nesting deeper than ``maximumDepth`` is refused
/// (Foundation allows 512; what the ledger stores nests a few levels), so no text can exhaust the stack.
///
/// Dates are read as ``CompactJSONEncoder/DateForm`` says; `Data` from Base64, `URL` from its string and
/// `Decimal` from its number, as Foundation does by default. Errors are `DecodingError`s with the coding path.
public struct CompactJSONDecoder: Sendable {
    public var dates: CompactJSONEncoder.DateForm

    /// The deepest nesting of arrays and objects read.
    public static let maximumDepth = 128

    public init(dates: CompactJSONEncoder.DateForm) {
        self.dates = dates
    }

    public func decode<Value: Decodable>(_ type: Value.Type, from data: Data) throws -> Value {
        let document = try JSONIndex(Array(data))
        return try NodeDecoder(document, dates: dates, node: 0, parent: nil, key: nil).decode(Value.self)
    }
}

/// One value of the text: its kind, where its bytes lie, and (for an array or object) how many values it holds
/// directly and the index of the first node after it.
struct JSONNode {
    enum Kind: UInt8 {
        case object, array, string, escapedString, number, `true`, `false`, null
    }

    var kind: Kind
    /// The value's first byte; for a string, the first byte after its opening quote.
    var start: Int
    /// For a string, its closing quote; for a number or literal, the byte after it; for a container, its count
    /// of direct members (an object's key and value count as one member) or elements.
    var endOrCount: Int
    /// For an array or object, the index of the node after it and everything in it.
    var next: Int
}

/// The checked and indexed text.
final class JSONIndex {
    let bytes: [UInt8]
    let nodes: [JSONNode]

    init(_ bytes: [UInt8]) throws {
        self.bytes = bytes
        var nodes: [JSONNode] = []
        nodes.reserveCapacity(bytes.count / 8 + 4)
        var parser = Parser(bytes: bytes)
        var nonASCII = false
        try parser.parseDocument(into: &nodes, nonASCII: &nonASCII)
        // A null after the text's own values, for a super decoder of a key that is not there (Foundation hands
        // out a decoder of null then).
        nodes.append(JSONNode(kind: .null, start: 0, endOrCount: 0, next: 0))
        self.nodes = nodes
        // JSON text is UTF-8; bytes past ASCII can only be inside strings, so one check of the whole text
        // covers them.
        if nonASCII, String(validating: bytes, as: UTF8.self) == nil {
            throw JSONIndex.corrupted("The text is not valid UTF-8.")
        }
    }

    /// The null that is not part of the text (see `init`).
    var absent: Int { nodes.count - 1 }

    static func corrupted(_ message: String, codingPath: [any CodingKey] = []) -> DecodingError {
        .dataCorrupted(.init(codingPath: codingPath, debugDescription: message))
    }

    /// The text of a string node, its escapes read; an error for a bad escape or an unescaped control character.
    func string(_ node: JSONNode) throws -> String {
        if node.kind == .string {
            return bytes.withUnsafeBufferPointer { String(decoding: UnsafeBufferPointer(rebasing: $0[node.start..<node.endOrCount]), as: UTF8.self) }
        }
        var out: [UInt8] = []
        out.reserveCapacity(node.endOrCount - node.start)
        var index = node.start
        while index < node.endOrCount {
            let byte = bytes[index]
            guard byte >= 0x20 else { throw Self.corrupted("A string holds an unescaped control character.") }
            guard byte == UInt8(ascii: "\\") else {
                out.append(byte)
                index += 1
                continue
            }
            let escape = bytes[index + 1]
            index += 2
            switch escape {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escape)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                // Four hex digits; a high surrogate must be followed by a low one.
                guard let high = hex4(at: index, before: node.endOrCount) else { throw Self.corrupted("A string holds an invalid \\u escape.") }
                var scalar = UInt32(high)
                index += 4
                if (0xD800...0xDBFF).contains(scalar) {
                    guard index + 6 <= node.endOrCount, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                        throw Self.corrupted("A string holds a high surrogate without its low surrogate.")
                    }
                    guard let low = hex4(at: index + 2, before: node.endOrCount).map(UInt32.init), (0xDC00...0xDFFF).contains(low) else {
                        throw Self.corrupted("A string holds a high surrogate without its low surrogate.")
                    }
                    index += 6
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if (0xDC00...0xDFFF).contains(scalar) {
                    throw Self.corrupted("A string holds a low surrogate without its high surrogate.")
                }
                guard let unicode = Unicode.Scalar(scalar), let encoded = UTF8.encode(unicode) else {
                    throw Self.corrupted("A string holds an invalid escape.")
                }
                out.append(contentsOf: encoded)
            default:
                throw Self.corrupted("A string holds an invalid escape sequence.")
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The four hex digits at `index`, before `end`; nil if they are not.
    private func hex4(at index: Int, before end: Int) -> UInt16? {
        guard index + 4 <= end else { return nil }
        var value: UInt16 = 0
        for offset in 0..<4 {
            guard let digit = Parser.hexValue(bytes[index + offset]) else { return nil }
            value = value << 4 | UInt16(digit)
        }
        return value
    }

    /// Whether a string node's text is `text`, without making a string of it where it holds no escape.
    func string(_ node: JSONNode, equals text: String) -> Bool {
        if node.kind == .escapedString { return (try? string(node)) == text }
        var text = text
        return text.withUTF8 { key in
            let length = node.endOrCount - node.start
            guard key.count == length else { return false }
            return bytes.withUnsafeBufferPointer { all in
                guard let text = all.baseAddress, let key = key.baseAddress else { return length == 0 }
                return memcmp(text + node.start, key, length) == 0
            }
        }
    }

    /// The bytes of a number node, as text.
    func numberText(_ node: JSONNode) -> String {
        String(decoding: bytes[node.start..<node.endOrCount], as: UTF8.self)
    }
}

/// Checks the text and lists its values in order (a container before what it holds).
private struct Parser {
    let bytes: [UInt8]
    var index = 0
    var depth = 0

    init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    mutating func parseDocument(into nodes: inout [JSONNode], nonASCII: inout Bool) throws {
        skipSpace()
        try parseValue(into: &nodes, nonASCII: &nonASCII)
        skipSpace()
        guard index == bytes.count else { throw fail("Unexpected text after the JSON value at byte \(index).") }
    }

    private func fail(_ message: String) -> DecodingError {
        JSONIndex.corrupted("The given data was not valid JSON. \(message)")
    }

    private mutating func skipSpace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    private mutating func parseValue(into nodes: inout [JSONNode], nonASCII: inout Bool) throws {
        guard index < bytes.count else { throw fail("The text ends where a value was expected.") }
        switch bytes[index] {
        case UInt8(ascii: "{"): try parseContainer(object: true, into: &nodes, nonASCII: &nonASCII)
        case UInt8(ascii: "["): try parseContainer(object: false, into: &nodes, nonASCII: &nonASCII)
        case UInt8(ascii: "\""): nodes.append(try parseString(nonASCII: &nonASCII))
        case UInt8(ascii: "t"): nodes.append(try literal("true", .true))
        case UInt8(ascii: "f"): nodes.append(try literal("false", .false))
        case UInt8(ascii: "n"): nodes.append(try literal("null", .null))
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): nodes.append(try parseNumber())
        default: throw fail("Unexpected character at byte \(index).")
        }
    }

    private mutating func parseContainer(object: Bool, into nodes: inout [JSONNode], nonASCII: inout Bool) throws {
        depth += 1
        guard depth <= CompactJSONDecoder.maximumDepth else {
            throw fail("Nested deeper than \(CompactJSONDecoder.maximumDepth) arrays and objects.")
        }
        let own = nodes.count
        nodes.append(JSONNode(kind: object ? .object : .array, start: index, endOrCount: 0, next: 0))
        index += 1
        skipSpace()
        let close = object ? UInt8(ascii: "}") : UInt8(ascii: "]")
        var count = 0
        if index < bytes.count, bytes[index] == close {
            index += 1
        } else {
            while true {
                if object {
                    guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw fail("Expected a key at byte \(index).") }
                    nodes.append(try parseString(nonASCII: &nonASCII))
                    skipSpace()
                    guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw fail("Expected ':' at byte \(index).") }
                    index += 1
                    skipSpace()
                }
                try parseValue(into: &nodes, nonASCII: &nonASCII)
                count += 1
                skipSpace()
                guard index < bytes.count else { throw fail("The text ends inside \(object ? "an object" : "an array").") }
                if bytes[index] == close {
                    index += 1
                    break
                }
                guard bytes[index] == UInt8(ascii: ",") else { throw fail("Expected ',' or '\(Character(Unicode.Scalar(close)))' at byte \(index).") }
                index += 1
                skipSpace()
                // One comma after the last value is allowed, as Foundation allows it.
                if index < bytes.count, bytes[index] == close {
                    index += 1
                    break
                }
            }
        }
        nodes[own].endOrCount = count
        nodes[own].next = nodes.count
        depth -= 1
    }

    private mutating func parseString(nonASCII: inout Bool) throws -> JSONNode {
        index += 1
        let start = index
        var escaped = false
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return JSONNode(kind: escaped ? .escapedString : .string, start: start, endOrCount: index - 1, next: 0)
            case UInt8(ascii: "\\"):
                // The escape is checked when the string is read, as Foundation checks it; a `\u` takes the four
                // bytes after it, whatever they are, as in Foundation.
                escaped = true
                guard index + 1 < bytes.count else { throw fail("The text ends inside a string.") }
                if bytes[index + 1] == UInt8(ascii: "u") {
                    guard index + 5 < bytes.count else { throw fail("The text ends inside a string.") }
                    if (2...5).contains(where: { bytes[index + $0] >= 0x80 }) { nonASCII = true }
                    index += 6
                } else {
                    if bytes[index + 1] >= 0x80 { nonASCII = true }
                    index += 2
                }
            case 0..<0x20:
                // Refused when the string is read, as Foundation refuses it.
                escaped = true
                index += 1
            default:
                if byte >= 0x80 { nonASCII = true }
                index += 1
            }
        }
        throw fail("The text ends inside a string.")
    }

    private mutating func literal(_ word: StaticString, _ kind: JSONNode.Kind) throws -> JSONNode {
        let length = word.utf8CodeUnitCount
        guard index + length <= bytes.count else { throw fail("Unexpected character at byte \(index).") }
        let matches = word.withUTF8Buffer { word in (0..<length).allSatisfy { bytes[index + $0] == word[$0] } }
        guard matches else { throw fail("Unexpected character at byte \(index).") }
        let start = index
        index += length
        return JSONNode(kind: kind, start: start, endOrCount: index, next: 0)
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
    private mutating func parseNumber() throws -> JSONNode {
        let start = index
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count, Self.isDigit(bytes[index]) else { throw fail("Invalid number at byte \(start).") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
        } else {
            while index < bytes.count, Self.isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard index < bytes.count, Self.isDigit(bytes[index]) else { throw fail("Invalid number at byte \(start).") }
            while index < bytes.count, Self.isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count, Self.isDigit(bytes[index]) else { throw fail("Invalid number at byte \(start).") }
            while index < bytes.count, Self.isDigit(bytes[index]) { index += 1 }
        }
        return JSONNode(kind: .number, start: start, endOrCount: index, next: 0)
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// The decoder one value is handed.
private final class NodeDecoder: Decoder {
    let document: JSONIndex
    let dates: CompactJSONEncoder.DateForm
    let node: Int
    /// The decoder of the value this one is part of, and this value's key there.
    let parent: NodeDecoder?
    let key: (any CodingKey)?
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(_ document: JSONIndex, dates: CompactJSONEncoder.DateForm, node: Int, parent: NodeDecoder?, key: (any CodingKey)?) {
        self.document = document
        self.dates = dates
        self.node = node
        self.parent = parent
        self.key = key
    }

    /// Worked out only when asked (an error, or a type that reads it).
    var codingPath: [any CodingKey] {
        var path: [any CodingKey] = []
        var decoder: NodeDecoder? = self
        while let current = decoder {
            if let key = current.key { path.append(key) }
            decoder = current.parent
        }
        return path.reversed()
    }

    func child(_ node: Int, key: any CodingKey) -> NodeDecoder {
        NodeDecoder(document, dates: dates, node: node, parent: self, key: key)
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(try ObjectReader<Key>(self))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try ArrayReader(self)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        SingleReader(decoder: self)
    }

    /// Reads this decoder's node as `Value`.
    func decode<Value: Decodable>(_ type: Value.Type) throws -> Value {
        let read = Reading(self, nil)
        if Value.self == String.self, let value = try read.string(node) as? Value { return value }
        if Value.self == Int64.self, let value = try read.integer(node, Int64.self) as? Value { return value }
        if Value.self == Int.self, let value = try read.integer(node, Int.self) as? Value { return value }
        if Value.self == Bool.self, let value = try read.bool(node) as? Value { return value }
        if Value.self == Double.self, let value = try read.floating(node, Double.self) as? Value { return value }
        if Value.self == Date.self, let value = try read.date(node) as? Value { return value }
        if Value.self == Data.self {
            guard let data = Data(base64Encoded: try read.string(node)) else {
                throw JSONIndex.corrupted("Encountered Data is not valid Base64.", codingPath: codingPath)
            }
            if let value = data as? Value { return value }
        }
        if Value.self == URL.self {
            guard let url = URL(string: try read.string(node)) else {
                throw JSONIndex.corrupted("Invalid URL string.", codingPath: codingPath)
            }
            if let value = url as? Value { return value }
        }
        if Value.self == Decimal.self {
            let found = document.nodes[node]
            guard found.kind == .number, let decimal = Decimal(string: document.numberText(found)) else {
                throw read.mismatch(Decimal.self, found)
            }
            if let value = decimal as? Value { return value }
        }
        return try Value(from: self)
    }
}

/// Reads plain values from nodes of one decoder's text; its errors name the decoder's path, and `key` after it
/// when the value is a member read without a decoder of its own.
private struct Reading {
    let decoder: NodeDecoder
    let key: (any CodingKey)?

    init(_ decoder: NodeDecoder, _ key: (any CodingKey)?) {
        self.decoder = decoder
        self.key = key
    }

    var document: JSONIndex { decoder.document }
    var codingPath: [any CodingKey] { decoder.codingPath + (key.map { [$0] } ?? []) }

    func mismatch(_ type: Any.Type, _ node: JSONNode) -> DecodingError {
        if node.kind == .null {
            return .valueNotFound(type, .init(codingPath: codingPath, debugDescription: "Cannot get value of type \(type) -- found null value instead"))
        }
        return .typeMismatch(type, .init(codingPath: codingPath, debugDescription: "Expected to decode \(type) but found \(Self.describe(node.kind)) instead."))
    }

    static func describe(_ kind: JSONNode.Kind) -> String {
        switch kind {
        case .object: "a dictionary"
        case .array: "an array"
        case .string, .escapedString: "a string"
        case .number: "number"
        case .true, .false: "bool"
        case .null: "null"
        }
    }

    func string(_ index: Int) throws -> String {
        let node = document.nodes[index]
        guard node.kind == .string || node.kind == .escapedString else { throw mismatch(String.self, node) }
        return try document.string(node)
    }

    func bool(_ index: Int) throws -> Bool {
        let node = document.nodes[index]
        switch node.kind {
        case .true: return true
        case .false: return false
        default: throw mismatch(Bool.self, node)
        }
    }

    func integer<Integer: FixedWidthInteger>(_ index: Int, _ type: Integer.Type) throws -> Integer {
        let node = document.nodes[index]
        guard node.kind == .number else { throw mismatch(type, node) }
        // Plain digits (what the ledger writes) are read where they lie, with overflow checked.
        let bytes = document.bytes
        if bytes[node.start..<node.endOrCount].contains(where: { !Parser.isDigit($0) && $0 != UInt8(ascii: "-") }) {
            return try exactInteger(node, type)
        }
        var at = node.start
        let negative = bytes[at] == UInt8(ascii: "-")
        if negative { at += 1 }
        var value: Integer = 0
        while at < node.endOrCount {
            let digit = Integer(bytes[at] - UInt8(ascii: "0"))
            let (times, overflowTimes) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflowSum) = negative ? times.subtractingReportingOverflow(digit) : times.addingReportingOverflow(digit)
            guard !overflowTimes, !overflowSum else { throw unrepresentable(node) }
            value = sum
            at += 1
        }
        return value
    }

    /// A number with a fraction or an exponent, accepted only if it is a whole number the type can hold
    /// (`1.0`, `1e2`, `150e-1`), worked out from its digits, not through a `Double`.
    private func exactInteger<Integer: FixedWidthInteger>(_ node: JSONNode, _ type: Integer.Type) throws -> Integer {
        let bytes = document.bytes
        var at = node.start
        let negative = bytes[at] == UInt8(ascii: "-")
        if negative { at += 1 }
        var digits: [UInt8] = []
        var scale = 0
        var inFraction = false
        while at < node.endOrCount, bytes[at] != UInt8(ascii: "e"), bytes[at] != UInt8(ascii: "E") {
            if bytes[at] == UInt8(ascii: ".") {
                inFraction = true
            } else {
                digits.append(bytes[at] - UInt8(ascii: "0"))
                if inFraction { scale -= 1 }
            }
            at += 1
        }
        var hugeExponent = false
        if at < node.endOrCount {
            at += 1
            var exponentNegative = false
            if bytes[at] == UInt8(ascii: "+") || bytes[at] == UInt8(ascii: "-") {
                exponentNegative = bytes[at] == UInt8(ascii: "-")
                at += 1
            }
            var exponent = 0
            while at < node.endOrCount {
                // Past a billion no whole number of any integer type but zero can come of it (and the sum below
                // cannot overflow, the text's own digits being fewer).
                if exponent > 1_000_000_000 {
                    hugeExponent = true
                } else {
                    exponent = exponent * 10 + Int(bytes[at] - UInt8(ascii: "0"))
                }
                at += 1
            }
            scale += exponentNegative ? -exponent : exponent
        }
        guard digits.contains(where: { $0 != 0 }) else { return 0 }
        guard !hugeExponent else { throw unrepresentable(node) }
        while let last = digits.last, last == 0, scale < 0 {
            digits.removeLast()
            scale += 1
        }
        guard scale >= 0, scale <= 40 else { throw unrepresentable(node) }
        var value: Integer = 0
        for digit in digits + Array(repeating: 0, count: scale) {
            let (times, overflowTimes) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflowSum) = negative ? times.subtractingReportingOverflow(Integer(digit)) : times.addingReportingOverflow(Integer(digit))
            guard !overflowTimes, !overflowSum else { throw unrepresentable(node) }
            value = sum
        }
        return value
    }

    private func unrepresentable(_ node: JSONNode) -> DecodingError {
        JSONIndex.corrupted("Number \(document.numberText(node)) is not representable in Swift.", codingPath: codingPath)
    }

    func floating<Floating: BinaryFloatingPoint & LosslessStringConvertible>(_ index: Int, _ type: Floating.Type) throws -> Floating {
        let node = document.nodes[index]
        guard node.kind == .number else { throw mismatch(type, node) }
        guard let value = Floating(document.numberText(node)), value.isFinite else { throw unrepresentable(node) }
        return value
    }

    func date(_ index: Int) throws -> Date {
        switch decoder.dates {
        case .secondsSinceReferenceDate: return Date(timeIntervalSinceReferenceDate: try floating(index, Double.self))
        case .storedInstant:
            let text = try string(index)
            if let date = StoredInstant.parse(text) { return date }
            if let date = try? Date(text, strategy: StoredInstant.fallbackStyle) { return date }
            if let date = try? Date(text, strategy: .iso8601) { return date }
            throw JSONIndex.corrupted("'\(text)' is not an ISO 8601 instant", codingPath: codingPath)
        case .iso8601:
            let text = try string(index)
            guard let date = try? Date(text, strategy: .iso8601) else {
                throw JSONIndex.corrupted("Expected date string to be ISO8601-formatted.", codingPath: codingPath)
            }
            return date
        }
    }
}

/// The index of the node after the value at `index` and everything in it.
private func nodeAfter(_ index: Int, _ nodes: [JSONNode]) -> Int {
    switch nodes[index].kind {
    case .object, .array: nodes[index].next
    default: index + 1
    }
}

/// An object's members, found by their keys' bytes.
private struct ObjectReader<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let decoder: NodeDecoder
    /// Each member's key node and value node, in the text's order.
    let members: [(key: Int, value: Int)]
    /// For a large object (a dictionary's), each key's value node, so that reading all of them is not quadratic.
    let byKey: [String: Int]?

    init(_ decoder: NodeDecoder) throws {
        self.decoder = decoder
        let document = decoder.document
        let object = document.nodes[decoder.node]
        guard object.kind == .object else { throw Reading(decoder, nil).mismatch([String: Any].self, object) }
        var members: [(key: Int, value: Int)] = []
        members.reserveCapacity(object.endOrCount)
        var index = decoder.node + 1
        for _ in 0..<object.endOrCount {
            members.append((index, index + 1))
            index = nodeAfter(index + 1, document.nodes)
        }
        self.members = members
        // A key's escapes are checked when its object is read, as Foundation checks them.
        for member in members where document.nodes[member.key].kind == .escapedString {
            _ = try document.string(document.nodes[member.key])
        }
        if members.count > 16 {
            var byKey: [String: Int] = [:]
            // Of a key written twice, the first value is read.
            for member in members.reversed() { byKey[try document.string(document.nodes[member.key])] = member.value }
            self.byKey = byKey
        } else {
            byKey = nil
        }
    }

    var codingPath: [any CodingKey] { decoder.codingPath }

    /// Each key once, in the text's order.
    var allKeys: [Key] {
        var seen: Set<String> = []
        return members.compactMap { member in
            guard let name = try? decoder.document.string(decoder.document.nodes[member.key]), seen.insert(name).inserted else { return nil }
            return Key(stringValue: name)
        }
    }

    /// The value node of the member named `name`; of a key written twice, the first.
    private func valueNode(named name: String) -> Int? {
        if let byKey { return byKey[name] }
        let document = decoder.document
        for member in members where document.string(document.nodes[member.key], equals: name) {
            return member.value
        }
        return nil
    }

    private func valueNode(_ key: Key) throws -> Int {
        guard let index = valueNode(named: key.stringValue) else {
            throw DecodingError.keyNotFound(
                key, .init(codingPath: codingPath, debugDescription: "No value associated with key \(key) (\"\(key.stringValue)\").")
            )
        }
        return index
    }

    func contains(_ key: Key) -> Bool { valueNode(named: key.stringValue) != nil }

    func decodeNil(forKey key: Key) throws -> Bool { decoder.document.nodes[try valueNode(key)].kind == .null }

    private func read(_ key: Key) -> Reading { Reading(decoder, key) }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try read(key).bool(try valueNode(key)) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try read(key).string(try valueNode(key)) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try read(key).floating(try valueNode(key), type) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try read(key).floating(try valueNode(key), type) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try read(key).integer(try valueNode(key), type) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try read(key).integer(try valueNode(key), type) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try read(key).integer(try valueNode(key), type) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try read(key).integer(try valueNode(key), type) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try read(key).integer(try valueNode(key), type) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try read(key).integer(try valueNode(key), type) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try read(key).integer(try valueNode(key), type) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try read(key).integer(try valueNode(key), type) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try read(key).integer(try valueNode(key), type) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try read(key).integer(try valueNode(key), type) }

    func decode<Value: Decodable>(_ type: Value.Type, forKey key: Key) throws -> Value {
        try decoder.child(try valueNode(key), key: key).decode(type)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try decoder.child(try valueNode(key), key: key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try decoder.child(try valueNode(key), key: key).unkeyedContainer()
    }

    /// A decoder of the member `super`, or of null if there is none (as in Foundation).
    func superDecoder() throws -> any Decoder {
        let key = SuperKey()
        return decoder.child(valueNode(named: key.stringValue) ?? decoder.document.absent, key: key)
    }

    /// A decoder of `key`'s value, or of null if there is none (as in Foundation).
    func superDecoder(forKey key: Key) throws -> any Decoder {
        decoder.child(valueNode(named: key.stringValue) ?? decoder.document.absent, key: key)
    }
}

private struct SuperKey: CodingKey {
    var stringValue: String { "super" }
    var intValue: Int? { nil }
    init() {}
    init?(stringValue: String) { nil }
    init?(intValue: Int) { nil }
}

private struct IndexKey: CodingKey {
    let intValue: Int?
    var stringValue: String { "Index \(intValue ?? 0)" }
    init(_ index: Int) { intValue = index }
    init?(stringValue: String) { nil }
    init?(intValue: Int) { self.intValue = intValue }
}

/// An array's elements, one after the other.
private struct ArrayReader: UnkeyedDecodingContainer {
    let decoder: NodeDecoder
    let count: Int?
    private(set) var currentIndex = 0
    /// The node of the element at `currentIndex`.
    private var next: Int

    init(_ decoder: NodeDecoder) throws {
        let array = decoder.document.nodes[decoder.node]
        guard array.kind == .array else { throw Reading(decoder, nil).mismatch([Any].self, array) }
        self.decoder = decoder
        count = array.endOrCount
        next = decoder.node + 1
    }

    var codingPath: [any CodingKey] { decoder.codingPath }
    var isAtEnd: Bool { currentIndex >= (count ?? 0) }

    private func atEnd(_ type: Any.Type) -> DecodingError {
        .valueNotFound(type, .init(codingPath: codingPath + [IndexKey(currentIndex)], debugDescription: "Unkeyed container is at end."))
    }

    /// Reads the next element with `read`, and moves past it only if that succeeded (as Foundation does: a
    /// caller may try another type for the same element).
    private mutating func take<Value>(_ type: Any.Type, _ read: (NodeDecoder) throws -> Value) throws -> Value {
        guard !isAtEnd else { throw atEnd(type) }
        let value = try read(decoder.child(next, key: IndexKey(currentIndex)))
        next = nodeAfter(next, decoder.document.nodes)
        currentIndex += 1
        return value
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd else { throw atEnd(Any?.self) }
        guard decoder.document.nodes[next].kind == .null else { return false }
        next += 1
        currentIndex += 1
        return true
    }

    mutating func decode<Value: Decodable>(_ type: Value.Type) throws -> Value {
        try take(type) { try $0.decode(type) }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try take([String: Any].self) { try $0.container(keyedBy: type) }
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try take([Any].self) { try $0.unkeyedContainer() }
    }

    mutating func superDecoder() throws -> any Decoder {
        try take(Any.self) { $0 }
    }
}

/// One value on its own.
private struct SingleReader: SingleValueDecodingContainer {
    let decoder: NodeDecoder
    var codingPath: [any CodingKey] { decoder.codingPath }
    private var read: Reading { Reading(decoder, nil) }
    private var node: Int { decoder.node }

    func decodeNil() -> Bool { decoder.document.nodes[node].kind == .null }
    func decode(_ type: Bool.Type) throws -> Bool { try read.bool(node) }
    func decode(_ type: String.Type) throws -> String { try read.string(node) }
    func decode(_ type: Double.Type) throws -> Double { try read.floating(node, type) }
    func decode(_ type: Float.Type) throws -> Float { try read.floating(node, type) }
    func decode(_ type: Int.Type) throws -> Int { try read.integer(node, type) }
    func decode(_ type: Int8.Type) throws -> Int8 { try read.integer(node, type) }
    func decode(_ type: Int16.Type) throws -> Int16 { try read.integer(node, type) }
    func decode(_ type: Int32.Type) throws -> Int32 { try read.integer(node, type) }
    func decode(_ type: Int64.Type) throws -> Int64 { try read.integer(node, type) }
    func decode(_ type: UInt.Type) throws -> UInt { try read.integer(node, type) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try read.integer(node, type) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try read.integer(node, type) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try read.integer(node, type) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try read.integer(node, type) }
    func decode<Value: Decodable>(_ type: Value.Type) throws -> Value { try decoder.decode(type) }
}
