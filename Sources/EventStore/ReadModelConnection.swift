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
}

extension ReadModelConnection {
    /// Runs a statement without binds.
    public func execute(_ sql: String) async throws { try await execute(sql, []) }
}
