import LedgerCore

/// What has been read of the statement in progress.
struct StatementState {
    let index: Int
    var overview: BankStatementOverview
    var opening: Money?
    var closing: Money?
    /// Whether ``closing`` is an interim balance (`ITBD`), where a page of a statement split over several ends.
    var closingIsInterim = false
    var entryCount = 0
    var totals = StatementTotals()

    init(index: Int) {
        self.index = index
        overview = BankStatementOverview(format: .camt053, statementIndex: index)
    }

    /// The account currency, else the balances' currency.
    var currency: String? { overview.currency ?? opening?.currency ?? closing?.currency }

    /// Keeps the booked opening and closing balances; available balances and others do not enter the check.
    ///
    /// A statement split over several pages opens or closes a page with an interim booked balance (`ITBD`): the
    /// first one a page gives opens it (unless an `OPBD` or `PRCD` did), a later one closes it, as an interim
    /// balance, like MT940's `:62M:`.
    mutating func record(_ balance: BalanceState) {
        guard let amount = balance.amount else { return }
        let signed = Money(minorUnits: balance.direction == "DBIT" ? -amount.minorUnits : amount.minorUnits, currency: amount.currency)
        switch balance.type {
        case "OPBD": opening = signed
        // A "previously closed booked" balance opens the statement when the bank sends no OPBD.
        case "PRCD": if opening == nil { opening = signed }
        case "CLBD":
            closing = signed
            closingIsInterim = false
        case "ITBD":
            if opening == nil {
                opening = signed
            } else if closing == nil || closingIsInterim {
                closing = signed
                closingIsInterim = true
            }
        default: break
        }
    }
}

/// One `Bal` element.
struct BalanceState {
    var type: String?
    var direction: String?
    var amount: Money?
}

/// One side of a transaction: debtor or creditor.
struct PartyState {
    var name: String?
    var account: String?
    var ultimateName: String?
}

/// One `TxDtls` element.
struct TransactionState {
    var amount: Money?
    var endToEndID: String?
    var bankReference: String?
    var debtor = PartyState()
    var creditor = PartyState()
    var unstructured: [String] = []
    /// The bytes of `unstructured` joined with spaces, kept as they are added.
    var unstructuredBytes = 0
    var structuredReference: String?
    var returnReason: String?
    var additionalInformation: String?
}

/// One `Ntry` element, with its transactions.
struct EntryState {
    let index: Int
    let line: Int
    var amountText: String?
    var currency = ""
    var direction: String?
    var isReversal = false
    var status: String?
    var bookingDate: LocalDate?
    var valueDate: LocalDate?
    var bankReference: String?
    var additionalInformation: String?
    var transactions: [TransactionState] = []

    init(index: Int, line: Int) {
        self.index = index
        self.line = line
    }

    /// The entry's lines: one per transaction in a batch, else one with the entry amount.
    func lines(statementIndex: Int) throws(PaymentsError) -> [BankStatementLine] {
        let location = "entry \(index + 1) of statement \(statementIndex + 1) (line \(line))"
        let direction: BankStatementDirection
        switch self.direction {
        case "CRDT": direction = .credit
        case "DBIT": direction = .debit
        default: throw PaymentsError(.malformed, "\(location) has CdtDbtInd '\((self.direction ?? "").prefix(10))'; expected CRDT or DBIT")
        }
        guard let amountText, !currency.isEmpty,
              let minorUnits = StatementAmount.minorUnits(amountText, separator: ".", currency: currency) else {
            throw PaymentsError(.malformed, "\(location) has no exact amount with a currency; got '\((amountText ?? "").prefix(40))'")
        }
        // Pending entries may lack a booking date; the value date then stands in for it.
        guard let bookingDate = bookingDate ?? valueDate else {
            throw PaymentsError(.malformed, "\(location) has neither a BookgDt nor a ValDt")
        }
        let entryAmount = Money(minorUnits: minorUnits, currency: currency)
        let details = transactions.isEmpty ? [TransactionState()] : transactions
        let isBatch = details.count > 1
        return try details.enumerated().map { (position, transaction) throws(PaymentsError) in
            var amount = entryAmount
            if isBatch {
                guard let own = transaction.amount else {
                    throw PaymentsError(.malformed, "\(location) is a batch of \(details.count) but transaction \(position + 1) has no amount")
                }
                amount = own
            }
            let party = direction == .credit ? transaction.debtor : transaction.creditor
            let account = BankAccountText(party.account)
            let freeText = transaction.unstructured.isEmpty
                ? (transaction.additionalInformation ?? additionalInformation ?? "")
                : transaction.unstructured.joined(separator: " ")
            return BankStatementLine(
                statementIndex: statementIndex, entryIndex: index, transactionIndex: position, direction: direction,
                amount: amount, bookingDate: bookingDate, valueDate: valueDate, booked: status?.uppercased() == "BOOK",
                bankReference: bankReference ?? transaction.bankReference, endToEndID: transaction.endToEndID,
                payerName: party.name, payerIBAN: account.iban, payerAccount: account.other,
                ultimatePayerName: party.ultimateName, structuredReference: transaction.structuredReference,
                freeText: freeText, isReversal: isReversal, returnReason: transaction.returnReason
            )
        }
    }

    /// Why a batch's transactions do not add up to the entry, or nil when they do (or it is no batch).
    func batchMismatch(_ lines: [BankStatementLine]) -> String? {
        guard lines.count > 1, let entryAmount = amountText.flatMap({ StatementAmount.minorUnits($0, separator: ".", currency: currency) }) else {
            return nil
        }
        var sum: Int64 = 0
        for line in lines {
            guard line.amount.currency == currency else {
                return "entry \(index + 1) is in \(currency) but its transaction \(line.transactionIndex + 1) is in \(line.amount.currency)"
            }
            let (next, overflow) = sum.addingReportingOverflow(line.amount.minorUnits)
            guard !overflow else { return "entry \(index + 1)'s transactions overflow" }
            sum = next
        }
        guard sum != entryAmount else { return nil }
        let parts = Money(minorUnits: sum, currency: currency)
        let whole = Money(minorUnits: entryAmount, currency: currency)
        return "entry \(index + 1)'s \(lines.count) transactions add up to \(parts), but the entry is \(whole)"
    }
}

/// An account as a statement names it: an IBAN when the check digits hold, else the text as written.
struct BankAccountText {
    let iban: IBAN?
    let other: String?

    init(_ text: String?) {
        guard let text = text?.collapsingWhitespace, !text.isEmpty else {
            iban = nil
            other = nil
            return
        }
        iban = IBAN(parsing: text)
        other = iban == nil ? text : nil
    }
}
