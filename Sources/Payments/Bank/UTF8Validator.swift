/// Checks a byte stream, chunk by chunk, for well-formed UTF-8 and for the characters XML 1.0 allows.
///
/// Refuses overlong forms, surrogates, code points past U+10FFFF, and the C0 controls other than tab, line
/// feed and carriage return (XML 1.0 forbids them, and NUL would hide markup from a byte scan). A sequence may
/// straddle two chunks: the state carries over.
struct UTF8Validator {
    /// Continuation bytes still owed by the sequence in progress.
    private var pending = 0
    /// The range the next continuation byte must fall in; narrower than 0x80...0xBF right after some lead bytes.
    private var lower: UInt8 = 0x80
    private var upper: UInt8 = 0xBF

    /// Whether the bytes seen so far end on a character boundary.
    var isAtBoundary: Bool { pending == 0 }

    /// The position of the first byte that breaks the rules, or nil when every byte is fine.
    mutating func firstInvalidIndex(in bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        var index = 0
        let count = bytes.count
        while index < count {
            let byte = bytes[index]
            if pending > 0 {
                guard byte >= lower, byte <= upper else { return index }
                lower = 0x80
                upper = 0xBF
                pending -= 1
            } else if byte >= 0x20, byte < 0x80 {
                // Printable ASCII, the common case.
            } else if byte < 0x20 {
                guard byte == 0x09 || byte == 0x0A || byte == 0x0D else { return index }
            } else {
                switch byte {
                case 0xC2...0xDF: pending = 1
                case 0xE0: pending = 2; lower = 0xA0
                case 0xE1...0xEC, 0xEE...0xEF: pending = 2
                case 0xED: pending = 2; upper = 0x9F
                case 0xF0: pending = 3; lower = 0x90
                case 0xF1...0xF3: pending = 3
                case 0xF4: pending = 3; upper = 0x8F
                default: return index
                }
            }
            index += 1
        }
        return nil
    }
}
