@testable import EventStore
import Foundation
@testable import LedgerService
import TestSupport
import Synchronization
import Testing

/// A projection keeps the states it folded in memory, and uses one only while the table still holds that very
/// version: another instance's batch, or a batch of its own that rolled back, makes it read the table again.
@Suite("Folded states kept in memory")
struct FoldedStateCacheTests {
    struct Count: Codable, Sendable {
        var events = 0
    }

    static func fold(_ states: FoldedStates<Count>, _ event: RecordedEvent, _ connection: any ReadModelConnection) async throws -> Int {
        try await states.fold([event], following: { _ in true }, initial: { Count() }, connection) { state, _ in state.events += 1 }.first?.state.events ?? -1
    }

    @Test(arguments: Backend.allCases)
    func aStateMovedByAnotherInstanceOrARollbackIsReadFromTheTable(backend: Backend) async throws {
        try await TestDatabase.withStore(backend) { store, _ in
            _ = try await store.migrateLedger()
            for index in 1...4 {
                _ = try await store.append([NewEvent(id: UUID(), type: "Noted", data: Data("{\"n\":\(index)}".utf8))], to: "s-1", expecting: .any)
            }
            try await store.waitUntilAllCommittedEventsAreVisible()
            let events = try await store.readStream("s-1", fromVersion: 1, limit: 10)
            let first = FoldedStates<Count>(projection: "counting", cache: FoldedStateCache())
            let second = FoldedStates<Count>(projection: "counting", cache: FoldedStateCache())

            #expect(try await store.withReadModelTransaction { try await Self.fold(first, events[0], $0) } == 1)
            // Another instance folds the next event onto the stored state.
            #expect(try await store.withReadModelTransaction { try await Self.fold(second, events[1], $0) } == 2)
            // The first instance's memory says 1 at version 1; the table says version 2.
            #expect(try await store.withReadModelTransaction { try await Self.fold(first, events[2], $0) } == 3)

            // A batch that rolls back leaves the table at version 3, whatever the memory holds.
            struct Abort: Error {}
            await #expect(throws: Abort.self) {
                try await store.withReadModelTransaction { connection in
                    #expect(try await Self.fold(first, events[3], connection) == 4)
                    throw Abort()
                }
            }
            #expect(try await store.withReadModelTransaction { try await second.load(["s-1"], $0)["s-1"]?.events } == 3)
            #expect(try await store.withReadModelTransaction { try await first.load(["s-1"], $0)["s-1"]?.events } == 3)
            #expect(try await store.withReadModelTransaction { try await Self.fold(first, events[3], $0) } == 4)
        }
    }

    /// Counts the events of `s-1` with a kept state, as the listing fold keeps the profiles'.
    struct CountingProjection: Projection {
        let name = "counting"
        let states = FoldedStates<Count>(projection: "counting", cache: FoldedStateCache())
        var beforeApply: (@Sendable () async throws -> Void)? = nil

        func reset(_ connection: any ReadModelConnection) async throws { try await states.reset(connection) }

        func apply(_ events: [RecordedEvent], _ connection: any ReadModelConnection) async throws {
            try await beforeApply?()
            _ = try await states.fold(events, following: { $0 == "s-1" }, initial: { Count() }, connection) { state, _ in state.events += 1 }
        }
    }

    /// A batch decided while the same read model caught up elsewhere (the sweeper catches up the listings with
    /// the same fold) is dropped, and what it decided is not remembered: it folded events onto a state that
    /// already held them. (SQLite only: on PostgreSQL a batch is decided inside the write transaction that
    /// holds its checkpoints.)
    @Test
    func aDroppedBatchLeavesNothingInMemory() async throws {
        try await TestDatabase.withStore(.sqlite) { store, _ in
            _ = try await store.migrateLedger()
            for index in 1...3 {
                _ = try await store.append([NewEvent(id: UUID(), type: "Noted", data: Data("{\"n\":\(index)}".utf8))], to: "s-1", expecting: .any)
            }
            try await store.waitUntilAllCommittedEventsAreVisible()
            let plain = CountingProjection()
            let overtaken = Mutex(false)
            var overtakenOnce = plain
            overtakenOnce.beforeApply = {
                guard !overtaken.withLock({ $0 }) else { return }
                overtaken.withLock { $0 = true }
                // In its write transaction: this batch's reads hold the connection batches are decided on.
                _ = try await ProjectionGroupRunner(store: store, projections: [plain]).runBatchInsideWriteTransaction()
            }
            #expect(try await ProjectionRunner(store: store, projection: overtakenOnce).runBatch() == 0)
            #expect(overtaken.withLock { $0 })
            _ = try await store.append([NewEvent(id: UUID(), type: "Noted", data: Data("{\"n\":4}".utf8))], to: "s-1", expecting: .any)
            try await store.waitUntilAllCommittedEventsAreVisible()
            _ = try await ProjectionRunner(store: store, projection: plain).catchUp()
            let stored = try await store.withReadModelConnection { try await FoldedStates<Count>(projection: "counting").load(["s-1"], $0)["s-1"]?.events }
            #expect(stored == 4)
        }
    }

    @Test
    func theCacheHoldsAtMostItsCapacity() {
        let cache = FoldedStateCache<Count>(capacity: 10)
        for index in 0..<25 { cache.keep(Count(events: index), of: "s-\(index)", at: 1) }
        #expect(cache.state(of: "s-24", at: 1)?.events == 24)
        #expect(cache.state(of: "s-24", at: 2) == nil)
        let kept = (0..<25).filter { cache.state(of: "s-\($0)", at: 1) != nil }.count
        #expect(kept <= 10 && kept >= 1)
    }
}
