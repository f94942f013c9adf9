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

    private var path: [String] = []
    /// The path as UTF-8, `Document/BkToCstmrStmt/Stmt/…`, and where each element's name ends in it, so a
    /// field's path below its section is one slice rather than a join.
    private var pathBytes: [UInt8] = []
    private var pathByteEnds: [Int] = []
    /// The raw text since the last tag, as UTF-8; the tokenizer has already checked it.
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
        let elementName = tag.localName
        if path.isEmpty {
            // Only the root's namespace matters: it names the message and its version.
            let namespaceURI = tag.attribute(tag.prefix.map { "xmlns:\($0)" } ?? "xmlns")
            guard elementName == "Document", let namespaceURI, namespaceURI.hasPrefix(CamtStatementParser.namespacePrefix),
                  let version = Int(namespaceURI.dropFirst(CamtStatementParser.namespacePrefix.count)), (2...8).contains(version) else {
                throw BankStatementError(
                    .unsupportedFormat,
                    "the root element is \(elementName) in namespace '\(namespaceURI ?? "")'; expected Document in camt.053.001.02 to .08"
                )
            }
        }
        path.append(elementName)
        if !pathBytes.isEmpty { pathBytes.append(UInt8(ascii: "/")) }
        pathBytes.append(contentsOf: elementName.utf8)
        pathByteEnds.append(pathBytes.count)
        if !text.isEmpty { text.removeAll(keepingCapacity: true) }
        textBytes = 0
        // Only names of three to six letters open a section or carry a currency; most elements stop here.
        guard (3...6).contains(elementName.utf8.count) else { return }
        switch elementName {
        case "Stmt" where path.count == 3:
            statement = StatementState(index: statements.count)
        case "Bal" where statement != nil && entry == nil:
            balance = BalanceState()
        case "Ntry" where statement != nil:
            entry = EntryState(index: statement!.entryCount, line: line)
        case "TxDtls" where entry != nil:
            guard entry!.transactions.count < options.transactionsPerEntryMax else {
                throw BankStatementError(
                    .tooLarge, "entry \(entry!.index + 1) near line \(line) has more than \(options.transactionsPerEntryMax) transactions"
                )
            }
            transaction = TransactionState()
        case "Amt":
            amountCurrency = tag.attribute("Ccy")
        default:
            break
        }
    }

    mutating func characters(_ bytes: UnsafeBufferPointer<UInt8>, line: Int) throws {
        textBytes += bytes.count
        guard textBytes <= options.fieldBytesMax else {
            throw BankStatementError(
                .tooLarge, "the text of \(path.last ?? "an element") near line \(line) is longer than \(options.fieldBytesMax) bytes"
            )
        }
        text.append(contentsOf: bytes)
    }

    mutating func endElement(line: Int) throws {
        let elementName = path.last!
        // Most elements carry nothing we read; skipping their text keeps large files fast.
        let isField = Self.isField(elementName)
        let value = isField ? String(decoding: text, as: UTF8.self).collapsingWhitespace : ""
        if !text.isEmpty { text.removeAll(keepingCapacity: true) }
        do {
            if !isField {
                // Only the section ends below matter.
            } else if transaction != nil {
                try readTransactionField(value)
            } else if entry != nil {
                try readEntryField(value)
            } else if balance != nil {
                try readBalanceField(value)
            } else if statement != nil {
                readStatementField(value)
            }
            try close(elementName)
        } catch let error as BankStatementError {
            throw BankStatementError(error.code, "\(error.message) (near line \(line))")
        }
        path.removeLast()
        pathByteEnds.removeLast()
        // One at a time: `removeLast(_:)` goes through the general range replacement, slow for a few bytes.
        while pathBytes.count > pathByteEnds.last ?? 0 { pathBytes.removeLast() }
        if path.isEmpty { sawDocumentEnd = true }
    }

    // MARK: Fields

    /// Whether some section reads the text of elements with this name. This runs for every element, so the
    /// length picks a handful of candidates before any string is compared.
    static func isField(_ name: String) -> Bool {
        switch name.utf8.count {
        case 2: name == "Id" || name == "Cd" || name == "Dt" || name == "Nm"
        case 3: name == "Amt" || name == "Ccy" || name == "Sts" || name == "Ref"
        case 4: name == "IBAN" || name == "DtTm"
        case 5: name == "Ustrd"
        case 7: name == "RvslInd"
        case 9: name == "CdtDbtInd"
        case 10: name == "EndToEndId" || name == "AddtlTxInf"
        case 11: name == "AcctSvcrRef"
        case 12: name == "ElctrncSeqNb" || name == "AddtlNtryInf"
        default: false
        }
    }

    /// The path below the innermost element named `ancestor`, e.g. `RltdPties/Dbtr/Nm` below `TxDtls`.
    private func relativePath(below ancestor: String) -> String {
        guard let index = path.lastIndex(of: ancestor), index + 1 < path.count else { return "" }
        // Past the ancestor's name and the slash after it.
        return String(decoding: pathBytes[(pathByteEnds[index] + 1)...], as: UTF8.self)
    }

    private mutating func readStatementField(_ value: String) {
        switch relativePath(below: "Stmt") {
        case "Id": statement!.overview.statementID = value
        case "ElctrncSeqNb": statement!.overview.sequenceNumber = value
        case "Acct/Id/IBAN", "Acct/Id/Othr/Id":
            statement!.overview.accountID = value
            statement!.overview.accountIBAN = IBAN(parsing: value)
        case "Acct/Ccy": statement!.overview.currency = value.uppercased()
        default: break
        }
    }

    private mutating func readBalanceField(_ value: String) throws(BankStatementError) {
        switch relativePath(below: "Bal") {
        case "Tp/CdOrPrtry/Cd": balance!.type = value
        case "CdtDbtInd": balance!.direction = value
        case "Amt":
            let currency = (amountCurrency ?? "").uppercased()
            guard let minorUnits = StatementAmount.minorUnits(value, separator: ".", currency: currency) else {
                throw BankStatementError(.malformed, "statement \(statement!.index + 1) has a balance amount '\(value.prefix(40))' that is not an exact amount")
            }
            balance!.amount = Money(minorUnits: minorUnits, currency: currency)
        default: break
        }
    }

    private mutating func readEntryField(_ value: String) throws(BankStatementError) {
        switch relativePath(below: "Ntry") {
        case "Amt":
            entry!.currency = (amountCurrency ?? "").uppercased()
            entry!.amountText = value
        case "CdtDbtInd": entry!.direction = value
        case "RvslInd": entry!.isReversal = value.lowercased() == "true" || value == "1"
        case "Sts", "Sts/Cd": if !value.isEmpty { entry!.status = value }
        case "BookgDt/Dt", "BookgDt/DtTm": entry!.bookingDate = try date(value, field: "BookgDt")
        case "ValDt/Dt", "ValDt/DtTm": entry!.valueDate = try date(value, field: "ValDt")
        case "AcctSvcrRef": entry!.bankReference = value.nonPlaceholder
        case "AddtlNtryInf": entry!.additionalInformation = value.nonPlaceholder
        default: break
        }
    }

    private mutating func readTransactionField(_ value: String) throws(BankStatementError) {
        let field = relativePath(below: "TxDtls")
        switch field {
        case "Amt", "AmtDtls/TxAmt/Amt":
            let currency = (amountCurrency ?? "").uppercased()
            guard let minorUnits = StatementAmount.minorUnits(value, separator: ".", currency: currency) else {
                throw BankStatementError(.malformed, "entry \(entry!.index + 1), transaction \(entry!.transactions.count + 1) has the amount '\(value.prefix(40))'")
            }
            // The plain `Amt` wins over `AmtDtls/TxAmt/Amt` when a file carries both.
            if field == "Amt" || transaction!.amount == nil { transaction!.amount = Money(minorUnits: minorUnits, currency: currency) }
        case "Refs/EndToEndId": transaction!.endToEndID = value.nonPlaceholder
        case "Refs/AcctSvcrRef": transaction!.bankReference = value.nonPlaceholder
        case "RltdPties/Dbtr/Nm", "RltdPties/Dbtr/Pty/Nm": transaction!.debtor.name = value.nonPlaceholder
        case "RltdPties/DbtrAcct/Id/IBAN", "RltdPties/DbtrAcct/Id/Othr/Id": transaction!.debtor.account = value.nonPlaceholder
        case "RltdPties/UltmtDbtr/Nm", "RltdPties/UltmtDbtr/Pty/Nm": transaction!.debtor.ultimateName = value.nonPlaceholder
        case "RltdPties/Cdtr/Nm", "RltdPties/Cdtr/Pty/Nm": transaction!.creditor.name = value.nonPlaceholder
        case "RltdPties/CdtrAcct/Id/IBAN", "RltdPties/CdtrAcct/Id/Othr/Id": transaction!.creditor.account = value.nonPlaceholder
        case "RltdPties/UltmtCdtr/Nm", "RltdPties/UltmtCdtr/Pty/Nm": transaction!.creditor.ultimateName = value.nonPlaceholder
        case "RmtInf/Ustrd": if !value.isEmpty { transaction!.unstructured.append(value) }
        case "RmtInf/Strd/CdtrRefInf/Ref": if transaction!.structuredReference == nil { transaction!.structuredReference = value.nonPlaceholder }
        case "RtrInf/Rsn/Cd": transaction!.returnReason = value.nonPlaceholder
        case "AddtlTxInf": transaction!.additionalInformation = value.nonPlaceholder
        default: break
        }
    }

    private func date(_ value: String, field: String) throws(BankStatementError) -> LocalDate {
        // `DtTm` carries the bank's local time and offset; its date part is the day the bank booked on.
        guard let date = Self.isoDate(value.utf8.prefix(10)) ?? LocalDate(iso: value.prefix(10)) else {
            throw BankStatementError(.malformed, "entry \(entry!.index + 1) has the \(field) '\(value.prefix(40))', which is not a date")
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

    private mutating func close(_ elementName: String) throws {
        // Sections are named with three to six letters; most elements stop here.
        guard (3...6).contains(elementName.utf8.count) else { return }
        switch elementName {
        case "TxDtls" where transaction != nil && path.last == "TxDtls":
            entry!.transactions.append(transaction!)
            transaction = nil
        case "Ntry" where entry != nil && transaction == nil:
            try emit(entry!)
            statement!.entryCount += 1
            entry = nil
        case "Bal" where balance != nil && entry == nil:
            statement!.record(balance!)
            balance = nil
        case "Stmt" where statement != nil && path.count == 3:
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

    private mutating func finish(_ state: StatementState) throws(BankStatementError) {
        var overview = state.overview
        overview.currency = state.currency
        overview.openingBalance = state.opening
        overview.closingBalance = state.closing
        overview.integrity = state.totals.integrity(opening: state.opening, closing: state.closing)
        statements.append(try overview.enforcing(options.integrityPolicy))
    }
}
