import LedgerCore
import Payments
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

    /// The key of a line with the bank's reference, and of the first and second of two identical lines without
    /// one, are the digests versions before gave them.
    @Test
    func aLinesKeyIsMadeOfTheSamePartsAsBefore() throws {
        let day = try #require(LocalDate(iso: "2026-03-02"))
        let referenced = BankStatementLine(
            statementIndex: 0, entryIndex: 0, transactionIndex: 0, direction: .credit, amount: .euros(minorUnits: 12_500), bookingDate: day,
            bankReference: " BR-1 "
        )
        guard case .reference(let key) = BankStatementImport.identity(referenced, account: "NL91ABNA0417164300") else {
            Issue.record("a line with the bank's reference is known by it")
            return
        }
        #expect(key == "2b14a4ee87a6d531d22634ad2d9f63c4")
        var plain = referenced
        plain.bankReference = "NONREF"
        guard case .content(let content) = BankStatementImport.identity(plain, account: "NL91ABNA0417164300") else {
            Issue.record("a line without the bank's reference is known by what it says")
            return
        }
        #expect(content == BankStatementImport.digest("line", "NL91ABNA0417164300", "2026-03-02", "credit", "12500", "EUR", "", "", "", "", ""))
        var seen: [String: Int] = [:]
        let keys = (0..<2).map { _ in BankStatementImport.counted(content, statement: 0, seen: &seen) }
        #expect(keys == [BankStatementImport.digest(content, "0"), BankStatementImport.digest(content, "1")])
    }

    @Test
    func bytesAreWrittenAsTwoLowerCaseHexDigitsEach() {
        #expect([UInt8]([0x00, 0x0F, 0xA5, 0xFF, 0x10]).lowercaseHex == "000fa5ff10")
        #expect([UInt8]().lowercaseHex == "")
    }
}
