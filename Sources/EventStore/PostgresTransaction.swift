import Logging
import PostgresNIO
import _ConnectionPoolModule

/// Why a transaction failed: where it failed, and the error there. Like PostgresNIO's own transaction error,
/// but made by ``PostgresConnection/transaction(logger:_:)``.
struct PostgresTransactionFailure: Error {
    var beginError: (any Error)?
    var closureError: (any Error)?
    var commitError: (any Error)?
    var rollbackError: (any Error)?

    /// The error that ended the transaction.
    var cause: (any Error)? { closureError ?? commitError ?? beginError }
}

/// A connection had closed before a query was sent on it (the pool lent it before noticing, or the server ended
/// it in mid-transaction). Nothing was sent: a query written to a closed connection is never answered.
struct PostgresConnectionClosedBeforeUse: Error, CustomStringConvertible {
    var description: String { "the connection had closed (the server restarted or ended it)" }
}

extension PostgresConnection {
    /// Runs `body` between `BEGIN` and `COMMIT`, rolling back when it throws.
    ///
    /// Unlike PostgresNIO's `withTransaction`, it sends no `ROLLBACK` on a connection that has closed or is
    /// closing (the server rolls the transaction back with the connection): a query written to a connection
    /// just closed can stay unanswered, and the caller would wait for ever.
    /// `characteristics` follow `BEGIN` (`ISOLATION LEVEL REPEATABLE READ, READ ONLY`, say); none by default.
    func transaction<Result>(
        logger: Logger, isolationLevel characteristics: String = "", isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresConnection) async throws -> sending Result
    ) async throws -> sending Result {
        do {
            try await openQuery(PostgresQuery(unsafeSQL: characteristics.isEmpty ? "BEGIN" : "BEGIN \(characteristics)"), logger: logger)
        } catch {
            throw PostgresTransactionFailure(beginError: error)
        }
        let value: Result
        do {
            value = try await body(self)
        } catch {
            var failure = PostgresTransactionFailure(closureError: error)
            if !isClosed, !Self.endsTheConnection(error) {
                do {
                    try await openQuery("ROLLBACK", logger: logger)
                } catch {
                    failure.rollbackError = error
                }
            }
            throw failure
        }
        do {
            try await openQuery("COMMIT", logger: logger)
        } catch {
            throw PostgresTransactionFailure(commitError: error)
        }
        return value
    }
}

extension PostgresConnection {
    /// `query`, unless the connection has closed: a query written to a closed connection is never answered.
    func openQuery(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRowSequence {
        guard !isClosed else { throw PostgresConnectionClosedBeforeUse() }
        return try await self.query(query, logger: logger)
    }

    /// `execute`, unless the connection has closed (see ``openQuery(_:logger:)``).
    func openExecute<Statement: PostgresPreparedStatement>(
        _ statement: Statement, logger: Logger
    ) async throws -> AsyncThrowingMapSequence<PostgresRowSequence, Statement.Row> {
        guard !isClosed else { throw PostgresConnectionClosedBeforeUse() }
        return try await execute(statement, logger: logger)
    }

    /// Whether `error` means the connection is gone or going: a failure of the connection itself, a fatal error
    /// from the server (it closes the connection after one, e.g. on an administrator's shutdown), or a pool that
    /// cannot open connections.
    static func endsTheConnection(_ error: any Error) -> Bool {
        // The pool could not open connections for a while (its circuit breaker), or had stopped.
        // A request cancelled by its own caller says nothing about the server.
        if error is PostgresConnectionClosedBeforeUse { return true }
        if let error = error as? ConnectionPoolError { return error != .requestCancelled }
        guard let error = error as? PSQLError else { return false }
        guard let info = error.serverInfo else { return true }
        let severity = info[.severity] ?? ""
        let state = info[.sqlState] ?? ""
        return severity == "FATAL" || severity == "PANIC" || state.hasPrefix("57P") || state.hasPrefix("08")
    }
}

extension PostgresClient {
    /// Runs `body` in a transaction on a connection of the pool (see ``PostgresConnection/transaction(logger:_:)``).
    func transaction<Result>(
        logger: Logger, isolation: isolated (any Actor)? = #isolation, _ body: (PostgresConnection) async throws -> sending Result
    ) async throws -> sending Result {
        try await withConnection(isolation: isolation) { connection in
            try await connection.transaction(logger: logger, isolation: isolation, body)
        }
    }

    /// Runs `body` on a connection of the pool that is still open. The pool can lend a connection whose
    /// closing it has not yet noticed; a query on it would never be answered, so it fails at once instead.
    func withOpenConnection<Result>(
        isolation: isolated (any Actor)? = #isolation, _ body: (PostgresConnection) async throws -> sending Result
    ) async throws -> sending Result {
        try await withConnection(isolation: isolation) { connection in
            guard !connection.isClosed else { throw PostgresConnectionClosedBeforeUse() }
            return try await body(connection)
        }
    }

    /// `query` on a connection of the pool that is still open (see ``withOpenConnection(isolation:_:)``), its rows
    /// read while the connection is held.
    func rows(_ query: PostgresQuery, logger: Logger) async throws -> [PostgresRow] {
        try await withOpenConnection { connection in
            var rows: [PostgresRow] = []
            for try await row in try await connection.openQuery(query, logger: logger) { rows.append(row) }
            return rows
        }
    }
}

/// An append batch that did not finish within ``PostgresEventStore/appendTimeLimit``: the server may be gone.
struct AppendTimeLimitExceeded: Error {}
