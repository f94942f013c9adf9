import Foundation
import LedgerCore

/// One MT940 field (`:61:…` and its continuation lines) and where it started.
struct MT940Field {
    let tag: String
    var lines: [String]
    let lineNumber: Int
}

/// Groups a file's lines into fields, skipping the SWIFT envelope (`{1:…}{2:…}{4:`), message ends (`-`, `-}`,
/// `-XXX`) and the bank header lines some exports put before `:20:` (`ABNANL2A`, `940`, `:940:`).
struct MT940FieldReader {
    private var reader: LineReader
    private let fieldBytesMax: Int
    private var current: MT940Field?
    private var currentBytes = 0
    private var messageEnded = true

    init(reader: LineReader, fieldBytesMax: Int) {
        self.reader = reader
        self.fieldBytesMax = fieldBytesMax
    }

    func close() { reader.close() }

    /// The next complete field, or nil at the end of the file.
    mutating func next() throws(PaymentsError) -> MT940Field? {
        while let raw = try reader.next() {
            var line = raw
            if line.hasPrefix("{") {
                // Only the text block's opening line can carry field content after `{4:`.
                guard let range = line.range(of: "{4:") else { continue }
                line = String(line[range.upperBound...])
                if line.isEmpty { continue }
            }
            if Self.isMessageEnd(line) {
                messageEnded = true
                if let field = take() { return field }
                continue
            }
            if let (tag, content) = Self.splitTag(line) {
                let finished = take()
                current = MT940Field(tag: tag, lines: [content], lineNumber: reader.lineNumber)
                currentBytes = content.utf8.count
                messageEnded = false
                if let finished { return finished }
                continue
            }
            guard current != nil, !messageEnded else { continue }
            // The line break counts too, so empty continuation lines cannot pile up without limit.
            currentBytes += line.utf8.count + 1
            guard currentBytes <= fieldBytesMax else {
                throw PaymentsError(.tooLarge, "the :\(current!.tag): field starting on line \(current!.lineNumber) is longer than \(fieldBytesMax) bytes")
            }
            current!.lines.append(line)
        }
        return take()
    }

    private mutating func take() -> MT940Field? {
        defer { current = nil }
        return current
    }

    /// `-`, `-}`, `-}{5:…}` or a short trailer such as ING's `-XXX`.
    static func isMessageEnd(_ line: String) -> Bool {
        guard line.hasPrefix("-") else { return false }
        return line == "-" || line.hasPrefix("-}") || (line.count <= 4 && line.dropFirst().allSatisfy { $0.isLetter || $0.isNumber })
    }

    /// `:61:rest` → ("61", "rest"); tags are two digits and an optional capital letter.
    static func splitTag(_ line: String) -> (String, String)? {
        let bytes = Array(line.utf8)
        guard bytes.count >= 4, bytes[0] == UInt8(ascii: ":"), isDigit(bytes[1]), isDigit(bytes[2]) else { return nil }
        if bytes[3] == UInt8(ascii: ":") {
            return (String(decoding: bytes[1...2], as: UTF8.self), String(decoding: bytes[4...], as: UTF8.self))
        }
        guard bytes.count >= 5, (65...90).contains(bytes[3]), bytes[4] == UInt8(ascii: ":") else { return nil }
        return (String(decoding: bytes[1...3], as: UTF8.self), String(decoding: bytes[5...], as: UTF8.self))
    }

    private static func isDigit(_ byte: UInt8) -> Bool { (48...57).contains(byte) }
}

/// A `:60F:`/`:62F:` balance: `C` or `D`, YYMMDD, currency, amount with a decimal comma.
struct MT940Balance: Equatable {
    let date: LocalDate
    let amount: Money

    init?(_ text: String) {
        let characters = Array(text.trimmingSpaces())
        guard characters.count >= 11, characters[0] == "C" || characters[0] == "D",
              let date = MT940Line.date(String(characters[1..<7])) else { return nil }
        let currency = String(characters[7..<10])
        guard currency.allSatisfy({ $0.isASCII && $0.isUppercase }),
              let minorUnits = StatementAmount.minorUnits(String(characters[10...]), separator: ",", currency: currency) else { return nil }
        self.date = date
        amount = Money(minorUnits: characters[0] == "D" ? -minorUnits : minorUnits, currency: currency)
    }
}

