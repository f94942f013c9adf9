public import Foundation
public import LedgerCore
import Payments

/// How to pay a profile's contribution (or a donation) by bank transfer.
public struct PaymentInstructions: Sendable, Hashable, Codable {
    /// The profile paying; nil for the general donation reference.
    public var profileId: String?
    public var purpose: PaymentPurpose
    public var beneficiary: String
    public var iban: String
    public var ibanPrinted: String
    public var bic: String
    public var amount: String
    public var currency: String
    /// The RF creditor reference (the profile's listing or donation reference, or the general donation
    /// reference), electronic form.
    public var reference: String
    /// The same, in groups of four, as people type it.
    public var referencePrinted: String
    /// The EPC QR code's text (version 002, SCT): the website renders it as a QR code.
    public var epcQRPayload: String

    /// Instructions for `profileID`: the price in force on `date` under `policy` for a listing, or
    /// `donationAmount`. Each purpose has its own reference, so the bank line says what it pays for; without a
    /// profile, a donation gets the general donation reference.
    public static func make(
        profileID: ProfileID?, purpose: PaymentPurpose, donationAmount: Money?, on date: LocalDate,
        policy: ListingPolicy, configuration: LedgerConfiguration
    ) throws -> PaymentInstructions {
        let price = policy.tariff.entry(on: date).price
        let amount: Money
        switch purpose {
        case .listing:
            guard donationAmount == nil else {
                throw PaymentServiceError(code: .invalidRequest, description: "a listing contribution's amount is set by the tariff (\(price)); send no amount")
            }
            amount = price
        case .donation:
            guard let donationAmount, donationAmount.currency == price.currency, donationAmount.minorUnits > 0 else {
                throw PaymentServiceError(code: .invalidRequest, description: "a donation needs a positive amount in \(price.currency)")
            }
            // The configured limit, which the import holds a transfer above: no code is made for one.
            if let problem = policy.amountLimitProblem(donationAmount) { throw DomainError.amountOverLimit(problem) }
            amount = donationAmount
        }
        guard let iban = IBAN(parsing: configuration.bankIBAN) else {
            throw PaymentServiceError.notConfigured("the bank account (LEDGER_BANK_IBAN)")
        }
        let reference: CreditorReference
        switch (purpose, profileID) {
        case (.listing, let profileID?): reference = .forProfile(profileID)
        case (.donation, let profileID?): reference = .forDonation(by: profileID)
        case (.donation, nil): reference = .generalDonation
        case (.listing, nil):
            throw PaymentServiceError(code: .invalidRequest, description: "a listing contribution is paid for a profile; name one")
        }
        let code: EPCQRCode
        do {
            code = try EPCQRCode(
                beneficiaryName: configuration.bankBeneficiaryName, iban: iban, bic: configuration.bankBIC, amount: amount,
                remittance: .structured(reference)
            )
        } catch {
            throw PaymentServiceError(code: .invalidRequest, description: "no payment code can be made: \(error)")
        }
        return PaymentInstructions(
            profileId: profileID?.rawValue, purpose: purpose, beneficiary: configuration.bankBeneficiaryName, iban: iban.electronic,
            ibanPrinted: iban.printed, bic: configuration.bankBIC, amount: amount.decimalString, currency: amount.currency,
            reference: reference.electronic, referencePrinted: reference.printed, epcQRPayload: code.payload
        )
    }
}
