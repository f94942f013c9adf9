public import LedgerCore

/// How the card provider writes an amount of a currency, and how the ledger keeps it.
///
/// The ledger keeps every amount in hundredths of its currency's unit (``Money/minorUnits``): ¥1,000 is
/// 1000.00 JPY. The card provider writes integers in the currency's own smallest unit: cents for most
/// currencies, whole units for zero-decimal ones (`1000` is ¥1,000) and thousandths for three-decimal ones
/// (`1250` is 1.250 KWD, where the provider takes only multiples of 10). Every amount in or out of the card
/// provider passes through here.
public enum CardAmountScale {
    /// Currencies the card provider writes in whole units.
    static let zeroDecimal: Set<String> = [
        "BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF",
    ]
    /// Currencies the card provider writes in thousandths.
    static let threeDecimal: Set<String> = ["BHD", "JOD", "KWD", "OMR", "TND"]

    /// The ledger's hundredths for `units` as the provider wrote them in `currency` (upper case); nil when the
    /// amount has no exact hundredths (thousandths that are not a multiple of 10) or does not fit.
    public static func hundredths(providerUnits units: Int64, currency: String) -> Int64? {
        if zeroDecimal.contains(currency) {
            let (scaled, overflow) = units.multipliedReportingOverflow(by: 100)
            return overflow ? nil : scaled
        }
        if threeDecimal.contains(currency) { return units % 10 == 0 ? units / 10 : nil }
        return units
    }

    /// The provider's units for `money`; nil when the provider cannot take it exactly (cents of a currency it
    /// writes in whole units) or it does not fit.
    public static func providerUnits(_ money: Money) -> Int64? {
        if zeroDecimal.contains(money.currency) { return money.minorUnits % 100 == 0 ? money.minorUnits / 100 : nil }
        if threeDecimal.contains(money.currency) {
            let (scaled, overflow) = money.minorUnits.multipliedReportingOverflow(by: 10)
            return overflow ? nil : scaled
        }
        return money.minorUnits
    }
}
