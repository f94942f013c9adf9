import EventStore
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

/// Noon in Amsterdam on a date.
private func noon(_ date: String) -> Date {
    OrganisationCalendar.amsterdam.startOfDay(LocalDate(iso: date)!).addingTimeInterval(12 * 3600)
}

private func json(_ object: [String: Any]) -> ByteBuffer {
    ByteBuffer(bytes: try! JSONSerialization.data(withJSONObject: object))
}

/// Runs the real server with a hand-moved clock and a staff key.
private func withStaffServer(
    _ backend: Backend, clock: TestClock, backgroundWork: Bool = true,
    _ body: @Sendable (any TestClientProtocol, LedgerRuntime, HTTPFields) async throws -> Void
) async throws {
    let runtime = try await TestRuntime.make(backend, now: clock.function)
    let key = try await runtime.apiKeys.create(name: "Anna", role: .staff).key
    do {
        let test: @Sendable (any TestClientProtocol) async throws -> Void = { client in
            var headers = bearer(key)
            headers[.contentType] = "application/json"
            try await body(client, runtime, headers)
        }
        if backgroundWork {
            try await buildApplication(runtime: runtime).test(.live, test)
        } else {
            // Without the sweeper and the read models' runner in the background: the test alone decides when they run.
            try await Application(router: buildRouter(runtime: runtime), configuration: .init(address: .hostname("127.0.0.1", port: 0))).test(.live, test)
        }
        await runtime.close()
    } catch {
        await runtime.close()
        throw error
    }
}

/// Registers and certifies `id` through the API, then records its listing contribution paid on `date`.
private func listedThroughTheAPI(_ id: String, paidOn date: String, _ client: any TestClientProtocol, _ staff: HTTPFields) async throws {
    let registered = try await client.execute(uri: "/api/v1/profiles", method: .post, headers: staff, body: json([
        "profileId": id, "kind": "mediator", "displayName": id, "contactEmail": "\(id)@example.org",
    ]))
    #expect(registered.status == .created, "\(registered.text)")
    _ = try await client.execute(uri: "/api/v1/profiles/\(id)/certification", method: .post, headers: staff, body: json(["action": "grant", "reason": "ok"]))
    let paid = try await client.execute(uri: "/api/v1/profiles/\(id)/offline-payments", method: .post, headers: staff, body: json([
        "amount": "125.00", "date": date, "purpose": "listing",
    ]))
    #expect(paid.status == .created, "\(paid.text)")
}

