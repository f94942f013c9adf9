import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LedgerHTTP
import LedgerService
import NIOCore
import NIOFoundationCompat
import Payments
import TestSupport
import Testing

/// Promises the README makes about the HTTP API, tried as a user reading it would, against the real server on
/// loopback.
@Suite("README promises over HTTP")
struct ReadmePromiseTests {
    // MARK: Providers that are not configured

    /// "without [`LEDGER_PAYPAL_CLIENT_ID`] and the secret, PayPal checkout answers 503"; without
    /// `LEDGER_CARD_SECRET_KEY` "checkout … answer[s] 503". Both with nothing configured and with every other
    /// provider setting given (a PayPal client id without its secret is not enough), and nothing is recorded.
    @Test(arguments: Backend.allCases)
    func checkoutAnswers503WithoutTheProvidersCredentials(backend: Backend) async throws {
        let configurations: [[String: String]] = [
            [:],
            ["card.webhook_secrets": "whsec_readme", "paypal.webhook_id": "WH-README", "paypal.client_id": "client-id-without-its-secret"],
        ]
        for settings in configurations {
            try await withLiveServer(backend, settings: settings) { client, runtime in
                let staff = try await StaffSession.start(client, runtime)
                #expect(try await staff.post("/api/v1/profiles", promiseRegistration("co-1")).status == .created)
                #expect(try await staff.post("/api/v1/profiles/co-1/certification", ["action": "grant", "reason": "assessed"]).status == .ok)
                var website = bearer(try await runtime.apiKeys.create(name: "Website", role: .website).key)
                website[.contentType] = "application/json"
                let head = try await promiseHead(runtime)
                for method in ["card", "paypal"] {
                    let answer = try await client.execute(
                        uri: "/api/v1/profiles/co-1/checkout", method: .post, headers: website,
                        body: try promiseBody([
                            "method": method, "purpose": "listing", "successUrl": "https://imi.example/paid", "cancelUrl": "https://imi.example/cancelled",
                        ])
                    )
                    expectProblem(answer, .serviceUnavailable, "not-configured", "\(method) checkout with \(settings)")
                }
                #expect(try await promiseHead(runtime) == head, "a checkout that answered 503 recorded something")
            }
        }
    }

