import Foundation

/// What an MT940 `:86:` field says about a line, in whichever of the three conventions the bank uses.
///
/// - German banks (and Triodos, with `>`): a three-digit business code then `?NN` subfields. `?20`–`?29` and
///   `?60`–`?63` are the purpose, cut into 27-character chunks mid-word, so they are joined without spaces;
///   `?31` is the other party's account, `?32`–`?33` its name. Inside the purpose, SEPA keywords split the
///   text: `EREF+` end-to-end id, `SVWZ+` the payer's remittance text, `ABWA+`/`ABWE+` ultimate parties.
/// - Dutch SEPA exports (Rabobank, ABN AMRO): `/TAG/value` pairs such as `/EREF/`, `/NAME/`, `/IBAN/`,
///   `/REMI/`, `/RTRN/`, wrapped at fixed width, so lines are joined without spaces.
/// - Anything else is free text: lines joined with spaces. Knab's `REK: <account>/NAAM: <name>` is picked out.
struct MT940Details: Equatable {
    var freeText = ""
    var name: String?
    var account: String?
    var endToEndID: String?
    var ultimateName: String?
    var structuredReference: String?
    var returnReason: String?

    /// The SEPA keywords German banks put inside the purpose text.
    static let sepaKeywords = ["EREF+", "KREF+", "MREF+", "CRED+", "DEBT+", "COAM+", "OAMT+", "SVWZ+", "ABWA+", "ABWE+", "IBAN+", "BIC+"]
    /// The tags of the Dutch `/TAG/value` convention. Remittance sub-tags (`USTD`, `STRD`, `CUR`) are left out
    /// on purpose: they belong inside `/REMI/`'s value.
    static let slashTags: Set<String> = [
        "TRTP", "IBAN", "BIC", "NAME", "EREF", "REMI", "MARF", "CSID", "ORDP", "BENM", "ISDT", "RTRN", "ADDR", "PREF", "KREF", "SVCL", "ULTD", "ULTC",
    ]

    /// No details: the line had no `:86:`.
    init() {}

    init(lines: [String], direction: BankStatementDirection) {
        let joined = lines.joined()
        if Self.isGerman(joined) {
            self.init(german: joined, direction: direction)
        } else if Self.isSlashTagged(joined) {
            self.init(slashTagged: joined, direction: direction)
        } else {
            self.init(freeText: lines.joined(separator: " "))
        }
    }

    private init(freeText text: String) {
        freeText = text.collapsingWhitespace
        // Knab: "… REK: NL65INGB0123456789/NAAM: PICQER".
        if let accountRange = freeText.range(of: "REK: ") {
            let rest = freeText[accountRange.upperBound...]
            account = rest.prefix(while: { $0 != "/" && $0 != " " }).description.nonPlaceholder
            if let nameRange = rest.range(of: "NAAM: ") { name = String(rest[nameRange.upperBound...]).nonPlaceholder }
        }
    }

    // MARK: German ?NN subfields

    static func isGerman(_ text: String) -> Bool {
        let characters = Array(text.prefix(6))
        return characters.count >= 6 && characters[0...2].allSatisfy(\.isASCIIDigitCharacter)
            && (characters[3] == "?" || characters[3] == ">") && characters[4...5].allSatisfy(\.isASCIIDigitCharacter)
    }

