import Directory
import EventStore
import Foundation
@testable import LedgerService
import TestSupport
import Testing

@Suite("Directory endpoints: where they may point, and how their secrets are kept")
struct EndpointSecurityTests {
    static let production = EndpointURLPolicy(requireHTTPS: true, refuseInternalAddresses: true, allowedHosts: ["directory.internal.example"])

    @Test(arguments: [
        "http://93.184.216.34/hooks", "https://127.0.0.1/hooks", "https://localhost/hooks", "https://10.1.2.3/hooks",
        "https://172.20.0.5/hooks", "https://192.168.1.10/hooks", "https://169.254.169.254/latest/meta-data", "https://100.64.0.1/hooks",
        "https://0.0.0.0/hooks", "https://[::1]/hooks", "https://[fe80::1]/hooks", "https://[fd00::5]/hooks", "https://[::ffff:127.0.0.1]/hooks",
        "https://224.0.0.1/hooks",
        // IPv6 addresses that carry an internal IPv4 address: IPv4-compatible, NAT64 (well-known and local-use), 6to4.
        "https://[::a9fe:a9fe]/hooks", "https://[::10.0.0.1]/hooks", "https://[64:ff9b::a9fe:a9fe]/hooks", "https://[64:ff9b::7f00:1]/hooks",
        "https://[64:ff9b:1::5db8:d822]/hooks", "https://[2002:a9fe:a9fe::1]/hooks", "https://[2002:c0a8:0101::]/hooks",
        // IPv4-translated (::ffff:0:a.b.c.d), Teredo with an internal client (10.0.0.1 inverted), site-local.
        "https://[::ffff:0:a9fe:a9fe]/hooks", "https://[::ffff:0:7f00:1]/hooks", "https://[2001:0:5db8:d822::f5ff:fffe]/hooks",
        "https://[fec0::1]/hooks",
        // Benchmarking (198.18.0.0/15) and protocol assignments (192.0.0.0/24), often used inside networks.
        "https://198.18.0.1/hooks", "https://198.19.255.254/hooks", "https://192.0.0.170/hooks",
    ])
    func productionRefusesPlainHTTPAndInternalAddresses(url: String) async throws {
        let parsed = try #require(URL(string: url))
        #expect(await Self.production.problem(with: parsed) != nil, "\(url) was accepted")
    }

    @Test(arguments: [
        "https://93.184.216.34/hooks", "https://[2001:db8::1]/hooks", "https://directory.internal.example/hooks",
        // The same kinds of IPv6 address carrying a public IPv4 address (93.184.216.34).
        "https://[64:ff9b::5db8:d822]/hooks", "https://[2002:5db8:d822::1]/hooks",
        "https://[::ffff:0:5db8:d822]/hooks", "https://[2001:0:5db8:d822::a247:27dd]/hooks",
        // The neighbours of the ranges refused: 198.17.x and 198.20.x, 192.0.1.x.
        "https://198.17.255.1/hooks", "https://198.20.0.1/hooks", "https://192.0.1.1/hooks",
    ])
    func productionAcceptsPublicAddressesAndAllowedHosts(url: String) async throws {
        let parsed = try #require(URL(string: url))
        #expect(await Self.production.problem(with: parsed) == nil, "\(url) was refused")
    }

    @Test
    func developmentAcceptsLoopback() async throws {
        #expect(await EndpointURLPolicy.development.problem(with: try #require(URL(string: "http://127.0.0.1:9999/hooks"))) == nil)
    }

    @Test(arguments: Backend.allCases)
    func secretsAreStoredSealedAndAWrongKeyStopsStartUp(backend: Backend) async throws {
        let url = try await TestDatabase.freshURL(backend)
        let key = Data((0..<32).map { UInt8($0) }).base64EncodedString()
        let runtime = try await TestRuntime.open(url, settings: ["secrets.key": key])
        let secret: String
        do {
            let added = try await runtime.directoryEndpoints.add(url: "https://directory.example/hooks", eventTypes: [])
            secret = added.secret
            let stored = try await runtime.store.withReadModelConnection { connection in
                try await connection.query("SELECT secret FROM directory_endpoints", [])
            }
            let text = try #require(stored.first?[0].text)
            #expect(text.hasPrefix("sealed:v1:"))
            #expect(!text.contains(secret.dropFirst(6)))
            let opened = DirectoryEndpoints.signingSecrets(
                endpointID: added.endpoint.endpointId, current: text, previous: nil, previousUntilMicros: nil, at: Date(),
                sealer: runtime.configuration.secretSealer
            )
            #expect(opened.map(\.text) == [secret])
            await runtime.close()
        } catch {
            await runtime.close()
            throw error
        }

        let otherKey = Data((0..<32).map { UInt8(255 - $0) }).base64EncodedString()
        do {
            let wrong = try await TestRuntime.open(url, settings: ["secrets.key": otherKey])
            await wrong.close()
            Issue.record("a runtime started with a key that does not open the stored secrets")
        } catch let error as ConfigurationError {
            #expect(error.description.contains("LEDGER_SECRETS_KEY"))
        }
    }

    @Test(arguments: Backend.allCases)
    func aSecretStoredInClearIsSealedAtTheNextStart(backend: Backend) async throws {
        let url = try await TestDatabase.freshURL(backend)
        let runtime = try await TestRuntime.open(url)
        let endpointID = try await runtime.directoryEndpoints.add(url: "https://directory.example/hooks", eventTypes: []).endpoint.endpointId
        let legacy = WebhookSecret.generate().text
        try await runtime.store.withReadModelTransaction { connection in
            try await connection.execute("UPDATE directory_endpoints SET secret = ? WHERE endpoint_id = ?", [.text(legacy), .text(endpointID)])
        }
        await runtime.close()
        let restarted = try await TestRuntime.open(url)
        let stored = try await restarted.store.withReadModelConnection { connection in
            try await connection.query("SELECT secret FROM directory_endpoints", [])
        }
        await restarted.close()
        let text = try #require(stored.first?[0].text)
        #expect(text.hasPrefix("sealed:v1:"))
        let opened = DirectoryEndpoints.signingSecrets(
            endpointID: endpointID, current: text, previous: nil, previousUntilMicros: nil, at: Date(), sealer: .development
        )
        #expect(opened.map(\.text) == [legacy])
    }
}
