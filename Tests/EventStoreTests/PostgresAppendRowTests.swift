@testable import EventStore
import Foundation
import Testing

/// What `ledger_append_batch`'s rows mean. The server never sends the rows below; if it did (a damaged
/// function, a later migration that changed it), the append must fail, not read a missing value as a default.
@Suite("PostgreSQL append rows")
struct PostgresAppendRowTests {
    static let event = NewEvent(id: .timeOrdered(), type: "Tested", data: Data(#"{"n":1}"#.utf8))
    static let append = PendingAppend(stream: "tested-1", expectedVersion: .noStream, events: [event])

    @Test func completeRowsAreReadAsTheirOutcome() throws {
        let appended = try PostgresEventStore.result(of: [AppendRow(append: 1, outcome: "appended", version: 1, position: 7)], for: Self.append)
        #expect(appended.firstVersion == 1 && appended.lastVersion == 1 && appended.positions == [7] && !appended.wasAlreadyStored)

        let stored = AppendRow(
            append: 1, outcome: "stored", eventID: Self.event.id, stream: "tested-1", version: 1, position: 7, contentHash: Self.append.hashes[0]
        )
        let replay = try PostgresEventStore.result(of: [stored], for: Self.append)
        #expect(replay.wasAlreadyStored && replay.positions == [7])

        #expect {
            try PostgresEventStore.result(of: [AppendRow(append: 1, outcome: "conflict", currentVersion: 3)], for: Self.append)
        } throws: { error in
            (error as? EventStoreError)?.conflict == EventStoreError.VersionConflict(stream: "tested-1", expected: .noStream, actual: 3)
        }
    }

    /// A stored event answered twice (a damaged database: ids are unique) is refused, not trapped on.
    @Test func aStoredEventAnsweredTwiceFailsTheAppend() {
        let stored = AppendRow(
            append: 1, outcome: "stored", eventID: Self.event.id, stream: "tested-1", version: 1, position: 7, contentHash: Self.append.hashes[0]
        )
        let twice = PendingAppend(stream: "tested-1", expectedVersion: .noStream, events: [Self.event, Self.event])
        #expect {
            try PostgresEventStore.result(of: [stored, stored], for: twice)
        } throws: { error in
            (error as? EventStoreError)?.code == .unavailable && "\(error)".contains("twice")
        }
    }

    @Test(arguments: [
        AppendRow(append: 1, outcome: "appended", version: 1),
        AppendRow(append: 1, outcome: "appended", position: 7),
        AppendRow(append: 1, outcome: "conflict"),
        AppendRow(append: 1, outcome: "stored", stream: "tested-1", version: 1, position: 7, contentHash: Data([1])),
        AppendRow(append: 1, outcome: "stored", eventID: UUID(), stream: "tested-1", version: 1, position: 7),
        AppendRow(append: 1, outcome: "stored", eventID: UUID(), version: 1, position: 7, contentHash: Data([1])),
        AppendRow(append: 1, outcome: "replaced", version: 1, position: 7),
    ])
    func aRowWithoutWhatItsOutcomeNeedsFailsTheAppend(row: AppendRow) {
        #expect {
            try PostgresEventStore.result(of: [row], for: Self.append)
        } throws: { error in
            (error as? EventStoreError)?.code == .unavailable && "\(error)".contains("PostgreSQL answered an append to 'tested-1'")
        }
    }
}
