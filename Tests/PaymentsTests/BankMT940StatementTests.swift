import Foundation
import LedgerCore
@testable import Payments
import Testing

/// Every MT940 sample, with the values read off the files by hand.
///
/// The ABN AMRO, ING, Triodos and second Knab statements are anonymised and do not add up (ABN AMRO's first:
/// 3236.28 − 321.44 is not 876.84); they are checked for content with integrity recorded, and once more to be
/// refused under the default policy. ASN Bank, betterplace, Rabobank and the first Knab statement balance.
@Suite("MT940 samples")
struct BankMT940StatementTests {
    @Test
    func asnBankStatementsBalanceAndNameTheOtherParty() throws {
        let statements = try BankFixtures.statements("mt940/wolph-ASNB-mt940.txt", policy: .enforce)
        #expect(statements.count == 31)
        #expect(statements.reduce(0) { $0 + $1.lines.count } == 8)
        #expect(statements.allSatisfy { $0.overview.integrity == .balanced })
        let first = statements[0]
        #expect(first.overview.accountID == "NL81ASNB9999999999")
        #expect(first.overview.sequenceNumber == "1/1")
        #expect(first.openingBalance == eur(44_429))
        #expect(first.closingBalance == eur(37_929))
        let line = try #require(first.lines.first)
        #expect(line.direction == .debit)
        #expect(line.amount == eur(6_500))
        #expect(line.bookingDate == date("2020-01-01"))
        #expect(line.payerName == "hr gjlm paulissen")
        // The sample's IBANs are anonymised and fail their check, so they stay text.
        #expect(line.payerIBAN == nil)
        #expect(line.payerAccount == "NL47INGB9999999999")
        #expect(line.freeText == "NL47INGB9999999999 hr gjlm paulissen Betaling sieraden")
        let fifth = statements[4].lines
        #expect(fifth.map(\.amount) == [eur(100_000), eur(80_155)])
        #expect(fifth.map(\.direction) == [.credit, .debit])
        #expect(fifth.map(\.payerName) == ["paulissen g j l m", "international card services"])
        #expect(fifth[1].freeText.hasSuffix("Betaling aan I CS 99999999999 ICS Referentie: 2020-01-05 19:47 000000000000000"))
    }

    @Test
    func betterplaceStatementsBalanceWithFundsCodesAndReversals() throws {
        let statements = try BankFixtures.statements("mt940/wolph-betterplace-sepa_mt9401.sta", policy: .enforce)
        #expect(statements.count == 26)
        #expect(statements.reduce(0) { $0 + $1.lines.count } == 97)
        let first = statements[0]
        #expect(first.statementID == "T089413946000001")
        #expect(first.overview.accountID == "50880050/0194774600888")
        #expect(first.overview.sequenceNumber == "00004/00001")
        #expect(first.openingBalance == eur(-123_471_836))
        #expect(first.closingBalance == eur(-123_762_823))
        // `CR300,` is a credit with funds code R; `RCR204,88` a reversed credit, which takes money out.
        #expect(first.lines.map(\.amount) == [eur(30_000), eur(33_533), eur(1_500_000), eur(6_629_508), eur(91_531_155), eur(20_488), eur(99_994_695)])
        #expect(first.lines.map(\.direction) == [.credit, .credit, .credit, .credit, .credit, .debit, .debit])
        #expect(first.lines.map(\.isReversal) == [false, false, false, false, false, true, false])
        #expect(first.lines[0].bankReference == "0724710345313905")
        // Business code 159 (`?00RETOURE`, the reason key in `?34`): transfers of ours that came back.
        #expect(first.lines.map(\.returnReason) == ["159 RETOURE 914", "159 RETOURE 914", "159 RETOURE 914", nil, "159 RETOURE 903", nil, nil])
        #expect(first.lines[0].bookingDate == date("2007-09-04"))
        #expect(first.lines[3].bankReference == nil)
    }

