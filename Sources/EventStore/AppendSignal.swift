import Synchronization

/// Wakes subscribers when events may have been appended, without lost wake-ups.
///
/// A waiter passes the generation it last observed; if an append happened since, it returns at once. This is
/// how a subscriber that read nothing new can sleep without missing an append that landed in between.
final class AppendSignal: Sendable {
    private struct State {
        var generation: UInt64 = 0
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextWaiterID: UInt64 = 0
    }

    private let state = Mutex(State())

    /// The current generation; it grows by one on every ``signal()``.
    var generation: UInt64 { state.withLock { $0.generation } }

    /// Records that something may have changed and wakes every waiter.
    func signal() {
        let waiters = state.withLock { state in
            state.generation &+= 1
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns once the generation differs from `observed`, or `timeout` passes, or the task is cancelled.
    /// Returns the generation at that moment.
    func wait(since observed: UInt64, timeout: Duration) async -> UInt64 {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForChange(since: observed) }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
        return generation
    }

    private func waitForChange(since observed: UInt64) async {
        let waiterID = state.withLock { state in
            state.nextWaiterID &+= 1
            return state.nextWaiterID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state in
                    if state.generation != observed || Task.isCancelled { return true }
                    state.waiters[waiterID] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: waiterID) }?.resume()
        }
    }
}

/// A first-in, first-out lock for async code: holds one caller at a time across suspension points.
///
/// An actor alone is not enough, because an actor method that awaits lets other calls in.
final class AsyncLock: Sendable {
    private struct State {
        var isLocked = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    /// Runs `body` while holding the lock.
    func withLock<Result: Sendable>(_ body: () async throws -> Result) async throws -> Result {
        await acquire()
        defer { release() }
        return try await body()
    }

    private func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let acquired = state.withLock { state in
                if state.isLocked {
                    state.waiters.append(continuation)
                    return false
                }
                state.isLocked = true
                return true
            }
            if acquired { continuation.resume() }
        }
    }

    private func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiters.isEmpty {
                state.isLocked = false
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}
