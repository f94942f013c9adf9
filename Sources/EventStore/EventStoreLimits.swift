import Foundation

/// The limits an ``EventStore`` enforces. Each is checked before anything is written.
public struct EventStoreLimits: Sendable, Hashable {
    /// The largest `data` of one event, in bytes.
    public var eventDataBytesMax: Int
    /// The most events one append may carry.
    public var eventsPerAppendMax: Int
    /// The most events one read may return.
    public var readBatchMax: Int
    /// The longest stream name, in UTF-8 bytes.
    public var streamNameBytesMax: Int
    /// The longest event type name, in UTF-8 bytes.
    public var eventTypeBytesMax: Int

    public init(
        eventDataBytesMax: Int = 256 * 1024,
        eventsPerAppendMax: Int = 1_000,
        readBatchMax: Int = 10_000,
        streamNameBytesMax: Int = 256,
        eventTypeBytesMax: Int = 128
    ) {
        precondition(eventDataBytesMax > 0 && eventsPerAppendMax > 0 && readBatchMax > 0)
        self.eventDataBytesMax = eventDataBytesMax
        self.eventsPerAppendMax = eventsPerAppendMax
        self.readBatchMax = readBatchMax
        self.streamNameBytesMax = streamNameBytesMax
        self.eventTypeBytesMax = eventTypeBytesMax
    }

    /// The defaults.
    public static let standard = EventStoreLimits()

    /// Checks an append against the limits before any I/O.
    func validate(_ events: [NewEvent], stream: String, expecting expectedVersion: ExpectedVersion) throws(EventStoreError) {
        if case .exact(let version) = expectedVersion, version < 0 {
            throw EventStoreError(.invalidArgument, "stream '\(stream)' cannot be expected at version \(version); versions start at 0 (no stream)")
        }
        guard !stream.isEmpty else {
            throw EventStoreError(.invalidArgument, "the stream name is empty")
        }
        guard stream.utf8.count <= streamNameBytesMax else {
            throw EventStoreError(.limitExceeded, "the stream name is \(stream.utf8.count) bytes; the limit is \(streamNameBytesMax)")
        }
        guard !events.isEmpty else {
            throw EventStoreError(.invalidArgument, "an append needs at least one event")
        }
        guard events.count <= eventsPerAppendMax else {
            throw EventStoreError(.limitExceeded, "an append carries \(events.count) events; the limit is \(eventsPerAppendMax)")
        }
        var seen = Set<UUID>()
        for event in events {
            guard !event.type.isEmpty, event.type.utf8.count <= eventTypeBytesMax else {
                throw EventStoreError(.invalidArgument, "event type '\(event.type)' must be 1 to \(eventTypeBytesMax) bytes")
            }
            guard event.data.count <= eventDataBytesMax else {
                throw EventStoreError(.limitExceeded, "event \(event.id) carries \(event.data.count) bytes of data; the limit is \(eventDataBytesMax)")
            }
            guard event.schemaVersion > 0, event.schemaVersion <= Int(Int32.max) else {
                throw EventStoreError(.invalidArgument, "event \(event.id) has schema version \(event.schemaVersion); it must be positive")
            }
            guard seen.insert(event.id).inserted else {
                throw EventStoreError(.invalidArgument, "event id \(event.id) appears twice in one append")
            }
        }
    }

    /// Checks a multi-stream append: distinct streams, each valid, the total within one append's limit.
    func validate(_ appends: [StreamAppend]) throws(EventStoreError) {
        guard !appends.isEmpty else {
            throw EventStoreError(.invalidArgument, "an append needs at least one stream")
        }
        var streams = Set<String>()
        var ids = Set<UUID>()
        var total = 0
        for append in appends {
            try validate(append.events, stream: append.stream, expecting: append.expectedVersion)
            guard streams.insert(append.stream).inserted else {
                throw EventStoreError(.invalidArgument, "stream '\(append.stream)' appears twice in one append")
            }
            for event in append.events where !ids.insert(event.id).inserted {
                throw EventStoreError(.invalidArgument, "event id \(event.id) appears twice in one append")
            }
            total += append.events.count
        }
        guard total <= eventsPerAppendMax else {
            throw EventStoreError(.limitExceeded, "an append carries \(total) events; the limit is \(eventsPerAppendMax)")
        }
    }

    /// Checks a read of several streams: at most ``readBatchMax`` events in all.
    func validateRead(streams: Int, upToVersion maxVersion: Int64) throws(EventStoreError) {
        guard maxVersion > 0 else {
            throw EventStoreError(.invalidArgument, "a read of several streams needs a positive version bound, got \(maxVersion)")
        }
        let (product, overflow) = Int64(streams).multipliedReportingOverflow(by: maxVersion)
        guard !overflow, product <= Int64(readBatchMax) else {
            throw EventStoreError(.limitExceeded, "a read of \(streams) streams up to version \(maxVersion) could return more than \(readBatchMax) events")
        }
    }

    /// Checks a read's batch size.
    func validateRead(limit: Int) throws(EventStoreError) {
        guard limit > 0 else {
            throw EventStoreError(.invalidArgument, "a read needs a positive limit, got \(limit)")
        }
        guard limit <= readBatchMax else {
            throw EventStoreError(.limitExceeded, "a read asks for \(limit) events; the limit is \(readBatchMax)")
        }
    }
}
