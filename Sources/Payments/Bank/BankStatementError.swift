/// Why a bank statement file was refused. Nothing from a refused file may be booked.
///
/// Compares equal on ``code`` alone. The message says what is wrong and where (line or entry number) so staff
/// can ask the bank for a corrected file.
public struct BankStatementError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A stable identifier for the kind of failure.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case unsafeDocument, malformed, unsupportedFormat, tooLarge, integrity, unreadable
        }

        private let base: Base

        private init(_ base: Base) {
            self.base = base
        }

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

        /// The code's name, e.g. `integrity`.
        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public let code: Code
    /// What is wrong and where.
    public let message: String

    /// Creates an error with a code and a message for people.
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// `code: message`.
    public var description: String { "\(code): \(message)" }

    /// Errors are equal when their codes are, whatever the message says.
    public static func == (lhs: BankStatementError, rhs: BankStatementError) -> Bool { lhs.code == rhs.code }
}
