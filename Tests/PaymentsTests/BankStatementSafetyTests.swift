import Foundation
import LedgerCore
import Payments
import TestSupport
import Testing

/// Builds camt.053 documents for tests.
enum CamtDocument {
    static let namespace = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"

    static func balance(_ code: String, _ minorUnits: Int64) -> String {
        let amount = Money(minorUnits: abs(minorUnits), currency: "EUR").decimalString
        return "<Bal><Tp><CdOrPrtry><Cd>\(code)</Cd></CdOrPrtry></Tp><Amt Ccy=\"EUR\">\(amount)</Amt><CdtDbtInd>\(minorUnits < 0 ? "DBIT" : "CRDT")</CdtDbtInd><Dt><Dt>2026-01-31</Dt></Dt></Bal>"
    }

    static func entry(_ minorUnits: Int64, status: String = "BOOK", reference: String = "REF", transactions: [Int64] = []) -> String {
        let amount = Money(minorUnits: abs(minorUnits), currency: "EUR").decimalString
        let details = transactions.map { part in
            "<TxDtls><Amt Ccy=\"EUR\">\(Money(minorUnits: part, currency: "EUR").decimalString)</Amt><RmtInf><Ustrd>part</Ustrd></RmtInf></TxDtls>"
        }.joined()
        return "<Ntry><Amt Ccy=\"EUR\">\(amount)</Amt><CdtDbtInd>\(minorUnits < 0 ? "DBIT" : "CRDT")</CdtDbtInd><Sts><Cd>\(status)</Cd></Sts><BookgDt><Dt>2026-01-15</Dt></BookgDt><AcctSvcrRef>\(reference)</AcctSvcrRef><NtryDtls>\(details)</NtryDtls></Ntry>"
    }

    static let head = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Document xmlns=\"\(namespace)\"><BkToCstmrStmt><GrpHdr><MsgId>M</MsgId></GrpHdr><Stmt><Id>S1</Id><Acct><Id><IBAN>NL91ABNA0417164300</IBAN></Id><Ccy>EUR</Ccy></Acct>"
    static let tail = "</Stmt></BkToCstmrStmt></Document>\n"

    static func document(opening: Int64, closing: Int64, entries: [String]) -> String {
        head + balance("OPBD", opening) + balance("CLBD", closing) + entries.joined() + tail
    }
}

@Suite("Statement safety and limits")
struct BankStatementSafetyTests {
    @Test
    func externalEntityIsRefusedBeforeParsing() throws {
        let xml = """
        <?xml version="1.0" encoding="UTF-8"?>
        <!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
        <Document xmlns="\(CamtDocument.namespace)"><BkToCstmrStmt><Stmt><Id>&xxe;</Id></Stmt></BkToCstmrStmt></Document>
        """
        let error = try #require(BankFixtures.error(parsing: try BankFixtures.temporaryFile(xml, extension: "xml")))
        #expect(error.code == .unsafeDocument)
        #expect(error.message.contains("DOCTYPE"))
    }

    @Test
    func billionLaughsIsRefused() throws {
        var declarations = "<!ENTITY lol \"lol\">"
        for level in 1...9 {
            let previous = level == 1 ? "lol" : "lol\(level - 1)"
            declarations += "<!ENTITY lol\(level) \"" + String(repeating: "&\(previous);", count: 10) + "\">"
        }
        let xml = "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\(declarations)]>\n<Document xmlns=\"\(CamtDocument.namespace)\">&lol9;</Document>"
        #expect(BankFixtures.error(parsing: try BankFixtures.temporaryFile(xml, extension: "xml"))?.code == .unsafeDocument)
    }

