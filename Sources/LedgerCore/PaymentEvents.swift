public import Foundation

/// Money arrived (for offline payments: staff recorded that it did).
public struct PaymentReceived: Sendable, Hashable, Codable {
    public static let typeName = "PaymentReceived"
    public var paymentID: PaymentID
    public var method: PaymentMethod
    public var amount: Money
    public var purpose: PaymentPurpose
    /// The profile the payer named, if any.
    public var profileID: ProfileID?
    /// The day the money arrived.
    public var effectiveDate: LocalDate
    public var note: String
    /// The payer's account (IBAN) when the bank said, so a later transfer from it can be suggested.
    public var payerAccount: String?
    /// The payer's end-to-end id for a bank transfer, so a return of it can be traced.
    public var endToEndID: String?
    /// What the provider kept of it as its fee, when the provider reports one (PayPal's capture does).
    public var fee: Money?
    public var occurredAt: Date

    public init(
        paymentID: PaymentID, method: PaymentMethod, amount: Money, purpose: PaymentPurpose, profileID: ProfileID?,
        effectiveDate: LocalDate, note: String, payerAccount: String? = nil, endToEndID: String? = nil, occurredAt: Date
    ) {
        self.paymentID = paymentID
        self.method = method
        self.amount = amount
        self.purpose = purpose
        self.profileID = profileID
        self.effectiveDate = effectiveDate
        self.note = note
        self.payerAccount = payerAccount
        self.endToEndID = endToEndID
        self.occurredAt = occurredAt
    }

    /// The stored form.
    public func encodedData() throws -> Data { try ProfileEvent.encoder.encode(self) }

    public static func decode(_ data: Data) throws -> PaymentReceived {
        try ProfileEvent.decoder.decode(PaymentReceived.self, from: data)
    }
}