    @Test
    func germanSubfieldsGivePayerIBANNameEndToEndIdAndRemittanceText() throws {
        let statements = try BankFixtures.statements("mt940/wolph-betterplace-sepa_mt9401.sta")
        let credit = statements[1].lines[0]
        #expect(credit.amount == eur(1_500_005))
        #expect(credit.endToEndID == "EndToEndIdTFNR2000400001")
        #expect(credit.payerIBAN?.electronic == "DE42100100100043921105")
        #expect(credit.payerName == "Richter Renate 70 Zeichen Beginn Fuellzeichen xxxxxxxx")
        #expect(credit.freeText.hasPrefix("TO 13 TFNr 20004 Eingangskanal Mint ."))
        #expect(credit.freeText.hasSuffix("MTLG:SEPA-Ueberweisungseingang Auftraggeber: Richter Renat"))

        let josef = try #require(statements[14].lines.first)
        #expect(josef.amount == eur(1_399_005))
        #expect(josef.endToEndID == "EndToEndId TFNR 21 003 00001")
        #expect(josef.freeText == "Verwend CTSc-01 PPP TFNr 21 003")
        #expect(josef.payerIBAN?.electronic == "DE95508800500194784900")
        #expect(josef.payerName == "JOSEF JAEGER")
    }

    @Test
    func abnAmroHeadersAndFreeTextAreRead() throws {
        let statements = try BankFixtures.statements("mt940/wolph-jejik-abnamro.sta")
        try #require(statements.count == 2)
        #expect(statements[0].overview.accountID == "517852257")
        #expect(statements[0].overview.sequenceNumber == "19321/1")
        #expect(statements[0].openingBalance == eur(323_628))
        #expect(statements[0].closingBalance == eur(87_684))
        #expect(statements[0].lines.map(\.amount) == [eur(900), eur(1_159), eur(1_163), eur(1_180), eur(1_345), eur(1_549), eur(10_700), eur(14_148)])
        #expect(statements[0].lines.allSatisfy { $0.direction == .debit })
        #expect(statements[0].lines[0].freeText == "GIRO 428428 KPN - DIGITENNE BETALINGSKENM. 000000042188659 5314606715 BETREFT FACTUUR D.D. 20-05-2011 INCL. 1,44 BTW")
        #expect(statements[0].lines[1].valueDate == date("2011-05-21"))
        #expect(statements[0].lines[1].bookingDate == date("2011-05-23"))
        #expect(statements[1].lines.map(\.amount) == [eur(949), eur(1_500)])
        #expect(statements[1].lines[1].freeText == "52.89.39.882 MYCOM DEN HAAG")
        #expect(statements[1].openingBalance == eur(287_684))
    }

    @Test
    func ingLinesWithoutEntryDateAndATrailingStatementDetail() throws {
        let statement = try #require(try BankFixtures.statements("mt940/wolph-jejik-ing.sta").first)
        #expect(statement.lines.map(\.amount) == [eur(2_503), eur(303), eur(111), eur(2_000), eur(110), eur(368), eur(100)])
        #expect(statement.lines.map(\.direction) == [.debit, .debit, .debit, .debit, .debit, .credit, .credit])
        #expect(statement.lines.map(\.bookingDate) == Array(repeating: date("2010-07-22"), count: 6) + [date("2010-07-23")])
        #expect(statement.lines[0].freeText == "RC AFREKENING BETALINGSVERKEER BETREFT REKENING 4715589 PERIODE: 01-10-2010 / 31-12-2010 ING Bank N.V. tarifering ING")
        #expect(statement.lines[1].freeText == "0111111111 GPSEOUL SPOEDBETALING MPBZS1016000047 GPSEOUL")
        #expect(statement.lines[6].freeText == "0111111111 Hr S Marechal ROSMALEN Hr S Marechal ROSMALEN Betaling transactiedatum: 22-07-2010")
        #expect(statement.openingBalance == eur(0))
        #expect(statement.closingBalance == eur(347))
    }

