import LedgerCore

/// The tokenizer handler behind ``CamtStatementParser``: keeps the element path, the statement being read and
/// the entry being read, and hands each entry's lines out when `</Ntry>` arrives.
///
/// It lives for one parse on the caller's thread and is driven synchronously by ``XMLTokenizer``.
struct CamtReader: XMLTokenHandler {
    /// Wraps an error thrown by the caller's line handler, so it surfaces unchanged rather than located.
    struct LineHandlerFailure: Error {
        let underlying: any Error
    }

    private let options: BankStatementParseOptions
    private let onLine: (BankStatementLine) throws -> Void

    private(set) var statements: [BankStatementOverview] = []
    private(set) var sawDocumentEnd = false

    private let tree = CamtFieldTree.shared
    /// The open elements, outermost first, each with its node in ``CamtFieldTree``.
    private var path: [CamtElement] = []
    private var nodes: [Int32] = []
    /// The raw text since the last tag, as UTF-8, kept only inside an element that is a field; the tokenizer
    /// has already checked it.
    private var text: [UInt8] = []
    private var textBytes = 0
    private var amountCurrency: String?
    private var statement: StatementState?
    private var entry: EntryState?
    private var transaction: TransactionState?
    private var balance: BalanceState?

    init(options: BankStatementParseOptions, onLine: @escaping (BankStatementLine) throws -> Void) {
        self.options = options
        self.onLine = onLine
    }

    // MARK: Element events

    mutating func startElement(_ tag: XMLStartTag, line: Int) throws {
        let element = CamtElement.named(tag.localNameBytes)
        if path.isEmpty {
            // Only the root's namespace matters: it names the message and its version.
            let namespaceURI = tag.attribute(tag.prefix.map { "xmlns:\($0)" } ?? "xmlns")
            guard element == .document, let namespaceURI, namespaceURI.hasPrefix(CamtStatementParser.namespacePrefix),
                  let version = Int(namespaceURI.dropFirst(CamtStatementParser.namespacePrefix.count)), (2...8).contains(version) else {
                throw PaymentsError(
                    .unsupportedFormat,
                    "the root element is \(tag.localName.prefix(40)) in namespace '\((namespaceURI ?? "").prefix(80))'; expected Document in camt.053.001.02 to .08"
                )
            }
        }
        var node = tree.child(of: nodes.last ?? 0, element)
        switch element {
        case .statement where path.count == 2:
            guard statements.count < options.statementsPerFileMax else {
                throw PaymentsError(.tooLarge, "the file holds more than \(options.statementsPerFileMax) statements (a new one starts near line \(line))")
            }
            statement = StatementState(index: statements.count)
            node = tree.root(.statement)
        case .balance where statement != nil && entry == nil:
            balance = BalanceState()
            node = tree.root(.balance)
        case .entry where statement != nil:
            entry = EntryState(index: statement!.entryCount, line: line)
            node = tree.root(.entry)
        case .transactionDetails where entry != nil:
            guard entry!.transactions.count < options.transactionsPerEntryMax else {
                throw PaymentsError(
                    .tooLarge, "entry \(entry!.index + 1) near line \(line) has more than \(options.transactionsPerEntryMax) transactions"
                )
            }
            transaction = TransactionState()
            node = tree.root(.transaction)
        case .amount:
            let code = tag.attribute("Ccy")
            if let code, !Money.isCurrencyCode(code) {
                throw PaymentsError(.malformed, "an amount near line \(line) has the currency '\(code.prefix(10))', which is not a three-letter code")
            }
            amountCurrency = code
        default:
            break
        }
        path.append(element)
        nodes.append(node)
        if !text.isEmpty { text.removeAll(keepingCapacity: true) }
        textBytes = 0
    }

