@testable import EventStore
import Foundation
@testable import LedgerCore
@testable import LedgerService
import Synchronization
import TestSupport
import Testing

/// On SQLite a read model's full batch is written while the next is decided. The listing history reads each
/// profile's last stored change to know what a new change moves (`delta`): a change in the batch right after
/// another one of the same profile must count from that one even while it is not stored yet.
@Suite("Listing history decided while the batch before is written")
struct ListingHistoryCarryTests {
    @Test
    func aChangeRightAfterAnotherCountsFromItBeforeItIsStored() async throws {
        try await TestDatabase.withStore(.sqlite) { store, _ in
            _ = try await store.migrateLedger()
            let stream = try ProfileID("carry-1").streamName
            let instant = Date(timeIntervalSince1970: 1_800_000_000)
            for (index, visible) in [true, false, true].enumerated() {
                let change = ProfileEvent.visibilityChanged(ListingVisibilityChanged(
                    visible: visible, status: visible ? .active : .pending, basis: nil, reason: nil, paidThrough: nil,
                    occurredAt: instant.addingTimeInterval(Double(index))
                ))
                _ = try await store.append([NewEvent(id: UUID(), type: change.typeName, data: try change.encodedData())], to: stream, expecting: .any)
            }
            try await store.waitUntilAllCommittedEventsAreVisible()
            // The writer is held for a moment, so the first batch's write waits while the second is decided.
            let holding = Mutex(false)
            let hold = Task {
                try await store.withReadModelTransaction { _ in
                    holding.withLock { $0 = true }
                    try await Task.sleep(for: .milliseconds(500))
                }
            }
            while !holding.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(5)) }
            #expect(try await ProjectionRunner(store: store, projection: ListingHistoryProjection(), batchSize: 1).catchUp() == 3)
            try await hold.value
            let rows = try await store.withReadModelConnection { connection in
                try await connection.query("SELECT version, visible, delta FROM listing_changes ORDER BY version", [])
            }
            #expect(try rows.map { try [$0.integer(0), $0.integer(1), $0.integer(2)] } == [[1, 1, 1], [2, 0, -1], [3, 1, 1]])
        }
    }
}
