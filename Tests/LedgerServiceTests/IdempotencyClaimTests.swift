import EventStore
import Foundation
import LedgerService
import Synchronization
import TestSupport
import Testing

/// A request with an `Idempotency-Key` claims the key before it runs, so the same key sent again at once finds
/// it in progress instead of running a second time.
@Suite("Idempotency key claims")
struct IdempotencyClaimTests {
    static let request = IdempotentOutcome.fingerprint(method: "POST", path: "/api/v1/directory/endpoints", contentType: "application/json", body: Array("{}".utf8))
    static let other = IdempotentOutcome.fingerprint(method: "POST", path: "/api/v1/directory/endpoints", contentType: "application/json", body: Array("{ }".utf8))

    @Test(arguments: Backend.allCases)
    func aClaimedKeyIsInProgressUntilAnsweredThenReplayed(backend: Backend) async throws {
        try await TestDatabase.withStore(backend) { store, _ in
            let records = IdempotencyRecords(store: store, now: { Date() }, sealer: .development)
            guard case .claimed(let token) = try await records.claim(caller: "k1", key: "add-1", fingerprint: Self.request) else {
                Issue.record("the first request did not get the key")
                return
            }
            #expect(try await records.claim(caller: "k1", key: "add-1", fingerprint: Self.request) == .inProgress(fingerprint: Self.request))
            #expect(try await records.claim(caller: "k1", key: "add-1", fingerprint: Self.other) == .inProgress(fingerprint: Self.request))
            // Another API key's key of the same name is its own.
            if case .claimed = try await records.claim(caller: "k2", key: "add-1", fingerprint: Self.request) {} else {
                Issue.record("another API key's request waited for this one")
            }
            let outcome = IdempotentOutcome(fingerprint: Self.request, status: 201, contentType: "application/json", location: "/x", body: Data("{}".utf8))
            #expect(try await records.complete(outcome, caller: "k1", key: "add-1", token: token) == outcome)
            #expect(try await records.claim(caller: "k1", key: "add-1", fingerprint: Self.request) == .answered(outcome))
            // An answered key is never taken over, however much later.
            let later = IdempotencyRecords(store: store, now: { Date().addingTimeInterval(86_400 * 365) }, sealer: .development)
            #expect(try await later.claim(caller: "k1", key: "add-1", fingerprint: Self.request) == .answered(outcome))
        }
    }

