import Foundation
import LedgerCore
@testable import Payments
import Testing

/// What an unauthenticated sender can make verification and parsing cost, and what a malformed number
/// reads as.
@Suite("Bounded verification and parsing")
struct VerificationCostTests {
    static let secret = "whsec_plJ3xQ9ZbRkq7sT2vW8yNc4M"
    static let timestamp: Int64 = 1_767_225_600
    static let payload = Data(#"{"id":"evt_1","object":"event"}"#.utf8)

    static func verify(_ header: String) throws(PaymentsError) {
        try CardSignature.verify(payload: payload, header: header, secrets: [secret], now: Date(timeIntervalSince1970: TimeInterval(timestamp)))
    }

    @Test
    func aHeaderWithManySignaturesIsRefusedBeforeAnyIsChecked() {
        let wrong = String(repeating: "ab", count: 32)
        let header = "t=\(Self.timestamp)," + Array(repeating: "v1=\(wrong)", count: 1_100).joined(separator: ",")
        #expect(throws: PaymentsError.self) { try Self.verify(header) }
        do {
            try Self.verify(header)
        } catch {
            #expect(error.code == .malformedHeader)
        }
    }

    @Test
    func theSignatureLimitsAreExactly() throws {
        let valid = CardSignature.signature(payload: Self.payload, secret: Self.secret, timestamp: Self.timestamp)
        let wrong = String(repeating: "cd", count: 32)
        // At the limit: three wrong signatures and the right one are accepted.
        let atLimit = "t=\(Self.timestamp)," + (Array(repeating: "v1=\(wrong)", count: CardSignature.signaturesMax - 1) + ["v1=\(valid)"]).joined(separator: ",")
        try Self.verify(atLimit)
        // One past it is refused, even though the right one is among them.
        let pastLimit = "t=\(Self.timestamp)," + (Array(repeating: "v1=\(wrong)", count: CardSignature.signaturesMax) + ["v1=\(valid)"]).joined(separator: ",")
        #expect(throws: PaymentsError.self) { try Self.verify(pastLimit) }
        let long = "t=\(Self.timestamp),v1=\(valid)," + String(repeating: "x", count: CardSignature.headerBytesMax)
        #expect(throws: PaymentsError.self) { try Self.verify(long) }
    }

    @Test
    func aDigitWithACombiningMarkIsNotADigit() {
        #expect(StatementAmount.minorUnits("1\u{301}", separator: ".", currency: "EUR") == nil)
        #expect(StatementAmount.minorUnits("1\u{301}.00", separator: ".", currency: "EUR") == nil)
        #expect(StatementAmount.minorUnits("125.0\u{301}", separator: ".", currency: "EUR") == nil)
        #expect(StatementAmount.minorUnits("١٢٥.00", separator: ".", currency: "EUR") == nil)
        #expect(StatementAmount.minorUnits("000.50", separator: ".", currency: "EUR") == 50)
        #expect(throws: DomainError.self) { try Money(parsing: "1\u{301}", currency: "EUR") }
    }

    @Test
    func aTagWithTooManyAttributesIsRefusedQuickly() throws {
        func document(attributes: Int) -> [UInt8] {
            let list = (0..<attributes).map { " a\($0)=\"v\"" }.joined()
            return Array("<Document\(list)><Amt>1</Amt></Document>".utf8)
        }
        struct Ignore: XMLTokenHandler {
            mutating func startElement(_ tag: XMLStartTag, line: Int) throws {}
            mutating func characters(_ bytes: UnsafeBufferPointer<UInt8>, line: Int) throws {}
            mutating func endElement(line: Int) throws {}
        }
        func tokenize(_ bytes: [UInt8]) throws {
            var tokenizer = XMLTokenizer(documentName: "test.xml", markupBytesMax: 1 << 20)
            var handler = Ignore()
            try tokenizer.feed(bytes, to: &handler)
            try tokenizer.finish(&handler)
        }
        try tokenize(document(attributes: XMLTokenizer.attributesPerTagMax))
        #expect(throws: PaymentsError.self) { try tokenize(document(attributes: XMLTokenizer.attributesPerTagMax + 1)) }
        #expect(throws: PaymentsError.self) { try tokenize(document(attributes: 20_000)) }
    }
}