    /// "without [`LEDGER_PAYPAL_WEBHOOK_ID`] `/webhooks/paypal` answers 503"; without `LEDGER_CARD_WEBHOOK_SECRETS`
    /// "the webhook answers 503". Both providers' API credentials are set, so only the signing settings are
    /// missing; a signed card event and a PayPal delivery are both refused and record nothing.
    @Test(arguments: Backend.allCases)
    func providerWebhooksAnswer503WithoutTheirSigningSettings(backend: Backend) async throws {
        let settings = ["card.secret_key": "sk_test_readme", "paypal.client_id": "client-id", "paypal.client_secret": "client-secret"]
        try await withLiveServer(backend, settings: settings) { client, runtime in
            let head = try await promiseHead(runtime)
            let created = Int(Date().timeIntervalSince1970)
            let event: [String: Any] = [
                "id": "evt_readme_1", "object": "event", "api_version": "2024-06-20", "created": created,
                "data": ["object": ["id": "cus_readme_1", "object": "customer"]], "livemode": false, "pending_webhooks": 1,
                "type": "customer.created",
            ]
            let cardBody = try JSONSerialization.data(withJSONObject: event)
            var cardHeaders: HTTPFields = [.contentType: "application/json; charset=utf-8"]
            cardHeaders[HTTPField.Name("Stripe-Signature")!] = CardSignature.header(payload: cardBody, secrets: ["whsec_readme"], timestamp: Int64(created))
            let card = try await client.execute(uri: "/webhooks/card", method: .post, headers: cardHeaders, body: ByteBuffer(bytes: cardBody))
            expectProblem(card, .serviceUnavailable, "not-configured", "/webhooks/card without LEDGER_CARD_WEBHOOK_SECRETS")

            let resource: [String: Any] = ["id": "CAP-README-1", "status": "COMPLETED", "amount": ["currency_code": "EUR", "value": "125.00"]]
            let delivery: [String: Any] = [
                "id": "WH-README-1", "event_type": "PAYMENT.CAPTURE.COMPLETED", "resource_type": "capture", "resource": resource,
                "create_time": "2026-01-15T12:00:00Z",
            ]
            let payPalBody = try JSONSerialization.data(withJSONObject: delivery)
            var payPalHeaders: HTTPFields = [.contentType: "application/json"]
            let transmission = [
                ("PAYPAL-TRANSMISSION-ID", UUID().uuidString.lowercased()), ("PAYPAL-TRANSMISSION-TIME", "2026-01-15T12:00:01Z"),
                ("PAYPAL-TRANSMISSION-SIG", "c2lnbmF0dXJl"), ("PAYPAL-CERT-URL", "https://api-m.paypal.com/v1/notifications/certs/CERT-README"),
                ("PAYPAL-AUTH-ALGO", "SHA256withRSA"),
            ]
            for (name, value) in transmission {
                let field = try #require(HTTPField.Name(name))
                payPalHeaders[field] = value
            }
            let payPal = try await client.execute(uri: "/webhooks/paypal", method: .post, headers: payPalHeaders, body: ByteBuffer(bytes: payPalBody))
            expectProblem(payPal, .serviceUnavailable, "not-configured", "/webhooks/paypal without LEDGER_PAYPAL_WEBHOOK_ID")

            #expect(try await promiseHead(runtime) == head, "a webhook that answered 503 recorded something")
        }
    }

    // MARK: Readiness

