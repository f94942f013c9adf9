/// An ISO 11649 structured creditor reference: `RF`, two check digits, then 1 to 21 letters or digits.
///
/// The check works like an IBAN's: move `RF` and the check digits to the end, read letters as 10…35, and the
/// number modulo 97 must be 1. Profiles get references with a digits-only body, because for digits ISO 7064
/// MOD 97-10 catches every single-digit slip and every swap of two neighbours; payers copy these by hand.
public struct CreditorReference: Sendable, Hashable, CustomStringConvertible {
    /// The longest body ISO 11649 allows.
    public static let bodyCharactersMax = 21
    /// How many digits a profile's reference carries: all twenty digits of a 64-bit number, zero padded.
    static let profileBodyDigits = 20

    /// The reference without spaces, upper case, e.g. `RF18539007547034`: what travels in `CdtrRefInf/Ref`.
    public let electronic: String

    private init(validatedElectronic: String) {
        electronic = validatedElectronic
    }

    /// The reference with check digits computed for `body`, which must be 1–21 ASCII letters or digits.
    public init?(body: String) {
        let upper = body.uppercased()
        guard (1...Self.bodyCharactersMax).contains(upper.utf8.count), upper.utf8.allSatisfy(Self.isAlphanumeric) else {
            return nil
        }
        let remainder = Self.mod97(upper + "RF00")
        let check = 98 - remainder
        self.init(validatedElectronic: "RF\(check < 10 ? "0" : "")\(check)\(upper)")
    }

    /// Reads a reference as payers and banks write it: spaces and line breaks anywhere, any letter case.
    /// Nil unless it is `RF`, two check digits and 1–21 letters or digits, and the check holds.
    public init?(parsing text: String) {
        let compact = String(text.unicodeScalars.filter { !$0.properties.isWhitespace }).uppercased()
        guard Self.isValid(compact) else { return nil }
        self.init(validatedElectronic: compact)
    }

    /// The stable reference of a profile.
    ///
    /// The body is the 64-bit FNV-1a hash of the id's UTF-8 bytes written as twenty decimal digits, so it never
    /// changes while the id does not, needs no stored counter, and is digits only. Two ids can share a hash in
    /// principle; the service that hands references out checks for that, not this function.
    public static func forProfile(_ profileID: ProfileID) -> CreditorReference {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in profileID.rawValue.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let digits = String(hash)
        let padded = String(repeating: "0", count: profileBodyDigits - digits.count) + digits
        // Twenty digits are always a valid body, so this cannot fail.
        return CreditorReference(body: padded)!
    }

    /// The reference a profile's donations are paid with: `1` and then the body of its listing reference (21
    /// digits), so a bank line pays a donation, not a listing, and names the profile.
    public static func forDonation(by profileID: ProfileID) -> CreditorReference {
        // 21 digits are always a valid body.
        CreditorReference(body: "1" + forProfile(profileID).body)!
    }

    /// The reference for donations from anyone: 21 digits beginning with `2`, which no profile's reference has.
    public static let generalDonation = CreditorReference(body: "2" + String(repeating: "0", count: profileBodyDigits))!

    /// What a reference pays for, as far as its form says.
    public enum Use: Sendable, Hashable {
        /// A listing contribution of the profile holding this reference (its claim says who).
        case listing
        /// A donation by the profile holding `listingReference`.
        case donation(listingReference: CreditorReference)
        /// A donation from anyone.
        case generalDonation
    }

    /// Whether this is a listing, a profile's donation or a general donation reference.
    public var use: Use {
        if self == Self.generalDonation { return .generalDonation }
        let digits = body
        if digits.utf8.count == Self.profileBodyDigits + 1, digits.hasPrefix("1"), digits.utf8.allSatisfy({ (48...57).contains($0) }),
           let listing = CreditorReference(body: String(digits.dropFirst())) {
            return .donation(listingReference: listing)
        }
        return .listing
    }

    /// The reference in groups of four for print, e.g. `RF18 5390 0754 7034`.
    public var printed: String {
        var groups: [Substring] = []
        var rest = Substring(electronic)
        while !rest.isEmpty {
            groups.append(rest.prefix(4))
            rest = rest.dropFirst(4)
        }
        return groups.joined(separator: " ")
    }

