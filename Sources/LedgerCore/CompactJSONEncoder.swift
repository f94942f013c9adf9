public import Foundation

/// Compact JSON with sorted keys, written straight into one byte buffer: the bytes `JSONEncoder` writes with
/// `[.sortedKeys, .withoutEscapingSlashes]` for the values the ledger stores (strings, integers, booleans,
/// dates, nested structures, arrays and dictionaries), about four times faster.
///
/// Events and the read models' folded states are encoded on every append and every batch; Foundation's
/// encoder builds a tree of boxed values and dictionaries first and was a quarter to a third of the CPU time
/// of booking a statement and of a rebuild. Here each object's members are written as they come, and an
/// object whose keys did not come in order is put in order once it is complete (keys compare by their UTF-8
/// bytes, as Foundation's do). A key written twice keeps its last value, as in Foundation.
///
/// Dates are written as ``DateForm`` says; `Data` as Base64, `URL` as its absolute string and `Decimal` as
/// its number, as Foundation does by default. Doubles and floats must be finite.
public struct CompactJSONEncoder: Sendable {
    /// How a `Date` is written.
    public enum DateForm: Sendable {
        /// As ``StoredInstant`` text, as the events store instants.
        case storedInstant
        /// As seconds since 2001-01-01, a number (Foundation's default, `Date`'s own encoding).
        case secondsSinceReferenceDate
        /// As ISO 8601 text to the second, UTC (`.iso8601` in Foundation; ``StoredInstant/formatWholeSeconds(_:)``).
        case iso8601
    }

    public var dates: DateForm

    public init(dates: DateForm) {
        self.dates = dates
    }

    public func encode<Value: Encodable>(_ value: Value) throws -> Data {
        let writer = JSONBytes(dates: dates)
        try writer.value(value, parent: nil, key: nil)
        return Data(writer.bytes)
    }
}

/// The buffer one encoding writes into.
private final class JSONBytes {
    // Unchecked exclusivity: every access is on the one task encoding the value, and the runtime's checks
    // on these few hot properties took a fifth of the encoding time.
    @exclusivity(unchecked) var bytes: [UInt8] = []
    let dates: CompactJSONEncoder.DateForm

    init(dates: CompactJSONEncoder.DateForm) {
        self.dates = dates
        bytes.reserveCapacity(512)
    }

    /// Writes one complete value.
    /// `parent` and `key` say where the value is, for the coding path.
    func value<Value: Encodable>(_ value: Value, parent: ValueEncoder?, key: (any CodingKey)?) throws {
        if Value.self == String.self, let text = value as? String { return string(text) }
        if Value.self == Data.self, let data = value as? Data { return string(data.base64EncodedString()) }
        if Value.self == URL.self, let url = value as? URL { return string(url.absoluteString) }
        if Value.self == Decimal.self, let decimal = value as? Decimal { return bytes.append(contentsOf: decimal.description.utf8) }
        if Value.self == Date.self, let date = value as? Date {
            return try self.date(date, codingPath: ValueEncoder(self, parent: parent, key: key).codingPath)
        }
        let encoder = ValueEncoder(self, parent: parent, key: key)
        do {
            try value.encode(to: encoder)
        } catch {
            encoder.release()
            throw error
        }
        try encoder.finish()
    }

    func date(_ date: Date, codingPath: @autoclosure () -> [any CodingKey]) throws {
        switch dates {
        case .storedInstant: string(StoredInstant.format(date))
        case .secondsSinceReferenceDate: try number(date.timeIntervalSinceReferenceDate, codingPath: codingPath())
        case .iso8601: string(StoredInstant.formatWholeSeconds(date))
        }
    }

    /// Runs `write`; if it throws, takes back what it wrote. A member or element that failed is not written:
    /// a caller may catch the error and go on.
    func unlessItFails(_ write: () throws -> Void) rethrows {
        let before = bytes.count
        do {
            try write()
        } catch {
            bytes.removeSubrange(before...)
            throw error
        }
    }

    func integer(_ value: some BinaryInteger) {
        bytes.append(contentsOf: String(value).utf8)
    }

    func number(_ value: some BinaryFloatingPoint & LosslessStringConvertible, codingPath: @autoclosure () -> [any CodingKey]) throws {
        guard value.isFinite else {
            throw EncodingError.invalidValue(value, .init(codingPath: codingPath(), debugDescription: "\(value) is not a JSON number"))
        }
        var text = value.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        bytes.append(contentsOf: text.utf8)
    }

    func bool(_ value: Bool) {
        bytes.append(contentsOf: value ? Self.trueBytes : Self.falseBytes)
    }