/// The `:61:` statement line: value date, optional entry date, mark, optional funds code, amount, type,
/// references, and the optional supplementary details on its second line.
struct MT940Line: Equatable {
    var valueDate: LocalDate
    var entryDate: LocalDate?
    var direction: BankStatementDirection
    var isReversal: Bool
    var amountText: String
    var transactionType: String
    var customerReference: String?
    var bankReference: String?
    var supplementaryDetails: String?

    /// Parses the field's lines; nil when the first line does not follow the layout.
    init?(_ lines: [String]) {
        let characters = Array(lines.first ?? "")
        var index = 0
        func take(_ count: Int) -> String? {
            guard index + count <= characters.count else { return nil }
            defer { index += count }
            return String(characters[index..<(index + count)])
        }
        guard let value = take(6).flatMap(Self.date) else { return nil }
        valueDate = value
        if index + 4 <= characters.count, characters[index..<(index + 4)].allSatisfy(\.isASCIIDigitCharacter) {
            entryDate = Self.entryDate(take(4)!, near: value)
            if entryDate == nil { return nil }
        }
        // `RC`/`RD` are reversals; then `C`/`D`. A letter after the mark is the funds code, so in `CR300,` the `R`
        // is a funds code and the line a plain credit, while `RCR204,88` is a reversed credit.
        isReversal = index < characters.count && characters[index] == "R"
        if isReversal { index += 1 }
        guard index < characters.count, characters[index] == "C" || characters[index] == "D" else { return nil }
        // A reversed credit takes money out again; a reversed debit brings it back.
        let mark: BankStatementDirection = characters[index] == "C" ? .credit : .debit
        direction = isReversal ? (mark == .credit ? .debit : .credit) : mark
        index += 1
        if index < characters.count, characters[index].isLetter { index += 1 }
        let amountStart = index
        while index < characters.count, characters[index].isASCIIDigitCharacter || characters[index] == "," { index += 1 }
        amountText = String(characters[amountStart..<index])
        guard !amountText.isEmpty, let type = take(4), ["N", "F", "S"].contains(type.first) else { return nil }
        transactionType = type
        let references = String(characters[index...])
        if let separator = references.range(of: "//") {
            customerReference = String(references[..<separator.lowerBound]).nonPlaceholder
            bankReference = String(references[separator.upperBound...]).nonPlaceholder
        } else {
            customerReference = references.nonPlaceholder
        }
        supplementaryDetails = lines.dropFirst().joined(separator: " ").nonPlaceholder
    }

    /// YYMMDD; years 00–79 are 2000–2079, later ones 1980–1999.
    static func date(_ text: String) -> LocalDate? {
        guard text.count == 6, text.allSatisfy(\.isASCIIDigitCharacter), let number = Int(text) else { return nil }
        let twoDigitYear = number / 10_000
        return LocalDate(year: twoDigitYear < 80 ? 2000 + twoDigitYear : 1900 + twoDigitYear, month: number / 100 % 100, day: number % 100)
    }

    /// MMDD in the year that puts it nearest the value date: a December entry for a January value date belongs
    /// to the year before, and the other way round, and so does an entry booked more than a month from its value
    /// date across the turn of a year (a back-dated return, a forward-dated transfer). Of two years equally near,
    /// the value date's own. A 29 February that only one of the years has is read in that year.
    static func entryDate(_ text: String, near valueDate: LocalDate) -> LocalDate? {
        guard let number = Int(text) else { return nil }
        let (month, day) = (number / 100, number % 100)
        let candidates = [valueDate.year, valueDate.year - 1, valueDate.year + 1].compactMap { LocalDate(year: $0, month: month, day: day) }
        return candidates.min { abs(valueDate.days(until: $0)) < abs(valueDate.days(until: $1)) }
    }
}
