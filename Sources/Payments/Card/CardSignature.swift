public import Foundation
import Crypto

/// Verifies and produces `Stripe-Signature` headers.
///
/// The signed bytes are the decimal timestamp, `.`, then the raw body exactly as received; the MAC is
/// HMAC-SHA256 keyed with the whole `whsec_…` secret as UTF-8 bytes (it is not base64-decoded).
public enum CardSignature {
    /// How far the signed timestamp may be from now, either way, in seconds (the provider SDKs' default).
    public static let toleranceSecondsDefault: Int64 = 300

    /// Throws unless some `v1` value matches HMAC-SHA256 of `"\(t).\(payload)"` under some secret, and `t` is
    /// within `toleranceSeconds` of `now` in both directions.
    ///
    /// Several secrets are accepted so a rolled secret keeps working while the provider still signs with the old
    /// one. `v0` and unknown schemes are ignored so an attacker cannot downgrade to a weaker scheme.
    public static func verify(
        payload: Data,
        header: String?,
        secrets: [String],
        now: Date,
        toleranceSeconds: Int64 = toleranceSecondsDefault
    ) throws(PaymentsError) {
        guard let header, !header[...].trimmingBlanks().isEmpty else {
            throw PaymentsError(.missingHeader, "the request has no Stripe-Signature header")
        }
        let parsed = try ParsedHeader(header)
        guard !secrets.isEmpty else {
            throw PaymentsError(.signatureMismatch, "no card webhook secret is configured, so no signature can match")
        }
        let signedBytes = signedBytes(payload: payload, timestamp: parsed.timestamp)
        // One MAC per secret, however many candidates the header carries; every candidate is compared with
        // every MAC in constant time, without stopping early, so timing says nothing about which pair came close.
        var matched = false
        for secret in secrets {
            let expected = Array(HMAC<SHA256>.authenticationCode(for: signedBytes, using: SymmetricKey(data: Data(secret.utf8))))
            for candidate in parsed.signatures {
                guard let bytes = candidate, bytes.count == SHA256.byteCount else { continue }
                if constantTimeEqual(expected, Array(bytes)) { matched = true }
            }
        }
        guard matched else {
            throw PaymentsError(
                .signatureMismatch,
                "none of the \(parsed.signatures.count) v1 signatures matches the body under the configured secrets"
            )
        }
        // Checked after the signature, as the provider SDKs do, so this error only ever describes an authentic
        // delivery: a replay or a skewed clock.
        let nowSeconds = Int64(now.timeIntervalSince1970.rounded(.down))
        let (difference, overflow) = nowSeconds.subtractingReportingOverflow(parsed.timestamp)
        guard !overflow, difference.magnitude <= toleranceSeconds.magnitude else {
            throw PaymentsError(
                .timestampOutsideTolerance,
                "the signed timestamp \(parsed.timestamp) is more than \(toleranceSeconds) s away from now (\(nowSeconds))"
            )
        }
    }

    /// The lowercase hex `v1` signature of `payload` at `timestamp` under `secret`.
    public static func signature(payload: Data, secret: String, timestamp: Int64) -> String {
        let key = SymmetricKey(data: Data(secret.utf8))
        let code = HMAC<SHA256>.authenticationCode(for: signedBytes(payload: payload, timestamp: timestamp), using: key)
        return Data(code).lowercaseHex
    }

    /// A complete header, `t=<timestamp>,v1=<hex>[,v1=<hex>…]`, with one `v1` per secret, as the provider sends
    /// while a rolled secret is still active.
    public static func header(payload: Data, secrets: [String], timestamp: Int64) -> String {
        let signatures = secrets.map { "v1=\(signature(payload: payload, secret: $0, timestamp: timestamp))" }
        return (["t=\(timestamp)"] + signatures).joined(separator: ",")
    }

    /// The longest `Stripe-Signature` header read; the provider's own are a few hundred bytes.
    public static let headerBytesMax = 1_024
    /// The most `v1` entries read; the provider sends one per active secret.
    public static let signaturesMax = 4

    /// Whether two byte strings of equal length are equal, in time that does not depend on where they differ.
    static func constantTimeEqual(_ left: [UInt8], _ right: [UInt8]) -> Bool {
        guard left.count == right.count else { return false }
        var difference: UInt8 = 0
        for index in left.indices { difference |= left[index] ^ right[index] }
        return difference == 0
    }

