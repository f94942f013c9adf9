@testable import EventStore
import Foundation
import TestSupport
import Synchronization
import Testing

/// Counts events per stream in a table created by the test (read models normally come from migrations).
struct StreamCountProjection: Projection {
    var name = "stream-counts"
    /// Throws while applying the event whose type is this, to simulate a crash mid-batch.
    var failOnType: String?
    var table = "stream_counts"
    /// Runs at the start of every `apply`, before anything is read or written.
    var beforeApply: (@Sendable () async throws -> Void)? = nil
    /// Queries its table after its writes, which a projection must not do.
    var queriesAfterWriting = false

    static func createTable(_ store: any EventStore, _ table: String = "stream_counts") async throws {
        try await store.withReadModelTransaction { connection in
            try await connection.execute("CREATE TABLE \(table) (stream TEXT PRIMARY KEY, events BIGINT NOT NULL)")
        }
    }

    func reset(_ connection: any ReadModelConnection) async throws {
        try await connection.execute("DELETE FROM \(table)")
    }

    func apply(_ events: [RecordedEvent], _ connection: any ReadModelConnection) async throws {
        try await beforeApply?()
        for event in events {
            if event.type == failOnType { throw UnexpectedOutcome("simulated crash at \(event.type)") }
            try await connection.execute(
                "INSERT INTO \(table) (stream, events) VALUES (?, 1) ON CONFLICT (stream) DO UPDATE SET events = \(table).events + 1",
                [.text(event.stream)]
            )
        }
        if queriesAfterWriting { _ = try await connection.query("SELECT stream FROM \(table)", []) }
    }

    static func counts(_ store: any EventStore, _ table: String = "stream_counts") async throws -> [String: Int64] {
        try await store.withReadModelConnection { connection in
            let rows = try await connection.query("SELECT stream, events FROM \(table) ORDER BY stream", [])
            return Dictionary(uniqueKeysWithValues: rows.map { ($0[0].text ?? "", $0[1].integer ?? -1) })
        }
    }
}

/// Keeps the number of events seen in one row, read and written whole (not `+ 1` in SQL), so a batch that
/// read a stale total writes a wrong one.
struct TotalProjection: Projection {
    var name = "total"
    /// Run before the batch's read, and after it (before its write).
    var beforeReading: (@Sendable () async throws -> Void)? = nil
    var afterReading: (@Sendable () async throws -> Void)? = nil

    static func createTable(_ store: any EventStore) async throws {
        try await store.withReadModelTransaction { connection in
            try await connection.execute("CREATE TABLE event_total (id INTEGER PRIMARY KEY, total BIGINT NOT NULL)")
        }
    }

    func reset(_ connection: any ReadModelConnection) async throws {
        try await connection.execute("DELETE FROM event_total")
    }

    /// Takes the total the batch before carried, when there is one, and carries its own.
    var takesCarried = false
    /// What each batch found: the total stored and the one carried to it.
    var found: FoundTotals? = nil

    var decidesFromCarriedValues: Bool { takesCarried }

    func apply(_ events: [RecordedEvent], _ connection: any ReadModelConnection) async throws {
        try await beforeReading?()
        let stored = try await connection.query("SELECT total FROM event_total WHERE id = 1", []).first?.integer(0) ?? 0
        let carried = connection.carried("total") as? Int64
        found?.add(stored: stored, carried: carried)
        try await afterReading?()
        let total = ((takesCarried ? carried : nil) ?? stored) + Int64(events.count)
        try await connection.execute(
            "INSERT INTO event_total (id, total) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET total = excluded.total",
            [.integer(total)]
        )
        connection.carry("total", total)
    }

    /// The totals each batch of a ``TotalProjection`` found, in order.
    final class FoundTotals: Sendable {
        private let found = Mutex<[(stored: Int64, carried: Int64?)]>([])
        func add(stored: Int64, carried: Int64?) { found.withLock { $0.append((stored, carried)) } }
        var all: [(stored: Int64, carried: Int64?)] { found.withLock { $0 } }
    }

    static func total(_ store: any EventStore) async throws -> Int64? {
        try await store.withReadModelConnection { try await $0.query("SELECT total FROM event_total WHERE id = 1", []).first?.integer(0) }
    }
}