    /// The body after `RF` and the check digits.
    public var body: Substring { electronic.dropFirst(4) }

    /// The electronic form.
    public var description: String { electronic }

    /// Every valid reference written anywhere in free text, in order of appearance, each once.
    ///
    /// Payers type references with spaces, in lower case and across line breaks ("Contribution rf18 5390 0754
    /// 7034 thanks"), so a candidate is `RF` at the start of a word followed by letters and digits with any
    /// whitespace between them. A candidate only ends where a word ends; every ending whose check digits hold
    /// is found, the longest first: a reference followed by a short word can read as a longer valid one
    /// (`RF07 1290 3287 9142 6393 2267 1 jaar` holds `RF07…22671` as well as `RF07…2267`), so the caller takes
    /// the first one somebody holds. Text with wrong check digits yields nothing.
    public static func find(in text: String) -> [CreditorReference] {
        let bytes = Array(text.utf8)
        var found: [CreditorReference] = []
        // Looked up in a set: a text holding thousands of references would otherwise cost their square.
        var seen: Set<CreditorReference> = []
        var index = 0
        while index + 1 < bytes.count {
            defer { index += 1 }
            guard bytes[index] | 0x20 == UInt8(ascii: "r"), bytes[index + 1] | 0x20 == UInt8(ascii: "f"),
                  index == 0 || !isAlphanumeric(bytes[index - 1]) else { continue }
            for reference in references(in: bytes, after: index + 2) where seen.insert(reference).inserted {
                found.append(reference)
            }
        }
        return found
    }

    /// The valid references whose check digits and body start at `start`, each ending at a word end, the
    /// longest first.
    private static func references(in bytes: [UInt8], after start: Int) -> [CreditorReference] {
        var characters: [UInt8] = []
        var wordEnds: [Int] = []
        var position = start
        let charactersMax = 2 + bodyCharactersMax
        while position < bytes.count, characters.count < charactersMax {
            let byte = bytes[position]
            if isAlphanumeric(byte) {
                characters.append(byte)
                position += 1
                if position == bytes.count || !isAlphanumeric(bytes[position]) { wordEnds.append(characters.count) }
            } else if byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D {
                position += 1
            } else {
                break
            }
        }
        return wordEnds.reversed().compactMap { length in
            guard length >= 3 else { return nil }
            let candidate = "RF" + String(decoding: characters[..<length], as: UTF8.self).uppercased()
            return isValid(candidate) ? CreditorReference(validatedElectronic: candidate) : nil
        }
    }

    /// True for `RF`, check digits 02–98, a 1–21 character body, and a remainder of 1.
    static func isValid(_ compact: String) -> Bool {
        let bytes = Array(compact.utf8)
        guard bytes.count >= 5, bytes.count <= 4 + bodyCharactersMax,
              bytes[0] == UInt8(ascii: "R"), bytes[1] == UInt8(ascii: "F"),
              isDigit(bytes[2]), isDigit(bytes[3]),
              bytes[4...].allSatisfy({ isDigit($0) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) }) else {
            return false
        }
        // 00, 01 and 99 are never produced by the check-digit rule, so a reference carrying them was not issued.
        let check = Int(bytes[2] - 48) * 10 + Int(bytes[3] - 48)
        guard (2...98).contains(check) else { return false }
        let rearranged = String(decoding: bytes[4...] + bytes[0..<4], as: UTF8.self)
        return mod97(rearranged) == 1
    }

    /// The ISO 7064 remainder of upper-case letters and digits, letters read as 10…35.
    static func mod97(_ text: String) -> Int {
        var remainder = 0
        for byte in text.utf8 {
            if isDigit(byte) {
                remainder = (remainder * 10 + Int(byte - 48)) % 97
            } else {
                remainder = (remainder * 100 + Int(byte - 55)) % 97
            }
        }
        return remainder
    }

    private static func isDigit(_ byte: UInt8) -> Bool { (48...57).contains(byte) }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        isDigit(byte) || (65...90).contains(byte) || (97...122).contains(byte)
    }
}