    static func signedBytes(payload: Data, timestamp: Int64) -> Data {
        var bytes = Data("\(timestamp).".utf8)
        bytes.append(payload)
        return bytes
    }
}

/// The parts of a `Stripe-Signature` header we use.
private struct ParsedHeader {
    /// Unix seconds the provider signed.
    var timestamp: Int64
    /// Each `v1` value, decoded; `nil` where the value is not hex, so it counts as a mismatch rather than an error.
    var signatures: [Data?]

    init(_ header: String) throws(PaymentsError) {
        // Bounded before anything else is done with it: a long header, or one with many signatures, costs a
        // sender nothing and would cost us a MAC comparison each.
        guard header.utf8.count <= CardSignature.headerBytesMax else {
            throw PaymentsError(.malformedHeader, "the Stripe-Signature header is longer than \(CardSignature.headerBytesMax) bytes")
        }
        var timestamp: Int64?
        var signatures: [Data?] = []
        for item in header.split(separator: ",") {
            guard let equals = item.firstIndex(of: "=") else { continue }
            let scheme = item[..<equals].trimmingBlanks()
            let value = item[item.index(after: equals)...].trimmingBlanks()
            switch scheme {
            case "t":
                guard timestamp == nil else {
                    throw PaymentsError(.malformedHeader, "the Stripe-Signature header has more than one t= timestamp")
                }
                guard !value.isEmpty, value.utf8.allSatisfy({ (0x30...0x39).contains($0) }), let seconds = Int64(value) else {
                    throw PaymentsError(.malformedHeader, "the Stripe-Signature t= value is not a number of seconds")
                }
                timestamp = seconds
            case "v1":
                guard signatures.count < CardSignature.signaturesMax else {
                    throw PaymentsError(.malformedHeader, "the Stripe-Signature header has more than \(CardSignature.signaturesMax) v1= signatures")
                }
                signatures.append(Data(hex: value))
            default:
                continue
            }
        }
        guard let timestamp else {
            throw PaymentsError(.malformedHeader, "the Stripe-Signature header has no t= timestamp")
        }
        guard !signatures.isEmpty else {
            throw PaymentsError(.noSignature, "the Stripe-Signature header has no v1= signature")
        }
        self.timestamp = timestamp
        self.signatures = signatures
    }
}

extension Substring {
    /// Without the tabs and spaces at either end: what `CharacterSet.whitespaces` holds here, Unicode's space
    /// separators and, as Foundation's own check counts it, U+200B ZERO WIDTH SPACE.
    /// Foundation's `trimmingCharacters(in:)` took two percent of a card webhook's CPU time.
    func trimmingBlanks() -> Substring {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !Self.isBlank($0) }),
              let last = scalars.lastIndex(where: { !Self.isBlank($0) })
        else { return self[endIndex...] }
        return Substring(scalars[first...last])
    }

    private static func isBlank(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII { return scalar == " " || scalar == "\t" }
        return scalar.properties.generalCategory == .spaceSeparator || scalar == "\u{200B}"
    }
}

extension Data {
    /// Decodes lowercase or uppercase hex; `nil` for an odd length or any other character.
    init?(hex: some StringProtocol) {
        let digits = Array(hex.utf8)
        guard digits.count.isMultiple(of: 2) else { return nil }
        var bytes = [UInt8]()
        bytes.reserveCapacity(digits.count / 2)
        var index = 0
        while index < digits.count {
            guard let high = Self.nibble(digits[index]), let low = Self.nibble(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        self.init(bytes)
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case 0x30...0x39: digit - 0x30
        case 0x61...0x66: digit - 0x61 + 10
        case 0x41...0x46: digit - 0x41 + 10
        default: nil
        }
    }

    /// The bytes as lowercase hex.
    var lowercaseHex: String {
        let alphabet = Array("0123456789abcdef".utf8)
        var text = [UInt8]()
        text.reserveCapacity(count * 2)
        for byte in self {
            text.append(alphabet[Int(byte >> 4)])
            text.append(alphabet[Int(byte & 0x0f)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