    mutating func characters(_ bytes: UnsafeBufferPointer<UInt8>, line: Int) throws {
        textBytes += bytes.count
        guard textBytes <= options.fieldBytesMax else {
            let name = path.last.map { $0 == .unknown ? "an element" : $0.name } ?? "an element"
            throw PaymentsError(.tooLarge, "the text of \(name) near line \(line) is longer than \(options.fieldBytesMax) bytes")
        }
        // Most elements carry nothing we read; skipping their text keeps large files fast.
        if let node = nodes.last, tree.field(node) != nil { text.append(contentsOf: bytes) }
    }

    mutating func endElement(line: Int) throws {
        let element = path.removeLast()
        let node = nodes.removeLast()
        do {
            if let field = tree.field(node) {
                let value = String(decoding: text, as: UTF8.self).collapsingWhitespace
                try read(field, value)
            }
            if !text.isEmpty { text.removeAll(keepingCapacity: true) }
            try close(element)
        } catch let error as PaymentsError {
            throw PaymentsError(error.code, "\(error.message) (near line \(line))")
        }
        if path.isEmpty { sawDocumentEnd = true }
    }

    // MARK: Fields

    private mutating func read(_ field: CamtField, _ value: String) throws(PaymentsError) {
        switch field {
        case .statementID: statement?.overview.statementID = value
        case .sequenceNumber: statement?.overview.sequenceNumber = value
        case .accountIBAN, .accountOther:
            statement?.overview.accountID = value
            statement?.overview.accountIBAN = IBAN(parsing: value)
        case .accountCurrency:
            guard Money.isCurrencyCode(value) else {
                throw PaymentsError(.malformed, "the account's currency '\(value.prefix(10))' is not a three-letter code")
            }
            statement?.overview.currency = value.uppercased()
        case .balanceType: balance?.type = value
        case .balanceDirection: balance?.direction = value
        case .balanceAmount:
            guard balance != nil else { return }
            let currency = (amountCurrency ?? "").uppercased()
            guard let minorUnits = StatementAmount.minorUnits(value, separator: ".", currency: currency) else {
                throw PaymentsError(.malformed, "statement \(statement!.index + 1) has a balance amount '\(value.prefix(40))' that is not an exact amount")
            }
            balance!.amount = Money(minorUnits: minorUnits, currency: currency)
        case .entryAmount:
            entry?.currency = (amountCurrency ?? "").uppercased()
            entry?.amountText = value
        case .entryDirection: entry?.direction = value
        case .entryReversal: entry?.isReversal = value.lowercased() == "true" || value == "1"
        case .entryStatus, .entryStatusCode: if !value.isEmpty { entry?.status = value }
        case .entryBookingDate: if entry != nil { entry!.bookingDate = try date(value, field: "BookgDt") }
        case .entryValueDate: if entry != nil { entry!.valueDate = try date(value, field: "ValDt") }
        case .entryBankReference: entry?.bankReference = value.nonPlaceholder
        case .entryInformation: entry?.additionalInformation = value.nonPlaceholder
        case .transactionAmount, .transactionAmountDetails:
            guard transaction != nil else { return }
            let currency = (amountCurrency ?? "").uppercased()
            guard let minorUnits = StatementAmount.minorUnits(value, separator: ".", currency: currency) else {
                throw PaymentsError(.malformed, "entry \(entry!.index + 1), transaction \(entry!.transactions.count + 1) has the amount '\(value.prefix(40))'")
            }
            // The plain `Amt` wins over `AmtDtls/TxAmt/Amt` when a file carries both.
            if field == .transactionAmount || transaction!.amount == nil { transaction!.amount = Money(minorUnits: minorUnits, currency: currency) }
        case .endToEndID: transaction?.endToEndID = value.nonPlaceholder
        case .transactionBankReference: transaction?.bankReference = value.nonPlaceholder
        case .debtorName: transaction?.debtor.name = value.nonPlaceholder
        case .debtorAccount: transaction?.debtor.account = value.nonPlaceholder
        case .ultimateDebtorName: transaction?.debtor.ultimateName = value.nonPlaceholder
        case .creditorName: transaction?.creditor.name = value.nonPlaceholder
        case .creditorAccount: transaction?.creditor.account = value.nonPlaceholder
        case .ultimateCreditorName: transaction?.creditor.ultimateName = value.nonPlaceholder
        case .unstructured:
            guard !value.isEmpty, transaction != nil else { return }
            // Together at most one field's worth: each `Ustrd` is bounded, their number is not.
            let total = transaction!.unstructuredBytes + (transaction!.unstructured.isEmpty ? 0 : 1) + value.utf8.count
            guard total <= options.fieldBytesMax else {
                throw PaymentsError(
                    .tooLarge, "statement \(statement.map { $0.index + 1 } ?? 1), entry \(entry.map { $0.index + 1 } ?? 1) has a transaction with more than \(options.fieldBytesMax) bytes of remittance text (Ustrd)"
                )
            }
            transaction!.unstructured.append(value)
            transaction!.unstructuredBytes = total
        case .structuredReference: if transaction?.structuredReference == nil { transaction?.structuredReference = value.nonPlaceholder }
        case .returnReason: transaction?.returnReason = value.nonPlaceholder
        case .transactionInformation: transaction?.additionalInformation = value.nonPlaceholder
        }
    }

