public import EventStore
public import Foundation
public import LedgerCore

extension ProfileService {
    /// Records money received outside any provider or statement (cash, cheque, a transfer seen elsewhere)
    /// and, for a listing purpose, allocates it to the profile.
    ///
    /// The payment fact goes to its own `payment-offline-…` stream first, then the allocation to the
    /// profile. With an idempotency key both steps have deterministic ids, so a retry after a crash between
    /// them completes the second step and never repeats the first.
    ///
    /// A listing payment like one recorded before (same profile, amount and day, still counting) is refused as a
    /// likely duplicate naming the earlier one, unless `confirmDuplicate` says it is meant, or the request
    /// carries an idempotency key (a retry of the same request is answered as the first).
    public func recordOfflinePayment(
        profileID: ProfileID, amount: Money, date: LocalDate, purpose: PaymentPurpose, note: String,
        metadata: EventMetadata, idempotencyKey: String?, confirmDuplicate: Bool = false
    ) async throws -> (paymentID: PaymentID, outcome: Outcome) {
        let loaded = try await load(profileID)
        guard loaded.state.isRegistered else { throw DomainError.profileNotFound(profileID.rawValue) }
        guard amount.currency == "EUR" else {
            throw DomainError.currencyMismatch(amount.currency, "EUR")
        }
        guard amount.minorUnits > 0 else { throw DomainError.invalidAmount("a payment must be positive") }
        if let problem = policy.amountLimitProblem(amount) { throw DomainError.amountOverLimit(problem) }
        let today = policy.calendar.date(at: now())
        guard LedgerBounds.acceptsPaymentDate(date, today: today) else {
            throw DomainError.outOfBounds("the date \(date) is out of range: \(LedgerBounds.paymentDateLimit(today: today))")
        }
        let note = note.trimmingCharacters(in: .whitespacesAndNewlines)
        guard note.utf8.count <= ProfileDecider.textBytesMax else {
            throw DomainError.invalidArgument("the note is longer than \(ProfileDecider.textBytesMax) bytes")
        }
        if purpose == .listing, idempotencyKey == nil, !confirmDuplicate,
           let earlier = loaded.state.allocations.first(where: {
               $0.isActiveNow && $0.event.paymentID.rawValue.hasPrefix("\(PaymentMethod.offline.rawValue)-") && $0.event.amount == amount
                   && $0.event.effectiveDate == date
           }) {
            throw PaymentServiceError(
                code: .likelyDuplicate,
                description: "\(profileID) already has an offline payment of \(amount) on \(date) (\(earlier.event.paymentID)); if this is a second payment, send it again with confirmDuplicate: true"
            )
        }
        if purpose == .listing {
            // Decide the allocation before the payment is recorded, so a refused one writes nothing.
            _ = try ProfileDecider.decide(
                .allocate(paymentID: PaymentID(method: .offline, externalID: "check"), amount: amount, effectiveDate: date, acceptShortfall: false),
                state: loaded.state, profileID: profileID, now: now(), policy: policy
            )
        }
        let externalID = idempotencyKey.map { Self.eventID(key: $0, actor: metadata.actor, stream: "offline-payment", index: 0).uuidString.lowercased() }
            ?? UUID().uuidString.lowercased()
        let paymentID = PaymentID(method: .offline, externalID: externalID)
        let received = PaymentReceived(
            paymentID: paymentID, method: .offline, amount: amount, purpose: purpose, profileID: profileID,
            effectiveDate: date, note: note, occurredAt: now()
        )
        let eventID = idempotencyKey.map { Self.eventID(key: $0, actor: metadata.actor, stream: paymentID.streamName, index: 0) } ?? UUID()
        // A retry finds the first request's fact by its id. It carries the first request's time, so
        // appending the retry's own would look like another request under the same key.
        let existing = try await store.readStream(paymentID.streamName, fromVersion: 1, limit: 1).first
        if let existing, existing.id != eventID {
            throw DomainError.invalidArgument("payment '\(paymentID)' exists already")
        }
        let wasAlreadyStored: Bool
        if existing != nil {
            wasAlreadyStored = true
        } else {
            wasAlreadyStored = try await store.append(
                [NewEvent(id: eventID, type: PaymentReceived.typeName, data: try received.encodedData(), metadata: metadata)],
                to: paymentID.streamName, expecting: .noStream
            ).wasAlreadyStored
        }
        guard purpose == .listing else {
            return (paymentID, Outcome(profileID: profileID, appended: [], replayed: wasAlreadyStored, state: loaded.state))
        }
        let outcome = try await handle(
            .allocate(paymentID: paymentID, amount: amount, effectiveDate: date, acceptShortfall: false),
            profileID: profileID, metadata: metadata, idempotencyKey: idempotencyKey.map { "\($0)/allocate" }
        )
        return (paymentID, outcome)
    }
}
