/// An International Bank Account Number whose ISO 13616 check digits hold.
///
/// Only the structure common to every country is checked (two letters, two check digits, 11–30 letters or
/// digits, remainder 1 modulo 97); whether the account exists is for the bank to say.
public struct IBAN: Sendable, Hashable, CustomStringConvertible {
    /// The shortest IBAN any country issues (Norway).
    public static let charactersMin = 15
    /// The longest IBAN ISO 13616 allows.
    public static let charactersMax = 34

    /// The IBAN without spaces, upper case, e.g. `NL91ABNA0417164300`.
    public let electronic: String

    /// Reads an IBAN with or without spaces, in any letter case; nil unless the check holds.
    public init?(parsing text: some StringProtocol) {
        // Statements nearly always write the electronic form already; only other text needs cleaning up.
        let compact = text.utf8.allSatisfy { Self.isDigit($0) || Self.isLetter($0) }
            ? String(text)
            : String(String(text).unicodeScalars.filter { !$0.properties.isWhitespace }).uppercased()
        guard Self.isValid(compact) else { return nil }
        electronic = compact
    }

    /// An account as MT940's `:25:` and some banks' exports write it: an IBAN, perhaps followed by its currency
    /// code (`NL91ABNA0417164300EUR`). The check digits of the whole text hold for about one such text in 97
    /// (`NL02ABNA0417164350EUR`), so where both readings are IBANs, the one of its country's registered length
    /// is the account; where that does not tell them apart, the one without the code.
    public init?(parsingAccount text: some StringProtocol) {
        let trimmed = String(String(text).unicodeScalars.filter { !$0.properties.isWhitespace })
        let whole = IBAN(parsing: trimmed)
        let endsInCode = trimmed.count > 3 && trimmed.suffix(3).allSatisfy { $0.isASCII && $0.isUppercase }
        let withoutCode = endsInCode ? IBAN(parsing: trimmed.dropLast(3)) : nil
        switch (whole, withoutCode) {
        case (nil, nil): return nil
        case (let only?, nil), (nil, let only?): self = only
        case (let whole?, let shorter?): self = whole.hasRegisteredLength && !shorter.hasRegisteredLength ? whole : shorter
        }
    }

    /// Whether the IBAN is as long as its country's IBANs are (SWIFT's IBAN registry); false for a country not
    /// in the table below.
    var hasRegisteredLength: Bool { Self.registeredLengths[countryCode] == electronic.utf8.count }

    /// IBAN lengths by country, from SWIFT's IBAN registry; used only to tell two readings of one text apart.
    static let registeredLengths: [String: Int] = [
        "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22, "BR": 29, "BY": 28,
        "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18,
        "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22,
        "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20,
        "LU": 20, "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15,
        "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SC": 31, "SE": 24, "SI": 19,
        "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
    ]

    /// The two-letter country code, e.g. `NL`.
    public var countryCode: String { String(electronic.prefix(2)) }

    /// The IBAN in groups of four for print, e.g. `NL91 ABNA 0417 1643 00`.
    public var printed: String {
        var groups: [Substring] = []
        var rest = Substring(electronic)
        while !rest.isEmpty {
            groups.append(rest.prefix(4))
            rest = rest.dropFirst(4)
        }
        return groups.joined(separator: " ")
    }

    /// The electronic form.
    public var description: String { electronic }

    /// True when `text` has the shape of an IBAN (country letters, two digits, letters or digits), whether or
    /// not its check digits hold: statements use this to tell an IBAN with a typo from a domestic number.
    static func looksLikeIBAN(_ text: some StringProtocol) -> Bool {
        let bytes = Array(text.utf8)
        guard (charactersMin...charactersMax).contains(bytes.count) else { return false }
        return isLetter(bytes[0]) && isLetter(bytes[1]) && isDigit(bytes[2]) && isDigit(bytes[3])
            && bytes[4...].allSatisfy { isDigit($0) || isLetter($0) }
    }

    static func isValid(_ compact: String) -> Bool {
        guard looksLikeIBAN(compact) else { return false }
        let bytes = Array(compact.utf8)
        return remainder(bytes[4...] + bytes[0..<4]) == 1
    }

    /// The IBAN of a domestic account: `country` (two capital letters), the check digits worked out, and
    /// `bban`; nil when that is no valid IBAN.
    public init?(country: String, bban: String) {
        // Only letters and digits are read into the remainder (anything else would not be an IBAN anyway).
        guard country.utf8.count == 2, country.utf8.allSatisfy(Self.isLetter),
              (1...Self.charactersMax - 4).contains(bban.utf8.count), bban.utf8.allSatisfy({ Self.isDigit($0) || Self.isLetter($0) })
        else { return nil }
        // The check digits make the account part, the country and the check digits leave 1 modulo 97.
        let check = 98 - Self.remainder(Array((bban + country + "00").utf8))
        self.init(parsing: country + (check < 10 ? "0" : "") + String(check) + bban)
    }

    /// ISO 7064 MOD 97-10 of digits and capital letters, letters read as 10…35.
    private static func remainder(_ bytes: some Sequence<UInt8>) -> Int {
        var remainder = 0
        for byte in bytes {
            if isDigit(byte) {
                remainder = (remainder * 10 + Int(byte - 48)) % 97
            } else {
                remainder = (remainder * 100 + Int(byte - 55)) % 97
            }
        }
        return remainder
    }

    private static func isDigit(_ byte: UInt8) -> Bool { (48...57).contains(byte) }
    private static func isLetter(_ byte: UInt8) -> Bool { (65...90).contains(byte) }
}
