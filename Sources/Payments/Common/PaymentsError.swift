/// Why something the Payments module was asked to do failed: a call to a provider's API, a provider webhook, a
/// bank statement, a form body or a payment QR code.
///
/// One type for the whole module, with a stable ``code`` whose ``Code/family`` says which of those it concerns.
/// Compares equal on the code alone, so callers and tests can name the expected failure without matching the
/// message. No message ever contains a secret, a signature or a key.
public struct PaymentsError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A stable identifier for the kind of failure.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        /// What a code concerns.
        public enum Family: Sendable, Hashable {
            /// A call to a provider's API.
            case providerCall
            /// A webhook delivery, before or after its signature was checked.
            case webhook
            /// A bank statement file.
            case statement
            /// A form-encoded body.
            case form
            /// An EPC payment QR code.
            case qrCode
        }

        private enum Base: String, Sendable, Hashable {
            // Provider calls.
            case unavailable, rejected, failed, malformedResponse, orderAlreadyCaptured, invalidIdentifier, unsupportedAmount
            // Webhooks.
            case missingHeader, malformedHeader, noSignature, timestampOutsideTolerance, unknownAlgorithm, certificateHostNotAllowed
            case certificateUnavailable, certificateInvalid, signatureMismatch, staleTransmission, malformedEvent, transmissionReused
            case unknownResource
            // Statements.
            case unsafeDocument, malformed, unsupportedFormat, tooLarge, integrity, unreadable, importedInAnotherFormat
            // Form bodies.
            case malformedForm
            // QR codes.
            case invalidBeneficiaryName, invalidBIC, invalidAmount, invalidRemittance, payloadTooLong

            var family: Family {
                switch self {
                case .unavailable, .rejected, .failed, .malformedResponse, .orderAlreadyCaptured, .invalidIdentifier, .unsupportedAmount: .providerCall
                case .missingHeader, .malformedHeader, .noSignature, .timestampOutsideTolerance, .unknownAlgorithm, .certificateHostNotAllowed,
                     .certificateUnavailable, .certificateInvalid, .signatureMismatch, .staleTransmission, .malformedEvent, .transmissionReused,
                     .unknownResource: .webhook
                case .unsafeDocument, .malformed, .unsupportedFormat, .tooLarge, .integrity, .unreadable, .importedInAnotherFormat: .statement
                case .malformedForm: .form
                case .invalidBeneficiaryName, .invalidBIC, .invalidAmount, .invalidRemittance, .payloadTooLong: .qrCode
                }
            }
        }

        private let base: Base

        private init(_ base: Base) {
            self.base = base
        }

        /// What the code concerns.
        public var family: Family { base.family }

        /// The code's name, e.g. `signatureMismatch`.
        public var description: String { base.rawValue }

        // MARK: Provider calls

        /// The provider could not be reached or did not answer in time; retrying later may work.
        public static let unavailable = Code(.unavailable)
        /// The provider refused the request (a 4xx): retrying the same request will not help.
        public static let rejected = Code(.rejected)
        /// The provider failed (a 5xx); retrying with the same idempotency key or request id is safe.
        public static let failed = Code(.failed)
        /// The provider answered with something we cannot read.
        public static let malformedResponse = Code(.malformedResponse)
        /// PayPal: the order was captured before (by another request id).
        public static let orderAlreadyCaptured = Code(.orderAlreadyCaptured)
        /// An id to put into a provider's URL is not one the provider could have issued; nothing was sent.
        public static let invalidIdentifier = Code(.invalidIdentifier)
        /// An amount the provider cannot take in its currency (PayPal: a fraction of a currency it takes in whole
        /// units only); nothing was sent.
        public static let unsupportedAmount = Code(.unsupportedAmount)

        // MARK: Webhooks

        /// A signature header the provider always sends is missing or empty.
        public static let missingHeader = Code(.missingHeader)
        /// A header is present but unreadable (a timestamp, a signature that is not base64, a URL).
        public static let malformedHeader = Code(.malformedHeader)
        /// Card: the header has no `v1=` signature (a `v0` alone is never trusted).
        public static let noSignature = Code(.noSignature)
        /// Card: the signed timestamp is too old or too far in the future: a replay or a badly skewed clock.
        public static let timestampOutsideTolerance = Code(.timestampOutsideTolerance)
        /// PayPal: `PAYPAL-AUTH-ALGO` is not `SHA256withRSA`, the only algorithm accepted.
        public static let unknownAlgorithm = Code(.unknownAlgorithm)
        /// PayPal: the certificate URL is not `https` or its host is not allow-listed; nothing was fetched.
        public static let certificateHostNotAllowed = Code(.certificateHostNotAllowed)
        /// PayPal: the certificate could not be fetched (network, status, size or time limit); PayPal retries later.
        public static let certificateUnavailable = Code(.certificateUnavailable)
        /// PayPal: the certificate is unreadable, expired, not yet valid, not PayPal's, or holds no RSA key.
        public static let certificateInvalid = Code(.certificateInvalid)
        /// No signature verifies for this body and these headers.
        public static let signatureMismatch = Code(.signatureMismatch)
        /// PayPal: the authentic transmission is older, or further in the future, than the window allows.
        public static let staleTransmission = Code(.staleTransmission)
        /// The (verified) body is not an event we can read.
        public static let malformedEvent = Code(.malformedEvent)
        /// PayPal: the transmission id was verified before with another body. PayPal signs only a CRC-32 of the
        /// body, so the same signed headers over a different body are a forgery, whatever the signature says.
        public static let transmissionReused = Code(.transmissionReused)
        /// PayPal's API knows no capture, refund or dispute with the id the (verified) event names, so the event
        /// is not acted on: money facts are taken from the API, never from a body signed only through a CRC-32.
        public static let unknownResource = Code(.unknownResource)

        // MARK: Statements

        /// The XML declares a document type or entities (XXE, billion laughs) or uses an encoding we do not scan.
        public static let unsafeDocument = Code(.unsafeDocument)
        /// The file breaks its format: a parser error, a truncated file, a missing or unreadable field.
        public static let malformed = Code(.malformed)
        /// The file is not a camt.053 (.02–.08), MT940 or CSV statement in the documented layout.
        public static let unsupportedFormat = Code(.unsupportedFormat)
        /// The file, or one of its parts, exceeds a configured limit.
        public static let tooLarge = Code(.tooLarge)
        /// The amounts do not add up: opening balance plus credits minus debits is not the closing balance, or
        /// a batch's transactions do not add up to the entry.
        public static let integrity = Code(.integrity)
        /// The file could not be opened or read.
        public static let unreadable = Code(.unreadable)
        /// Days of the statement's account were imported before from a statement in another format, whose lines
        /// are known by other keys: booking them again would book their transfers twice.
        public static let importedInAnotherFormat = Code(.importedInAnotherFormat)

        // MARK: Form bodies

        /// A form-encoded body that cannot be decoded.
        public static let malformedForm = Code(.malformedForm)

        // MARK: QR codes

        /// The beneficiary name is empty, longer than 70 characters, or spans lines.
        public static let invalidBeneficiaryName = Code(.invalidBeneficiaryName)
        /// The BIC is not 8 or 11 characters of the form `AAAABBCC(DDD)`.
        public static let invalidBIC = Code(.invalidBIC)
        /// The amount is not in euros or lies outside 0.01–999,999,999.99.
        public static let invalidAmount = Code(.invalidAmount)
        /// The unstructured remittance text is empty, longer than 140 characters, or spans lines.
        public static let invalidRemittance = Code(.invalidRemittance)
        /// The payload exceeds the 331 bytes the EPC guideline allows.
        public static let payloadTooLong = Code(.payloadTooLong)
    }

    /// What kind of failure this is.
    public let code: Code
    /// What went wrong, for logs and problem responses.
    public let message: String
    /// The provider's HTTP status, when it answered.
    public let status: Int?
    /// The provider's own error name (PayPal's `name`), when it sent one.
    public let providerName: String?
    /// The provider's own error code (the card provider's `error.code`, PayPal's first `issue`), when it sent one.
    public let providerCode: String?
    /// The provider's own message, when it sent one.
    public let providerMessage: String?

    /// Creates an error; the provider fields are set only when a provider answered.
    public init(
        _ code: Code, _ message: String, status: Int? = nil, providerName: String? = nil, providerMessage: String? = nil, providerCode: String? = nil
    ) {
        self.code = code
        self.message = message
        self.status = status
        self.providerName = providerName
        self.providerCode = providerCode
        self.providerMessage = providerMessage
    }

    /// `code: message`, with the provider's status and own words when present.
    public var description: String {
        var text = "\(code): \(message)"
        if let status { text += " (HTTP \(status))" }
        let reason = [providerName, providerCode, providerMessage].compactMap { $0 }
        if !reason.isEmpty { text += ": " + reason.joined(separator: " / ") }
        return text
    }

    /// Errors are equal when their codes are, whatever the message says.
    public static func == (lhs: PaymentsError, rhs: PaymentsError) -> Bool { lhs.code == rhs.code }
}
