import EventStore
import Foundation
import HTTPTypes
import HummingbirdTesting
import LedgerService
import NIOCore
import Payments
import TestSupport
import Testing

/// What `/webhooks/card` accepts and refuses, judged by the `Stripe-Signature` header alone.
@Suite("Card webhook signatures")
struct CardWebhookSignatureTests {
    static let current = "whsec_test_current"
    static let previous = "whsec_test_previous"

    /// Posts `body` to the webhook with `header` and returns the response.
    private func send(_ world: CardWorld, _ body: Data, header: String?) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/json; charset=utf-8"]
        if let header { headers[HTTPField.Name("Stripe-Signature")!] = header }
        return try await world.client.execute(uri: "/webhooks/card", method: .post, headers: headers, body: ByteBuffer(bytes: body))
    }

    private func unixNow() -> Int64 { Int64(Date().timeIntervalSince1970) }

    @Test(arguments: Backend.allCases)
    func everyBadSignatureIsRefusedAndWritesNothing(backend: Backend) async throws {
        try await CardWorld.run(backend) { world in
            let event = world.provider.event(type: "customer.created", object: ["id": "cus_test_2", "object": "customer"])
            try await (world.runtime.store as? any EventStoreTestHooks)?.waitUntilAllCommittedEventsAreVisible()
            let head = try await world.runtime.store.headCursor()
            let huge = world.provider.event(type: "checkout.session.completed", object: [
                "id": "cs_test_huge", "object": "checkout.session", "amount_total": 1_000_000_000_001, "currency": "eur", "payment_status": "paid",
            ])
            var tampered = event.body
            tampered[tampered.index(tampered.startIndex, offsetBy: 10)] ^= 0x01
            let cases: [(String, Data, String?, String)] = [
                ("wrong secret", event.body, CardSignature.header(payload: event.body, secrets: ["whsec_wrong"], timestamp: unixNow()), "invalid-signature"),
                ("tampered body", tampered, CardSignature.header(payload: event.body, secrets: [Self.current], timestamp: unixNow()), "invalid-signature"),
                ("stale timestamp", event.body, CardSignature.header(payload: event.body, secrets: [Self.current], timestamp: unixNow() - 400), "invalid-signature"),
                ("future timestamp", event.body, CardSignature.header(payload: event.body, secrets: [Self.current], timestamp: unixNow() + 400), "invalid-signature"),
                ("missing header", event.body, nil, "invalid-signature"),
                ("only v0", event.body, "t=\(unixNow()),v0=\(CardSignature.signature(payload: event.body, secret: Self.current, timestamp: unixNow()))", "invalid-signature"),
                ("not an event", Data("[]".utf8), CardSignature.header(payload: Data("[]".utf8), secrets: [Self.current], timestamp: unixNow()), "malformed-event"),
                ("an amount past the limit", huge.body, CardSignature.header(payload: huge.body, secrets: [Self.current], timestamp: unixNow()), "malformed-event"),
            ]
            for (name, body, header, slug) in cases {
                let response = try await send(world, body, header: header)
                #expect(response.status == .badRequest, "\(name)")
                #expect(response.headers[.contentType] == "application/problem+json", "\(name)")
                #expect(response.json["type"] as? String == "https://listing-ledger.example/problems/\(slug)", "\(name): \(response.text)")
            }
            try await (world.runtime.store as? any EventStoreTestHooks)?.waitUntilAllCommittedEventsAreVisible()
            #expect(try await world.runtime.store.headCursor() == head)
            #expect(try await world.runtime.store.readStream("inbox-card-\(event.id)", fromVersion: 1, limit: 1).isEmpty)

            // The same event, properly signed, goes through.
            let accepted = try await send(world, event.body, header: CardSignature.header(payload: event.body, secrets: [Self.current], timestamp: unixNow()))
            #expect(accepted.status == .ok)
        }
    }

    /// While a secret is rolled the provider signs with both; either configured secret matching is enough.
    @Test(arguments: Backend.allCases)
    func aRolledSecretIsAcceptedThroughEitherSignature(backend: Backend) async throws {
        try await CardWorld.run(backend, webhookSecrets: [Self.previous, Self.current]) { world in
            let first = world.provider.event(type: "customer.created", object: ["id": "cus_test_3", "object": "customer"])
            let signedWithBoth = CardSignature.header(payload: first.body, secrets: ["whsec_unknown", Self.current], timestamp: unixNow())
            #expect(signedWithBoth.components(separatedBy: "v1=").count == 3)
            let firstResponse = try await send(world, first.body, header: signedWithBoth)
            #expect(firstResponse.status == .ok)

            let second = world.provider.event(type: "customer.created", object: ["id": "cus_test_4", "object": "customer"])
            let signedWithOld = CardSignature.header(payload: second.body, secrets: [Self.previous], timestamp: unixNow())
            let secondResponse = try await send(world, second.body, header: signedWithOld)
            #expect(secondResponse.status == .ok)
        }
    }
}