    @Test
    func entityDeclarationInLowerCaseAcrossAChunkBoundaryIsFound() throws {
        // The comment pushes the declaration so that it straddles the 64 KiB read boundary.
        let prefix = "<?xml version=\"1.0\"?>\n<!--"
        let padding = String(repeating: "x", count: 64 * 1024 - prefix.utf8.count - 3 - 4)
        let xml = prefix + padding + "-->\n<!doctype d>" + CamtDocument.document(opening: 0, closing: 0, entries: []).dropFirst(39)
        #expect(BankFixtures.error(parsing: try BankFixtures.temporaryFile(xml, extension: "xml"))?.code == .unsafeDocument)
    }

    @Test(arguments: [0.5, 0.9])
    func truncatedDocumentIsRefused(fraction: Double) throws {
        let full = CamtDocument.document(opening: 0, closing: 12_500, entries: [CamtDocument.entry(12_500)])
        let cut = String(full.prefix(Int(Double(full.count) * fraction)))
        let error = try #require(BankFixtures.error(parsing: try BankFixtures.temporaryFile(cut, extension: "xml")))
        #expect(error.code == .malformed)
    }

    @Test
    func documentMissingOnlyItsClosingTagIsRefusedAsTruncated() throws {
        let full = CamtDocument.document(opening: 0, closing: 12_500, entries: [CamtDocument.entry(12_500)])
        let cut = full.replacingOccurrences(of: "</Document>\n", with: "")
        let error = try #require(BankFixtures.error(parsing: try BankFixtures.temporaryFile(cut, extension: "xml")))
        #expect(error.code == .malformed)
    }

    @Test
    func mismatchedTagsAreRefused() throws {
        let broken = CamtDocument.document(opening: 0, closing: 0, entries: []).replacingOccurrences(of: "</Acct>", with: "</Account>")
        #expect(BankFixtures.error(parsing: try BankFixtures.temporaryFile(broken, extension: "xml"))?.code == .malformed)
    }

    /// A currency that is not three letters is refused where it is read (an amount's `Ccy` or the account's `Ccy`),
    /// named cut short, so no line carries it into the ledger; a long statement id or amount is named cut short too.
    @Test(arguments: [
        ("<Amt Ccy=\"EUR\">125.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>", "<Amt Ccy=\"\(String(repeating: "E", count: 100_000))\">125.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>", "currency 'EEEEEEEEEE'"),
        ("<Amt Ccy=\"EUR\">125.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>", "<Amt Ccy=\"E1R\">125.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>", "currency 'E1R'"),
        ("<Ccy>EUR</Ccy>", "<Ccy>EURO</Ccy>", "currency 'EURO'"),
        ("<Amt Ccy=\"EUR\">125.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>", "<Amt Ccy=\"EUR\">125.00</Amt><CdtDbtInd>\(String(repeating: "C", count: 60_000))</CdtDbtInd><Sts>", "CdtDbtInd 'CCCCCCCCCC'"),
        ("<Id>S1</Id>", "<Id>\(String(repeating: "S", count: 60_000))</Id>", "does not add up"),
    ])
    func currenciesAreThreeLettersAndLongValuesAreNamedCutShort(replacing: String, with: String, named: String) throws {
        // The closing balance is off by a cent, so a statement that reads is refused as not adding up.
        let document = CamtDocument.document(opening: 0, closing: 12_501, entries: [CamtDocument.entry(12_500)])
        #expect(document.contains(replacing))
        let text = document.replacingOccurrences(of: replacing, with: with)
        let error = try #require(BankFixtures.error(parsing: try BankFixtures.temporaryFile(text, extension: "xml")))
        #expect(error.message.contains(named) && error.message.count < 400, "\(error.message.prefix(500))")
    }

    @Test
    func otherISO20022MessagesAreUnsupported() throws {
        let camt052 = CamtDocument.document(opening: 0, closing: 0, entries: []).replacingOccurrences(of: "camt.053.001.08", with: "camt.052.001.08")
        #expect(BankFixtures.error(parsing: try BankFixtures.temporaryFile(camt052, extension: "xml"))?.code == .unsupportedFormat)
    }

