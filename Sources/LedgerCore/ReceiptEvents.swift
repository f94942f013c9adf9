public import Foundation

/// What a numbered document is.
public enum ReceiptKind: String, Sendable, Hashable, Codable {
    /// Money received for a contribution or a donation.
    case receipt
    /// Money a receipt confirmed that no longer counts (refunded, returned, charged back, voided, moved).
    case creditNote = "credit-note"
}

/// A receipt or credit note was issued. Numbers run per calendar year of issue without gaps: the event is
/// appended to the year's stream (`receipts-<year>`) expecting its current version, so the stream's version
/// is the number, and two instances can never issue the same one. The same append adds it to the payment's
/// own stream of documents (`receipt-<payment id>`), also expecting its version, so a payment's documents
/// are issued once.
public struct ReceiptIssued: Sendable, Hashable, Codable {
    public static let typeName = "ReceiptIssued"

    public var kind: ReceiptKind
    public var year: Int
    public var number: Int64
    public var paymentID: PaymentID
    /// For a credit note, the receipt it corrects.
    public var refersTo: String?
    /// Who paid, as far as the ledger knows: the profile the money counts for.
    public var profileID: ProfileID?
    public var payerName: String?
    /// Always positive; a credit note gives it back.
    public var amount: Money
    public var method: PaymentMethod
    public var purpose: PaymentPurpose
    /// The day the money arrived.
    public var paymentDate: LocalDate
    /// For a listing contribution, the period it paid for, if known.
    public var periodFrom: LocalDate?
    public var periodThrough: LocalDate?
    /// For a credit note, why.
    public var reason: String?
    public var occurredAt: Date

    public init(
        kind: ReceiptKind, year: Int, number: Int64, paymentID: PaymentID, refersTo: String?, profileID: ProfileID?, payerName: String?,
        amount: Money, method: PaymentMethod, purpose: PaymentPurpose, paymentDate: LocalDate, periodFrom: LocalDate?, periodThrough: LocalDate?,
        reason: String?, occurredAt: Date
    ) {
        self.kind = kind
        self.year = year
        self.number = number
        self.paymentID = paymentID
        self.refersTo = refersTo
        self.profileID = profileID
        self.payerName = payerName
        self.amount = amount
        self.method = method
        self.purpose = purpose
        self.paymentDate = paymentDate
        self.periodFrom = periodFrom
        self.periodThrough = periodThrough
        self.reason = reason
        self.occurredAt = occurredAt
    }

    /// The printed number, e.g. `2026-000042`.
    public var printedNumber: String { Self.printedNumber(year: year, number: number) }

    public static func printedNumber(year: Int, number: Int64) -> String {
        let digits = String(number)
        return "\(year)-\(String(repeating: "0", count: max(0, 6 - digits.count)))\(digits)"
    }

    /// Reads `2026-000042`; nil for anything else.
    public static func parse(printedNumber text: String) -> (year: Int, number: Int64)? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].utf8.count == 4, (1...12).contains(parts[1].utf8.count),
              parts.allSatisfy({ $0.utf8.allSatisfy { (48...57).contains($0) } }),
              let year = Int(parts[0]), let number = Int64(parts[1]), number > 0 else { return nil }
        return (year, number)
    }

    public static func yearStream(_ year: Int) -> String { StreamName.receiptYear(year).description }
    public static func paymentStream(_ paymentID: PaymentID) -> String { StreamName.receipt(paymentID).description }

    public func encodedData() throws -> Data { try ProfileEvent.encoder.encode(self) }

    public static func decode(_ data: Data) throws -> ReceiptIssued {
        try ProfileEvent.decoder.decode(ReceiptIssued.self, from: data)
    }
}
