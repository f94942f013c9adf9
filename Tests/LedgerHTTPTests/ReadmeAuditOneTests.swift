import Directory
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

/// Promises of the README's first half (up to its bank transfers) that no test held yet, each tried as a user
/// reading it would: the documented defaults, a likely duplicate sent under a new `Idempotency-Key`, `?at=` as
/// the end of a day, receipts for a moved payment, dates in a body that are no real day, the sign-in count
/// across a restart, and the listing lists' filters.
@Suite("README audit, one")
struct ReadmeAuditOneTests {
    // MARK: Configuration defaults

    /// The configuration table's "Default (development)" column, read literally: with nothing configured,
    /// `http.body_bytes_max` is `1048576`, `log.level` `info`, `log.format` `text`, `migrate_on_start` `true`,
    /// `directory.poll_seconds` `1`, the retry pauses `5,300,1800,7200,18000,36000,36000`, the price `125.00`
    /// for `12` months with `14` days of grace, `payment.amount_max` `10000.00`, reminders `30,7`, the zone
    /// `Europe/Amsterdam`, the card tolerance `300`, both providers' time limits `10`, the PayPal subject
    /// `paypal`, the bank `International Mediation Institute`, `NL91ABNA0417164300`, `ABNANL2A`, and the
    /// providers' API bases `https://api.stripe.com` and `https://api-m.paypal.com` once their secrets are given.
    /// The ranges the table gives are held too ("1 to 86400", "1 to 120"), and the IBAN is "(checked)": a value
    /// outside stops start-up with a message naming the variable.
    @Test
    func everyDefaultTheConfigurationTableGivesIsInForceWithNothingConfigured() async throws {
        let configuration = try await LedgerConfiguration.resolve(environment: ["HOME": "/home/ada"])
        #expect(configuration.requestBodyBytesMax == 1_048_576)
        #expect("\(configuration.logLevel)" == "info")
        #expect(configuration.logFormat == .text)
        #expect(configuration.migrateOnStart)
        #expect(configuration.directoryPollSeconds == 1)
        #expect(configuration.directoryRetryPolicy.pausesSeconds == [5, 300, 1_800, 7_200, 18_000, 36_000, 36_000])
        #expect(configuration.directoryTimeoutSeconds == 15)
        #expect(configuration.endpointURLPolicy.allowedHosts.isEmpty)

        let policy = configuration.listingPolicy
        let entry = policy.tariff.entry(on: policy.calendar.date(at: Date()))
        #expect(entry.price == .euros(minorUnits: 12_500), "the listing price")
        #expect(entry.months == 12, "the months one period buys")
        #expect((entry.graceDays ?? policy.graceDays) == 14, "the days of grace")
        #expect(policy.paymentAmountMax == .euros(minorUnits: 1_000_000), "the largest payment applied without staff")
        #expect(policy.reminderDaysBefore == [30, 7])
        #expect(policy.calendar.timeZone.identifier == "Europe/Amsterdam")

        #expect(configuration.card == nil && configuration.cardWebhookSecrets.isEmpty, "card checkout is off without its secrets")
        #expect(configuration.cardWebhookToleranceSeconds == 300)
        #expect(configuration.payPal == nil && configuration.payPalWebhookID == nil, "PayPal is off without its secrets")
        #expect(configuration.payPalCertificateHosts.count == 4, "PayPal's four API hosts: \(configuration.payPalCertificateHosts)")
        #expect(configuration.payPalCertificateHosts.allSatisfy { $0.hasSuffix(".paypal.com") }, "\(configuration.payPalCertificateHosts)")
        #expect(configuration.payPalCertificateSubject == "paypal")
        #expect(configuration.payPalTrustRootsPEM.isEmpty)
        #expect(configuration.payPalTimeoutSeconds == 10)
        #expect(configuration.bankBeneficiaryName == "International Mediation Institute")
        #expect(configuration.bankIBAN == "NL91ABNA0417164300")
        #expect(configuration.bankBIC == "ABNANL2A")

        let providers = try await LedgerConfiguration.resolve(environment: [
            "HOME": "/home/ada", "LEDGER_CARD_SECRET_KEY": "sk_test_audit_one",
            "LEDGER_PAYPAL_CLIENT_ID": "client-id", "LEDGER_PAYPAL_CLIENT_SECRET": "client-secret",
        ])
        #expect(providers.card?.apiBaseURL == "https://api.stripe.com")
        #expect(providers.card?.requestTimeoutSeconds == 10)
        #expect(providers.payPal?.apiBaseURL == "https://api-m.paypal.com")

        // The ends of the documented ranges are taken; one past them is refused, naming the variable.
        let widest = try await LedgerConfiguration.resolve(environment: [
            "HOME": "/home/ada", "LEDGER_DIRECTORY_POLL_SECONDS": "86400", "LEDGER_DIRECTORY_TIMEOUT_SECONDS": "120",
        ])
        #expect(widest.directoryPollSeconds == 86_400 && widest.directoryTimeoutSeconds == 120)
        let refused: [(variable: String, value: String)] = [
            ("LEDGER_DIRECTORY_POLL_SECONDS", "0"), ("LEDGER_DIRECTORY_POLL_SECONDS", "86401"),
            ("LEDGER_DIRECTORY_TIMEOUT_SECONDS", "121"),
            // The check digits of the default account, one off.
            ("LEDGER_BANK_IBAN", "NL92ABNA0417164300"),
            ("LEDGER_LOG_FORMAT", "xml"),
        ]
        for (variable, value) in refused {
            do {
                _ = try await LedgerConfiguration.resolve(environment: ["HOME": "/home/ada", variable: value])
                Issue.record("\(variable)=\(value) was accepted")
            } catch let error as ConfigurationError {
                #expect(error.description.hasPrefix("\(variable): "), "\(variable)=\(value): \(error)")
            }
        }
    }

