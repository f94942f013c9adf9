import EventStore
import Foundation

/// An event with readable JSON data and a fresh id.
func makeEvent(_ type: String = "Noted", _ text: String = "x", id: UUID = UUID()) -> NewEvent {
    NewEvent(id: id, type: type, data: Data(#"{"text":"\#(text)"}"#.utf8), metadata: EventMetadata(actor: "test"))
}

/// Reads the whole global log in batches of `batch`, returning every event in reading order, once every
/// committed event is visible.
func readEntireLog(_ store: any EventStoreTestHooks, batch: Int = 100) async throws -> [RecordedEvent] {
    try await store.waitUntilAllCommittedEventsAreVisible()
    var cursor = LogCursor.start
    var all: [RecordedEvent] = []
    while true {
        let events = try await store.readAll(after: cursor, limit: batch)
        guard let last = events.last else { return all }
        all += events
        cursor = last.cursor
    }
}

/// Expects `body` to throw an ``EventStoreError`` with `code`, and returns it.
@discardableResult
func expectStoreError(_ code: EventStoreError.Code, _ body: () async throws -> Void) async throws -> EventStoreError {
    do {
        try await body()
    } catch let error as EventStoreError {
        guard error.code == code else { throw UnexpectedOutcome("expected \(code), got \(error.code): \(error)") }
        return error
    }
    throw UnexpectedOutcome("expected \(code), but nothing was thrown")
}

struct UnexpectedOutcome: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A one-shot gate a test opens to let a held transaction commit.
final class Gate: Sendable {
    private let stream: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    init() {
        (stream, continuation) = AsyncStream<Void>.makeStream()
    }

    func open() { continuation.finish() }

    func wait() async {
        for await _ in stream {}
    }
}
