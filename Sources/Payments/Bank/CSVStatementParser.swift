public import Foundation
import LedgerCore

/// Reads the body's own CSV statement layout, record by record.
///
/// Layout (one header row, then one row per transaction):
///
/// ```
/// date,amount,currency,payer_name,payer_iban,reference,bank_reference
/// 2026-01-15,125.00,EUR,Ada Mediator,NL91ABNA0417164300,RF18 5390 0754 7034,BANK-0001
/// 2026-01-16,-12.50,EUR,Bank,,Account fee,BANK-0002
/// ```
///
/// - `date`: `YYYY-MM-DD`, the booking date. `amount`: signed, a leading `-` is money out; no thousands
///   separators. `currency`: ISO 4217. These three columns are required; the others may be left out or empty.
/// - `payer_name`, `payer_iban`: the other party. `reference`: the remittance text (if it is exactly a valid RF
///   reference it is also the structured reference). `bank_reference`: the bank's id for the line.
/// - Column names are matched without regard to case or order; an unknown column refuses the file, so a
///   different layout is never misread.
/// - The delimiter is `,` or `;` and the decimal separator `.` or `,`: detected from the header and the first
///   amount that has a separator, or given explicitly. Fields may be quoted with `"`, and a quoted field may
///   hold delimiters, doubled quotes and line breaks.
/// - There are no balances, so the integrity check does not apply.
public struct CSVStatementParser: Sendable {
    /// The columns of the layout, in their documented order.
    public static let columns = ["date", "amount", "currency", "payer_name", "payer_iban", "reference", "bank_reference"]

    /// The field delimiter.
    public enum Delimiter: Sendable, Hashable {
        /// `;` if the header contains one, else `,`.
        case automatic
        /// `,`.
        case comma
        /// `;`.
        case semicolon
    }

    /// The decimal separator in amounts.
    public enum DecimalSeparator: Sendable, Hashable {
        /// Whichever the first amount with a separator uses; every later amount must use the same.
        case automatic
        /// `.`.
        case point
        /// `,`.
        case comma
    }

    /// Limits; the integrity policy has nothing to check here.
    public var options: BankStatementParseOptions
    /// The field delimiter.
    public var delimiter: Delimiter
    /// The decimal separator.
    public var decimalSeparator: DecimalSeparator

    /// Creates a parser; by default both separators are detected.
    public init(options: BankStatementParseOptions = BankStatementParseOptions(), delimiter: Delimiter = .automatic, decimalSeparator: DecimalSeparator = .automatic) {
        self.options = options
        self.delimiter = delimiter
        self.decimalSeparator = decimalSeparator
    }

    /// Streams the file's lines to `onLine`, then returns the single statement's overview.
    ///
    /// Throws ``PaymentsError``, or whatever `onLine` throws.
    public func parse(fileURL: URL, onLine: (BankStatementLine) throws -> Void) throws -> BankStatementSummary {
        try StatementFile.checkSize(of: fileURL, bytesMax: options.fileBytesMax)
        var records = CSVRecordReader(reader: try LineReader(fileURL: fileURL, lineBytesMax: options.fieldBytesMax), recordBytesMax: options.fieldBytesMax)
        defer { records.close() }
        guard let (headerText, _) = try records.nextRaw() else {
            throw PaymentsError(.unsupportedFormat, "\(fileURL.lastPathComponent) is empty; a CSV statement starts with the header \(Self.columns.joined(separator: ","))")
        }
        let separator: Character = switch delimiter {
        case .comma: ","
        case .semicolon: ";"
        case .automatic: headerText.contains(";") ? ";" : ","
        }
        let header = try CSVRecordReader.split(headerText, separator: separator, line: 1)
        let columns = try Self.columnIndexes(header)
        var decimal: Character? = switch decimalSeparator {
        case .automatic: nil
        case .point: "."
        case .comma: ","
        }
        var overview = BankStatementOverview(format: .csv, statementIndex: 0, integrity: .notApplicable("CSV statements carry no balances"))
        var currencies: Set<String> = []
        while let (recordText, lineNumber) = try records.nextRaw() {
            let fields = try CSVRecordReader.split(recordText, separator: separator, line: lineNumber)
            if fields.allSatisfy({ $0.trimmingSpaces().isEmpty }) { continue }
            let line = try Self.line(fields, columns: columns, decimal: &decimal, entryIndex: overview.lineCount, lineNumber: lineNumber)
            currencies.insert(line.amount.currency)
            overview.lineCount += 1
            try onLine(line)
        }
        overview.currency = currencies.count == 1 ? currencies.first : nil
        return BankStatementSummary(format: .csv, statements: [overview])
    }