    private init(german text: String, direction: BankStatementDirection) {
        let separator = Array(text)[3]
        var subfields: [Int: String] = [:]
        let characters = Array(text.dropFirst(3))
        var key: Int?
        var value = ""
        var index = 0
        while index < characters.count {
            if characters[index] == separator, index + 2 < characters.count,
               characters[index + 1].isASCIIDigitCharacter, characters[index + 2].isASCIIDigitCharacter {
                if let key { subfields[key, default: ""] += value }
                key = Int(String(characters[(index + 1)...(index + 2)]))
                value = ""
                index += 3
                continue
            }
            value.append(characters[index])
            index += 1
        }
        if let key { subfields[key, default: ""] += value }

        let purposeKeys = Array(20...29) + Array(60...63)
        let purpose = purposeKeys.compactMap { subfields[$0] }.joined()
        let sections = Self.sepaSections(purpose)
        freeText = (sections["SVWZ+"] ?? purpose).collapsingWhitespace
        endToEndID = sections["EREF+"]?.nonPlaceholder
        ultimateName = sections[direction == .credit ? "ABWA+" : "ABWE+"]?.nonPlaceholder
        name = [subfields[32], subfields[33]].compactMap { $0 }.joined().nonPlaceholder
        account = subfields[31]?.nonPlaceholder ?? sections["IBAN+"]?.nonPlaceholder
        // Business transaction code 159 is a returned SEPA credit transfer (`?00RETOURE`): money of ours that
        // came back, never a payment to us. Its reason key, if given, is in `?34`.
        if text.hasPrefix("159") {
            returnReason = "159 RETOURE" + (subfields[34]?.nonPlaceholder.map { " \($0)" } ?? "")
        }
    }

    /// Splits a purpose at its SEPA keywords; text before the first keyword is dropped from the sections.
    static func sepaSections(_ purpose: String) -> [String: String] {
        var starts: [(position: String.Index, keyword: String)] = []
        for keyword in sepaKeywords {
            var searchStart = purpose.startIndex
            while let range = purpose.range(of: keyword, range: searchStart..<purpose.endIndex) {
                starts.append((range.lowerBound, keyword))
                searchStart = range.upperBound
            }
        }
        starts.sort { $0.position < $1.position }
        var sections: [String: String] = [:]
        for (offset, start) in starts.enumerated() {
            let valueStart = purpose.index(start.position, offsetBy: start.keyword.count)
            let valueEnd = offset + 1 < starts.count ? starts[offset + 1].position : purpose.endIndex
            guard valueStart <= valueEnd, sections[start.keyword] == nil else { continue }
            sections[start.keyword] = String(purpose[valueStart..<valueEnd])
        }
        return sections
    }

    // MARK: Dutch /TAG/value pairs

    static func isSlashTagged(_ text: String) -> Bool {
        let parts = text.split(separator: "/", maxSplits: 2, omittingEmptySubsequences: false)
        return parts.count >= 3 && parts[0].isEmpty && slashTags.contains(String(parts[1]))
    }

    private init(slashTagged text: String, direction: BankStatementDirection) {
        var fields: [(tag: String, tokens: [String])] = []
        for part in text.split(separator: "/", omittingEmptySubsequences: false).dropFirst() {
            let token = String(part)
            if Self.slashTags.contains(token) {
                fields.append((token, []))
            } else if !fields.isEmpty {
                fields[fields.count - 1].tokens.append(token)
            }
        }
        func value(_ tag: String) -> String? { fields.first { $0.tag == tag }?.tokens.joined(separator: "/") }
        name = value("NAME")?.nonPlaceholder
        account = value("IBAN")?.nonPlaceholder
        endToEndID = value("EREF")?.nonPlaceholder
        returnReason = value("RTRN")?.nonPlaceholder
        ultimateName = value(direction == .credit ? "ULTD" : "ULTC")?.nonPlaceholder
        if let remittance = value("REMI") {
            // `/REMI/USTD//text/` is free text; `/REMI/STRD/CUR/RF18…/` a structured reference.
            var text = Substring(remittance)
            if text.hasPrefix("USTD//") { text = text.dropFirst(6) }
            if text.hasPrefix("STRD/CUR/") {
                structuredReference = String(text.dropFirst(9)).trimmingSlashes.nonPlaceholder
                text = ""
            }
            freeText = String(text).trimmingSlashes.collapsingWhitespace
        } else {
            freeText = text.collapsingWhitespace
        }
    }
}

extension String {
    /// Without leading or trailing `/`.
    fileprivate var trimmingSlashes: String {
        var slice = Substring(self)
        while slice.first == "/" { slice.removeFirst() }
        while slice.last == "/" { slice.removeLast() }
        return String(slice)
    }
}
