@testable import EventStore
import Foundation
import TestSupport
import Testing

/// Appends that arrive together (on PostgreSQL they share a transaction): each keeps its own checks.
@Suite("EventStore conformance: concurrent appends")
struct ConcurrentAppendTests {
    enum Outcome: Equatable {
        case appended(stream: String, version: Int64)
        case replayed(position: Int64)
        case failed(EventStoreError.Code)
    }

    @Test(arguments: Backend.allCases)
    func eachAppendKeepsItsOwnVersionCheckAndIdempotency(backend: Backend) async throws {
        try await TestDatabase.withStore(backend) { store, _ in
            for index in 0..<10 {
                _ = try await store.append([makeEvent("Taken")], to: "taken-\(index)", expecting: .noStream)
            }
            let original = makeEvent("Original", "first")
            let stored = try await store.append([original], to: "replayed", expecting: .noStream)

            let outcomes = try await withThrowingTaskGroup(of: (String, Outcome).self) { group in
                func add(_ name: String, _ events: [NewEvent], to stream: String, expecting expected: ExpectedVersion) {
                    group.addTask {
                        do {
                            let result = try await store.append(events, to: stream, expecting: expected)
                            return (name, result.wasAlreadyStored
                                ? .replayed(position: result.positions[0])
                                : .appended(stream: result.stream, version: result.lastVersion))
                        } catch let error as EventStoreError {
                            return (name, .failed(error.code))
                        }
                    }
                }
                for index in 0..<10 {
                    add("fresh-\(index)", [makeEvent("Fresh")], to: "fresh-\(index)", expecting: .noStream)
                    add("no-stream-\(index)", [makeEvent("Refused")], to: "taken-\(index)", expecting: .noStream)
                    add("exact-\(index)", [makeEvent("Second")], to: "taken-\(index)", expecting: .exact(1))
                }
                for index in 0..<5 {
                    add("replay-\(index)", [original], to: "replayed", expecting: .noStream)
                    add("mismatch-\(index)", [makeEvent("Other", "changed", id: original.id)], to: "elsewhere-\(index)", expecting: .any)
                }
                // One new event sent to two streams at once: it lands in one of them.
                let twin = makeEvent("Twin")
                add("twin-a", [twin], to: "twin-a", expecting: .any)
                add("twin-b", [twin], to: "twin-b", expecting: .any)
                return try await group.reduce(into: [String: Outcome]()) { $0[$1.0] = $1.1 }
            }

            #expect(outcomes.count == 42)
            let twins = [outcomes["twin-a"], outcomes["twin-b"]]
            #expect(twins.contains(.appended(stream: "twin-a", version: 1)) != twins.contains(.appended(stream: "twin-b", version: 1)))
            #expect(twins.contains(.failed(.idempotencyMismatch)))
            for index in 0..<10 {
                #expect(outcomes["fresh-\(index)"] == .appended(stream: "fresh-\(index)", version: 1))
                #expect(outcomes["no-stream-\(index)"] == .failed(.versionConflict))
                #expect(outcomes["exact-\(index)"] == .appended(stream: "taken-\(index)", version: 2))
            }
            for index in 0..<5 {
                #expect(outcomes["replay-\(index)"] == .replayed(position: stored.positions[0]))
                #expect(outcomes["mismatch-\(index)"] == .failed(.idempotencyMismatch))
            }
            let log = try await readEntireLog(store)
            // The ten taken streams, the replayed one, ten fresh streams, ten second events and one twin.
            #expect(log.count == 32)
            let refusedTypes: Set<String> = ["Refused", "Other"]
            #expect(!log.contains { refusedTypes.contains($0.type) })
            #expect(Set(log.map(\.id)).count == log.count)
        }
    }

    @Test(arguments: Backend.allCases)
    func aNegativeExpectedVersionIsRefused(backend: Backend) async throws {
        try await TestDatabase.withStore(backend) { store, _ in
            let error = try await expectStoreError(.invalidArgument) {
                _ = try await store.append([makeEvent()], to: "s", expecting: .exact(-1))
            }
            #expect(error.message.contains("version -1"))
            try await expectStoreError(.invalidArgument) {
                _ = try await store.append([StreamAppend(stream: "s", events: [makeEvent()], expecting: .exact(-2))])
            }
            #expect(try await readEntireLog(store).isEmpty)
        }
    }

