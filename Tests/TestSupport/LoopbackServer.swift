import Foundation
import Hummingbird
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle
import Synchronization

/// A Hummingbird server on 127.0.0.1 at a port the OS chooses, for the stand-ins of remote parties.
///
/// It runs in a service group of its own, so that ``stop()`` can shut it down gracefully rather than cancel it.
final class LoopbackServer: Sendable {
    /// The port the server listens on.
    let port: Int
    private let running: Mutex<(task: Task<Void, Never>, group: ServiceGroup)?>

    private init(port: Int, task: Task<Void, Never>, group: ServiceGroup) {
        self.port = port
        self.running = Mutex((task, group))
    }

    /// Starts serving `router`, over TLS when `tlsConfiguration` is given, and returns once it accepts connections.
    ///
    /// `name`, e.g. `PayPal stand-in`, names the server in logs and in the error thrown when it does not start.
    static func start(
        name: String,
        router: Router<BasicRequestContext>,
        tlsConfiguration: TLSConfiguration? = nil
    ) async throws -> LoopbackServer {
        let label = name.lowercased().replacingOccurrences(of: " ", with: "-")
        let (ports, portContinuation) = AsyncStream<Int>.makeStream()
        var logger = Logger(label: label)
        logger.logLevel = .warning
        let configuration = ApplicationConfiguration(address: .hostname("127.0.0.1", port: 0), serverName: label)
        let onServerRunning: @Sendable (any Channel) async -> Void = { channel in
            portContinuation.yield(channel.localAddress?.port ?? 0)
        }
        let application =
            if let tlsConfiguration {
                Application(
                    router: router,
                    server: try .tls(.http1(), tlsConfiguration: tlsConfiguration),
                    configuration: configuration,
                    onServerRunning: onServerRunning,
                    logger: logger
                )
            } else {
                Application(router: router, configuration: configuration, onServerRunning: onServerRunning, logger: logger)
            }
        let group = ServiceGroup(configuration: .init(services: [application], gracefulShutdownSignals: [], logger: logger))
        let task = Task {
            do {
                try await group.run()
            } catch {
                logger.error("\(name) stopped: \(error)")
            }
            portContinuation.finish()
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else {
            await group.triggerGracefulShutdown()
            await task.value
            throw StandInError("the \(name) did not start listening")
        }
        return LoopbackServer(port: port, task: task, group: group)
    }

    /// Stops accepting connections, lets requests in flight finish and waits until the server has stopped.
    /// Safe to call twice; the second call returns at once.
    func stop() async {
        guard let (task, group) = running.withLock({ running in running.take() }) else { return }
        await group.triggerGracefulShutdown()
        await task.value
    }
}

extension LoopbackServer {
    /// Failures and hangs a test asks a stand-in for, applied to its next requests, and a count of those requests.
    ///
    /// A hung request waits until ``releaseHanging()``, which a stand-in calls before stopping its server, because
    /// a graceful stop waits for every request in flight.
    final class Faults: Sendable {
        /// What to do with a request instead of serving it.
        enum Fault {
            /// Answer nothing until released.
            case hang
            /// Answer with this 4xx or 5xx status and no effect.
            case fail(status: Int)
        }

        private struct State {
            var requestCount = 0
            var failures: (status: Int, count: Int) = (500, 0)
            var hangsRemaining = 0
            var released = false
            var hanging: [CheckedContinuation<Void, Never>] = []
        }

        private let state = Mutex(State())

        /// Requests counted by ``nextFault()``, including failed and hung ones.
        var requestCount: Int { state.withLock { $0.requestCount } }

        /// Makes the next `count` requests fail with `status`.
        func failNextRequests(status: Int, count: Int) {
            precondition((400...599).contains(status) && count >= 0, "a failure is a 4xx or 5xx status, a count at least 0")
            state.withLock { $0.failures = (status, count) }
        }

        /// Makes the next `count` requests hang until ``releaseHanging()``.
        func hangNextRequests(count: Int) {
            precondition(count >= 0, "a count is at least 0")
            state.withLock { $0.hangsRemaining = count }
        }

        /// Counts a request and returns the fault asked for it, if any; a hang returns only once released, so the
        /// handler can answer then. Hangs come before failures.
        func nextFault() async -> Fault? {
            let fault: Fault? = state.withLock { state in
                state.requestCount += 1
                if state.hangsRemaining > 0 {
                    state.hangsRemaining -= 1
                    return .hang
                }
                if state.failures.count > 0 {
                    state.failures.count -= 1
                    return .fail(status: state.failures.status)
                }
                return nil
            }
            if case .hang = fault {
                await waitUntilReleased()
            }
            return fault
        }

        /// Lets every hung request go, and any later hang at once.
        func releaseHanging() {
            let hanging = state.withLock { state in
                state.released = true
                defer { state.hanging = [] }
                return state.hanging
            }
            for continuation in hanging {
                continuation.resume()
            }
        }

        private func waitUntilReleased() async {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state in
                    if state.released { return true }
                    state.hanging.append(continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
    }
}