    private static func columnIndexes(_ header: [String]) throws(PaymentsError) -> [String: Int] {
        var indexes: [String: Int] = [:]
        for (index, name) in header.enumerated() {
            let key = name.trimmingSpaces().lowercased()
            if key.isEmpty {
                let place = index == header.count - 1 ? "the header ends with a separator" : "the header has two separators in a row"
                throw PaymentsError(.unsupportedFormat, "the CSV header's column \(index + 1) is empty: \(place); remove it (the layout is \(columns.joined(separator: ",")))")
            }
            guard columns.contains(key) else {
                throw PaymentsError(.unsupportedFormat, "the CSV header has the column '\(key.prefix(40))'; the layout is \(columns.joined(separator: ","))")
            }
            guard indexes[key] == nil else { throw PaymentsError(.unsupportedFormat, "the CSV header names '\(key)' twice") }
            indexes[key] = index
        }
        for required in ["date", "amount", "currency"] where indexes[required] == nil {
            throw PaymentsError(.unsupportedFormat, "the CSV header lacks the required column '\(required)'")
        }
        return indexes
    }

    private static func line(
        _ fields: [String], columns: [String: Int], decimal: inout Character?, entryIndex: Int, lineNumber: Int
    ) throws(PaymentsError) -> BankStatementLine {
        func field(_ name: String) -> String {
            guard let index = columns[name], index < fields.count else { return "" }
            return fields[index].trimmingSpaces()
        }
        func malformed(_ problem: String) -> PaymentsError {
            PaymentsError(.malformed, "CSV line \(lineNumber): \(problem)")
        }
        // A field more than the header names is a separator inside a field that was not quoted: every field after
        // it would be read as the next column's, so the row is refused rather than misread.
        guard fields.count <= columns.count else {
            // Empty fields past the header's count are a separator at the end of the line, or a separator inside
            // a field that was not quoted with the last columns empty: both are named, since removing a separator
            // at the end of the second would have the row misread.
            if fields[columns.count...].allSatisfy({ $0.trimmingSpaces().isEmpty }) {
                throw malformed(
                    "it has \(fields.count) fields where the header names \(columns.count), the extra ones empty: remove a separator at the end of the line the header does not have, and put a field holding the separator (a comma in a name, say) in double quotes"
                )
            }
            throw malformed(
                "it has \(fields.count) fields where the header names \(columns.count); a field holding the separator (a comma in a name, say) must be in double quotes"
            )
        }
        guard let date = LocalDate(iso: field("date")) else { throw malformed("the date '\(field("date").prefix(20))' is not YYYY-MM-DD") }
        let currency = field("currency").uppercased()
        guard Money.isCurrencyCode(currency) else {
            throw malformed("the currency '\(currency.prefix(10))' is not an ISO 4217 code")
        }
        var amountText = Substring(field("amount"))
        var direction = BankStatementDirection.credit
        if amountText.hasPrefix("-") {
            direction = .debit
            amountText = amountText.dropFirst()
        } else if amountText.hasPrefix("+") {
            amountText = amountText.dropFirst()
        }
        let used = amountText.first { $0 == "." || $0 == "," }
        // A CSV file has no balances to catch a misreading, so an amount has at most its currency's decimals:
        // `1.000` or `"1,250"` is a thousands separator (or a typo), not 1.00 or 1.25.
        if let used, let separator = amountText.lastIndex(of: used), amountText[amountText.index(after: separator)...].count > Money.decimals(of: currency) {
            throw malformed(
                "the amount '\(field("amount").prefix(30))' has more decimals than \(currency) has (\(Money.decimals(of: currency))); write amounts without thousands separators"
            )
        }
        if decimal == nil { decimal = used }
        guard used == nil || used == decimal,
              let minorUnits = StatementAmount.minorUnits(amountText, separator: decimal ?? ".", currency: currency) else {
            throw malformed("the amount '\(field("amount").prefix(30))' is not an amount with '\(decimal ?? ".")' as decimal separator")
        }
        // A line of 0.00 (a notice of the bank's) is read like any other, as in camt.053 and MT940: the import
        // keeps it as read and counts it, and it moves no money.
        let account = BankAccountText(field("payer_iban"))
        let reference = field("reference")
        return BankStatementLine(
            statementIndex: 0, entryIndex: entryIndex, transactionIndex: 0, direction: direction,
            amount: Money(minorUnits: minorUnits, currency: currency), bookingDate: date, booked: true,
            bankReference: field("bank_reference").nonPlaceholder, payerName: field("payer_name").nonPlaceholder,
            payerIBAN: account.iban, payerAccount: account.other,
            structuredReference: CreditorReference(parsing: reference)?.electronic, freeText: reference.collapsingWhitespace
        )
    }
}

