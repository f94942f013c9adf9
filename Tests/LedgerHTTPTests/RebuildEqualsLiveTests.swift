import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LedgerCore
import LedgerHTTP
import LedgerService
import NIOCore
import Payments
import TestSupport
import Testing

/// Read models are folds of the log: replaying the whole log into empty tables writes exactly the rows the
/// live service wrote while the history happened (directory deliveries aside, which record sending).
@Suite("Read models rebuilt from the log")
struct RebuildEqualsLiveTests {
    static let tables = [
        ("listing_status", "profile_id"), ("payment_exceptions", "payment_id"), ("bank_payments", "payment_id"),
        ("projection_states", "projection, stream"), ("journal_lines", "entry_id, line_no"), ("book_balance_checks", "account, currency, check_date"),
        ("payment_list", "payment_id"), ("profile_search", "profile_id"), ("listing_changes", "profile_id, version"), ("book_month_totals", "month, method, currency, account"),
        ("bank_movements", "line_key"),
    ]

    /// A runtime on `backend` whose card provider and PayPal are stand-ins speaking their wire formats; closed
    /// (with the stand-ins) after `body`, whether it throws or not.
    static func withProviders(
        _ backend: Backend, now: @escaping @Sendable () -> Date = { Date() },
        _ body: (LedgerRuntime, CardProviderStandIn, PayPalStandIn) async throws -> Void
    ) async throws {
        let card = try await CardProviderStandIn.start(secretKey: "sk_test_rebuild", webhookSecrets: ["whsec_rebuild"])
        let payPal = try await PayPalStandIn.start(clientID: "client-1", clientSecret: "secret-1")
        let trustFile = TestScratch.folder.appendingPathComponent("paypal-ca-\(UUID().uuidString).pem")
        defer { try? FileManager.default.removeItem(at: trustFile) }
        try Data(payPal.caCertificatePEM.utf8).write(to: trustFile)
        let runtime = try await TestRuntime.make(backend, settings: [
            "card.secret_key": "sk_test_rebuild", "card.api_base_url": card.baseURL, "card.webhook_secrets": "whsec_rebuild",
            "paypal.api_base_url": payPal.baseURL, "paypal.client_id": "client-1", "paypal.client_secret": "secret-1",
            "paypal.webhook_id": "WH-REBUILD", "paypal.certificate_hosts": payPal.certificateHost,
            "paypal.trust_roots_file": trustFile.path,
        ], now: now)
        do {
            try await body(runtime, card, payPal)
        } catch {
            await runtime.close()
            await card.stop()
            await payPal.stop()
            throw error
        }
        await runtime.close()
        await card.stop()
        await payPal.stop()
    }

