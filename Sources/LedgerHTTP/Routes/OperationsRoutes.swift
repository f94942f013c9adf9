import Logging
import Foundation
import HTTPTypes
import Hummingbird
import LedgerService
import NIOCore

/// `/healthz`, `/readyz`, `/metrics` and `/openapi.json`: unauthenticated, for load balancers, monitoring
/// and client generators.
struct OperationsRoutes {
    let runtime: LedgerRuntime
    /// How long `/readyz` waits for the database before answering 503.
    static let readinessTimeout: Duration = .seconds(2)

    func register(on router: some RouterMethods<LedgerRequestContext>) {
        router.get("healthz") { _, _ in
            try JSONResponse(["status": "ok"])
        }
        router.get("readyz") { _, _ in
            try await ready()
        }
        router.get("metrics") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(string: runtime.metrics.exposition()))
            )
        }
        router.get("openapi.json") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(bytes: try OpenAPIDocument.bytes()))
            )
        }
    }

    /// Ready means: the database answers within the timeout and has every migration this build knows.
    private func ready() async throws -> Response {
        let runtime = self.runtime
        let pending: Int
        do {
            pending = try await withThrowingTaskGroup(of: Int?.self) { group in
                group.addTask { try await runtime.pendingMigrationCount() }
                group.addTask {
                    try await Task.sleep(for: Self.readinessTimeout)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let count = first else {
                    throw Problem(.serviceUnavailable, "not-ready", title: "Not ready", detail: "the database did not answer within \(Self.readinessTimeout)")
                }
                return count
            }
        } catch let problem as Problem {
            throw problem
        } catch {
            runtime.logger.warning("readiness check failed", metadata: ["error": "\(error)"])
            throw Problem(.serviceUnavailable, "not-ready", title: "Not ready", detail: "the database cannot be reached")
        }
        guard pending == 0 else {
            throw Problem(.serviceUnavailable, "not-ready", title: "Not ready", detail: "the database lacks \(pending) migration(s); run `listing-ledger migrate`")
        }
        return try JSONResponse(["status": "ready", "database": runtime.databaseBackendName])
    }
}

/// The OpenAPI 3.1 document describing every route, shipped as a resource.
enum OpenAPIDocument {
    static func bytes() throws -> Data {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "json") else {
            throw Problem.internalError()
        }
        return try Data(contentsOf: url)
    }
}

/// A JSON response with sorted keys.
func JSONResponse(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .iso8601
    return Response(
        status: status,
        headers: [.contentType: "application/json"],
        body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value)))
    )
}
