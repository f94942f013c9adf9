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

@Suite("The listing policy is dated history")
struct PolicyHistoryTests {
    @Test(arguments: Backend.allCases)
    func aPriceChangePricesEachPaymentByItsOwnDateAndLeavesPastAnswersAlone(backend: Backend) async throws {
        let clock = TestClock(noon("2026-11-01"))
        let url = try await TestDatabase.freshURL(backend)
        let runtime = try await TestRuntime.open(url, now: clock.function)
        do {
            let staffKey = try await runtime.apiKeys.create(name: "Anna", role: .staff).key
            for id in ["ada-1", "bo-2", "cy-3"] {
                _ = try await runtime.profiles.handle(.register(kind: .mediator, displayName: id, contactEmail: "\(id)@example.org"), profileID: try ProfileID(id), metadata: .init(actor: "test"))
                _ = try await runtime.profiles.handle(.changeCertification(.grant, reason: "assessed"), profileID: try ProfileID(id), metadata: .init(actor: "test"))
            }
            // cy-3 paid on 2025-12-01: paid through 2026-11-30, in grace until 2026-12-14.
            _ = try await runtime.profiles.handle(
                .allocate(paymentID: PaymentID(rawValue: "offline-cy"), amount: .euros(minorUnits: 12_500), effectiveDate: LocalDate(iso: "2025-12-01") ?? .first, acceptShortfall: false),
                profileID: try ProfileID("cy-3"), metadata: .init(actor: "test")
            )
            clock.set(noon("2026-12-15"))
            let application = Application(router: buildRouter(runtime: runtime), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
            try await application.test(.live) { client in
                var staff = bearer(staffKey)
                staff[.contentType] = "application/json"
                func asOf(_ profile: String, _ date: String) async throws -> String {
                    let response = try await client.execute(uri: "/api/v1/profiles/\(profile)/listing?at=\(date)", method: .get, headers: staff)
                    return "\(response.json["status"] ?? "?")/\(response.json["visible"] ?? "?")"
                }
                let before = [try await asOf("cy-3", "2026-12-10"), try await asOf("cy-3", "2026-12-20")]
                #expect(before == ["grace/1", "expired/0"])

                // The seed from configuration is the first change.
                let shown = try await client.execute(uri: "/api/v1/policy", method: .get, headers: staff)
                #expect((shown.json["inForce"] as? [String: Any])?["price"] as? String == "125.00")

                // A change in the past is refused unless asked for.
                let past = try await client.execute(uri: "/api/v1/policy/changes", method: .post, headers: staff,
                    body: try json(["effectiveFrom": "2026-12-01", "graceDays": 30, "reason": "typo"]))
                #expect(past.status == .unprocessableContent, "\(past.text)")

                let scheduled = try await client.execute(uri: "/api/v1/policy/changes", method: .post, headers: staff,
                    body: try json(["effectiveFrom": "2027-01-01", "price": "150.00", "graceDays": 30, "reason": "board decision of 2026-11-20"]))
                #expect(scheduled.status == .created, "\(scheduled.text)")
                #expect(scheduled.json["actor"] as? String == "staff:Anna")
                #expect([try await asOf("cy-3", "2026-12-10"), try await asOf("cy-3", "2026-12-20")] == before, "a dated change rewrote 2026")

                // In January: a transfer booked in December pays December's price; one booked in January is short.
                clock.set(noon("2027-01-12"))
                let statement = CamtStatementBuilder(statements: [.init(id: "2027-01", iban: "NL91ABNA0417164300", entries: [
                    .init(date: "2026-12-20", bankReference: "DEC-1", transactions: [.init(amount: "125.00", payerName: "Ada", structuredReference: CreditorReference.forProfile(try ProfileID("ada-1")).electronic)]),
                    .init(date: "2027-01-10", bankReference: "JAN-1", transactions: [.init(amount: "125.00", payerName: "Bo", structuredReference: CreditorReference.forProfile(try ProfileID("bo-2")).electronic)]),
                ])])
                let imported = try await client.execute(uri: "/api/v1/bank-statements", method: .post, headers: bearer(staffKey),
                    body: ByteBuffer(data: try Data(contentsOf: try statement.write())))
                #expect(imported.status == .created, "\(imported.text)")
                let ada = try await client.execute(uri: "/api/v1/profiles/ada-1/listing", method: .get, headers: staff)
                #expect(ada.json["visible"] as? Bool == true && ada.json["paidThrough"] as? String == "2027-12-19", "\(ada.text)")
                try await catchUp(runtime.paymentViews, of: runtime)
                let queue = try await client.execute(uri: "/api/v1/reconciliation/exceptions", method: .get, headers: staff)
                let entries = try #require(try JSONSerialization.jsonObject(with: Data(buffer: queue.body)) as? [[String: Any]])
                let short = try #require(entries.first { $0["reasonCode"] as? String == "short-payment" })
                #expect((short["reason"] as? String)?.contains("150.00 EUR") == true, "\(short)")
                let bo = try await client.execute(uri: "/api/v1/profiles/bo-2/listing", method: .get, headers: staff)
                #expect(bo.json["visible"] as? Bool == false)
            }
            await runtime.close()
        } catch {
            await runtime.close()
            throw error
        }

        // Configuration cannot rewrite the policy now: a price setting that disagrees stops start-up and says how
        // to schedule a change; one that agrees is accepted.
        do {
            let refused = try await TestRuntime.open(url, settings: ["listing.price": "125.00"], now: clock.function)
            await refused.close()
            Issue.record("a runtime started with a price setting that disagrees with the ledger's policy")
        } catch let error as ConfigurationError {
            #expect(error.description.contains("listing-ledger policy schedule"), "\(error)")
        }
        let agreeing = try await TestRuntime.open(url, settings: ["listing.price": "150.00", "listing.grace_days": "30"], now: clock.function)
        #expect(agreeing.profiles.policy.tariff.entry(on: LocalDate(iso: "2027-01-12") ?? .first).price == .euros(minorUnits: 15_000))
        await agreeing.close()
    }

    /// Each change keeps a whole copy of the tariff from its day, so a change dated before one already scheduled
    /// would last only until that one puts its own values back. It is refused, naming what would be put back, and
    /// nothing is recorded; once the later change carries the new value too, it is taken.
    @Test(arguments: Backend.allCases)
    func aChangeThatALaterOneWouldUndoIsRefused(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            var staff = bearer(try await runtime.apiKeys.create(name: "Anna", role: .staff).key)
            staff[.contentType] = "application/json"
            func schedule(_ body: [String: Any]) async throws -> TestResponse {
                try await client.execute(uri: "/api/v1/policy/changes", method: .post, headers: staff, body: try json(body.merging(["reason": "board"]) { given, _ in given }))
            }
            #expect(try await schedule(["effectiveFrom": "2099-03-01", "graceDays": 30]).status == .created)
            let changes = try await runtime.profiles.policyBook.changes().count

            let undone = try await schedule(["effectiveFrom": "2099-01-01", "price": "150.00"])
            #expect(undone.status == .unprocessableContent && undone.text.contains("from 2099-03-01 the price is 125.00 EUR"), "\(undone.text)")
            #expect(try await runtime.profiles.policyBook.changes().count == changes, "nothing recorded")
            // A value the later change keeps already is no conflict.
            #expect(try await schedule(["effectiveFrom": "2099-02-01", "graceDays": 30, "periodMonths": 12]).status == .created)

            // Both later changes now keep 125.00 from their days: each is scheduled again with the new price.
            let stillUndone = try await schedule(["effectiveFrom": "2099-01-01", "price": "150.00"])
            #expect(stillUndone.text.contains("from 2099-02-01 the price is 125.00 EUR; from 2099-03-01 the price is 125.00 EUR"), "\(stillUndone.text)")
            for day in ["2099-03-01", "2099-02-01"] {
                #expect(try await schedule(["effectiveFrom": day, "price": "150.00", "graceDays": 30]).status == .created)
            }
            #expect(try await schedule(["effectiveFrom": "2099-01-01", "price": "150.00"]).status == .created)
            let tariff = runtime.profiles.policyBook.current.tariff
            #expect(tariff.entry(on: LocalDate(iso: "2099-06-01")!).price == .euros(minorUnits: 15_000))
            #expect(tariff.entry(on: LocalDate(iso: "2099-01-15")!).price == .euros(minorUnits: 15_000))
            // A later change that set a price of its own is a decision of its own: an earlier one is taken.
            #expect(try await schedule(["effectiveFrom": "2098-06-01", "price": "140.00"]).status == .created)

            // Two changes filled in and checked against the same policy: the second is refused (409), since it
            // was checked without the first, and nothing of it is recorded.
            let book = runtime.profiles.policyBook
            let one = book.request(effectiveFrom: LocalDate(iso: "2099-04-01")!, price: nil, monthsPerPeriod: nil, graceDays: 20, reason: "one", allowPast: false)
            let other = book.request(effectiveFrom: LocalDate(iso: "2199-01-01")!, price: nil, monthsPerPeriod: 6, graceDays: nil, reason: "other", allowPast: false)
            _ = try await book.schedule(one, metadata: .init(actor: "test"), now: runtime.now())
            let recorded = try await book.changes().count
            await #expect(throws: EventStoreError.self) { try await book.schedule(other, metadata: .init(actor: "test"), now: runtime.now()) }
            #expect(try await book.changes().count == recorded)
        }
    }

