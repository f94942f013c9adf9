public import EventStore
public import Logging
import Metrics
public import ServiceLifecycle

/// Keeps one projection caught up while the service runs, and reports its lag.
public struct ProjectionService: Service {
    public let runner: ProjectionRunner
    public let logger: Logger
    private let lag: Gauge

    public init(runner: ProjectionRunner, metrics: LedgerMetrics, logger: Logger) {
        self.runner = runner
        self.logger = logger
        self.lag = Gauge(
            label: "ledger_subscription_lag_positions",
            dimensions: [("projection", runner.projection.name)],
            factory: metrics.factory
        )
    }

    public func run() async throws {
        let logger = self.logger
        let runner = self.runner
        let lag = self.lag
        // The gauge is refreshed after each wake-up; the runner itself does the work.
        let reporter = Task {
            while !Task.isCancelled {
                if let head = try? await runner.store.headCursor(), let checkpoint = try? await runner.checkpoint() {
                    lag.record(max(0, head.position - checkpoint.position))
                }
                try? await Task.sleep(for: .seconds(5))
            }
        }
        defer { reporter.cancel() }
        await cancelWhenGracefulShutdown {
            await runner.run { error in
                logger.error("projection failed; retrying", metadata: ["projection": "\(runner.projection.name)", "error": "\(error)"])
            }
        }
    }
}
