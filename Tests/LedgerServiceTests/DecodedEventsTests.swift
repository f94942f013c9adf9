import EventStore
import Foundation
@testable import LedgerCore
@testable import LedgerService
import Testing

/// The read models of a batch share one decoding of each event: the first to ask decodes it, the others get
/// that value; the memo forgets everything once it is full, and a profile event never answers for a payment.
@Suite("Events decoded once per batch")
struct DecodedEventsTests {
    static let instant = Date(timeIntervalSince1970: 1_780_000_000)

    static func recorded(_ id: UUID, type: String, data: Data, position: Int64 = 1) -> RecordedEvent {
        RecordedEvent(
            id: id, stream: "profile-ada-1", version: 1, cursor: LogCursor(commitOrder: position, position: position),
            type: type, schemaVersion: 1, data: data, metadataJSON: Data("{}".utf8), recordedAt: instant
        )
    }

    static func registered(_ name: String) throws -> ProfileEvent {
        .registered(ProfileRegistered(profileID: try ProfileID("ada-1"), kind: .mediator, displayName: name, contactEmail: "ada@example.org", occurredAt: instant))
    }

    static func pending(_ minorUnits: Int64) -> PaymentEvent {
        .pending(PaymentPending(paymentID: PaymentID(rawValue: "card-cs_1"), amount: Money(minorUnits: minorUnits, currency: "EUR"), purpose: .listing, profileID: nil, occurredAt: instant))
    }

    @Test
    func theSecondAskGetsTheFirstDecodingNotTheBytesAgain() throws {
        let decoded = DecodedEvents()
        let id = UUID()
        let ada = try Self.registered("Ada")
        #expect(try decoded.profileEvent(Self.recorded(id, type: ada.typeName, data: try ada.encodedData())) == ada)
        // The same id with other bytes: the memo answers, so these bytes are never decoded.
        let other = try Self.registered("Someone else")
        #expect(try decoded.profileEvent(Self.recorded(id, type: other.typeName, data: try other.encodedData())) == ada)
        #expect(try decoded.profileEvent(Self.recorded(id, type: "ProfileRegistered", data: Data("not json".utf8))) == ada)
        // Another id is decoded from its own bytes.
        #expect(try decoded.profileEvent(Self.recorded(UUID(), type: other.typeName, data: try other.encodedData())) == other)
    }

    @Test
    func aTypeTheStreamDoesNotHoldIsNilAndBrokenBytesAreAnError() throws {
        let decoded = DecodedEvents()
        let payment = Self.pending(12_500)
        #expect(try decoded.profileEvent(Self.recorded(UUID(), type: payment.typeName, data: try payment.encodedData())) == nil)
        #expect(throws: (any Error).self) {
            try decoded.profileEvent(Self.recorded(UUID(), type: ProfileRegistered.typeName, data: Data("{\"displayName\":".utf8)))
        }
    }

    @Test
    func aProfileEventNeverAnswersForAPaymentEvent() throws {
        let decoded = DecodedEvents()
        let id = UUID()
        let ada = try Self.registered("Ada")
        let event = Self.recorded(id, type: ada.typeName, data: try ada.encodedData())
        #expect(try decoded.profileEvent(event) == ada)
        // Asked as a payment event, the id's record is decoded from its bytes, not taken from the profile memo.
        let payment = Self.pending(12_500)
        #expect(try decoded.paymentEvent(Self.recorded(id, type: payment.typeName, data: try payment.encodedData())) == payment)
        // A profile type asked as a payment event is none.
        #expect(try decoded.paymentEvent(Self.recorded(UUID(), type: ada.typeName, data: try ada.encodedData())) == nil)
    }

    @Test
    func aFullMemoStartsAgainEmpty() throws {
        let decoded = DecodedEvents(capacity: 3)
        let first = UUID()
        let ada = try Self.registered("Ada")
        let other = try Self.registered("Someone else")
        #expect(try decoded.profileEvent(Self.recorded(first, type: ada.typeName, data: try ada.encodedData())) == ada)
        for position in 2...3 {
            _ = try decoded.profileEvent(Self.recorded(UUID(), type: ada.typeName, data: try ada.encodedData(), position: Int64(position)))
        }
        // Three held: the first is still remembered.
        #expect(try decoded.profileEvent(Self.recorded(first, type: other.typeName, data: try other.encodedData())) == ada)
        // A fourth empties the memo; the first is then decoded from the bytes it comes with.
        _ = try decoded.profileEvent(Self.recorded(UUID(), type: ada.typeName, data: try ada.encodedData(), position: 4))
        #expect(try decoded.profileEvent(Self.recorded(first, type: other.typeName, data: try other.encodedData())) == other)
    }
}