    @Test
    func fileAtTheSizeCapIsReadAndOnePastItIsRefused() throws {
        let url = try BankFixtures.temporaryFile(CamtDocument.document(opening: 0, closing: 12_500, entries: [CamtDocument.entry(12_500)]), extension: "xml")
        let size = try #require(try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int)
        #expect(BankFixtures.error(parsing: url, options: BankStatementParseOptions(fileBytesMax: size)) == nil)
        #expect(BankFixtures.error(parsing: url, options: BankStatementParseOptions(fileBytesMax: size - 1))?.code == .tooLarge)
    }

    @Test
    func batchAtTheTransactionCapIsReadAndOnePastItIsRefused() throws {
        let xml = CamtDocument.document(opening: 0, closing: 37_500, entries: [CamtDocument.entry(37_500, transactions: [12_500, 12_500, 12_500])])
        let url = try BankFixtures.temporaryFile(xml, extension: "xml")
        #expect(BankFixtures.error(parsing: url, options: BankStatementParseOptions(transactionsPerEntryMax: 3)) == nil)
        #expect(BankFixtures.error(parsing: url, options: BankStatementParseOptions(transactionsPerEntryMax: 2))?.code == .tooLarge)
    }

    /// Each `Ustrd` is bounded by the field limit, and so are all of one transaction's together: many of them
    /// cannot pile up into one line's text without limit.
    @Test
    func remittanceTextAtTheFieldCapIsReadAndOnePastItIsRefused() throws {
        func document(_ parts: [Int]) -> String {
            let ustrd = parts.map { "<Ustrd>\(String(repeating: "a", count: $0))</Ustrd>" }.joined()
            let entry = CamtDocument.entry(12_500).replacingOccurrences(
                of: "<NtryDtls></NtryDtls>", with: "<NtryDtls><TxDtls><Amt Ccy=\"EUR\">125.00</Amt><RmtInf>\(ustrd)</RmtInf></TxDtls></NtryDtls>"
            )
            return CamtDocument.document(opening: 0, closing: 12_500, entries: [entry])
        }
        let options = BankStatementParseOptions(fieldBytesMax: 100)
        // Two parts of 49 bytes and the space between them: 99 bytes.
        #expect(BankFixtures.error(parsing: try BankFixtures.temporaryFile(document([49, 49]), extension: "xml"), options: options) == nil)
        let refused = BankFixtures.error(parsing: try BankFixtures.temporaryFile(document([49, 49, 49]), extension: "xml"), options: options)
        #expect(refused?.code == .tooLarge && refused?.message.contains("remittance text") == true, "\(String(describing: refused))")
    }

    /// Empty continuation lines of an MT940 field count towards its limit (a line break each), so a field
    /// followed by millions of them is refused instead of kept.
    @Test
    func emptyMT940ContinuationLinesCountTowardsTheFieldCap() throws {
        func statement(emptyLines: Int) -> String {
            ":20:S1\n:25:NL91ABNA0417164300\n:28C:1/1\n:60F:C260115EUR0,\n:61:2601150115C125,NTRFNONREF\n:86:x"
                + String(repeating: "\n", count: emptyLines) + "\n:62F:C260115EUR125,\n"
        }
        let options = BankStatementParseOptions(fieldBytesMax: 100)
        #expect(BankFixtures.error(parsing: try BankFixtures.temporaryFile(statement(emptyLines: 50), extension: "sta"), options: options) == nil)
        let refused = BankFixtures.error(parsing: try BankFixtures.temporaryFile(statement(emptyLines: 200), extension: "sta"), options: options)
        #expect(refused?.code == .tooLarge && refused?.message.contains(":86:") == true, "\(String(describing: refused))")
    }