@Suite("Projection runner")
struct ProjectionRunnerTests {
    /// A read model that keeps failing does not stop the others of its group from following the log.
    @Test(arguments: Backend.allCases)
    func aFailingProjectionDoesNotHoldBackTheOthersOfItsGroup(backend: Backend) async throws {
        try await TestDatabase.withStore(backend) { store, _ in
            let healthy = StreamCountProjection(name: "counts-a", table: "counts_a")
            let failing = StreamCountProjection(name: "counts-b", failOnType: "Poison", table: "counts_b")
            try await StreamCountProjection.createTable(store, healthy.table)
            try await StreamCountProjection.createTable(store, failing.table)
            _ = try await store.append([makeEvent(), makeEvent("Poison"), makeEvent()], to: "s-0", expecting: .any)
            try await store.waitUntilAllCommittedEventsAreVisible()
            let errors = Mutex(0)
            let group = ProjectionGroupRunner(store: store, projections: [healthy, failing])
            let running = Task { await group.run(pollInterval: .milliseconds(20)) { _ in errors.withLock { $0 += 1 } } }
            defer { running.cancel() }
            var waited = 0
            while try await StreamCountProjection.counts(store, healthy.table) != ["s-0": 3], waited < 500 {
                try await Task.sleep(for: .milliseconds(10))
                waited += 1
            }
            #expect(try await StreamCountProjection.counts(store, healthy.table) == ["s-0": 3])
            #expect(try await StreamCountProjection.counts(store, failing.table).isEmpty)
            #expect(errors.withLock { $0 } > 0, "the failure is reported")
            running.cancel()
            await running.value
        }
    }

    /// The first event after a quiet spell is taken at once; after a pass that found work, the next pass waits for
    /// the gathering pause, so appends that follow are taken together.
    @Test(arguments: Backend.allCases)
    func aPassWithWorkLetsAppendsGatherButTheFirstEventIsTakenAtOnce(backend: Backend) async throws {
        try await TestDatabase.withStore(backend) { store, _ in
            let projection = StreamCountProjection()
            try await StreamCountProjection.createTable(store)
            let group = ProjectionGroupRunner(store: store, projections: [projection])
            let pause = Duration.seconds(4)
            let running = Task { await group.run(pollInterval: .seconds(30), gatheringPause: pause) }
            defer { running.cancel() }
            func seen(_ stream: String, within limit: Duration) async throws -> Bool {
                let clock = ContinuousClock()
                let deadline = clock.now + limit
                while clock.now < deadline {
                    if try await StreamCountProjection.counts(store)[stream] == 1 { return true }
                    try await Task.sleep(for: .milliseconds(10))
                }
                return try await StreamCountProjection.counts(store)[stream] == 1
            }
            // Quiet: the runner sleeps until an append. The first one is taken well before a pause could end.
            try await Task.sleep(for: .milliseconds(200))
            _ = try await store.append([makeEvent()], to: "s-1", expecting: .noStream)
            #expect(try await seen("s-1", within: .seconds(2)), "the first event after a quiet spell waits for nothing")
            // The pass that took it found work: the next append waits for the pause to end.
            _ = try await store.append([makeEvent()], to: "s-2", expecting: .noStream)
            #expect(try await seen("s-2", within: .seconds(1)) == false, "a pass straight after one with work")
            #expect(try await seen("s-2", within: .seconds(10)), "taken once the pause is over")
            running.cancel()
            await running.value
        }
    }

