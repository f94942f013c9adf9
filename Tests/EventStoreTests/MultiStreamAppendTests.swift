import EventStore
import Foundation
import TestSupport
import Testing

/// Appends that span several streams: all or nothing, replayable, and free of lock cycles.
@Suite("EventStore conformance: multi-stream appends")
struct MultiStreamAppendTests {
    @Test(arguments: Backend.allCases)
    func appendsToEveryStreamInOneStep(backend: Backend) async throws {
        try await TestDatabase.withStore(backend) { store, _ in
            _ = try await store.append([makeEvent("Before")], to: "b", expecting: .noStream)
            let results = try await store.append([
                StreamAppend(stream: "a", events: [makeEvent("A1"), makeEvent("A2")], expecting: .noStream),
                StreamAppend(stream: "b", events: [makeEvent("B2")], expecting: .exact(1)),
            ])
            #expect(results.map(\.stream) == ["a", "b"])
            #expect(results.map(\.lastVersion) == [2, 2])
            #expect(results.allSatisfy { !$0.wasAlreadyStored })
            let log = try await readEntireLog(store)
            #expect(log.map(\.type) == ["Before", "A1", "A2", "B2"])
        }
    }

    @Test(arguments: Backend.allCases)
    func aConflictInOneStreamWritesNothingInAnother(backend: Backend) async throws {
        try await TestDatabase.withStore(backend) { store, _ in
            let conflict = try await expectStoreError(.versionConflict) {
                _ = try await store.append([
                    StreamAppend(stream: "a", events: [makeEvent("A1")], expecting: .noStream),
                    StreamAppend(stream: "b", events: [makeEvent("B1")], expecting: .exact(3)),
                ])
            }
            #expect(conflict.conflict?.stream == "b")
            #expect(try await store.readStream("a", fromVersion: 1, limit: 10).isEmpty)
            #expect(try await readEntireLog(store).isEmpty)
        }
    }

    @Test(arguments: Backend.allCases)
    func aReplayReturnsTheOriginalResultsAndAPartialReplayIsRefused(backend: Backend) async throws {
        try await TestDatabase.withStore(backend) { store, _ in
            let appends = [
                StreamAppend(stream: "a", events: [makeEvent("A1")], expecting: .noStream),
                StreamAppend(stream: "b", events: [makeEvent("B1")], expecting: .noStream),
            ]
            let first = try await store.append(appends)
            let again = try await store.append(appends)
            #expect(again.allSatisfy { $0.wasAlreadyStored })
            #expect(again.map(\.positions) == first.map(\.positions))

            try await expectStoreError(.idempotencyMismatch) {
                _ = try await store.append([appends[0], StreamAppend(stream: "c", events: [makeEvent("C1")], expecting: .any)])
            }
            #expect(try await store.readStream("c", fromVersion: 1, limit: 10).isEmpty)
        }
    }

    @Test(arguments: Backend.allCases)
    func limitsCountEveryStreamTogether(backend: Backend) async throws {
        let limits = EventStoreLimits(eventsPerAppendMax: 3)
        try await TestDatabase.withStore(backend, limits: limits) { store, _ in
            _ = try await store.append([
                StreamAppend(stream: "a", events: [makeEvent(), makeEvent()], expecting: .any),
                StreamAppend(stream: "b", events: [makeEvent()], expecting: .any),
            ])
            try await expectStoreError(.limitExceeded) {
                _ = try await store.append([
                    StreamAppend(stream: "a", events: [makeEvent(), makeEvent()], expecting: .any),
                    StreamAppend(stream: "b", events: [makeEvent(), makeEvent()], expecting: .any),
                ])
            }
            try await expectStoreError(.invalidArgument) {
                _ = try await store.append([
                    StreamAppend(stream: "a", events: [makeEvent()], expecting: .any),
                    StreamAppend(stream: "a", events: [makeEvent()], expecting: .any),
                ])
            }
            #expect(try await readEntireLog(store).count == 3)
        }
    }

    /// Appends that name the same streams in opposite orders must all finish (no lock cycle), and each
    /// stream's versions stay dense.
    @Test(arguments: Backend.allCases)
    func concurrentAppendsOverlappingInOppositeOrdersAllCommit(backend: Backend) async throws {
        try await TestDatabase.withStore(backend) { store, _ in
            let rounds = 40
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<rounds {
                    let streams = index.isMultiple(of: 2) ? ["x", "y", "z"] : ["z", "y", "x"]
                    group.addTask {
                        _ = try await store.append(streams.map { StreamAppend(stream: $0, events: [makeEvent("\($0)\(index)")], expecting: .any) })
                    }
                }
                try await group.waitForAll()
            }
            for stream in ["x", "y", "z"] {
                let events = try await store.readStream(stream, fromVersion: 1, limit: 100)
                #expect(events.map(\.version) == Array(1...Int64(rounds)))
            }
        }
    }
}