/// Joins physical lines into CSV records (a quoted field may span lines) and splits records into fields.
struct CSVRecordReader {
    private var reader: LineReader
    private let recordBytesMax: Int

    init(reader: LineReader, recordBytesMax: Int) {
        self.reader = reader
        self.recordBytesMax = recordBytesMax
    }

    func close() { reader.close() }

    /// The next record's text and the line it starts on.
    mutating func nextRaw() throws(PaymentsError) -> (String, Int)? {
        guard var record = try reader.next() else { return nil }
        let start = reader.lineNumber
        // An odd number of quotes so far means a quoted field is still open: the line break belongs to it.
        // Each line's quotes are counted once, as it is added (not the whole record again for every line).
        var quotes = Self.quotes(in: record)
        while quotes % 2 == 1 {
            guard let more = try reader.next() else {
                throw PaymentsError(.malformed, "CSV line \(start): a quoted field is never closed")
            }
            quotes += Self.quotes(in: more)
            record += "\n" + more
            guard record.utf8.count <= recordBytesMax else {
                throw PaymentsError(.tooLarge, "the CSV record starting on line \(start) is longer than \(recordBytesMax) bytes")
            }
        }
        return (record, start)
    }

    static func quotes(in text: String) -> Int {
        text.utf8.reduce(0) { $0 + ($1 == UInt8(ascii: "\"") ? 1 : 0) }
    }

    /// Splits one record; `""` inside quotes is a quote.
    static func split(_ record: String, separator: Character, line: Int) throws(PaymentsError) -> [String] {
        var fields: [String] = []
        var field = ""
        var quoted = false
        var iterator = Array(record).makeIterator()
        var pending = iterator.next()
        while let character = pending {
            pending = iterator.next()
            if quoted {
                if character == "\"" {
                    if pending == "\"" {
                        field.append("\"")
                        pending = iterator.next()
                    } else {
                        quoted = false
                    }
                } else {
                    field.append(character)
                }
            } else if character == "\"" {
                guard field.trimmingSpaces().isEmpty else {
                    throw PaymentsError(.malformed, "CSV line \(line): a quote in the middle of the unquoted field '\(field.prefix(30))'")
                }
                field = ""
                quoted = true
            } else if character == separator {
                fields.append(field)
                field = ""
            } else {
                field.append(character)
            }
        }
        fields.append(field)
        return fields
    }
}