    func null() {
        bytes.append(contentsOf: Self.nullBytes)
    }

    /// A JSON string literal: quotes and backslashes escaped, newline, return, tab, backspace and form feed by
    /// their short escape,
    /// other control characters as `\u00xx`, everything else as its UTF-8 bytes.
    func string(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { utf8 in
            var clean = 0
            for index in utf8.indices {
                let byte = utf8[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                if clean < index { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[clean..<index])) }
                clean = index + 1
                switch byte {
                case UInt8(ascii: "\""): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
                case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
                case UInt8(ascii: "\n"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
                case UInt8(ascii: "\r"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
                case UInt8(ascii: "\t"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
                case 0x08: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
                case 0x0C: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
                default:
                    bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                    bytes.append(Self.hexDigits[Int(byte >> 4)])
                    bytes.append(Self.hexDigits[Int(byte & 0xF)])
                }
            }
            if clean < utf8.count { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[clean...])) }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private static let trueBytes = Array("true".utf8)
    private static let falseBytes = Array("false".utf8)
    private static let nullBytes = Array("null".utf8)
    private static let hexDigits = Array("0123456789abcdef".utf8)
}

/// The encoder one value is handed: it writes the value's one container straight into the buffer and
/// closes it in ``finish()``, once the value's `encode(to:)` has returned.
private final class ValueEncoder: Encoder {
    enum Container {
        case none
        case object(ObjectFrame)
        case array(ArrayFrame)
        case single
        case finished
    }

    let out: JSONBytes
    /// The encoder of the value this one is part of, and this value's key there (nil in an array).
    let parent: ValueEncoder?
    let key: (any CodingKey)?
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    @exclusivity(unchecked) var container = Container.none
    /// Where a single value started in the buffer, to tell one that wrote nothing.
    var singleStart = 0
    /// A misuse of the coding API found while encoding (two kinds of container for one value), thrown by
    /// ``finish()``.
    var misuse: String?

    init(_ out: JSONBytes, parent: ValueEncoder?, key: (any CodingKey)?) {
        self.out = out
        self.parent = parent
        self.key = key
    }

    /// Worked out only when asked (an error, or a type that reads it): most values never need it.
    var codingPath: [any CodingKey] {
        var path: [any CodingKey] = []
        var encoder: ValueEncoder? = self
        while let current = encoder {
            if let key = current.key { path.append(key) }
            encoder = current.parent
        }
        return path.reversed()
    }

    /// An encoder for a member or element of this value written later, into a buffer of its own.
    func deferred(key: (any CodingKey)?) -> ValueEncoder {
        ValueEncoder(JSONBytes(dates: out.dates), parent: self, key: key)
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        switch container {
        case .object(let frame): return KeyedEncodingContainer(ObjectContainer<Key>(frame: frame))
        case .none: break
        default: misuse = "a keyed container was asked for a value that had another"
        }
        let frame = ObjectFrame(self)
        container = .object(frame)
        return KeyedEncodingContainer(ObjectContainer<Key>(frame: frame))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        switch container {
        case .array(let frame): return ArrayContainer(frame: frame)
        case .none: break
        default: misuse = "an unkeyed container was asked for a value that had another"
        }
        let frame = ArrayFrame(self)
        container = .array(frame)
        return ArrayContainer(frame: frame)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        switch container {
        case .none:
            container = .single
            singleStart = out.bytes.count
        case .single: break
        default: misuse = "a single value container was asked for a value that had another"
        }
        return SingleContainer(encoder: self)
    }

    /// Closes the value's container. A container's frame refers back to this encoder (for the coding path),
    /// so the container is let go of here, whatever happens: otherwise the two would keep each other alive.
    func finish() throws {
        defer { release() }
        if let misuse {
            throw EncodingError.invalidValue(misuse, .init(codingPath: codingPath, debugDescription: misuse))
        }
        switch container {
        case .none:
            // As Foundation: a value that wrote nothing is an empty object inside another, an error alone.
            guard parent != nil else {
                throw EncodingError.invalidValue("", .init(codingPath: codingPath, debugDescription: "the value did not encode anything"))
            }
            out.bytes.append(contentsOf: [UInt8(ascii: "{"), UInt8(ascii: "}")])
        case .object(let frame): try frame.close()
        case .array(let frame): try frame.close()
        case .finished: break
        case .single:
            if out.bytes.count == singleStart {
                guard parent != nil else {
                    throw EncodingError.invalidValue("", .init(codingPath: codingPath, debugDescription: "the value did not encode anything"))
                }
                out.bytes.append(contentsOf: [UInt8(ascii: "{"), UInt8(ascii: "}")])
            }
        }
    }

    /// Lets go of the container and of every member or element still open in it, written or not (a value
    /// that threw, a member given twice): each of them and its frame refer to each other.
    func release() {
        let open = container
        container = .finished
        switch open {
        case .object(let frame): for member in frame.members { member.deferred?.release() }
        case .array(let frame): for element in frame.elements { element.deferred?.release() }
        case .none, .single, .finished: break
        }
    }

    /// Writes a single value, once: a second value for the same container is a misuse (it would not be JSON).
    func single(_ write: () throws -> Void) rethrows {
        guard out.bytes.count == singleStart else {
            misuse = "a single value container was given two values"
            return
        }
        try write()
    }
}

/// A JSON object being written: its members so far, each the bytes `"key":value` in the buffer, in the order
/// they came. A member whose value is still open (a nested container or a super encoder) is written to a
/// buffer of its own and joins when the object closes.
private final class ObjectFrame {
    struct Member {
        var key: String
        /// The key's first eight UTF-8 bytes, big-endian, zero-padded: keys whose prefixes differ are in the
        /// order of their prefixes, and only keys that share one are compared whole.
        var prefix: UInt64
        var start: Int
        var end: Int
        var deferred: ValueEncoder?

        init(key: String, start: Int, end: Int, deferred: ValueEncoder? = nil) {
            self.key = key
            var prefix: UInt64 = 0
            var taken = 0
            for byte in key.utf8 {
                guard taken < 8 else { break }
                prefix |= UInt64(byte) << (56 - 8 * taken)
                taken += 1
            }
            self.prefix = prefix
            self.start = start
            self.end = end
            self.deferred = deferred
        }

        /// Whether this key sorts before `other`'s by their UTF-8 bytes.
        func precedes(_ other: Member) -> Bool {
            prefix != other.prefix ? prefix < other.prefix : ObjectFrame.precedes(key, other.key)
        }

        /// Whether the two keys are one key: equal as Swift strings, as Foundation keeps its members. Keys whose
        /// prefixes differ in ASCII bytes alone cannot be; others may be equal in other bytes ("é" as one
        /// scalar or two).
        func hasKey(of other: Member) -> Bool {
            if prefix != other.prefix, (prefix | other.prefix) & 0x8080_8080_8080_8080 == 0 { return false }
            return key == other.key
        }
    }

    let owner: ValueEncoder
    let out: JSONBytes
    let start: Int
    @exclusivity(unchecked) var members: [Member] = []
    @exclusivity(unchecked) var inOrder = true

    init(_ owner: ValueEncoder) {
        self.owner = owner
        out = owner.out
        out.bytes.append(UInt8(ascii: "{"))
        start = out.bytes.count
    }

    /// Writes `"key":` and then the value `write` writes.
    func member(_ key: String, _ write: () throws -> Void) rethrows {
        var memberStart = 0
        try out.unlessItFails {
            if !members.isEmpty { out.bytes.append(UInt8(ascii: ",")) }
            memberStart = out.bytes.count
            out.string(key)
            out.bytes.append(UInt8(ascii: ":"))
            try write()
        }
        note(Member(key: key, start: memberStart, end: out.bytes.count))
    }

    /// The encoder of a member still open under `key`, if the container asked for is of its kind: asking
    /// again for a key's nested container gives the same one, as in Foundation.
    func openMember(_ key: String) -> ValueEncoder? {
        members.last { $0.key == key }?.deferred
    }

    /// A member whose value is written by `encoder` later, into a buffer of its own.
    func deferredMember(_ key: String, _ encoder: ValueEncoder) {
        note(Member(key: key, start: 0, end: 0, deferred: encoder))
        inOrder = false
    }

    private func note(_ member: Member) {
        if inOrder, let last = members.last, !last.precedes(member) { inOrder = false }
        members.append(member)
    }

    /// Whether `a` sorts before `b` by their UTF-8 bytes (a shorter text before a longer one it begins).
    static func precedes(_ a: String, _ b: String) -> Bool {
        var (a, b) = (a, b)
        return a.withUTF8 { a in
            b.withUTF8 { b in
                let common = min(a.count, b.count)
                if common > 0, let aStart = a.baseAddress, let bStart = b.baseAddress {
                    let order = memcmp(aStart, bStart, common)
                    if order != 0 { return order < 0 }
                }
                return a.count < b.count
            }
        }
    }

    func close() throws {
        if inOrder {
            out.bytes.append(UInt8(ascii: "}"))
            return
        }
        let written = Array(out.bytes[start...])
        out.bytes.removeSubrange(start...)
        // Sorted by key, the later of two equal keys last; of equal keys only the last is written.
        let order = members.indices.sorted { left, right in
            let (a, b) = (members[left], members[right])
            return a.hasKey(of: b) ? left < right : a.precedes(b)
        }
        var first = true
        for (position, index) in order.enumerated() {
            if position + 1 < order.count, members[order[position + 1]].hasKey(of: members[index]) { continue }
            if !first { out.bytes.append(UInt8(ascii: ",")) }
            first = false
            let member = members[index]
            if let deferred = member.deferred {
                out.string(member.key)
                out.bytes.append(UInt8(ascii: ":"))
                try deferred.finish()
                out.bytes.append(contentsOf: deferred.out.bytes)
            } else {
                out.bytes.append(contentsOf: written[(member.start - start)..<(member.end - start)])
            }
        }
        out.bytes.append(UInt8(ascii: "}"))
    }
}

/// A JSON array being written; an element still open (a nested container or a super encoder) is written to
/// a buffer of its own and joins when the array closes.
private final class ArrayFrame {
    let owner: ValueEncoder
    let out: JSONBytes
    let start: Int
    /// Each element's range in the buffer, or the encoder of an element written later.
    @exclusivity(unchecked) var elements: [(start: Int, end: Int, deferred: ValueEncoder?)] = []
    @exclusivity(unchecked) var hasDeferred = false

    init(_ owner: ValueEncoder) {
        self.owner = owner
        out = owner.out
        out.bytes.append(UInt8(ascii: "["))
        start = out.bytes.count
    }

    func element(_ write: () throws -> Void) rethrows {
        var elementStart = 0
        try out.unlessItFails {
            if !elements.isEmpty { out.bytes.append(UInt8(ascii: ",")) }
            elementStart = out.bytes.count
            try write()
        }
        elements.append((elementStart, out.bytes.count, nil))
    }

    func deferredElement(_ encoder: ValueEncoder) {
        if !elements.isEmpty { out.bytes.append(UInt8(ascii: ",")) }
        elements.append((out.bytes.count, out.bytes.count, encoder))
        hasDeferred = true
    }

    func close() throws {
        guard hasDeferred else {
            out.bytes.append(UInt8(ascii: "]"))
            return
        }
        let written = Array(out.bytes[start...])
        out.bytes.removeSubrange(start...)
        for (position, element) in elements.enumerated() {
            if position > 0 { out.bytes.append(UInt8(ascii: ",")) }
            if let deferred = element.deferred {
                try deferred.finish()
                out.bytes.append(contentsOf: deferred.out.bytes)
            } else {
                out.bytes.append(contentsOf: written[(element.start - start)..<(element.end - start)])
            }
        }
        out.bytes.append(UInt8(ascii: "]"))
    }
}

private struct ObjectContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let frame: ObjectFrame
    var codingPath: [any CodingKey] { frame.owner.codingPath }
    private var out: JSONBytes { frame.out }

    mutating func encodeNil(forKey key: Key) throws { frame.member(key.stringValue) { out.null() } }
    mutating func encode(_ value: Bool, forKey key: Key) throws { frame.member(key.stringValue) { out.bool(value) } }
    mutating func encode(_ value: String, forKey key: Key) throws { frame.member(key.stringValue) { out.string(value) } }
    mutating func encode(_ value: Double, forKey key: Key) throws { try frame.member(key.stringValue) { try out.number(value, codingPath: frame.owner.codingPath) } }
    mutating func encode(_ value: Float, forKey key: Key) throws { try frame.member(key.stringValue) { try out.number(value, codingPath: frame.owner.codingPath) } }
    mutating func encode(_ value: Int, forKey key: Key) throws { frame.member(key.stringValue) { out.integer(value) } }
    mutating func encode(_ value: Int8, forKey key: Key) throws { frame.member(key.stringValue) { out.integer(value) } }
    mutating func encode(_ value: Int16, forKey key: Key) throws { frame.member(key.stringValue) { out.integer(value) } }
    mutating func encode(_ value: Int32, forKey key: Key) throws { frame.member(key.stringValue) { out.integer(value) } }
    mutating func encode(_ value: Int64, forKey key: Key) throws { frame.member(key.stringValue) { out.integer(value) } }
    mutating func encode(_ value: UInt, forKey key: Key) throws { frame.member(key.stringValue) { out.integer(value) } }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { frame.member(key.stringValue) { out.integer(value) } }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { frame.member(key.stringValue) { out.integer(value) } }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { frame.member(key.stringValue) { out.integer(value) } }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { frame.member(key.stringValue) { out.integer(value) } }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        try frame.member(key.stringValue) { try out.value(value, parent: frame.owner, key: key) }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        if let open = frame.openMember(key.stringValue), case .object = open.container { return open.container(keyedBy: keyType) }
        let encoder = frame.owner.deferred(key: key)
        frame.deferredMember(key.stringValue, encoder)
        return encoder.container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        if let open = frame.openMember(key.stringValue), case .array = open.container { return open.unkeyedContainer() }
        let encoder = frame.owner.deferred(key: key)
        frame.deferredMember(key.stringValue, encoder)
        return encoder.unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        let encoder = frame.owner.deferred(key: nil)
        frame.deferredMember("super", encoder)
        return encoder
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        let encoder = frame.owner.deferred(key: key)
        frame.deferredMember(key.stringValue, encoder)
        return encoder
    }
}

