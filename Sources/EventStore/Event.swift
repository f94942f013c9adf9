public import Foundation

/// An event about to be appended.
public struct NewEvent: Sendable, Hashable {
    /// Unique forever: appending the same id again is a no-op that returns the first result.
    public var id: UUID
    /// The event's stable type name, e.g. `ContributionAllocated`.
    public var type: String
    /// The version of the data's schema for this type.
    public var schemaVersion: Int
    /// The event's data, normally JSON.
    public var data: Data
    /// Who or what caused the event. Not part of the event's identity.
    public var metadata: EventMetadata

    public init(id: UUID, type: String, schemaVersion: Int = 1, data: Data, metadata: EventMetadata = .init()) {
        self.id = id
        self.type = type
        self.schemaVersion = schemaVersion
        self.data = data
        self.metadata = metadata
    }
}

/// Context recorded with every event.
public struct EventMetadata: Sendable, Hashable, Codable {
    /// Who acted: an API key's name, `staff:<name>`, `provider:card`, `system:sweeper`.
    public var actor: String?
    /// The id of the event or command that caused this one.
    public var causationID: String?
    /// Groups everything caused by one outside request.
    public var correlationID: String?
    /// The HTTP request id, when there was one.
    public var requestID: String?
    /// A digest of the command that recorded the event under an idempotency key, so the same key sent again
    /// with another command is told apart from a retry, also when the first answer was never kept.
    public var commandDigest: String?

    public init(
        actor: String? = nil, causationID: String? = nil, correlationID: String? = nil, requestID: String? = nil, commandDigest: String? = nil
    ) {
        self.actor = actor
        self.causationID = causationID
        self.correlationID = correlationID
        self.requestID = requestID
        self.commandDigest = commandDigest
    }
}

/// An event as stored.
public struct RecordedEvent: Sendable, Hashable {
    public var id: UUID
    public var stream: String
    /// The event's version within its stream, starting at 1.
    public var version: Int64
    /// Where the event stands in the global log.
    public var cursor: LogCursor
    public var type: String
    public var schemaVersion: Int
    public var data: Data
    /// The metadata as stored (JSON); decoded on demand by ``metadata``, so replays that do not need it
    /// do not pay for it.
    public var metadataJSON: Data
    /// When the store recorded the event, by the store's clock.
    public var recordedAt: Date

    /// The event's global position.
    public var position: Int64 { cursor.position }

    /// Who or what caused the event.
    public var metadata: EventMetadata { EventMetadata.decoded(from: metadataJSON) }

    public init(
        id: UUID, stream: String, version: Int64, cursor: LogCursor, type: String, schemaVersion: Int,
        data: Data, metadataJSON: Data, recordedAt: Date
    ) {
        self.id = id
        self.stream = stream
        self.version = version
        self.cursor = cursor
        self.type = type
        self.schemaVersion = schemaVersion
        self.data = data
        self.metadataJSON = metadataJSON
        self.recordedAt = recordedAt
    }
}