    // MARK: Likely duplicates and Idempotency-Key

    /// "An offline listing payment like one the profile already has (same amount, same day, still counting) is
    /// refused with `409 likely-duplicate`, naming the earlier payment, unless the body says
    /// `"confirmDuplicate": true` (a request with an `Idempotency-Key` is answered as the first instead)."
    /// The same cash payment entered again under a new `Idempotency-Key` (a second click of a form that makes a
    /// key per submission) is either refused as a likely duplicate or answered as the first payment: it is not
    /// recorded as a second payment that buys a second year. Confirmed, it is.
    @Test(arguments: Backend.allCases)
    func aLikeOfflinePaymentUnderANewIdempotencyKeyIsNotRecordedAsASecondPaymentUnlessConfirmed(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let staff = try await StaffSession.start(client, runtime)
            try await staff.certifiedProfile("dk-1")
            let payment: [String: Any] = ["amount": "125.00", "date": runtime.today.description, "purpose": "listing", "note": "cash"]
            let uri = "/api/v1/profiles/dk-1/offline-payments"

            let first = try await Self.post(staff, uri, payment, idempotencyKey: "cash-dk-1-first")
            #expect(first.status == .created, "\(first.text)")
            let firstLocation = try #require(first.headers[.location])
            let firstID = try #require(firstLocation.split(separator: "/").last.map(String.init))
            let paidThrough = (first.json["listing"] as? [String: Any])?["paidThrough"] as? String

            let again = try await Self.post(staff, uri, payment, idempotencyKey: "cash-dk-1-second")
            #expect(
                again.status == .conflict || ((200..<300).contains(again.status.code) && again.headers[.location] == firstLocation),
                "the same payment under a new Idempotency-Key was recorded as another payment: \(again.status) \(again.headers[.location] ?? "no Location") \(again.text)"
            )
            if again.status == .conflict {
                expectProblem(again, .conflict, "likely-duplicate")
                #expect((again.json["detail"] as? String)?.contains(firstID) == true, "the refusal names the earlier payment: \(again.text)")
            }
            #expect(try await Self.allocationCount(runtime, "dk-1") == 1, "a likely duplicate was allocated")
            let listing = try await staff.get("/api/v1/profiles/dk-1/listing")
            #expect(listing.json["paidThrough"] as? String == paidThrough, "a likely duplicate bought another period: \(listing.text)")

