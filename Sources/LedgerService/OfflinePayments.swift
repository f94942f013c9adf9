public import EventStore
public import Foundation
public import LedgerCore

extension ProfileService {
    /// Records money received outside any provider or statement (cash, cheque, a transfer seen elsewhere)
    /// and, for a listing purpose, allocates it to the profile.
    ///
    /// The payment fact (its own `payment-offline-…` stream) and the allocation (the profile's stream) are one
    /// append: both or neither, and the allocation is decided against the profile's version, so a change made
    /// meanwhile (another payment using up the periods one payment may buy) is decided again, never left as a
    /// payment that buys nothing. With an idempotency key every event has a deterministic id, so a retry is
    /// answered as the first request.
    ///
    /// A listing payment like one recorded before (same profile, amount and day, still counting) is refused as a
    /// likely duplicate naming the earlier one, unless `confirmDuplicate` says it is meant, or the request
    /// carries an idempotency key (a retry of the same request is answered as the first).
    public func recordOfflinePayment(
        profileID: ProfileID, amount: Money, date: LocalDate, purpose: PaymentPurpose, note: String,
        metadata: EventMetadata, idempotencyKey: String?, confirmDuplicate: Bool = false
    ) async throws -> (paymentID: PaymentID, outcome: Outcome) {
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
        let externalID = idempotencyKey.map { Self.eventID(key: $0, actor: metadata.actor, stream: "offline-payment", index: 0).uuidString.lowercased() }
            ?? UUID().uuidString.lowercased()
        let paymentID = PaymentID(method: .offline, externalID: externalID)
        let eventID = idempotencyKey.map { Self.eventID(key: $0, actor: metadata.actor, stream: paymentID.streamName, index: 0) } ?? .timeOrdered()
        let allocationKey = idempotencyKey.map { "\($0)/allocate" }
        var attempt = 0
        while true {
            attempt += 1
            let loaded = try await load(profileID)
            guard loaded.state.isRegistered else { throw DomainError.profileNotFound(profileID.rawValue) }
            // A retry finds the first request's fact by its id. It carries the first request's time, so
            // appending the retry's own would look like another request under the same key.
            let existing = try await store.readStream(paymentID.streamName, fromVersion: 1, limit: 1).first
            if let existing {
                guard existing.id == eventID else { throw DomainError.invalidArgument("payment '\(paymentID)' exists already") }
                // The key names the payment, not what it is: a request under the same key for another profile,
                // amount, day or purpose (sent beside the first, or after the first's answer was lost) must not
                // hand the recorded payment to that profile as well.
                guard case .received(let stored)? = try PaymentEvent.decode(typeName: existing.type, data: existing.data) else {
                    throw EventStoreError(.unexpectedRow, "payment '\(paymentID)' begins with a \(existing.type), not its receipt")
                }
                guard stored.profileID == profileID, stored.amount == amount, stored.effectiveDate == date, stored.purpose == purpose else {
                    throw PaymentServiceError(code: .idempotencyKeyReused, description: """
                        this Idempotency-Key recorded payment '\(paymentID)' of \(stored.amount) on \(stored.effectiveDate) \
                        (\(stored.purpose.rawValue)) for \(stored.profileID?.rawValue ?? "no profile"); a payment with other details needs another key
                        """)
                }
                if purpose == .listing, loaded.state.allocation(of: paymentID) == nil {
                    // Recorded alone, before the two were one append: allocate it now.
                    let outcome = try await handle(
                        .allocate(paymentID: paymentID, amount: stored.amount, effectiveDate: stored.effectiveDate, acceptShortfall: false),
                        profileID: profileID, metadata: metadata, idempotencyKey: allocationKey
                    )
                    return (paymentID, outcome)
                }
                return (paymentID, Outcome(profileID: profileID, appended: [], replayed: true, state: loaded.state))
            }
            // With a key too: a form that makes a new key for each submission, sent twice, is two keys for one
            // payment. (A retry under the first key was answered above.)
            if purpose == .listing, !confirmDuplicate,
               let earlier = loaded.state.allocations.first(where: {
                   $0.isActiveNow && $0.event.paymentID.rawValue.hasPrefix("\(PaymentMethod.offline.rawValue)-") && $0.event.amount == amount
                       && $0.event.effectiveDate == date
               }) {
                throw PaymentServiceError(
                    code: .likelyDuplicate,
                    description: "profile \(profileID) already has an offline payment of \(amount) on \(date) (\(earlier.event.paymentID)); if this is a second payment, \(PaymentServiceError.confirmDuplicateAdvice)"
                )
            }
            let instant = now()
            let received = PaymentReceived(
                paymentID: paymentID, method: .offline, amount: amount, purpose: purpose, profileID: profileID,
                effectiveDate: date, note: note, occurredAt: instant
            )
            var appends = [StreamAppend(
                stream: paymentID.streamName,
                events: [NewEvent(id: eventID, type: PaymentReceived.typeName, data: try received.encodedData(), metadata: metadata)],
                expecting: .noStream
            )]
            var decided: [ProfileEvent] = []
            if purpose == .listing {
                decided = try ProfileDecider.decide(
                    .allocate(paymentID: paymentID, amount: amount, effectiveDate: date, acceptShortfall: false),
                    state: loaded.state, profileID: profileID, now: instant, policy: policy
                )
                let events = try Self.newEvents(decided, profileID: profileID, metadata: metadata, idempotencyKey: allocationKey)
                appends.append(StreamAppend(stream: profileID.streamName, events: events, expecting: .exact(loaded.state.version)))
            }
            do {
                _ = try await store.append(appends)
            } catch let error as EventStoreError where error.code == .versionConflict {
                // The profile changed meanwhile (decide again), or a retry of the same request won (answered as the first).
                guard attempt < Self.conflictRetriesMax else { throw error }
                continue
            }
            var state = loaded.state
            for event in decided { state.evolve(event) }
            return (paymentID, Outcome(profileID: profileID, appended: decided, replayed: false, state: state))
        }
    }
}
