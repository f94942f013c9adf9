import Foundation
import LedgerCore
@testable import Payments
import Testing

/// Writes what the tokenizer reports as compact text: `<name a="v">`, text, `</>`.
private struct RecordingHandler: XMLTokenHandler {
    var events: [String] = []
    var lines: [Int] = []
    private var text: [UInt8] = []

    mutating func startElement(_ tag: XMLStartTag, line: Int) throws {
        flushText()
        let attributes = tag.attributes.map { " \($0.name)=\"\($0.value)\"" }.joined()
        events.append("<\(tag.prefix.map { "\($0):" } ?? "")\(tag.localName)\(attributes)>")
        lines.append(line)
    }

    mutating func characters(_ bytes: UnsafeBufferPointer<UInt8>, line: Int) throws {
        text.append(contentsOf: bytes)
    }

    mutating func endElement(line: Int) throws {
        flushText()
        events.append("</>")
    }

    mutating func flushText() {
        guard !text.isEmpty else { return }
        events.append(String(decoding: text, as: UTF8.self))
        text.removeAll()
    }
}

/// Feeds `bytes` to a fresh tokenizer, `chunkBytes` at a time, and returns the events.
private func tokenize(_ bytes: [UInt8], chunkBytes: Int = 64 * 1024, markupBytesMax: Int = XMLTokenizer.markupBytesMaxDefault) throws -> [String] {
    var tokenizer = XMLTokenizer(documentName: "test.xml", markupBytesMax: markupBytesMax)
    var handler = RecordingHandler()
    var start = 0
    while start < bytes.count {
        let end = min(start + chunkBytes, bytes.count)
        try tokenizer.feed(bytes[start..<end], to: &handler)
        start = end
    }
    try tokenizer.finish(&handler)
    handler.flushText()
    return handler.events
}

private func tokenize(_ xml: String, chunkBytes: Int = 64 * 1024) throws -> [String] {
    try tokenize(Array(xml.utf8), chunkBytes: chunkBytes)
}

/// The error tokenizing `bytes` throws, or nil.
private func refusal(_ bytes: [UInt8], chunkBytes: Int = 64 * 1024) -> PaymentsError? {
    do {
        _ = try tokenize(bytes, chunkBytes: chunkBytes)
        return nil
    } catch let error as PaymentsError {
        return error
    } catch {
        Issue.record("unexpected error \(error)")
        return nil
    }
}

private func refusal(_ xml: String) -> PaymentsError? { refusal(Array(xml.utf8)) }

@Suite("XML tokenizer")
struct BankXMLTokenizerTests {
    /// A document using every construct the tokenizer reads.
    static let everything = """
        \u{FEFF}<?xml version="1.0" encoding="UTF-8" standalone='yes'?>
        <!-- a comment with <tags> & ampersands -->
        <?bank-processing instruction?>
        <ns:Document xmlns:ns="urn:x" attr='a "quoted" &amp; &#x3e; value'>
          <Amt Ccy="EUR" Note='1 > 0'>12.50</Amt>
          <Ustrd>R&#xE9;f&#233;rence &lt;RF18 5390&gt; &quot;x&quot; &apos;y&apos; ä€𝄞</Ustrd>
          <Empty/><Empty a="1" />
          <Data><![CDATA[<not a="tag"> &amp; ]] ]>]]></Data>
        </ns:Document>
        <!-- trailing comment -->

        """

