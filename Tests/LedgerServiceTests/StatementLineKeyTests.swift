import Testing
@testable import LedgerService

/// A statement line's key is its identity across imports: a file imported again, by this version or a later
/// one, must give every line the key it had.
@Suite("Statement line keys")
struct StatementLineKeyTests {
    @Test
    func aLineKeyIsTheFirstHalfOfTheSHA256OfItsPartsInLowerCaseHex() {
        // sha256("ref\0NL91ABNA0417164300\0BR-1\00\0credit"), first 16 bytes.
        #expect(BankStatementImport.digest("ref", "NL91ABNA0417164300", "BR-1", "0", "credit") == "2b14a4ee87a6d531d22634ad2d9f63c4")
    }

    @Test
    func bytesAreWrittenAsTwoLowerCaseHexDigitsEach() {
        #expect([UInt8]([0x00, 0x0F, 0xA5, 0xFF, 0x10]).lowercaseHex == "000fa5ff10")
        #expect([UInt8]().lowercaseHex == "")
    }
}
