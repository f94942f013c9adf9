public import EventStore
public import Foundation
public import LedgerCore

/// The books for staff and the accountant: trial balances and the journal, as Beancount or CSV, for any
/// range of days. Each answer first takes in what the log holds, so an export includes every payment recorded
/// before it was asked for.
public struct BooksQueries: Sendable {
    public let store: any EventStore
    public let projection: BooksProjection
    /// Journal lines read per query while exporting: memory stays the same however long the range.
    public static let linesPerPage = 2_000

    public init(store: any EventStore, projection: BooksProjection) {
        self.store = store
        self.projection = projection
    }

    /// One account's balance.
    public struct Balance: Sendable, Hashable, Codable {
        public var account: String
        public var currency: String
        /// Debit positive, credit negative, as "-125.00".
        public var balance: String
        public var minorUnits: Int64
    }

    /// Every account's balance at the end of `date`, and whether debits and credits agree.
    public struct TrialBalance: Sendable, Hashable, Codable {
        public var date: String
        public var accounts: [Balance]
        /// True when the balances sum to zero in every currency (always, unless the books are damaged).
        public var balanced: Bool
    }

    public func trialBalance(on date: LocalDate) async throws -> TrialBalance {
        try await catchUp()
        let balances = try await balances(before: date.addingDays(1))
        var totals: [String: Int64] = [:]
        for balance in balances { totals[balance.currency, default: 0] &+= balance.minorUnits }
        return TrialBalance(date: date.description, accounts: balances, balanced: totals.values.allSatisfy { $0 == 0 })
    }

    /// Balances of every account with postings dated before `day`, by account and currency.
    func balances(before day: LocalDate) async throws -> [Balance] {
        try await store.withReadModelConnection { connection in
            try await connection.query(
                """
                SELECT account, currency, CAST(SUM(amount_minor_units) AS BIGINT) FROM journal_lines WHERE entry_date < ?
                GROUP BY account, currency ORDER BY account, currency
                """,
                [.text(day.description)]
            ).map { row in
                let minor = try row.integer(2)
                return Balance(account: try row.text(0), currency: try row.text(1), balance: Money(minorUnits: minor, currency: "").decimalString, minorUnits: minor)
            }
        }
    }

    /// One line of the journal.
    public struct Line: Sendable, Hashable {
        public var entryID: String
        public var lineNumber: Int64
        public var date: String
        public var account: String
        public var minorUnits: Int64
        public var currency: String
        public var paymentID: String?
        public var profileID: String?
        public var narration: String
        var commitOrder: Int64
        var position: Int64
    }

    /// Calls `body` with every journal line dated `from` through `to`, in order, a page at a time.
    public func forEachLine(from: LocalDate, through to: LocalDate, _ body: ([Line]) async throws -> Void) async throws {
        var last: Line?
        while true {
            let after = last
            let page = try await store.withReadModelConnection { connection in
                var sql = """
                    SELECT entry_id, line_no, entry_date, account, amount_minor_units, currency, payment_id, profile_id, narration,
                           commit_order, position
                    FROM journal_lines WHERE entry_date >= ? AND entry_date <= ?
                    """
                var binds: [SQLValue] = [.text(from.description), .text(to.description)]
                if let after {
                    sql += """
                         AND (entry_date > ? OR (entry_date = ? AND (commit_order > ? OR (commit_order = ? AND (position > ?
                              OR (position = ? AND line_no > ?))))))
                        """
                    binds += [
                        .text(after.date), .text(after.date), .integer(after.commitOrder), .integer(after.commitOrder), .integer(after.position),
                        .integer(after.position), .integer(after.lineNumber),
                    ]
                }
                sql += " ORDER BY entry_date, commit_order, position, line_no LIMIT \(Self.linesPerPage)"
                return try await connection.query(sql, binds).map { row in
                    Line(
                        entryID: try row.text(0), lineNumber: try row.integer(1), date: try row.text(2), account: try row.text(3),
                        minorUnits: try row.integer(4), currency: try row.text(5), paymentID: try row.optionalText(6),
                        profileID: try row.optionalText(7), narration: try row.text(8), commitOrder: try row.integer(9), position: try row.integer(10)
                    )
                }
            }
            if !page.isEmpty { try await body(page) }
            guard page.count == Self.linesPerPage else { return }
            last = page.last
        }
    }

    /// A statement's closing balance, as the books must hold it at the start of `date`.
    public struct BalanceCheck: Sendable, Hashable {
        public var date: String
        public var account: String
        public var minorUnits: Int64
        public var currency: String
        public var statementID: String?
    }

    /// The statements' checks dated `from` through `to`.
    public func balanceChecks(from: LocalDate, through to: LocalDate) async throws -> [BalanceCheck] {
        try await store.withReadModelConnection { connection in
            try await connection.query(
                """
                SELECT check_date, account, amount_minor_units, currency, statement_id FROM book_balance_checks
                WHERE check_date >= ? AND check_date <= ? ORDER BY check_date, account, currency
                """,
                [.text(from.description), .text(to.description)]
            ).map { row in
                BalanceCheck(date: try row.text(0), account: try row.text(1), minorUnits: try row.integer(2), currency: try row.text(3), statementID: try row.optionalText(4))
            }
        }
    }

    /// The first day with an entry, if any.
    public func firstEntryDate() async throws -> LocalDate? {
        try await store.withReadModelConnection { connection in
            try await connection.query("SELECT MIN(entry_date) FROM journal_lines", []).first.flatMap { try $0.optionalText(0) }.flatMap { LocalDate(iso: $0) }
        }
    }

    /// Takes in what the log holds now.
    public func catchUp() async throws {
        _ = try await ProjectionRunner(store: store, projection: projection).catchUp()
    }
}