@Suite("Profiles through the HTTP API")
struct ProfileLifecycleTests {
    @Test(arguments: Backend.allCases)
    func registerCertifyPayThenTimeRunsOutThroughGraceToHidden(backend: Backend) async throws {
        let clock = TestClock(noon("2026-01-10"))
        try await withStaffServer(backend, clock: clock) { client, runtime, staff in
            let registered = try await client.execute(uri: "/api/v1/profiles", method: .post, headers: staff, body: json([
                "profileId": "ada-1", "kind": "mediator", "displayName": "Ada Lovelace", "contactEmail": "ada@example.org",
            ]))
            #expect(registered.status == .created)
            #expect((registered.json["listing"] as? [String: Any])?["status"] as? String == "pending")

            let certified = try await client.execute(uri: "/api/v1/profiles/ada-1/certification", method: .post, headers: staff, body: json([
                "action": "grant", "reason": "passed assessment",
            ]))
            #expect(certified.status == .ok)

            clock.set(noon("2026-01-15"))
            let paid = try await client.execute(uri: "/api/v1/profiles/ada-1/offline-payments", method: .post, headers: staff, body: json([
                "amount": "125,00", "date": "2026-01-15", "purpose": "listing", "note": "cash at the annual meeting",
            ]))
            #expect(paid.status == .created)
            let listing = try #require(paid.json["listing"] as? [String: Any])
            #expect(listing["status"] as? String == "active" && listing["visible"] as? Bool == true)
            #expect(listing["paidThrough"] as? String == "2027-01-14")
            #expect((paid.json["appended"] as? [String]) == ["ContributionAllocated", "ListingVisibilityChanged"])

            // The read model follows the log (on PostgreSQL, once no other transaction in the cluster hides
            // the new events from readers).
            try await (runtime.store as? any EventStoreTestHooks)?.waitUntilAllCommittedEventsAreVisible()
            try await ProjectionRunner(store: runtime.store, projection: runtime.listingProjection).catchUp()
            let active = try await client.execute(uri: "/api/v1/listings?status=active", method: .get, headers: staff)
            #expect(active.text.contains("ada-1"))

            // Time passes: a renewal reminder, then into grace, then past it. The sweeper records each change.
            clock.set(noon("2026-12-15"))
            try await runtime.sweeper.sweepDue()
            clock.set(noon("2027-01-16"))
            try await runtime.sweeper.sweepDue()
            var now = try await client.execute(uri: "/api/v1/profiles/ada-1/listing", method: .get, headers: staff)
            #expect(now.json["status"] as? String == "grace" && now.json["visible"] as? Bool == true)

            clock.set(noon("2027-01-29"))
            try await runtime.sweeper.sweepDue()
            now = try await client.execute(uri: "/api/v1/profiles/ada-1/listing", method: .get, headers: staff)
            #expect(now.json["status"] as? String == "expired" && now.json["visible"] as? Bool == false)
            #expect(now.json["reason"] as? String == "expired")
            #expect((now.json["published"] as? [String: Any])?["visible"] as? Bool == false)

            let timeline = try await client.execute(uri: "/api/v1/profiles/ada-1/timeline", method: .get, headers: staff)
            let entries = try #require(try JSONSerialization.jsonObject(with: Data(buffer: timeline.body)) as? [[String: Any]])
            let summaries = entries.compactMap { $0["summary"] as? String }
            #expect(entries.compactMap { $0["type"] as? String } == [
                "ProfileRegistered", "CertificationChanged", "ContributionAllocated", "ListingVisibilityChanged",
                "RenewalReminderDue", "ListingVisibilityChanged", "ListingVisibilityChanged",
            ])
            #expect(summaries.contains("Listed (grace), paid through 2027-01-14"))
            #expect(summaries.contains("Hidden (expired), paid through 2027-01-14"))
            #expect(entries.first?["actor"] as? String == "staff:Anna")
            #expect(entries.last?["actor"] as? String == "system:sweeper")

