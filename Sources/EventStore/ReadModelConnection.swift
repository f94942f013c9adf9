public import Foundation

/// A value bound to or read from a read-model query.
///
/// Read models keep to four column kinds so one SQL text serves both backends: integers (`BIGINT` /
/// `INTEGER`, booleans as 0 and 1), text, bytes, and null.
public enum SQLValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case text(String)
    case blob(Data)

    /// The integer, if this is one.
    public var integer: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    /// The text, if this is text.
    public var text: String? {
        if case .text(let value) = self { return value }
        return nil
    }

    /// The bytes, if these are bytes.
    public var blob: Data? {
        if case .blob(let value) = self { return value }
        return nil
    }

    public var isNull: Bool { self == .null }
}

extension SQLValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByNilLiteral {
    public init(stringLiteral value: String) { self = .text(value) }
    public init(integerLiteral value: Int64) { self = .integer(value) }
    public init(nilLiteral: ()) { self = .null }
}

extension SQLValue {
    /// Text, or null when `value` is nil.
    public static func optional(_ value: String?) -> SQLValue { value.map(SQLValue.text) ?? .null }
    /// An integer, or null when `value` is nil.
    public static func optional(_ value: Int64?) -> SQLValue { value.map(SQLValue.integer) ?? .null }
    /// A boolean as 0 or 1.
    public static func bool(_ value: Bool) -> SQLValue { .integer(value ? 1 : 0) }
}

/// One row of a read-model query, by column position.
public typealias SQLRow = [SQLValue]

/// A connection to the read-model tables, possibly inside a transaction.
///
/// SQL is written once for both backends with `?` placeholders; the PostgreSQL implementation numbers them.
/// Keep to the SQL both dialects share (`INSERT … ON CONFLICT … DO UPDATE`, `LIMIT`/`OFFSET`, `COALESCE`).
public protocol ReadModelConnection: Sendable {
    /// The SQL dialect, for the rare statement the two backends spell differently.
    var dialect: SQLDialect { get }
    /// Runs a statement that returns no rows.
    func execute(_ sql: String, _ binds: [SQLValue]) async throws
    /// Runs a query and returns every row.
    func query(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow]
    /// Runs statements that return no rows, in order, stopping at the first that fails. A connection may run
    /// them all in one turn; by default each is run as ``execute(_:_:)`` runs it.
    func execute(_ statements: [ReadModelStatement]) async throws
    /// Runs `action` once the statements given so far are stored: at once on a connection that runs them as
    /// they come; for a read model's batch decided ahead of its write transaction, once that transaction has
    /// committed, and never if the batch is dropped. For memory that must follow what is stored.
    func afterWrites(_ action: @escaping @Sendable () -> Void)
    /// What the batch before this one left under `key` (``carry(_:_:)``), when that batch is still being written
    /// while this one is decided: a read of the rows it writes would not see them yet. Nil otherwise, and on
    /// every connection but a read model's batch (see ``Projection/decidesFromCarriedValues``).
    func carried(_ key: String) -> (any Sendable)?
    /// Leaves `value` under `key` for the next batch, in case it is decided before this one is written.
    func carry(_ key: String, _ value: any Sendable)
}

/// A statement that returns no rows, with its binds.
public struct ReadModelStatement: Sendable {
    public let sql: String
    public let binds: [SQLValue]

    public init(sql: String, binds: [SQLValue]) {
        self.sql = sql
        self.binds = binds
    }
}

extension ReadModelConnection {
    public func afterWrites(_ action: @escaping @Sendable () -> Void) { action() }

    public func carried(_ key: String) -> (any Sendable)? { nil }

    public func carry(_ key: String, _ value: any Sendable) {}

    public func execute(_ statements: [ReadModelStatement]) async throws {
        for statement in statements { try await execute(statement.sql, statement.binds) }
    }

    /// Runs a statement without binds.
    public func execute(_ sql: String) async throws { try await execute(sql, []) }
}

/// Typed reads of a row's columns. A NULL where a value is required, or a value of another kind, throws
/// ``EventStoreError/Code/unexpectedRow`` naming the column: a read model whose rows are not what its code
/// expects is a defect to report, never a default to show.
extension Array where Element == SQLValue {
    /// The text in `column`.
    public func text(_ column: Int) throws -> String {
        guard let value = try optionalText(column) else { throw Self.unexpected(column, "is NULL; text was expected") }
        return value
    }

    /// The text in `column`, or nil for NULL.
    public func optionalText(_ column: Int) throws -> String? {
        switch try value(column) {
        case .null: return nil
        case .text(let text): return text
        case let other: throw Self.unexpected(column, "holds \(other.kindName); text was expected")
        }
    }

    /// The integer in `column`.
    public func integer(_ column: Int) throws -> Int64 {
        guard let value = try optionalInteger(column) else { throw Self.unexpected(column, "is NULL; an integer was expected") }
        return value
    }

    /// The integer in `column`, or nil for NULL.
    public func optionalInteger(_ column: Int) throws -> Int64? {
        switch try value(column) {
        case .null: return nil
        case .integer(let integer): return integer
        case let other: throw Self.unexpected(column, "holds \(other.kindName); an integer was expected")
        }
    }

    /// The boolean (0 or 1) in `column`.
    public func bool(_ column: Int) throws -> Bool {
        switch try integer(column) {
        case 0: return false
        case 1: return true
        case let other: throw Self.unexpected(column, "holds \(other); a boolean (0 or 1) was expected")
        }
    }

    /// The bytes in `column`.
    public func blob(_ column: Int) throws -> Data {
        switch try value(column) {
        case .blob(let data): return data
        case .null: throw Self.unexpected(column, "is NULL; bytes were expected")
        case let other: throw Self.unexpected(column, "holds \(other.kindName); bytes were expected")
        }
    }

    private func value(_ column: Int) throws -> SQLValue {
        guard indices.contains(column) else { throw Self.unexpected(column, "is missing: the row has \(count) columns") }
        return self[column]
    }

    private static func unexpected(_ column: Int, _ problem: String) -> EventStoreError {
        EventStoreError(.unexpectedRow, "read-model column \(column) \(problem)")
    }
}

extension SQLValue {
    var kindName: String {
        switch self {
        case .null: "NULL"
        case .integer: "an integer"
        case .text: "text"
        case .blob: "bytes"
        }
    }
}