    /// One read of the log for several read models, each from its own checkpoint: one that ran alone meanwhile is
    /// not handed its events again, and one that fails leaves every read model and checkpoint of the batch as it was.
    @Test(arguments: Backend.allCases)
    func aGroupHandsEachProjectionOnlyTheEventsAfterItsOwnCheckpoint(backend: Backend) async throws {
        try await TestDatabase.withStore(backend) { store, _ in
            let first = StreamCountProjection(name: "counts-a", table: "counts_a")
            let second = StreamCountProjection(name: "counts-b", table: "counts_b")
            try await StreamCountProjection.createTable(store, first.table)
            try await StreamCountProjection.createTable(store, second.table)
            for index in 0..<6 {
                _ = try await store.append([makeEvent()], to: "s-\(index % 2)", expecting: .any)
            }
            try await store.waitUntilAllCommittedEventsAreVisible()
            // The first runs alone and sees all six; the group then reads from the second's start.
            #expect(try await ProjectionRunner(store: store, projection: first).catchUp() == 6)
            for index in 0..<4 {
                _ = try await store.append([makeEvent()], to: "s-\(index % 2)", expecting: .any)
            }
            try await store.waitUntilAllCommittedEventsAreVisible()
            let group = ProjectionGroupRunner(store: store, projections: [first, second], batchSize: 3)
            #expect(try await group.catchUp() == 10)
            #expect(try await StreamCountProjection.counts(store, first.table) == ["s-0": 5, "s-1": 5])
            #expect(try await StreamCountProjection.counts(store, second.table) == ["s-0": 5, "s-1": 5])
            let head = try await store.headCursor()
            #expect(try await group.checkpoints() == [head, head])

            // A failure in the second projection undoes the first's part of the batch too.
            _ = try await store.append([makeEvent("Poison")], to: "s-0", expecting: .any)
            try await store.waitUntilAllCommittedEventsAreVisible()
            var failing = second
            failing.failOnType = "Poison"
            await #expect(throws: UnexpectedOutcome.self) {
                try await ProjectionGroupRunner(store: store, projections: [first, failing]).catchUp()
            }
            #expect(try await StreamCountProjection.counts(store, first.table) == ["s-0": 5, "s-1": 5])
            #expect(try await group.checkpoints() == [head, head])
        }
    }

    /// A batch is decided outside the write transaction: while a read model is still folding, appends on
    /// SQLite's one writer go through. (On PostgreSQL appends never waited for a read model: they use other
    /// connections.)
    @Test
    func aReadModelStillDecidingDoesNotHoldTheSQLiteWriter() async throws {
        try await TestDatabase.withStore(.sqlite) { store, _ in
            let entered = Mutex(false)
            let released = Mutex(false)
            var projection = StreamCountProjection()
            projection.beforeApply = {
                entered.withLock { $0 = true }
                while !released.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(5)) }
            }
            try await StreamCountProjection.createTable(store)
            _ = try await store.append([makeEvent()], to: "s-1", expecting: .noStream)
            let batch = Task { try await ProjectionRunner(store: store, projection: projection).runBatch() }
            while !entered.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(5)) }
            let (went, append) = try await Self.append(to: "s-2", in: store, within: .seconds(5))
            #expect(went, "the append went through while the read model was deciding")
            released.withLock { $0 = true }
            try await append.value
            #expect(try await batch.value == 1)
            #expect(try await StreamCountProjection.counts(store) == ["s-1": 1])
        }
    }

    /// On SQLite a full batch is written while the next one is decided from what it carried: here the first
    /// batch's write waits for the writer (held by the test) until the second batch has read, so the second
    /// finds nothing stored yet, and still counts on from the first's total. A read model that does not say it
    /// decides from carried values is never handed any.
    @Test
    func theNextBatchIsDecidedFromWhatTheLastCarriedWhileItIsWritten() async throws {
        try await TestDatabase.withStore(.sqlite) { store, _ in
            try await TotalProjection.createTable(store)
            for _ in 0..<25 {
                _ = try await store.append([makeEvent()], to: "s", expecting: .any)
            }
            try await store.waitUntilAllCommittedEventsAreVisible()
            let gate = Gate()
            let holding = Mutex<Task<Void, any Error>?>(nil)
            let calls = Mutex(0)
            var projection = TotalProjection()
            projection.takesCarried = true
            projection.found = TotalProjection.FoundTotals()
            projection.afterReading = {
                let call = calls.withLock { calls in
                    calls += 1
                    return calls
                }
                if call == 1 {
                    // The first batch has decided: hold the writer, so its write waits.
                    let held = Gate()
                    holding.withLock { holder in
                        holder = Task {
                            try await store.withReadModelTransaction { _ in
                                held.open()
                                // Opened by the second batch once it has read; after 10 s whatever happened.
                                await withTaskGroup(of: Void.self) { group in
                                    group.addTask { await gate.wait() }
                                    group.addTask { try? await Task.sleep(for: .seconds(10)) }
                                    await group.next()
                                    group.cancelAll()
                                }
                            }
                        }
                    }
                    await held.wait()
                } else if call == 2 {
                    gate.open()
                }
            }
            let read = try await ProjectionRunner(store: store, projection: projection, batchSize: 10).catchUp()
            try await holding.withLock { $0 }?.value
            #expect(read == 25)
            #expect(try await TotalProjection.total(store) == 25)
            let found = try #require(projection.found).all
            #expect(found.count == 3)
            #expect(found.first?.stored == 0 && found.first?.carried == nil)
            if found.count > 1 {
                #expect(found[1].stored == 0 && found[1].carried == 10, "the second batch was decided before the first was stored: \(found[1])")
            }

            var alone = TotalProjection()
            alone.name = "total-alone"
            alone.found = TotalProjection.FoundTotals()
            try await store.withReadModelTransaction { try await $0.execute("DELETE FROM event_total") }
            #expect(try await ProjectionRunner(store: store, projection: alone, batchSize: 10).catchUp() == 25)
            #expect(try await TotalProjection.total(store) == 25)
            #expect(try #require(alone.found).all.map(\.carried) == [nil, nil, nil])
        }
    }

    /// A batch decided ahead whose checkpoint another runner moved before it was written is dropped with the
    /// batch decided from it, and the catch-up goes on from the checkpoint as stored: every event counts once.
    @Test
    func aBatchOvertakenWhileTheNextWasDecidedFromItLeavesBothUnwritten() async throws {
        try await TestDatabase.withStore(.sqlite) { store, _ in
            try await TotalProjection.createTable(store)
            for _ in 0..<25 {
                _ = try await store.append([makeEvent()], to: "s", expecting: .any)
            }
            try await store.waitUntilAllCommittedEventsAreVisible()
            let overtaken = Mutex(false)
            var projection = TotalProjection()
            projection.takesCarried = true
            projection.afterReading = {
                guard !overtaken.withLock({ $0 }) else { return }
                overtaken.withLock { $0 = true }
                // Once the first batch (ten events) is decided: another runner takes four events first.
                var other = TotalProjection()
                other.takesCarried = true
                let taken = try await ProjectionGroupRunner(store: store, projections: [other], batchSize: 4).runBatchInsideWriteTransaction().read
                #expect(taken == 4)
            }
            let read = try await ProjectionRunner(store: store, projection: projection, batchSize: 10).catchUp()
            #expect(overtaken.withLock { $0 })
            #expect(read == 21, "ten, ten and one after the other runner's four")
            #expect(try await TotalProjection.total(store) == 25)
            #expect(try await ProjectionRunner(store: store, projection: projection).checkpoint() == (try await store.headCursor()))
        }
    }

    /// Appends one event to `stream` in a task of its own and waits up to `limit` for it: whether it went through
    /// in time, and the task (to await when it did not).
    static func append(to stream: String, in store: any EventStore, within limit: Duration) async throws -> (Bool, Task<Void, any Error>) {
        let appended = Mutex(false)
        let append = Task {
            _ = try await store.append([makeEvent()], to: stream, expecting: .noStream)
            appended.withLock { $0 = true }
        }
        let clock = ContinuousClock()
        let deadline = clock.now + limit
        while !appended.withLock({ $0 }), clock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
        return (appended.withLock { $0 }, append)
    }

    /// A batch decided while another runner applied the same events is decided again, as the checkpoint then
    /// stands: its writes are not run on top of the other runner's. (SQLite only: on PostgreSQL a batch is
    /// decided inside the write transaction that holds its checkpoints.)
    @Test
    func aBatchWhoseCheckpointMovedWhileItWasDecidedIsDecidedAgain() async throws {
        try await TestDatabase.withStore(.sqlite) { store, _ in
            try await StreamCountProjection.createTable(store)
            for index in 0..<6 {
                _ = try await store.append([makeEvent()], to: "s-\(index % 2)", expecting: .any)
            }
            try await store.waitUntilAllCommittedEventsAreVisible()
            let overtaken = Mutex(false)
            var slow = StreamCountProjection()
            slow.beforeApply = {
                // Once: another runner of the same read model takes the same events first, in its write
                // transaction (this batch's reads hold the connection batches are decided on).
                guard !overtaken.withLock({ $0 }) else { return }
                overtaken.withLock { $0 = true }
                let taken = try await ProjectionGroupRunner(store: store, projections: [StreamCountProjection()]).runBatchInsideWriteTransaction().read
                #expect(taken == 6)
            }
            let runner = ProjectionRunner(store: store, projection: slow)
            #expect(try await runner.runBatch() == 0, "decided again, nothing was left")
            #expect(overtaken.withLock { $0 })
            #expect(try await StreamCountProjection.counts(store) == ["s-0": 3, "s-1": 3])
            #expect(try await runner.checkpoint() == (try await store.headCursor()))
        }
    }

    /// A batch overtaken while it was decided is decided again outside the write transaction too: while the
    /// second decision folds, appends on SQLite's one writer go through. A batch overtaken twice is decided
    /// inside it, and every event still counts once.
    @Test
    func aBatchDecidedAgainDoesNotHoldTheSQLiteWriterUnlessOvertakenTwice() async throws {
        try await TestDatabase.withStore(.sqlite) { store, _ in
            try await StreamCountProjection.createTable(store)
            for index in 0..<6 {
                _ = try await store.append([makeEvent()], to: "s-\(index % 2)", expecting: .any)
            }
            try await store.waitUntilAllCommittedEventsAreVisible()
            let decisions = Mutex(0)
            let appendedWhileDeciding = Mutex<[Bool]>([])
            let waiting = Mutex<Task<Void, any Error>?>(nil)
            var slow = StreamCountProjection()
            slow.beforeApply = {
                let decision = decisions.withLock { count in
                    count += 1
                    return count
                }
                switch decision {
                case 1:
                    // Another runner of the same read model takes the first two events in its own write
                    // transaction.
                    let taken = try await ProjectionGroupRunner(store: store, projections: [StreamCountProjection()], batchSize: 2)
                        .runBatchInsideWriteTransaction().read
                    #expect(taken == 2)
                default:
                    // An append, given five seconds, while this decision folds. Inside the write transaction
                    // it could only go through once the decision ended.
                    let (went, append) = try await Self.append(to: "during-\(decision)", in: store, within: .seconds(5))
                    appendedWhileDeciding.withLock { $0.append(went) }
                    if decision == 2, went {
                        // Overtaken a second time: two more events taken by the other runner (only outside the
                        // write transaction: inside, the other runner would wait for this one).
                        let taken = try await ProjectionGroupRunner(store: store, projections: [StreamCountProjection()], batchSize: 2)
                            .runBatchInsideWriteTransaction().read
                        #expect(taken == 2)
                    }
                    // Inside the write transaction the append waits for this decision: let it go first.
                    if !went {
                        waiting.withLock { $0 = append }
                        return
                    }
                    try await append.value
                }
            }
            let runner = ProjectionRunner(store: store, projection: slow, batchSize: 100)
            // The third decision, inside the write transaction, takes the two events left of the six and the
            // one appended during the second decision (the one appended during the third commits after it).
            #expect(try await runner.runBatch() == 3)
            #expect(decisions.withLock { $0 } == 3)
            #expect(appendedWhileDeciding.withLock { $0 } == [true, false], "the second decision is outside the write transaction, the third inside")
            try await waiting.withLock { $0 }?.value
            try await store.waitUntilAllCommittedEventsAreVisible()
            let plain = ProjectionRunner(store: store, projection: StreamCountProjection(), batchSize: 100)
            #expect(try await plain.catchUp() == 1)
            #expect(try await StreamCountProjection.counts(store) == ["during-2": 1, "during-3": 1, "s-0": 3, "s-1": 3])
            #expect(try await plain.checkpoint() == (try await store.headCursor()))
        }
    }

    /// A rebuild that went back to zero and forward again to where a batch was decided from is still seen: the
    /// batch read the tables while they were being rebuilt, and is decided again. (SQLite only, as above.)
    @Test
    func aBatchDecidedDuringARebuildThatEndsWhereItStartedIsDecidedAgain() async throws {
        try await TestDatabase.withStore(.sqlite) { store, _ in
            try await TotalProjection.createTable(store)
            for _ in 0..<6 { _ = try await store.append([makeEvent()], to: "s", expecting: .any) }
            try await store.waitUntilAllCommittedEventsAreVisible()
            // The read model has taken the first three.
            #expect(try await ProjectionRunner(store: store, projection: TotalProjection(), batchSize: 3).runBatch() == 3)
            // Once: a rebuild empties the read model just before the batch reads it, and has taken the first
            // three again by the time the batch writes, which puts the checkpoint back where the batch was
            // decided from. (What `ProjectionRunner.rebuild` does, stopped after its first batch.)
            let reset = Mutex(false)
            let rebuilt = Mutex(false)
            var interrupted = TotalProjection()
            interrupted.beforeReading = {
                guard !reset.withLock({ $0 }) else { return }
                reset.withLock { $0 = true }
                try await store.withReadModelTransaction { try await ProjectionRunner.reset([TotalProjection()], $0) }
            }
            interrupted.afterReading = {
                guard !rebuilt.withLock({ $0 }) else { return }
                rebuilt.withLock { $0 = true }
                let taken = try await ProjectionGroupRunner(store: store, projections: [TotalProjection()], batchSize: 3)
                    .runBatchInsideWriteTransaction().read
                #expect(taken == 3)
            }
            _ = try await ProjectionRunner(store: store, projection: interrupted, batchSize: 3).catchUp()
            #expect(rebuilt.withLock { $0 })
            #expect(try await TotalProjection.total(store) == 6)
        }
    }

    /// On SQLite a statement started beside another one on the same connection reads that one's snapshot. A
    /// catch-up that starts while a long query runs on the read models' reader still takes in an event
    /// committed before it began: batches are decided on a connection of their own.
    @Test
    func aCatchUpOnSQLiteTakesInAnEventCommittedWhileALongQueryRuns() async throws {
        try await TestDatabase.withStore(.sqlite) { store, _ in
            try await StreamCountProjection.createTable(store)
            _ = try await store.append([makeEvent()], to: "s-0", expecting: .noStream)
            #expect(try await ProjectionRunner(store: store, projection: StreamCountProjection()).catchUp() == 1)
            let clock = ContinuousClock()
            // About ten thousand rows from ten million steps, over the log: seconds of reading, one snapshot.
            let long = Task {
                _ = try await store.withReadModelConnection { connection in
                    try await connection.query(
                        """
                        WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000000)
                        SELECT n.i FROM n JOIN events ON events.stream = 's-0' WHERE n.i % 1000 = 0
                        """, []
                    )
                }
                return clock.now
            }
            try await Task.sleep(for: .milliseconds(200))
            _ = try await store.append([makeEvent()], to: "s-1", expecting: .noStream)
            let taken = try await ProjectionRunner(store: store, projection: StreamCountProjection()).catchUp()
            let caughtUp = clock.now
            #expect(taken == 1)
            #expect(try await StreamCountProjection.counts(store) == ["s-0": 1, "s-1": 1])
            #expect(try await long.value > caughtUp, "the long query was still running")
        }
    }

    /// On PostgreSQL an event is visible to the log's readers only once every transaction begun before it has
    /// ended. A catch-up that starts while another runner's write transaction holds its checkpoint, and so
    /// holds the log back, waits for that write and takes in an event committed before the catch-up began.
    @Test
    func aCatchUpOnPostgreSQLTakesInAnEventThatAReadModelWriteHeldBack() async throws {
        try await TestDatabase.withStore(.postgres) { store, _ in
            try await StreamCountProjection.createTable(store)
            let locked = Mutex(false)
            let released = Mutex(false)
            let holder = Task {
                try await store.withReadModelTransaction { connection in
                    _ = try await ProjectionRunner.lockCheckpoint("stream-counts", connection)
                    locked.withLock { $0 = true }
                    while !released.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(5)) }
                }
            }
            while !locked.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(5)) }
            _ = try await store.append([makeEvent()], to: "s", expecting: .noStream)
            let finished = Mutex(false)
            let catchUp = Task {
                let taken = try await ProjectionRunner(store: store, projection: StreamCountProjection()).catchUp()
                finished.withLock { $0 = true }
                return taken
            }
            try await Task.sleep(for: .milliseconds(300))
            // The catch-up waits for the write that holds the log back (it would have answered 0 by now otherwise).
            #expect(finished.withLock { $0 } == false)
            released.withLock { $0 = true }
            try await holder.value
            #expect(try await catchUp.value == 1)
            #expect(try await StreamCountProjection.counts(store) == ["s": 1])
        }
    }

    /// A read model's writes run after its reads, so one that reads after writing is refused, by name, and
    /// nothing of the batch is kept.
    @Test(arguments: Backend.allCases)
    func aReadModelThatQueriesAfterWritingIsRefused(backend: Backend) async throws {
        try await TestDatabase.withStore(backend) { store, _ in
            try await StreamCountProjection.createTable(store)
            _ = try await store.append([makeEvent()], to: "s", expecting: .noStream)
            try await store.waitUntilAllCommittedEventsAreVisible()
            var projection = StreamCountProjection()
            projection.queriesAfterWriting = true
            let runner = ProjectionRunner(store: store, projection: projection)
            let error = await #expect(throws: EventStoreError.self) { try await runner.runBatch() }
            #expect(error?.code == .invalidArgument)
            #expect(error?.message.contains("stream-counts") == true)
            #expect(try await StreamCountProjection.counts(store).isEmpty)
            #expect(try await runner.checkpoint() == .start)
        }
    }

    @Test(arguments: Backend.allCases)
    func catchUpAppliesEveryEventOnceAndRecordsTheCheckpoint(backend: Backend) async throws {
        try await TestDatabase.withStore(backend) { store, _ in
            try await StreamCountProjection.createTable(store)
            for index in 0..<12 {
                _ = try await store.append([makeEvent()], to: "s-\(index % 2)", expecting: .any)
            }
            try await store.waitUntilAllCommittedEventsAreVisible()
            let runner = ProjectionRunner(store: store, projection: StreamCountProjection(), batchSize: 5)
            #expect(try await runner.catchUp() == 12)
            #expect(try await StreamCountProjection.counts(store) == ["s-0": 6, "s-1": 6])
            #expect(try await runner.checkpoint() == (try await store.headCursor()))
            // Nothing new: nothing applied twice.
            #expect(try await runner.catchUp() == 0)
            #expect(try await StreamCountProjection.counts(store) == ["s-0": 6, "s-1": 6])
        }
    }

    @Test(arguments: Backend.allCases)
    func aCrashMidBatchLeavesNeitherRowsNorCheckpointAndResumeCompletes(backend: Backend) async throws {
        try await TestDatabase.withStore(backend) { store, _ in
            try await StreamCountProjection.createTable(store)
            for type in ["A", "B", "Poison", "C"] {
                _ = try await store.append([makeEvent(type)], to: "s", expecting: .any)
            }
            try await store.waitUntilAllCommittedEventsAreVisible()
            let crashing = ProjectionRunner(store: store, projection: StreamCountProjection(failOnType: "Poison"), batchSize: 10)
            await #expect(throws: UnexpectedOutcome.self) { try await crashing.runBatch() }
            #expect(try await StreamCountProjection.counts(store).isEmpty)
            #expect(try await crashing.checkpoint() == .start)

            let resumed = ProjectionRunner(store: store, projection: StreamCountProjection(), batchSize: 10)
            #expect(try await resumed.catchUp() == 4)
            #expect(try await StreamCountProjection.counts(store) == ["s": 4])
        }
    }

    @Test(arguments: Backend.allCases)
    func rebuildFromZeroGivesTheSameReadModel(backend: Backend) async throws {
        try await TestDatabase.withStore(backend) { store, _ in
            try await StreamCountProjection.createTable(store)
            for index in 0..<9 {
                _ = try await store.append([makeEvent()], to: "s-\(index % 3)", expecting: .any)
            }
            try await store.waitUntilAllCommittedEventsAreVisible()
            let runner = ProjectionRunner(store: store, projection: StreamCountProjection(), batchSize: 4)
            try await runner.catchUp()
            let before = try await StreamCountProjection.counts(store)
            #expect(try await runner.rebuild() == 9)
            #expect(try await StreamCountProjection.counts(store) == before)
        }
    }

    @Test(arguments: Backend.allCases)
    func concurrentRunnersApplyEachEventExactlyOnce(backend: Backend) async throws {
        try await TestDatabase.withStore(backend) { store, _ in
            try await StreamCountProjection.createTable(store)
            for _ in 0..<60 {
                _ = try await store.append([makeEvent()], to: "s", expecting: .any)
            }
            try await store.waitUntilAllCommittedEventsAreVisible()
            // Three instances of the same projection race over the same checkpoint.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<3 {
                    group.addTask {
                        try await ProjectionRunner(store: store, projection: StreamCountProjection(), batchSize: 7).catchUp()
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await StreamCountProjection.counts(store) == ["s": 60])
        }
    }
}