private struct ArrayContainer: UnkeyedEncodingContainer {
    let frame: ArrayFrame
    var codingPath: [any CodingKey] { frame.owner.codingPath }
    var count: Int { frame.elements.count }
    private var out: JSONBytes { frame.out }

    mutating func encodeNil() throws { frame.element { out.null() } }
    mutating func encode(_ value: Bool) throws { frame.element { out.bool(value) } }
    mutating func encode(_ value: String) throws { frame.element { out.string(value) } }
    mutating func encode(_ value: Double) throws { try frame.element { try out.number(value, codingPath: frame.owner.codingPath) } }
    mutating func encode(_ value: Float) throws { try frame.element { try out.number(value, codingPath: frame.owner.codingPath) } }
    mutating func encode(_ value: Int) throws { frame.element { out.integer(value) } }
    mutating func encode(_ value: Int8) throws { frame.element { out.integer(value) } }
    mutating func encode(_ value: Int16) throws { frame.element { out.integer(value) } }
    mutating func encode(_ value: Int32) throws { frame.element { out.integer(value) } }
    mutating func encode(_ value: Int64) throws { frame.element { out.integer(value) } }
    mutating func encode(_ value: UInt) throws { frame.element { out.integer(value) } }
    mutating func encode(_ value: UInt8) throws { frame.element { out.integer(value) } }
    mutating func encode(_ value: UInt16) throws { frame.element { out.integer(value) } }
    mutating func encode(_ value: UInt32) throws { frame.element { out.integer(value) } }
    mutating func encode(_ value: UInt64) throws { frame.element { out.integer(value) } }
    mutating func encode<T: Encodable>(_ value: T) throws {
        try frame.element { try out.value(value, parent: frame.owner, key: nil) }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let encoder = frame.owner.deferred(key: nil)
        frame.deferredElement(encoder)
        return encoder.container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let encoder = frame.owner.deferred(key: nil)
        frame.deferredElement(encoder)
        return encoder.unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder {
        let encoder = frame.owner.deferred(key: nil)
        frame.deferredElement(encoder)
        return encoder
    }
}

private struct SingleContainer: SingleValueEncodingContainer {
    let encoder: ValueEncoder
    var codingPath: [any CodingKey] { encoder.codingPath }
    private var out: JSONBytes { encoder.out }

