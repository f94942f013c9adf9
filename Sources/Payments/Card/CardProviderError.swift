/// Why a call to the card provider's API failed.
///
/// Compares equal on ``code`` alone. The message never contains the secret key.
public struct CardProviderError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A stable identifier for the kind of failure; the HTTP layer maps it to a status.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case unavailable, rejected, failed, malformedResponse
        }

        private let base: Base

        private init(_ base: Base) {
            self.base = base
        }

        /// The provider could not be reached or did not answer in time; retrying later may work.
        public static let unavailable = Code(.unavailable)
        /// The provider refused the request (a 4xx): retrying the same request will not help.
        public static let rejected = Code(.rejected)
        /// The provider failed (a 5xx); retrying with the same idempotency key is safe.
        public static let failed = Code(.failed)
        /// The provider answered with something we cannot read.
        public static let malformedResponse = Code(.malformedResponse)

        /// The code's name, e.g. `rejected`.
        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public let code: Code
    /// What went wrong, for logs.
    public let message: String
    /// The provider's HTTP status, when it answered.
    public let status: Int?
    /// The provider's own `error.message`, when it sent one.
    public let providerMessage: String?
    /// The provider's own `error.code` (e.g. `amount_too_large`), when it sent one.
    public let providerCode: String?

    /// Creates an error; the provider fields are set only when the provider answered.
    public init(_ code: Code, _ message: String, status: Int? = nil, providerMessage: String? = nil, providerCode: String? = nil) {
        self.code = code
        self.message = message
        self.status = status
        self.providerMessage = providerMessage
        self.providerCode = providerCode
    }

    /// `code: message`, with the provider's status and message when present.
    public var description: String {
        var text = "\(code): \(message)"
        if let status { text += " (HTTP \(status))" }
        if let providerMessage { text += ": \(providerMessage)" }
        return text
    }

    /// Errors are equal when their codes are, whatever the message says.
    public static func == (lhs: CardProviderError, rhs: CardProviderError) -> Bool { lhs.code == rhs.code }
}
