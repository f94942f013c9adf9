/// Checks a JSON body for what `JSONDecoder` lets through but a ledger must not: the same key twice in one
/// object (which value counts would be a guess), control characters in strings (a NUL in a name), and
/// nesting deeper than any request needs. Syntax itself is left to the decoder.
enum StrictJSON {
    /// The deepest nesting of objects and arrays accepted.
    static let depthMax = 16

    /// Why `bytes` is refused, or nil. With `fields`, the top-level object may have no other keys, and
    /// objects inside it none but `nestedFields`.
    static func problem(in bytes: some Collection<UInt8>, fields: Set<String>? = nil, nestedFields: Set<String> = []) -> String? {
        var scanner = Scanner(bytes: Array(bytes), fields: fields.map { Set($0.map { Array($0.utf8) }) }, nestedFields: Set(nestedFields.map { Array($0.utf8) }))
        return scanner.run()
    }

    private enum Container {
        case object(keys: Set<[UInt8]>, expectingKey: Bool)
        case array
    }

    private struct Scanner {
        let bytes: [UInt8]
        let fields: Set<[UInt8]>?
        let nestedFields: Set<[UInt8]>
        var index = 0
        var stack: [Container] = []

        mutating func run() -> String? {
            while index < bytes.count {
                let byte = bytes[index]
                switch byte {
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    guard stack.count < StrictJSON.depthMax else { return "the JSON body is nested deeper than \(StrictJSON.depthMax) levels" }
                    stack.append(byte == UInt8(ascii: "{") ? .object(keys: [], expectingKey: true) : .array)
                    index += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    _ = stack.popLast()
                    index += 1
                case UInt8(ascii: ","):
                    if case .object(let keys, _) = stack.last { stack[stack.count - 1] = .object(keys: keys, expectingKey: true) }
                    index += 1
                case UInt8(ascii: "\""):
                    index += 1
                    let decoded: [UInt8]
                    switch readString() {
                    case .success(let text): decoded = text
                    case .failure(let problem): return problem.text
                    }
                    if case .object(var keys, true) = stack.last {
                        guard keys.insert(decoded).inserted else {
                            return "the JSON body has the key '\(String(decoding: decoded.prefix(40), as: UTF8.self))' twice in one object"
                        }
                        if let fields {
                            let allowed = stack.count == 1 ? fields : nestedFields
                            guard allowed.contains(decoded) else {
                                let known = allowed.map { String(decoding: $0, as: UTF8.self) }.sorted().joined(separator: ", ")
                                return "the JSON body has the field '\(String(decoding: decoded.prefix(40), as: UTF8.self))', which this request does not take (it takes \(known))"
                            }
                        }
                        stack[stack.count - 1] = .object(keys: keys, expectingKey: false)
                    }
                default:
                    index += 1
                }
            }
            return nil
        }

        struct Refusal: Error {
            var text: String
        }

        /// Reads a string after its opening quote, returning its decoded UTF-8 bytes.
        mutating func readString() -> Result<[UInt8], Refusal> {
            var decoded: [UInt8] = []
            var pendingHighSurrogate: UInt32?
            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                switch byte {
                case UInt8(ascii: "\""):
                    return .success(decoded)
                case UInt8(ascii: "\\"):
                    guard index < bytes.count else { return .failure(Refusal(text: "the JSON body ends inside a string")) }
                    let escape = bytes[index]
                    index += 1
                    guard escape == UInt8(ascii: "u") else {
                        // \n, \t and \r are text; \b and \f are control characters.
                        if escape == UInt8(ascii: "b") || escape == UInt8(ascii: "f") { return .failure(control()) }
                        switch escape {
                        case UInt8(ascii: "n"): decoded.append(0x0A)
                        case UInt8(ascii: "t"): decoded.append(0x09)
                        case UInt8(ascii: "r"): decoded.append(0x0D)
                        default: decoded.append(escape)
                        }
                        continue
                    }
                    guard index + 4 <= bytes.count, let value = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16) else {
                        return .failure(Refusal(text: "the JSON body has a \\u escape without four hex digits"))
                    }
                    index += 4
                    if (0xD800...0xDBFF).contains(value) {
                        pendingHighSurrogate = value
                        continue
                    }
                    var scalarValue = value
                    if (0xDC00...0xDFFF).contains(value), let high = pendingHighSurrogate {
                        scalarValue = 0x10000 + ((high - 0xD800) << 10) + (value - 0xDC00)
                    }
                    pendingHighSurrogate = nil
                    guard let scalar = Unicode.Scalar(scalarValue) else {
                        return .failure(Refusal(text: "the JSON body has an unpaired surrogate in a string"))
                    }
                    guard !Self.isRefusedControl(scalar) else { return .failure(control()) }
                    decoded.append(contentsOf: Array(String(Character(scalar)).utf8))
                default:
                    if byte < 0x20 || byte == 0x7F { return .failure(control()) }
                    // C1 controls (U+0080–U+009F) are C2 80–C2 9F in UTF-8.
                    if byte == 0xC2, index < bytes.count, (0x80...0x9F).contains(bytes[index]) { return .failure(control()) }
                    decoded.append(byte)
                }
            }
            return .failure(Refusal(text: "the JSON body ends inside a string"))
        }

        func control() -> Refusal {
            Refusal(text: "the JSON body has a control character in a string; only tab, line feed and carriage return are allowed")
        }

        static func isRefusedControl(_ scalar: Unicode.Scalar) -> Bool {
            switch scalar.value {
            case 0x09, 0x0A, 0x0D: false
            case 0x00...0x1F, 0x7F...0x9F: true
            default: false
            }
        }
    }
}
