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
        let summary = switch try format ?? Self.detectFormat(fileURL: fileURL) {
        case .camt053: try CamtStatementParser(options: options).parse(fileURL: fileURL, onLine: bounded)
        case .mt940: try MT940StatementParser(options: options).parse(fileURL: fileURL, onLine: bounded)
        case .csv: try CSVStatementParser(options: options).parse(fileURL: fileURL, onLine: bounded)
        }
        for statement in summary.statements {
            for (name, balance) in [("opening", statement.openingBalance), ("closing", statement.closingBalance)] {
                guard let balance, !LedgerBounds.acceptsAmount(balance.minorUnits) else { continue }
                throw Self.amountTooLarge("statement \(statement.statementIndex + 1) has the \(name) balance \(balance)")
            }
        }
        return summary
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
