/// Why a call to PayPal's REST API failed.
///
/// Compares equal on ``code`` alone. The message never contains the client secret or an access token.
public struct PayPalProviderError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A stable identifier for the kind of failure; the HTTP layer maps it to a status.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case unavailable, rejected, failed, malformedResponse, orderAlreadyCaptured, invalidIdentifier
        }

        private let base: Base

        private init(_ base: Base) {
            self.base = base
        }

        /// PayPal could not be reached or did not answer in time; retrying later may work.
        public static let unavailable = Code(.unavailable)
        /// PayPal refused the request (a 4xx): retrying the same request will not help.
        public static let rejected = Code(.rejected)
        /// PayPal failed (a 5xx); retrying with the same `PayPal-Request-Id` is safe.
        public static let failed = Code(.failed)
        /// PayPal answered with something we cannot read.
        public static let malformedResponse = Code(.malformedResponse)
        /// The order was captured before (PayPal's 422 `ORDER_ALREADY_CAPTURED`): the money has moved once, and
        /// the capture webhook will tell us about it.
        public static let orderAlreadyCaptured = Code(.orderAlreadyCaptured)
        /// An order or capture id is not one PayPal could have issued, so no request was made.
        public static let invalidIdentifier = Code(.invalidIdentifier)

        /// The code's name, e.g. `rejected`.
        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public let code: Code
    /// What went wrong, for logs.
    public let message: String
    /// PayPal's HTTP status, when it answered.
    public let status: Int?
    /// PayPal's error `name`, e.g. `UNPROCESSABLE_ENTITY` (or OAuth's `error`, e.g. `invalid_client`).
    public let providerName: String?
    /// PayPal's error `message` (or OAuth's `error_description`).
    public let providerMessage: String?
    /// PayPal's `details[0].issue`, e.g. `ORDER_NOT_APPROVED`: the most specific reason it gives.
    public let providerIssue: String?

    /// Creates an error; the provider fields are set only when PayPal answered.
    public init(
        _ code: Code,
        _ message: String,
        status: Int? = nil,
        providerName: String? = nil,
        providerMessage: String? = nil,
        providerIssue: String? = nil
    ) {
        self.code = code
        self.message = message
        self.status = status
        self.providerName = providerName
        self.providerMessage = providerMessage
        self.providerIssue = providerIssue
    }

    /// `code: message`, with PayPal's status, name, issue and message when present.
    public var description: String {
        var text = "\(code): \(message)"
        if let status { text += " (HTTP \(status))" }
        let reason = [providerName, providerIssue, providerMessage].compactMap { $0 }
        if !reason.isEmpty { text += ": " + reason.joined(separator: " / ") }
        return text
    }

    /// Errors are equal when their codes are, whatever the message says.
    public static func == (lhs: PayPalProviderError, rhs: PayPalProviderError) -> Bool { lhs.code == rhs.code }
}