    /// The policy stream holds a bounded number of changes. The last one it may hold is taken; the next is refused
    /// (422, saying why) and nothing is recorded, so the stream never grows past what the service reads whole.
    @Test(arguments: Backend.allCases)
    func aPolicyKeepsABoundedNumberOfChanges(backend: Backend) async throws {
        try await withLiveServer(backend) { client, runtime in
            var staff = bearer(try await runtime.apiKeys.create(name: "Anna", role: .staff).key)
            staff[.contentType] = "application/json"
            let book = runtime.profiles.policyBook
            // Fill the stream to one short of its bound with changes a month apart from 2100 on, which keep the grace the
            // test sets (so none of them would put back what it sets).
            let held = try await book.changes().count
            var fillers: [NewEvent] = []
            for index in 0..<(PolicyDecider.changesMax - 1 - held) {
                let change = ListingPolicyChanged(
                    effectiveFrom: LocalDate(year: 2100 + index / 12, month: 1 + index % 12, day: 1)!, price: .euros(minorUnits: 12_500),
                    monthsPerPeriod: 12, graceDays: 21, reason: "filler", retroactive: false, occurredAt: runtime.now()
                )
                fillers.append(NewEvent(id: .timeOrdered(), type: ListingPolicyChanged.typeName, schemaVersion: ListingPolicyChanged.schemaVersion, data: try change.encodedData(), metadata: .init(actor: "test")))
            }
            _ = try await runtime.store.append(fillers, to: PolicyBook.streamName, expecting: .exact(Int64(held)))
            try await book.reload()
            func schedule(_ day: String) async throws -> TestResponse {
                try await client.execute(uri: "/api/v1/policy/changes", method: .post, headers: staff, body: try json(["effectiveFrom": day, "graceDays": 21, "reason": "board"]))
            }
            #expect(try await schedule("2099-01-01").status == .created)
            #expect(try await book.changes().count == PolicyDecider.changesMax)

            let refused = try await schedule("2099-02-01")
            #expect(refused.status == .unprocessableContent && refused.text.contains("already holds \(PolicyDecider.changesMax) changes"), "\(refused.text)")
            #expect(try await book.changes().count == PolicyDecider.changesMax, "nothing recorded")
            try await book.reload()
            #expect(book.current.tariff.entry(on: LocalDate(iso: "2099-01-15")!).graceDays == 21)
        }
    }