    /// A kept outcome whose status is no HTTP status (a damaged row) is refused as damaged, never replayed: the
    /// server would trap on building such a response.
    @Test(arguments: Backend.allCases)
    func aKeptStatusOutsideHTTPsRangeIsRefusedAsDamaged(backend: Backend) async throws {
        try await TestDatabase.withStore(backend) { store, _ in
            let records = IdempotencyRecords(store: store, now: { Date() }, sealer: .development)
            let outcome = IdempotentOutcome(fingerprint: Self.request, status: 201, contentType: "application/json", location: nil, body: Data("{}".utf8))
            _ = try await records.complete(outcome, caller: "k1", key: "odd-1", token: try await Self.claimed("odd-1", records))
            for status in [Int64(5_000), 42, -1] {
                try await store.withReadModelConnection { connection in
                    try await connection.execute("UPDATE idempotency_records SET status = ? WHERE idempotency_key = ?", [.integer(status), .text("odd-1")])
                }
                await #expect(throws: IdempotencyRecordError.self, "\(status)") {
                    _ = try await records.claim(caller: "k1", key: "odd-1", fingerprint: Self.request)
                }
            }
        }
    }

    /// A request that runs longer than a claim lasts keeps its key: it renews its claim while it runs, so a retry
    /// sent meanwhile finds it in progress. (The claim lapsed after two minutes however long the request ran, and a
    /// retry of a large statement still being booked ran it a second time.)
    @Test(arguments: Backend.allCases)
    func aRequestRunningLongerThanAClaimLastsKeepsItsKey(backend: Backend) async throws {
        try await TestDatabase.withStore(backend) { store, _ in
            let clock = Mutex(Date())
            let records = IdempotencyRecords(store: store, now: { clock.withLock { $0 } }, sealer: .development, renewEvery: .milliseconds(20))
            let token = try await Self.claimed("long-1", records)
            let answer = IdempotentOutcome(fingerprint: Self.request, status: 201, contentType: "application/json", location: nil, body: Data("{}".utf8))
            let (retries, recorded) = try await records.run(caller: "k1", key: "long-1", token: token, storeFailed: { Issue.record("\($0)") }) {
                var retries: [IdempotencyRecords.Claim] = []
                // Three claims' time passes while the request runs, and a retry comes after each.
                for _ in 0..<3 {
                    let now = clock.withLock { $0 += TimeInterval(IdempotencyRecords.claimSeconds - 1); return $0 }
                    try await Self.waitUntilStamped("long-1", at: now, store)
                    clock.withLock { $0 += 2 }
                    retries.append(try await records.claim(caller: "k1", key: "long-1", fingerprint: Self.request))
                }
                return (retries, answer)
            }
            #expect(retries == Array(repeating: .inProgress(fingerprint: Self.request), count: 3))
            #expect(recorded == answer)
        }
    }

    /// Waits (at most 10 s) until the claim of `key` was stamped at `instant` or later.
    static func waitUntilStamped(_ key: String, at instant: Date, _ store: any EventStore) async throws {
        let micros = Int64((instant.timeIntervalSince1970 * 1_000_000).rounded())
        for _ in 0..<1_000 {
            let stamped = try await store.withReadModelConnection { connection in
                try await connection.query("SELECT created_at_micros FROM idempotency_records WHERE idempotency_key = ?", [.text(key)])
            }.first.map { try $0.integer(0) }
            if let stamped, stamped >= micros { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("the claim of \(key) was not renewed at \(instant)")
    }

    /// What a holder of a key does, in one place: the outcome kept is recorded; nothing kept, or a request that
    /// throws, frees the key.
    @Test(arguments: Backend.allCases)
    func runningUnderAClaimKeepsTheOutcomeOrFreesTheKey(backend: Backend) async throws {
        struct Refused: Error {}
        try await TestDatabase.withStore(backend) { store, _ in
            let records = IdempotencyRecords(store: store, now: { Date() }, sealer: .development)
            func claimed(_ key: String) async throws -> Data { try await Self.claimed(key, records) }
            let outcome = IdempotentOutcome(fingerprint: Self.request, status: 201, contentType: "application/json", location: nil, body: Data("{}".utf8))
            let kept = try await records.run(caller: "k1", key: "run-1", token: try await claimed("run-1"), storeFailed: { _ in }) { ("done", outcome) }
            #expect(kept.answer == "done" && kept.recorded == outcome)
            #expect(try await records.claim(caller: "k1", key: "run-1", fingerprint: Self.request) == .answered(outcome))

            let notKept = try await records.run(caller: "k1", key: "run-2", token: try await claimed("run-2"), storeFailed: { _ in }) { ("refused", nil) }
            #expect(notKept.recorded == nil)
            _ = try await claimed("run-2")

            await #expect(throws: Refused.self) {
                _ = try await records.run(caller: "k1", key: "run-3", token: try await claimed("run-3"), storeFailed: { _ in }) { () async throws -> (answer: String, keep: IdempotentOutcome?) in
                    throw Refused()
                }
            }
            _ = try await claimed("run-3")
        }
    }

    /// Claims `key` for caller `k1`; the claim's token, or an error when the key was not free.
    static func claimed(_ key: String, _ records: IdempotencyRecords) async throws -> Data {
        guard case .claimed(let token) = try await records.claim(caller: "k1", key: key, fingerprint: request) else {
            throw IdempotencyTestFailure("\(key) was not free")
        }
        return token
    }

    struct IdempotencyTestFailure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    @Test(arguments: Backend.allCases)
    func aReleasedKeyIsFreeAndAClaimThatLapsedIsTakenOver(backend: Backend) async throws {
        try await TestDatabase.withStore(backend) { store, _ in
            let clock = Mutex(Date())
            let records = IdempotencyRecords(store: store, now: { clock.withLock { $0 } }, sealer: .development)
            guard case .claimed(let refused) = try await records.claim(caller: "k1", key: "add-2", fingerprint: Self.request) else {
                Issue.record("the first request did not get the key")
                return
            }
            // Refused: the key is free for the corrected request.
            try await records.release(caller: "k1", key: "add-2", token: refused)
            guard case .claimed(let stalled) = try await records.claim(caller: "k1", key: "add-2", fingerprint: Self.other) else {
                Issue.record("a released key stayed claimed")
                return
            }
            clock.withLock { $0 += TimeInterval(IdempotencyRecords.claimSeconds - 1) }
            #expect(try await records.claim(caller: "k1", key: "add-2", fingerprint: Self.other) == .inProgress(fingerprint: Self.other))
            // The instance answering it stopped: after the claim's time, a retry takes the key over.
            clock.withLock { $0 += 2 }
            guard case .claimed(let retry) = try await records.claim(caller: "k1", key: "add-2", fingerprint: Self.other) else {
                Issue.record("a lapsed claim was not taken over")
                return
            }
            #expect(retry != stalled)
            // The stalled request, should it finish after all, gets the retry's answer once there is one.
            let answer = IdempotentOutcome(fingerprint: Self.other, status: 201, contentType: "application/json", location: nil, body: Data("{\"a\":1}".utf8))
            #expect(try await records.complete(answer, caller: "k1", key: "add-2", token: retry) == answer)
            let late = IdempotentOutcome(fingerprint: Self.other, status: 201, contentType: "application/json", location: nil, body: Data("{\"a\":2}".utf8))
            #expect(try await records.complete(late, caller: "k1", key: "add-2", token: stalled) == answer)
        }
    }
}
