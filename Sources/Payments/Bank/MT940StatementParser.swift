public import Foundation
import LedgerCore

/// Reads SWIFT MT940 customer statements line by line, several statements per file.
///
/// Fields: `:20:` statement reference, `:25:` account, `:28C:` (or `:28:`) statement number, `:60F:`/`:60M:`
/// opening balance, `:61:` one line per transaction, `:86:` its details (see ``MT940Details``), `:62F:`/`:62M:`
/// closing balance. A `:86:` that follows no `:61:` describes the statement and is skipped. Every line is
/// booked; the statement's currency is the opening balance's.
///
/// Where the details name no account or name, two bank habits are used: ASN Bank writes the other party's IBAN
/// as the `:61:` customer reference, and the `:61:` supplementary line holds the other party's account
/// (Rabobank) or name (ASN Bank).
public struct MT940StatementParser: Sendable {
    /// Limits and integrity policy.
    public var options: BankStatementParseOptions

    /// Creates a parser with the given limits.
    public init(options: BankStatementParseOptions = BankStatementParseOptions()) {
        self.options = options
    }

    /// Streams the file's lines to `onLine`, then returns every statement's overview.
    ///
    /// Lines arrive before their statement's closing balance has been checked: book nothing until this returns.
    /// Throws ``PaymentsError``, or whatever `onLine` throws.
    public func parse(fileURL: URL, onLine: (BankStatementLine) throws -> Void) throws -> BankStatementSummary {
        try StatementFile.checkSize(of: fileURL, bytesMax: options.fileBytesMax)
        var fields = MT940FieldReader(
            reader: try LineReader(fileURL: fileURL, lineBytesMax: options.fieldBytesMax), fieldBytesMax: options.fieldBytesMax
        )
        defer { fields.close() }
        var builder = MT940StatementBuilder(options: options)
        while let field = try fields.next() {
            try builder.read(field, onLine: onLine)
        }
        try builder.finishStatement(onLine: onLine)
        guard !builder.statements.isEmpty else {
            throw PaymentsError(.malformed, "\(fileURL.lastPathComponent) holds no MT940 statement: no :20: field was found")
        }
        return BankStatementSummary(format: .mt940, statements: builder.statements)
    }
}

/// Turns fields into statements and lines, handing each line out once its `:86:` (if any) has been read.
struct MT940StatementBuilder {
    private let options: BankStatementParseOptions
    private(set) var statements: [BankStatementOverview] = []
    private var overview: BankStatementOverview?
    private var totals = StatementTotals()
    private var pending: (line: MT940Line, fieldLine: Int, details: [String]?)?
    private var entryCount = 0

    init(options: BankStatementParseOptions) {
        self.options = options
    }

    mutating func read(_ field: MT940Field, onLine: (BankStatementLine) throws -> Void) throws {
        switch field.tag {
        case "20":
            try finishStatement(onLine: onLine)
            guard statements.count < options.statementsPerFileMax else {
                throw PaymentsError(.tooLarge, "the file holds more than \(options.statementsPerFileMax) statements (a new one starts on line \(field.lineNumber))")
            }
            overview = BankStatementOverview(format: .mt940, statementIndex: statements.count, statementID: field.text.nonPlaceholder)
            totals = StatementTotals()
            entryCount = 0
        case "25":
            let account = try requireStatement(field).nonPlaceholder
            overview!.accountID = account
            overview!.accountIBAN = account.flatMap { IBAN(parsingAccount: $0) }
        case "28", "28C":
            let number = try requireStatement(field).nonPlaceholder
            overview!.sequenceNumber = number
        case "60F", "60M":
            try requireStatement(field)
            guard let balance = MT940Balance(field.text) else { throw malformed(field, "is not a balance like C070903EUR1234,56") }
            if overview!.openingBalance == nil {
                overview!.openingBalance = balance.amount
                overview!.currency = balance.amount.currency
            }
        case "61":
            try requireStatement(field)
            try flushPending(onLine: onLine)
            guard let line = MT940Line(field.lines) else {
                throw malformed(field, "is not a statement line like 0709040904CR300,NTRFNONREF//0724710345313905")
            }
            pending = (line, field.lineNumber, nil)
        case "86":
            if pending != nil, pending!.details == nil { pending!.details = field.lines }
        case "62F", "62M":
            try requireStatement(field)
            try flushPending(onLine: onLine)
            guard let balance = MT940Balance(field.text) else { throw malformed(field, "is not a balance like C070904EUR1234,56") }
            overview!.closingBalance = balance.amount
            overview!.closingBalanceIsIntermediate = field.tag == "62M"
        case "64", "65":
            try flushPending(onLine: onLine)
        default:
            break
        }
    }