    /// "`GET /readyz` — the database answers within 2 s and has every migration (503 problem otherwise)": a
    /// database that lacks one (here its newest, as after an upgrade) makes the instance not ready.
    @Test(arguments: Backend.allCases)
    func readinessAnswersA503ProblemWhenTheDatabaseLacksAMigration(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            #expect(try await client.execute(uri: "/readyz", method: .get).status == .ok)
            let newest = try #require(try LedgerMigrations.all(for: runtime.store.dialect).last)
            try await runtime.store.withReadModelTransaction { connection in
                try await connection.execute("DELETE FROM schema_migrations WHERE version = \(newest.version)")
            }
            #expect(try await runtime.pendingMigrationCount() == 1)

            let ready = try await client.execute(uri: "/readyz", method: .get)
            expectProblem(ready, .serviceUnavailable, "not-ready", "/readyz without \(newest.fileName)")
            #expect((ready.json["detail"] as? String)?.contains("migration") == true, "\(ready.text)")
            // Liveness does not depend on the migrations.
            #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok)
        }
    }

    // MARK: The console's session cookie

    /// "The session cookie is `HttpOnly`, `SameSite=Lax`, `Path=/console`, and `Secure` when `mode` is
    /// `production`". (That it is not `Secure` otherwise is held by
    /// `ConsoleTests.onlyASignedInPersonGetsInAndEveryFormNeedsItsToken`.)
    @Test(arguments: Backend.allCases)
    func inProductionTheConsoleSessionCookieIsSecure(backend: Backend) async throws {
        let production = [
            "mode": "production",
            "api_key.pepper": "a production pepper of well over thirty-two bytes",
            "secrets.key": Data((0..<32).map { UInt8(255 - $0) }).base64EncodedString(),
            // The test cluster is reached without TLS.
            "database.allow_unencrypted": "true",
        ]
        try await withLiveServer(backend, settings: production) { client, runtime in
            #expect(runtime.configuration.mode == .production)
            _ = try await runtime.staffUsers.add(name: "Anna Berger", email: "anna@example.org", password: ConsoleTests.password)
            let anna = ConsoleTests.Browser(client)
            let signedIn = try await anna.signIn("anna@example.org")
            #expect(signedIn.status == .seeOther, "\(signedIn.text)")
            // `ll_session` is the console's session cookie (ConsoleCookie.session).
            let cookie = try #require(signedIn.headers[values: .setCookie].first { $0.hasPrefix("ll_session=") })
            let attributes = cookie.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            #expect(attributes.contains("Secure"), "\(cookie)")
            #expect(attributes.contains("HttpOnly") && attributes.contains("SameSite=Lax") && attributes.contains("Path=/console"), "\(cookie)")
        }
    }

    // MARK: Idempotency-Key

    /// "`Idempotency-Key: <1 to 255 visible ASCII characters>`": an empty key, a longer one, or one holding a
    /// space, a tab or a letter outside ASCII is refused with a 4xx problem and the request is not carried out;
    /// one character, and 255 made of every visible ASCII character, are taken.
    @Test(arguments: Backend.allCases)
    func anIdempotencyKeyIsOneTo255VisibleASCIICharactersAndAnyOtherIsRefused(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let staff = try await StaffSession.start(client, runtime)
            let visible = String((0x21...0x7E).map { Character(Unicode.Scalar(UInt8($0))) })
            let longest = String(String(repeating: visible, count: 3).prefix(255))
            #expect(longest.utf8.count == 255)

            let refused = ["", String(repeating: "k", count: 256), "two words", "tab\there", "café"]
            for (index, key) in refused.enumerated() {
                let profileID = "refused-key-\(index)"
                var headers = staff.headers
                headers[promiseKeyField] = key
                let answer = try await client.execute(uri: "/api/v1/profiles", method: .post, headers: headers, body: try promiseBody(promiseRegistration(profileID)))
                #expect((400..<500).contains(answer.status.code), "key '\(key)' (\(key.utf8.count) bytes): \(answer.status) \(answer.text)")
                #expect(answer.headers[.contentType] == "application/problem+json", "key '\(key)'")
                #expect((answer.json["type"] as? String) != nil && answer.json["status"] as? Int == answer.status.code, "key '\(key)': \(answer.text)")
                #expect((answer.json["detail"] as? String)?.contains("Idempotency-Key") == true, "key '\(key)': \(answer.text)")
                #expect(
                    try await runtime.store.readStream("profile-\(profileID)", fromVersion: 1, limit: 1).isEmpty,
                    "a request with the key '\(key)' was carried out"
                )
            }

            for (index, key) in ["k", longest].enumerated() {
                let profileID = "taken-key-\(index)"
                var headers = staff.headers
                headers[promiseKeyField] = key
                let registration = try promiseBody(promiseRegistration(profileID))
                let answer = try await client.execute(uri: "/api/v1/profiles", method: .post, headers: headers, body: registration)
                #expect(answer.status == .created, "key of \(key.utf8.count) characters: \(answer.text)")
                let again = try await client.execute(uri: "/api/v1/profiles", method: .post, headers: headers, body: registration)
                #expect(again.status == answer.status && again.text == answer.text, "key of \(key.utf8.count) characters: \(again.text)")
                #expect(again.headers[promiseReplayedField] == "true", "key of \(key.utf8.count) characters")
            }
        }
    }

    /// "A refused request is not kept, so it can be corrected and sent again under the same key": a payment
    /// refused twice (a malformed amount, then a profile not registered yet) goes through under the same key
    /// once corrected, as a first request (201, not a replay); from then on that success is the kept answer.
    @Test(arguments: Backend.allCases)
    func aRefusedRequestIsNotKeptSoItCanBeCorrectedAndSentAgainUnderTheSameKey(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let staff = try await StaffSession.start(client, runtime)
            var headers = staff.headers
            headers[promiseKeyField] = "cash-ada-1"
            let uri = "/api/v1/profiles/ada-1/offline-payments"
            let fields = ["amount": "125.00", "date": promiseToday(), "purpose": "listing", "note": "cash"]
            let payment = try promiseBody(fields)

            let malformed = try await client.execute(
                uri: uri, method: .post, headers: headers, body: try promiseBody(fields.merging(["amount": "12x"]) { _, given in given })
            )
            #expect((400..<500).contains(malformed.status.code), "\(malformed.text)")
            #expect(malformed.headers[.contentType] == "application/problem+json")
            let unknownProfile = try await client.execute(uri: uri, method: .post, headers: headers, body: payment)
            #expect((400..<500).contains(unknownProfile.status.code), "\(unknownProfile.text)")
            #expect(unknownProfile.headers[.contentType] == "application/problem+json")

            #expect(try await staff.post("/api/v1/profiles", promiseRegistration("ada-1")).status == .created)
            let paid = try await client.execute(uri: uri, method: .post, headers: headers, body: payment)
            #expect(paid.status == .created, "the refusals were kept: \(paid.text)")
            #expect(paid.headers[promiseReplayedField] == nil, "the first success is not a replay")
            #expect(paid.headers[.location] != nil)

            let again = try await client.execute(uri: uri, method: .post, headers: headers, body: payment)
            #expect(again.status == paid.status && again.text == paid.text && again.headers[.location] == paid.headers[.location], "\(again.text)")
            #expect(again.headers[promiseReplayedField] == "true")
            let stream = try await runtime.store.readStream("profile-ada-1", fromVersion: 1, limit: 100)
            #expect(stream.filter { $0.type == "ContributionAllocated" }.count == 1, "\(stream.map(\.type))")
        }
    }

    /// "a retry with the same key and the same request (method, path, content type, body) gets it back …; the
    /// same key with another request answers `422 idempotency-key-reused` and does nothing", and the answers are
    /// "kept per API key": another path or another content type under the key is refused and pays nothing,
    /// the first request still gets its answer, and another staff key's use of the same key is its own.
    @Test(arguments: Backend.allCases)
    func theSameKeyWithAnotherPathOrContentTypeIsRefusedAndDoesNothingButEachAPIKeyHasItsOwnKeys(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let staff = try await StaffSession.start(client, runtime)
            for profileID in ["ada-1", "ben-2"] {
                #expect(try await staff.post("/api/v1/profiles", promiseRegistration(profileID)).status == .created)
            }
            var headers = staff.headers
            headers[promiseKeyField] = "cash-1"
            let payment = try promiseBody(["amount": "125.00", "date": promiseToday(), "purpose": "listing", "note": "cash"])
            let first = try await client.execute(uri: "/api/v1/profiles/ada-1/offline-payments", method: .post, headers: headers, body: payment)
            #expect(first.status == .created, "\(first.text)")

            let otherPath = try await client.execute(uri: "/api/v1/profiles/ben-2/offline-payments", method: .post, headers: headers, body: payment)
            expectProblem(otherPath, .unprocessableContent, "idempotency-key-reused", "the same key on another path")
            var otherType = headers
            otherType[.contentType] = "application/json; charset=utf-8"
            let otherContentType = try await client.execute(uri: "/api/v1/profiles/ada-1/offline-payments", method: .post, headers: otherType, body: payment)
            expectProblem(otherContentType, .unprocessableContent, "idempotency-key-reused", "the same key with another content type")

            let ben = try await runtime.store.readStream("profile-ben-2", fromVersion: 1, limit: 100).map(\.type)
            #expect(!ben.contains("ContributionAllocated"), "a refused request paid for ben-2: \(ben)")
            let ada = try await runtime.store.readStream("profile-ada-1", fromVersion: 1, limit: 100).map(\.type)
            #expect(ada.filter { $0 == "ContributionAllocated" }.count == 1, "\(ada)")
            let again = try await client.execute(uri: "/api/v1/profiles/ada-1/offline-payments", method: .post, headers: headers, body: payment)
            #expect(again.status == first.status && again.text == first.text && again.headers[promiseReplayedField] == "true", "\(again.text)")

            // Another API key's requests under the same key are not the first key's.
            let other = try await StaffSession.start(client, runtime, name: "Ben")
            var otherHeaders = other.headers
            otherHeaders[promiseKeyField] = "cash-1"
            let registered = try await client.execute(uri: "/api/v1/profiles", method: .post, headers: otherHeaders, body: try promiseBody(promiseRegistration("cy-3")))
            #expect(registered.status == .created, "\(registered.text)")
            #expect(registered.headers[promiseReplayedField] == nil)
        }
    }

    /// "the same key with another request answers 422 idempotency-key-reused and does nothing", also when the first
    /// request's answer was never kept (the process stopped between recording the payment and keeping its answer,
    /// or two requests under the key arrived at once): the key names the payment, and a request under it for
    /// another profile, amount or day must not hand that payment to them as well.
    @Test(arguments: Backend.allCases)
    func aPaymentRecordedUnderAKeyWhoseAnswerWasLostIsNotGivenToAnotherProfile(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let staff = try await StaffSession.start(client, runtime)
            for profileID in ["ada-1", "ben-2"] {
                #expect(try await staff.post("/api/v1/profiles", promiseRegistration(profileID)).status == .created)
            }
            var headers = staff.headers
            headers[promiseKeyField] = "cash-2"
            let payment = try promiseBody(["amount": "125.00", "date": promiseToday(), "purpose": "listing", "note": "cash"])
            let first = try await client.execute(uri: "/api/v1/profiles/ada-1/offline-payments", method: .post, headers: headers, body: payment)
            #expect(first.status == .created, "\(first.text)")
            try await runtime.store.withReadModelTransaction { connection in
                try await connection.execute("DELETE FROM idempotency_records WHERE idempotency_key = ?", [.text("cash-2")])
            }

            let otherProfile = try await client.execute(uri: "/api/v1/profiles/ben-2/offline-payments", method: .post, headers: headers, body: payment)
            expectProblem(otherProfile, .unprocessableContent, "idempotency-key-reused", "the key's payment asked for another profile")
            #expect(otherProfile.text.contains("ada-1"), "\(otherProfile.text)")
            let otherAmount = try promiseBody(["amount": "250.00", "date": promiseToday(), "purpose": "listing", "note": "cash"])
            let moreMoney = try await client.execute(uri: "/api/v1/profiles/ada-1/offline-payments", method: .post, headers: headers, body: otherAmount)
            expectProblem(moreMoney, .unprocessableContent, "idempotency-key-reused", "the key's payment asked with another amount")

            let ben = try await runtime.store.readStream("profile-ben-2", fromVersion: 1, limit: 100).map(\.type)
            #expect(!ben.contains("ContributionAllocated"), "the payment of ada-1 paid for ben-2 too: \(ben)")
            let ada = try await runtime.store.readStream("profile-ada-1", fromVersion: 1, limit: 100).map(\.type)
            #expect(ada.filter { $0 == "ContributionAllocated" }.count == 1, "\(ada)")
            // The same request again finds the payment recorded and records nothing more.
            let again = try await client.execute(uri: "/api/v1/profiles/ada-1/offline-payments", method: .post, headers: headers, body: payment)
            #expect(again.status == .ok, "\(again.text)")
            #expect(again.headers[.location] == first.headers[.location])
            let adaAfter = try await runtime.store.readStream("profile-ada-1", fromVersion: 1, limit: 100).map(\.type)
            #expect(adaAfter == ada, "\(adaAfter)")
        }
    }

    /// "the same key with another request answers 422 idempotency-key-reused and does nothing" for a profile's
    /// commands too when the first answer was never kept: a certification change or a registration under a key
    /// whose first command was recorded is refused, not answered "replayed" while nothing is done; the first
    /// command sent again is still its retry.
    @Test(arguments: Backend.allCases)
    func aProfileCommandUnderAKeyWhoseAnswerWasLostIsNotTakenForItsRetry(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let staff = try await StaffSession.start(client, runtime)
            func send(_ path: String, _ key: String, _ body: [String: Any]) async throws -> TestResponse {
                var headers = staff.headers
                headers[promiseKeyField] = key
                return try await client.execute(uri: path, method: .post, headers: headers, body: try promiseBody(body))
            }
            func forget(_ key: String) async throws {
                try await runtime.store.withReadModelTransaction { connection in
                    try await connection.execute("DELETE FROM idempotency_records WHERE idempotency_key = ?", [.text(key)])
                }
            }
            #expect(try await send("/api/v1/profiles", "reg-1", promiseRegistration("ada-1")).status == .created)
            try await forget("reg-1")
            let grant: [String: Any] = ["action": "grant", "reason": "assessed"]
            #expect(try await send("/api/v1/profiles/ada-1/certification", "cert-1", grant).status == .ok)
            try await forget("cert-1")
            let before = try await runtime.store.readStream("profile-ada-1", fromVersion: 1, limit: 100).map(\.type)

            let suspend = try await send("/api/v1/profiles/ada-1/certification", "cert-1", ["action": "suspend", "reason": "complaint"])
            expectProblem(suspend, .unprocessableContent, "idempotency-key-reused", "a suspension under the grant's key")
            var renamed = promiseRegistration("ada-1")
            renamed["displayName"] = "Someone Else"
            let registeredAgain = try await send("/api/v1/profiles", "reg-1", renamed)
            expectProblem(registeredAgain, .unprocessableContent, "idempotency-key-reused", "another registration under the first one's key")
            #expect(try await runtime.store.readStream("profile-ada-1", fromVersion: 1, limit: 100).map(\.type) == before)

            let retried = try await send("/api/v1/profiles/ada-1/certification", "cert-1", grant)
            #expect(retried.status == .ok && retried.headers[promiseReplayedField] == "true", "\(retried.status) \(retried.text)")
            #expect(try await runtime.store.readStream("profile-ada-1", fromVersion: 1, limit: 100).map(\.type) == before)

            // A waiver sent without an id of its own is the same grant when sent again under its key.
            let waiver: [String: Any] = ["from": promiseToday(), "through": promiseToday(), "reason": "illness"]
            #expect(try await send("/api/v1/profiles/ada-1/waivers", "waive-1", waiver).status == .created)
            try await forget("waive-1")
            let waived = try await runtime.store.readStream("profile-ada-1", fromVersion: 1, limit: 100).map(\.type)
            let again = try await send("/api/v1/profiles/ada-1/waivers", "waive-1", waiver)
            #expect(again.status == .ok && again.headers[promiseReplayedField] == "true", "\(again.status) \(again.text)")
            #expect(try await runtime.store.readStream("profile-ada-1", fromVersion: 1, limit: 100).map(\.type) == waived)
        }
    }

    /// "the first successful answer … is kept per API key", also when two keys share a name (key names are
    /// free text: a key replaced by a new one for the same person keeps it): the second key's first payment
    /// under an Idempotency-Key the first key used is a new payment, for the profile it names, not the first
    /// key's payment.
    /// "…and the keys of what it asks of a payment provider, are its own": two website keys of the same name
    /// start a checkout for one profile under one `Idempotency-Key`; the provider is asked under two keys and
    /// each caller gets a checkout of its own, not the other's.
    @Test(arguments: Backend.allCases)
    func twoAPIKeysSendingOneIdempotencyKeyAskTheProviderForTwoCheckouts(backend: Backend) async throws {
        try await CardWorld.run(backend) { world in
            try await world.certifiedProfile("pk-1")
            var second = bearer(try await world.runtime.apiKeys.create(name: "Website", role: .website).key)
            second[.contentType] = "application/json"
            var checkouts: [String] = []
            for var headers in [world.website, second] {
                headers[promiseKeyField] = "order-7"
                let started = try await world.post("/api/v1/profiles/pk-1/checkout", headers, [
                    "method": "card", "purpose": "listing", "successUrl": "https://imi.example/paid", "cancelUrl": "https://imi.example/cancelled",
                ])
                #expect(started.status == .created, "\(started.text)")
                #expect(started.headers[promiseReplayedField] == nil, "\(started.text)")
                checkouts.append(try #require(started.json["checkoutId"] as? String))
            }
            #expect(checkouts.count == 2 && checkouts[0] != checkouts[1], "\(checkouts)")
            let keys = world.provider.createdSessions.map(\.idempotencyKey)
            #expect(keys.count == 2 && Set(keys).count == 2, "\(keys)")
        }
    }

    @Test(arguments: Backend.allCases)
    func twoAPIKeysWithTheSameNameEachHaveTheirOwnIdempotencyKeys(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let first = try await StaffSession.start(client, runtime, name: "Anna")
            let second = try await StaffSession.start(client, runtime, name: "Anna")
            #expect(first.key != second.key)
            for profileID in ["ada-1", "ben-2"] {
                #expect(try await first.post("/api/v1/profiles", promiseRegistration(profileID)).status == .created)
            }
            let payment = try promiseBody(["amount": "125.00", "date": promiseToday(), "purpose": "listing", "note": "cash"])
            var firstHeaders = first.headers
            firstHeaders[promiseKeyField] = "cash-1"
            let paidByFirst = try await client.execute(uri: "/api/v1/profiles/ada-1/offline-payments", method: .post, headers: firstHeaders, body: payment)
            #expect(paidByFirst.status == .created, "\(paidByFirst.text)")

            var secondHeaders = second.headers
            secondHeaders[promiseKeyField] = "cash-1"
            let paidBySecond = try await client.execute(uri: "/api/v1/profiles/ben-2/offline-payments", method: .post, headers: secondHeaders, body: payment)
            #expect(paidBySecond.status == .created, "\(paidBySecond.text)")
            #expect(paidBySecond.headers[promiseReplayedField] == nil, "\(paidBySecond.text)")
            let firstLocation = try #require(paidByFirst.headers[.location])
            let secondLocation = try #require(paidBySecond.headers[.location])
            #expect(secondLocation != firstLocation, "the second key's payment is the first key's payment: \(secondLocation)")
            #expect(try await first.get(firstLocation).json["profileId"] as? String == "ada-1")
            let secondPayment = try await second.get(secondLocation)
            #expect(secondPayment.json["profileId"] as? String == "ben-2", "\(secondPayment.text)")
        }
    }
}

// MARK: Support

private let promiseKeyField = HTTPField.Name("Idempotency-Key")!
private let promiseReplayedField = HTTPField.Name("Idempotent-Replayed")!

/// The log's head once every committed event is visible: equal before and after means nothing was appended.
private func promiseHead(_ runtime: LedgerRuntime) async throws -> LogCursor {
    try await (runtime.store as? any EventStoreTestHooks)?.waitUntilAllCommittedEventsAreVisible()
    return try await runtime.store.headCursor()
}

/// The object as JSON, keys sorted, so the same object always makes the same bytes (a replay is asked with
/// the same body).
private func promiseBody(_ object: [String: Any]) throws -> ByteBuffer {
    ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
}

private func promiseRegistration(_ profileID: String) -> [String: Any] {
    ["profileId": profileID, "kind": "mediator", "displayName": "Mediator \(profileID)", "contactEmail": "\(profileID)@example.org"]
}

/// Today's date in UTC, never after the organisation's today (Amsterdam is ahead of UTC).
private func promiseToday() -> String {
    String(ISO8601DateFormatter().string(from: Date()).prefix(10))
}
