/// Why a card provider webhook was refused.
///
/// Compares equal on ``code`` alone, so tests and callers can name the expected failure without matching the
/// message text. The message says what is wrong and never contains a secret or a signature.
public struct CardWebhookError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A stable identifier for the kind of failure.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case missingHeader, malformedHeader, noSignature, timestampOutsideTolerance, signatureMismatch, malformedEvent
        }

        private let base: Base

        private init(_ base: Base) {
            self.base = base
        }

        /// The request carried no `Stripe-Signature` header.
        public static let missingHeader = Code(.missingHeader)
        /// The header has no usable `t=` timestamp.
        public static let malformedHeader = Code(.malformedHeader)
        /// The header has no `v1=` signature (a `v0` alone is never trusted).
        public static let noSignature = Code(.noSignature)
        /// The signed timestamp is too old or too far in the future: a replay or a badly skewed clock.
        public static let timestampOutsideTolerance = Code(.timestampOutsideTolerance)
        /// No `v1` signature matches any configured secret.
        public static let signatureMismatch = Code(.signatureMismatch)
        /// The body is not an event we can read.
        public static let malformedEvent = Code(.malformedEvent)

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
    public static func == (lhs: CardWebhookError, rhs: CardWebhookError) -> Bool { lhs.code == rhs.code }
}
