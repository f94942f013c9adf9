import Foundation
import NIOCore
import NIOFoundationEssentialsCompat
import PostgresNIO

/// How events travel from PostgreSQL when read: one `bytea` per event, packed by the server from the row's
/// columns with PostgreSQL's own binary send functions, and unpacked here by hand.
///
/// Replays read every event, so what each row costs the client bounds a replay. Ten columns per row made the
/// client walk and decode ten cells through the generic tuple decoder; one packed cell costs far less, and
/// the packing, done by the server, cost less than it saved (a record per row, `ROW(…)`, measured slower).
///
/// The layout, all integers big-endian as `int8send`/`int4send` write them:
///
/// | field | encoding |
/// |---|---|
/// | position | int8 |
/// | commit order (the transaction id) | int8 (`xid8send`) |
/// | event id | 16 bytes (`uuid_send`) |
/// | version | int8 |
/// | schema version | int4 |
/// | recorded at | int8, microseconds since 2000-01-01 UTC (`timestamptz_send`) |
/// | stream, type | int4 length, then the UTF-8 bytes (`textsend`; the connection's encoding is UTF-8), each |
/// | metadata | int4 length, then the bytes |
/// | data | the remaining bytes |
///
/// The data, the largest part, comes last: each `||` copies what it has so far, so it is copied only once.
enum PostgresEventRow {
    /// The select-list expression producing one packed event from a row of `events`.
    static let packedColumn = """
        int8send(position) || xid8send(transaction_id) || uuid_send(event_id) || int8send(version) \
        || int4send(schema_version) || timestamptz_send(recorded_at) \
        || int4send(octet_length(stream)) || textsend(stream) \
        || int4send(octet_length(type)) || textsend(type) \
        || int4send(octet_length(metadata)) || metadata || data
        """

    /// PostgreSQL's epoch, 2000-01-01T00:00:00Z, in seconds after 1970's.
    private static let postgresEpoch: TimeInterval = 946_684_800

    /// Decodes every row of a query selecting ``packedColumn`` alone.
    static func decodeEvents(_ rows: PostgresRowSequence) async throws -> [RecordedEvent] {
        var events: [RecordedEvent] = []
        for try await row in rows {
            guard let cell = row.first, var buffer = cell.bytes else {
                throw EventStoreError(.unavailable, "PostgreSQL returned an event row without its packed event")
            }
            events.append(try decode(&buffer))
        }
        return events
    }

    static func decode(_ buffer: inout ByteBuffer) throws -> RecordedEvent {
        guard let position = buffer.readInteger(as: Int64.self),
              let commitOrder = buffer.readInteger(as: Int64.self),
              let id = buffer.readUUIDBytes(),
              let version = buffer.readInteger(as: Int64.self),
              let schemaVersion = buffer.readInteger(as: Int32.self),
              let recordedMicros = buffer.readInteger(as: Int64.self),
              let streamLength = buffer.readInteger(as: Int32.self), streamLength >= 0,
              let stream = buffer.readString(length: Int(streamLength)),
              let typeLength = buffer.readInteger(as: Int32.self), typeLength >= 0,
              let type = buffer.readString(length: Int(typeLength)),
              let metadataLength = buffer.readInteger(as: Int32.self), metadataLength >= 0,
              // Copied: a view would keep the connection's whole read buffer alive as long as the event.
              let metadata = buffer.readData(length: Int(metadataLength), byteTransferStrategy: .copy),
              let data = buffer.readData(length: buffer.readableBytes, byteTransferStrategy: .copy)
        else {
            throw EventStoreError(.unavailable, "PostgreSQL returned a packed event that ends early")
        }
        return RecordedEvent(
            id: id, stream: stream, version: version,
            cursor: LogCursor(commitOrder: commitOrder, position: position),
            type: type, schemaVersion: Int(schemaVersion), data: data, metadataJSON: metadata,
            recordedAt: Date(timeIntervalSince1970: postgresEpoch + Double(recordedMicros) / 1_000_000)
        )
    }
}