    private func date(_ value: String, field: String) throws(PaymentsError) -> LocalDate {
        // `DtTm` carries the bank's local time and offset; its date part is the day the bank booked on.
        guard let date = Self.isoDate(value.utf8.prefix(10)) ?? LocalDate(iso: value.prefix(10)) else {
            throw PaymentsError(.malformed, "entry \(entry!.index + 1) has the \(field) '\(value.prefix(40))', which is not a date")
        }
        return date
    }

    /// `YYYY-MM-DD` read digit by digit, the shape nearly every date has; nil sends anything else to `LocalDate(iso:)`.
    private static func isoDate(_ bytes: Substring.UTF8View) -> LocalDate? {
        guard bytes.count == 10 else { return nil }
        var number = 0
        var numbers: [Int] = []
        numbers.reserveCapacity(3)
        for (offset, byte) in bytes.enumerated() {
            if offset == 4 || offset == 7 {
                guard byte == UInt8(ascii: "-") else { return nil }
                numbers.append(number)
                number = 0
            } else {
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                number = number * 10 + Int(byte - UInt8(ascii: "0"))
            }
        }
        numbers.append(number)
        return LocalDate(year: numbers[0], month: numbers[1], day: numbers[2])
    }

    // MARK: Closing sections

    private mutating func close(_ element: CamtElement) throws {
        switch element {
        case .transactionDetails where transaction != nil:
            entry!.transactions.append(transaction!)
            transaction = nil
        case .entry where entry != nil && transaction == nil:
            try emit(entry!)
            statement!.entryCount += 1
            entry = nil
        case .balance where balance != nil && entry == nil:
            statement!.record(balance!)
            balance = nil
        case .statement where statement != nil && path.count == 2:
            try finish(statement!)
            statement = nil
        default:
            break
        }
    }

    private mutating func emit(_ entry: EntryState) throws {
        let lines = try entry.lines(statementIndex: statement!.index)
        for line in lines {
            statement!.totals.add(line, statementCurrency: statement!.currency)
            statement!.overview.lineCount += 1
            do {
                try onLine(line)
            } catch {
                // The caller's own error stops the parse and surfaces unchanged.
                throw LineHandlerFailure(underlying: error)
            }
        }
        if let mismatch = entry.batchMismatch(lines) { statement!.totals.fail(mismatch) }
    }

    private mutating func finish(_ state: StatementState) throws(PaymentsError) {
        var overview = state.overview
        overview.currency = state.currency
        overview.openingBalance = state.opening
        overview.closingBalance = state.closing
        overview.closingBalanceIsIntermediate = state.closingIsInterim
        overview.integrity = state.totals.integrity(opening: state.opening, closing: state.closing)
        statements.append(try overview.enforcing(options.integrityPolicy))
    }
}
