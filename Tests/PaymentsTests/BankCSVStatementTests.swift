import Foundation
import LedgerCore
import Payments
import Testing

@Suite("CSV statements")
struct BankCSVStatementTests {
    static func lines(_ csv: String, parser: CSVStatementParser = CSVStatementParser()) throws -> [BankStatementLine] {
        var lines: [BankStatementLine] = []
        _ = try parser.parse(fileURL: try BankFixtures.temporaryFile(csv, extension: "csv")) { lines.append($0) }
        return lines
    }

    static func error(_ csv: String) -> PaymentsError? {
        do {
            _ = try lines(csv)
            return nil
        } catch {
            return error as? PaymentsError
        }
    }

    @Test
    func readsTheDocumentedLayoutWithQuotedFields() throws {
        let csv = #"""
        date,amount,currency,payer_name,payer_iban,reference,bank_reference
        2026-01-15,125.00,EUR,"Mediator, Ada",NL91 ABNA 0417 1643 00,RF18 5390 0754 7034,B-1
        2026-01-16,-12.50,EUR,Bank,,"Fee ""January""",B-2
        2026-01-17,250,EUR,"Two
        Lines",NL47INGB9999999999,"Contribution rf18 5390 0754 7034",
        """#
        let lines = try Self.lines(csv)
        try #require(lines.count == 3)
        #expect(lines.map(\.amount) == [eur(12_500), eur(1_250), eur(25_000)])
        #expect(lines.map(\.direction) == [.credit, .debit, .credit])
        // A line break inside a quoted name is layout, so it reads as a space.
        #expect(lines.map(\.payerName) == ["Mediator, Ada", "Bank", "Two Lines"])
        #expect(lines[0].payerIBAN?.electronic == "NL91ABNA0417164300")
        #expect(lines[0].structuredReference == "RF18539007547034")
        #expect(lines[0].bankReference == "B-1")
        #expect(lines[0].bookingDate == date("2026-01-15"))
        #expect(lines[1].freeText == "Fee \"January\"")
        #expect(lines[2].payerAccount == "NL47INGB9999999999")
        #expect(lines[2].structuredReference == nil)
        #expect(lines[2].freeText == "Contribution rf18 5390 0754 7034")
        #expect(lines[2].bankReference == nil)
        #expect(lines.map(\.entryIndex) == [0, 1, 2])
    }

    @Test
    func detectsSemicolonsAndDecimalCommas() throws {
        let csv = "Date;Amount;Currency;Reference\n2026-02-01;125,00;EUR;Lid 2026\n2026-02-02;-0,05;USD;x\n"
        let lines = try Self.lines(csv)
        #expect(lines.map(\.amount) == [eur(12_500), money(5, "USD")])
        #expect(lines.map(\.direction) == [.credit, .debit])
    }

    @Test
    func takesSeparatorsFromConfiguration() throws {
        let csv = "date;amount;currency\n2026-02-01;1.25;EUR\n"
        let parser = CSVStatementParser(delimiter: .semicolon, decimalSeparator: .point)
        #expect(try Self.lines(csv, parser: parser).map(\.amount) == [eur(125)])
    }

    @Test
    func hasNoBalancesToCheck() throws {
        let url = try BankFixtures.temporaryFile("date,amount,currency\n2026-02-01,1.00,EUR\n", extension: "csv")
        let statement = try #require(try BankStatementParser().statements(fileURL: url).first)
        #expect(statement.format == .csv)
        #expect(statement.currency == "EUR")
        #expect(statement.overview.integrity == .notApplicable("CSV statements carry no balances"))
    }

    @Test
    func refusesMixedDecimalSeparators() {
        let error = Self.error("date;amount;currency\n2026-02-01;1,00;EUR\n2026-02-02;2.00;EUR\n")
        #expect(error?.code == .malformed)
        #expect(error?.message.contains("CSV line 3") == true)
    }

    @Test(arguments: [
        "date,amount\n2026-02-01,1.00\n",
        "date,amount,currency,memo\n2026-02-01,1.00,EUR,x\n",
        "",
    ])
    func refusesHeadersOutsideTheLayout(csv: String) {
        #expect(Self.error(csv)?.code == .unsupportedFormat)
    }

    @Test(arguments: [
        "date,amount,currency\n01-02-2026,1.00,EUR\n",
        "date,amount,currency\n2026-02-01,1.001,EUR\n",
        // Thousands separators: read as decimals they would be 1.00 and 1.25.
        "date,amount,currency\n2026-02-01,1.000,EUR\n",
        "date;amount;currency\n2026-02-01;\"1,250\";EUR\n",
        "date,amount,currency\n2026-02-01,-2.500,EUR\n",
        "date,amount,currency\n2026-02-01,1.0,JPY\n",
        "date,amount,currency\n2026-02-01,1.00,EURO\n",
        "date,amount,currency\n2026-02-01,\"1.00,EUR\n",
    ])
    func refusesMalformedRows(csv: String) {
        #expect(Self.error(csv)?.code == .malformed)
    }

    /// A line of 0.00 is read, as from camt.053 and MT940 (the import keeps it as read and counts it).
    @Test
    func readsALineOfNothing() throws {
        let lines = try Self.lines("date,amount,currency\n2026-02-01,0.00,EUR\n2026-02-01,-0.00,EUR\n")
        #expect(lines.map(\.amount.minorUnits) == [0, 0])
    }

    /// A comma inside an unquoted name makes one field more than the header names: every later field would be
    /// read as the next column's (the bank's reference as the payer's IBAN, …), so the row is refused, naming it.
    @Test
    func refusesARowWithMoreFieldsThanTheHeader() throws {
        let header = "date,amount,currency,payer_name,payer_iban,reference,bank_reference\n"
        let quoted = try Self.lines(header + "2026-01-15,125.00,EUR,\"Lovelace, Ada\",NL91ABNA0417164300,RF18 5390 0754 7034,BANK-0001\n")
        #expect(quoted.first?.payerName == "Lovelace, Ada" && quoted.first?.bankReference == "BANK-0001")
        let error = Self.error(header + "2026-01-15,125.00,EUR,Lovelace, Ada,NL91ABNA0417164300,RF18 5390 0754 7034,BANK-0001\n")
        #expect(error?.code == .malformed)
        #expect(error?.message.contains("CSV line 2: it has 8 fields where the header names 7") == true, "\(String(describing: error))")
    }

    /// A separator at the end of the header (as some spreadsheets write) is named as such, not as an unknown
    /// column; a row with empty fields past the header names both ways it comes about.
    @Test
    func aSeparatorAtTheEndIsNamedAsSuch() {
        let header = Self.error("date,amount,currency,\n2026-01-15,125.00,EUR,\n")
        #expect(header?.message.contains("the CSV header's column 4 is empty: the header ends with a separator") == true, "\(String(describing: header))")
        let doubled = Self.error("date,,amount,currency\n")
        #expect(doubled?.message.contains("column 2 is empty: the header has two separators in a row") == true, "\(String(describing: doubled))")
        let row = Self.error("date,amount,currency\n2026-01-15,125.00,EUR,\n")
        #expect(row?.message.contains("CSV line 2: it has 4 fields where the header names 3, the extra ones empty: remove a separator at the end") == true, "\(String(describing: row))")
        // The same shape from a comma in an unquoted name with the last column empty: the quotes are named too.
        let layout = "date,amount,currency,payer_name,payer_iban,reference,bank_reference\n"
        let name = Self.error(layout + "2026-01-15,125.00,EUR,Lovelace, Ada,NL91ABNA0417164300,RF18 5390 0754 7034,\n")
        #expect(name?.message.contains("a field holding the separator (a comma in a name, say) in double quotes") == true, "\(String(describing: name))")
    }
}
