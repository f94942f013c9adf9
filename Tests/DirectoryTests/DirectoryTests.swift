@testable import Directory
import AsyncHTTPClient
import Foundation
import Testing

@Suite("Standard Webhooks signing")
struct StandardWebhookSignerTests {
    /// The example from the Standard Webhooks specification reproduces exactly.
    @Test
    func theSpecificationsExampleReproduces() throws {
        let secret = try #require(WebhookSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))
        let header = StandardWebhookSigner.header(
            id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330, body: Data(#"{"test": 2432232314}"#.utf8), secrets: [secret]
        )
        #expect(header == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    }

    @Test
    func aRotationSendsBothSignaturesAndEitherSecretVerifies() throws {
        let old = WebhookSecret.generate()
        let new = WebhookSecret.generate()
        let body = Data(#"{"type":"listing.visibility_changed"}"#.utf8)
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let header = StandardWebhookSigner.header(id: "e1", timestamp: 1_800_000_000, body: body, secrets: [new, old])
        #expect(header.split(separator: " ").count == 2)
        #expect(StandardWebhookSigner.verify(id: "e1", timestamp: 1_800_000_000, body: body, header: header, secret: old, now: now))
        #expect(StandardWebhookSigner.verify(id: "e1", timestamp: 1_800_000_000, body: body, header: header, secret: new, now: now))
        #expect(!StandardWebhookSigner.verify(id: "e1", timestamp: 1_800_000_000, body: body, header: header, secret: .generate(), now: now))
        #expect(!StandardWebhookSigner.verify(id: "e2", timestamp: 1_800_000_000, body: body, header: header, secret: new, now: now))
        #expect(!StandardWebhookSigner.verify(id: "e1", timestamp: 1_800_000_000, body: body, header: header, secret: new, now: now.addingTimeInterval(301)))
        // A timestamp at either end of Int64 is out of tolerance, not a trap.
        for timestamp in [Int64.min, Int64.max, Int64.min + 1] {
            #expect(!StandardWebhookSigner.verify(id: "e1", timestamp: timestamp, body: body, header: header, secret: new, now: now))
        }
    }

    @Test
    func secretsAreWhsecAndBase64OfAnAllowedSize() {
        let secret = WebhookSecret.generate()
        #expect(secret.text.hasPrefix("whsec_"))
        #expect(secret.key.count == 32)
        #expect(WebhookSecret(secret.text) == secret)
        #expect(WebhookSecret("whsec_" + Data(count: 23).base64EncodedString()) == nil)
        #expect(WebhookSecret("whsec_" + Data(count: 65).base64EncodedString()) == nil)
        #expect(WebhookSecret("whsec_not base64!") == nil)
        #expect(WebhookSecret(Data(count: 32).base64EncodedString()) == nil)
        #expect(!"\(secret)".contains(secret.text.dropFirst(6)))
    }
}

@Suite("Delivery retry policy")
struct DeliveryRetryPolicyTests {
    @Test
    func theScheduleIsFiveSecondsThenMinutesThenHoursThenDead() {
        let policy = DeliveryRetryPolicy.standard
        let pauses = (1...8).map { policy.pauseSeconds(afterFailedAttempts: $0) }
        #expect(pauses == [5, 300, 1_800, 7_200, 18_000, 36_000, 36_000, nil])
        #expect(policy.attemptsMax == 8)
    }

    @Test
    func retryAfterExtendsAPauseButNeverShortensItAndIsCapped() {
        let policy = DeliveryRetryPolicy.standard
        #expect(policy.pauseSeconds(afterFailedAttempts: 1, retryAfterSeconds: 120) == 120)
        #expect(policy.pauseSeconds(afterFailedAttempts: 2, retryAfterSeconds: 1) == 300)
        #expect(policy.pauseSeconds(afterFailedAttempts: 1, retryAfterSeconds: 10_000_000) == 86_400)
        #expect(policy.pauseSeconds(afterFailedAttempts: 8, retryAfterSeconds: 5) == nil)
    }

    @Test
    func retryAfterIsReadAsSecondsOrAnHTTPDate() {
        let now = Date(timeIntervalSince1970: 1_445_412_480)  // Wed, 21 Oct 2015 07:28:00 GMT
        #expect(WebhookDeliveryClient.retryAfterSeconds("120", now: now) == 120)
        #expect(WebhookDeliveryClient.retryAfterSeconds("Wed, 21 Oct 2015 07:30:00 GMT", now: now) == 120)
        #expect(WebhookDeliveryClient.retryAfterSeconds("soon", now: now) == nil)
        #expect(WebhookDeliveryClient.retryAfterSeconds("-5", now: now) == nil)
        // The two older forms of an HTTP date, which a recipient must read too.
        #expect(WebhookDeliveryClient.retryAfterSeconds("Wednesday, 21-Oct-15 07:30:00 GMT", now: now) == 120)
        #expect(WebhookDeliveryClient.retryAfterSeconds("Wed Oct 21 07:30:00 2015", now: now) == 120)
        #expect(WebhookDeliveryClient.retryAfterSeconds("Wed Nov  4 07:30:00 2015", now: now) == Int64(120 + 14 * 86_400))
        // More seconds than Int64 holds is the longest wait, which the policy cuts to its bound.
        #expect(WebhookDeliveryClient.retryAfterSeconds("100000000000000000000", now: now) == .max)
    }
}

@Suite("Sending a delivery")
struct WebhookDeliveryClientTests {
    /// A delivery with no secret to sign it (the stored one does not open) is not sent unsigned: the attempt fails
    /// without any request, saying why.
    @Test
    func aDeliveryWithNothingToSignItIsNotSent() async throws {
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
        let outcome = await WebhookDeliveryClient(httpClient: client, requestTimeoutSeconds: 2).send(
            url: "http://127.0.0.1:9/hooks", webhookID: "evt-1", body: Data("{}".utf8), secrets: [], now: Date()
        )
        try await client.shutdown()
        guard case .failed(let status, _, let detail) = outcome else {
            Issue.record("sent: \(outcome)")
            return
        }
        #expect(status == nil && detail.contains("not sent") && detail.contains("LEDGER_SECRETS_KEY"), "\(detail)")
    }
}
