public import EventStore
public import Logging
import Metrics
public import ServiceLifecycle

/// Keeps the read models caught up while the service runs, one batch of the log for all of them at a time, and
/// reports each one's lag.
public struct ProjectionService: Service {
    public let runner: ProjectionGroupRunner
    public let logger: Logger
    private let lags: [Gauge]

    public init(runner: ProjectionGroupRunner, metrics: LedgerMetrics, logger: Logger) {
        self.runner = runner
        self.logger = logger
        self.lags = runner.projections.map { projection in
            Gauge(label: "ledger_subscription_lag_positions", dimensions: [("projection", projection.name)], factory: metrics.factory)
        }
    }

    public func run() async throws {
        let logger = self.logger
        let runner = self.runner
        let lags = self.lags
        let names = runner.projections.map(\.name).joined(separator: ", ")
        // The gauges are refreshed every five seconds; the runner itself does the work.
        let reporter = Task {
            while !Task.isCancelled {
                if let head = try? await runner.store.headCursor(), let checkpoints = try? await runner.checkpoints() {
                    for (lag, checkpoint) in zip(lags, checkpoints) { lag.record(max(0, head.position - checkpoint.position)) }
                }
                try? await Task.sleep(for: .seconds(5))
            }
        }
        defer { reporter.cancel() }
        await cancelWhenGracefulShutdown {
            await runner.run { error in
                logger.error("projection failed; retrying", metadata: ["projections": "\(names)", "error": "\(error)"])
            }
        }
    }
}
