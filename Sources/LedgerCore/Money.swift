/// An amount of money: integer minor units (cents) and a currency. Never floating point.
public struct Money: Sendable, Hashable, Codable, CustomStringConvertible {
    /// Minor units, e.g. 12500 for 125.00.
    public var minorUnits: Int64
    /// ISO 4217 code, upper case, e.g. `EUR`.
    public var currency: String

    public init(minorUnits: Int64, currency: String) {
        self.minorUnits = minorUnits
        self.currency = currency.uppercased()
    }

    /// Euros, the only currency a listing accepts.
    public static func euros(minorUnits: Int64) -> Money { Money(minorUnits: minorUnits, currency: "EUR") }

    /// Parses "125.00", "125,00", "125", "0.5" exactly: at most as many decimals as the currency's minor unit
    /// has (two for most, none for yen, three for dinars; see ``decimals(of:)``), no sign, no grouping.
    public init(parsing text: String, currency: String) throws(DomainError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        // What was given is named in the answer, cut short: a field of megabytes is not sent back whole.
        let shown = trimmed.prefix(41).count > 40 ? "\(trimmed.prefix(40))…" : trimmed
        var whole = Substring(trimmed)
        var fraction = Substring("")
        if let separator = trimmed.firstIndex(where: { $0 == "." || $0 == "," }) {
            whole = trimmed[..<separator]
            fraction = trimmed[trimmed.index(after: separator)...]
            guard !fraction.isEmpty else { throw .invalidAmount("'\(shown)' ends with a separator") }
        }
        guard !whole.isEmpty, whole.allSatisfy(\.isASCIIDigit), fraction.allSatisfy(\.isASCIIDigit) else {
            throw .invalidAmount("'\(shown)' is not an amount like 125.00")
        }
        let places = Self.decimals(of: currency.uppercased())
        guard fraction.count <= places else {
            throw .invalidAmount(places == 0 ? "'\(shown)' has decimals; \(currency.uppercased().prefix(10)) has none" : "'\(shown)' has more than \(places == 2 ? "two" : "three") decimals")
        }
        guard let units = Int64(whole), let part = Int64(places == 0 ? "0" : fraction.padding(toLength: places, withPad: "0", startingAt: 0)) else {
            throw .invalidAmount("'\(shown)' is too large")
        }
        let (scaled, overflowScale) = units.multipliedReportingOverflow(by: Self.scale(places))
        let (total, overflowAdd) = scaled.addingReportingOverflow(part)
        guard !overflowScale, !overflowAdd else { throw .invalidAmount("'\(shown)' is too large") }
        self.init(minorUnits: total, currency: currency)
    }

    /// The amount as "125.00" (as "1000" for yen, "1.250" for dinars: as many decimals as the currency's minor unit).
    public var decimalString: String {
        let sign = minorUnits < 0 ? "-" : ""
        let magnitude = minorUnits.magnitude
        let places = Self.decimals(of: currency)
        guard places > 0 else { return "\(sign)\(magnitude)" }
        let scale = UInt64(Self.scale(places))
        let fraction = String(magnitude % scale)
        return "\(sign)\(magnitude / scale).\(String(repeating: "0", count: places - fraction.count))\(fraction)"
    }

    /// How many decimals `currency`'s minor unit has (ISO 4217), which is what ``minorUnits`` counts: none for
    /// yen (`minorUnits` 1000 is ¥1,000), three for dinars (1250 is 1.250 KWD), two for the rest, the euro
    /// among them (and for an unnamed currency).
    /// Whether `text` has the shape of an ISO 4217 code: three ASCII letters.
    public static func isCurrencyCode(_ text: String) -> Bool {
        text.utf8.count == 3 && text.utf8.allSatisfy { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) }
    }

    public static func decimals(of currency: String) -> Int {
        if noDecimals.contains(currency) { return 0 }
        if threeDecimals.contains(currency) { return 3 }
        return 2
    }

    /// ISO 4217 currencies without minor units.
    private static let noDecimals: Set<String> = [
        "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF",
    ]
    /// ISO 4217 currencies with three decimals.
    private static let threeDecimals: Set<String> = ["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"]

    private static func scale(_ places: Int) -> Int64 { places == 0 ? 1 : places == 3 ? 1_000 : 100 }

    public var description: String { "\(decimalString) \(currency)" }

    /// Adds amounts of one currency, refusing overflow and mixed currencies.
    public func adding(_ other: Money) throws(DomainError) -> Money {
        guard currency == other.currency else { throw .currencyMismatch(currency, other.currency) }
        let (sum, overflow) = minorUnits.addingReportingOverflow(other.minorUnits)
        guard !overflow else { throw .invalidAmount("the sum of \(self) and \(other) overflows") }
        return Money(minorUnits: sum, currency: currency)
    }
}

extension Character {
    /// One of the ASCII digits 0-9, alone: a digit followed by a combining mark ("1\u{301}") is not one.
    var isASCIIDigit: Bool { asciiValue.map { (0x30...0x39).contains($0) } ?? false }
}

import Foundation