    @Test
    func knabAmountWithoutCommaAndAccountAndNameInTheDetails() throws {
        let statements = try BankFixtures.statements("mt940/wolph-jejik-knab.sta")
        try #require(statements.count == 2)
        #expect(statements[0].overview.integrity == .balanced)
        #expect(statements[0].lines.map(\.amount) == [eur(50_000)])
        #expect(statements[0].lines[0].bankReference == "B4E07XM00J000023")
        #expect(statements[0].lines[0].freeText == "HIER EEN MOOIE OMSCHRIJVING IN HOOFDLETTERS WANT DAT IS ZOALS DE NEDERLANDSE BANKEN COMMUNICEREN")
        let lines = statements[1].lines
        #expect(lines.map(\.amount) == [eur(726_000), eur(50_000)])
        #expect(lines.map(\.direction) == [.debit, .credit])
        #expect(lines.map(\.bankReference) == ["B4G29PGCVO7Q06US", "B4G29PGDCK1QFV3E"])
        #expect(lines.map(\.payerName) == ["PICQER", "MMS ONLINE NEDERLAND B.V."])
        #expect(lines.map(\.payerAccount) == ["NL65INGB0123456789", "NL84INGB0234561789"])
        #expect(lines[0].freeText == "FACTUUR 201403110, 201403113 REK: NL65INGB0123456789/NAAM: PICQER")
        guard case .mismatch = statements[1].overview.integrity else {
            Issue.record("3058.98 − 7260.00 + 500.00 is not 798.98")
            return
        }
    }

    @Test
    func rabobankSlashTagsAndSupplementaryAccount() throws {
        let statements = try BankFixtures.statements("mt940/wolph-jejik-rabobank-iban.sta", policy: .enforce)
        try #require(statements.count == 2)
        #expect(statements.map(\.openingBalance) == [eur(100_000), eur(96_500)])
        #expect(statements.map(\.closingBalance) == [eur(96_500), eur(93_000)])
        let lines = statements[0].lines
        #expect(lines.map(\.amount) == [eur(2_500), eur(1_000)])
        #expect(lines.map(\.direction) == [.debit, .debit])
        #expect(lines.map(\.endToEndID) == ["01-01-2013 12:00 0030000987654321", nil])
        #expect(lines.map(\.payerName) == ["CONTRA ACCOUNT HOLDER", "JOHN DOE"])
        #expect(lines.map(\.payerAccount) == ["NL70ABNA0987654321", "P001234567"])
        #expect(lines.map(\.freeText) == ["", "Reference 201301234"])
        #expect(statements[1].lines.map(\.bookingDate) == [date("2013-01-08"), date("2013-01-09")])
        #expect(statements[1].lines[0].endToEndID == "08-01-2013 12:00 0030000987654321")
    }

    @Test
    func triodosAngleBracketSubfieldsJoinThePurposeWithoutSpaces() throws {
        let statement = try #require(try BankFixtures.statements("mt940/wolph-jejik-triodos.sta").first)
        #expect(statement.overview.accountID == "TRIODOSBANK/0390123456")
        #expect(statement.lines.map(\.amount) == [eur(1_570), eur(70_000)])
        #expect(statement.lines.map(\.bookingDate) == [date("2011-01-01"), date("2011-01-25")])
        #expect(statement.lines.map(\.freeText) == ["ALGEMENE TUSSENREKENING KOSTEN VAN 01-10-2010 TOT EN MET 31-12-2010", "HUUR KANTOOR - FEB 2010"])
        #expect(statement.lines.map(\.payerAccount) == ["0390123456", nil])
    }

    @Test(arguments: ["wolph-jejik-abnamro.sta", "wolph-jejik-ing.sta", "wolph-jejik-knab.sta", "wolph-jejik-triodos.sta"])
    func samplesThatDoNotAddUpAreRefusedByDefault(name: String) {
        #expect(BankFixtures.error(parsing: BankFixtures.url("mt940/\(name)")) == PaymentsError(.integrity, ""))
    }

    /// The amount-formats sample is six opening balances without a statement around them: each balance reads
    /// exactly, and the file as a whole is refused because no `:20:` starts a statement.
    @Test
    func amountFormatsSampleReadsEveryAmountButIsNoStatement() throws {
        let text = try String(contentsOf: BankFixtures.url("mt940/wolph-betterplace-amount_formats.sta"), encoding: .utf8)
        let balances = text.split(separator: "\n").map { MT940Balance(String($0.dropFirst(5)))?.amount }
        #expect(balances == [eur(38_011_512), eur(38_011_510), eur(38_011_500), eur(12), eur(12), eur(112)])
        let error = BankFixtures.error(parsing: BankFixtures.url("mt940/wolph-betterplace-amount_formats.sta"))
        #expect(error == PaymentsError(.malformed, ""))
        #expect(error?.message.contains("before any :20:") == true)
    }

