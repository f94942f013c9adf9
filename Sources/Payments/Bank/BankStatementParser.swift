public import Foundation
import LedgerCore

/// Reads a bank statement file in any supported format: detects the format, streams the lines, and checks
/// each statement's integrity.
///
/// Use ``parse(fileURL:format:onLine:)`` for imports (memory stays flat however large the file) and
/// ``statements(fileURL:format:)`` for small files and tests.
public struct BankStatementParser: Sendable {
    /// Limits and integrity policy, shared by every format.
    public var options: BankStatementParseOptions

    /// Creates a parser with the given limits.
    public init(options: BankStatementParseOptions = BankStatementParseOptions()) {
        self.options = options
    }

    /// The file's format, judged from its first bytes: XML is camt.053, SWIFT fields are MT940, and a header row
    /// with `date` and `amount` columns is CSV.
    public static func detectFormat(fileURL: URL) throws(PaymentsError) -> BankStatementFormat {
        let bytes = try StatementFile.prefix(of: fileURL)
        var text = String(decoding: bytes, as: UTF8.self)
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        let start = text.drop { $0.isWhitespace }
        if start.hasPrefix("<") { return .camt053 }
        // The CSV header first: a CSV line's text may hold `:20:` (a time, 14:20:41), while an MT940 file's first
        // line is a field or a SWIFT block, never a header naming `date` and `amount`.
        let firstLine = start.prefix { $0 != "\n" && $0 != "\r" }.lowercased()
        if firstLine.contains("date"), firstLine.contains("amount") { return .csv }
        // MT940 fields begin their lines.
        let fieldStarts = start.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).contains { line in
            let line = line.drop { $0 == " " || $0 == "\t" }
            return line.hasPrefix(":20:") || line.hasPrefix(":25:") || line.hasPrefix(":60F:")
        }
        if fieldStarts || start.hasPrefix("{1:") { return .mt940 }
        throw PaymentsError(.unsupportedFormat, "\(fileURL.lastPathComponent) is neither camt.053 XML, MT940, nor CSV with the documented header")
    }

    /// Streams the file's lines to `onLine` and returns every statement's overview once all have been checked.
    ///
    /// Lines arrive before their statement's balances have been checked: book nothing until this returns.
    /// Throws ``PaymentsError``, or whatever `onLine` throws.
    ///
    /// Every line's amount and every balance must lie within ``LedgerBounds/amountMinorUnitsMax``: a file with
    /// more is refused whole (``PaymentsError/Code/tooLarge``). Every line's booking and value date must lie
    /// within ``LedgerBounds/contains(_:)``: a file with a date outside is refused whole
    /// (``PaymentsError/Code/malformed``).
    public func parse(fileURL: URL, format: BankStatementFormat? = nil, onLine: (BankStatementLine) throws -> Void) throws -> BankStatementSummary {
        var (lines, textBytes) = (0, 0)
        let options = self.options
        let bounded: (BankStatementLine) throws -> Void = { line in
            guard LedgerBounds.acceptsAmount(line.amount.minorUnits) else {
                throw Self.amountTooLarge("statement \(line.statementIndex + 1), entry \(line.entryIndex + 1) carries \(line.amount)")
            }
            for (name, date) in [("booked", line.bookingDate), ("valued", line.valueDate)] {
                guard let date, !LedgerBounds.contains(date) else { continue }
                throw PaymentsError(
                    .malformed,
                    "statement \(line.statementIndex + 1), entry \(line.entryIndex + 1) is \(name) on \(date); a statement's dates must lie \(LedgerBounds.dateRangeDescription)"
                )
            }
            try Self.checkFieldLengths(line, textMax: options.fieldBytesMax)
            lines += 1
            guard lines <= options.linesPerFileMax else {
                throw PaymentsError(.tooLarge, "the file holds more than \(options.linesPerFileMax) lines (transactions); split it into smaller files")
            }
            textBytes += line.freeText.utf8.count
            guard textBytes <= options.lineTextBytesMax else {
                throw PaymentsError(
                    .tooLarge, "the file's lines carry more than \(options.lineTextBytesMax) bytes of text in all (an entry's text counts for each of its transactions)"
                )
            }
            try onLine(line)
        }
        var summary = switch try format ?? Self.detectFormat(fileURL: fileURL) {
        case .camt053: try CamtStatementParser(options: options).parse(fileURL: fileURL, onLine: bounded)
        case .mt940: try MT940StatementParser(options: options).parse(fileURL: fileURL, onLine: bounded)
        case .csv: try CSVStatementParser(options: options).parse(fileURL: fileURL, onLine: bounded)
        }
        for (index, statement) in summary.statements.enumerated() {
            for (name, balance) in [("opening", statement.openingBalance), ("closing", statement.closingBalance)] {
                guard let balance, !LedgerBounds.acceptsAmount(balance.minorUnits) else { continue }
                throw Self.amountTooLarge("statement \(statement.statementIndex + 1) has the \(name) balance \(balance)")
            }
            if let problem = Self.balanceCurrencyProblem(statement) {
                // The first reason a statement does not add up is the one it keeps.
                if case .mismatch = statement.integrity {} else { summary.statements[index].integrity = .mismatch(problem) }
                _ = try summary.statements[index].enforcing(options.integrityPolicy)
            }
            for (name, value) in [("an id", statement.statementID), ("a sequence number", statement.sequenceNumber), ("an account", statement.accountID)] {
                guard let value, value.utf8.count > Self.referenceBytesMax else { continue }
                throw Self.fieldTooLong("statement \(statement.statementIndex + 1) has \(name)", value, max: Self.referenceBytesMax)
            }
        }
        return summary
    }

    /// The most bytes a reference or account of a line or statement may have. ISO 20022 allows 35 characters
    /// for an end-to-end id, a bank's reference or a statement's id and 34 for an account; what a line carries
    /// is kept in its payment's events, so a longer one is refused with the file rather than fail its booking
    /// halfway.
    public static let referenceBytesMax = 140
    /// The most bytes a name on a line may have: 140 characters (ISO 20022's longest name) of up to four bytes.
    public static let nameBytesMax = 560

    /// Refuses a line whose references, names or text are longer than any bank writes them.
    private static func checkFieldLengths(_ line: BankStatementLine, textMax: Int) throws(PaymentsError) {
        let place = "statement \(line.statementIndex + 1), entry \(line.entryIndex + 1)"
        let references = [
            ("a bank reference", line.bankReference), ("an end-to-end id", line.endToEndID), ("an account", line.payerAccount),
            ("a creditor reference", line.structuredReference), ("a return reason", line.returnReason),
        ]
        for (name, value) in references {
            guard let value, value.utf8.count > referenceBytesMax else { continue }
            throw fieldTooLong("\(place) has \(name)", value, max: referenceBytesMax)
        }
        for (name, value) in [("a name", line.payerName), ("an ultimate party's name", line.ultimatePayerName)] {
            guard let value, value.utf8.count > nameBytesMax else { continue }
            throw fieldTooLong("\(place) has \(name)", value, max: nameBytesMax)
        }
        // One field's worth: a line's texts (remittance and additional information) are kept in its inbox record.
        guard line.freeText.utf8.count <= textMax else {
            throw fieldTooLong("\(place) has remittance text", line.freeText, max: textMax)
        }
    }

    private static func fieldTooLong(_ what: String, _ value: String, max: Int) -> PaymentsError {
        PaymentsError(.tooLarge, "\(what) of \(value.utf8.count) bytes ('\(value.prefix(20))…'); at most \(max) are accepted")
    }

    /// Why a statement's balances cannot be booked: one without a currency, or in another currency than the
    /// statement's or each other's, would put the bank account's balance into the books in no currency (a
    /// journal `bean-check` refuses) or in the wrong one. Nil when they can.
    private static func balanceCurrencyProblem(_ statement: BankStatementOverview) -> String? {
        // Written out per balance: a loop over (name, optional balance) pairs made the optimizing compiler crash.
        let opening = statement.openingBalance.map(\.currency)
        let closing = statement.closingBalance.map(\.currency)
        if let problem = currencyProblem(opening, named: "opening balance", statementCurrency: statement.currency) { return problem }
        return currencyProblem(closing, named: "closing balance", statementCurrency: statement.currency ?? opening)
    }

    /// Why a balance's currency does not fit the statement's, if it does not.
    private static func currencyProblem(_ balanceCurrency: String?, named name: String, statementCurrency: String?) -> String? {
        guard let balanceCurrency else { return nil }
        guard Money.isCurrencyCode(balanceCurrency) else { return "it gives its \(name) without a currency (Ccy)" }
        guard let statementCurrency, balanceCurrency != statementCurrency else { return nil }
        return "it is in \(statementCurrency) but gives its \(name) in \(balanceCurrency)"
    }

    private static func amountTooLarge(_ what: String) -> PaymentsError {
        PaymentsError(.tooLarge, "\(what), more than the \(LedgerBounds.amountLimitDescription) a statement's amounts may reach")
    }

    /// Every statement with its lines, for files small enough to hold in memory.
    public func statements(fileURL: URL, format: BankStatementFormat? = nil) throws(PaymentsError) -> [BankStatement] {
        var lines: [BankStatementLine] = []
        let summary: BankStatementSummary
        do {
            summary = try parse(fileURL: fileURL, format: format) { lines.append($0) }
        } catch let error as PaymentsError {
            throw error
        } catch {
            // The collecting closure never throws, so only the parser's own errors can arrive here.
            preconditionFailure("unexpected error from a statement parser: \(error)")
        }
        var byStatement = Dictionary(grouping: lines, by: \.statementIndex)
        return summary.statements.map { overview in
            BankStatement(overview: overview, lines: byStatement.removeValue(forKey: overview.statementIndex) ?? [])
        }
    }
}
