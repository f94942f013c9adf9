import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LedgerCore
import LedgerHTTP
import LedgerService
import NIOCore
import NIOFoundationCompat
import TestSupport
import Testing

private func noon(_ date: String) -> Date {
    OrganisationCalendar.amsterdam.startOfDay(LocalDate(iso: date) ?? .first).addingTimeInterval(12 * 3600)
}

private func json(_ object: [String: Any]) throws -> ByteBuffer {
    ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: object))
}

/// The real server with a hand-moved clock, a staff key and a website key, and one certified profile
/// `ada-1` with a listing paid on 2026-01-15.
private struct World: Sendable {
    let client: any TestClientProtocol
    let runtime: LedgerRuntime
    let clock: TestClock
    let staff: HTTPFields
    let website: HTTPFields

    static func run(_ backend: Backend, settings: [String: String] = [:], _ body: @Sendable (World) async throws -> Void) async throws {
        let clock = TestClock(noon("2026-02-01"))
        let runtime = try await TestRuntime.make(backend, settings: settings, now: clock.function)
        do {
            let staffKey = try await runtime.apiKeys.create(name: "Anna", role: .staff).key
            let websiteKey = try await runtime.apiKeys.create(name: "Website", role: .website).key
            let ada = try ProfileID("ada-1")
            _ = try await runtime.profiles.handle(.register(kind: .mediator, displayName: "Ada", contactEmail: "ada@example.org"), profileID: ada, metadata: .init(actor: "test"))
            _ = try await runtime.profiles.handle(.changeCertification(.grant, reason: "assessed"), profileID: ada, metadata: .init(actor: "test"))
            let application = Application(router: buildRouter(runtime: runtime), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
            try await application.test(.live) { client in
                var staff = bearer(staffKey)
                staff[.contentType] = "application/json"
                try await body(World(client: client, runtime: runtime, clock: clock, staff: staff, website: bearer(websiteKey)))
            }
            await runtime.close()
        } catch {
            await runtime.close()
            throw error
        }
    }

    /// The log's head, once every committed event is visible.
    func head() async throws -> LogCursor {
        try await (runtime.store as? any EventStoreTestHooks)?.waitUntilAllCommittedEventsAreVisible()
        return try await runtime.store.headCursor()
    }

    /// Asserts the process still answers.
    func expectAlive(_ comment: Comment? = nil) async throws {
        let health = try await client.execute(uri: "/healthz", method: .get)
        #expect(health.status == .ok, comment)
    }
}

/// Runs `body`, then closes `runtime`, whatever happened.
private func closing<Result>(_ runtime: LedgerRuntime, _ body: () async throws -> Result) async throws -> Result {
    do {
        let result = try await body()
        await runtime.close()
        return result
    } catch {
        await runtime.close()
        throw error
    }
}

/// The real server for `runtime` on a loopback port.
private func serving<Result: Sendable>(_ runtime: LedgerRuntime, _ body: @Sendable (any TestClientProtocol) async throws -> Result) async throws -> Result {
    try await Application(router: buildRouter(runtime: runtime), configuration: .init(address: .hostname("127.0.0.1", port: 0))).test(.live, body)
}

@Suite("Hostile and careless input: clear refusals, nothing written, the process alive")
struct HostileInputTests {
    @Test(arguments: Backend.allCases)
    func asOfInstantsOutsideTheLedgersRangeOrMalformedAreRefused(backend: Backend) async throws {
        try await World.run(backend) { world in
            for at in [
                "9999-12-31T23:30:00Z", "9999-12-31", "0001-01-01", "1999-12-31T23:59:59Z", "2200-01-01",
                "2026-01-01T12:99:00Z", "2026-01-01T24:00:00Z", "2026-01-01T12:00:60Z", "2026-01-01T12:00:00",
                "2026-01-01T12:00:00+25:00", "%00", "2026-01-01T12:00:00.1234567890Z",
            ] {
                let encoded = at.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? at
                for headers in [world.website, world.staff] {
                    let response = try await world.client.execute(uri: "/api/v1/profiles/ada-1/listing?at=\(encoded)", method: .get, headers: headers)
                    #expect(response.status == .badRequest, "at=\(at): \(response.status)")
                    #expect(response.headers[.contentType] == "application/problem+json", "at=\(at)")
                }
            }
            // Written like a date, but no such day: the shape is right and the value is not.
            let noSuchDay = try await world.client.execute(uri: "/api/v1/profiles/ada-1/listing?at=2026-02-30", method: .get, headers: world.website)
            #expect(noSuchDay.status == .unprocessableContent)
            try await world.expectAlive()
            for at in ["2000-01-01", "2199-12-31", "2026-01-01T12:30:00.5+01:00", "2026-01-01T12:30:00z"] {
                let response = try await world.client.execute(uri: "/api/v1/profiles/ada-1/listing?at=\(at.replacingOccurrences(of: "+", with: "%2B"))", method: .get, headers: world.website)
                #expect(response.status == .ok, "at=\(at): \(response.text)")
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func hugeAmountsAndFarDatesAreRefusedWithTheLimitAndWriteNothing(backend: Backend) async throws {
        try await World.run(backend) { world in
            let head = try await world.head()
            let cases: [([String: Any], String)] = [
                (["amount": "1000000.00", "date": "2026-01-15", "purpose": "listing"], "amount-over-limit"),
                (["amount": "92233720368547758.07", "date": "2026-01-15", "purpose": "listing"], "amount-over-limit"),
                (["amount": "10000.01", "date": "2026-01-15", "purpose": "donation"], "amount-over-limit"),
                (["amount": "1375.00", "date": "2026-01-15", "purpose": "listing"], "amount-over-limit"),
                (["amount": "125.00", "date": "9999-12-31", "purpose": "listing"], "out-of-bounds"),
                (["amount": "125.00", "date": "2026-02-09", "purpose": "listing"], "out-of-bounds"),
                (["amount": "125.00", "date": "1999-12-31", "purpose": "listing"], "out-of-bounds"),
            ]
            for (body, code) in cases {
                let response = try await world.client.execute(
                    uri: "/api/v1/profiles/ada-1/offline-payments", method: .post, headers: world.staff, body: try json(body)
                )
                #expect(response.status == .unprocessableContent, "\(body): \(response.text)")
                #expect((response.json["type"] as? String)?.hasSuffix("/\(code)") == true, "\(body): \(response.text)")
            }
            for (from, through) in [("2026-01-01", "9999-12-31"), ("1900-01-01", "2026-01-01"), ("2026-01-01", "2200-01-01")] {
                let response = try await world.client.execute(
                    uri: "/api/v1/profiles/ada-1/waivers", method: .post, headers: world.staff,
                    body: try json(["from": from, "through": through, "reason": "hardship"])
                )
                #expect(response.status == .unprocessableContent, "\(from)…\(through): \(response.text)")
            }
            #expect(try await world.head() == head, "a refused request wrote something")
            try await world.expectAlive()

            // At the limits themselves: ten periods, a date a week ahead.
            let tenYears = try await world.client.execute(
                uri: "/api/v1/profiles/ada-1/offline-payments", method: .post, headers: world.staff,
                body: try json(["amount": "1250.00", "date": "2026-02-08", "purpose": "listing"])
            )
            #expect(tenYears.status == .created, "\(tenYears.text)")
            let listing = try await world.client.execute(uri: "/api/v1/profiles/ada-1/listing?at=2036-02-07", method: .get, headers: world.website)
            #expect(listing.json["paidThrough"] as? String == "2036-02-07")
        }
    }

    /// A field or an id of tens of thousands of characters is refused with a detail of at most 1,000 characters, never
    /// sent back whole, and nothing is written.
    @Test(arguments: Backend.allCases)
    func longFieldsAndIdsAreNamedCutShortAndWriteNothing(backend: Backend) async throws {
        try await World.run(backend) { world in
            let head = try await world.head()
            let long = String(repeating: "Z", count: 40_000)
            var website = world.website
            website[.contentType] = "application/json"
            let cases: [(String, HTTPRequest.Method, HTTPFields, [String: Any]?, HTTPResponse.Status)] = [
                ("/api/v1/profiles/ada-1/offline-payments", .post, world.staff, ["amount": "125.00", "currency": long, "date": "2026-01-20", "purpose": "listing"], .unprocessableContent),
                ("/api/v1/profiles/ada-1/offline-payments", .post, world.staff, ["amount": long, "date": "2026-01-20", "purpose": "listing"], .unprocessableContent),
                ("/api/v1/profiles/ada-1/offline-payments", .post, world.staff, ["amount": "125.00", "date": "2026-01-20", "purpose": long], .badRequest),
                ("/api/v1/profiles/ada-1/checkout", .post, website, ["purpose": long], .badRequest),
                ("/api/v1/profiles", .post, world.staff, ["profileId": "bo-2", "kind": long, "displayName": "Bo", "contactEmail": "bo@example.org"], .badRequest),
                ("/api/v1/payments/offline-\(long.prefix(4_000))/receipts", .get, world.website, nil, .notFound),
            ]
            for (uri, method, headers, body, status) in cases {
                let response = try await world.client.execute(uri: uri, method: method, headers: headers, body: try body.map(json) ?? ByteBuffer())
                #expect(response.status == status, "\(uri.prefix(60)) \(method): \(response.text.prefix(300))")
                let detail = response.json["detail"] as? String ?? ""
                #expect(!detail.isEmpty && detail.count <= 1_001, "\(uri.prefix(60)): a detail of \(detail.count) characters")
                #expect(!detail.contains(String(repeating: "Z", count: 1_001)), "\(uri.prefix(60)) sent the field back whole")
            }
            #expect(try await world.head() == head, "a refused request wrote something")
            try await world.expectAlive()
        }
    }

    /// `offset` is at most 1,000,000,000 (400 past it), and `LEDGER_PAYMENT_AMOUNT_MAX` moves the payment
    /// limit: at 500.00, an offline payment of 500.01 is refused with the limit named, and one of 500.00 is not.
    @Test(arguments: Backend.allCases)
    func theOffsetBoundAndAConfiguredPaymentLimitHoldAsWritten(backend: Backend) async throws {
        try await World.run(backend, settings: ["payment.amount_max": "500.00"]) { world in
            for path in ["/api/v1/listings", "/api/v1/payments"] {
                let atBound = try await world.client.execute(uri: "\(path)?offset=1000000000", method: .get, headers: world.staff)
                #expect(atBound.status == .ok, "\(path): \(atBound.text)")
                let past = try await world.client.execute(uri: "\(path)?offset=1000000001", method: .get, headers: world.staff)
                #expect(past.status == .badRequest && past.text.contains("offset must be 0 to 1000000000"), "\(path): \(past.text)")
            }
            let over = try await world.client.execute(
                uri: "/api/v1/profiles/ada-1/offline-payments", method: .post, headers: world.staff,
                body: try json(["amount": "500.01", "date": "2026-01-20", "purpose": "donation"])
            )
            #expect(over.status == .unprocessableContent && (over.json["type"] as? String)?.hasSuffix("/amount-over-limit") == true, "\(over.text)")
            #expect((over.json["detail"] as? String)?.contains("500.00 EUR") == true, "\(over.text)")
            let at = try await world.client.execute(
                uri: "/api/v1/profiles/ada-1/offline-payments", method: .post, headers: world.staff,
                body: try json(["amount": "500.00", "date": "2026-01-20", "purpose": "donation"])
            )
            #expect(at.status == .created, "\(at.text)")
        }
    }

    @Test(arguments: Backend.allCases)
    func aBankLineOfAMillionIsHeldForStaffAndTheStatementStillImports(backend: Backend) async throws {
        try await World.run(backend) { world in
            let reference = CreditorReference.forProfile(try ProfileID("ada-1")).electronic
            let statement = CamtStatementBuilder(statements: [.init(id: "2026-05", iban: "NL91ABNA0417164300", entries: [
                .init(date: "2026-01-30", bankReference: "BIG-1", transactions: [.init(amount: "1000000.00", payerName: "Ada", structuredReference: reference)]),
                .init(date: "2099-12-31", bankReference: "FAR-1", transactions: [.init(amount: "125.00", payerName: "Ada", structuredReference: reference)]),
            ])])
            let body = ByteBuffer(data: try Data(contentsOf: try statement.write()))
            let imported = try await world.client.execute(uri: "/api/v1/bank-statements", method: .post, headers: world.staff, body: body)
            #expect(imported.status == .created, "\(imported.text)")
            try await (world.runtime.store as? any EventStoreTestHooks)?.waitUntilAllCommittedEventsAreVisible()
            try await ProjectionRunner(store: world.runtime.store, projection: world.runtime.paymentViews).catchUp()
            let queue = try await world.client.execute(uri: "/api/v1/reconciliation/exceptions", method: .get, headers: world.staff)
            let entries = try #require(try JSONSerialization.jsonObject(with: Data(buffer: queue.body)) as? [[String: Any]])
            #expect(entries.compactMap { $0["reasonCode"] as? String }.sorted() == ["amount-over-limit", "date-out-of-range"])
            let listing = try await world.client.execute(uri: "/api/v1/profiles/ada-1/listing", method: .get, headers: world.website)
            #expect(listing.json["visible"] as? Bool == false)

            // Staff cannot allocate the million either: the limit names itself.
            let big = try #require(entries.first { $0["reasonCode"] as? String == "amount-over-limit" }?["paymentId"] as? String)
            let allocate = try await world.client.execute(
                uri: "/api/v1/reconciliation/exceptions/\(big)/resolve", method: .post, headers: world.staff,
                body: try json(["resolution": "allocate", "profileId": "ada-1", "reason": "try"])
            )
            #expect(allocate.status == .unprocessableContent, "\(allocate.text)")
            #expect((allocate.json["detail"] as? String)?.contains("10000.00 EUR") == true, "\(allocate.text)")
            try await world.expectAlive()
        }
    }

    /// Amounts near the ends of `Int64` are refused where they enter, naming the limit, and write nothing: a
    /// split whose parts add up past `Int64`, and statements whose lines or balances pass the ledger's amount
    /// limit. At the limit itself a statement imports, and the books take it in and export it.
    @Test(arguments: Backend.allCases)
    func amountsPastTheLimitAreRefusedWhereTheyEnterAndNeverTrapTheServer(backend: Backend) async throws {
        try await World.run(backend) { world in
            func upload(_ text: String) async throws -> TestResponse {
                try await world.client.execute(uri: "/api/v1/bank-statements", method: .post, headers: world.staff, body: ByteBuffer(string: text))
            }
            func mt940(_ currency: String, opening: String, line: String, closing: String) -> String {
                """
                :20:S-\(currency)-\(opening.prefix(12))
                :25:NL91ABNA0417164300
                :28C:1/1
                :60F:C260121\(currency)\(opening)
                :61:2601210121\(line)NTRFNONREF
                :86:bank line
                :62F:C260121\(currency)\(closing)
                """
            }
            // A held payment of a million, split into parts that add up past Int64: refused, nothing written.
            let reference = CreditorReference.forProfile(try ProfileID("ada-1")).electronic
            let statement = CamtStatementBuilder(statements: [.init(id: "2026-01", iban: "NL91ABNA0417164300", entries: [
                .init(date: "2026-01-30", bankReference: "BIG-1", transactions: [.init(amount: "1000000.00", payerName: "Ada", structuredReference: reference)]),
            ])])
            #expect(try await upload(try String(contentsOf: try statement.write(), encoding: .utf8)).status == .created)
            try await (world.runtime.store as? any EventStoreTestHooks)?.waitUntilAllCommittedEventsAreVisible()
            try await ProjectionRunner(store: world.runtime.store, projection: world.runtime.paymentViews).catchUp()
            let queue = try await world.client.execute(uri: "/api/v1/reconciliation/exceptions", method: .get, headers: world.staff)
            let entries = try #require(try JSONSerialization.jsonObject(with: Data(buffer: queue.body)) as? [[String: Any]])
            let big = try #require(entries.first { $0["reasonCode"] as? String == "amount-over-limit" }?["paymentId"] as? String)
            let head = try await world.head()
            let split = try await world.client.execute(
                uri: "/api/v1/reconciliation/exceptions/\(big)/resolve", method: .post, headers: world.staff,
                body: try json(["resolution": "split", "reason": "x", "shares": [["profileId": "ada-1", "amount": "92233720368547758.07"], ["profileId": "bo-2", "amount": "0.01"]]])
            )
            #expect(split.status == .unprocessableContent, "\(split.text)")
            #expect((split.json["detail"] as? String)?.contains("add up to 1000000.00 EUR") == true, "\(split.text)")

            // Statements past the limit, each refused whole: an opening balance of Int64.max, a returned
            // transfer of Int64.max, a line one cent past the limit in each format.
            let camt = CamtStatementBuilder(statements: [.init(id: "2026-02", iban: "NL91ABNA0417164300", entries: [
                .init(date: "2026-01-30", bankReference: "BIG-2", transactions: [.init(amount: "10000000000.01", payerName: "Ada", structuredReference: reference)]),
            ])])
            let refused: [(String, String)] = [
                (mt940("XTS", opening: "92233720368547758,07", line: "D0,01", closing: "92233720368547758,06"), "statement 1 has the opening balance 92233720368547758.07 XTS"),
                (mt940("EUR", opening: "0,", line: "RD92233720368547758,07", closing: "92233720368547758,07"), "statement 1, entry 1 carries 92233720368547758.07 EUR"),
                (mt940("EUR", opening: "0,", line: "C10000000000,01", closing: "10000000000,01"), "statement 1, entry 1 carries 10000000000.01 EUR"),
                ("date,amount,currency\n2026-01-20,10000000000.01,EUR\n", "statement 1, entry 1 carries 10000000000.01 EUR"),
                (try String(contentsOf: try camt.write(), encoding: .utf8), "statement 1, entry 1 carries 10000000000.01 EUR"),
            ]
            for (text, what) in refused {
                let answer = try await upload(text)
                #expect(answer.status == .unprocessableContent, "\(what): \(answer.text)")
                #expect((answer.json["detail"] as? String)?.contains("\(what), more than the 10000000000.00 a statement's amounts may reach; nothing was imported") == true, "\(answer.text)")
            }
            #expect(try await world.head() == head, "a refused request wrote something")

            // At the limit: an opening balance of 10000000000.00 after a debit in the same currency, and a
            // returned transfer of 10000000000.00; the books take both in and export them from a later day.
            #expect(try await upload("date,amount,currency\n2026-01-20,-0.01,XTS\n").status == .created)
            #expect(try await upload(mt940("XTS", opening: "10000000000,", line: "D0,01", closing: "9999999999,99")).status == .created)
            #expect(try await upload(mt940("EUR", opening: "0,", line: "RD10000000000,", closing: "10000000000,")).status == .created)
            let beancount = try await world.client.execute(uri: "/api/v1/books/journal?format=beancount&from=2026-01-25", method: .get, headers: world.staff)
            #expect(beancount.status == .ok, "\(beancount.text)")
            for posting in ["Assets:Bank           10000000000.00 EUR", "Assets:Bank            9999999999.99 XTS", "Equity:OpeningBalances  -10000000000.01 XTS"] {
                #expect(beancount.text.contains(posting), "brought forward: \(beancount.text)")
            }
            let csv = try await world.client.execute(uri: "/api/v1/books/journal?format=csv", method: .get, headers: world.staff)
            #expect(csv.status == .ok && csv.text.contains("Equity:OpeningBalances,-10000000000.01,XTS"), "\(csv.text)")
            try await world.expectAlive()
        }
    }

    @Test(arguments: Backend.allCases)
    func aKeyedRetryReturnsTheFirstOutcomeWhileTheClockMovesAndAfterARestart(backend: Backend) async throws {
        let clock = TestClock(noon("2026-02-01"))
        let url = try await TestDatabase.freshURL(backend)
        let runtime = try await TestRuntime.open(url, now: clock.function)
        let key = try await runtime.apiKeys.create(name: "Anna", role: .staff).key
        var keyed = bearer(key)
        keyed[.contentType] = "application/json"
        keyed[HTTPField.Name("Idempotency-Key")!] = "cash-ada-1"
        let headers = keyed
        let payment = try json(["amount": "125.00", "date": "2026-02-01", "purpose": "listing", "note": "cash"])
        let first = try await closing(runtime) {
            _ = try await runtime.profiles.handle(.register(kind: .mediator, displayName: "Ada", contactEmail: "ada@example.org"), profileID: try ProfileID("ada-1"), metadata: .init(actor: "test"))
            return try await serving(runtime) { client in
                let paid = try await client.execute(uri: "/api/v1/profiles/ada-1/offline-payments", method: .post, headers: headers, body: payment)
                #expect(paid.status == .created, "\(paid.text)")
                clock.set(noon("2026-02-01").addingTimeInterval(90))
                let again = try await client.execute(uri: "/api/v1/profiles/ada-1/offline-payments", method: .post, headers: headers, body: payment)
                #expect(again.status == paid.status && again.text == paid.text, "\(again.text)")
                #expect(again.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
                #expect(again.headers[.location] == paid.headers[.location])

                // The same key with another request is refused, and writes nothing.
                let other = try await client.execute(
                    uri: "/api/v1/profiles/ada-1/offline-payments", method: .post, headers: headers,
                    body: try json(["amount": "250.00", "date": "2026-02-01", "purpose": "listing", "note": "cash"])
                )
                #expect(other.status == .unprocessableContent)
                #expect((other.json["type"] as? String)?.hasSuffix("/idempotency-key-reused") == true, "\(other.text)")
                return (status: paid.status, body: paid.text, location: paid.headers[.location])
            }
        }

        // A restart, an hour later: the same answer, and still one payment.
        clock.set(noon("2026-02-01").addingTimeInterval(3_600))
        let restarted = try await TestRuntime.open(url, now: clock.function)
        try await closing(restarted) {
            try await serving(restarted) { client in
                let again = try await client.execute(uri: "/api/v1/profiles/ada-1/offline-payments", method: .post, headers: headers, body: payment)
                #expect(again.status == first.status && again.text == first.body && again.headers[.location] == first.location)
            }
            let stream = try await restarted.store.readStream("profile-ada-1", fromVersion: 1, limit: 100)
            #expect(stream.filter { $0.type == "ContributionAllocated" }.count == 1)
        }
    }

    @Test(arguments: Backend.allCases)
    func aRetryAfterTheOutcomeWasLostCompletesInsteadOfConflicting(backend: Backend) async throws {
        // The payment was recorded, but its outcome never reached the idempotency records (a crash between
        // the commit and the answer): the retry, a minute later, must find the first fact, not refuse.
        let clock = TestClock(noon("2026-02-01"))
        let runtime = try await TestRuntime.make(backend, now: clock.function)
        do {
            let ada = try ProfileID("ada-1")
            _ = try await runtime.profiles.handle(.register(kind: .mediator, displayName: "Ada", contactEmail: "ada@example.org"), profileID: ada, metadata: .init(actor: "staff:Anna"))
            let first = try await runtime.profiles.recordOfflinePayment(
                profileID: ada, amount: .euros(minorUnits: 12_500), date: LocalDate(iso: "2026-02-01") ?? .first, purpose: .listing,
                note: "cash", metadata: .init(actor: "staff:Anna"), idempotencyKey: "k-1"
            )
            clock.set(noon("2026-02-01").addingTimeInterval(60))
            let retry = try await runtime.profiles.recordOfflinePayment(
                profileID: ada, amount: .euros(minorUnits: 12_500), date: LocalDate(iso: "2026-02-01") ?? .first, purpose: .listing,
                note: "cash", metadata: .init(actor: "staff:Anna"), idempotencyKey: "k-1"
            )
            #expect(retry.paymentID == first.paymentID)
            #expect(retry.outcome.replayed)
            let payment = try await runtime.store.readStream(first.paymentID.streamName, fromVersion: 1, limit: 10)
            #expect(payment.count == 1)
            await runtime.close()
        } catch {
            await runtime.close()
            throw error
        }
    }

    @Test(arguments: Backend.allCases)
    func aKnownPathWithAnotherMethodIs405WithAllow(backend: Backend) async throws {
        try await World.run(backend) { world in
            let delete = try await world.client.execute(uri: "/api/v1/profiles", method: .delete, headers: world.staff)
            #expect(delete.status == .methodNotAllowed)
            #expect(delete.headers[.allow] == "GET, POST", "a search (GET) and a registration (POST)")
            #expect(delete.headers[.contentType] == "application/problem+json")
            let put = try await world.client.execute(uri: "/api/v1/profiles/ada-1/listing", method: .put, headers: world.staff)
            #expect(put.status == .methodNotAllowed && put.headers[.allow] == "GET")
            let health = try await world.client.execute(uri: "/healthz", method: .post)
            #expect(health.status == .methodNotAllowed && health.headers[.allow] == "GET")
            let unknown = try await world.client.execute(uri: "/api/v1/nothing-here", method: .get, headers: world.staff)
            #expect(unknown.status == .notFound)
        }
    }

    @Test(arguments: Backend.allCases)
    func bodiesThatAreNotPlainJSONAreRefusedAndWriteNothing(backend: Backend) async throws {
        try await World.run(backend) { world in
            let head = try await world.head()
            let valid = #"{"profileId":"bo-1","kind":"mediator","displayName":"Bo","contactEmail":"bo@example.org"}"#
            var textPlain = world.staff
            textPlain[.contentType] = "text/plain"
            let plain = try await world.client.execute(uri: "/api/v1/profiles", method: .post, headers: textPlain, body: ByteBuffer(string: valid))
            #expect(plain.status == .unsupportedMediaType, "\(plain.text)")
            var form = world.staff
            form[.contentType] = "application/x-www-form-urlencoded"
            let formed = try await world.client.execute(uri: "/api/v1/profiles", method: .post, headers: form, body: ByteBuffer(string: valid))
            #expect(formed.status == .unsupportedMediaType)
            for body in [
                #"{"profileId":"bo-1","profileId":"bo-2","kind":"mediator","displayName":"Bo","contactEmail":"bo@example.org"}"#,
                #"{"profileId":"bo-1","kind":"mediator","displayName":"Bo","contactEmail":"bo@example.org","contactEmial":"bo@example.org"}"#,
                #"{"profileId":"bo-1","kind":"mediator","displayName":"Bo\u0000","contactEmail":"bo@example.org"}"#,
                #"{"profileId":"bo-1","kind":"mediator","displayName":"Bo\u001b[31m","contactEmail":"bo@example.org"}"#,
                #"{"profileId":"bo-1","kind":"mediator","displayName":"Bo","contactEmail":"bo@example.org","x":"#
                    + String(repeating: "[", count: 40) + String(repeating: "]", count: 40) + "}",
            ] {
                let response = try await world.client.execute(uri: "/api/v1/profiles", method: .post, headers: world.staff, body: ByteBuffer(string: body))
                #expect(response.status == .badRequest, "\(body): \(response.text)")
            }
            #expect(try await world.head() == head, "a refused body wrote something")
            var charset = world.staff
            charset[.contentType] = "application/json; charset=utf-8"
            let accepted = try await world.client.execute(uri: "/api/v1/profiles", method: .post, headers: charset, body: ByteBuffer(string: valid))
            #expect(accepted.status == .created, "\(accepted.text)")
        }
    }

    /// With the general body limit raised past the statement cap (100 MiB), a 60 MB body is within what is drained
    /// and gets its answer too.
    @Test(arguments: Backend.allCases)
    func aClientThatSendsTheWholeBodyFirstReceivesTheEarlyAnswer(backend: Backend) async throws {
        for (bodyBytesMax, cases) in [
            // Small bodies fit in the sockets' buffers and never showed the hang; 20 MB does. Beyond what is drained
            // (the 50 MiB statement limit and 1 MiB), the connection is closed, not left waiting.
            (64 * 1_024, [(60_000, "llk_nope_nope", "401"), (20_000_000, "llk_nope_nope", "413"), (60_000_000, "llk_nope_nope", "closed")]),
            (100 * 1_048_576, [(60_000_000, "llk_nope_nope", "401")]),
        ] {
            try await Self.sendWholeBodiesFirst(backend, bodyBytesMax: bodyBytesMax, cases)
        }
    }

    /// Sends each body of `cases` (size, API key, expected answer) the way urllib does, the whole body first.
    static func sendWholeBodiesFirst(_ backend: Backend, bodyBytesMax: Int, _ cases: [(Int, String, String)]) async throws {
        let runtime = try await TestRuntime.make(backend, bodyBytesMax: bodyBytesMax)
        do {
            let application = Application(router: buildRouter(runtime: runtime), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
            try await application.test(.live) { client in
                let port = try #require(client.port)
                // Python's urllib writes the whole body, with Connection: close, before it reads a byte.
                let script = """
                    import sys, urllib.request, urllib.error
                    port, size, key = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
                    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/profiles", data=b"x" * size, method="POST",
                        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
                    try:
                        urllib.request.urlopen(request, timeout=20)
                        print("no error")
                    except urllib.error.HTTPError as error:
                        print(error.code)
                    except (urllib.error.URLError, ConnectionError) as error:
                        print("timed out" if "timed out" in str(error) else "closed")
                    """
                for (size, key, expected) in cases {
                    let process = Process()
                    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                    process.arguments = ["python3", "-c", script, String(port), String(size), key]
                    let output = Pipe()
                    process.standardOutput = output
                    try process.run()
                    let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                    process.waitUntilExit()
                    #expect(printed.trimmingCharacters(in: .whitespacesAndNewlines) == expected, "\(size) bytes, limit \(bodyBytesMax): \(printed)")
                }
            }
            await runtime.close()
        } catch {
            await runtime.close()
            throw error
        }
    }

    @Test
    func aRefusedProviderConnectionAnswers502AtOnce() async throws {
        try await World.run(.sqlite, settings: ["card.secret_key": "sk_test_refused", "card.api_base_url": "http://127.0.0.1:1"]) { world in
            var headers = world.website
            headers[.contentType] = "application/json"
            let started = ContinuousClock.now
            let response = try await world.client.execute(
                uri: "/api/v1/profiles/ada-1/checkout", method: .post, headers: headers,
                body: try json(["method": "card", "purpose": "listing", "successUrl": "https://imi.example/ok", "cancelUrl": "https://imi.example/"])
            )
            #expect(response.status == .badGateway, "\(response.text)")
            // The configured limit is 10 s; a refused connection must not wait for it.
            #expect(ContinuousClock.now - started < .seconds(5))
        }
    }
}