    @Test
    func everyConstructIsReadWithReferencesReplaced() throws {
        let events = try tokenize(Self.everything).filter { !$0.allSatisfy(\.isWhitespace) }
        #expect(events == [
            #"<ns:Document xmlns:ns="urn:x" attr="a "quoted" & > value">"#,
            #"<Amt Ccy="EUR" Note="1 > 0">"#, "12.50", "</>",
            "<Ustrd>", #"Référence <RF18 5390> "x" 'y' ä€𝄞"#, "</>",
            "<Empty>", "</>", #"<Empty a="1">"#, "</>",
            "<Data>", #"<not a="tag"> &amp; ]] ]>"#, "</>",
            "</>",
        ])
    }

    /// Cutting the document into chunks of every size from 1 byte up gives the same events, so no token, reference
    /// or UTF-8 character is mangled where a chunk ends.
    @Test
    func chunkBoundariesAnywhereGiveTheSameEvents() throws {
        let expected = try tokenize(Self.everything)
        for chunkBytes in 1...64 {
            #expect(try tokenize(Self.everything, chunkBytes: chunkBytes) == expected, "chunks of \(chunkBytes) bytes")
        }
    }

    @Test
    func cdataIsTextAndMayHoldMarkup() throws {
        #expect(try tokenize("<a>x<![CDATA[<b>&amp;</b>]]>y</a>") == ["<a>", "x<b>&amp;</b>y", "</>"])
    }

    @Test
    func attributeMayHoldAClosingAngleBracketInEitherQuote() throws {
        #expect(try tokenize(#"<a x='1>2' y="'>'"/>"#) == [#"<a x="1>2" y="'>'">"#, "</>"])
    }

    @Test
    func attributeWhitespaceIsNormalisedToSpaces() throws {
        #expect(try tokenize("<a x=\"1\n2\t3\"/>") == [#"<a x="1 2 3">"#, "</>"])
    }

    @Test
    func startTagLineIsReported() throws {
        var tokenizer = XMLTokenizer(documentName: "test.xml")
        var handler = RecordingHandler()
        try tokenizer.feed(Array("<a>\n<b/>\n\n<c>x</c></a>".utf8), to: &handler)
        try tokenizer.finish(&handler)
        #expect(handler.lines == [1, 2, 4])
    }

    @Test(arguments: [
        ("<!DOCTYPE a><a/>", "DOCTYPE"),
        ("<a><!ENTITY x 'y'></a>", "ENTITY"),
        ("<!doctype a><a/>", "doctype"),
    ])
    func declarationsAreUnsafe(xml: String, named: String) throws {
        let error = try #require(refusal(xml))
        #expect(error.code == .unsafeDocument)
        #expect(error.message.contains(named))
    }

    @Test(arguments: [
        ("<a>&xxe;</a>", "&xxe;"),
        ("<a>&#0;</a>", "not a character"),
        ("<a>&#xD800;</a>", "not a character"),
        ("<a>AT&T</a>", "reference"),
        ("<a></b>", "does not match"),
        ("<a><b></a>", "does not match"),
        ("<a/><b/>", "follows the root"),
        ("<a/>text", "after the root"),
        ("text<a/>", "before the root"),
        ("<a>", "truncated"),
        ("<a><b x=\"1", "truncated"),
        ("<a><!-- open", "truncated"),
        ("", "no root element"),
        ("<a x=1/>", "quotes"),
        ("<a x=\"1\" x=\"2\"/>", "twice"),
        ("<a x=\"<\"/>", "'<' inside an attribute"),
        ("<a x=\"1\"y=\"2\"/>", "whitespace"),
        ("<a>]]></a>", "']]>'"),
        ("<a><!-- x -- y --></a>", "'--'"),
        ("<a/><?xml version=\"1.0\"?>", "very start"),
        (" <?xml version=\"1.0\"?><a/>", "very start"),
        ("<?xml encoding=\"UTF-8\"?><a/>", "version"),
        ("<a><![CDATA[x]]></a><![CDATA[y]]>", "CDATA"),
        ("<1a/>", "element name"),
        ("<a>\u{01}</a>", "control character"),
    ])
    func malformedDocumentsAreRefused(xml: String, reason: String) throws {
        let error = try #require(refusal(xml))
        #expect(error.code == .malformed)
        #expect(error.message.contains(reason), "\(error.message)")
    }

    @Test(arguments: [
        [0xC3, 0x28],  // a lead byte without its continuation
        [0xC0, 0xAF],  // an overlong '/'
        [0xED, 0xA0, 0x80],  // a surrogate
        [0xF4, 0x90, 0x80, 0x80],  // past U+10FFFF
        [0xFF],
    ] as [[UInt8]])
    func invalidUTF8IsRefusedWithItsByteOffset(bad: [UInt8]) throws {
        let bytes = Array("<a>ok ".utf8) + bad + Array("</a>".utf8)
        let error = try #require(refusal(bytes, chunkBytes: 4))
        #expect(error.code == .malformed)
        #expect(error.message.contains("byte 7") || error.message.contains("byte 8"), "\(error.message)")
    }

    @Test
    func documentEndingInsideAUTF8CharacterIsTruncated() throws {
        let bytes = Array("<a>€</a>".utf8)
        // Everything but the last byte of the euro sign, then the element can never close either.
        let error = try #require(refusal(Array(bytes[..<5])))
        #expect(error.code == .malformed)
    }

    @Test
    func otherEncodingsAreUnsupported() throws {
        #expect(refusal("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a/>")?.code == .unsupportedFormat)
    }

    @Test
    func errorsNameTheLineAndByte() throws {
        let error = try #require(refusal("<a>\n  <b>\n  </c>\n</a>"))
        #expect(error.message.contains("test.xml is not well-formed XML at line 3, byte 13"), "\(error.message)")
    }

    @Test
    func tagAtTheMarkupCapIsReadAndOnePastItIsRefused() throws {
        let tag = "<a x=\"" + String(repeating: "v", count: 100) + "\">"
        let document = Array((tag + "</a>").utf8)
        #expect(try tokenize(document, chunkBytes: 16, markupBytesMax: tag.utf8.count).count == 2)
        #expect(throws: PaymentsError(.tooLarge, "")) {
            try tokenize(document, chunkBytes: 16, markupBytesMax: tag.utf8.count - 1)
        }
    }
}

