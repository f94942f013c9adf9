public import LedgerCore

/// The text of an EPC069-12 ("GiroCode", "Scan to pay") QR code for a SEPA credit transfer.
///
/// Version 002, character set 1 (UTF-8), identification `SCT`. A banking app that scans it fills in the
/// beneficiary, IBAN, amount and reference, so the payer types nothing and the RF reference arrives intact in
/// `CdtrRefInf`. The QR image itself is drawn by the website; this is only the payload.
public struct EPCQRCode: Sendable, Hashable {
    /// The most bytes the guideline allows in a payload.
    public static let payloadBytesMax = 331
    /// The longest beneficiary name the guideline allows.
    public static let beneficiaryNameCharactersMax = 70
    /// The longest unstructured remittance text the guideline allows.
    public static let remittanceTextCharactersMax = 140
    /// The largest amount the guideline allows, in cents: 999,999,999.99 EUR.
    public static let amountMinorUnitsMax: Int64 = 99_999_999_999

    /// What the payer's bank passes on to us.
    public enum Remittance: Sendable, Hashable {
        /// A structured creditor reference; the payload then carries no free text, as the guideline requires.
        case structured(CreditorReference)
        /// Free text, up to 140 characters.
        case unstructured(String)
    }

    /// The payload text, lines joined with `\n`, without trailing empty lines.
    public let payload: String

    /// Builds and checks the payload.
    ///
    /// - Parameters:
    ///   - beneficiaryName: the account holder's name, 1–70 characters.
    ///   - iban: the beneficiary's account.
    ///   - bic: the beneficiary bank's BIC; optional inside the EEA in version 002.
    ///   - amount: euros, 0.01–999,999,999.99.
    ///   - remittance: the RF reference, or free text when there is none.
    public init(beneficiaryName: String, iban: IBAN, bic: String?, amount: Money, remittance: Remittance) throws(PaymentsError) {
        let name = beneficiaryName.trimmingSpaces()
        guard !name.isEmpty, name.count <= Self.beneficiaryNameCharactersMax, !name.contains(where: \.isNewline) else {
            throw PaymentsError(.invalidBeneficiaryName, "the beneficiary name must be 1 to 70 characters on one line; got \(name.count) characters")
        }
        let bicText = bic.map { $0.trimmingSpaces().uppercased() } ?? ""
        guard bicText.isEmpty || Self.isBIC(bicText) else {
            throw PaymentsError(.invalidBIC, "'\(bicText.prefix(20))' is not a BIC like ABNANL2A or ABNANL2AXXX")
        }
        guard amount.currency == "EUR" else {
            throw PaymentsError(.invalidAmount, "SEPA credit transfers are in EUR only; got \(amount.currency)")
        }
        guard (1...Self.amountMinorUnitsMax).contains(amount.minorUnits) else {
            throw PaymentsError(.invalidAmount, "the amount must be 0.01 to 999999999.99 EUR; got \(amount.decimalString)")
        }
        var lines = ["BCD", "002", "1", "SCT", bicText, name, iban.electronic, "EUR\(amount.decimalString)", ""]
        switch remittance {
        case .structured(let reference):
            lines.append(reference.electronic)
        case .unstructured(let text):
            let trimmed = text.trimmingSpaces()
            guard !trimmed.isEmpty, trimmed.count <= Self.remittanceTextCharactersMax, !trimmed.contains(where: \.isNewline) else {
                throw PaymentsError(.invalidRemittance, "the remittance text must be 1 to 140 characters on one line; got \(trimmed.count) characters")
            }
            lines.append("")
            lines.append(trimmed)
        }
        let text = lines.joined(separator: "\n")
        guard text.utf8.count <= Self.payloadBytesMax else {
            throw PaymentsError(.payloadTooLong, "the payload is \(text.utf8.count) bytes; at most \(Self.payloadBytesMax) fit an EPC QR code")
        }
        payload = text
    }

    /// Four bank letters, two country letters, two location characters, optionally a three-character branch.
    public static func isBIC(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 8 || bytes.count == 11 else { return false }
        let isLetter: (UInt8) -> Bool = { (65...90).contains($0) }
        let isAlphanumeric: (UInt8) -> Bool = { isLetter($0) || (48...57).contains($0) }
        return bytes[0..<6].allSatisfy(isLetter) && bytes[6...].allSatisfy(isAlphanumeric)
    }
}

extension String {
    /// The text without leading or trailing spaces and tabs; avoids pulling in Foundation for one trim.
    func trimmingSpaces() -> String {
        var slice = Substring(self)
        while let first = slice.first, first == " " || first == "\t" { slice.removeFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice.removeLast() }
        return String(slice)
    }
}