    /// A grace period changed from a day already past brings a listing that expired back into grace. Nothing
    /// about the profile changes, yet its listing row and the directory follow: the change makes every row
    /// due, and the sweeper evaluates each again under the policy as recorded, here on another instance than
    /// the one the change was made on (which read the policy before the change). A second profile changes in
    /// the same batch as the policy: its row is evaluated under the policy the log records, not the one the
    /// instance last read.
    @Test(arguments: Backend.allCases)
    func aGraceChangeFromADayAlreadyPastReachesTheListingRowsAndTheDirectory(backend: Backend) async throws {
        let clock = TestClock(noon("2026-11-01"))
        let url = try await TestDatabase.freshURL(backend)
        let runtime = try await TestRuntime.open(url, now: clock.function)
        var other: LedgerRuntime?
        do {
            let id = try ProfileID("cy-3")
            for profile in [id, try ProfileID("dd-4")] {
                _ = try await runtime.profiles.handle(.register(kind: .mediator, displayName: profile.rawValue, contactEmail: "\(profile)@example.org"), profileID: profile, metadata: .init(actor: "test"))
                _ = try await runtime.profiles.handle(.changeCertification(.grant, reason: "assessed"), profileID: profile, metadata: .init(actor: "test"))
                // Paid on 2025-12-01: paid through 2026-11-30, in grace (14 days) until 2026-12-14.
                _ = try await runtime.profiles.handle(
                    .allocate(paymentID: PaymentID(rawValue: "offline-\(profile)"), amount: .euros(minorUnits: 12_500), effectiveDate: LocalDate(iso: "2025-12-01") ?? .first, acceptShortfall: false),
                    profileID: profile, metadata: .init(actor: "test")
                )
            }
            try await catchUp(runtime.listingProjection, of: runtime)
            clock.set(noon("2026-12-15"))
            #expect(try await runtime.sweeper.sweepDue() == 2)
            let instance = try await TestRuntime.open(url, now: clock.function)
            other = instance
            func row(_ profile: String = "cy-3") async throws -> ListingRow? {
                try await instance.listings.list(status: nil, expiringWithinDays: nil, limit: 10, offset: 0).first { $0.profileId == profile }
            }
            let expired = try await row()
            #expect(expired?.status == "expired" && expired?.visible == false, "\(String(describing: expired))")

            let book = runtime.profiles.policyBook
            let request = book.request(
                effectiveFrom: LocalDate(iso: "2026-12-01") ?? .first, price: nil, monthsPerPeriod: nil, graceDays: 30, reason: "board decision", allowPast: true
            )
            _ = try await book.schedule(request, metadata: .init(actor: "staff:test"), now: clock.function())
            // dd-4 changes after the policy, before instance B takes either in: a waiver for next summer.
            _ = try await runtime.profiles.handle(
                .grantWaiver(waiverID: "w-summer", from: LocalDate(iso: "2027-06-01") ?? .first, through: LocalDate(iso: "2027-08-31") ?? .first, reason: "sabbatical"),
                profileID: try ProfileID("dd-4"), metadata: .init(actor: "test")
            )
            try await catchUp(instance.listingProjection, of: instance)
            #expect(try await instance.sweeper.sweepDue() == 1)
            let inGrace = try await row()
            #expect(inGrace?.status == "grace" && inGrace?.visible == true, "\(String(describing: inGrace))")
            let changedBeside = try await row("dd-4")
            #expect(changedBeside?.status == "grace" && changedBeside?.visible == true, "\(String(describing: changedBeside))")
            // What the directory is sent: the profile's stream records it hidden, then visible again.
            let published = try await runtime.store.readStream(id.streamName, fromVersion: 1, limit: 100).compactMap { recorded in
                if case .visibilityChanged(let change)? = try ProfileEvent.decode(typeName: recorded.type, data: recorded.data) { change } else { nil }
            }
            #expect(published.map(\.visible) == [true, false, true], "\(published)")
            #expect(published.last?.status == .grace)
        } catch {
            await other?.close()
            await runtime.close()
            throw error
        }
        await other?.close()
        await runtime.close()
    }

