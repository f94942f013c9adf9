/// `application/x-www-form-urlencoded`, as the card provider's API reads it.
///
/// Fields stay an ordered list of pairs because order is meaningful to people reading request logs and nested
/// keys such as `line_items[0][price_data][currency]` repeat their prefixes.
public enum FormEncoding {
    /// Encodes fields in order, percent-encoding every byte except the unreserved `A–Z a–z 0–9 - . _ ~`.
    ///
    /// Brackets in keys are encoded too (`metadata%5Bpurpose%5D`), as the provider's own client libraries send
    /// them; spaces become `%20`, which every decoder reads.
    public static func encode(_ fields: [(String, String)]) -> String {
        fields.map { "\(percentEncode($0.0))=\(percentEncode($0.1))" }.joined(separator: "&")
    }

    /// Decodes a form body into ordered pairs: `+` is a space, `%XX` a byte; the bytes must be UTF-8.
    ///
    /// Empty pieces (`a=1&&b=2`) are skipped and a piece without `=` is a key with an empty value, as browsers
    /// do; a `%` not followed by two hex digits is refused rather than guessed at.
    public static func decode(_ body: String) throws(PaymentsError) -> [(String, String)] {
        var fields: [(String, String)] = []
        for piece in body.split(separator: "&", omittingEmptySubsequences: true) {
            if let equals = piece.firstIndex(of: "=") {
                let key = try percentDecode(piece[..<equals])
                let value = try percentDecode(piece[piece.index(after: equals)...])
                fields.append((key, value))
            } else {
                fields.append((try percentDecode(piece), ""))
            }
        }
        return fields
    }

    static func percentEncode(_ text: String) -> String {
        let hexDigits = Array("0123456789ABCDEF".utf8)
        var encoded = [UInt8]()
        encoded.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if isUnreserved(byte) {
                encoded.append(byte)
            } else {
                encoded.append(UInt8(ascii: "%"))
                encoded.append(hexDigits[Int(byte >> 4)])
                encoded.append(hexDigits[Int(byte & 0x0f)])
            }
        }
        return String(decoding: encoded, as: UTF8.self)
    }

    static func percentDecode(_ text: Substring) throws(PaymentsError) -> String {
        let bytes = Array(text.utf8)
        var decoded = [UInt8]()
        decoded.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            switch bytes[index] {
            case UInt8(ascii: "+"):
                decoded.append(UInt8(ascii: " "))
                index += 1
            case UInt8(ascii: "%"):
                guard index + 2 < bytes.count, let high = hexValue(bytes[index + 1]), let low = hexValue(bytes[index + 2]) else {
                    throw PaymentsError(.malformedForm, "'\(text.prefix(80))' has a '%' not followed by two hex digits")
                }
                decoded.append(high << 4 | low)
                index += 3
            default:
                decoded.append(bytes[index])
                index += 1
            }
        }
        guard let string = String(validating: decoded, as: UTF8.self) else {
            throw PaymentsError(.malformedForm, "'\(text.prefix(80))' does not decode to UTF-8 text")
        }
        return string
    }

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
            true
        default:
            false
        }
    }

    private static func hexValue(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
