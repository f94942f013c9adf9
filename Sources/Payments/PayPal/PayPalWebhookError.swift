/// Why a PayPal webhook delivery was refused.
///
/// Compares equal on ``code`` alone, so tests and callers can name the expected failure without matching the
/// message text. The message says what is wrong and never contains a signature.
public struct PayPalWebhookError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A stable identifier for the kind of failure.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case missingHeader, malformedHeader, unknownAlgorithm, certificateHostNotAllowed, certificateUnavailable
            case certificateInvalid, signatureMismatch, staleTransmission, malformedEvent, transmissionReused, unknownResource
        }

        private let base: Base

        private init(_ base: Base) {
            self.base = base
        }

        /// One of the five `PAYPAL-*` headers is missing or empty.
        public static let missingHeader = Code(.missingHeader)
        /// A header is present but unreadable: a transmission time that is not RFC 3339, a signature that is not
        /// base64, a certificate URL that is not a URL.
        public static let malformedHeader = Code(.malformedHeader)
        /// `PAYPAL-AUTH-ALGO` is not `SHA256withRSA`, the only algorithm accepted, so nobody can pick a weaker one.
        public static let unknownAlgorithm = Code(.unknownAlgorithm)
        /// The certificate URL is not `https` or its host is not allow-listed; nothing was fetched.
        public static let certificateHostNotAllowed = Code(.certificateHostNotAllowed)
        /// The certificate could not be fetched (network, status, size or time limit); PayPal retries later.
        public static let certificateUnavailable = Code(.certificateUnavailable)
        /// The certificate is unreadable, expired, not yet valid, not PayPal's, or holds no RSA key.
        public static let certificateInvalid = Code(.certificateInvalid)
        /// The signature does not verify under the certificate's key for this body and these headers.
        public static let signatureMismatch = Code(.signatureMismatch)
        /// The authentic transmission is older, or further in the future, than the configured window allows.
        public static let staleTransmission = Code(.staleTransmission)
        /// The verified body is not an event we can read.
        public static let malformedEvent = Code(.malformedEvent)
        /// The transmission id was verified before with another body: PayPal signs only a CRC-32 of the body, so
        /// the same signed headers over a different body are a forgery, whatever the signature says.
        public static let transmissionReused = Code(.transmissionReused)
        /// PayPal's API knows no capture, refund or dispute with the id the (verified) event names, so the event
        /// is not acted on: money facts are taken from the API, never from a body signed only through a CRC-32.
        public static let unknownResource = Code(.unknownResource)

        /// The code's name, e.g. `signatureMismatch`.
        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public let code: Code
    /// What is wrong, for logs and problem responses.
    public let message: String

    /// Creates an error with a code and a message for people.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// `code: message`.
    public var description: String { "\(code): \(message)" }

    /// Errors are equal when their codes are, whatever the message says.
    public static func == (lhs: PayPalWebhookError, rhs: PayPalWebhookError) -> Bool { lhs.code == rhs.code }
}