    /// A policy change makes every row due; a profile it does not move gets no event, and its row is evaluated
    /// again and scheduled anew, whichever pass of the sweeper it falls in.
    @Test(arguments: Backend.allCases)
    func aPolicyChangeReschedulesEveryRowItDoesNotMove(backend: Backend) async throws {
        let clock = TestClock(noon("2026-11-01"))
        let runtime = try await TestRuntime.open(try await TestDatabase.freshURL(backend), now: clock.function)
        do {
            // More profiles than the sweeper takes in one pass, each paid this year: active, next change a reminder.
            let count = 130
            let ids = try (0..<count).map { try ProfileID("pc-\($0)") }
            for id in ids {
                _ = try await runtime.profiles.handle(.register(kind: .mediator, displayName: id.rawValue, contactEmail: "\(id)@example.org"), profileID: id, metadata: .init(actor: "test"))
                _ = try await runtime.profiles.handle(.changeCertification(.grant, reason: "assessed"), profileID: id, metadata: .init(actor: "test"))
                _ = try await runtime.profiles.handle(
                    .allocate(paymentID: PaymentID(rawValue: "offline-\(id)"), amount: .euros(minorUnits: 12_500), effectiveDate: LocalDate(iso: "2026-06-01") ?? .first, acceptShortfall: false),
                    profileID: id, metadata: .init(actor: "test")
                )
            }
            #expect(try await runtime.sweeper.sweepDue() == 0)
            try await catchUp(runtime.listingProjection, of: runtime)
            #expect(try await runtime.listings.due(at: clock.function(), limit: 1_000).isEmpty)
            let versions = try await runtime.listings.list(status: nil, expiringWithinDays: nil, limit: 500, offset: 0).map(\.version)

            let book = runtime.profiles.policyBook
            let request = book.request(
                effectiveFrom: LocalDate(iso: "2026-11-01") ?? .first, price: nil, monthsPerPeriod: nil, graceDays: 15, reason: "board decision", allowPast: false
            )
            _ = try await book.schedule(request, metadata: .init(actor: "staff:test"), now: clock.function())
            try await catchUp(runtime.listingProjection, of: runtime)
            #expect(try await runtime.listings.due(at: clock.function(), limit: 1_000).count == count)

            #expect(try await runtime.sweeper.sweepDue() == 0)
            #expect(try await runtime.listings.due(at: clock.function(), limit: 1_000).isEmpty)
            let rows = try await runtime.listings.list(status: nil, expiringWithinDays: nil, limit: 500, offset: 0)
            #expect(rows.count == count && rows.allSatisfy { $0.status == "active" && $0.visible })
            #expect(rows.map(\.version) == versions, "no profile got an event")
            #expect(try await runtime.listings.nextScheduledChange() ?? .distantPast > clock.function())
        } catch {
            await runtime.close()
            throw error
        }
        await runtime.close()
    }
}

/// Catches `projection` up with every committed event. On PostgreSQL the log is read only up to the oldest
/// transaction still open in the whole cluster, which may be another test's: a catch-up right after an append
/// could stop short of it.
private func catchUp(_ projection: any Projection, of runtime: LedgerRuntime) async throws {
    try await (runtime.store as? any EventStoreTestHooks)?.waitUntilAllCommittedEventsAreVisible()
    try await ProjectionRunner(store: runtime.store, projection: projection).catchUp()
}
