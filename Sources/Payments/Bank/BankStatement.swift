public import LedgerCore

/// The file formats a statement can arrive in.
public enum BankStatementFormat: String, Sendable, Hashable, CaseIterable {
    /// ISO 20022 `BkToCstmrStmt`, versions .02 to .08.
    case camt053
    /// SWIFT MT940, including the German `?NN` and Dutch `/TAG/` detail conventions.
    case mt940
    /// The body's own CSV layout; see ``CSVStatementParser``.
    case csv
}

/// Which way money moved on the body's account.
public enum BankStatementDirection: String, Sendable, Hashable {
    /// Money in.
    case credit
    /// Money out.
    case debit
}

/// Whether a statement's amounts add up.
public enum BankStatementIntegrity: Sendable, Hashable {
    /// Opening balance plus booked credits minus booked debits equals the closing balance.
    case balanced
    /// The check could not be made: the format has no balances (CSV) or the statement lacks one.
    case notApplicable(String)
    /// The amounts do not add up; the text says by how much and where.
    case mismatch(String)
}

/// What a parser does when a statement does not add up.
public enum BankStatementIntegrityPolicy: Sendable, Hashable {
    /// Refuse the file with ``PaymentsError/Code/integrity``: the default for imports.
    case enforce
    /// Record the outcome in ``BankStatementOverview/integrity`` and carry on: for inspecting odd files.
    case report
}

/// One transaction on a statement. A batch entry yields one line per transaction, each with its own amount.
public struct BankStatementLine: Sendable, Hashable {
    /// Which statement in the file the line belongs to, from 0.
    public var statementIndex: Int
    /// The entry's position in its statement, from 0 (camt `Ntry`, MT940 `:61:`, CSV data row).
    public var entryIndex: Int
    /// The transaction's position inside a batch entry, from 0; 0 for an entry that is not a batch.
    public var transactionIndex: Int
    /// Money in or out.
    public var direction: BankStatementDirection
    /// The amount, always positive; the direction says which way.
    public var amount: Money
    /// When the bank booked the line (camt `BookgDt`, MT940 entry date, CSV date), as the bank wrote it.
    public var bookingDate: LocalDate
    /// When the money counts for interest, if the bank says.
    public var valueDate: LocalDate?
    /// True when the bank reports the line as booked; only booked lines are final (camt `Sts` = `BOOK`).
    public var booked: Bool
    /// The bank's own reference (camt `AcctSvcrRef`, MT940 `//` reference, CSV `bank_reference`): the key for
    /// recognising a line seen before. Not unique inside a batch: pair it with ``transactionIndex``.
    public var bankReference: String?
    /// The payer's end-to-end id, when one was given (not `NOTPROVIDED`).
    public var endToEndID: String?
    /// The other party's name: for a credit the payer, for a debit the payee.
    public var payerName: String?
    /// The other party's IBAN, only when its check digits hold.
    public var payerIBAN: IBAN?
    /// The other party's account exactly as the bank wrote it, when it is not a valid IBAN (a domestic number,
    /// or an IBAN with a typo); nil when ``payerIBAN`` is set.
    public var payerAccount: String?
    /// The ultimate debtor (credit) or ultimate creditor (debit): who the payment was really for or from.
    public var ultimatePayerName: String?
    /// The structured creditor reference as sent (camt `CdtrRefInf/Ref`); not necessarily an RF reference.
    public var structuredReference: String?
    /// The remittance text, lines joined with spaces; empty when there is none.
    public var freeText: String
    /// True for a reversal (camt `RvslInd`, MT940 `RC`/`RD`): it undoes an earlier line.
    public var isReversal: Bool
    /// The return reason code (camt `RtrInf/Rsn/Cd`, MT940 `/RTRN/`), e.g. `AC04`.
    public var returnReason: String?

    /// Creates a line; parsers fill the optional fields as their format allows.
    public init(
        statementIndex: Int, entryIndex: Int, transactionIndex: Int, direction: BankStatementDirection, amount: Money,
        bookingDate: LocalDate, valueDate: LocalDate? = nil, booked: Bool = true, bankReference: String? = nil,
        endToEndID: String? = nil, payerName: String? = nil, payerIBAN: IBAN? = nil, payerAccount: String? = nil,
        ultimatePayerName: String? = nil, structuredReference: String? = nil, freeText: String = "",
        isReversal: Bool = false, returnReason: String? = nil
    ) {
        self.statementIndex = statementIndex
        self.entryIndex = entryIndex
        self.transactionIndex = transactionIndex
        self.direction = direction
        self.amount = amount
        self.bookingDate = bookingDate
        self.valueDate = valueDate
        self.booked = booked
        self.bankReference = bankReference
        self.endToEndID = endToEndID
        self.payerName = payerName
        self.payerIBAN = payerIBAN
        self.payerAccount = payerAccount
        self.ultimatePayerName = ultimatePayerName
        self.structuredReference = structuredReference
        self.freeText = freeText
        self.isReversal = isReversal
        self.returnReason = returnReason
    }

