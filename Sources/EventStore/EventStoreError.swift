/// The error every ``EventStore`` operation throws.
///
/// Errors compare equal on their ``code`` so tests and callers can name the error they expect.
public struct EventStoreError: Error, Sendable, CustomStringConvertible {
    /// What went wrong, in a form callers can switch over.
    public enum Code: Sendable, Hashable {
        /// The stream's version is not the expected one.
        case versionConflict
        /// An event id is stored already, with different content or in another stream.
        case idempotencyMismatch
        /// A named limit was exceeded.
        case limitExceeded
        /// An argument is malformed (an empty stream name, an empty append).
        case invalidArgument
        /// The database cannot be reached or refused the operation.
        case unavailable
        /// The database schema is missing, altered or newer than this build.
        case migration
        /// The database URL or another setting is wrong.
        case configuration
        /// A read-model row is not what the code reading it expects (a NULL or another kind of value).
        case unexpectedRow
    }

    /// What went wrong.
    public var code: Code
    /// A message for a person: what happened and what to do.
    public var message: String
    /// For `.versionConflict`: the stream, and the expected and actual versions.
    public var conflict: VersionConflict?
    /// The error that caused this one, if any.
    public var underlying: (any Error)?

    public init(_ code: Code, _ message: String, conflict: VersionConflict? = nil, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.conflict = conflict
        self.underlying = underlying
    }

    public var description: String {
        if let underlying { return "\(message) (\(underlying))" }
        return message
    }

    /// Details of a version conflict.
    public struct VersionConflict: Sendable, Hashable {
        public var stream: String
        public var expected: ExpectedVersion
        public var actual: Int64

        public init(stream: String, expected: ExpectedVersion, actual: Int64) {
            self.stream = stream
            self.expected = expected
            self.actual = actual
        }
    }

    static func versionConflict(stream: String, expected: ExpectedVersion, actual: Int64) -> EventStoreError {
        EventStoreError(
            .versionConflict,
            "stream '\(stream)' is at version \(actual), expected \(expected)",
            conflict: VersionConflict(stream: stream, expected: expected, actual: actual)
        )
    }
}

extension EventStoreError: Equatable {
    public static func == (lhs: EventStoreError, rhs: EventStoreError) -> Bool { lhs.code == rhs.code }
}
