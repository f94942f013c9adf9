import Foundation
import NIOPosix
import Synchronization
import VaporCSQLite

/// A value bound to or read from a SQLite statement.
enum SQLiteValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob(Data)
}

/// A row of a query's answer, read while its statement is on it: columns are read in place, so a caller that
/// turns rows into its own values copies each one once.
struct SQLiteColumns {
    fileprivate let statement: OpaquePointer

    var count: Int { Int(sqlite_nio_sqlite3_column_count(statement)) }

    /// The integer in `column`, or nil when it holds another kind of value.
    func integer(_ column: Int) -> Int64? {
        guard sqlite_nio_sqlite3_column_type(statement, Int32(column)) == SQLITE_INTEGER else { return nil }
        return sqlite_nio_sqlite3_column_int64(statement, Int32(column))
    }

    /// The text in `column`, or nil when it holds another kind of value.
    func text(_ column: Int) -> String? {
        guard sqlite_nio_sqlite3_column_type(statement, Int32(column)) == SQLITE_TEXT,
              let bytes = sqlite_nio_sqlite3_column_text(statement, Int32(column)) else { return nil }
        let count = Int(sqlite_nio_sqlite3_column_bytes(statement, Int32(column)))
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    }

    /// The bytes in `column`, or nil when it holds another kind of value.
    func blob(_ column: Int) -> Data? {
        guard sqlite_nio_sqlite3_column_type(statement, Int32(column)) == SQLITE_BLOB else { return nil }
        // A blob of no bytes has no pointer.
        guard let bytes = sqlite_nio_sqlite3_column_blob(statement, Int32(column)) else { return Data() }
        return Data(bytes: bytes, count: Int(sqlite_nio_sqlite3_column_bytes(statement, Int32(column))))
    }

    /// Whatever `column` holds.
    func value(_ column: Int) -> SQLiteValue {
        switch sqlite_nio_sqlite3_column_type(statement, Int32(column)) {
        case SQLITE_INTEGER: .integer(sqlite_nio_sqlite3_column_int64(statement, Int32(column)))
        case SQLITE_FLOAT: .real(sqlite_nio_sqlite3_column_double(statement, Int32(column)))
        case SQLITE_TEXT: text(column).map(SQLiteValue.text) ?? .null
        case SQLITE_BLOB: blob(column).map(SQLiteValue.blob) ?? .null
        default: .null
        }
    }

    /// The name the query gives `column`.
    func name(_ column: Int) -> String {
        sqlite_nio_sqlite3_column_name(statement, Int32(column)).map { String(cString: $0) } ?? "column \(column + 1)"
    }
}

/// A row of a query's answer, copied out: its values by column, and the columns' names.
struct SQLiteRow: Sendable {
    let names: [String]
    let values: [SQLiteValue]
}

/// What SQLite refused, with its own words.
struct SQLiteFailure: Error, CustomStringConvertible {
    /// SQLite's (extended) result code.
    let code: Int32
    let message: String

    var description: String { "\(message) (SQLite result code \(code))" }
}

/// One connection to a SQLite file, of the store's own.
///
/// Its statements are prepared once and kept (up to ``statementsKeptMax``), and a caller hands it a whole
/// piece of work at a time (``run(_:)``): a write transaction's checks, inserts and commit run in one turn
/// on one of the store's threads, where a statement at a time cost a thread hand-off and a preparation each.
///
/// Work handed to one handle runs one piece at a time (``run(_:)`` holds the handle's turn while it runs):
/// callers that share a connection on purpose, such as read models deciding side by side on the batch's
/// connection, take turns. Its statements and connection are touched only inside a turn, which is what
/// `@unchecked Sendable` rests on.
final class SQLiteHandle: @unchecked Sendable {
    /// Statements kept prepared; when one more would pass this, those kept are finalized and the keeping starts
    /// afresh (statements whose text holds a list of placeholders are many and seldom repeated).
    static var statementsKeptMax: Int { 128 }
    /// Statements taking more values than this are not kept (see ``prepared(_:)``). A batch of a few dozen
    /// appends is kept; the longest lists (up to 3,600 values) are not.
    static var valuesKeptMax: Int { 1_000 }

    let path: String
    private var database: OpaquePointer?
    private var kept: [String: OpaquePointer] = [:]
    /// The kept statements being run now (a statement run while another one's rows are read), which the
    /// keeping must not finalize when it starts afresh.
    private var running: [OpaquePointer] = []
    private let threadPool: NIOThreadPool
    /// Held while a piece of work runs.
    private let turn = Mutex<Void>(())

    private init(path: String, database: OpaquePointer, threadPool: NIOThreadPool) {
        self.path = path
        self.database = database
        self.threadPool = threadPool
    }

    /// SQLite's one-time set-up, run before the first connection opens (its configuration is global).
    private static let initialized: Int32 = sqlite_nio_sqlite3_initialize()