    /// On a table too small to be worth an index, PostgreSQL plans `event_id = ANY (...)` as a sequential scan,
    /// and a cached plan would keep scanning as the log grows; appends must use the indexes from the start.
    @Test func appendsOnAFreshPostgresDatabaseNeverScanTheLog() async throws {
        let url = try await TestDatabase.freshURL(.postgres)
        guard case .postgres(let settings) = url else { return }
        let store = try await TestDatabase.open(url)
        _ = try await store.migrate()
        let appends = 400
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<16 {
                group.addTask {
                    for index in 0..<(appends / 16) {
                        _ = try await store.append([makeEvent("Scan", "\(index)")], to: "scan-\(writer)", expecting: .any)
                    }
                }
            }
            try await group.waitForAll()
        }
        // Closing ends the store's sessions, which report their statistics as they exit.
        await store.close()
        var statistics = try await TestDatabase.eventsTableScans(settings)
        let deadline = ContinuousClock.now + .seconds(10)
        while statistics.indexScans < Int64(appends), ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
            statistics = try await TestDatabase.eventsTableScans(settings)
        }
        #expect(statistics.indexScans >= Int64(appends))
        #expect(statistics.sequentialRowsRead == 0)
    }
}

@Suite("EventStore: reading the log on PostgreSQL")
struct PostgresLogReadingTests {
    /// Before statistics exist, PostgreSQL guesses few events past a cursor, and for a large batch planned to
    /// collect every later event and sort them: each batch of a replay read the whole rest of the log.
    @Test func aLargeBatchIsReadAlongTheCommitOrderIndexWithoutSorting() async throws {
        try await TestDatabase.withStore(.postgres) { store, _ in
            let postgres = try #require(store as? PostgresEventStore)
            for batch in 0..<30 {
                _ = try await store.append((0..<1_000).map { makeEvent("Bulk", "\($0)") }, to: "bulk-\(batch)", expecting: .noStream)
            }
            try await store.waitUntilAllCommittedEventsAreVisible()
            let middle = try await store.readAll(after: .start, limit: 10_000).last!.cursor
            let plan = try await postgres.readAllPlan(after: middle, limit: 10_000)
            #expect(plan.contains("Index Scan using events_commit_order"), "\(plan)")
            #expect(!plan.contains("Sort"), "\(plan)")
            #expect(try await store.readAll(after: middle, limit: 10_000).count == 10_000)
        }
    }
}

@Suite("EventStore: PostgreSQL database requirements")
struct PostgresDatabaseRequirementTests {
    @Test func aDatabaseNotInUTF8IsRefusedWithItsEncoding() async throws {
        let url = try await TestDatabase.freshURL(.postgres, postgresEncoding: "LATIN1")
        let error = try await expectStoreError(.configuration) {
            _ = try await TestDatabase.open(url)
        }
        #expect(error.message.contains("LATIN1"))
        #expect(error.message.contains("UTF8"))
    }
}

@Suite("EventStore: a PostgreSQL connection lost in mid-transaction")
struct PostgresLostConnectionTests {
    /// The server ends the connection inside a transaction. The transaction must fail, not wait for ever for
    /// the answer to a query sent on a connection that no longer exists (a ROLLBACK after the failure, or the
    /// next BEGIN on a connection the pool lends before it notices the close); the store goes on working.
    @Test func aTransactionWhoseConnectionTheServerEndsFailsAndTheStoreGoesOn() async throws {
        try await TestDatabase.withStore(.postgres) { store, _ in
            for attempt in 0..<20 {
                let outcome = await answerWithin(.seconds(20)) {
                    do {
                        try await store.withReadModelTransaction { connection in
                            _ = try await connection.query("SELECT pg_terminate_backend(pg_backend_pid())", [])
                        }
                        return "committed"
                    } catch {
                        return "failed"
                    }
                }
                #expect(outcome == "failed", "attempt \(attempt): \(outcome ?? "no answer within 20 s")")
            }
            // A connection lent just as the server ends it fails the operation on it; the next ones succeed.
            let event = makeEvent()
            var appended: AppendResult?
            for _ in 0..<10 where appended == nil {
                appended = try? await store.append([event], to: "after-terminations", expecting: .any)
                if appended == nil { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(appended?.positions.count == 1)
        }
    }

    /// The server ends a connection between two statements of a transaction (a restart, an administrator):
    /// the next statement fails at once, as `unavailable` (a 503 to a client). PostgresNIO itself already fails
    /// this statement, so this does not prove the store's own check of closed connections; the test above does.
    @Test func aStatementAfterTheServerEndedTheConnectionFailsAtOnce() async throws {
        try await TestDatabase.withStore(.postgres) { store, _ in
            let outcome = await answerWithin(.seconds(20)) {
                do {
                    try await store.withReadModelTransaction { connection in
                        let pid = try #require(try await connection.query("SELECT pg_backend_pid()", []).first).integer(0)
                        try await store.withReadModelConnection { other in
                            _ = try await other.query("SELECT pg_terminate_backend(?)", [.integer(pid)])
                        }
                        try await Task.sleep(for: .milliseconds(300))
                        _ = try await connection.query("SELECT 1", [])
                    }
                    return "committed"
                } catch let error as EventStoreError {
                    return "\(error.code)"
                } catch {
                    return "failed otherwise: \(error)"
                }
            }
            #expect(outcome == "\(EventStoreError.Code.unavailable)")
        }
    }
}
