/// Why an EPC QR code payload could not be built.
///
/// Compares equal on ``code`` alone. These are configuration or input mistakes: the message names the field.
public struct EPCQRCodeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A stable identifier for the kind of failure.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case invalidBeneficiaryName, invalidBIC, invalidAmount, invalidRemittance, payloadTooLong
        }

        private let base: Base

        private init(_ base: Base) {
            self.base = base
        }

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

        /// The code's name, e.g. `invalidBIC`.
        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public let code: Code
    /// What is wrong, naming the field.
    public let message: String

    /// Creates an error with a code and a message for people.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// `code: message`.
    public var description: String { "\(code): \(message)" }

    /// Errors are equal when their codes are, whatever the message says.
    public static func == (lhs: EPCQRCodeError, rhs: EPCQRCodeError) -> Bool { lhs.code == rhs.code }
}