            // The visibility changes are events in the profile's stream.
            let stream = try await runtime.store.readStream("profile-ada-1", fromVersion: 1, limit: 100)
            #expect(stream.filter { $0.type == "ListingVisibilityChanged" }.count == 3)
        }
    }

    /// The service stopped in a listing's grace and started again after the grace ended, its read models rebuilt
    /// before it started: the rebuilt row reads "expired" with every change of its own already past, and the directory,
    /// last told "grace, visible", must still hear that the listing is hidden.
    @Test(arguments: Backend.allCases)
    func aListingThatRanOutWhileTheServiceWasStoppedIsPublishedAfterARebuild(backend: Backend) async throws {
        let clock = TestClock(noon("2026-01-10"))
        try await withStaffServer(backend, clock: clock, backgroundWork: false) { client, runtime, staff in
            clock.set(noon("2026-01-15"))
            try await listedThroughTheAPI("rb-1", paidOn: "2026-01-15", client, staff)
            try await (runtime.store as? any EventStoreTestHooks)?.waitUntilAllCommittedEventsAreVisible()
            try await ProjectionRunner(store: runtime.store, projection: runtime.listingProjection).catchUp()
            clock.set(noon("2027-01-16"))
            #expect(try await runtime.sweeper.sweepDue() == 1)
            func published() async throws -> [String: Any]? {
                try await client.execute(uri: "/api/v1/profiles/rb-1/listing", method: .get, headers: staff).json["published"] as? [String: Any]
            }
            #expect(try await published()?["status"] as? String == "grace")

            clock.set(noon("2027-02-01"))
            try await (runtime.store as? any EventStoreTestHooks)?.waitUntilAllCommittedEventsAreVisible()
            try await ProjectionRunner.rebuild(runtime.projectionRunners.map(\.projection), store: runtime.store)
            #expect(try await runtime.sweeper.sweepDue() == 1, "the rebuilt row must fall due for the change the directory was not told")
            let told = try await published()
            #expect(told?["visible"] as? Bool == false && told?["status"] as? String == "expired", "\(told ?? [:])")
            #expect(try await runtime.sweeper.sweepDue() == 0, "once told, the row waits for its next change")
            let changes = try await runtime.store.readStream("profile-rb-1", fromVersion: 1, limit: 100).filter { $0.type == "ListingVisibilityChanged" }
            #expect(changes.count == 3, "listed, grace, hidden: each once")
        }
    }

    /// A row whose kept state is behind its stream (on PostgreSQL the sweeper's own event can stay invisible to the
    /// listing's reader while an older transaction runs) disagrees with what its stream says was published, but
    /// the sweep finds nothing to record: refreshed after that sweep, the row keeps its own next change instead of
    /// falling due again, so the sweeper does not sweep it a hundred times a second until the reader catches up.
    @Test(arguments: Backend.allCases)
    func aRowBehindItsStreamIsNotSweptAgainAndAgain(backend: Backend) async throws {
        let clock = TestClock(noon("2026-01-10"))
        try await withStaffServer(backend, clock: clock, backgroundWork: false) { client, runtime, staff in
            try await listedThroughTheAPI("lag-1", paidOn: "2026-01-10", client, staff)
            try await (runtime.store as? any EventStoreTestHooks)?.waitUntilAllCommittedEventsAreVisible()
            try await ProjectionRunner(store: runtime.store, projection: runtime.listingProjection).catchUp()
            // Past the grace, the change is recorded in the stream, and the listing's read model has not read it.
            clock.set(noon("2027-02-01"))
            let id = try ProfileID("lag-1")
            let swept = try await runtime.profiles.handle(.sweep, profileID: id, metadata: .init(actor: "system:sweeper"))
            #expect(swept.appended.contains { if case .visibilityChanged = $0 { true } else { false } })
            try await runtime.store.withReadModelTransaction { connection in try await runtime.listingProjection.refresh([id], connection) }
            #expect(try await runtime.sweeper.queries.due(at: clock.now, limit: 10).isEmpty, "refreshed after a sweep that found nothing, the row is not due again")
        }
    }

    /// Part of a payment moved to another profile takes the first profile's allocation back and makes it anew
    /// for the rest; asked about a day before the move, the first profile had the whole payment then, not the
    /// whole payment and the rest on top.
    @Test(arguments: Backend.allCases)
    func aPaymentPartlyMovedLaterCountsOnceForTheDaysBeforeTheMove(backend: Backend) async throws {
        let clock = TestClock(noon("2026-01-10"))
        try await withStaffServer(backend, clock: clock) { client, runtime, staff in
            for id in ["pm-1", "pm-2"] {
                _ = try await client.execute(uri: "/api/v1/profiles", method: .post, headers: staff, body: json([
                    "profileId": id, "kind": "mediator", "displayName": id, "contactEmail": "\(id)@example.org",
                ]))
                _ = try await client.execute(uri: "/api/v1/profiles/\(id)/certification", method: .post, headers: staff, body: json(["action": "grant", "reason": "ok"]))
            }
            clock.set(noon("2026-01-15"))
            let paid = try await client.execute(uri: "/api/v1/profiles/pm-1/offline-payments", method: .post, headers: staff, body: json([
                "amount": "250.00", "date": "2026-01-15", "purpose": "listing",
            ]))
            let paymentID = try #require(paid.headers[.location]?.split(separator: "/").last.map(String.init))
            func paidThrough(_ id: String, at day: String) async throws -> String? {
                try await client.execute(uri: "/api/v1/profiles/\(id)/listing?at=\(day)", method: .get, headers: staff).json["paidThrough"] as? String
            }
            #expect(try await paidThrough("pm-1", at: "2026-06-01") == "2028-01-14")

            clock.set(noon("2026-09-01"))
            let moved = try await client.execute(uri: "/api/v1/payments/\(paymentID)/reassign", method: .post, headers: staff, body: json([
                "fromProfileId": "pm-1", "toProfileId": "pm-2", "amount": "125.00", "reason": "one payment for both",
            ]))
            #expect(moved.status == .ok, "\(moved.text)")
            #expect(try await paidThrough("pm-1", at: "2026-06-01") == "2028-01-14", "before the move pm-1 had the 250.00, once")
            #expect(try await paidThrough("pm-1", at: "2026-10-01") == "2027-01-14", "after it, the 125.00 left")
            #expect(try await paidThrough("pm-2", at: "2026-10-01") == "2027-01-14")
        }
    }

    @Test(arguments: Backend.allCases)
    func asOfAnswersWasItListedOnADateAndWhy(backend: Backend) async throws {
        let clock = TestClock(noon("2026-01-01"))
        try await withStaffServer(backend, clock: clock) { client, runtime, staff in
            _ = try await client.execute(uri: "/api/v1/profiles", method: .post, headers: staff, body: json([
                "profileId": "bo-2", "kind": "advocate", "displayName": "Bo", "contactEmail": "bo@example.org",
            ]))
            _ = try await client.execute(uri: "/api/v1/profiles/bo-2/certification", method: .post, headers: staff, body: json(["action": "grant", "reason": "ok"]))
            clock.set(noon("2026-02-01"))
            let paid = try await client.execute(uri: "/api/v1/profiles/bo-2/offline-payments", method: .post, headers: staff, body: json([
                "amount": "125.00", "date": "2026-02-01", "purpose": "listing",
            ]))
            let paymentID = try #require(paid.headers[.location]?.split(separator: "/").last.map(String.init))
            clock.set(noon("2026-05-01"))
            // A correction is the ledger's own (void, move, reopen); by hand it is refused and writes nothing.
            let versionBefore = try await runtime.profiles.load(try ProfileID("bo-2")).state.version
            let correction = try await client.execute(uri: "/api/v1/profiles/bo-2/allocations/\(paymentID)/reverse", method: .post, headers: staff, body: json([
                "kind": "correction", "reason": "wrong profile",
            ]))
            #expect(correction.status == .unprocessableContent, "\(correction.text)")
            #expect(correction.text.contains("cannot be made by hand"))
            #expect(try await runtime.profiles.load(try ProfileID("bo-2")).state.version == versionBefore)
            let reversed = try await client.execute(uri: "/api/v1/profiles/bo-2/allocations/\(paymentID)/reverse", method: .post, headers: staff, body: json([
                "kind": "refund", "reason": "paid twice by mistake",
            ]))
            #expect(reversed.status == .ok)
            clock.set(noon("2026-06-01"))
            _ = try await client.execute(uri: "/api/v1/profiles/bo-2/waivers", method: .post, headers: staff, body: json([
                "waiverId": "hardship-2026", "from": "2026-06-01", "through": "2026-08-31", "reason": "hardship",
            ]))

            let before = try await client.execute(uri: "/api/v1/profiles/bo-2/listing?at=2026-01-20", method: .get, headers: staff)
            #expect(before.json["visible"] as? Bool == false && before.json["reason"] as? String == "never_paid")

            let paidThen = try await client.execute(uri: "/api/v1/profiles/bo-2/listing?at=2026-03-15", method: .get, headers: staff)
            #expect(paidThen.json["visible"] as? Bool == true && paidThen.json["status"] as? String == "active")
            #expect(((paidThen.json["basis"] as? [String: Any])?["paymentIDs"] as? [String]) == [paymentID])
            #expect((paidThen.json["published"] as? [String: Any])?["visible"] as? Bool == true)

            let refunded = try await client.execute(uri: "/api/v1/profiles/bo-2/listing?at=2026-05-15", method: .get, headers: staff)
            #expect(refunded.json["visible"] as? Bool == false && refunded.json["reason"] as? String == "refunded")

            let waived = try await client.execute(uri: "/api/v1/profiles/bo-2/listing?at=2026-07-01T10:00:00Z", method: .get, headers: staff)
            #expect(waived.json["status"] as? String == "waived")
            #expect((waived.json["basis"] as? [String: Any])?["waiverID"] as? String == "hardship-2026")

            let after = try await client.execute(uri: "/api/v1/profiles/bo-2/listing?at=2026-09-01", method: .get, headers: staff)
            #expect(after.json["reason"] as? String == "waiver_ended")
        }
    }

    @Test(arguments: Backend.allCases)
    func badInputIsRefusedWithAProblemAndAppendsNothing(backend: Backend) async throws {
        let clock = TestClock(noon("2026-01-01"))
        try await withStaffServer(backend, clock: clock) { client, runtime, staff in
            _ = try await client.execute(uri: "/api/v1/profiles", method: .post, headers: staff, body: json([
                "profileId": "cy-3", "kind": "mediator", "displayName": "Cy", "contactEmail": "cy@example.org",
            ]))
            let store = runtime.store as! any EventStoreTestHooks
            try await store.waitUntilAllCommittedEventsAreVisible()
            let head = try await runtime.store.headCursor()

            let cases: [(String, HTTPRequest.Method, [String: Any], HTTPResponse.Status)] = [
                ("/api/v1/profiles/nobody/certification", .post, ["action": "grant", "reason": "x"], .notFound),
                ("/api/v1/profiles/nobody/listing", .get, [:], .notFound),
                ("/api/v1/profiles/cy-3/listing?at=31-12-2026", .get, [:], .badRequest),
                ("/api/v1/profiles/cy-3/waivers", .post, ["from": "2026-03-01", "through": "2026-02-01", "reason": "x"], .unprocessableContent),
                ("/api/v1/profiles/cy-3/waivers", .post, ["from": "2026-13-01", "through": "2026-02-01", "reason": "x"], .badRequest),
                ("/api/v1/profiles", .post, ["profileId": "cy-3", "kind": "mediator", "displayName": "Cy", "contactEmail": "cy@example.org"], .conflict),
                ("/api/v1/profiles", .post, ["profileId": "bad id!", "kind": "mediator", "displayName": "X", "contactEmail": "x@example.org"], .unprocessableContent),
                ("/api/v1/profiles", .post, ["profileId": "dd-4", "kind": "wizard", "displayName": "X", "contactEmail": "x@example.org"], .badRequest),
                ("/api/v1/profiles/cy-3/certification", .post, ["action": "suspend", "reason": "x"], .conflict),
                ("/api/v1/profiles/cy-3/offline-payments", .post, ["amount": "12.345", "date": "2026-01-01", "purpose": "listing"], .unprocessableContent),
                ("/api/v1/profiles/cy-3/offline-payments", .post, ["amount": "125.00", "currency": "USD", "date": "2026-01-01", "purpose": "listing"], .unprocessableContent),
                ("/api/v1/listings?status=sleeping", .get, [:], .badRequest),
            ]
            for (uri, method, body, expected) in cases {
                let response = try await client.execute(uri: uri, method: method, headers: staff, body: method == .post ? json(body) : nil)
                #expect(response.status == expected, "\(method) \(uri): \(response.text)")
                #expect(response.headers[.contentType] == "application/problem+json", "\(uri)")
            }
            let notJSON = try await client.execute(uri: "/api/v1/profiles", method: .post, headers: staff, body: ByteBuffer(string: "{not json"))
            #expect(notJSON.status == .badRequest)

            try await store.waitUntilAllCommittedEventsAreVisible()
            #expect(try await runtime.store.headCursor() == head, "a refused request appended something")
        }
    }

    @Test(arguments: Backend.allCases)
    func anIdempotencyKeyMakesARetryANoOp(backend: Backend) async throws {
        let clock = TestClock(noon("2026-01-01"))
        try await withStaffServer(backend, clock: clock) { client, runtime, staff in
            var headers = staff
            headers[HTTPField.Name("Idempotency-Key")!] = "register-dee-5"
            let body = json(["profileId": "dee-5", "kind": "mediator", "displayName": "Dee", "contactEmail": "dee@example.org"])
            let first = try await client.execute(uri: "/api/v1/profiles", method: .post, headers: headers, body: body)
            let second = try await client.execute(uri: "/api/v1/profiles", method: .post, headers: headers, body: body)
            // The retry gets the first outcome back, word for word, marked as a replay.
            #expect(first.status == .created)
            #expect(second.status == .created && second.text == first.text)
            #expect(second.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
            _ = try await client.execute(uri: "/api/v1/profiles/dee-5/certification", method: .post, headers: staff, body: json(["action": "grant", "reason": "ok"]))
            headers[HTTPField.Name("Idempotency-Key")!] = "payment-dee-5"
            let payment = json(["amount": "125.00", "date": "2026-01-01", "purpose": "listing"])
            let paid = try await client.execute(uri: "/api/v1/profiles/dee-5/offline-payments", method: .post, headers: headers, body: payment)
            let again = try await client.execute(uri: "/api/v1/profiles/dee-5/offline-payments", method: .post, headers: headers, body: payment)
            #expect(paid.status == .created && again.status == .created && again.text == paid.text)
            #expect(paid.headers[.location] == again.headers[.location])
            let stream = try await runtime.store.readStream("profile-dee-5", fromVersion: 1, limit: 100)
            #expect(stream.map(\.type) == ["ProfileRegistered", "CertificationChanged", "ContributionAllocated", "ListingVisibilityChanged"])
        }
    }
}

import NIOFoundationCompat