@Suite("camt.053 through the tokenizer")
struct BankCamtTokenizerTests {
    @Test
    func cdataReferencesAndSingleQuotesAreRead() throws {
        let entry = "<Ntry><Amt Ccy='EUR'>125.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>2026-01-15</Dt></BookgDt>"
            + "<NtryDtls><TxDtls><RltdPties><Dbtr><Nm>M&#xFC;ller &amp; S&#246;hne</Nm></Dbtr></RltdPties>"
            + "<RmtInf><Ustrd><![CDATA[Contribution <RF18 5390 0754 7034>]]></Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>"
        let xml = CamtDocument.document(opening: 0, closing: 12_500, entries: [entry])
        let line = try #require(try BankStatementParser().statements(fileURL: try BankFixtures.temporaryFile(xml, extension: "xml")).first?.lines.first)
        #expect(line.amount == eur(12_500))
        #expect(line.payerName == "Müller & Söhne")
        #expect(line.freeText == "Contribution <RF18 5390 0754 7034>")
    }

    /// A comment pads the document so that the first entry's `<Amt Ccy="EUR">` straddles the 64 KiB read boundary.
    @Test
    func elementSplitAcrossTheReadBoundaryIsRead() throws {
        let head = CamtDocument.head + CamtDocument.balance("OPBD", 0) + CamtDocument.balance("CLBD", 12_500)
        let entry = CamtDocument.entry(12_500)
        let amountOffset = Array(entry.utf8).firstIndex(of: UInt8(ascii: "C"))!  // inside `<Amt Ccy=…`
        let padding = 64 * 1024 - head.utf8.count - "<!---->".utf8.count - amountOffset
        let xml = head + "<!--" + String(repeating: "x", count: padding) + "-->" + entry + CamtDocument.tail
        let boundaryText = String(decoding: Array(xml.utf8)[(64 * 1024 - 8)..<(64 * 1024 + 8)], as: UTF8.self)
        #expect(boundaryText.contains("<Amt"))
        let statement = try #require(try BankStatementParser().statements(fileURL: try BankFixtures.temporaryFile(xml, extension: "xml")).first)
        #expect(statement.lines.map(\.amount) == [eur(12_500)])
        #expect(statement.overview.integrity == .balanced)
    }

    @Test
    func undeclaredEntityInAFileIsRefused() throws {
        let xml = CamtDocument.document(opening: 0, closing: 0, entries: []).replacingOccurrences(of: "<Id>S1</Id>", with: "<Id>&xxe;</Id>")
        let error = try #require(BankFixtures.error(parsing: try BankFixtures.temporaryFile(xml, extension: "xml")))
        #expect(error.code == .malformed)
        #expect(error.message.contains("&xxe;"))
    }

    @Test
    func textAfterTheRootIsRefused() throws {
        let xml = CamtDocument.document(opening: 0, closing: 0, entries: []) + "trailing"
        #expect(BankFixtures.error(parsing: try BankFixtures.temporaryFile(xml, extension: "xml"))?.code == .malformed)
    }

    @Test
    func prefixedDocumentElementIsRead() throws {
        let xml = CamtDocument.document(opening: 0, closing: 12_500, entries: [CamtDocument.entry(12_500)])
            .replacingOccurrences(of: "<Document xmlns=", with: "<c:Document xmlns:c=")
            .replacingOccurrences(of: "</Document>", with: "</c:Document>")
        let statement = try #require(try BankStatementParser().statements(fileURL: try BankFixtures.temporaryFile(xml, extension: "xml")).first)
        #expect(statement.lines.count == 1)
    }
}
