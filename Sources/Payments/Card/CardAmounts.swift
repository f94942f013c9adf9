public import LedgerCore

/// How the card provider counts amounts, where it parts from ISO 4217, which ``Money`` follows.
///
/// The provider's integer amounts are in ISO 4217's minor units for every currency but two: it counts Icelandic
/// krónur in hundredths though ISO 4217 gives them none (`12500` is 125 ISK, and it takes whole krónur only), and
/// Malagasy ariary in whole units though ISO 4217 gives them two decimals (`500` is 500.00 MGA). Every amount
/// read from the provider and every amount sent to it passes through here.
public enum CardAmounts {
    /// Currencies the provider counts in hundredths where ISO 4217 counts whole units.
    static let countedInHundredths: Set<String> = ["ISK"]
    /// Currencies the provider counts in whole units where ISO 4217 counts hundredths.
    static let countedInWholeUnits: Set<String> = ["MGA"]

    /// The amount the provider's `units` of `currency` stand for; nil for a fraction of a whole króna (the
    /// provider never sends one) or an amount past ``LedgerBounds/amountMinorUnitsMax``.
    public static func money(providerUnits units: Int64, currency: String) -> Money? {
        let code = currency.uppercased()
        var minorUnits = units
        if countedInHundredths.contains(code) {
            guard units % 100 == 0 else { return nil }
            minorUnits = units / 100
        } else if countedInWholeUnits.contains(code) {
            let (scaled, overflow) = units.multipliedReportingOverflow(by: 100)
            guard !overflow else { return nil }
            minorUnits = scaled
        }
        guard LedgerBounds.acceptsAmount(minorUnits) else { return nil }
        return Money(minorUnits: minorUnits, currency: code)
    }

    /// `amount` as the provider counts it; nil for a fraction of a whole ariary, which the provider cannot be
    /// sent.
    public static func providerUnits(_ amount: Money) -> Int64? {
        if countedInHundredths.contains(amount.currency) {
            let (scaled, overflow) = amount.minorUnits.multipliedReportingOverflow(by: 100)
            return overflow ? nil : scaled
        }
        if countedInWholeUnits.contains(amount.currency) {
            return amount.minorUnits % 100 == 0 ? amount.minorUnits / 100 : nil
        }
        return amount.minorUnits
    }

    /// Whether the provider can be sent `amount`.
    public static func accepts(_ amount: Money) -> Bool { providerUnits(amount) != nil }

    /// ``providerUnits(_:)``, or an `unsupportedAmount` error saying why not.
    static func wireUnits(_ amount: Money) throws(PaymentsError) -> Int64 {
        guard let units = providerUnits(amount) else {
            throw PaymentsError(.unsupportedAmount, "the card provider takes \(amount.currency) in whole units only, not \(amount.decimalString)")
        }
        return units
    }
}
