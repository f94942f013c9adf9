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
    public let linesPerPage: Int

    public init(store: any EventStore, projection: BooksProjection, linesPerPage: Int = 2_000) {
        self.store = store
        self.projection = projection
        self.linesPerPage = max(1, linesPerPage)
    }

    /// Runs `body` on `snapshot` when one is given (``EventStore/withReadModelSnapshot(_:)``, held by the caller),
    /// otherwise on the read models' reader.
    private func reading<Result: Sendable>(
        _ snapshot: (any ReadModelConnection)?, _ body: @Sendable (any ReadModelConnection) async throws -> Result
    ) async throws -> Result {
        if let snapshot { return try await body(snapshot) }
        return try await store.withReadModelConnection(body)
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
    func balances(before day: LocalDate, in snapshot: (any ReadModelConnection)? = nil) async throws -> [Balance] {
        try await reading(snapshot) { connection in
            try await connection.query(
                """
                SELECT account, currency, CAST(SUM(amount_minor_units) AS BIGINT) FROM journal_lines WHERE entry_date < ?
                GROUP BY account, currency ORDER BY account, currency
                """,
                [.text(day.description)]
            ).map { row in
                let minor = try row.integer(2)
                return Balance(account: try row.text(0), currency: try row.text(1), balance: Money(minorUnits: minor, currency: try row.text(1)).decimalString, minorUnits: minor)
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
    public func forEachLine(
        from: LocalDate, through to: LocalDate, in snapshot: (any ReadModelConnection)? = nil, _ body: ([Line]) async throws -> Void
    ) async throws {
        var last: Line?
        while true {
            let after = last
            let page = try await reading(snapshot) { connection in
                var sql = """
                    SELECT entry_id, line_no, entry_date, account, amount_minor_units, currency, payment_id, profile_id, narration,
                           commit_order, position
                    FROM journal_lines WHERE entry_date >= ? AND entry_date <= ?
                    """
                // From the last page's day on, so the index range starts there (and not at `from` for every page).
                var binds: [SQLValue] = [.text(after?.date ?? from.description), .text(to.description)]
                if let after {
                    // A row value, which both databases compare along the index: each page starts where the last ended.
                    sql += " AND (entry_date, commit_order, position, line_no) > (?, ?, ?, ?)"
                    binds += [.text(after.date), .integer(after.commitOrder), .integer(after.position), .integer(after.lineNumber)]
                }
                sql += " ORDER BY entry_date, commit_order, position, line_no LIMIT \(linesPerPage)"
                return try await connection.query(sql, binds).map { row in
                    Line(
                        entryID: try row.text(0), lineNumber: try row.integer(1), date: try row.text(2), account: try row.text(3),
                        minorUnits: try row.integer(4), currency: try row.text(5), paymentID: try row.optionalText(6),
                        profileID: try row.optionalText(7), narration: try row.text(8), commitOrder: try row.integer(9), position: try row.integer(10)
                    )
                }
            }
            if !page.isEmpty { try await body(page) }
            guard page.count == linesPerPage else { return }
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
    public func balanceChecks(from: LocalDate, through to: LocalDate, in snapshot: (any ReadModelConnection)? = nil) async throws -> [BalanceCheck] {
        try await reading(snapshot) { connection in
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

    /// A transfer the bank returned or reversed that matched no payment: it reversed nothing, for staff to trace.
    public struct UnmatchedReturn: Sendable, Hashable {
        public var date: String
        public var amount: Money
        /// The bank's reason, the counterparty and the line's text, as the journal's narration gives them.
        public var words: String
    }

    /// The latest returned transfers that matched no payment, newest first, after taking in the log.
    public func unmatchedReturns(limit: Int) async throws -> [UnmatchedReturn] {
        try await catchUp()
        return try await store.withReadModelConnection { connection in
            try await connection.query(
                """
                SELECT entry_date, amount_minor_units, currency, narration FROM journal_lines
                WHERE account = ? AND payment_id IS NULL AND narration LIKE ?
                ORDER BY entry_date DESC, commit_order DESC, position DESC LIMIT ?
                """,
                [.text(BookAccount.bank.rawValue), .text(BooksProjection.returnedWords + " (%"), .integer(Int64(max(0, limit)))]
            ).map { row in
                // Money out (a payment to us sent back) or in (one of ours that bounced): the amount either way.
                let moved = try row.integer(1)
                return UnmatchedReturn(
                    date: try row.text(0), amount: Money(minorUnits: moved == .min ? .max : abs(moved), currency: try row.text(2)), words: try row.text(3)
                )
            }
        }
    }

    /// A bank line that is not a payment and that no payment's paying back used yet: what staff choose from when a
    /// transfer paid a payment back (money going out), or when that transfer came back (money coming in).
    public struct UnusedBankLine: Sendable, Hashable {
        /// The line's key: what `paid-back` and `pay-back-returned` name it by.
        public var lineKey: String
        public var bookingDate: LocalDate
        public var amount: Money
        public var counterparty: String?
        public var details: String
    }

    /// The lines of money going out of `amount` (its currency), booked on `from` or later, that paid nothing back
    /// yet, newest first, after taking in the log. A return of the bank's among them (one that matched no payment)
    /// says so first in its details.
    public func moneyOutToPayBack(_ amount: Money, bookedFrom from: LocalDate, limit: Int) async throws -> [UnusedBankLine] {
        try await unusedLines("direction = 'out' AND amount_minor_units = ?", amount, bookedFrom: from, limit: limit)
    }

    /// The lines of money coming in of at most `amount` (its currency), booked on `from` or later, that no payment's
    /// paying back used yet, newest first, after taking in the log: the transfer back that came back is among them
    /// (a credit the bank returned matches no payment, so it is such a line).
    public func moneyInReturningPayBack(_ amount: Money, bookedFrom from: LocalDate, limit: Int) async throws -> [UnusedBankLine] {
        try await unusedLines("direction = 'in' AND amount_minor_units BETWEEN 1 AND ?", amount, bookedFrom: from, limit: limit)
    }

    /// The lines of `bank_movements` that `condition` (on the direction and, as its one parameter, the amount) picks,
    /// in `amount`'s currency, booked on `from` or later, that no payment's paying back used.
    private func unusedLines(_ condition: String, _ amount: Money, bookedFrom from: LocalDate, limit: Int) async throws -> [UnusedBankLine] {
        try await catchUp()
        return try await store.withReadModelConnection { connection in
            try await connection.query(
                """
                SELECT line_key, booking_date, amount_minor_units, currency, counterparty, details, return_reason FROM bank_movements
                WHERE \(condition) AND currency = ? AND booking_date >= ? AND paid_back_payment_id IS NULL
                ORDER BY booking_date DESC, line_key LIMIT ?
                """,
                [.integer(amount.minorUnits), .text(amount.currency), .text(from.description), .integer(Int64(max(0, limit)))]
            ).map { row in
                guard let day = LocalDate(iso: try row.text(1)) else { throw EventStoreError(.unexpectedRow, "bank_movements.booking_date holds no day") }
                return UnusedBankLine(
                    lineKey: try row.text(0), bookingDate: day, amount: Money(minorUnits: try row.integer(2), currency: try row.text(3)),
                    counterparty: try row.optionalText(4),
                    details: try row.optionalText(6).map { reason in
                        let details = try row.text(5)
                        return "returned by the bank (\(reason))" + (details.isEmpty ? "" : ": \(details)")
                    } ?? row.text(5)
                )
            }
        }
    }

    /// The days a report or export covers, after taking in the log: through `to` (default `today`), from `from`
    /// (default the first day with an entry, or `to` when there is none). Throws
    /// ``DomainError/invalidDateRange(_:)`` when `from` comes after `to`.
    public func range(from: LocalDate?, through to: LocalDate?, today: LocalDate) async throws -> (from: LocalDate, to: LocalDate) {
        let end = to ?? today
        try await catchUp()
        let start = if let from { from } else { min(try await firstEntryDate() ?? end, end) }
        guard start <= end else {
            let named = to == nil ? "today (\(end)), the last day when to is not given" : "to (\(end))"
            throw DomainError.invalidDateRange("from (\(start)) is after \(named); nothing lies between")
        }
        return (start, end)
    }

    /// The first day with an entry, if any.
    public func firstEntryDate() async throws -> LocalDate? {
        try await store.withReadModelConnection { connection in
            try await connection.query("SELECT MIN(entry_date) FROM journal_lines", []).first.flatMap { try $0.optionalText(0) }.flatMap { LocalDate(iso: $0) }
        }
    }

    /// Income of one month and one way of paying, from the books: each income account's movement, credit
    /// positive (so a refund is negative), and their sum.
    public struct IncomeRow: Sendable, Hashable, Codable {
        /// `YYYY-MM`.
        public var month: String
        /// card, paypal, bank or offline.
        public var method: String
        public var currency: String
        public var contributions: String
        public var donations: String
        public var other: String
        public var refunds: String
        public var chargebacks: String
        public var returns: String
        public var net: String
        public var netMinorUnits: Int64
    }

    /// Income by month and way of paying, for the days `from` through `to`.
    ///
    /// Whole months are read from the month totals; a month the range covers only in part is summed from its
    /// journal lines.
    public func income(from: LocalDate, through to: LocalDate) async throws -> [IncomeRow] {
        // The first and last whole months in the range, as YYYY-MM.
        let firstWhole = from.day == 1 ? from : LocalDate(year: from.year, month: from.month, day: 1)?.addingMonths(1) ?? from
        let afterTo = to.addingDays(1)
        let lastWholeEnd = afterTo.day == 1 ? afterTo : LocalDate(year: afterTo.year, month: afterTo.month, day: 1) ?? afterTo
        let wholeMonths = firstWhole < lastWholeEnd
        // Income accounts by their prefix, not by a range of text: PostgreSQL compares text in the database's
        // collation, where `Income;` may sort before `Income:Donations` (en_US ignores the punctuation, ICU puts
        // `;` before `:`), and the range would hold no account at all.
        let lines = """
            SELECT substr(entry_date, 1, 7), method, currency, account, CAST(SUM(amount_minor_units) AS BIGINT) FROM journal_lines
            WHERE entry_date >= ? AND entry_date <= ? AND substr(account, 1, 7) = 'Income:'
            GROUP BY substr(entry_date, 1, 7), method, currency, account
            """
        var parts: [(String, [SQLValue])] = []
        if wholeMonths {
            parts.append((
                """
                SELECT month, method, currency, account, amount_minor_units FROM book_month_totals
                WHERE month >= ? AND month < ? AND substr(account, 1, 7) = 'Income:'
                """,
                [.text(String(firstWhole.description.prefix(7))), .text(String(lastWholeEnd.description.prefix(7)))]
            ))
            if from < firstWhole { parts.append((lines, [.text(from.description), .text(firstWhole.addingDays(-1).description)])) }
            if lastWholeEnd <= to { parts.append((lines, [.text(lastWholeEnd.description), .text(to.description)])) }
        } else {
            parts.append((lines, [.text(from.description), .text(to.description)]))
        }
        let queries = parts
        let found = try await store.withReadModelConnection { connection in
            var found: [(BooksProjection.MonthTotalKey, Int64)] = []
            for (sql, binds) in queries {
                for row in try await connection.query(sql, binds) {
                    let key = BooksProjection.MonthTotalKey(month: try row.text(0), method: try row.text(1), currency: try row.text(2), account: try row.text(3))
                    found.append((key, try row.integer(4)))
                }
            }
            return found
        }
        var summed: [BooksProjection.MonthTotalKey: Int64] = [:]
        for (key, amount) in found { summed[key, default: 0] &+= amount }
        let sums = summed.sorted { $0.key < $1.key }.map { (month: $0.key.month, method: $0.key.method, currency: $0.key.currency, account: $0.key.account, minor: $0.value) }
        var rows: [IncomeRow] = []
        var index = sums.startIndex
        while index < sums.endIndex {
            let key = (sums[index].month, sums[index].method, sums[index].currency)
            var byAccount: [BookAccount: Int64] = [:]
            var other: Int64 = 0
            while index < sums.endIndex, (sums[index].month, sums[index].method, sums[index].currency) == key {
                // Income is a credit: negative in the journal, positive here.
                let income = 0 &- sums[index].minor
                if let account = BookAccount(rawValue: sums[index].account), account != .otherIncome, account != .bankIncomingOther {
                    byAccount[account, default: 0] &+= income
                } else {
                    other &+= income
                }
                index += 1
            }
            func amount(_ minor: Int64) -> String { Money(minorUnits: minor, currency: key.2).decimalString }
            let net = byAccount.values.reduce(other, &+)
            rows.append(IncomeRow(
                month: key.0, method: key.1, currency: key.2, contributions: amount(byAccount[.contributions] ?? 0),
                donations: amount(byAccount[.donations] ?? 0), other: amount(other), refunds: amount(byAccount[.refunds] ?? 0),
                chargebacks: amount(byAccount[.chargebacks] ?? 0), returns: amount(byAccount[.returns] ?? 0), net: amount(net), netMinorUnits: net
            ))
        }
        return rows
    }

    /// Takes in what the log holds now.
    public func catchUp() async throws {
        _ = try await ProjectionRunner(store: store, projection: projection).catchUp()
    }
}
