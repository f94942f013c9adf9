/// Character data, references and the byte-level helpers every reader shares.
extension XMLTokenizer {
    static let commentOpening = Array("<!--".utf8)
    static let cdataOpening = Array("<![CDATA[".utf8)
    static let cdataClosing = Array("]]>".utf8)
    static let doctypeOpening = Array("<!DOCTYPE".utf8)
    static let entityOpening = Array("<!ENTITY".utf8)
    static let processingInstructionClosing = Array("?>".utf8)
    /// `&#x10FFFF;` is the longest reference the tokenizer accepts; a longer one is refused, not awaited.
    static let referenceBytesMax = 12

    // MARK: Text

    /// Reads character data up to the next `<`, replacing references; returns where it stopped.
    mutating func text<Handler: XMLTokenHandler>(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, _ handler: inout Handler) throws -> Int {
        var index = start
        var runStart = start
        let count = bytes.count
        while index < count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "<") { break }
            if byte == UInt8(ascii: "&") {
                try emitText(bytes, runStart..<index, &handler)
                guard let found = try reference(bytes, at: index, limit: count) else { return index }
                let (scalar, next) = found
                try emitReference(scalar, bytes, at: index, &handler)
                index = next
                runStart = next
                continue
            }
            if byte == UInt8(ascii: "]") {
                // `]]>` may only close a CDATA section; it may straddle the chunk boundary.
                if index + 2 >= count, !atEnd {
                    try emitText(bytes, runStart..<index, &handler)
                    return index
                }
                if index + 2 < count, bytes[index + 1] == UInt8(ascii: "]"), bytes[index + 2] == UInt8(ascii: ">") {
                    throw error(.malformed, at: index, in: bytes, "']]>' in text outside a CDATA section")
                }
            }
            index += 1
        }
        try emitText(bytes, runStart..<index, &handler)
        return index
    }

    /// Hands text inside the root element on; outside it, only whitespace is allowed.
    private mutating func emitText<Handler: XMLTokenHandler>(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, _ handler: inout Handler) throws {
        guard !range.isEmpty else { return }
        guard phase == .content else {
            if let misplaced = range.first(where: { !Self.isSpace(bytes[$0]) }) {
                let place = phase == .prolog ? "before the root element" : "after the root element has closed"
                throw error(.malformed, at: misplaced, in: bytes, "text \(place)")
            }
            return
        }
        let line = lineNumber(at: range.lowerBound, in: bytes)
        try handler.characters(UnsafeBufferPointer(rebasing: bytes[range]), line: line)
    }

    private mutating func emitReference<Handler: XMLTokenHandler>(
        _ scalar: Unicode.Scalar, _ bytes: UnsafeBufferPointer<UInt8>, at index: Int, _ handler: inout Handler
    ) throws {
        guard phase == .content else {
            throw error(.malformed, at: index, in: bytes, "a reference outside the root element")
        }
        let line = lineNumber(at: index, in: bytes)
        let encoded = Array(String(Character(scalar)).utf8)
        try encoded.withUnsafeBufferPointer { encoded in
            try handler.characters(encoded, line: line)
        }
    }

    /// An attribute value between its quotes, with references replaced and whitespace characters as spaces.
    mutating func attributeValue(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) throws -> String {
        var plain = true
        for index in range {
            let byte = bytes[index]
            if byte == UInt8(ascii: "<") {
                throw error(.malformed, at: index, in: bytes, "'<' inside an attribute value")
            }
            if byte == UInt8(ascii: "&") || byte == 0x09 || byte == 0x0A || byte == 0x0D { plain = false }
        }
        if plain { return Self.string(UnsafeBufferPointer(rebasing: bytes[range])) }
        var value: [UInt8] = []
        var index = range.lowerBound
        while index < range.upperBound {
            let byte = bytes[index]
            if byte == UInt8(ascii: "&") {
                // The closing quote has been seen, so a reference that does not end before it is an error, not a wait.
                guard let found = try reference(bytes, at: index, limit: range.upperBound) else {
                    throw error(.malformed, at: index, in: bytes, "'&' in an attribute value does not start a reference ending in ';'")
                }
                let (scalar, next) = found
                value.append(contentsOf: String(Character(scalar)).utf8)
                index = next
            } else {
                value.append(byte == 0x09 || byte == 0x0A || byte == 0x0D ? UInt8(ascii: " ") : byte)
                index += 1
            }
        }
        return String(decoding: value, as: UTF8.self)
    }

    // MARK: References

    /// Reads `&name;`, `&#NNN;` or `&#xHHH;` at `start`, returning the character and the index after `;`.
    /// Nil when `limit` is the buffer's end and the reference may continue in the next chunk.
    mutating func reference(_ bytes: UnsafeBufferPointer<UInt8>, at start: Int, limit: Int) throws -> (Unicode.Scalar, Int)? {
        var end = start + 1
        while end < limit, end - start <= Self.referenceBytesMax, bytes[end] == UInt8(ascii: "#") || Self.isNameCharacter(bytes[end]) {
            end += 1
        }
        if end == limit, end - start <= Self.referenceBytesMax {
            if limit == bytes.count, !atEnd { return nil }
            throw error(.malformed, at: start, in: bytes, "'&' does not start a reference ending in ';'")
        }
        guard end < limit, bytes[end] == UInt8(ascii: ";") else {
            throw error(.malformed, at: start, in: bytes, "'&' does not start a reference ending in ';' (write '&amp;' for a literal '&')")
        }
        let body = UnsafeBufferPointer(rebasing: bytes[(start + 1)..<end])
        if body.first == UInt8(ascii: "#") {
            guard let scalar = Self.characterReference(UnsafeBufferPointer(rebasing: body.dropFirst())) else {
                throw error(.malformed, at: start, in: bytes, "'&\(Self.string(body));' is not a character XML allows")
            }
            return (scalar, end + 1)
        }
        let name = Self.string(body)
        switch name {
        case "lt": return ("<", end + 1)
        case "gt": return (">", end + 1)
        case "amp": return ("&", end + 1)
        case "apos": return ("'", end + 1)
        case "quot": return ("\"", end + 1)
        default:
            throw error(.malformed, at: start, in: bytes, "the reference '&\(name);' names no predefined entity; only &lt; &gt; &amp; &apos; &quot; and character references are read")
        }
    }

    /// The character of `NNN` or `xHHH`, when it is one XML 1.0 allows.
    private static func characterReference(_ digits: UnsafeBufferPointer<UInt8>) -> Unicode.Scalar? {
        var body = digits[...]
        var radix: UInt32 = 10
        if body.first == UInt8(ascii: "x") {
            radix = 16
            body = body.dropFirst()
        }
        guard !body.isEmpty else { return nil }
        var value: UInt32 = 0
        for byte in body {
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f") where radix == 16: digit = UInt32(byte - UInt8(ascii: "a")) + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F") where radix == 16: digit = UInt32(byte - UInt8(ascii: "A")) + 10
            default: return nil
            }
            value = value * radix + digit
            guard value <= 0x10FFFF else { return nil }
        }
        switch value {
        case 0x09, 0x0A, 0x0D, 0x20...0xD7FF, 0xE000...0xFFFD, 0x10000...0x10FFFF: return Unicode.Scalar(value)
        default: return nil
        }
    }

    // MARK: Bytes

    enum PrefixMatch {
        case full, partial, mismatch
    }

    /// Whether `pattern` starts at `start`, or might once more bytes arrive.
    static func match(_ bytes: UnsafeBufferPointer<UInt8>, at start: Int, _ pattern: [UInt8], ignoringCase: Bool) -> PrefixMatch {
        let available = min(pattern.count, bytes.count - start)
        for offset in 0..<available {
            let byte = bytes[start + offset]
            let expected = pattern[offset]
            let equal = ignoringCase && expected >= UInt8(ascii: "A") ? byte | 0x20 == expected | 0x20 : byte == expected
            if !equal { return .mismatch }
        }
        return available == pattern.count ? .full : .partial
    }

    static func firstIndex(of byte: UInt8, in bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        var index = start
        while index < bytes.count {
            if bytes[index] == byte { return index }
            index += 1
        }
        return nil
    }

    static func firstIndex(of pattern: [UInt8], in bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        var index = start
        while let candidate = firstIndex(of: pattern[0], in: bytes, from: index) {
            guard candidate + pattern.count <= bytes.count else { return nil }
            if match(bytes, at: candidate, pattern, ignoringCase: false) == .full { return candidate }
            index = candidate + 1
        }
        return nil
    }

    static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x0A || byte == 0x09 || byte == 0x0D
    }

    static func skipSpace(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        var index = start
        while index < bytes.count, isSpace(bytes[index]) {
            index += 1
        }
        return index
    }

    /// Letters, `_`, `:` and anything beyond ASCII may start a name; digits, `-` and `.` may only continue one.
    static func isNameStart(_ byte: UInt8) -> Bool {
        (byte | 0x20 >= UInt8(ascii: "a") && byte | 0x20 <= UInt8(ascii: "z")) || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ":") || byte >= 0x80
    }

    static func isNameCharacter(_ byte: UInt8) -> Bool {
        isNameStart(byte) || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".")
    }

    static func nameEnd(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        var index = start
        while index < bytes.count, isNameCharacter(bytes[index]) {
            index += 1
        }
        return index
    }

    static func string(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        String(decoding: bytes, as: UTF8.self)
    }

    /// A byte for an error message: the character when printable ASCII, else its hex value.
    static func printable(_ byte: UInt8) -> String {
        byte >= 0x21 && byte < 0x7F ? String(UnicodeScalar(byte)) : "0x\(String(byte, radix: 16, uppercase: true))"
    }
}