    /// Opens `path` for reading and writing (creating it if missing) on a thread of `threadPool`, where its work will run.
    static func open(path: String, threadPool: NIOThreadPool) async throws -> SQLiteHandle {
        try await handOff(to: threadPool) {
            guard initialized == SQLITE_OK else {
                throw SQLiteFailure(code: initialized, message: "SQLite could not be set up")
            }
            var database: OpaquePointer?
            let flags = SQLITE_OPEN_CREATE | SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_EXRESCODE
            let opened = sqlite_nio_sqlite3_open_v2(path, &database, flags, nil)
            guard opened == SQLITE_OK, let database else {
                let message = database.flatMap { sqlite_nio_sqlite3_errmsg($0) }.map { String(cString: $0) } ?? "cannot be opened"
                sqlite_nio_sqlite3_close_v2(database)
                throw SQLiteFailure(code: opened, message: message)
            }
            // A write waits up to 10 s for another process's write transaction, then fails as busy.
            sqlite_nio_sqlite3_busy_timeout(database, 10_000)
            return SQLiteHandle(path: path, database: database, threadPool: threadPool)
        }
    }

    /// Runs `body` on one of the store's threads, with this connection, and answers what it returns or throws.
    func run<Answer: Sendable>(_ body: @escaping @Sendable (SQLiteHandle) throws -> Answer) async throws -> Answer {
        try await Self.handOff(to: threadPool) { try self.turn.withLock { _ in try body(self) } }
    }

    private static func handOff<Answer: Sendable>(
        to threadPool: NIOThreadPool, _ body: @escaping @Sendable () throws -> Answer
    ) async throws -> Answer {
        try await withCheckedThrowingContinuation { continuation in
            threadPool.submit { state in
                guard case .active = state else {
                    continuation.resume(throwing: SQLiteFailure(code: SQLITE_MISUSE, message: "the SQLite threads have stopped"))
                    return
                }
                continuation.resume(with: Result(catching: body))
            }
        }
    }

    /// One query, in a turn of its own.
    func query(_ sql: String, _ binds: [SQLiteValue] = []) async throws -> [SQLiteRow] {
        try await run { try $0.rows(sql, binds) }
    }

    /// Runs one statement and turns each row it answers into a value (in a ``run(_:)`` body).
    func rows<Row>(_ sql: String, _ binds: [SQLiteValue], _ read: (SQLiteColumns) throws -> Row) throws -> [Row] {
        try withStatement(sql, binds) { statement in
            var rows: [Row] = []
            while try step(statement) {
                rows.append(try read(SQLiteColumns(statement: statement)))
            }
            return rows
        }
    }

    /// Runs one statement and copies out every row it answers (in a ``run(_:)`` body).
    func rows(_ sql: String, _ binds: [SQLiteValue] = []) throws -> [SQLiteRow] {
        try withStatement(sql, binds) { statement in
            var rows: [SQLiteRow] = []
            var names: [String]?
            while try step(statement) {
                let columns = SQLiteColumns(statement: statement)
                let count = columns.count
                let rowNames = names ?? (0..<count).map { columns.name($0) }
                names = rowNames
                rows.append(SQLiteRow(names: rowNames, values: (0..<count).map { columns.value($0) }))
            }
            return rows
        }
    }

    /// Runs one statement to its end, leaving whatever rows it answers (in a ``run(_:)`` body).
    func execute(_ sql: String, _ binds: [SQLiteValue] = []) throws {
        try withStatement(sql, binds) { statement in
            while try step(statement) {}
        }
    }

