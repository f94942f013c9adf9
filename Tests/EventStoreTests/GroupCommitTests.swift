@testable import EventStore
import Foundation
import Synchronization
import Testing

@Suite("Group commit")
struct GroupCommitTests {
    /// What the writes saw: each batch's requests, and how many batches ran at once at most.
    final class WriteLog: Sendable {
        private let state = Mutex((batches: [[Int]](), running: 0, runningMax: 0))

        func begin(_ batch: [Int]) {
            state.withLock {
                $0.batches.append(batch)
                $0.running += 1
                $0.runningMax = max($0.runningMax, $0.running)
            }
        }

        func end() { state.withLock { $0.running -= 1 } }

        var batches: [[Int]] { state.withLock { $0.batches } }
        var runningMax: Int { state.withLock { $0.runningMax } }
    }

    @Test func everyRequestGetsItsOwnAnswerFromBatchesWithinTheCaps() async throws {
        let queue = GroupCommit<Int, String>(concurrentBatchesMax: 2, requestsPerBatchMax: 8, weightPerBatchMax: 20)
        let log = WriteLog()
        let write: GroupCommit<Int, String>.Write = { batch in
            log.begin(batch)
            try? await Task.sleep(for: .milliseconds(2))
            log.end()
            // Multiples of 7 fail; the others answer with their own number.
            return batch.map { $0 % 7 == 0 ? .failure(UnexpectedOutcome("\($0)")) : .success("answer \($0)") }
        }
        let answers = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
            for request in 1...200 {
                group.addTask {
                    do {
                        return (request, try await queue.submit(request, weight: request % 3 + 1, write: write))
                    } catch let error as UnexpectedOutcome {
                        #expect(error.description == "\(request)")
                        return (request, nil)
                    }
                }
            }
            return try await group.reduce(into: [Int: String?]()) { $0[$1.0] = $1.1 }
        }
        #expect(answers.count == 200)
        for (request, answer) in answers {
            #expect(answer == (request % 7 == 0 ? nil : "answer \(request)"))
        }
        let batches = log.batches
        // Each request written exactly once, never more than two batches at a time, each batch within its caps.
        #expect(batches.flatMap { $0 }.sorted() == Array(1...200))
        #expect(log.runningMax <= 2)
        for batch in batches {
            #expect(!batch.isEmpty && batch.count <= 8)
            #expect(batch.count == 1 || batch.reduce(0) { $0 + $1 % 3 + 1 } <= 20)
        }
        // Under this load requests did share batches.
        #expect(batches.count < 200)
    }

    @Test func aRequestHeavierThanTheCapIsWrittenAlone() async throws {
        let queue = GroupCommit<Int, Int>(concurrentBatchesMax: 1, requestsPerBatchMax: 4, weightPerBatchMax: 5)
        let log = WriteLog()
        let answer = try await queue.submit(42, weight: 50) { batch in
            log.begin(batch)
            log.end()
            return batch.map { .success($0 * 2) }
        }
        #expect(answer == 84)
        #expect(log.batches == [[42]])
    }

    @Test func afterClosingEveryRequestFailsWithoutAWrite() async throws {
        let queue = GroupCommit<Int, Int>(concurrentBatchesMax: 1, requestsPerBatchMax: 4, weightPerBatchMax: 4)
        let log = WriteLog()
        let write: GroupCommit<Int, Int>.Write = { batch in
            log.begin(batch)
            log.end()
            return batch.map { .success($0) }
        }
        #expect(try await queue.submit(1, weight: 1, write: write) == 1)
        queue.close(failingWith: UnexpectedOutcome("closed"))
        await #expect(throws: UnexpectedOutcome.self) { try await queue.submit(2, weight: 1, write: write) }
        #expect(log.batches == [[1]])
    }
}

@Suite("Group commit: writes that never answer")
struct GroupCommitTimeLimitTests {
    /// Writes parked here never return on their own (like a driver call on a connection that is gone, which
    /// ignores cancellation); the test lets them go at the end.
    final class ParkedWrites: Sendable {
        private let parked = Mutex([CheckedContinuation<Void, Never>]())

        func park() async {
            await withCheckedContinuation { continuation in parked.withLock { $0.append(continuation) } }
        }

        var count: Int { parked.withLock { $0.count } }

        func release() {
            for continuation in parked.withLock({ parked in defer { parked.removeAll() }; return parked }) {
                continuation.resume()
            }
        }
    }

    @Test func aWriteThatNeverAnswersFailsItsOwnBatchAtTheLimitAndTheNextBatchIsWritten() async throws {
        let queue = GroupCommit<Int, String>(
            concurrentBatchesMax: 1, requestsPerBatchMax: 8, weightPerBatchMax: 8,
            writeTimeLimit: .milliseconds(300), timeLimitError: { UnexpectedOutcome("over the time limit") }
        )
        let parked = ParkedWrites()
        defer { parked.release() }
        let stuck: GroupCommit<Int, String>.Write = { batch in
            await parked.park()
            return batch.map { .success("late \($0)") }
        }
        let healthy: GroupCommit<Int, String>.Write = { batch in batch.map { .success("answer \($0)") } }

        let first = await answerWithin(.seconds(10)) {
            do {
                return try await queue.submit(1, weight: 1, write: stuck)
            } catch {
                return "\(error)"
            }
        }
        #expect(first == "over the time limit")
        #expect(parked.count == 1)
        // The only slot is free again: the next request is written and answered.
        let second = await answerWithin(.seconds(10)) { try await queue.submit(2, weight: 1, write: healthy) }
        #expect(second == "answer 2")
    }
}

/// `body`'s answer, or nil when it has none within `limit` (it is then left running).
func answerWithin<Value: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> Value) async -> Value? {
    let answer = FirstAnswer<Value?>()
    Task { answer.give(try? await body()) }
    Task {
        try? await Task.sleep(for: limit)
        answer.give(nil)
    }
    return await answer.value()
}
