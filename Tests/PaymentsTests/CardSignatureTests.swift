import Foundation
import Payments
import Testing

@Suite struct CardSignatureTests {
    static let secret = "whsec_plJ3xQ9ZbRkq7sT2vW8yNc4M"
    static let rotatedSecret = "whsec_rotated_Xy7Pq2Lm9Kd4"
    static let timestamp: Int64 = 1_767_225_600
    static let payload = Data(#"{"id":"evt_1QkXcz2eZvKYlo2C","object":"event"}"#.utf8)
    /// Computed once with Python: hmac.new(secret, b"1767225600." + payload, hashlib.sha256).hexdigest().
    static let expectedHex = "234e53cad300e4292d4f7af10b60dbccdc6164348ed9212e2796c5600986ac4f"
    /// The same under the rotated secret.
    static let expectedRotatedHex = "137abc18c6d885f4102f20803d2dbfae89b324fddc2e4dad98af01f23756e178"

    static func at(_ offsetSeconds: Int64) -> Date {
        Date(timeIntervalSince1970: TimeInterval(timestamp + offsetSeconds))
    }

    static func verify(
        _ header: String?,
        payload: Data = payload,
        secrets: [String] = [secret],
        offsetSeconds: Int64 = 0
    ) throws(PaymentsError) {
        try CardSignature.verify(payload: payload, header: header, secrets: secrets, now: at(offsetSeconds))
    }

    @Test func signatureMatchesIndependentlyComputedVector() {
        #expect(CardSignature.signature(payload: Self.payload, secret: Self.secret, timestamp: Self.timestamp) == Self.expectedHex)
        #expect(CardSignature.signature(payload: Self.payload, secret: Self.rotatedSecret, timestamp: Self.timestamp) == Self.expectedRotatedHex)
    }

    @Test func headerListsTimestampThenOneV1PerSecret() {
        let header = CardSignature.header(payload: Self.payload, secrets: [Self.secret, Self.rotatedSecret], timestamp: Self.timestamp)
        #expect(header == "t=1767225600,v1=\(Self.expectedHex),v1=\(Self.expectedRotatedHex)")
    }

    @Test func validHeaderIsAccepted() throws {
        try Self.verify("t=1767225600,v1=\(Self.expectedHex)")
    }

    @Test func headerWithSpacesAndAV0IsAccepted() throws {
        try Self.verify("t=1767225600, v1=\(Self.expectedHex), v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39")
    }

    @Test func tabsAndUnicodeSpacesAroundTheValuesAreAccepted() throws {
        // Trimmed as Foundation's `CharacterSet.whitespaces` trims: tabs, Unicode's space separators, and the
        // zero width space its own check counts among them; a word joiner is not trimmed.
        try Self.verify("\tt=1767225600\u{00A0},\u{3000}v1 =\t\(Self.expectedHex) ")
        try Self.verify("t=\u{200B}1767225600,v1=\(Self.expectedHex)\u{200B}")
        #expect(throws: PaymentsError(.malformedHeader, "")) {
            try Self.verify("t=\u{2060}1767225600,v1=\(Self.expectedHex)")
        }
        #expect(throws: PaymentsError(.missingHeader, "")) { try Self.verify(" \t\u{00A0}") }
    }

    @Test func uppercaseHexIsAccepted() throws {
        try Self.verify("t=1767225600,v1=\(Self.expectedHex.uppercased())")
    }

