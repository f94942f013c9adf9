import Foundation
import HTTPTypes
import HummingbirdTesting
import LedgerService
import TestSupport
import Testing

@Suite("API keys over HTTP")
struct AuthenticationTests {
    @Test(arguments: Backend.allCases)
    func aValidKeyIsAcceptedAndIdentified(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let created = try await runtime.apiKeys.create(name: "website", role: .website)
            let response = try await client.execute(uri: "/api/v1/whoami", method: .get, headers: bearer(created.key))
            #expect(response.status == .ok)
            #expect(response.json["name"] as? String == "website")
            #expect(response.json["role"] as? String == "website")
            #expect(response.json["keyId"] as? String == created.record.keyID)
        }
    }

    @Test(arguments: Backend.allCases)
    func missingWrongAndRevokedKeysAre401(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let created = try await runtime.apiKeys.create(name: "staff", role: .staff)
            let missing = try await client.execute(uri: "/api/v1/whoami", method: .get)
            #expect(missing.status == .unauthorized)
            #expect(missing.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
            #expect(missing.headers[.contentType] == "application/problem+json")

            var tampered = created.key
            tampered.removeLast()
            tampered.append(created.key.last == "A" ? "B" : "A")
            #expect(try await client.execute(uri: "/api/v1/whoami", method: .get, headers: bearer(tampered)).status == .unauthorized)
            #expect(try await client.execute(uri: "/api/v1/whoami", method: .get, headers: bearer("llk_nope_nope")).status == .unauthorized)
            #expect(try await client.execute(uri: "/api/v1/whoami", method: .get, headers: [.authorization: "Basic \(created.key)"]).status == .unauthorized)

            try await runtime.apiKeys.revoke(keyID: created.record.keyID)
            #expect(try await client.execute(uri: "/api/v1/whoami", method: .get, headers: bearer(created.key)).status == .unauthorized)
        }
    }

    @Test(arguments: Backend.allCases)
    func aKeyWithTheWrongRoleIs403(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let website = try await runtime.apiKeys.create(name: "website", role: .website)
            let staff = try await runtime.apiKeys.create(name: "Anna", role: .staff)
            let forbidden = try await client.execute(uri: "/api/v1/keys", method: .get, headers: bearer(website.key))
            #expect(forbidden.status == .forbidden)
            #expect((forbidden.json["detail"] as? String)?.contains("staff") == true)

            let allowed = try await client.execute(uri: "/api/v1/keys", method: .get, headers: bearer(staff.key))
            #expect(allowed.status == .ok)
            let keys = try JSONSerialization.jsonObject(with: Data(buffer: allowed.body)) as? [[String: Any]]
            #expect(Set(keys?.compactMap { $0["name"] as? String } ?? []) == ["website", "Anna"])
            #expect(!allowed.text.contains(website.key.split(separator: "_", maxSplits: 2).last!))
        }
    }
}

import NIOFoundationCompat