    @Test(arguments: [
        ("0709040904CR300,NTRFTFNr 40005 MSGID//0724710345313905", BankStatementDirection.credit, false, "300,"),
        ("0709040904RCR204,88NRTINONREF", .debit, true, "204,88"),
        ("0709040904RD12,NTRFNONREF", .credit, true, "12,"),
        ("0709040904DR999946,95NMSCNONREF", .debit, false, "999946,95"),
        ("100722C3,68NTRFNONREF", .credit, false, "3,68"),
    ])
    func statementLineMarksAndFundsCodes(text: String, direction: BankStatementDirection, reversal: Bool, amount: String) throws {
        let line = try #require(MT940Line([text]))
        #expect(line.direction == direction)
        #expect(line.isReversal == reversal)
        #expect(line.amountText == amount)
    }

    @Test
    func entryDateInJanuaryForADecemberValueDateIsInTheNextYear() throws {
        let line = try #require(MT940Line(["2512310102C10,00NTRFNONREF"]))
        #expect(line.valueDate == date("2025-12-31"))
        #expect(line.entryDate == date("2026-01-02"))
    }

    /// An entry booked more than a month from its value date across the turn of a year (a return back-dated to
    /// November, a transfer booked in December for a February value date) is in the year nearest the value date.
    @Test(arguments: [
        ("2511280105C125,00NTRFNONREF", "2025-11-28", "2026-01-05"),
        ("2602021230C125,00NTRFNONREF", "2026-02-02", "2025-12-30"),
        ("2603150317C125,00NTRFNONREF", "2026-03-15", "2026-03-17"),
        ("2802290301C125,00NTRFNONREF", "2028-02-29", "2028-03-01"),
    ])
    func anEntryDateIsInTheYearNearestItsValueDate(field: String, value: String, entry: String) throws {
        let line = try #require(MT940Line([field]))
        #expect(line.valueDate == date(value))
        #expect(line.entryDate == date(entry), "\(field)")
    }

    /// A download that stopped part-way: its last statement has no closing balance, and its last line's text may
    /// be cut. Refused whole under the default policy, naming why; the whole file reads.
    @Test
    func aStatementCutShortBeforeItsClosingBalanceIsRefused() throws {
        let head = ":20:S1\n:25:NL91ABNA0417164300\n:28C:1/1\n:60F:C260301EUR1000,00\n:61:2603020302C125,00NTRFNONREF\n:86:/NAME/Ada/REMI/USTD//RF18 5390\n"
        let cut = try BankFixtures.temporaryFile(head, extension: "sta")
        let refused = try #require(BankFixtures.error(parsing: cut))
        #expect(refused.code == .integrity, "\(refused)")
        #expect(refused.description.contains("no closing balance") && refused.description.contains("cut short"), "\(refused)")
        let whole = try BankFixtures.temporaryFile(head + ":62F:C260302EUR1125,00\n", extension: "sta")
        #expect(BankFixtures.error(parsing: whole) == nil)
    }

    /// A CSV file whose text holds `:20:` (a time) is read as CSV, not refused as MT940 without its fields.
    @Test
    func aCSVFileWhoseTextHoldsAFieldTagIsReadAsCSV() throws {
        let csv = "date,amount,currency,payer_name,payer_iban,reference,bank_reference\n2026-03-02,125.00,EUR,Ada,,paid 14:20:41 :25: RF18 5390 0754 7034,B-1\n"
        let url = try BankFixtures.temporaryFile(csv, extension: "csv")
        #expect(try BankStatementParser.detectFormat(fileURL: url) == .csv)
        #expect(BankFixtures.error(parsing: url) == nil)
        let mt940 = try BankFixtures.temporaryFile("{1:F01ABNANL2AXXXX0000000000}\n:20:S1\n", extension: "sta")
        #expect(try BankStatementParser.detectFormat(fileURL: mt940) == .mt940)
    }
}
