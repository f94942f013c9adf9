import LedgerCore
import Payments
import Testing

@Suite("EPC QR code and IBAN")
struct BankEPCQRCodeTests {
    static let iban = IBAN(parsing: "NL91 ABNA 0417 1643 00")!
    static let reference = CreditorReference(parsing: "RF18 5390 0754 7034")!

    @Test
    func buildsTheExactVersion002PayloadWithAStructuredReference() throws {
        let code = try EPCQRCode(
            beneficiaryName: "Mediators Register", iban: Self.iban, bic: "abnanl2a", amount: .euros(minorUnits: 12_500),
            remittance: .structured(Self.reference)
        )
        #expect(code.payload == "BCD\n002\n1\nSCT\nABNANL2A\nMediators Register\nNL91ABNA0417164300\nEUR125.00\n\nRF18539007547034")
    }

    @Test
    func carriesFreeTextOnItsOwnLineWhenThereIsNoReference() throws {
        let code = try EPCQRCode(
            beneficiaryName: "Mediators Register", iban: Self.iban, bic: nil, amount: .euros(minorUnits: 5_000),
            remittance: .unstructured("Donation")
        )
        #expect(code.payload == "BCD\n002\n1\nSCT\n\nMediators Register\nNL91ABNA0417164300\nEUR50.00\n\n\nDonation")
    }

    @Test(arguments: [Int64(1), 99_999_999_999])
    func acceptsAmountsAtTheLimits(minorUnits: Int64) throws {
        _ = try EPCQRCode(beneficiaryName: "M", iban: Self.iban, bic: nil, amount: .euros(minorUnits: minorUnits), remittance: .structured(Self.reference))
    }

    @Test(arguments: [Int64(0), -100, 100_000_000_000])
    func refusesAmountsPastTheLimits(minorUnits: Int64) {
        #expect(throws: PaymentsError(.invalidAmount, "")) {
            try EPCQRCode(beneficiaryName: "M", iban: Self.iban, bic: nil, amount: .euros(minorUnits: minorUnits), remittance: .structured(Self.reference))
        }
    }

    @Test
    func refusesOtherCurrenciesNamesAndBICs() {
        #expect(throws: PaymentsError(.invalidAmount, "")) {
            try EPCQRCode(beneficiaryName: "M", iban: Self.iban, bic: nil, amount: Money(minorUnits: 12_500, currency: "USD"), remittance: .structured(Self.reference))
        }
        #expect(throws: PaymentsError(.invalidBeneficiaryName, "")) {
            try EPCQRCode(beneficiaryName: String(repeating: "x", count: 71), iban: Self.iban, bic: nil, amount: .euros(minorUnits: 1), remittance: .structured(Self.reference))
        }
        #expect(throws: PaymentsError(.invalidBeneficiaryName, "")) {
            try EPCQRCode(beneficiaryName: "Two\nlines", iban: Self.iban, bic: nil, amount: .euros(minorUnits: 1), remittance: .structured(Self.reference))
        }
        #expect(throws: PaymentsError(.invalidBIC, "")) {
            try EPCQRCode(beneficiaryName: "M", iban: Self.iban, bic: "ABN", amount: .euros(minorUnits: 1), remittance: .structured(Self.reference))
        }
        #expect(throws: PaymentsError(.invalidRemittance, "")) {
            try EPCQRCode(beneficiaryName: "M", iban: Self.iban, bic: nil, amount: .euros(minorUnits: 1), remittance: .unstructured(String(repeating: "x", count: 141)))
        }
    }

    @Test
    func seventyCharacterNameAndLongestTextStayWithin331Bytes() throws {
        let code = try EPCQRCode(
            beneficiaryName: String(repeating: "n", count: 70), iban: IBAN(parsing: "LC55HEMM000100010012001200023015")!, bic: "ABNANL2AXXX",
            amount: .euros(minorUnits: 99_999_999_999), remittance: .unstructured(String(repeating: "t", count: 140))
        )
        #expect(code.payload.utf8.count <= EPCQRCode.payloadBytesMax)
    }

    @Test(arguments: ["NL91ABNA0417164300", "nl91 abna 0417 1643 00", "DE89370400440532013000", "GB33BUKB20201555555555", "NO9386011117947"])
    func acceptsValidIBANs(text: String) {
        #expect(IBAN(parsing: text) != nil)
    }

    @Test(arguments: ["NL92ABNA0417164300", "NL91ABNA0417164301", "NL91ABNA0417146300", "NL47INGB9999999999", "NL91", "9191ABNA0417164300", "NL91ABNA04171643-0", ""])
    func rejectsIBANsWhoseCheckFails(text: String) {
        #expect(IBAN(parsing: text) == nil)
    }

    @Test
    func printsIBANsInGroupsOfFour() {
        #expect(Self.iban.printed == "NL91 ABNA 0417 1643 00")
        #expect(Self.iban.countryCode == "NL")
    }
}