    /// Statements and lines per file, and the text the lines carry in all, each at its cap and one past it.
    @Test
    func statementsLinesAndTextPerFileAtTheirCapsAreReadAndOnePastAreRefused() throws {
        func mt940(statements: Int, text: String = "x") -> String {
            (0..<statements).map { index in
                ":20:S\(index)\n:25:NL91ABNA0417164300\n:28C:\(index)/1\n:60F:C260115EUR0,\n:61:2601150115C125,NTRFNONREF\n:86:\(text)\n:62F:C260115EUR125,\n"
            }.joined()
        }
        let two = try BankFixtures.temporaryFile(mt940(statements: 2), extension: "sta")
        #expect(BankFixtures.error(parsing: two, options: BankStatementParseOptions(statementsPerFileMax: 2)) == nil)
        let statements = BankFixtures.error(parsing: two, options: BankStatementParseOptions(statementsPerFileMax: 1))
        #expect(statements?.code == .tooLarge && statements?.message.contains("more than 1 statements") == true, "\(String(describing: statements))")
        #expect(BankFixtures.error(parsing: two, options: BankStatementParseOptions(linesPerFileMax: 2)) == nil)
        let lines = BankFixtures.error(parsing: two, options: BankStatementParseOptions(linesPerFileMax: 1))
        #expect(lines?.code == .tooLarge && lines?.message.contains("more than 1 lines") == true, "\(String(describing: lines))")
        let texts = try BankFixtures.temporaryFile(mt940(statements: 2, text: String(repeating: "t", count: 50)), extension: "sta")
        #expect(BankFixtures.error(parsing: texts, options: BankStatementParseOptions(lineTextBytesMax: 100)) == nil)
        let text = BankFixtures.error(parsing: texts, options: BankStatementParseOptions(lineTextBytesMax: 99))
        #expect(text?.code == .tooLarge && text?.message.contains("more than 99 bytes of text") == true, "\(String(describing: text))")
        // camt.053 counts its statements the same way.
        let camt = CamtDocument.document(opening: 0, closing: 12_500, entries: [CamtDocument.entry(12_500)])
        let twice = camt.replacingOccurrences(of: CamtDocument.tail, with: "</Stmt>" + CamtDocument.head.components(separatedBy: "<BkToCstmrStmt>")[1].replacingOccurrences(of: "<GrpHdr><MsgId>M</MsgId></GrpHdr>", with: "").replacingOccurrences(of: "<Id>S1</Id>", with: "<Id>S2</Id>") + CamtDocument.balance("OPBD", 0) + CamtDocument.balance("CLBD", 12_500) + CamtDocument.entry(12_500, reference: "REF2") + CamtDocument.tail)
        let camtFile = try BankFixtures.temporaryFile(twice, extension: "xml")
        #expect(BankFixtures.error(parsing: camtFile, options: BankStatementParseOptions(statementsPerFileMax: 2)) == nil)
        #expect(BankFixtures.error(parsing: camtFile, options: BankStatementParseOptions(statementsPerFileMax: 1))?.message.contains("more than 1 statements") == true)
    }

    @Test
    func closingBalanceThatDoesNotAddUpIsRefused() throws {
        let xml = CamtDocument.document(opening: 10_000, closing: 22_400, entries: [CamtDocument.entry(12_500)])
        let error = try #require(BankFixtures.error(parsing: try BankFixtures.temporaryFile(xml, extension: "xml")))
        #expect(error.code == .integrity)
        #expect(error.message.contains("statement 1 (S1)"))
        #expect(error.message.contains("= 225.00 EUR, but the closing balance is 224.00 EUR"))
    }

    @Test
    func batchWhosePartsDoNotAddUpIsRefused() throws {
        let xml = CamtDocument.document(opening: 0, closing: 37_500, entries: [CamtDocument.entry(37_500, transactions: [12_500, 12_500, 11_000])])
        let error = try #require(BankFixtures.error(parsing: try BankFixtures.temporaryFile(xml, extension: "xml")))
        #expect(error.code == .integrity)
        #expect(error.message.contains("3 transactions add up to 360.00 EUR, but the entry is 375.00 EUR"))
    }

