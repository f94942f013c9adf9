import EventStore
import Foundation
import TestSupport
import Testing

/// The behaviour every ``EventStore`` backend must share. Each test runs once per backend.
@Suite("EventStore conformance")
struct EventStoreConformanceTests {
    @Test(arguments: Backend.allCases)
    func appendedEventsReadBackInStreamOrder(backend: Backend) async throws {
        try await TestDatabase.withStore(backend) { store, _ in
            let first = try await store.append([makeEvent("A", "1"), makeEvent("B", "2")], to: "profile-1", expecting: .noStream)
            #expect(first.firstVersion == 1 && first.lastVersion == 2 && !first.wasAlreadyStored)
            let second = try await store.append([makeEvent("C", "3")], to: "profile-1", expecting: .exact(2))
            #expect(second.firstVersion == 3 && second.lastVersion == 3)

            let events = try await store.readStream("profile-1", fromVersion: 1, limit: 10)
            #expect(events.map(\.type) == ["A", "B", "C"])
            #expect(events.map(\.version) == [1, 2, 3])
            #expect(events.map(\.stream) == ["profile-1", "profile-1", "profile-1"])
            #expect(String(decoding: events[2].data, as: UTF8.self) == #"{"text":"3"}"#)
            #expect(events[0].metadata.actor == "test")

            let tail = try await store.readStream("profile-1", fromVersion: 2, limit: 1)
            #expect(tail.map(\.version) == [2])
            #expect(try await store.readStream("profile-2", fromVersion: 1, limit: 10).isEmpty)
        }
    }

    @Test(arguments: Backend.allCases)
    func severalStreamsReadInOneQueryUpToAVersion(backend: Backend) async throws {
        try await TestDatabase.withStore(backend, limits: EventStoreLimits(readBatchMax: 12)) { store, _ in
            _ = try await store.append([makeEvent("A", "1"), makeEvent("B", "2"), makeEvent("C", "3")], to: "s-1", expecting: .noStream)
            _ = try await store.append([makeEvent("D", "4")], to: "s-2", expecting: .noStream)
            _ = try await store.append([makeEvent("E", "5")], to: "s-3", expecting: .noStream)

            let read = try await store.readStreams(["s-1", "s-2", "s-missing", "s-1"], upToVersion: 2)
            #expect(Set(read.keys) == ["s-1", "s-2"])
            #expect(read["s-1"]?.map(\.type) == ["A", "B"])
            #expect(read["s-1"]?.map(\.version) == [1, 2])
            #expect(read["s-2"]?.map(\.type) == ["D"])
            #expect(try await store.readStreams([], upToVersion: 5).isEmpty)

            let tooMany = try await expectStoreError(.limitExceeded) { _ = try await store.readStreams(["s-1", "s-2", "s-3"], upToVersion: 5) }
            #expect(tooMany.message.contains("12"))
            _ = try await expectStoreError(.invalidArgument) { _ = try await store.readStreams(["s-1"], upToVersion: 0) }
            _ = try await expectStoreError(.limitExceeded) { _ = try await store.readStreams(["s-1"], upToVersion: .max) }
        }
    }