    @Test func wrongSecretIsRejected() {
        #expect(throws: PaymentsError(.signatureMismatch, "")) {
            try Self.verify("t=1767225600,v1=\(Self.expectedHex)", secrets: ["whsec_someone_else"])
        }
    }

    @Test func bodyWithOneByteChangedIsRejected() {
        var tampered = Self.payload
        tampered[tampered.count - 2] = UInt8(ascii: "E")
        #expect(tampered != Self.payload)
        #expect(throws: PaymentsError(.signatureMismatch, "")) {
            try Self.verify("t=1767225600,v1=\(Self.expectedHex)", payload: tampered)
        }
    }

    @Test func timestampChangedWithoutResigningIsRejected() {
        #expect(throws: PaymentsError(.signatureMismatch, "")) {
            try Self.verify("t=1767225601,v1=\(Self.expectedHex)", offsetSeconds: 1)
        }
    }

    @Test func timestampOlderThanToleranceIsRejected() {
        #expect(throws: PaymentsError(.timestampOutsideTolerance, "")) {
            try Self.verify("t=1767225600,v1=\(Self.expectedHex)", offsetSeconds: 301)
        }
    }

    @Test func timestampFurtherInTheFutureThanToleranceIsRejected() {
        #expect(throws: PaymentsError(.timestampOutsideTolerance, "")) {
            try Self.verify("t=1767225600,v1=\(Self.expectedHex)", offsetSeconds: -301)
        }
    }

    @Test(arguments: [Int64(300), -300])
    func timestampExactlyAtToleranceIsAccepted(offsetSeconds: Int64) throws {
        try Self.verify("t=1767225600,v1=\(Self.expectedHex)", offsetSeconds: offsetSeconds)
    }

    @Test func customToleranceIsHonoured() {
        #expect(throws: PaymentsError(.timestampOutsideTolerance, "")) {
            try CardSignature.verify(
                payload: Self.payload,
                header: "t=1767225600,v1=\(Self.expectedHex)",
                secrets: [Self.secret],
                now: Self.at(61),
                toleranceSeconds: 60
            )
        }
    }

    @Test(arguments: [nil, "", "   "] as [String?])
    func missingHeaderIsRejected(header: String?) {
        #expect(throws: PaymentsError(.missingHeader, "")) {
            try Self.verify(header)
        }
    }

    @Test func headerWithOnlyV0IsRejectedAsUnsigned() {
        #expect(throws: PaymentsError(.noSignature, "")) {
            try Self.verify("t=1767225600,v0=\(Self.expectedHex)")
        }
    }

    @Test(arguments: [
        "v1=234e53",
        "garbage",
        "t=,v1=234e53",
        "t=17672256oo,v1=234e53",
        "t=-1767225600,v1=234e53",
        "t=99999999999999999999999,v1=234e53",
        "t=1767225600,t=1767225600,v1=234e53",
    ])
    func headerWithoutAUsableTimestampIsMalformed(header: String) {
        #expect(throws: PaymentsError(.malformedHeader, "")) {
            try Self.verify(header)
        }
    }

    @Test(arguments: ["zz", "234e53", String(repeating: "0", count: 64), "\(expectedHex)00", "\(expectedHex.dropLast())"])
    func v1OfWrongLengthOrNotHexIsAMismatch(value: String) {
        #expect(throws: PaymentsError(.signatureMismatch, "")) {
            try Self.verify("t=1767225600,v1=\(value)")
        }
    }

    @Test func secondOfSeveralV1ValuesMatchingIsAccepted() throws {
        let stale = String(repeating: "ab", count: 32)
        try Self.verify("t=1767225600,v1=\(stale),v1=\(Self.expectedHex)")
    }

    @Test func headerSignedWithSecondConfiguredSecretIsAccepted() throws {
        try Self.verify("t=1767225600,v1=\(Self.expectedRotatedHex)", secrets: [Self.secret, Self.rotatedSecret])
    }

    @Test func noConfiguredSecretRejectsEverything() {
        #expect(throws: PaymentsError(.signatureMismatch, "")) {
            try Self.verify("t=1767225600,v1=\(Self.expectedHex)", secrets: [])
        }
    }

    @Test func errorMessageNeverContainsTheSecret() {
        do {
            try Self.verify("t=1767225600,v1=\(Self.expectedHex)", secrets: ["whsec_do_not_print"])
            Issue.record("a wrong secret was accepted")
        } catch {
            #expect(!error.message.contains("whsec_do_not_print"))
            #expect(!error.description.contains(Self.expectedHex))
        }
    }
}