            // Meant as a second payment, it is recorded, under a key of its own.
            let confirmed = try await Self.post(
                staff, uri, payment.merging(["confirmDuplicate": true]) { _, given in given }, idempotencyKey: "cash-dk-1-confirmed"
            )
            #expect(confirmed.status == .created, "\(confirmed.text)")
            #expect(confirmed.headers[.location] != nil && confirmed.headers[.location] != firstLocation, "\(confirmed.text)")
            #expect(try await Self.allocationCount(runtime, "dk-1") == 2)
        }
    }

    // MARK: Was it listed on that day

    /// `GET $U/profiles/ada-1/listing?at=2026-03-15` — "was it listed on that day (end of day)", the day a
    /// calendar date in the organisation's zone ("period dates are calendar dates there"). Money taken back at
    /// 22:30 in Amsterdam on 15 March counts on the 15th (hidden at its end, listed at noon); money taken back at
    /// 00:30 on 16 March in Amsterdam, still the 15th in UTC, does not (listed at the end of the 15th, hidden at
    /// the end of the 16th). A payment made on a day lists the profile on that day.
    @Test(arguments: Backend.allCases)
    func aDayInAtMeansTheEndOfThatDayInTheOrganisationsZone(backend: Backend) async throws {
        let clock = TestClock(Self.noon("2026-03-01"))
        let runtime = try await TestRuntime.make(backend, now: clock.function)
        do {
            let key = try await runtime.apiKeys.create(name: "Anna", role: .staff).key
            try await buildApplication(runtime: runtime).test(.live) { client in
                let staff = StaffSession(client: client, key: key)
                var paymentIDs: [String: String] = [:]
                for id in ["eod-1", "eod-2"] {
                    try await staff.certifiedProfile(id)
                    let paid = try await staff.post("/api/v1/profiles/\(id)/offline-payments", [
                        "amount": "125.00", "date": "2026-03-01", "purpose": "listing", "note": "cash",
                    ])
                    #expect(paid.status == .created, "\(id): \(paid.text)")
                    paymentIDs[id] = try #require(paid.headers[.location]?.split(separator: "/").last.map(String.init))
                }
                // 22:30 in Amsterdam on 15 March (21:30 UTC).
                clock.set(Self.startOfDay("2026-03-15").addingTimeInterval(22.5 * 3_600))
                let late = try await staff.post("/api/v1/profiles/eod-1/allocations/\(paymentIDs["eod-1"] ?? "")/reverse", [
                    "kind": "refund", "reason": "returned in cash",
                ])
                #expect(late.status == .ok, "\(late.text)")
                // 00:30 in Amsterdam on 16 March: 23:30 UTC on the 15th.
                clock.set(Self.startOfDay("2026-03-16").addingTimeInterval(0.5 * 3_600))
                let afterMidnight = try await staff.post("/api/v1/profiles/eod-2/allocations/\(paymentIDs["eod-2"] ?? "")/reverse", [
                    "kind": "refund", "reason": "returned in cash",
                ])
                #expect(afterMidnight.status == .ok, "\(afterMidnight.text)")
                clock.set(Self.noon("2026-03-20"))

                func listing(_ id: String, at: String) async throws -> (visible: Bool?, reason: String?) {
                    let answer = try await staff.get("/api/v1/profiles/\(id)/listing?at=\(at)")
                    #expect(answer.status == .ok, "\(id) at \(at): \(answer.text)")
                    return (answer.json["visible"] as? Bool, answer.json["reason"] as? String)
                }
                #expect(try await listing("eod-1", at: "2026-02-28").visible == false, "listed before it paid")
                #expect(try await listing("eod-1", at: "2026-03-01").visible == true, "paid at noon: listed at the end of that day")
                #expect(try await listing("eod-1", at: "2026-03-14").visible == true)
                #expect(try await listing("eod-1", at: "2026-03-15T12:00:00Z").visible == true, "the money went back in the evening")
                let endOfFifteenth = try await listing("eod-1", at: "2026-03-15")
                #expect(endOfFifteenth.visible == false && endOfFifteenth.reason == "refunded", "at the end of 15 March: \(endOfFifteenth)")

                let stillListed = try await listing("eod-2", at: "2026-03-15")
                #expect(stillListed.visible == true, "the 15th ended in Amsterdam before the money went back: \(stillListed)")
                #expect(try await listing("eod-2", at: "2026-03-15T23:45:00Z").visible == false, "the money went back at 23:30 UTC")
                let endOfSixteenth = try await listing("eod-2", at: "2026-03-16")
                #expect(endOfSixteenth.visible == false && endOfSixteenth.reason == "refunded", "at the end of 16 March: \(endOfSixteenth)")
            }
            await runtime.close()
        } catch {
            await runtime.close()
            throw error
        }
    }

    // MARK: Receipts

    /// "money a receipt confirmed that later stops counting (… moved to another profile …) gets a credit note
    /// that refers to it", "Every contribution and donation gets a receipt", "The receipt names the payer (the
    /// profile's display name)", numbers "without gaps"; and "one that is not a contribution or donation, has no
    /// receipt (404, saying why)".
    @Test(arguments: Backend.allCases)
    func aMovedPaymentGetsACreditNoteAndTheOtherProfileItsReceiptAndOtherIncomeHasNone(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let staff = try await StaffSession.start(client, runtime)
            let website = bearer(try await runtime.apiKeys.create(name: "Website", role: .website).key)
            try await staff.certifiedProfile("rm-1", name: "Ada Lovelace")
            try await staff.certifiedProfile("rm-2", name: "Ben Okafor")
            let today = runtime.today
            func documents(_ paymentID: String) async throws -> [[String: Any]] {
                let response = try await client.execute(uri: "/api/v1/payments/\(paymentID)/receipts", method: .get, headers: website)
                #expect(response.status == .ok, "\(response.text)")
                return try JSONSerialization.jsonObject(with: Data(response.text.utf8)) as? [[String: Any]] ?? []
            }

            let paid = try await staff.post("/api/v1/profiles/rm-1/offline-payments", [
                "amount": "125.00", "date": today.description, "purpose": "listing", "note": "cash",
            ])
            #expect(paid.status == .created, "\(paid.text)")
            let paymentID = try #require(paid.headers[.location]?.split(separator: "/").last.map(String.init))
            let first = try await documents(paymentID)
            #expect(first.count == 1, "\(first)")
            let receipt = try #require(first.first)
            #expect(receipt["kind"] as? String == "receipt" && receipt["profileId"] as? String == "rm-1", "\(receipt)")
            #expect(receipt["payerName"] as? String == "Ada Lovelace" && receipt["amount"] as? String == "125.00", "\(receipt)")
            let receiptNumber = try #require(receipt["number"] as? String)

            let moved = try await staff.post("/api/v1/payments/\(paymentID)/reassign", [
                "fromProfileId": "rm-1", "toProfileId": "rm-2", "reason": "paid for her colleague",
            ])
            #expect(moved.status == .ok, "\(moved.text)")
            let after = try await documents(paymentID)
            #expect(after.count == 3, "a receipt, its credit note and the other profile's receipt: \(after)")
            let note = after.first { $0["kind"] as? String == "credit-note" }
            #expect(note?["refersTo"] as? String == receiptNumber, "\(after)")
            #expect(note?["profileId"] as? String == "rm-1" && note?["amount"] as? String == "125.00", "\(after)")
            #expect((note?["reason"] as? String)?.contains("moved to rm-2") == true, "\(after)")
            let newReceipt = after.first { $0["kind"] as? String == "receipt" && $0["profileId"] as? String == "rm-2" }
            #expect(newReceipt?["payerName"] as? String == "Ben Okafor" && newReceipt?["amount"] as? String == "125.00", "\(after)")
            let numbers = Set(after.compactMap { $0["number"] as? String })
            #expect(numbers == Set((1...3).map { ReceiptIssued.printedNumber(year: today.year, number: Int64($0)) }), "\(numbers)")

            // Other income: a transfer staff decided is not a contribution has no receipt, and the answer says why.
            let xml = CamtStatementBuilder(statements: [.init(id: "RM-1", iban: "NL91ABNA0417164300", entries: [
                .init(date: today.description, bankReference: "RM-1", transactions: [.init(amount: "80.00", payerName: "Regional Chamber", text: "room hire")]),
            ])]).xml
            let imported = try await client.execute(uri: "/api/v1/bank-statements", method: .post, headers: bearer(staff.key), body: ByteBuffer(string: xml))
            #expect(imported.status == .created, "\(imported.text)")
            let held = try await staff.get("/api/v1/payments?state=held&method=bank")
            let rows = try JSONSerialization.jsonObject(with: Data(held.text.utf8)) as? [[String: Any]] ?? []
            let heldID = try #require(rows.first?["paymentId"] as? String, "\(held.text)")
            let resolved = try await staff.post("/api/v1/reconciliation/exceptions/\(heldID)/resolve", [
                "resolution": "not-contribution", "reason": "room hire, not a contribution",
            ])
            #expect(resolved.status == .ok, "\(resolved.text)")
            let none = try await client.execute(uri: "/api/v1/payments/\(heldID)/receipts", method: .get, headers: website)
            #expect(none.status == .notFound, "\(none.text)")
            #expect(none.headers[.contentType] == "application/problem+json")
            #expect((none.json["detail"] as? String)?.contains("not a contribution or a donation") == true, "\(none.text)")
        }
    }

    // MARK: Dates in a body

    /// "in a request body (a payment's `date`, a waiver's `from` and `through`, a policy change's
    /// `effectiveFrom`) any date that is not a real day answers 400" (where `?at=2026-02-30` answers 422), and
    /// "Errors are `application/problem+json` with `type`, `title`, `status`, `detail` and `requestId`": each
    /// refusal is a complete problem naming the field, and nothing is written.
    @Test(arguments: Backend.allCases)
    func aDateInABodyThatIsNotARealDayAnswersA400ProblemAndWritesNothing(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            let staff = try await StaffSession.start(client, runtime)
            try await staff.certifiedProfile("bd-1")
            let head = try await Self.head(runtime)
            let refused: [(uri: String, body: [String: Any], words: String)] = [
                ("/api/v1/profiles/bd-1/offline-payments", ["amount": "125.00", "date": "2026-02-30", "purpose": "listing"], "date '2026-02-30'"),
                ("/api/v1/profiles/bd-1/offline-payments", ["amount": "125.00", "date": "2027-02-29", "purpose": "listing"], "date '2027-02-29'"),
                ("/api/v1/profiles/bd-1/waivers", ["from": "2026-04-31", "through": "2026-05-31", "reason": "hardship"], "from '2026-04-31'"),
                ("/api/v1/profiles/bd-1/waivers", ["from": "2026-06-01", "through": "2026-06-31", "reason": "hardship"], "through '2026-06-31'"),
                ("/api/v1/policy/changes", ["effectiveFrom": "2027-02-29", "price": "150.00", "reason": "board decision"], "effectiveFrom '2027-02-29'"),
                // A sign is not a digit: these are no days either, though each part reads as a number.
                ("/api/v1/profiles/bd-1/offline-payments", ["amount": "2.00", "date": "2026-+2-+1", "purpose": "donation"], "date '2026-+2-+1'"),
                ("/api/v1/policy/changes", ["effectiveFrom": "2027-01-+1", "graceDays": 30, "reason": "board decision"], "effectiveFrom '2027-01-+1'"),
                ("/api/v1/profiles/bd-1/waivers", ["from": "+026-06-01", "through": "2026-06-30", "reason": "hardship"], "from '+026-06-01'"),
            ]
            for (uri, body, words) in refused {
                let answer = try await staff.post(uri, body)
                expectProblem(answer, .badRequest, "bad-request")
                #expect((answer.json["detail"] as? String)?.contains(words) == true, "\(uri) \(body): \(answer.text)")
                #expect((answer.json["title"] as? String)?.isEmpty == false, "\(uri): \(answer.text)")
                let requestID = answer.headers[auditOneRequestIDField]
                #expect(requestID != nil && answer.json["requestId"] as? String == requestID, "\(uri): \(answer.text)")
            }
            #expect(try await Self.head(runtime) == head, "a refused request wrote something")

            // The same kind of day in a query is read, and refused as a day that does not exist.
            let asOf = try await staff.get("/api/v1/profiles/bd-1/listing?at=2026-02-30")
            expectProblem(asOf, .unprocessableContent, nil)
            for query in ["/api/v1/profiles/bd-1/listing?at=2026-01-%2B1", "/api/v1/listings?expiringInMonth=2027-%2B1", "/api/v1/books/trial-balance?date=2026-12-%2B5"] {
                expectProblem(try await staff.get(query), .badRequest, nil, query)
            }
        }
    }

    // MARK: Sign-in

    /// "After 3 failed sign-ins in a row for one address, the next attempt must wait 2 seconds … (429 with
    /// `Retry-After`); the count is kept in the database, so a restart does not reset it"; "An address that has
    /// no user is checked against a decoy hash and counted like any other, so the answers do not tell which
    /// addresses exist"; and "disabling the user ends [the session] at once".
    @Test(arguments: Backend.allCases)
    func failedSignInsOutliveARestartAndAnAddressWithoutAUserIsCountedLikeAnyOther(backend: Backend) async throws {
        let start = Date(timeIntervalSince1970: 1_790_000_000)
        let clock = TestClock(start)
        let url = try await TestDatabase.freshURL(backend)
        let addresses = ["ben@example.org", "nobody-at-all@example.org"]
        let first = try await TestRuntime.open(url, now: clock.function)
        do {
            _ = try await first.staffUsers.add(name: "Ben Meyer", email: "ben@example.org", password: ConsoleTests.password)
            try await buildApplication(runtime: first).test(.live) { client in
                let guesser = ConsoleTests.Browser(client)
                for attempt in 1...3 {
                    for email in addresses {
                        let refused = try await guesser.signIn(email, "wrong password 1")
                        #expect(refused.status == .unauthorized, "\(email), attempt \(attempt): \(refused.status)")
                        #expect(refused.text.contains("The e-mail address or the password is not right."), "\(email), attempt \(attempt)")
                    }
                }
                for email in addresses {
                    let slowed = try await guesser.signIn(email)
                    #expect(slowed.status == .tooManyRequests && slowed.headers[.retryAfter] == "2", "\(email): \(slowed.status) \(slowed.headers[.retryAfter] ?? "no Retry-After")")
                    #expect(slowed.text.contains("Please wait 2 seconds"), "\(email)")
                }
            }
            await first.close()
        } catch {
            await first.close()
            throw error
        }

        // A restart: another runtime on the same database, at the same moment.
        let second = try await TestRuntime.open(url, now: clock.function)
        do {
            try await buildApplication(runtime: second).test(.live) { client in
                let ben = ConsoleTests.Browser(client)
                for email in addresses {
                    let slowed = try await ben.signIn(email)
                    #expect(slowed.status == .tooManyRequests && slowed.headers[.retryAfter] == "2", "after a restart, \(email): \(slowed.status)")
                }
                clock.set(start.addingTimeInterval(2))
                #expect(try await ben.signIn("ben@example.org").status == .seeOther, "the wait is over")
                #expect(try await ben.send("/console").status == .ok)

                try await second.staffUsers.disable(email: "ben@example.org")
                let afterDisabling = try await ben.send("/console")
                #expect(afterDisabling.status == .seeOther, "a disabled user's session still opens the console")
                #expect(afterDisabling.headers[.location]?.hasPrefix("/console/sign-in") == true)
            }
            await second.close()
        } catch {
            await second.close()
            throw error
        }
    }

    // MARK: The listings list

    /// `GET $U/listings?status=grace&limit=50` — "also expiringWithinDays=30, expiringInMonth=2027-01, offset":
    /// a profile whose paid year ended ten days ago is in grace, one whose year ends within 30 days is expiring,
    /// one paid a month ago is not, and `limit` and `offset` page through a status without losing or repeating
    /// a row.
    @Test(arguments: Backend.allCases)
    func listingsAreFoundByStatusAndByExpiryAndPagedWithLimitAndOffset(backend: Backend) async throws {
        let clock = TestClock(Self.noon("2025-01-01"))
        let runtime = try await TestRuntime.make(backend, now: clock.function)
        do {
            let key = try await runtime.apiKeys.create(name: "Anna", role: .staff).key
            try await buildApplication(runtime: runtime).test(.live) { client in
                let staff = StaffSession(client: client, key: key)
                for id in ["ls-1", "ls-2", "ls-3", "ls-4"] {
                    try await staff.certifiedProfile(id)
                }
                for (id, day) in [("ls-1", "2025-01-01"), ("ls-2", "2025-02-01"), ("ls-3", "2025-12-01")] {
                    clock.set(Self.noon(day))
                    let paid = try await staff.post("/api/v1/profiles/\(id)/offline-payments", ["amount": "125.00", "date": day, "purpose": "listing", "note": "cash"])
                    #expect(paid.status == .created, "\(id): \(paid.text)")
                }
                // 10 January 2026: ls-1 paid through 2025-12-31 (in grace until the 14th), ls-2 through
                // 2026-01-31, ls-3 through 2026-11-30; ls-4 never paid. The sweeper records what time changed.
                clock.set(Self.noon("2026-01-10"))
                try await (runtime.store as? any EventStoreTestHooks)?.waitUntilAllCommittedEventsAreVisible()
                _ = try await ProjectionRunner(store: runtime.store, projection: runtime.listingProjection).catchUp()
                _ = try await runtime.sweeper.sweepDue()

                func rows(_ query: String) async throws -> [[String: Any]] {
                    let response = try await staff.get("/api/v1/listings?\(query)")
                    #expect(response.status == .ok, "\(query): \(response.text)")
                    return try JSONSerialization.jsonObject(with: Data(response.text.utf8)) as? [[String: Any]] ?? []
                }
                func ids(_ query: String) async throws -> [String] {
                    try await rows(query).compactMap { $0["profileId"] as? String }
                }
                let grace = try await rows("status=grace&limit=50")
                #expect(grace.compactMap { $0["profileId"] as? String } == ["ls-1"], "\(grace)")
                #expect(grace.first?["visible"] as? Bool == true && grace.first?["paidThrough"] as? String == "2025-12-31", "\(grace)")
                #expect(try await ids("status=pending") == ["ls-4"])

                let expiring = try await ids("expiringWithinDays=30")
                #expect(expiring.contains("ls-2"), "paid through 2026-01-31, within 30 days of 2026-01-10: \(expiring)")
                #expect(!expiring.contains("ls-3") && !expiring.contains("ls-4"), "\(expiring)")
                #expect(try await ids("expiringInMonth=2026-01") == ["ls-2"])

                let active = try await ids("status=active")
                #expect(Set(active) == ["ls-2", "ls-3"] && active.count == 2, "\(active)")
                let firstPage = try await ids("status=active&limit=1")
                let secondPage = try await ids("status=active&limit=1&offset=1")
                #expect(firstPage.count == 1 && secondPage.count == 1, "\(firstPage) \(secondPage)")
                #expect(firstPage + secondPage == active, "pages \(firstPage) and \(secondPage) of \(active)")
                #expect(try await ids("status=active&limit=1&offset=2").isEmpty)
            }
            await runtime.close()
        } catch {
            await runtime.close()
            throw error
        }
    }

    // MARK: Helpers

    /// A JSON POST with an `Idempotency-Key`.
    private static func post(_ session: StaffSession, _ uri: String, _ object: [String: Any], idempotencyKey: String) async throws -> TestResponse {
        var headers = session.headers
        headers[auditOneIdempotencyKeyField] = idempotencyKey
        let body = ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
        return try await session.client.execute(uri: uri, method: .post, headers: headers, body: body)
    }

    /// How many allocations the profile's stream records.
    private static func allocationCount(_ runtime: LedgerRuntime, _ profileID: String) async throws -> Int {
        try await runtime.store.readStream("profile-\(profileID)", fromVersion: 1, limit: 100).filter { $0.type == "ContributionAllocated" }.count
    }

    /// Midnight at the start of a day in Amsterdam.
    private static func startOfDay(_ date: String) -> Date {
        OrganisationCalendar.amsterdam.startOfDay(LocalDate(iso: date) ?? .first)
    }

    /// Noon of a day in Amsterdam.
    private static func noon(_ date: String) -> Date {
        startOfDay(date).addingTimeInterval(12 * 3_600)
    }

    /// The log's head once every committed event is visible: equal before and after means nothing was appended.
    private static func head(_ runtime: LedgerRuntime) async throws -> LogCursor {
        try await (runtime.store as? any EventStoreTestHooks)?.waitUntilAllCommittedEventsAreVisible()
        return try await runtime.store.headCursor()
    }

}

private let auditOneIdempotencyKeyField = HTTPField.Name("Idempotency-Key")!
private let auditOneRequestIDField = HTTPField.Name("X-Request-Id")!