    /// Runs `body` in a write transaction (`BEGIN IMMEDIATE` … `COMMIT`), rolling back if it or the commit
    /// fails (in a ``run(_:)`` body).
    func inWriteTransaction<Answer>(_ body: () throws -> Answer) throws -> Answer {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            // A failed commit may leave the transaction open; a rollback closes it whatever happened.
            if let database, sqlite_nio_sqlite3_get_autocommit(database) == 0 { try? execute("ROLLBACK") }
            throw error
        }
    }

    /// Finalizes the kept statements and closes the connection; later use fails. Called under the
    /// connection's lock, so nothing runs on it meanwhile.
    func close() async {
        _ = try? await run { handle in handle.closeNow() }
    }

    /// How many statements are kept prepared now (in a ``run(_:)`` body).
    var keptStatementCount: Int { kept.count }

    private func closeNow() {
        for statement in kept.values { sqlite_nio_sqlite3_finalize(statement) }
        kept = [:]
        sqlite_nio_sqlite3_close_v2(database)
        database = nil
    }

    private func withStatement<Answer>(_ sql: String, _ binds: [SQLiteValue], _ body: (OpaquePointer) throws -> Answer) throws -> Answer {
        let (statement, isKept) = try prepared(sql)
        running.append(statement)
        // A statement left stepped would keep its read transaction open, and its binds alive.
        defer {
            sqlite_nio_sqlite3_reset(statement)
            sqlite_nio_sqlite3_clear_bindings(statement)
            running.removeLast()
            if !isKept { sqlite_nio_sqlite3_finalize(statement) }
        }
        let parameters = Int(sqlite_nio_sqlite3_bind_parameter_count(statement))
        guard binds.count == parameters else {
            throw SQLiteFailure(code: SQLITE_RANGE, message: "the statement takes \(parameters) values and was given \(binds.count)")
        }
        for (offset, value) in binds.enumerated() {
            try check(bind(value, at: Int32(offset + 1), statement))
        }
        return try body(statement)
    }

    /// Whether the statement is on a row (false once it is done).
    private func step(_ statement: OpaquePointer) throws -> Bool {
        switch sqlite_nio_sqlite3_step(statement) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let code: throw failure(code)
        }
    }

    private func bind(_ value: SQLiteValue, at index: Int32, _ statement: OpaquePointer) -> Int32 {
        switch value {
        case .null:
            return sqlite_nio_sqlite3_bind_null(statement, index)
        case .integer(let integer):
            return sqlite_nio_sqlite3_bind_int64(statement, index, integer)
        case .real(let real):
            return sqlite_nio_sqlite3_bind_double(statement, index, real)
        case .text(let text):
            var text = text
            return text.withUTF8 { bytes in
                guard let start = bytes.baseAddress, !bytes.isEmpty else {
                    return sqlite_nio_sqlite3_bind_text64(statement, index, "", 0, transient, UInt8(SQLITE_UTF8))
                }
                return start.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                    sqlite_nio_sqlite3_bind_text64(statement, index, $0, UInt64(bytes.count), transient, UInt8(SQLITE_UTF8))
                }
            }
        case .blob(let data):
            guard !data.isEmpty else { return sqlite_nio_sqlite3_bind_zeroblob(statement, index, 0) }
            return data.withUnsafeBytes { bytes in
                sqlite_nio_sqlite3_bind_blob64(statement, index, bytes.baseAddress, UInt64(bytes.count), transient)
            }
        }
    }

    /// The kept statement for `sql`, prepared now if it is not kept yet. `sql` must hold one statement.
    ///
    /// A statement taking more than ``valuesKeptMax`` values is prepared for this run only (`kept` false): such
    /// statements (long lists of ids, streams or rows) are large, and their texts vary with the list's length.
    private func prepared(_ sql: String) throws -> (statement: OpaquePointer, kept: Bool) {
        if let statement = kept[sql] {
            guard !running.contains(statement) else {
                throw SQLiteFailure(code: SQLITE_MISUSE, message: "'\(sql.prefix(60))' was run again while its rows were being read")
            }
            return (statement, true)
        }
        guard let database else { throw SQLiteFailure(code: SQLITE_MISUSE, message: "the connection to \(path) is closed") }
        var statement: OpaquePointer?
        var more: OpaquePointer?
        var restCode = SQLITE_OK
        let code = sql.withCString { text in
            var rest: UnsafePointer<CChar>?
            let code = sqlite_nio_sqlite3_prepare_v3(database, text, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, &rest)
            // Text after the first statement that is itself a statement would be silently left out: prepare it
            // to find out (comments and spaces prepare to nothing).
            if code == SQLITE_OK, let rest, rest.pointee != 0 {
                restCode = sqlite_nio_sqlite3_prepare_v3(database, rest, -1, 0, &more, nil)
            }
            return code
        }
        guard code == SQLITE_OK, let statement else {
            sqlite_nio_sqlite3_finalize(statement)
            throw failure(code)
        }
        // A rest that does not even prepare (its table does not exist yet, say) is a statement too.
        guard more == nil, restCode == SQLITE_OK else {
            sqlite_nio_sqlite3_finalize(more)
            sqlite_nio_sqlite3_finalize(statement)
            throw SQLiteFailure(code: SQLITE_MISUSE, message: "one statement at a time: '\(sql.prefix(60))…' holds more")
        }
        guard Int(sqlite_nio_sqlite3_bind_parameter_count(statement)) <= Self.valuesKeptMax else { return (statement, false) }
        if kept.count >= Self.statementsKeptMax {
            let keeping = kept.filter { running.contains($0.value) }
            for (_, statement) in kept where !running.contains(statement) { sqlite_nio_sqlite3_finalize(statement) }
            kept = keeping
        }
        kept[sql] = statement
        return (statement, true)
    }

    private func check(_ code: Int32) throws {
        guard code == SQLITE_OK else { throw failure(code) }
    }

    private func failure(_ code: Int32) -> SQLiteFailure {
        let message = database.flatMap { sqlite_nio_sqlite3_errmsg($0) }.map { String(cString: $0) } ?? "the connection is closed"
        return SQLiteFailure(code: code, message: message)
    }
}

/// SQLite copies a value bound with this destructor before the bind returns.
private let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
