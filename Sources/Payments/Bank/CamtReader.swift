import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import LedgerCore

/// The SAX delegate behind ``CamtStatementParser``: keeps the element path, the statement being read and the
/// entry being read, and hands each entry's lines out when `</Ntry>` arrives.
///
/// The parser calls back synchronously on the thread that called `parse()`, and the reader lives only for that
/// call, so it needs no locking.
final class CamtReader: NSObject, XMLParserDelegate {
    private let options: BankStatementParseOptions
    private let onLine: (BankStatementLine) throws -> Void

    /// The first error: ours, or one thrown by `onLine`. Set once, then the parse is aborted.
    private(set) var failure: (any Error)?
    private(set) var statements: [BankStatementOverview] = []
    private(set) var sawDocumentEnd = false

    private var path: [String] = []
    private var text = ""
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

    func parser(
        _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String] = [:]
    ) {
        guard failure == nil else { return }
        if path.isEmpty {
            guard elementName == "Document", let namespaceURI, namespaceURI.hasPrefix(CamtStatementParser.namespacePrefix),
                  let version = Int(namespaceURI.dropFirst(CamtStatementParser.namespacePrefix.count)), (2...8).contains(version) else {
                return fail(parser, BankStatementError(
                    .unsupportedFormat,
                    "the root element is \(elementName) in namespace '\(namespaceURI ?? "")'; expected Document in camt.053.001.02 to .08"
                ))
            }
        }
        path.append(elementName)
        text = ""
        textBytes = 0
        switch elementName {
        case "Stmt" where path.count == 3:
            statement = StatementState(index: statements.count)
        case "Bal" where statement != nil && entry == nil:
            balance = BalanceState()
        case "Ntry" where statement != nil:
            entry = EntryState(index: statement!.entryCount, line: parser.lineNumber)
        case "TxDtls" where entry != nil:
            guard entry!.transactions.count < options.transactionsPerEntryMax else {
                return fail(parser, BankStatementError(
                    .tooLarge, "entry \(entry!.index + 1) near line \(parser.lineNumber) has more than \(options.transactionsPerEntryMax) transactions"
                ))
            }
            transaction = TransactionState()
        case "Amt":
            amountCurrency = attributes["Ccy"]
        default:
            break
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        guard failure == nil else { return }
        textBytes += string.utf8.count
        guard textBytes <= options.fieldBytesMax else {
            return fail(parser, BankStatementError(
                .tooLarge, "the text of \(path.last ?? "an element") near line \(parser.lineNumber) is longer than \(options.fieldBytesMax) bytes"
            ))
        }
        text += string
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?) {
        guard failure == nil else { return }
        // Most elements carry nothing we read; skipping their text and path keeps large files fast.
        let isField = Self.fieldNames.contains(elementName)
        let value = isField ? text.collapsingWhitespace : ""
        text = ""
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
        } catch {
            let located = BankStatementError(error.code, "\(error.message) (near line \(parser.lineNumber))")
            return fail(parser, located)
        }
        // `onLine` may have thrown while the entry was handed out.
        if let failure { return fail(parser, failure) }
        path.removeLast()
        if path.isEmpty { sawDocumentEnd = true }
    }

    // MARK: Refusing anything entity-shaped, in case a declaration slipped past the byte scan

    func parser(_ parser: XMLParser, foundInternalEntityDeclarationWithName name: String, value: String?) {
        fail(parser, BankStatementError(.unsafeDocument, "the document declares the entity '\(name)'"))
    }

    func parser(_ parser: XMLParser, foundExternalEntityDeclarationWithName name: String, publicID: String?, systemID: String?) {
        fail(parser, BankStatementError(.unsafeDocument, "the document declares the external entity '\(name)'"))
    }

    func parser(_ parser: XMLParser, resolveExternalEntityName name: String, systemID: String?) -> Data? {
        fail(parser, BankStatementError(.unsafeDocument, "the document refers to the external entity '\(name)'"))
        return nil
    }

    private func fail(_ parser: XMLParser, _ error: any Error) {
        if failure == nil { failure = error }
        parser.abortParsing()
    }

    // MARK: Fields

    /// The names of every element whose text some section reads.
    static let fieldNames: Set<String> = [
        "Id", "ElctrncSeqNb", "IBAN", "Ccy", "Cd", "CdtDbtInd", "Amt", "RvslInd", "Sts", "Dt", "DtTm", "AcctSvcrRef",
        "AddtlNtryInf", "EndToEndId", "Nm", "Ustrd", "Ref", "AddtlTxInf",
    ]

    /// The path below the innermost element named `ancestor`, e.g. `RltdPties/Dbtr/Nm` below `TxDtls`.
    private func relativePath(below ancestor: String) -> String {
        guard let index = path.lastIndex(of: ancestor) else { return "" }
        return path[(index + 1)...].joined(separator: "/")
    }

    private func readStatementField(_ value: String) {
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

    private func readBalanceField(_ value: String) throws(BankStatementError) {
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

    private func readEntryField(_ value: String) throws(BankStatementError) {
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

    private func readTransactionField(_ value: String) throws(BankStatementError) {
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
        guard let date = LocalDate(iso: value.prefix(10)) else {
            throw BankStatementError(.malformed, "entry \(entry!.index + 1) has the \(field) '\(value.prefix(40))', which is not a date")
        }
        return date
    }

    // MARK: Closing sections

    private func close(_ elementName: String) throws(BankStatementError) {
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

    private func emit(_ entry: EntryState) throws(BankStatementError) {
        let lines = try entry.lines(statementIndex: statement!.index)
        for line in lines {
            statement!.totals.add(line, statementCurrency: statement!.currency)
            statement!.overview.lineCount += 1
            do {
                try onLine(line)
            } catch {
                // The caller's own error stops the parse and surfaces unchanged.
                failure = failure ?? error
                return
            }
        }
        if let mismatch = entry.batchMismatch(lines) { statement!.totals.fail(mismatch) }
    }

    private func finish(_ state: StatementState) throws(BankStatementError) {
        var overview = state.overview
        overview.currency = state.currency
        overview.openingBalance = state.opening
        overview.closingBalance = state.closing
        overview.integrity = state.totals.integrity(opening: state.opening, closing: state.closing)
        statements.append(try overview.enforcing(options.integrityPolicy))
    }
}
