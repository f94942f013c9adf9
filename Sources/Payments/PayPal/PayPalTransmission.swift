import Foundation
/// The five `PAYPAL-*` headers of one webhook delivery, as received but for white space around them.
///
/// Kept as optional strings so that the verifier, not the HTTP layer, decides what is missing or unreadable,
/// and so that the signed string is rebuilt from the bytes PayPal signed.
public struct PayPalTransmission: Sendable, Hashable {
    /// `PAYPAL-TRANSMISSION-ID`: a UUID, new for every delivery attempt.
    public var transmissionID: String?
    /// `PAYPAL-TRANSMISSION-TIME`: RFC 3339, when this attempt was signed.
    public var transmissionTime: String?
    /// `PAYPAL-TRANSMISSION-SIG`: the base64 RSA signature.
    public var transmissionSignature: String?
    /// `PAYPAL-CERT-URL`: where the signing certificate is published.
    public var certificateURL: String?
    /// `PAYPAL-AUTH-ALGO`: `SHA256withRSA`.
    public var authenticationAlgorithm: String?

    /// The header names, as PayPal spells them; HTTP header names compare case-insensitively.
    public static let transmissionIDHeader = "PAYPAL-TRANSMISSION-ID"
    /// The transmission time header's name.
    public static let transmissionTimeHeader = "PAYPAL-TRANSMISSION-TIME"
    /// The signature header's name.
    public static let transmissionSignatureHeader = "PAYPAL-TRANSMISSION-SIG"
    /// The certificate URL header's name.
    public static let certificateURLHeader = "PAYPAL-CERT-URL"
    /// The algorithm header's name.
    public static let authenticationAlgorithmHeader = "PAYPAL-AUTH-ALGO"
    /// The only algorithm PayPal uses and the only one accepted.
    public static let algorithmSHA256WithRSA = "SHA256withRSA"

    /// Creates a transmission from its header values.
    public init(
        transmissionID: String?,
        transmissionTime: String?,
        transmissionSignature: String?,
        certificateURL: String?,
        authenticationAlgorithm: String?
    ) {
        self.transmissionID = transmissionID
        self.transmissionTime = transmissionTime
        self.transmissionSignature = transmissionSignature
        self.certificateURL = certificateURL
        self.authenticationAlgorithm = authenticationAlgorithm
    }

    /// Reads the five headers through `header`, which looks a header up by name (case-insensitively, as HTTP
    /// does), so any HTTP library's header type can be adapted in one line.
    /// Each value trimmed of white space here, once: the transmission id the signature is checked for is the one
    /// the service remembers (trimmed only when checked, an id followed by a no-break space was a new id to the
    /// memory of transmissions and PayPal's own to the signature, so one delivery could be sent again with any body).
    public init(header: (String) -> String?) {
        func value(_ name: String) -> String? { header(name)?.trimmingCharacters(in: .whitespaces) }
        self.init(
            transmissionID: value(Self.transmissionIDHeader),
            transmissionTime: value(Self.transmissionTimeHeader),
            transmissionSignature: value(Self.transmissionSignatureHeader),
            certificateURL: value(Self.certificateURLHeader),
            authenticationAlgorithm: value(Self.authenticationAlgorithmHeader)
        )
    }

    /// The headers as name–value pairs, for a sender (the test stand-in) that builds a delivery.
    public var headers: [(name: String, value: String)] {
        let pairs: [(String, String?)] = [
            (Self.transmissionIDHeader, transmissionID),
            (Self.transmissionTimeHeader, transmissionTime),
            (Self.transmissionSignatureHeader, transmissionSignature),
            (Self.certificateURLHeader, certificateURL),
            (Self.authenticationAlgorithmHeader, authenticationAlgorithm),
        ]
        return pairs.compactMap { name, value in value.map { (name: name, value: $0) } }
    }

    /// The string PayPal signs: `<transmission id>|<transmission time>|<webhook id>|<crc32 of the body>`.
    ///
    /// The webhook id is ours (the subscription's id, from configuration), never a header: a signature made for
    /// another PayPal account's subscription must not verify here.
    public static func signedString(transmissionID: String, transmissionTime: String, webhookID: String, body: some Sequence<UInt8>) -> String {
        "\(transmissionID)|\(transmissionTime)|\(webhookID)|\(PayPalCRC32.decimal(body))"
    }
}