    /// An append that has been answered is in every read that starts after it, however many reads run at once
    /// (on SQLite a statement started beside another on the same connection read that one's older snapshot).
    @Test(arguments: Backend.allCases)
    func aReadAfterAnAnsweredAppendSeesIt(backend: Backend) async throws {
        try await TestDatabase.withStore(backend) { store, _ in
            for index in 0..<2_000 {
                _ = try await store.append([makeEvent("Filler", "\(index)")], to: "filler-\(index % 50)", expecting: .any)
            }
            let missed = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<4 {
                    // Long reads keep statements running on the readers.
                    group.addTask {
                        for _ in 0..<30 { _ = try await store.readAll(after: .start, limit: 2_000) }
                        return 0
                    }
                }
                for writer in 0..<8 {
                    group.addTask {
                        var missed = 0
                        for index in 0..<60 {
                            let stream = "rw-\(writer)-\(index)"
                            _ = try await store.append([makeEvent("Written", "\(index)")], to: stream, expecting: .noStream)
                            if try await store.readStream(stream, fromVersion: 1, limit: 1).isEmpty { missed += 1 }
                        }
                        return missed
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(missed == 0, "\(missed) reads did not see the append answered just before them")
        }
    }

    @Test(arguments: Backend.allCases)
    func globalLogReadsInBatchesWithoutGapsOrRepeats(backend: Backend) async throws {
        try await TestDatabase.withStore(backend) { store, _ in
            var appended: [UUID] = []
            for index in 0..<25 {
                let event = makeEvent("E", "\(index)")
                appended.append(event.id)
                _ = try await store.append([event], to: "s-\(index % 3)", expecting: .any)
            }
            let log = try await readEntireLog(store, batch: 7)
            #expect(log.map(\.id) == appended)
            #expect(zip(log, log.dropFirst()).allSatisfy { $0.cursor < $1.cursor && $0.position < $1.position })
            try await store.waitUntilAllCommittedEventsAreVisible()
            let head = try await store.headCursor()
            #expect(head == log.last?.cursor)
            #expect(try await store.readAll(after: head, limit: 10).isEmpty)
        }
    }

    @Test(arguments: Backend.allCases)
    func expectedVersionIsEnforcedWithATypedConflict(backend: Backend) async throws {
        try await TestDatabase.withStore(backend) { store, _ in
            try await expectStoreError(.versionConflict) {
                _ = try await store.append([makeEvent()], to: "s", expecting: .streamExists)
            }
            try await expectStoreError(.versionConflict) {
                _ = try await store.append([makeEvent()], to: "s", expecting: .exact(1))
            }
            _ = try await store.append([makeEvent()], to: "s", expecting: .noStream)
            let conflict = try await expectStoreError(.versionConflict) {
                _ = try await store.append([makeEvent()], to: "s", expecting: .noStream)
            }
            #expect(conflict.conflict == .init(stream: "s", expected: .noStream, actual: 1))
            let exact = try await expectStoreError(.versionConflict) {
                _ = try await store.append([makeEvent()], to: "s", expecting: .exact(5))
            }
            #expect(exact.conflict?.actual == 1 && exact.conflict?.expected == .exact(5))
            _ = try await store.append([makeEvent()], to: "s", expecting: .streamExists)
            _ = try await store.append([makeEvent()], to: "s", expecting: .any)
            #expect(try await store.readStream("s", fromVersion: 1, limit: 10).count == 3)
        }
    }

    @Test(arguments: Backend.allCases)
    func replayingAnAppendReturnsTheOriginalResultAndWritesNothing(backend: Backend) async throws {
        try await TestDatabase.withStore(backend) { store, _ in
            let events = [makeEvent("A"), makeEvent("B")]
            let original = try await store.append(events, to: "s", expecting: .noStream)
            _ = try await store.append([makeEvent("C")], to: "s", expecting: .any)
            // A replay with a stale expected version still returns the first result: the ids decide.
            let replay = try await store.append(events, to: "s", expecting: .noStream)
            #expect(replay.wasAlreadyStored)
            #expect(replay.firstVersion == original.firstVersion && replay.lastVersion == original.lastVersion)
            #expect(replay.positions == original.positions)
            var differentMetadata = events
            differentMetadata[0].metadata.requestID = "retry-2"
            differentMetadata[1].metadata.requestID = "retry-2"
            #expect(try await store.append(differentMetadata, to: "s", expecting: .any).wasAlreadyStored)
            #expect(try await readEntireLog(store).count == 3)
        }
    }

    @Test(arguments: Backend.allCases)
    func reusingAnEventIDForDifferentContentIsRejected(backend: Backend) async throws {
        try await TestDatabase.withStore(backend) { store, _ in
            let event = makeEvent("A", "original")
            _ = try await store.append([event], to: "s", expecting: .any)
            try await expectStoreError(.idempotencyMismatch) {
                _ = try await store.append([makeEvent("A", "changed", id: event.id)], to: "s", expecting: .any)
            }
            try await expectStoreError(.idempotencyMismatch) {
                _ = try await store.append([makeEvent("A", "original", id: event.id)], to: "other", expecting: .any)
            }
            try await expectStoreError(.idempotencyMismatch) {
                _ = try await store.append([event, makeEvent("B")], to: "s", expecting: .any)
            }
            try await expectStoreError(.invalidArgument) {
                _ = try await store.append([event, event], to: "t", expecting: .any)
            }
            #expect(try await readEntireLog(store).count == 1)
        }
    }

    @Test(arguments: Backend.allCases)
    func concurrentWritersOnOneStreamGetContiguousVersions(backend: Backend) async throws {
        try await TestDatabase.withStore(backend) { store, _ in
            let writers = 8, appendsPerWriter = 10
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<writers {
                    group.addTask {
                        for index in 0..<appendsPerWriter {
                            _ = try await store.append([makeEvent("W", "\(writer)-\(index)")], to: "shared", expecting: .any)
                        }
                    }
                }
                try await group.waitForAll()
            }
            let events = try await store.readStream("shared", fromVersion: 1, limit: 1_000)
            #expect(events.map(\.version) == Array(1...Int64(writers * appendsPerWriter)))
            #expect(Set(events.map(\.id)).count == writers * appendsPerWriter)
        }
    }

    @Test(arguments: Backend.allCases)
    func optimisticWritersRacingOnOneStreamNeverBothWin(backend: Backend) async throws {
        try await TestDatabase.withStore(backend) { store, _ in
            _ = try await store.append([makeEvent()], to: "race", expecting: .noStream)
            let outcomes = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<10 {
                    group.addTask {
                        do {
                            _ = try await store.append([makeEvent()], to: "race", expecting: .exact(1))
                            return true
                        } catch let error as EventStoreError where error.code == .versionConflict {
                            return false
                        }
                    }
                }
                return try await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 }.count == 1)
            #expect(try await store.readStream("race", fromVersion: 1, limit: 100).count == 2)
        }
    }

    @Test(arguments: Backend.allCases)
    func concurrentWritersOnManyStreamsAreAllReadOnceInOrder(backend: Backend) async throws {
        try await TestDatabase.withStore(backend) { store, _ in
            let writers = 8, appendsPerWriter = 15
            // A reader runs while the writers write; whatever it returns must never go backwards.
            let reader = Task {
                var cursor = LogCursor.start
                var seen: [RecordedEvent] = []
                // A skipped event would keep the count short for ever: give up after a deadline instead.
                let deadline = ContinuousClock.now + .seconds(60)
                while seen.count < writers * appendsPerWriter * 2, ContinuousClock.now < deadline {
                    let batch = try await store.readAll(after: cursor, limit: 13)
                    if let last = batch.last {
                        seen += batch
                        cursor = last.cursor
                    } else {
                        try await Task.sleep(for: .milliseconds(2))
                    }
                }
                return seen
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<writers {
                    group.addTask {
                        for index in 0..<appendsPerWriter {
                            _ = try await store.append(
                                [makeEvent("W", "\(index)a"), makeEvent("W", "\(index)b")], to: "stream-\(writer)", expecting: .any
                            )
                        }
                    }
                }
                try await group.waitForAll()
            }
            let seen = try await reader.value
            #expect(seen.count == writers * appendsPerWriter * 2)
            #expect(Set(seen.map(\.id)).count == seen.count)
            #expect(zip(seen, seen.dropFirst()).allSatisfy { $0.cursor < $1.cursor })
            #expect(seen.map(\.id) == (try await readEntireLog(store)).map(\.id))
        }
    }

    /// One transaction holds a low position open while another commits a higher one: a reader must not
    /// return the higher one first, or it would skip the lower one for ever.
    @Test(arguments: Backend.allCases)
    func readersNeverSkipAnEventThatCommitsLate(backend: Backend) async throws {
        try await TestDatabase.withStore(backend) { store, _ in
            _ = try await store.append([makeEvent("Before")], to: "s", expecting: .any)
            try await store.waitUntilAllCommittedEventsAreVisible()
            let before = try await store.readAll(after: .start, limit: 10)
            let cursor = try #require(before.last?.cursor)

            let gate = Gate()
            let (insertedStream, insertedContinuation) = AsyncStream<Void>.makeStream()
            let slow = makeEvent("Slow"), fast = makeEvent("Fast")
            let holder = Task {
                try await store.appendHoldingCommit(slow, to: "slow", inserted: { insertedContinuation.finish() }, release: { await gate.wait() })
            }
            for await _ in insertedStream {}
            // The second writer commits while the first is open (PostgreSQL) or waits for it (SQLite, whose
            // writes are serialised); either way the reader below must return neither event yet. On PostgreSQL
            // the read waits for the second commit, so a reader that skipped the open lower position would see
            // "Fast" here, not merely a writer that had not finished.
            let fastWriter = Task { try await store.append([fast], to: "fast", expecting: .any) }
            if backend == .postgres {
                _ = try await fastWriter.value
            } else {
                try await Task.sleep(for: .milliseconds(300))
            }
            let whileHeld = try await store.readAll(after: cursor, limit: 10)
            #expect(whileHeld.isEmpty, "read \(whileHeld.map(\.type)) while a lower position was uncommitted")

            gate.open()
            try await holder.value
            _ = try await fastWriter.value
            try await store.waitUntilAllCommittedEventsAreVisible()
            let after = try await store.readAll(after: cursor, limit: 10)
            #expect(after.map(\.type) == ["Slow", "Fast"])
            #expect(after.first?.position ?? 0 < after.last?.position ?? 0)
        }
    }

    @Test(arguments: Backend.allCases)
    func limitsAreEnforcedAtTheLimitAndOnePast(backend: Backend) async throws {
        let limits = EventStoreLimits(eventDataBytesMax: 1_000, eventsPerAppendMax: 3, readBatchMax: 4, streamNameBytesMax: 20)
        try await TestDatabase.withStore(backend, limits: limits) { store, _ in
            let atLimit = NewEvent(id: UUID(), type: "Big", data: Data(repeating: 0x41, count: 1_000))
            _ = try await store.append([atLimit], to: "s", expecting: .any)
            try await expectStoreError(.limitExceeded) {
                _ = try await store.append([NewEvent(id: UUID(), type: "Big", data: Data(repeating: 0x41, count: 1_001))], to: "s", expecting: .any)
            }
            _ = try await store.append([makeEvent(), makeEvent(), makeEvent()], to: "s", expecting: .any)
            try await expectStoreError(.limitExceeded) {
                _ = try await store.append([makeEvent(), makeEvent(), makeEvent(), makeEvent()], to: "s", expecting: .any)
            }
            _ = try await store.append([makeEvent()], to: String(repeating: "n", count: 20), expecting: .any)
            try await expectStoreError(.limitExceeded) {
                _ = try await store.append([makeEvent()], to: String(repeating: "n", count: 21), expecting: .any)
            }
            try await expectStoreError(.invalidArgument) { _ = try await store.append([], to: "s", expecting: .any) }
            try await expectStoreError(.invalidArgument) { _ = try await store.append([makeEvent()], to: "", expecting: .any) }

            try await store.waitUntilAllCommittedEventsAreVisible()
            #expect(try await store.readAll(after: .start, limit: 4).count == 4)
            try await expectStoreError(.limitExceeded) { _ = try await store.readAll(after: .start, limit: 5) }
            try await expectStoreError(.limitExceeded) { _ = try await store.readStream("s", fromVersion: 1, limit: 5) }
            try await expectStoreError(.invalidArgument) { _ = try await store.readAll(after: .start, limit: 0) }
            #expect(try await readEntireLog(store, batch: 4).count == 5)
        }
    }

    @Test(arguments: Backend.allCases)
    func unicodeAndLargePayloadsRoundTripByteForByte(backend: Backend) async throws {
        try await TestDatabase.withStore(backend) { store, _ in
            let stream = "profile-Zoë-调解员-🕊️"
            let text = #"{"name":"Ægir Ørsted – «médiateur» 调解员 🕊️","note":"\u0000 kept"}"#
            var large = Data(text.utf8)
            large.append(Data((0..<200_000).map { UInt8($0 % 251) }))
            let event = NewEvent(id: UUID(), type: "Ünïcödé", data: large, metadata: EventMetadata(actor: "staff:José"))
            _ = try await store.append([event], to: stream, expecting: .noStream)
            let read = try #require(try await store.readStream(stream, fromVersion: 1, limit: 1).first)
            #expect(read.data == large)
            #expect(read.type == "Ünïcödé")
            #expect(read.stream == stream)
            #expect(read.metadata.actor == "staff:José")
            #expect(try await store.append([event], to: stream, expecting: .any).wasAlreadyStored)
        }
    }

    @Test(arguments: Backend.allCases)
    func acknowledgedEventsSurviveClosingAndReopening(backend: Backend) async throws {
        let url = try await TestDatabase.freshURL(backend)
        let recordedAt = Date(timeIntervalSince1970: 1_790_000_000.123456)
        var store = try await TestDatabase.open(url, now: { recordedAt })
        _ = try await store.migrate()
        let events = (0..<5).map { makeEvent("Durable", "\($0)") }
        for event in events {
            _ = try await store.append([event], to: "durable", expecting: .any)
        }
        await store.close()

        store = try await TestDatabase.open(url)
        #expect(try await store.pendingMigrations().isEmpty)
        let read = try await store.readStream("durable", fromVersion: 1, limit: 10)
        #expect(read.map(\.id) == events.map(\.id))
        #expect(abs(read[0].recordedAt.timeIntervalSince(recordedAt)) < 0.000_01)
        let next = try await store.append([makeEvent()], to: "durable", expecting: .exact(5))
        #expect(next.lastVersion == 6)
        await store.close()
    }

    /// Closing the embedded store while reads run on each of its connections lets every read finish or fail
    /// with "closed". A connection closed beside a statement being prepared on it had SQLite read the memory
    /// it had just freed, and the process stopped with a segmentation fault.
    @Test
    func closingTheEmbeddedStoreWhileReadsRunEndsThemWithClosed() async throws {
        let opened = try await TestDatabase.open(try await TestDatabase.freshURL(.sqlite))
        let store = try #require(opened as? any DecidesReadModelBatchesAhead)
        _ = try await opened.migrate()
        _ = try await store.append([makeEvent()], to: "read-while-closing", expecting: .any)
        let reads = (0..<6).map { lane in
            Task { () -> (count: Int, ending: String) in
                var count = 0
                while true {
                    do {
                        switch lane % 3 {
                        case 0: _ = try await store.readStream("read-while-closing", fromVersion: 1, limit: 10)
                        case 1: _ = try await store.withReadModelConnection { try await $0.query("SELECT count(*) FROM events", []) }
                        default: _ = try await store.withReadModelReads { try await $0.query("SELECT count(*) FROM events", []) }
                        }
                        count += 1
                    } catch {
                        return (count, "\(error)")
                    }
                }
            }
        }
        try await Task.sleep(for: .milliseconds(300))
        await store.close()
        for read in reads {
            let (count, ending) = await read.value
            #expect(count > 0)
            #expect(ending.contains("is closed"), "a read ended with: \(ending)")
        }
    }

    @Test(arguments: Backend.allCases)
    func waitingForAppendsWakesOnAnAppend(backend: Backend) async throws {
        try await TestDatabase.withStore(backend) { store, _ in
            let clock = ContinuousClock()
            let started = clock.now
            let generation = store.appendGeneration
            let waiter = Task { await store.waitForAppends(since: generation, timeout: .seconds(30)) }
            try await Task.sleep(for: .milliseconds(100))
            _ = try await store.append([makeEvent()], to: "s", expecting: .any)
            let woken = await waiter.value
            // Woken by the append, not by the 30-second timeout.
            #expect(woken != generation)
            #expect(clock.now - started < .seconds(20))
        }
    }

    /// An append between a subscriber's read and its wait must not be missed until the timeout.
    @Test(arguments: Backend.allCases)
    func anAppendBeforeTheWaitIsNotMissed(backend: Backend) async throws {
        try await TestDatabase.withStore(backend) { store, _ in
            let generation = store.appendGeneration
            _ = try await store.append([makeEvent()], to: "s", expecting: .any)
            let clock = ContinuousClock()
            let started = clock.now
            let woken = await store.waitForAppends(since: generation, timeout: .seconds(30))
            #expect(woken != generation)
            #expect(clock.now - started < .seconds(1))
        }
    }
}