    init(encoder: ValueEncoder) {
        self.encoder = encoder
    }

    mutating func encodeNil() throws { encoder.single { out.null() } }
    mutating func encode(_ value: Bool) throws { encoder.single { out.bool(value) } }
    mutating func encode(_ value: String) throws { encoder.single { out.string(value) } }
    mutating func encode(_ value: Double) throws { try encoder.single { try out.number(value, codingPath: encoder.codingPath) } }
    mutating func encode(_ value: Float) throws { try encoder.single { try out.number(value, codingPath: encoder.codingPath) } }
    mutating func encode(_ value: Int) throws { encoder.single { out.integer(value) } }
    mutating func encode(_ value: Int8) throws { encoder.single { out.integer(value) } }
    mutating func encode(_ value: Int16) throws { encoder.single { out.integer(value) } }
    mutating func encode(_ value: Int32) throws { encoder.single { out.integer(value) } }
    mutating func encode(_ value: Int64) throws { encoder.single { out.integer(value) } }
    mutating func encode(_ value: UInt) throws { encoder.single { out.integer(value) } }
    mutating func encode(_ value: UInt8) throws { encoder.single { out.integer(value) } }
    mutating func encode(_ value: UInt16) throws { encoder.single { out.integer(value) } }
    mutating func encode(_ value: UInt32) throws { encoder.single { out.integer(value) } }
    mutating func encode(_ value: UInt64) throws { encoder.single { out.integer(value) } }
    mutating func encode<T: Encodable>(_ value: T) throws { try encoder.single { try out.value(value, parent: encoder.parent, key: encoder.key) } }
}
