public import EventStore
public import Foundation
public import LedgerCore

/// What the directory receives for one published event: the Standard Webhooks payload `{type, timestamp,
/// data}`, with the profile's version so a receiver can drop a change older than one it has seen.
public struct DirectoryMessage: Sendable, Hashable, Codable {
    public var type: String
    public var timestamp: Date
    public var data: DirectoryChange

    /// The body as sent: JSON with sorted keys, identical on every attempt.
    public func encoded() throws -> Data {
        try StoredJSON.encode(self)
    }
}

/// One published change, as the webhook's `data` and as a row of the pull feed.
public struct DirectoryChange: Sendable, Hashable, Codable {
    public var eventId: String
    public var profileId: String
    /// The version of the profile's stream this change is: higher is newer.
    public var profileVersion: Int64
    public var occurredAt: Date
    /// For `listing.visibility_changed`.
    public var listed: Bool?
    public var status: String?
    public var reason: String?
    public var basis: ListingBasis?
    public var paidThrough: String?
    /// For `listing.renewal_reminder_due`.
    public var daysBefore: Int?

    /// The message for a recorded profile event, if it is one the directory hears of. A profile event that cannot
    /// be read throws, as in every other fold: skipped, a change would never reach the directory.
    public static func message(for recorded: RecordedEvent) throws -> (DirectoryEventType, DirectoryMessage)? {
        guard let profileID = StreamName(recorded.stream)?.profileID?.rawValue else { return nil }
        let eventID = recorded.id.uuidString.lowercased()
        switch try ProfileEvent.decode(typeName: recorded.type, data: recorded.data) {
        case .visibilityChanged(let change):
            let data = DirectoryChange(
                eventId: eventID, profileId: profileID, profileVersion: recorded.version, occurredAt: change.occurredAt,
                listed: change.visible, status: change.status.rawValue, reason: change.reason?.rawValue, basis: change.basis,
                paidThrough: change.paidThrough?.description, daysBefore: nil
            )
            return (.visibilityChanged, DirectoryMessage(type: DirectoryEventType.visibilityChanged.rawValue, timestamp: change.occurredAt, data: data))
        case .renewalReminderDue(let reminder):
            let data = DirectoryChange(
                eventId: eventID, profileId: profileID, profileVersion: recorded.version, occurredAt: reminder.occurredAt,
                listed: nil, status: nil, reason: nil, basis: nil, paidThrough: reminder.paidThrough.description, daysBefore: reminder.daysBefore
            )
            return (.renewalReminderDue, DirectoryMessage(type: DirectoryEventType.renewalReminderDue.rawValue, timestamp: reminder.occurredAt, data: data))
        default:
            return nil
        }
    }
}

/// The outbox: a catch-up subscriber over the log that creates one delivery per endpoint per published event,
/// in the same transaction as its checkpoint, so each event is queued exactly once per endpoint.
public struct DirectoryOutboxProjection: Projection {
    public let name = "directory-outbox"
    let now: @Sendable () -> Date

    public init(now: @escaping @Sendable () -> Date) {
        self.now = now
    }

    public func reset(_ connection: any ReadModelConnection) async throws {
        // Deliveries are a record of what was sent; a rebuild does not resend history.
    }

    public func apply(_ events: [RecordedEvent], _ connection: any ReadModelConnection) async throws {
        let messages = try events.compactMap { recorded in try DirectoryChange.message(for: recorded).map { (recorded, $0.0, $0.1) } }
        guard !messages.isEmpty else { return }
        // Disabled endpoints get their deliveries too: they wait, and go out when the endpoint is enabled again.
        let endpoints = try await connection.query("SELECT endpoint_id, event_types FROM directory_endpoints", [])
            .map { (id: try $0.text(0), types: Set(try $0.text(1).split(separator: ",").map(String.init))) }
        let dueAt = APIKeyStore.micros(now())
        for (recorded, type, message) in messages {
            let body = String(decoding: try message.encoded(), as: UTF8.self)
            for endpoint in endpoints where endpoint.types.contains(type.rawValue) {
                try await connection.execute(
                    """
                    INSERT INTO directory_deliveries (endpoint_id, event_id, event_type, profile_id, commit_order, position, recorded_at_micros,
                                                      payload, status, attempts, next_attempt_at_micros)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?)
                    ON CONFLICT (endpoint_id, event_id) DO NOTHING
                    """,
                    [
                        .text(endpoint.id), .text(message.data.eventId), .text(type.rawValue), .text(message.data.profileId),
                        .integer(recorded.cursor.commitOrder), .integer(recorded.cursor.position), .integer(APIKeyStore.micros(recorded.recordedAt)),
                        .text(body), .integer(dueAt),
                    ]
                )
            }
        }
    }
}
