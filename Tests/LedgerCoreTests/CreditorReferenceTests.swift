@testable import LedgerCore
import Testing

@Suite("Creditor references")
struct CreditorReferenceTests {
    @Test(arguments: ["RF18 5390 0754 7034", "RF18539007547034", "rf18 5390\n0754 7034", "RF60ISO11649", "RF68AB2G5", "rf68ab2g5"])
    func acceptsTheStandardsExamplesInAnyLayout(text: String) {
        #expect(CreditorReference(parsing: text) != nil)
    }

    @Test
    func rendersElectronicAndPrintedForms() throws {
        let reference = try #require(CreditorReference(parsing: "rf18 5390 0754 7034"))
        #expect(reference.electronic == "RF18539007547034")
        #expect(reference.printed == "RF18 5390 0754 7034")
        #expect(reference.description == "RF18539007547034")
        #expect(try #require(CreditorReference(parsing: "RF68AB2G5")).printed == "RF68 AB2G 5")
    }

    @Test
    func computesTheStandardsCheckDigitsFromTheBody() {
        #expect(CreditorReference(body: "539007547034")?.electronic == "RF18539007547034")
        #expect(CreditorReference(body: "ISO11649")?.electronic == "RF60ISO11649")
        #expect(CreditorReference(body: "AB2G5")?.electronic == "RF68AB2G5")
    }

    @Test(arguments: [
        "RF19 5390 0754 7034", // wrong check digits
        "RF18 5390 0754 7043", // last two digits swapped
        "RF01 5390 0754 7034", // check digits outside 02–98
        "RF18", "RF1", "", "XX18539007547034", "RF1853900754703412345678901", // too short, wrong prefix, too long
        "RF18 5390-0754-7034", // punctuation is not layout
    ])
    func rejectsAnythingElse(text: String) {
        #expect(CreditorReference(parsing: text) == nil)
    }

    @Test
    func profileReferencesAreStableDigitOnlyAndKnown() throws {
        let profile = try ProfileID("mediator-1")
        let reference = CreditorReference.forProfile(profile)
        // FNV-1a 64 of "mediator-1" is 12903289013775560478; check digits computed independently with Python.
        #expect(reference.electronic == "RF9412903289013775560478")
        #expect(CreditorReference.forProfile(try ProfileID("mediator-1")) == reference)
        #expect(CreditorReference.forProfile(try ProfileID("mediator-42")).electronic == "RF2310524892715045543517")
        #expect(reference.body.allSatisfy { $0.isNumber })
        #expect(CreditorReference(parsing: reference.printed) == reference)
    }

    /// Every one-character slip and every swap of neighbouring body digits must fail the check; checked
    /// exhaustively, not sampled, for a spread of profile references.
    @Test(arguments: ["mediator-1", "mediator-2", "advocate-7", "m", "a-very-long.profile_id-0123456789"])
    func everySingleDigitSlipAndAdjacentSwapIsRejected(id: String) throws {
        let reference = CreditorReference.forProfile(try ProfileID(id))
        let digits = Array(reference.body)
        let prefix = String(reference.electronic.prefix(4))
        var variants = 0
        for position in digits.indices {
            for digit in "0123456789" where digit != digits[position] {
                var slipped = digits
                slipped[position] = digit
                #expect(CreditorReference(parsing: prefix + String(slipped)) == nil, "\(prefix + String(slipped))")
                variants += 1
            }
            if position + 1 < digits.count, digits[position] != digits[position + 1] {
                var swapped = digits
                swapped.swapAt(position, position + 1)
                #expect(CreditorReference(parsing: prefix + String(swapped)) == nil, "\(prefix + String(swapped))")
                variants += 1
            }
        }
        #expect(variants >= digits.count * 9)
    }

    @Test
    func findsReferencesTypedIntoMessyText() {
        let text = "Contribution rf18 5390 0754 7034 thanks\nalso RF60\nISO11649, not RF19 5390 0754 7034 nor xRF68AB2G5"
        #expect(CreditorReference.find(in: text).map(\.electronic) == ["RF18539007547034", "RF60ISO11649"])
    }

    @Test
    func findsAReferenceAtTheEdgesAndOnlyOnce() {
        #expect(CreditorReference.find(in: "RF68AB2G5").map(\.electronic) == ["RF68AB2G5"])
        #expect(CreditorReference.find(in: "RF68AB2G5 and again rf68 ab2g5.").map(\.electronic) == ["RF68AB2G5"])
        #expect(CreditorReference.find(in: "(RF18539007547034)").map(\.electronic) == ["RF18539007547034"])
    }

    /// A reference followed by a short word can read as a longer valid one: both are found, the longer first,
    /// so the one somebody holds is not lost.
    @Test
    func aReferenceFollowedByAShortWordIsFoundAsWrittenToo() {
        // (Its first four groups hold valid check digits too.)
        #expect(
            CreditorReference.find(in: "RF07 1290 3287 9142 6393 2267 1 jaar").map(\.electronic)
                == ["RF07129032879142639322671", "RF0712903287914263932267", "RF07129032879142"]
        )
        #expect(CreditorReference.find(in: "RF0712903287914263932267 | 1 jaar").map(\.electronic) == ["RF0712903287914263932267"])
    }

    @Test(arguments: ["", "rfid card 2026", "RF19 5390 0754 7034", "Lidmaatschap 2026 RF", "RF 18"])
    func findsNothingWithoutValidCheckDigits(text: String) {
        #expect(CreditorReference.find(in: text).isEmpty)
    }

    @Test
    func eachPurposeHasItsOwnReferenceAndSaysWhoseItIs() throws {
        let profile = try ProfileID("ada-1")
        let listing = CreditorReference.forProfile(profile)
        let donation = CreditorReference.forDonation(by: profile)
        #expect(listing.use == .listing)
        #expect(donation.use == .donation(listingReference: listing))
        #expect(CreditorReference.generalDonation.use == .generalDonation)
        #expect(CreditorReference.generalDonation.printed == "RF39 2000 0000 0000 0000 0000 0", "as the README prints it")
        #expect(donation != listing && donation.body.count == 21 && donation.body.allSatisfy(\.isNumber))
        // Typed with spaces in lower case, it is found and still says what it pays for.
        #expect(CreditorReference.find(in: "gift \(donation.printed.lowercased())").map(\.use) == [.donation(listingReference: listing)])
        // A slip in one digit fails the check instead of naming another profile's donation.
        var digits = Array(donation.electronic)
        digits[10] = digits[10] == "1" ? "2" : "1"
        #expect(CreditorReference(parsing: String(digits)) == nil)
    }
}
