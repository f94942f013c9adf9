public import EventStore
public import Foundation
public import LedgerCore

extension PaymentPipeline {
    /// Resolves a held payment as staff decided, allocating it in the same transaction where the decision
    /// says so. Refused (nothing written) unless the payment waits for staff and the decision fits it.
    public func resolve(
        paymentID: PaymentID, resolution: HoldResolution, shares: [AllocationShare], reason: String, metadata: EventMetadata
    ) async throws -> Outcome {
        let reason = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !reason.isEmpty, reason.utf8.count <= ProfileDecider.textBytesMax else {
            throw PaymentServiceError(code: .invalidRequest, description: "a resolution needs a reason of 1 to \(ProfileDecider.textBytesMax) bytes")
        }
        return try await commit(inbox: nil, paymentID: paymentID, metadata: metadata) { payment, now, profileState in
            guard let received = payment.received else {
                throw PaymentServiceError(code: .paymentNotFound, description: "no received payment '\(paymentID)'")
            }
            guard payment.isWaitingForStaff else {
                if let returned = payment.returned {
                    let day = returned.bookingDate.map { " on \($0)" } ?? ""
                    throw PaymentServiceError(
                        code: .notRefundable, description: "payment '\(paymentID)' was returned by the bank\(day) (\(returned.reason)); its money went back, so there is nothing to decide"
                    )
                }
                throw PaymentServiceError(code: .notRefundable, description: "payment '\(paymentID)' is not waiting for staff")
            }
            let shares = try await checkedShares(resolution, shares, received: received, profileState: profileState)
            return [.holdResolved(PaymentHoldResolved(paymentID: paymentID, resolution: resolution, shares: shares, reason: reason, occurredAt: now))]
        }
    }

    /// The shares a resolution allocates, checked against the payment: registered profiles, euros, and
    /// amounts that add up to what arrived.
    private func checkedShares(
        _ resolution: HoldResolution, _ shares: [AllocationShare], received: PaymentReceived,
        profileState: (ProfileID) async throws -> ProfileState
    ) async throws -> [AllocationShare] {
        func invalid(_ text: String) -> PaymentServiceError { PaymentServiceError(code: .invalidRequest, description: text) }
        switch resolution {
        case .donation, .notContribution, .refund:
            guard shares.isEmpty else { throw invalid("'\(resolution.rawValue)' allocates nothing; send no profiles") }
            return []
        case .cardPayout, .payPalPayout:
            guard shares.isEmpty else { throw invalid("'\(resolution.rawValue)' allocates nothing; send no profiles") }
            // A provider pays out to the bank account: only a transfer into it can be one.
            guard received.method == .bank else {
                throw invalid("only a bank transfer into the account can be a payout from a payment provider, and this payment is not one")
            }
            // The providers pay out what they collected for listings and donations, in the tariff's currency.
            let currency = profiles.policy.tariff.entry(on: received.effectiveDate).price.currency
            guard received.amount.currency == currency else {
                throw invalid("a payout is booked in \(currency), what the providers collect; this transfer is \(received.amount)")
            }
            return []
        case .allocate, .acceptShort, .split:
            let price = profiles.policy.tariff.entry(on: received.effectiveDate).price
            guard received.amount.currency == price.currency else {
                throw invalid("\(received.amount) cannot buy a listing; only \(price.currency) can (flag it for refund instead)")
            }
            let resolved: [AllocationShare]
            if resolution == .split {
                guard shares.count >= 2 else { throw invalid("a split names at least two profiles with their amounts") }
                guard Set(shares.map(\.profileID)).count == shares.count else { throw invalid("a split names each profile once") }
                // `Money.adding` refuses overflow and mixed currencies: parts past Int64 add up to nothing.
                let total = try? shares.reduce(Money(minorUnits: 0, currency: price.currency)) { try $0.adding($1.amount) }
                guard shares.allSatisfy({ $0.amount.currency == price.currency && $0.amount.minorUnits > 0 }), total?.minorUnits == received.amount.minorUnits else {
                    throw invalid("the parts of a split must be positive and add up to \(received.amount)")
                }
                resolved = shares
            } else {
                guard shares.count == 1, let profileID = shares.first?.profileID else { throw invalid("'\(resolution.rawValue)' names exactly one profile") }
                resolved = [AllocationShare(profileID: profileID, amount: received.amount)]
            }
            for share in resolved {
                guard try await profileState(share.profileID).isRegistered else { throw DomainError.profileNotFound(share.profileID.rawValue) }
            }
            return resolved
        }
    }
}
