import LedgerCore

/// Adds up one statement's booked lines to check them against its balances.
struct StatementTotals {
    private(set) var creditMinorUnits: Int64 = 0
    private(set) var debitMinorUnits: Int64 = 0
    /// How many booked lines were counted.
    private(set) var bookedLines = 0
    /// The first reason the statement cannot add up, found while lines arrive.
    private(set) var problem: String?

    /// Counts a booked line; pending and informational lines change no balance.
    mutating func add(_ line: BankStatementLine, statementCurrency: String?) {
        guard line.booked, problem == nil else { return }
        bookedLines += 1
        if let statementCurrency, line.amount.currency != statementCurrency {
            problem = "entry \(line.entryIndex + 1) is in \(line.amount.currency) but the statement is in \(statementCurrency)"
            return
        }
        var overflow = false
        switch line.direction {
        case .credit: (creditMinorUnits, overflow) = creditMinorUnits.addingReportingOverflow(line.amount.minorUnits)
        case .debit: (debitMinorUnits, overflow) = debitMinorUnits.addingReportingOverflow(line.amount.minorUnits)
        }
        if overflow { problem = "the entries' total overflows at entry \(line.entryIndex + 1)" }
    }

    /// Records a problem found outside the balances, such as a batch whose parts do not add up.
    mutating func fail(_ reason: String) {
        if problem == nil { problem = reason }
    }

    /// Whether opening plus credits minus debits is the closing balance.
    func integrity(opening: Money?, closing: Money?) -> BankStatementIntegrity {
        if let problem { return .mismatch(problem) }
        // Booked entries without both balances cannot be checked: taken for a statement cut short, as an MT940
        // statement without its closing balance is. A statement with no booked entry has nothing to check.
        guard let opening else {
            return bookedLines > 0 ? .mismatch("it has booked entries but no opening balance, so it cannot be checked") : .notApplicable("the statement has no opening balance")
        }
        guard let closing else {
            return bookedLines > 0 ? .mismatch("it has booked entries but no closing balance (a statement cut short?)") : .notApplicable("the statement has no closing balance")
        }
        guard opening.currency == closing.currency else {
            return .mismatch("the opening balance is in \(opening.currency) but the closing balance is in \(closing.currency)")
        }
        let (net, netOverflow) = creditMinorUnits.subtractingReportingOverflow(debitMinorUnits)
        let (expected, overflow) = opening.minorUnits.addingReportingOverflow(net)
        guard !netOverflow, !overflow else { return .mismatch("the balances overflow") }
        guard expected == closing.minorUnits else {
            let credits = Money(minorUnits: creditMinorUnits, currency: opening.currency).decimalString
            let debits = Money(minorUnits: debitMinorUnits, currency: opening.currency).decimalString
            let computed = Money(minorUnits: expected, currency: opening.currency)
            return .mismatch("opening \(opening) + credits \(credits) − debits \(debits) = \(computed), but the closing balance is \(closing)")
        }
        return .balanced
    }
}

extension BankStatementOverview {
    /// Refuses the file when the statement does not add up and the policy says to.
    func enforcing(_ policy: BankStatementIntegrityPolicy) throws(PaymentsError) -> BankStatementOverview {
        guard policy == .enforce, case .mismatch(let reason) = integrity else { return self }
        let name = statementID.map { " (\($0.prefix(40)))" } ?? ""
        throw PaymentsError(.integrity, "statement \(statementIndex + 1)\(name) does not add up: \(reason)")
    }
}
