import Foundation
import Synchronization

/// One stream's part of a write: its events, their content hashes and the version it expects.
struct PendingAppend: Sendable {
    let stream: String
    let expectedVersion: ExpectedVersion
    let events: [NewEvent]
    let hashes: [Data]

    init(stream: String, expectedVersion: ExpectedVersion, events: [NewEvent]) {
        self.stream = stream
        self.expectedVersion = expectedVersion
        self.events = events
        self.hashes = events.map { ContentHash.of($0, stream: stream) }
    }
}

/// Writes requests that arrive together in one transaction: a group commit.
///
/// While fewer than `concurrentBatchesMax` batches are being written, a request starts a batch at once.
/// Requests that arrive while every slot is busy wait in line; when a batch finishes, the next batch takes
/// everyone waiting (up to `requestsPerBatchMax` requests and `weightPerBatchMax` weight, always at least
/// one), so under load each commit flush serves many writers, and with no load nothing waits.
///
/// A batch is led by one of its own requesters (the oldest): no task runs in the background.
/// Before the leader takes the others waiting, it yields once, so that tasks about to submit join this batch
/// rather than wait for the next. When the write finishes, it hands its slot to the oldest waiting request
/// and returns its own answer. Each requester gets exactly the answer the batch's `write` gave for its
/// request.
///
/// Without a time limit the write runs on the leader's task, so cancelling the leader (a service stopping)
/// cancels the write, and every request of that batch gets the error; since appends are idempotent by event
/// id, they can be sent again. With a time limit (PostgreSQL), the write runs on a task of its own that the
/// leader cancels when it is cancelled, and the leader stops waiting at the limit: every request of the batch
/// gets ``timeLimitError``, the outcome unknown, as after a lost connection. A write that never returns (a
/// database gone in mid-write can leave a driver call unanswered) then costs its batch an error instead of
/// holding up every later append. A follower waits for its batch even if its own task is cancelled.
final class GroupCommit<Request: Sendable, Response: Sendable>: Sendable {
    /// Writes one batch, answering each request in order (the answers' count must match).
    typealias Write = @Sendable ([Request]) async -> [Result<Response, any Error>]

    private enum Turn: Sendable {
        case answered(Result<Response, any Error>)
        /// This request's task writes the next batch, starting with its own request.
        case lead
    }

    private struct Waiter: Sendable {
        let request: Request
        let weight: Int
        let continuation: CheckedContinuation<Turn, Never>
    }

    private struct State {
        var waiting: [Waiter] = []
        var waitingStart = 0
        var batchesRunning = 0
        /// Set by ``close(failingWith:)``: every request from then on gets this error.
        var closedError: (any Error)?

        var hasWaiting: Bool { waitingStart < waiting.count }

        /// The oldest waiter, out of the line.
        mutating func popOldest() -> Waiter {
            let waiter = waiting[waitingStart]
            waitingStart += 1
            compact()
            return waiter
        }

        /// Drops the waiters already taken, once the line is empty or they are most of it.
        mutating func compact() {
            if waitingStart == waiting.count {
                waiting.removeAll(keepingCapacity: true)
                waitingStart = 0
            } else if waitingStart > 64, waitingStart * 2 > waiting.count {
                waiting.removeFirst(waitingStart)
                waitingStart = 0
            }
        }
    }

    let concurrentBatchesMax: Int
    let requestsPerBatchMax: Int
    let weightPerBatchMax: Int
    /// How long a leader waits for its batch's write; nil: for as long as it takes.
    let writeTimeLimit: Duration?
    /// What every request of a batch gets when its write exceeds ``writeTimeLimit``.
    let timeLimitError: @Sendable () -> any Error
    private let state = Mutex(State())

    init(
        concurrentBatchesMax: Int, requestsPerBatchMax: Int, weightPerBatchMax: Int,
        writeTimeLimit: Duration? = nil, timeLimitError: @escaping @Sendable () -> any Error = { CancellationError() }
    ) {
        precondition(concurrentBatchesMax > 0 && requestsPerBatchMax > 0 && weightPerBatchMax > 0)
        precondition(writeTimeLimit.map { $0 > .zero } ?? true, "a write's time limit must be positive")
        self.concurrentBatchesMax = concurrentBatchesMax
        self.requestsPerBatchMax = requestsPerBatchMax
        self.weightPerBatchMax = weightPerBatchMax
        self.writeTimeLimit = writeTimeLimit
        self.timeLimitError = timeLimitError
    }

