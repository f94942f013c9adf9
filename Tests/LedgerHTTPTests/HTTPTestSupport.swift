import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LedgerCore
import LedgerHTTP
import LedgerService
import NIOCore
import TestSupport
import Testing

/// Starts the real server on a loopback port for `backend` and runs `body` with a client and the runtime.
/// `settings` are configuration settings by key (`card.secret_key`), as in the configuration file.
func withLiveServer<Result: Sendable>(
    _ backend: Backend,
    bodyBytesMax: Int = 64 * 1024,
    settings: [String: String] = [:],
    _ body: @Sendable (any TestClientProtocol, LedgerRuntime) async throws -> Result
) async throws -> Result {
    let runtime = try await TestRuntime.make(backend, bodyBytesMax: bodyBytesMax, settings: settings)
    do {
        let result = try await buildApplication(runtime: runtime).test(.live) { client in
            try await body(client, runtime)
        }
        await runtime.close()
        return result
    } catch {
        await runtime.close()
        throw error
    }
}

/// Expects a problem document: the status, `application/problem+json`, the status again in the body and, when
/// given, the problem's type by its last path segment (`not-correctable`).
func expectProblem(
    _ response: TestResponse, _ status: HTTPResponse.Status, _ slug: String?, _ what: String = "",
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(response.status == status, "\(what) \(response.status): \(response.text)", sourceLocation: sourceLocation)
    #expect(response.headers[.contentType] == "application/problem+json", "\(what) \(response.text)", sourceLocation: sourceLocation)
    #expect(response.json["status"] as? Int == status.code, "\(what) \(response.text)", sourceLocation: sourceLocation)
    if let slug {
        #expect(
            response.json["type"] as? String == "https://listing-ledger.example/problems/\(slug)", "\(what) \(response.text)",
            sourceLocation: sourceLocation
        )
    }
}

extension TestResponse {
    /// The body as a JSON object.
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any] ?? [:]
    }

    var text: String { String(buffer: body) }
}

/// Authorization headers for a key.
func bearer(_ key: String) -> HTTPFields {
    [.authorization: "Bearer \(key)"]
}

import NIOFoundationCompat

/// A staff member's requests against the live server: a staff key named `name`, JSON bodies.
struct StaffSession {
    let client: any TestClientProtocol
    let key: String

    static func start(_ client: any TestClientProtocol, _ runtime: LedgerRuntime, name: String = "Anna") async throws -> StaffSession {
        StaffSession(client: client, key: try await runtime.apiKeys.create(name: name, role: .staff).key)
    }

    /// The key's headers, with `Content-Type: application/json`.
    var headers: HTTPFields {
        var fields = bearer(key)
        fields[.contentType] = "application/json"
        return fields
    }

    func post(_ uri: String, _ object: [String: Any]) async throws -> TestResponse {
        try await client.execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: object)))
    }

    func get(_ uri: String) async throws -> TestResponse {
        try await client.execute(uri: uri, method: .get, headers: headers)
    }
}

extension StaffSession {
    /// Registers and certifies a profile through the API.
    func certifiedProfile(_ id: String, name: String? = nil) async throws {
        let registered = try await post("/api/v1/profiles", [
            "profileId": id, "kind": "mediator", "displayName": name ?? "Mediator \(id)", "contactEmail": "\(id)@example.org",
        ])
        #expect(registered.status == .created, "\(id): \(registered.text)")
        let certified = try await post("/api/v1/profiles/\(id)/certification", ["action": "grant", "reason": "assessed"])
        #expect(certified.status == .ok, "\(id): \(certified.text)")
    }
}

extension LedgerRuntime {
    /// Today in the organisation's zone, by the runtime's clock.
    var today: LocalDate { profiles.policy.calendar.date(at: now()) }
}
