import Foundation
import LedgerHTTP
import LedgerService
import Logging
import ServiceLifecycle
import Synchronization

/// The real HTTP server, started in this process on a free loopback port for a benchmark.
struct BenchServer {
    let port: Int
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    static func start(_ runtime: LedgerRuntime) async throws -> BenchServer {
        let port = Mutex<Int?>(nil)
        let application = buildApplication(runtime: runtime) { bound in port.withLock { $0 = bound } }
        let group = ServiceGroup(configuration: .init(services: [application], logger: Logger(label: "bench")))
        let task = Task { try await group.run() }
        var waited = 0
        while port.withLock({ $0 }) == nil {
            guard waited < 1_000 else {
                task.cancel()
                throw Failure.failed("the service did not start listening within 10 s")
            }
            try await Task.sleep(for: .milliseconds(10))
            waited += 1
        }
        return BenchServer(port: port.withLock { $0 } ?? 0, group: group, task: task)
    }

    /// Stops the server as SIGTERM would, and waits for it.
    func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }

    /// Stops it without waiting, for a benchmark that failed.
    func cancel() { task.cancel() }
}

/// Opens the ledger the options name, logging warnings only (requests are not logged one by one while
/// measuring), runs `body`, and closes the runtime whether `body` succeeds or not.
func withBenchRuntime(_ common: CommonOptions, extra: [String: String] = [:], _ body: (LedgerRuntime) async throws -> Void) async throws {
    let configuration = try await common.resolve(extra: extra)
    var logger = Logger(label: "bench")
    logger.logLevel = .warning
    let runtime = try await LedgerRuntime.open(configuration, logger: logger)
    do {
        try await body(runtime)
    } catch {
        await runtime.close()
        throw error
    }
    await runtime.close()
}
