import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LedgerHTTP
import LedgerService
import NIOCore
import TestSupport
import Testing

@Suite("Operations endpoints")
struct OperationsTests {
    @Test(arguments: Backend.allCases)
    func healthReadinessAndMetricsAnswer(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let health = try await client.execute(uri: "/healthz", method: .get)
            #expect(health.status == .ok)
            #expect(health.json["status"] as? String == "ok")

            let ready = try await client.execute(uri: "/readyz", method: .get)
            #expect(ready.status == .ok)
            #expect(ready.json["database"] as? String == backend.rawValue)

            // An append is counted, and the request above is in the request metrics.
            _ = try await runtime.store.append([.init(id: UUID(), type: "Probe", data: Data("{}".utf8))], to: "probe", expecting: .any)
            let metrics = try await client.execute(uri: "/metrics", method: .get)
            #expect(metrics.status == .ok)
            #expect(metrics.headers[.contentType]?.hasPrefix("text/plain") == true)
            #expect(metrics.text.contains(#"ledger_http_requests_total{method="GET",route="/readyz",status="200"} 1"#))
            // Two: the policy seeded at the first start, and the probe.
            #expect(metrics.text.contains(#"ledger_events_appended_total{backend="\#(backend.rawValue)"} 2"#))
            #expect(metrics.text.contains("ledger_http_request_duration_seconds_bucket"))
        }
    }

    @Test(arguments: Backend.allCases)
    func readinessFailsWithAProblemWhenTheDatabaseIsGone(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            await runtime.store.close()
            let ready = try await client.execute(uri: "/readyz", method: .get)
            #expect(ready.status == .serviceUnavailable)
            #expect(ready.headers[.contentType] == "application/problem+json")
            #expect(ready.json["status"] as? Int == 503)
            // Liveness does not depend on the database.
            #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok)
        }
    }

    @Test
    func everyResponseCarriesARequestID() async throws {
        try await withLiveServer(.sqlite) { client, _ in
            let generated = try await client.execute(uri: "/healthz", method: .get)
            let id = try #require(generated.headers[HTTPField.Name("X-Request-Id")!])
            #expect(UUID(uuidString: id) != nil)

            let echoed = try await client.execute(uri: "/healthz", method: .get, headers: [HTTPField.Name("X-Request-Id")!: "client-42.a"])
            #expect(echoed.headers[HTTPField.Name("X-Request-Id")!] == "client-42.a")

            let replaced = try await client.execute(uri: "/nowhere", method: .get, headers: [HTTPField.Name("X-Request-Id")!: "bad id with spaces"])
            let replacement = try #require(replaced.headers[HTTPField.Name("X-Request-Id")!])
            #expect(replacement != "bad id with spaces")
            #expect(replaced.json["requestId"] as? String == replacement)
        }
    }

    @Test
    func unknownRoutesAnswerAProblem() async throws {
        try await withLiveServer(.sqlite) { client, _ in
            let response = try await client.execute(uri: "/api/v1/nothing-here", method: .get)
            #expect(response.status == .notFound)
            #expect(response.headers[.contentType] == "application/problem+json")
            #expect(response.json["type"] as? String == "https://listing-ledger.example/problems/not-found")
            #expect(response.json["title"] as? String == "Not found")
        }
    }

    @Test
    func anOversizeBodyIsRefusedBeforeAnythingIsRead() async throws {
        try await withLiveServer(.sqlite, bodyBytesMax: 1_000) { client, runtime in
            let key = try await runtime.apiKeys.create(name: "staff", role: .staff).key
            let atLimit = try await client.execute(
                uri: "/api/v1/whoami", method: .get, headers: bearer(key), body: ByteBuffer(repeating: 0x20, count: 1_000)
            )
            #expect(atLimit.status == .ok)
            let pastLimit = try await client.execute(
                uri: "/api/v1/whoami", method: .get, headers: bearer(key), body: ByteBuffer(repeating: 0x20, count: 1_001)
            )
            #expect(pastLimit.status == .contentTooLarge)
            #expect(pastLimit.headers[.contentType] == "application/problem+json")
            #expect((pastLimit.json["detail"] as? String)?.contains("1000 bytes") == true)
        }
    }

    @Test
    func theLargestBodyLimitASettingMayGiveStartsTheServer() async throws {
        // The server adds its own margin to the limit; at the largest value the setting accepts that must not
        // overflow (a value near Int.max trapped at start before the setting was bounded).
        try await withLiveServer(.sqlite, bodyBytesMax: LedgerConfiguration.requestBodyBytesLimit) { client, _ in
            let response = try await client.execute(uri: "/api/v1/nothing-here", method: .get)
            #expect(response.status == .notFound)
        }
    }
}
