public import EventStore
import Foundation
import LedgerCore
import Synchronization

/// The events of a batch of the log decoded for every read model that folds them, once unless two ask at the
/// same moment.
///
/// The read models decide a batch side by side, a few at a time: the listing, profile search and listing
/// history folds all read the profile events, the payment views and the books the payment events. (The
/// directory outbox follows the log on its own, in batches of its own, and decodes for itself.) Each asks here
/// instead of decoding the event's JSON again. Holds about the last two batches' events (at most `capacity`;
/// past that it starts again empty).
public final class DecodedEvents: Sendable {
    private enum Decoded: Sendable {
        case profile(ProfileEvent?)
        case payment(PaymentEvent?)
    }

    private let memo = Mutex<[UUID: Decoded]>([:])
    let capacity: Int

    public init(capacity: Int = 25_000) {
        self.capacity = max(1, capacity)
    }

    /// The event of a profile stream; nil for a type a profile stream does not hold.
    func profileEvent(_ recorded: RecordedEvent) throws -> ProfileEvent? {
        if case .profile(let event)? = memo.withLock({ $0[recorded.id] }) { return event }
        let event = try ProfileEvent.decode(typeName: recorded.type, data: recorded.data)
        keep(.profile(event), for: recorded.id)
        return event
    }

    /// The event of a payment stream; nil for a type a payment stream does not hold.
    func paymentEvent(_ recorded: RecordedEvent) throws -> PaymentEvent? {
        if case .payment(let event)? = memo.withLock({ $0[recorded.id] }) { return event }
        let event = try PaymentEvent.decode(typeName: recorded.type, data: recorded.data)
        keep(.payment(event), for: recorded.id)
        return event
    }

    private func keep(_ decoded: Decoded, for id: UUID) {
        memo.withLock { memo in
            if memo.count >= capacity { memo.removeAll(keepingCapacity: true) }
            memo[id] = decoded
        }
    }
}