    /// Hands out the last line and checks the statement's balances.
    mutating func finishStatement(onLine: (BankStatementLine) throws -> Void) throws {
        try flushPending(onLine: onLine)
        guard var finished = overview else { return }
        finished.integrity = totals.integrity(opening: finished.openingBalance, closing: finished.closingBalance)
        // Every MT940 statement ends with its closing balance: one without it was cut short (a download that
        // stopped), and its last line may be cut too. Booked, the whole file imported later would book that
        // line again under another key.
        if finished.closingBalance == nil {
            finished.integrity = .mismatch("it has no closing balance (:62F: or :62M:), so the file may have been cut short")
        }
        statements.append(try finished.enforcing(options.integrityPolicy))
        overview = nil
    }

    private mutating func flushPending(onLine: (BankStatementLine) throws -> Void) throws {
        guard let (parsed, fieldLine, detailLines) = pending else { return }
        pending = nil
        guard let currency = overview?.currency else {
            throw PaymentsError(.malformed, "the :61: on line \(fieldLine) comes before any :60F: opening balance, so its currency is unknown")
        }
        guard let minorUnits = StatementAmount.minorUnits(parsed.amountText, separator: ",", currency: currency) else {
            throw PaymentsError(.malformed, "the :61: on line \(fieldLine) has the amount '\(parsed.amountText.prefix(40))'")
        }
        let details = detailLines.map { MT940Details(lines: $0, direction: parsed.direction) } ?? MT940Details()
        var accountText = details.account
        var name = details.name
        if accountText == nil, let reference = parsed.customerReference, IBAN.looksLikeIBAN(reference) { accountText = reference }
        if let supplementary = parsed.supplementaryDetails {
            if Self.looksLikeAccount(supplementary) {
                if accountText == nil { accountText = supplementary }
            } else if name == nil {
                name = supplementary
            }
        }
        let account = BankAccountText(accountText)
        let line = BankStatementLine(
            statementIndex: overview!.statementIndex, entryIndex: entryCount, transactionIndex: 0, direction: parsed.direction,
            amount: Money(minorUnits: minorUnits, currency: currency), bookingDate: parsed.entryDate ?? parsed.valueDate,
            valueDate: parsed.valueDate, booked: true, bankReference: parsed.bankReference, endToEndID: details.endToEndID,
            payerName: name?.collapsingWhitespace, payerIBAN: account.iban, payerAccount: account.other,
            ultimatePayerName: details.ultimateName, structuredReference: details.structuredReference, freeText: details.freeText,
            isReversal: parsed.isReversal, returnReason: details.returnReason
        )
        entryCount += 1
        overview!.lineCount += 1
        totals.add(line, statementCurrency: currency)
        try onLine(line)
    }

    /// An IBAN, or a single word carrying at least six digits (a domestic account such as `P001234567`).
    static func looksLikeAccount(_ text: String) -> Bool {
        IBAN.looksLikeIBAN(text) || (!text.contains(" ") && text.filter(\.isASCIIDigitCharacter).count >= 6)
    }

    @discardableResult
    private func requireStatement(_ field: MT940Field) throws(PaymentsError) -> String {
        guard overview != nil else {
            throw PaymentsError(.malformed, "the :\(field.tag): on line \(field.lineNumber) comes before any :20: statement reference")
        }
        return field.text
    }

    private func malformed(_ field: MT940Field, _ problem: String) -> PaymentsError {
        PaymentsError(.malformed, "the :\(field.tag): on line \(field.lineNumber) '\(field.text.prefix(60))' \(problem)")
    }
}

extension MT940Field {
    /// The field's first line, trimmed: the whole value of every single-line field.
    var text: String { (lines.first ?? "").trimmingSpaces() }
}