    @Test
    func pendingEntriesAreHandedOutButLeaveTheBalancesAlone() throws {
        let xml = CamtDocument.document(opening: 0, closing: 12_500, entries: [CamtDocument.entry(12_500), CamtDocument.entry(9_900, status: "PDNG")])
        let statement = try #require(try BankStatementParser().statements(fileURL: try BankFixtures.temporaryFile(xml, extension: "xml")).first)
        #expect(statement.lines.map(\.booked) == [true, false])
        #expect(statement.overview.integrity == .balanced)
    }

    @Test
    func errorThrownByTheLineHandlerStopsTheParseAndSurfaces() throws {
        struct Stop: Error {}
        let xml = CamtDocument.document(opening: 0, closing: 25_000, entries: [CamtDocument.entry(12_500), CamtDocument.entry(12_500)])
        let url = try BankFixtures.temporaryFile(xml, extension: "xml")
        var seen = 0
        #expect(throws: Stop.self) {
            try BankStatementParser().parse(fileURL: url) { _ in
                seen += 1
                throw Stop()
            }
        }
        #expect(seen == 1)
    }

    /// Twenty thousand entries in one statement, streamed: the count and the balances come out right.
    @Test
    func largeGeneratedStatementParsesAsAStream() throws {
        let entryCount = 20_000
        let url = TestScratch.folder.appendingPathComponent("statement-large-\(UUID().uuidString).xml")
        FileManager.default.createFile(atPath: url.path, contents: nil)
        let handle = try FileHandle(forWritingTo: url)
        try handle.write(contentsOf: Data((CamtDocument.head + CamtDocument.balance("OPBD", 0) + CamtDocument.balance("CLBD", Int64(entryCount) * 12_500)).utf8))
        var chunk = ""
        for index in 0..<entryCount {
            chunk += CamtDocument.entry(12_500, reference: "REF-\(index)")
            if chunk.utf8.count > 64 * 1024 {
                try handle.write(contentsOf: Data(chunk.utf8))
                chunk = ""
            }
        }
        try handle.write(contentsOf: Data((chunk + CamtDocument.tail).utf8))
        try handle.close()

        var count = 0
        var lastReference: String?
        let summary = try BankStatementParser().parse(fileURL: url) { line in
            count += 1
            lastReference = line.bankReference
        }
        #expect(count == entryCount)
        #expect(summary.lineCount == entryCount)
        #expect(summary.statements.first?.integrity == .balanced)
        #expect(lastReference == "REF-\(entryCount - 1)")
        try? FileManager.default.removeItem(at: url)
    }

    /// A camt.053 statement of one 125.00 credit, its balances as given.
    private static func statement(balances: (open: String, close: String), transaction: String = "", statementID: String = "S1") -> String {
        let entry = "<Ntry><Amt Ccy=\"EUR\">125.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2026-01-15</Dt></BookgDt>"
            + "<AcctSvcrRef>REF</AcctSvcrRef><NtryDtls><TxDtls>\(transaction)</TxDtls></NtryDtls></Ntry>"
        func balance(_ code: String, _ amount: String) -> String {
            "<Bal><Tp><CdOrPrtry><Cd>\(code)</Cd></CdOrPrtry></Tp>\(amount)<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-01-31</Dt></Dt></Bal>"
        }
        return CamtDocument.head.replacingOccurrences(of: "<Id>S1</Id>", with: "<Id>\(statementID)</Id>")
            + balance("OPBD", balances.open) + balance("CLBD", balances.close) + entry + CamtDocument.tail
    }

    /// A balance without a currency, or in another currency than its account, would put the bank account's
    /// balance into the books in no currency (a journal `bean-check` refuses) or in the wrong one: the statement
    /// does not add up, so the file is refused, or, when integrity is only reported, the statement says why.
    @Test
    func aBalanceWithoutTheStatementsCurrencyDoesNotAddUp() throws {
        let cases = [
            (("<Amt>100.00</Amt>", "<Amt>225.00</Amt>"), "it gives its opening balance without a currency"),
            (("<Amt Ccy=\"USD\">100.00</Amt>", "<Amt Ccy=\"USD\">225.00</Amt>"), "it is in EUR but gives its opening balance in USD"),
            // Opening and closing in two currencies were a mismatch already, with their own words.
            (("<Amt Ccy=\"EUR\">100.00</Amt>", "<Amt Ccy=\"USD\">225.00</Amt>"), "the opening balance is in EUR but the closing balance is in USD"),
        ]
        for (balances, reason) in cases {
            let file = try BankFixtures.temporaryFile(Self.statement(balances: balances), extension: "xml")
            let refused = try #require(BankFixtures.error(parsing: file))
            #expect(refused.code == .integrity && refused.message.contains(reason), "\(refused)")
            let reported = try BankStatementParser(options: BankStatementParseOptions(integrityPolicy: .report)).statements(fileURL: file)
            guard case .mismatch(let why) = reported.first?.overview.integrity else {
                Issue.record("\(reason): \(String(describing: reported.first?.overview.integrity))")
                continue
            }
            #expect(why.contains(reason), "\(why)")
        }
        let euros = Self.statement(balances: ("<Amt Ccy=\"EUR\">100.00</Amt>", "<Amt Ccy=\"EUR\">225.00</Amt>"))
        #expect(BankFixtures.error(parsing: try BankFixtures.temporaryFile(euros, extension: "xml")) == nil)
    }

    /// A line's references and names are kept in its payment's events: one longer than any bank writes is
    /// refused with the file, before anything is booked, at one byte past its limit and not at it.
    @Test
    func referencesAndNamesLongerThanAnyBankWritesAreRefused() throws {
        let balances = ("<Amt Ccy=\"EUR\">100.00</Amt>", "<Amt Ccy=\"EUR\">225.00</Amt>")
        func parsed(_ transaction: String, statementID: String = "S1") throws -> PaymentsError? {
            BankFixtures.error(parsing: try BankFixtures.temporaryFile(Self.statement(balances: balances, transaction: transaction, statementID: statementID), extension: "xml"))
        }
        let reference = BankStatementParser.referenceBytesMax, name = BankStatementParser.nameBytesMax
        func endToEnd(_ count: Int) -> String { "<Refs><EndToEndId>\(String(repeating: "E", count: count))</EndToEndId></Refs>" }
        func payer(_ text: String) -> String { "<RltdPties><Dbtr><Pty><Nm>\(text)</Nm></Pty></Dbtr></RltdPties>" }
        #expect(try parsed(endToEnd(reference)) == nil)
        let long = try #require(try parsed(endToEnd(reference + 1)))
        #expect(long.code == .tooLarge && long.message.contains("an end-to-end id of \(reference + 1) bytes"), "\(long)")
        // Escaped in the file, counted as read: 140 quotes are 840 bytes of `&quot;`.
        #expect(try parsed("<Refs><EndToEndId>\(String(repeating: "&quot;", count: reference))</EndToEndId></Refs>") == nil)
        #expect(try parsed("<Refs><EndToEndId>\(String(repeating: "&quot;", count: reference + 1))</EndToEndId></Refs>")?.code == .tooLarge)
        // Four-byte characters: 140 of them are at the limit of a name.
        #expect(try parsed(payer(String(repeating: "𝄞", count: name / 4))) == nil)
        #expect(try parsed(payer(String(repeating: "𝄞", count: name / 4) + "x")).map { $0.message.contains("a name of \(name + 1) bytes") } == true)
        let account = "<RltdPties><DbtrAcct><Id><Othr><Id>\(String(repeating: "9", count: reference + 1))</Id></Othr></Id></DbtrAcct></RltdPties>"
        #expect(try parsed(account)?.message.contains("an account of") == true)
        let statement = try #require(try parsed("", statementID: String(repeating: "S", count: reference + 1)))
        #expect(statement.code == .tooLarge && statement.message.contains("statement 1 has an id of \(reference + 1) bytes"), "\(statement)")
    }
}
