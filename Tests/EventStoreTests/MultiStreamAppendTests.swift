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

    /// Multi-stream appends that arrive together share a transaction (and so its commit flush) with each other and
    /// with single-stream appends, each keeping its own checks and its own answer.
    @Test(arguments: Backend.allCases)
    func concurrentAppendsShareCommitsAndAConflictFailsOnlyItsOwnAppend(backend: Backend) async throws {
        try await TestDatabase.withStore(backend) { store, _ in
            let requests = 48
            for index in 0..<requests where index % 3 == 1 {
                _ = try await store.append([makeEvent("Taken")], to: "taken-\(index)", expecting: .noStream)
            }
            let outcomes = try await withThrowingTaskGroup(of: (Int, EventStoreError.Code?).self) { group in
                for index in 0..<requests {
                    group.addTask {
                        do {
                            switch index % 3 {
                            case 0:
                                _ = try await store.append([
                                    StreamAppend(stream: "inbox-\(index)", events: [makeEvent("In")], expecting: .noStream),
                                    StreamAppend(stream: "payment-\(index)", events: [makeEvent("Paid"), makeEvent("Held")], expecting: .noStream),
                                ])
                            case 1:
                                // Its second stream exists already: none of its streams may be written.
                                _ = try await store.append([
                                    StreamAppend(stream: "inbox-\(index)", events: [makeEvent("In")], expecting: .noStream),
                                    StreamAppend(stream: "taken-\(index)", events: [makeEvent("Paid")], expecting: .noStream),
                                ])
                            default:
                                _ = try await store.append([makeEvent("Alone")], to: "single-\(index)", expecting: .noStream)
                            }
                            return (index, nil)
                        } catch let error as EventStoreError {
                            return (index, error.code)
                        }
                    }
                }
                var outcomes: [Int: EventStoreError.Code?] = [:]
                for try await (index, code) in group { outcomes[index] = code }
                return outcomes
            }
            for index in 0..<requests {
                switch index % 3 {
                case 1:
                    #expect(outcomes[index] == .some(.versionConflict), "request \(index)")
                    #expect(try await store.readStream("inbox-\(index)", fromVersion: 1, limit: 10).isEmpty, "request \(index)")
                    #expect(try await store.readStream("taken-\(index)", fromVersion: 1, limit: 10).count == 1, "request \(index)")
                case 0:
                    #expect(outcomes[index] == .some(nil), "request \(index)")
                    #expect(try await store.readStream("payment-\(index)", fromVersion: 1, limit: 10).map(\.type) == ["Paid", "Held"])
                default:
                    #expect(outcomes[index] == .some(nil), "request \(index)")
                }
            }
            let written = try await readEntireLog(store).filter { $0.type != "Taken" }
            #expect(written.count == requests / 3 * 3 + requests / 3)
            // Events written in one transaction carry its one recording instant: fewer instants than committed
            // multi-stream requests means some of them shared a transaction.
            let multiStream = Set(written.filter { $0.stream.hasPrefix("inbox-") }.map(\.recordedAt))
            #expect(multiStream.count < requests / 3, "\(multiStream.count) transactions for \(requests / 3) committed multi-stream requests")
        }
    }
}