    @Test(arguments: Backend.allCases)
    func aRebuildWritesExactlyTheRowsTheLiveServiceWrote(backend: Backend) async throws {
        // A clock that moves a millisecond at every reading: the instant an event is recorded is never the
        // instant a projection handles it, so a row written from the projection's clock would differ between
        // the live pass and the rebuild. Dates stay the same, so evaluations at "now" do not.
        let clock = TestClock(Date())
        let fixed = clock.now
        try await Self.withProviders(backend, now: clock.ticking(0.001)) { runtime, card, payPal in
            try await Self.liveHistory(runtime: runtime, card: card, payPal: payPal, today: runtime.profiles.policy.calendar.date(at: fixed))
            try await (runtime.store as? any EventStoreTestHooks)?.waitUntilAllCommittedEventsAreVisible()
            for runner in runtime.projectionRunners { try await runner.catchUp() }
            let live = try await Self.dump(runtime.store)
            #expect(live["listing_status"]?.count == 6)
            #expect(live["payment_exceptions"]?.count == 3, "the short transfer, the unreferenced one and the one paid in error")
            #expect(live["bank_payments"]?.count == 4)
            #expect(
                live["journal_lines"]?.count == 35,
                "seventeen entries of two lines (a held payment's receipt and hold are one entry), and PayPal's fee: \(live["journal_lines"] ?? [])"
            )
            let paidBackBy = try (live["bank_movements"] ?? []).map { try $0.optionalText(8) }
            #expect(paidBackBy.count == 3 && paidBackBy.allSatisfy { $0?.hasPrefix("bank-") == true }, "the transfers back and the return name their payment")
            // Rebuilt all together in one pass (as `listing-ledger rebuild` does), one by one in batches as large as
            // the runner takes, and one event at a time: the rows may not depend on where batches begin.
            try await ProjectionRunner.rebuild(runtime.projectionRunners.map(\.projection), store: runtime.store)
            var rebuilt = try await Self.dump(runtime.store)
            for (table, _) in Self.tables {
                #expect(rebuilt[table] == live[table], "\(table) differs after a rebuild in one pass")
            }
            // All together in small batches: on SQLite each batch is then written while the next is decided from
            // what it carried.
            for batchSize in [3, 1] {
                try await ProjectionRunner.rebuild(runtime.projectionRunners.map(\.projection), store: runtime.store, batchSize: batchSize)
                rebuilt = try await Self.dump(runtime.store)
                for (table, _) in Self.tables {
                    #expect(rebuilt[table] == live[table], "\(table) differs after a rebuild in one pass in batches of \(batchSize)")
                }
            }
            for batchSize in [500, 1] {
                for runner in runtime.projectionRunners {
                    try await ProjectionRunner(store: runtime.store, projection: runner.projection, batchSize: batchSize).rebuild()
                }
                rebuilt = try await Self.dump(runtime.store)
                for (table, _) in Self.tables {
                    #expect(rebuilt[table] == live[table], "\(table) differs after a rebuild in batches of \(batchSize)")
                }
            }
        }
    }

    /// Every row of every read model, in key order.
    static func dump(_ store: any EventStore) async throws -> [String: [SQLRow]] {
        try await store.withReadModelConnection { connection in
            var tables: [String: [SQLRow]] = [:]
            for (table, key) in Self.tables {
                tables[table] = try await connection.query("SELECT * FROM \(table) ORDER BY \(key)", [])
            }
            return tables
        }
    }

    /// Card, PayPal and bank payments, a refund, a short transfer accepted, an unreferenced one allocated, a
    /// waiver, a transfer paid back by a transfer: through the real server and the providers' stand-ins.
    static func liveHistory(runtime: LedgerRuntime, card: CardProviderStandIn, payPal: PayPalStandIn, today: LocalDate) async throws {
        let staffKey = try await runtime.apiKeys.create(name: "Anna", role: .staff).key
        let websiteKey = try await runtime.apiKeys.create(name: "Website", role: .website).key
        try await buildApplication(runtime: runtime).test(.live) { client in
            var staff = bearer(staffKey)
            staff[.contentType] = "application/json"
            var website = bearer(websiteKey)
            website[.contentType] = "application/json"
            func post(_ uri: String, _ headers: HTTPFields, _ object: [String: Any]) async throws -> TestResponse {
                try await client.execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: object)))
            }
            for id in ["r-1", "r-2", "r-3", "r-4", "r-5", "r-6"] {
                #expect(try await post("/api/v1/profiles", staff, ["profileId": id, "kind": "mediator", "displayName": id, "contactEmail": "\(id)@example.org"]).status == .created)
                #expect(try await post("/api/v1/profiles/\(id)/certification", staff, ["action": "grant", "reason": "assessed"]).status == .ok)
            }
            let server = "http://127.0.0.1:\(client.port ?? 0)"

            // Card: paid, then refunded.
            let session = try await post("/api/v1/profiles/r-1/checkout", website, [
                "method": "card", "purpose": "listing", "successUrl": "https://imi.example/paid", "cancelUrl": "https://imi.example/",
            ])
            let sessionID = try #require(session.json["checkoutId"] as? String)
            let completed = card.checkoutSessionCompletedEvent(sessionID)
            let paymentIntentID = try card.completeSession(sessionID).paymentIntentID
            #expect(try await card.deliver(completed, to: "\(server)/webhooks/card").status == 200)
            #expect(try await post("/api/v1/payments/card-\(paymentIntentID)/refund", staff, [:]).status == .accepted)
            #expect(try await card.deliver(card.chargeRefundedEvent(paymentIntentID), to: "\(server)/webhooks/card").status == 200)

            // PayPal: approved, captured by the approval webhook, completed.
            let order = try await post("/api/v1/profiles/r-2/checkout", website, [
                "method": "paypal", "purpose": "listing", "successUrl": "https://imi.example/paid", "cancelUrl": "https://imi.example/",
            ])
            let orderID = try #require(order.json["checkoutId"] as? String)
            let approved = try await payPal.deliver(payPal.orderApprovedEvent(orderID: orderID), to: "\(server)/webhooks/paypal", webhookID: "WH-REBUILD")
            #expect(approved.status == 200, "\(approved.body)")
            let capture = try #require(payPal.capture(ofOrder: orderID))
            let captured = try await payPal.deliver(payPal.captureCompletedEvent(captureID: capture.id), to: "\(server)/webhooks/paypal", webhookID: "WH-REBUILD")
            #expect(captured.status == 200, "\(captured.body)")

            // Bank: one matched, one short (accepted), one without a reference (allocated to r-5).
            func reference(_ id: String) -> String { CreditorReference.forProfile(try! ProfileID(id)).electronic }
            let day = today.addingDays(-1).description
            typealias T = CamtStatementBuilder.Transaction
            let xml = CamtStatementBuilder(statements: [.init(id: "REBUILD-1", iban: "NL91ABNA0417164300", entries: [
                .init(date: day, bankReference: "RB-1", transactions: [T(amount: "125.00", payerName: "Three", structuredReference: reference("r-3"))]),
                .init(date: day, bankReference: "RB-2", transactions: [T(amount: "110.00", payerName: "Four", structuredReference: reference("r-4"))]),
                .init(date: day, bankReference: "RB-3", transactions: [T(amount: "125.00", payerName: "Five", payerIBAN: "DE89370400440532013000", text: "listing fee")]),
            ])]).xml
            let imported = try await client.execute(uri: "/api/v1/bank-statements", method: .post, headers: bearer(staffKey), body: ByteBuffer(string: xml))
            #expect(imported.status == .created, "\(imported.text)")
            try await (runtime.store as? any EventStoreTestHooks)?.waitUntilAllCommittedEventsAreVisible()
            try await ProjectionRunner(store: runtime.store, projection: runtime.paymentViews).catchUp()
            let queue = try await client.execute(uri: "/api/v1/reconciliation/exceptions", method: .get, headers: staff)
            let items = try #require(queue.json["items"] as? [[String: Any]] ?? (try? JSONSerialization.jsonObject(with: Data(queue.text.utf8))) as? [[String: Any]])
            #expect(items.count == 2, "\(queue.text)")
            for item in items {
                let paymentID = try #require(item["paymentId"] as? String)
                let body: [String: Any] = item["amount"] as? String == "110.00"
                    ? ["resolution": "accept-short", "profileId": "r-4", "reason": "bank charges"]
                    : ["resolution": "allocate", "profileId": "r-5", "reason": "the payer wrote to us"]
                let resolved = try await post("/api/v1/reconciliation/exceptions/\(paymentID)/resolve", staff, body)
                #expect(resolved.status == .ok, "\(resolved.text)")
            }

            // A waiver.
            let waiver = try await post("/api/v1/profiles/r-6/waivers", staff, [
                "waiverId": "hardship", "from": today.description, "through": today.addingDays(90).description, "reason": "hardship",
            ])
            #expect(waiver.status == .created, "\(waiver.text)")

            // A transfer paid in error, to be paid back, and the transfer that paid it back, on the same day (the
            // statement ends where the first one did, so its balance check agrees with it).
            let inError = CamtStatementBuilder(statements: [.init(id: "REBUILD-2", iban: "NL91ABNA0417164300", openingCents: 136_000, entries: [
                .init(date: day, bankReference: "RB-4", transactions: [T(amount: "30.00", payerName: "Six", text: "paid in error")]),
                .init(credit: false, date: day, bankReference: "RB-5", transactions: [T(amount: "30.00", payerName: "Six", text: "back to you")]),
            ])]).xml
            #expect(try await client.execute(uri: "/api/v1/bank-statements", method: .post, headers: bearer(staffKey), body: ByteBuffer(string: inError)).status == .created)
            try await (runtime.store as? any EventStoreTestHooks)?.waitUntilAllCommittedEventsAreVisible()
            try await ProjectionRunner(store: runtime.store, projection: runtime.paymentViews).catchUp()
            let held = try await client.execute(uri: "/api/v1/reconciliation/exceptions", method: .get, headers: staff)
            let heldItems = (try? JSONSerialization.jsonObject(with: Data(held.text.utf8))) as? [[String: Any]] ?? []
            let toPayBack = try #require(heldItems.first { $0["amount"] as? String == "30.00" }?["paymentId"] as? String, "\(held.text)")
            let decided = try await post("/api/v1/reconciliation/exceptions/\(toPayBack)/resolve", staff, ["resolution": "refund", "reason": "paid in error"])
            #expect(decided.status == .ok, "\(decided.text)")
            let lines = try await client.execute(uri: "/api/v1/payments/\(toPayBack)/pay-back-lines", method: .get, headers: staff)
            let lineKey = try #require((lines.json["lines"] as? [[String: Any]])?.first?["lineKey"] as? String, "\(lines.text)")
            let paidBack = try await post("/api/v1/payments/\(toPayBack)/paid-back", staff, ["lineKey": lineKey])
            #expect(paidBack.status == .ok, "\(paidBack.text)")
            // That transfer back comes back (the payer's account is closed): the payment is owed again, and is paid
            // back by another transfer the same day.
            let cameBack = CamtStatementBuilder(statements: [.init(id: "REBUILD-3", iban: "NL91ABNA0417164300", openingCents: 136_000, entries: [
                .init(date: day, bankReference: "RB-6", transactions: [T(amount: "30.00", payerName: "Six", text: "account closed", returnReason: "AC04")]),
                .init(credit: false, date: day, bankReference: "RB-7", transactions: [T(amount: "30.00", payerName: "Six", text: "to the new account")]),
            ])]).xml
            #expect(try await client.execute(uri: "/api/v1/bank-statements", method: .post, headers: bearer(staffKey), body: ByteBuffer(string: cameBack)).status == .created)
            let returnLines = try await client.execute(uri: "/api/v1/payments/\(toPayBack)/pay-back-returned-lines", method: .get, headers: staff)
            let returnKey = try #require((returnLines.json["lines"] as? [[String: Any]])?.first?["lineKey"] as? String, "\(returnLines.text)")
            let returned = try await post("/api/v1/payments/\(toPayBack)/pay-back-returned", staff, ["lineKey": returnKey])
            #expect(returned.status == .ok, "\(returned.text)")
            let againLines = try await client.execute(uri: "/api/v1/payments/\(toPayBack)/pay-back-lines", method: .get, headers: staff)
            let againKey = try #require((againLines.json["lines"] as? [[String: Any]])?.first?["lineKey"] as? String, "\(againLines.text)")
            let paidAgain = try await post("/api/v1/payments/\(toPayBack)/paid-back", staff, ["lineKey": againKey])
            #expect(paidAgain.status == .ok, "\(paidAgain.text)")
        }
    }
}