    /// The amount with its sign: positive for a credit, negative for a debit.
    public var signedMinorUnits: Int64 { direction == .credit ? amount.minorUnits : -amount.minorUnits }
}

/// Everything about one statement except its lines, which a streaming parse hands out one at a time.
public struct BankStatementOverview: Sendable, Hashable {
    /// The file's format.
    public var format: BankStatementFormat
    /// Which statement in the file this is, from 0.
    public var statementIndex: Int
    /// The bank's statement id (camt `Stmt/Id`, MT940 `:20:`); nil for CSV.
    public var statementID: String?
    /// The statement or page number (MT940 `:28C:`, camt `ElctrncSeqNb`), when given.
    public var sequenceNumber: String?
    /// The account exactly as the bank identifies it (camt `Acct/Id`, MT940 `:25:`); nil for CSV.
    public var accountID: String?
    /// The account as an IBAN, when ``accountID`` is one with valid check digits.
    public var accountIBAN: IBAN?
    /// The account's currency, when the file says.
    public var currency: String?
    /// The booked opening balance, signed (negative when overdrawn).
    public var openingBalance: Money?
    /// The booked closing balance, signed.
    public var closingBalance: Money?
    /// Whether ``closingBalance`` is an intermediate one (MT940 `:62M:`): the balance where a page of a statement
    /// ends, which may be partway through a day whose other lines are on the next page.
    public var closingBalanceIsIntermediate: Bool = false
    /// How many lines the statement produced.
    public var lineCount: Int
    /// Whether the amounts add up.
    public var integrity: BankStatementIntegrity

    /// Creates an overview; parsers fill it as they read.
    public init(
        format: BankStatementFormat, statementIndex: Int, statementID: String? = nil, sequenceNumber: String? = nil,
        accountID: String? = nil, accountIBAN: IBAN? = nil, currency: String? = nil, openingBalance: Money? = nil,
        closingBalance: Money? = nil, lineCount: Int = 0, integrity: BankStatementIntegrity = .notApplicable("not checked yet")
    ) {
        self.format = format
        self.statementIndex = statementIndex
        self.statementID = statementID
        self.sequenceNumber = sequenceNumber
        self.accountID = accountID
        self.accountIBAN = accountIBAN
        self.currency = currency
        self.openingBalance = openingBalance
        self.closingBalance = closingBalance
        self.lineCount = lineCount
        self.integrity = integrity
    }
}

/// One statement with all its lines, for files small enough to hold in memory.
public struct BankStatement: Sendable, Hashable {
    /// Everything but the lines.
    public var overview: BankStatementOverview
    /// The lines in file order.
    public var lines: [BankStatementLine]

    /// Creates a statement from its overview and lines.
    public init(overview: BankStatementOverview, lines: [BankStatementLine]) {
        self.overview = overview
        self.lines = lines
    }

    /// The file's format.
    public var format: BankStatementFormat { overview.format }
    /// The bank's statement id.
    public var statementID: String? { overview.statementID }
    /// The account's IBAN, when valid.
    public var accountIBAN: IBAN? { overview.accountIBAN }
    /// The account's currency.
    public var currency: String? { overview.currency }
    /// The booked opening balance.
    public var openingBalance: Money? { overview.openingBalance }
    /// The booked closing balance.
    public var closingBalance: Money? { overview.closingBalance }
}

/// What a streaming parse found, once every line has been handed out and every statement checked.
public struct BankStatementSummary: Sendable, Hashable {
    /// The file's format.
    public var format: BankStatementFormat
    /// Each statement's overview, in file order.
    public var statements: [BankStatementOverview]

    /// Creates a summary.
    public init(format: BankStatementFormat, statements: [BankStatementOverview]) {
        self.format = format
        self.statements = statements
    }

    /// Lines over all statements.
    public var lineCount: Int { statements.reduce(0) { $0 + $1.lineCount } }
}