    /// Writes `request` (alone or with others) and returns its answer. `weight` counts towards a batch's cap,
    /// e.g. the number of events an append carries. Should this request's task write a batch, it does so with
    /// `write`; every submitter passes the same function.
    func submit(_ request: Request, weight: Int, write: @escaping Write) async throws -> Response {
        let turn = await withCheckedContinuation { (continuation: CheckedContinuation<Turn, Never>) in
            let leads = state.withLock { state -> Bool? in
                if state.closedError != nil { return nil }
                guard state.batchesRunning < concurrentBatchesMax else {
                    state.waiting.append(Waiter(request: request, weight: weight, continuation: continuation))
                    return false
                }
                state.batchesRunning += 1
                return true
            }
            switch leads {
            case true?: continuation.resume(returning: .lead)
            case false?: break
            case nil: continuation.resume(returning: .answered(.failure(state.withLock { $0.closedError! })))
            }
        }
        switch turn {
        case .answered(let result):
            return try result.get()
        case .lead:
            // Let the requests whose tasks are ready to run join the batch: writers answered a moment ago
            // are usually about to submit again.
            await Task.yield()
            let followers = state.withLock { state in takeFollowers(&state, leaderWeight: weight) }
            let requests = [request] + followers.map(\.request)
            let answers = await run(write, requests)
            precondition(answers.count == followers.count + 1, "a group commit write answered \(answers.count) of \(followers.count + 1) requests")
            // Hand the slot on before answering, so the next batch starts as early as possible.
            let nextLeader = state.withLock { state -> Waiter? in
                guard state.hasWaiting else {
                    state.batchesRunning -= 1
                    return nil
                }
                return state.popOldest()
            }
            nextLeader?.continuation.resume(returning: .lead)
            for (follower, answer) in zip(followers, answers.dropFirst()) {
                follower.continuation.resume(returning: .answered(answer))
            }
            return try answers[0].get()
        }
    }

    /// Fails every request from now on with `error`, including those already waiting: their leader finds
    /// the queue closed and writes nothing.
    func close(failingWith error: any Error) {
        state.withLock { $0.closedError = error }
    }

    /// Runs one write, unless the queue has been closed: on the leader's task, or within the time limit.
    private func run(_ write: @escaping Write, _ requests: [Request]) async -> [Result<Response, any Error>] {
        if let error = state.withLock({ $0.closedError }) {
            return requests.map { _ in .failure(error) }
        }
        guard let limit = writeTimeLimit else { return await write(requests) }
        let answer = FirstAnswer<[Result<Response, any Error>]>()
        let work = Task { answer.give(await write(requests)) }
        let timer = Task {
            try? await Task.sleep(for: limit)
            answer.give(requests.map { _ in .failure(self.timeLimitError()) })
        }
        let answers = await withTaskCancellationHandler {
            await answer.value()
        } onCancel: {
            work.cancel()
        }
        timer.cancel()
        return answers
    }

    /// The oldest waiters that fit in one batch behind a leader of `leaderWeight`.
    private func takeFollowers(_ state: inout State, leaderWeight: Int) -> [Waiter] {
        var followers: [Waiter] = []
        var weight = leaderWeight
        while state.hasWaiting, followers.count + 1 < requestsPerBatchMax {
            let waiter = state.waiting[state.waitingStart]
            guard weight + waiter.weight <= weightPerBatchMax else { break }
            followers.append(waiter)
            weight += waiter.weight
            state.waitingStart += 1
        }
        state.compact()
        return followers
    }
}

/// The append queue of both stores: a request is the list of its streams' appends (one for a single-stream
/// append), answered with one result per stream.
typealias AppendQueue = GroupCommit<[PendingAppend], [AppendResult]>

extension GroupCommit where Request == [PendingAppend], Response == [AppendResult] {
    /// Queues an append to one stream (already validated) and returns its result.
    func append(_ events: [NewEvent], to stream: String, expecting expectedVersion: ExpectedVersion, write: @escaping Write) async throws -> AppendResult {
        let results = try await submit(
            [PendingAppend(stream: stream, expectedVersion: expectedVersion, events: events)], weight: events.count, write: write
        )
        guard let result = results.first else {
            throw EventStoreError(.unavailable, "an append to '\(stream)' was answered without a result")
        }
        return result
    }

    /// Queues appends to several streams (already validated), all or nothing, and returns their results.
    func append(_ appends: [StreamAppend], write: @escaping Write) async throws -> [AppendResult] {
        guard !appends.isEmpty else { return [] }
        let pending = appends.map { PendingAppend(stream: $0.stream, expectedVersion: $0.expectedVersion, events: $0.events) }
        return try await submit(pending, weight: pending.reduce(0) { $0 + $1.events.count }, write: write)
    }
}

/// The first of several answers to one question; later ones are dropped.
final class FirstAnswer<Value: Sendable>: Sendable {
    private enum State {
        case waiting(CheckedContinuation<Value, Never>?)
        case answered(Value)
    }

    private let state = Mutex(State.waiting(nil))

    /// Gives an answer; does nothing when one was given before.
    func give(_ value: Value) {
        let waiter = state.withLock { state -> CheckedContinuation<Value, Never>? in
            guard case .waiting(let waiter) = state else { return nil }
            state = .answered(value)
            return waiter
        }
        waiter?.resume(returning: value)
    }

    /// The first answer, once there is one. Only one task may wait.
    func value() async -> Value {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Value? in
                switch state {
                case .answered(let value):
                    return value
                case .waiting:
                    state = .waiting(continuation)
                    return nil
                }
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}
