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

    /// Parses "125.00", "125,00", "125", "0.5" exactly: at most two decimals, no sign, no grouping.
    public init(parsing text: String, currency: String) throws(DomainError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        var whole = Substring(trimmed)
        var fraction = Substring("")
        if let separator = trimmed.firstIndex(where: { $0 == "." || $0 == "," }) {
            whole = trimmed[..<separator]
            fraction = trimmed[trimmed.index(after: separator)...]
            guard !fraction.isEmpty else { throw .invalidAmount("'\(text)' ends with a separator") }
        }
        guard !whole.isEmpty, whole.allSatisfy(\.isASCIIDigit), fraction.allSatisfy(\.isASCIIDigit) else {
            throw .invalidAmount("'\(text)' is not an amount like 125.00")
        }
        guard fraction.count <= 2 else { throw .invalidAmount("'\(text)' has more than two decimals") }
        guard let units = Int64(whole), let cents = Int64(fraction.padding(toLength: 2, withPad: "0", startingAt: 0)) else {
            throw .invalidAmount("'\(text)' is too large")
        }
        let (scaled, overflowScale) = units.multipliedReportingOverflow(by: 100)
        let (total, overflowAdd) = scaled.addingReportingOverflow(cents)
        guard !overflowScale, !overflowAdd else { throw .invalidAmount("'\(text)' is too large") }
        self.init(minorUnits: total, currency: currency)
    }

    /// The amount as "125.00".
    public var decimalString: String {
        let sign = minorUnits < 0 ? "-" : ""
        let magnitude = minorUnits.magnitude
        let cents = magnitude % 100
        return "\(sign)\(magnitude / 100).\(cents < 10 ? "0" : "")\(cents)"
    }

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
