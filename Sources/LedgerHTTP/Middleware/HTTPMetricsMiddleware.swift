import HTTPTypes
import Hummingbird
import LedgerService
import Metrics

/// Counts requests and records their latency by method, matched route and status.
struct HTTPMetricsMiddleware: RouterMiddleware {
    typealias Context = LedgerRequestContext
    let metrics: LedgerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let response = try await next(request, context)
        // The matched route pattern, never the raw path, keeps label cardinality bounded.
        let route = context.endpointPath ?? "unmatched"
        let dimensions = [("method", request.method.rawValue), ("route", route)]
        Counter(label: "ledger_http_requests_total", dimensions: dimensions + [("status", String(response.status.code))], factory: metrics.factory)
            .increment()
        Timer(label: "ledger_http_request_duration_seconds", dimensions: dimensions, preferredDisplayUnit: .seconds, factory: metrics.factory)
            .recordInterval(since: started)
        return response
    }
}

extension Timer {
    /// Records the time elapsed since `start`.
    func recordInterval(since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        let (seconds, attoseconds) = elapsed.components
        recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
