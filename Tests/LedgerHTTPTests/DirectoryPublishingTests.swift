import AsyncHTTPClient
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
import NIOHTTP1
import Synchronization
import TestSupport
import Testing

/// Noon in Amsterdam on a date.
private func noon(_ date: String) -> Date {
    OrganisationCalendar.amsterdam.startOfDay(LocalDate(iso: date)!).addingTimeInterval(12 * 3600)
}

/// The service with a simulated clock, a directory receiver on loopback registered as an endpoint, and keys.
struct DirectoryWorld: Sendable {
    let client: any TestClientProtocol
    let runtime: LedgerRuntime
    let receiver: DirectoryReceiver
    let clock: TestClock
    let staff: HTTPFields
    let directory: HTTPFields
    let endpointID: String
    let secret: String

    static func run(_ backend: Backend, settings: [String: String] = [:], _ body: @Sendable (DirectoryWorld) async throws -> Void) async throws {
        let clock = TestClock(noon("2026-03-02"))
        let receiver = try await DirectoryReceiver.start(now: clock.function)
        let runtime = try await TestRuntime.make(backend, settings: settings, now: clock.function)
        do {
            let staffKey = try await runtime.apiKeys.create(name: "Anna", role: .staff).key
            let directoryKey = try await runtime.apiKeys.create(name: "Find a Mediator", role: .directory).key
            // No background services: the test decides when the outbox is read and deliveries are sent, so no
            // background attempt races its assertions.
            let application = Application(
                router: buildRouter(runtime: runtime), configuration: .init(address: .hostname("127.0.0.1", port: 0))
            )
            try await application.test(.live) { client in
                var staff = bearer(staffKey)
                staff[.contentType] = "application/json"
                let added = try await client.execute(
                    uri: "/api/v1/directory/endpoints", method: .post, headers: staff,
                    body: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: ["url": receiver.url]))
                )
                #expect(added.status == .created, "\(added.text)")
                let secret = try #require(added.json["secret"] as? String)
                let endpointID = try #require((added.json["endpoint"] as? [String: Any])?["endpointId"] as? String)
                receiver.trust(secret: secret)
                try await body(DirectoryWorld(
                    client: client, runtime: runtime, receiver: receiver, clock: clock, staff: staff, directory: bearer(directoryKey),
                    endpointID: endpointID, secret: secret
                ))
            }
        } catch {
            await runtime.close()
            await receiver.stop()
            throw error
        }
        await runtime.close()
        await receiver.stop()
    }

    func post(_ uri: String, _ object: [String: Any] = [:]) async throws -> TestResponse {
        try await client.execute(uri: uri, method: .post, headers: staff, body: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: object)))
    }

    /// A certified profile with a listing payment: visible.
    func listedProfile(_ id: String) async throws {
        #expect(try await post("/api/v1/profiles", ["profileId": id, "kind": "mediator", "displayName": id, "contactEmail": "\(id)@example.org"]).status == .created)
        #expect(try await post("/api/v1/profiles/\(id)/certification", ["action": "grant", "reason": "assessed"]).status == .ok)
        let paid = try await post("/api/v1/profiles/\(id)/offline-payments", ["amount": "125.00", "date": "2026-03-02", "purpose": "listing", "note": "cash"])
        #expect(paid.status == .created)
    }

    /// Queues what the log holds and sends what is due now.
    func publish() async throws {
        try await (runtime.store as? any EventStoreTestHooks)?.waitUntilAllCommittedEventsAreVisible()
        try await runtime.directoryPublisher.outbox.catchUp()
        try await runtime.directoryPublisher.deliverDue()
    }

    /// Moves the clock on and sends what fell due.
    func advance(seconds: Double) async throws {
        clock.set(clock.now.addingTimeInterval(seconds))
        try await publish()
    }

    /// The profile's visibility events as stored: (event id, version, visible).
    func visibilityEvents(_ profileID: String) async throws -> [(id: String, version: Int64, visible: Bool)] {
        try await runtime.store.readStream("profile-\(profileID)", fromVersion: 1, limit: 1_000).compactMap { recorded in
            guard case .visibilityChanged(let change)? = try ProfileEvent.decode(typeName: recorded.type, data: recorded.data) else { return nil }
            return (recorded.id.uuidString.lowercased(), recorded.version, change.visible)
        }
    }

    func received(_ profileID: String) -> [DirectoryReceiver.Received] {
        receiver.received.filter { $0.data["profileId"] as? String == profileID && $0.type == "listing.visibility_changed" }
    }

    /// A listed profile whose one visibility change is queued for delivery but not sent: its event id.
    func queuedListing(_ profileID: String) async throws -> String {
        try await listedProfile(profileID)
        try await (runtime.store as? any EventStoreTestHooks)?.waitUntilAllCommittedEventsAreVisible()
        try await runtime.directoryPublisher.outbox.catchUp()
        let stored = try await visibilityEvents(profileID)
        #expect(stored.count == 1)
        return try #require(stored.last).id
    }

    /// A listed profile whose first change the receiver refused (500) through the whole retry schedule: a dead
    /// letter. The receiver still answers 500.
    func listedProfileWithADeadLetter(_ id: String) async throws {
        receiver.answer(status: 500)
        try await listedProfile(id)
        try await publish()
        try await exhaustRetries()
    }

    /// Moves the clock through every retry of the default schedule: what still fails is a dead letter.
    func exhaustRetries() async throws {
        for pause in [5.0, 300, 1_800, 7_200, 18_000, 36_000, 36_000] {
            try await advance(seconds: pause + 1)
        }
    }

    /// The dead letters, as `GET /directory/deliveries?status=dead` lists them.
    func deadLetters() async throws -> [[String: Any]] {
        let dead = try await client.execute(uri: "/api/v1/directory/deliveries?status=dead", method: .get, headers: staff)
        return try #require(try JSONSerialization.jsonObject(with: Data(buffer: dead.body)) as? [[String: Any]])
    }

    /// Waits (up to 5 s) until the receiver holds `count` requests.
    func waitUntilHeld(_ count: Int) async throws {
        var waited = 0
        while receiver.requestsHeld < count, waited < 500 {
            try await Task.sleep(for: .milliseconds(10))
            waited += 1
        }
        #expect(receiver.requestsHeld == count, "requests in flight")
    }
}

@Suite("Publishing to the directory")
struct DirectoryPublishingTests {
    /// A stop (SIGTERM cancels the publisher) while a delivery waits for the directory's answer gives its claim
    /// back, with no attempt counted: the next pass, of a restarted or another instance, sends it at once instead
    /// of after the 60 s lease.
    @Test(arguments: Backend.allCases)
    func aDeliveryCutShortByAStopIsSentAgainAtOnce(backend: Backend) async throws {
        try await DirectoryWorld.run(backend) { world in
            let listed = try await world.queuedListing("ada-1")
            world.receiver.hold()
            let stopping = Task { try await world.runtime.directoryPublisher.deliverDue() }
            try await world.waitUntilHeld(1)
            stopping.cancel()
            #expect(try await stopping.value == 0, "a send cut short is not an attempt")
            world.receiver.release()
            let pending = try await world.runtime.directory.deliveries(status: "pending", endpointID: nil, limit: 10, offset: 0)
            #expect(pending.map(\.eventId) == [listed])
            #expect(pending.first?.attempts == 0)
            // The service's clock has not moved: only a claim given back lets the next pass send it.
            #expect(try await world.runtime.directoryPublisher.deliverDue() == 1)
            #expect(world.received("ada-1").map(\.webhookID).last == listed)
            #expect(try await world.runtime.directory.deliveries(status: "delivered", endpointID: nil, limit: 10, offset: 0).map(\.eventId) == [listed])
        }
    }

    /// A receiver that answers 200 and then stalls in its body holds an attempt no longer than the configured time
    /// limit, and its 200 counts: the delivery is delivered, and the deliveries after it still go out.
    @Test(arguments: Backend.allCases)
    func aReceiverThatStallsAfterItsHeadHoldsAnAttemptOnlyForTheTimeLimit(backend: Backend) async throws {
        try await DirectoryWorld.run(backend, settings: ["directory.timeout_seconds": "1"]) { world in
            let listed = try await world.queuedListing("ada-1")
            world.receiver.stall()
            let started = ContinuousClock.now
            let sending = Task { try await world.runtime.directoryPublisher.deliverDue() }
            // Should the attempt hang, the test ends it rather than waiting with it.
            let watchdog = Task {
                try await Task.sleep(for: .seconds(30))
                sending.cancel()
            }
            #expect(try await sending.value == 1)
            watchdog.cancel()
            #expect(ContinuousClock.now - started < .seconds(20), "the attempt took \(ContinuousClock.now - started)")
            #expect(try await world.runtime.directory.deliveries(status: "delivered", endpointID: nil, limit: 10, offset: 0).map(\.eventId) == [listed])
            // The next change is not held behind it.
            world.receiver.stall(false)
            #expect(try await world.post("/api/v1/profiles/ada-1/certification", ["action": "suspend", "reason": "complaint"]).status == .ok)
            try await world.publish()
            #expect(world.received("ada-1").map { $0.data["listed"] as? Bool } == [false])
        }
    }

    /// A stop (SIGTERM) while a receiver's 200 has arrived but the rest of its answer has not: the 200 counts, so the
    /// delivery is recorded as delivered and not sent again.
    @Test(arguments: Backend.allCases)
    func aStopAfterTheReceiversStatusLineKeepsItsAnswer(backend: Backend) async throws {
        try await DirectoryWorld.run(backend) { world in
            let listed = try await world.queuedListing("ada-1")
            world.receiver.stall()
            let stopping = Task { try await world.runtime.directoryPublisher.deliverDue() }
            var waited = 0
            while world.receiver.stalled < 1, waited < 500 {
                try await Task.sleep(for: .milliseconds(10))
                waited += 1
            }
            // The status line is on its way: give the client a moment to read it.
            try await Task.sleep(for: .milliseconds(300))
            stopping.cancel()
            #expect(try await stopping.value == 1, "the attempt was answered")
            #expect(try await world.runtime.directory.deliveries(status: "delivered", endpointID: nil, limit: 10, offset: 0).map(\.eventId) == [listed])
        }
    }

    /// A claim's deliveries to one endpoint are all sent at once: none waits, its time limit running, for a
    /// connection another delivery of the claim holds.
    @Test(arguments: Backend.allCases)
    func everyDeliveryOfAClaimIsSentAtOnce(backend: Backend) async throws {
        try await DirectoryWorld.run(backend) { world in
            for index in 1...12 { try await world.listedProfile("pool-\(index)") }
            try await (world.runtime.store as? any EventStoreTestHooks)?.waitUntilAllCommittedEventsAreVisible()
            try await world.runtime.directoryPublisher.outbox.catchUp()
            world.receiver.hold()
            let sending = Task { try await world.runtime.directoryPublisher.deliverDue() }
            try await world.waitUntilHeld(12)
            world.receiver.release()
            #expect(try await sending.value == 12)
        }
    }

    /// `Retry-After` postpones the next attempt on 429 and 503 only; with a 500 the schedule's pause stands.
    @Test
    func retryAfterIsHeededOnlyOn429And503() async throws {
        try await DirectoryWorld.run(.sqlite) { world in
            let listed = try await world.queuedListing("ra-1")
            world.receiver.answer(status: 500, retryAfter: "86400")
            try await world.runtime.directoryPublisher.deliverDue()
            let afterServerError = try #require(try await world.runtime.directory.deliveries(status: "pending", endpointID: nil, limit: 10, offset: 0).first)
            #expect(afterServerError.eventId == listed)
            #expect(afterServerError.nextAttemptAt == world.clock.now.addingTimeInterval(5), "the schedule's first pause, not a day")
            world.receiver.answer(status: 503, retryAfter: "3600")
            try await world.advance(seconds: 6)
            let afterUnavailable = try #require(try await world.runtime.directory.deliveries(status: "pending", endpointID: nil, limit: 10, offset: 0).first)
            #expect(afterUnavailable.nextAttemptAt == world.clock.now.addingTimeInterval(3600), "the directory's own pause")
        }
    }

    /// A claim holds a delivery for longer than its request may take: with a time limit of 100 s, for 230 s, so no
    /// other instance sends it while the first request may still be in flight.
    @Test(arguments: Backend.allCases)
    func aClaimOutlastsTheConfiguredTimeLimit(backend: Backend) async throws {
        try await DirectoryWorld.run(backend, settings: ["directory.timeout_seconds": "100"]) { world in
            _ = try await world.queuedListing("ada-1")
            world.receiver.hold()
            let claimedAt = world.clock.now
            let sending = Task { try await world.runtime.directoryPublisher.deliverDue() }
            try await world.waitUntilHeld(1)
            #expect(try await world.runtime.directoryPublisher.nextAttemptAt() == claimedAt.addingTimeInterval(230))
            world.receiver.release()
            #expect(try await sending.value == 1)
        }
    }

    /// A visibility change the outbox cannot read stops it, as it stops every other fold, instead of being skipped:
    /// skipped, the change would never reach the directory. Nothing after it is queued either; what was queued
    /// before it is still sent by the running publisher (before, every delivery waited for the repair).
    @Test(arguments: Backend.allCases)
    func aChangeTheOutboxCannotReadStopsItInsteadOfBeingSkipped(backend: Backend) async throws {
        try await DirectoryWorld.run(backend) { world in
            let listed = try await world.queuedListing("ada-1")
            let unreadable = NewEvent(
                id: .timeOrdered(), type: ListingVisibilityChanged.typeName, schemaVersion: ProfileEvent.schemaVersion,
                data: Data(#"{"visible":"perhaps"}"#.utf8), metadata: .init(actor: "test")
            )
            _ = try await world.runtime.store.append([unreadable], to: "profile-ada-1", expecting: .any)
            try await world.listedProfile("bo-2")
            try await (world.runtime.store as? any EventStoreTestHooks)?.waitUntilAllCommittedEventsAreVisible()
            await #expect(throws: (any Error).self) { try await world.runtime.directoryPublisher.outbox.catchUp() }
            let queued = try await world.runtime.directory.deliveries(status: "pending", endpointID: nil, limit: 10, offset: 0)
            #expect(queued.map(\.eventId) == [listed], "nothing after the unreadable change is queued")
            let running = Task { try await world.runtime.directoryPublisher.run() }
            for _ in 0..<100 where world.received("ada-1").isEmpty { try await Task.sleep(for: .milliseconds(100)) }
            running.cancel()
            _ = await running.result
            #expect(world.received("ada-1").map { $0.data["eventId"] as? String } == [listed], "what was queued before the unreadable change was not sent")
        }
    }

    /// A 410 answered to a claim that has run out (another pass claimed the delivery since) does not disable the
    /// endpoint: only the claim that stands speaks for it.
    @Test(arguments: Backend.allCases)
    func aGoneAnswerToAClaimThatRanOutLeavesTheEndpointEnabled(backend: Backend) async throws {
        try await DirectoryWorld.run(backend) { world in
            let listed = try await world.queuedListing("ada-1")
            world.receiver.hold()
            let stale = Task { try await world.runtime.directoryPublisher.deliverDue() }
            try await world.waitUntilHeld(1)
            world.clock.set(world.clock.now.addingTimeInterval(61))
            let current = Task { try await world.runtime.directoryPublisher.deliverDue() }
            try await world.waitUntilHeld(2)
            world.receiver.answer(status: 410)
            world.receiver.releaseOldest()
            _ = try await stale.value
            world.receiver.answer(status: 200)
            world.receiver.release()
            _ = try await current.value
            let endpoints = try await world.client.execute(uri: "/api/v1/directory/endpoints", method: .get, headers: world.staff)
            let endpoint = try #require((try JSONSerialization.jsonObject(with: Data(buffer: endpoints.body)) as? [[String: Any]])?.first)
            #expect(endpoint["enabled"] as? Bool == true, "\(endpoint)")
            #expect(world.received("ada-1").map(\.webhookID) == [listed])
        }
    }

    /// "While the first request is still being answered, the same request sent again answers `409
    /// idempotency-key-in-use` and does nothing": an endpoint added by several requests sent at once under one
    /// `Idempotency-Key` is added once, with one secret, and every answer that is not 409 is that one.
    @Test(arguments: Backend.allCases)
    func oneKeySentSeveralTimesAtOnceAddsOneEndpoint(backend: Backend) async throws {
        try await DirectoryWorld.run(backend) { world in
            let body = try JSONSerialization.data(withJSONObject: ["url": world.receiver.url + "/second"])
            // Each request on a connection of its own, so the server answers them at the same time.
            let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(connectionPool: .init(idleTimeout: .seconds(5), concurrentHTTP1ConnectionsPerHostSoftLimit: 8)))
            let answers: [(status: UInt, text: String)]
            do {
                answers = try await withThrowingTaskGroup(of: (status: UInt, text: String).self) { group in
                    for _ in 0..<8 {
                        group.addTask {
                            var request = HTTPClientRequest(url: "http://127.0.0.1:\(world.client.port ?? 0)/api/v1/directory/endpoints")
                            request.method = .POST
                            for field in world.staff { request.headers.add(name: field.name.canonicalName, value: field.value) }
                            request.headers.add(name: "Idempotency-Key", value: "add-endpoint-1")
                            request.body = .bytes(ByteBuffer(bytes: body))
                            let response = try await http.execute(request, timeout: .seconds(30))
                            let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
                            return (response.status.code, text)
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
            } catch {
                try await http.shutdown()
                throw error
            }
            try await http.shutdown()
            let created = answers.filter { $0.status == 201 }
            let busy = answers.filter { $0.status == 409 }
            #expect(created.count + busy.count == answers.count, "\(answers)")
            #expect(busy.allSatisfy { $0.text.contains("https://listing-ledger.example/problems/idempotency-key-in-use") }, "\(busy)")
            #expect(Set(created.map(\.text)).count == 1, "every answer is the first one's: \(created)")
            let endpoints = try await world.client.execute(uri: "/api/v1/directory/endpoints", method: .get, headers: world.staff)
            let list = try #require(try JSONSerialization.jsonObject(with: Data(buffer: endpoints.body)) as? [[String: Any]])
            #expect(list.count == 2, "the world's endpoint and one more: \(list.count)")
            // Sent again once answered, it gets the same answer.
            var headers = world.staff
            headers[HTTPField.Name("Idempotency-Key")!] = "add-endpoint-1"
            let again = try await world.client.execute(uri: "/api/v1/directory/endpoints", method: .post, headers: headers, body: ByteBuffer(bytes: body))
            #expect(again.status == .created && again.headers[HTTPField.Name("Idempotent-Replayed")!] == "true", "\(again.text)")
            #expect(created.isEmpty || again.text == created[0].text)
        }
    }

    /// An endpoint's secret is stored sealed; so is the kept answer that showed it, when the request carried an
    /// `Idempotency-Key` (adding the endpoint, rotating its secret): a copy of the database shows neither secret,
    /// and the same request sent again still gets the same answer, marked not to be stored.
    @Test(arguments: Backend.allCases)
    func aSecretShownOnceIsNotKeptInClearByItsIdempotencyKey(backend: Backend) async throws {
        try await DirectoryWorld.run(backend) { world in
            func post(_ uri: String, key: String, _ body: [String: Any]) async throws -> (status: HTTPResponse.Status, json: [String: Any], headers: HTTPFields) {
                var headers = world.staff
                headers[HTTPField.Name("Idempotency-Key")!] = key
                let answer = try await world.client.execute(
                    uri: uri, method: .post, headers: headers, body: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body))
                )
                return (answer.status, (try? JSONSerialization.jsonObject(with: Data(buffer: answer.body)) as? [String: Any]) ?? [:], answer.headers)
            }
            let added = try await post("/api/v1/directory/endpoints", key: "add-sealed", ["url": world.receiver.url + "/sealed"])
            let endpointID = try #require((added.json["endpoint"] as? [String: Any])?["endpointId"] as? String, "\(added.json)")
            let rotated = try await post("/api/v1/directory/endpoints/\(endpointID)/rotate-secret", key: "rotate-sealed", [:])
            var secrets: [String] = []
            for answer in [added, rotated] {
                #expect(answer.status.code < 300 && answer.headers[.cacheControl] == "no-store", "\(answer.json)")
                secrets.append(try #require(answer.json["secret"] as? String))
            }
            let kept = try await world.runtime.store.withReadModelConnection { connection in
                try await connection.query("SELECT body FROM idempotency_records WHERE idempotency_key IN ('add-sealed', 'rotate-sealed')", [])
                    .map { String(decoding: try $0.blob(0), as: UTF8.self) }
            }
            #expect(kept.count == 2)
            for body in kept {
                #expect(body.hasPrefix("sealed:v1:") && !secrets.contains { body.contains($0) } && !body.contains("whsec_"), "\(body)")
            }
            // Sent again: the first answers, whole, replayed.
            let addedAgain = try await post("/api/v1/directory/endpoints", key: "add-sealed", ["url": world.receiver.url + "/sealed"])
            let rotatedAgain = try await post("/api/v1/directory/endpoints/\(endpointID)/rotate-secret", key: "rotate-sealed", [:])
            #expect(addedAgain.json["secret"] as? String == secrets[0] && rotatedAgain.json["secret"] as? String == secrets[1])
            for answer in [addedAgain, rotatedAgain] {
                #expect(answer.headers[HTTPField.Name("Idempotent-Replayed")!] == "true" && answer.headers[.cacheControl] == "no-store")
            }
        }
    }

    /// A replay asks for sends that start after it: a delivery in flight when the replay is issued is sent again
    /// once its first request has been answered, and not before: no other pass (another instance's, say)
    /// sends it while the first request is open.
    @Test(arguments: Backend.allCases)
    func aReplayIssuedWhileADeliveryIsInFlightSendsItAgain(backend: Backend) async throws {
        try await DirectoryWorld.run(backend) { world in
            let listed = try await world.queuedListing("ada-1")
            world.receiver.hold()
            let sending = Task { try await world.runtime.directoryPublisher.deliverDue() }
            try await world.waitUntilHeld(1)
            let replayed = try await world.runtime.directory.replay(.since(Date(timeIntervalSince1970: 0)))
            #expect(replayed == 1)
            // A second publisher (an instance of its own on the same ledger) finds nothing it may send yet.
            let publisher = world.runtime.directoryPublisher
            let other = DirectoryPublisher(
                store: world.runtime.store, client: publisher.client, policy: publisher.policy, now: world.clock.function, logger: publisher.logger,
                sealer: world.runtime.configuration.secretSealer
            )
            #expect(try await other.deliverDue() == 0, "sent while the first request was still open")
            #expect(world.receiver.requestsHeld == 1)
            world.receiver.release()
            _ = try await sending.value
            try await world.publish()
            let received = world.received("ada-1").filter { $0.webhookID == listed }
            #expect(received.count == 2, "sent once before the replay and once after it")
            // Delivered now: nothing more is sent.
            try await world.advance(seconds: 3_600)
            #expect(world.received("ada-1").filter { $0.webhookID == listed }.count == 2)
        }
    }

    /// Two claims of the same delivery by the same instance at the same instant (a replay in between) are two
    /// claims: the outcome of the first never stands for the second.
    @Test(arguments: Backend.allCases)
    func theOutcomeOfAnEarlierClaimIsNotRecordedForALaterOne(backend: Backend) async throws {
        try await DirectoryWorld.run(backend) { world in
            let listed = try await world.queuedListing("ada-1")
            world.receiver.hold()
            // The first send is in flight when a replay makes the delivery due again; a second send starts once the
            // first one's lease has run out.
            let first = Task { try await world.runtime.directoryPublisher.deliverDue() }
            try await world.waitUntilHeld(1)
            _ = try await world.runtime.directory.replay(.since(Date(timeIntervalSince1970: 0)))
            // The first request's lease (60 s with the 15 s time limit) runs out while it is open: the replay kept
            // it until then. Still within the receiver's five minutes for a signature's timestamp.
            world.clock.set(world.clock.now.addingTimeInterval(120))
            let second = Task { try await world.runtime.directoryPublisher.deliverDue() }
            try await world.waitUntilHeld(2)
            // The first is answered 200, the second, the one that counts after the replay, 500.
            world.receiver.releaseOldest()
            _ = try await first.value
            world.receiver.answer(status: 500)
            world.receiver.release()
            _ = try await second.value
            // So the delivery is still owed: it is tried again later, and arrives.
            world.receiver.answer(status: 200)
            try await world.advance(seconds: 3_600)
            #expect(world.received("ada-1").filter { $0.webhookID == listed }.count == 2, "once before the replay, once after it")
        }
    }

    @Test(arguments: Backend.allCases)
    func aPaymentMakesAProfileVisibleAndTheDirectoryGetsOneSignedRequest(backend: Backend) async throws {
        try await DirectoryWorld.run(backend) { world in
            try await world.listedProfile("ada-1")
            try await world.publish()
            let stored = try await world.visibilityEvents("ada-1")
            let listed = try #require(stored.last)
            #expect(listed.visible)
            let received = world.received("ada-1")
            #expect(received.count == stored.count)
            let last = try #require(received.last)
            #expect(last.verified)
            #expect(last.webhookID == listed.id)
            #expect(last.data["listed"] as? Bool == true)
            #expect((last.data["profileVersion"] as? NSNumber)?.int64Value == listed.version)
            #expect(last.data["paidThrough"] as? String == "2027-03-01")
            #expect(last.signatures.count == 1)
            // Nothing is sent twice.
            try await world.advance(seconds: 3_600)
            #expect(world.received("ada-1").count == stored.count)
        }
    }

    @Test(arguments: Backend.allCases)
    func aReceiverThatWasDownGetsEveryChangeInOrderPerProfile(backend: Backend) async throws {
        try await DirectoryWorld.run(backend) { world in
            world.receiver.answer(status: 503)
            try await world.listedProfile("bea-2")
            try await world.listedProfile("cas-3")
            let paymentID = try #require(try await world.runtime.profiles.load(try ProfileID("bea-2")).state.allocations.first?.event.paymentID)
            #expect(try await world.post("/api/v1/profiles/bea-2/allocations/\(paymentID.rawValue)/reverse", ["kind": "refund", "reason": "returned"]).status == .ok)
            try await world.publish()
            #expect(world.receiver.received.isEmpty)
            let attemptsWhileDown = world.receiver.attempts
            #expect(attemptsWhileDown >= 2, "one attempt per profile's first change; later changes wait behind it")

            // Still down after 5 s and 5 min; back before the 30 min retry.
            try await world.advance(seconds: 6)
            try await world.advance(seconds: 301)
            #expect(world.receiver.attempts > attemptsWhileDown)
            world.receiver.answer(status: 200)
            try await world.advance(seconds: 1_801)

            for profile in ["bea-2", "cas-3"] {
                let stored = try await world.visibilityEvents(profile)
                let received = world.received(profile)
                #expect(received.map(\.webhookID) == stored.map(\.id), "\(profile): every change, once, in log order")
                #expect(received.allSatisfy { $0.verified })
            }
            #expect(try await world.visibilityEvents("bea-2").map(\.visible).suffix(2) == [true, false])
        }
    }

    /// While a profile's first change waits to be sent again, its later changes (due long ago, but held behind
    /// it) must not wake the publisher: it would look for work a hundred times a second until the retry. Nor
    /// must a change another instance is sending.
    @Test(arguments: Backend.allCases)
    func changesHeldBehindAFailedOneDoNotWakeThePublisherBeforeItsRetry(backend: Backend) async throws {
        try await DirectoryWorld.run(backend) { world in
            world.receiver.answer(status: 503)
            try await world.listedProfile("dee-4")
            let paymentID = try #require(try await world.runtime.profiles.load(try ProfileID("dee-4")).state.allocations.first?.event.paymentID)
            #expect(try await world.post("/api/v1/profiles/dee-4/allocations/\(paymentID.rawValue)/reverse", ["kind": "refund", "reason": "returned"]).status == .ok)
            try await world.publish()
            #expect(world.receiver.attempts == 1, "the later change waits behind the first")
            let publisher = world.runtime.directoryPublisher
            let next = try #require(try await publisher.nextAttemptAt())
            #expect(next > world.clock.now, "nothing can be sent before the first change's retry, 5 s away; next attempt at \(next)")
            #expect(next <= world.clock.now.addingTimeInterval(6))

            // Another instance claims the first change at its retry and holds it for a minute.
            world.clock.set(world.clock.now.addingTimeInterval(6))
            let heldUntil = world.clock.now.addingTimeInterval(60)
            try await world.runtime.store.withReadModelTransaction { connection in
                try await connection.execute(
                    """
                    UPDATE directory_deliveries SET claimed_until_micros = ?, claimed_by = 'another-instance'
                    WHERE delivery_id = (SELECT MIN(delivery_id) FROM directory_deliveries WHERE status = 'pending')
                    """,
                    [.integer(Int64((heldUntil.timeIntervalSince1970 * 1_000_000).rounded()))]
                )
            }
            #expect(try await publisher.deliverDue() == 0)
            #expect(try await publisher.nextAttemptAt() == heldUntil, "the claim runs out in a minute; nothing is claimable before")
        }
    }

    @Test(arguments: Backend.allCases)
    func aGoneReceiverDisablesTheEndpoint(backend: Backend) async throws {
        try await DirectoryWorld.run(backend) { world in
            world.receiver.answer(status: 410)
            try await world.listedProfile("dan-4")
            try await world.publish()
            let endpoints = try await world.client.execute(uri: "/api/v1/directory/endpoints", method: .get, headers: world.staff)
            let endpoint = try #require((try JSONSerialization.jsonObject(with: Data(buffer: endpoints.body)) as? [[String: Any]])?.first)
            #expect(endpoint["enabled"] as? Bool == false)
            #expect((endpoint["disabledReason"] as? String)?.contains("410") == true)
            let attempts = world.receiver.attempts
            world.receiver.answer(status: 200)
            try await world.advance(seconds: 86_400)
            #expect(world.receiver.attempts == attempts, "a disabled endpoint gets nothing")
            // A change made while the endpoint is disabled waits for it too.
            #expect(try await world.post("/api/v1/profiles/dan-4/certification", ["action": "suspend", "reason": "complaint"]).status == .ok)
            try await world.publish()
            #expect(world.receiver.attempts == attempts, "a disabled endpoint gets nothing")
            #expect(try await world.visibilityEvents("dan-4").map(\.visible) == [true, false])

            #expect(try await world.post("/api/v1/directory/endpoints/\(world.endpointID)/enable").status == .ok)
            try await world.publish()
            #expect(world.received("dan-4").map(\.webhookID) == (try await world.visibilityEvents("dan-4")).map(\.id))
        }
    }

    @Test(arguments: Backend.allCases)
    func afterEightFailedAttemptsADeliveryIsDeadAndStaffCanReplayIt(backend: Backend) async throws {
        try await DirectoryWorld.run(backend) { world in
            try await world.listedProfileWithADeadLetter("eve-5")
            let expected = try await world.visibilityEvents("eve-5")
            #expect(world.receiver.attempts == 8 * expected.count)
            let letters = try await world.deadLetters()
            #expect(letters.count == expected.count)
            #expect(letters.first?["attempts"] as? Int == 8)
            #expect(letters.first?["lastStatus"] as? Int == 500)

            world.receiver.answer(status: 200)
            try await world.advance(seconds: 86_400)
            #expect(world.received("eve-5").isEmpty, "dead letters wait for staff")
            for letter in letters {
                let id = try #require(letter["deliveryId"] as? Int)
                #expect(try await world.post("/api/v1/directory/deliveries/\(id)/replay").status == .ok)
            }
            try await world.publish()
            #expect(world.received("eve-5").map(\.webhookID) == expected.map(\.id))
            #expect(try await world.post("/api/v1/directory/deliveries/999999/replay").status == .notFound)
        }
    }

    /// A dead letter no longer holds the profile's later changes back; replayed, it arrives after them, and its
    /// `profileVersion` tells the directory it is older.
    @Test(arguments: Backend.allCases)
    func aReplayedDeadLetterArrivesAfterNewerChangesAndSaysItIsOlder(backend: Backend) async throws {
        try await DirectoryWorld.run(backend) { world in
            try await world.listedProfileWithADeadLetter("fay-6")
            let letter = try #require(try await world.deadLetters().first)
            let deliveryID = try #require(letter["deliveryId"] as? Int)

            world.receiver.answer(status: 200)
            #expect(try await world.post("/api/v1/profiles/fay-6/certification", ["action": "suspend", "reason": "complaint"]).status == .ok)
            try await world.publish()
            let stored = try await world.visibilityEvents("fay-6")
            #expect(stored.map(\.visible) == [true, false])
            #expect(world.received("fay-6").map(\.webhookID) == [stored[1].id], "the later change is not held behind the dead letter")

            #expect(try await world.post("/api/v1/directory/deliveries/\(deliveryID)/replay").status == .ok)
            try await world.publish()
            let received = world.received("fay-6")
            #expect(received.map(\.webhookID) == [stored[1].id, stored[0].id])
            let versions = received.compactMap { ($0.data["profileVersion"] as? NSNumber)?.int64Value }
            #expect(versions == [stored[1].version, stored[0].version] && versions[1] < versions[0], "\(versions)")
        }
    }

    @Test(arguments: Backend.allCases)
    func duringARotationBothSignaturesAreSentAndEitherSecretVerifies(backend: Backend) async throws {
        try await DirectoryWorld.run(backend) { world in
            let rotated = try await world.post("/api/v1/directory/endpoints/\(world.endpointID)/rotate-secret")
            #expect(rotated.status == .ok)
            let newSecret = try #require(rotated.json["secret"] as? String)
            #expect(newSecret != world.secret)
            // Another rotation during the day would stop the secret the receiver holds: refused.
            let again = try await world.post("/api/v1/directory/endpoints/\(world.endpointID)/rotate-secret")
            #expect(again.status == .conflict && again.json["type"] as? String == "https://listing-ledger.example/problems/rotation-in-progress", "\(again.text)")
            try await world.listedProfile("fay-6")
            try await world.publish()
            let first = try #require(world.received("fay-6").last)
            #expect(first.signatures.count == 2)
            #expect(first.verified, "the receiver still trusts the old secret")

            world.receiver.trust(secret: newSecret)
            try await world.listedProfile("gus-7")
            try await world.publish()
            #expect(world.received("gus-7").last?.verified == true)
        }
    }

    /// With `serve`'s background services running, a change reaches the directory without anyone asking: the
    /// append itself wakes the publisher. The poll is set to an hour on both backends, so only the wake-up can
    /// deliver in time; on PostgreSQL, where a wake-up can come before the event is visible to readers, the
    /// publisher's follow-up looks after it (``AppendFollower``) are what deliver.
    @Test(arguments: Backend.allCases)
    func aChangeReachesTheDirectoryWithoutAnyoneAsking(backend: Backend) async throws {
        let receiver = try await DirectoryReceiver.start()
        // An hour-long poll: only the wake-up (and its follow-ups) can deliver within the test's ten seconds.
        let runtime = try await TestRuntime.make(backend, settings: ["directory.poll_seconds": "3600"])
        do {
            let (_, secret) = try await runtime.directoryEndpoints.add(url: receiver.url, eventTypes: [.visibilityChanged])
            receiver.trust(secret: secret)
            try await buildApplication(runtime: runtime).test(.live) { _ in
                // Let the publisher go idle first: past its follow-up looks, asleep until an append.
                try await Task.sleep(for: AppendFollower.followUpDelays.reduce(.zero, +) + .seconds(1))
                let id = try ProfileID("push-1")
                _ = try await runtime.profiles.handle(.register(kind: .mediator, displayName: "P", contactEmail: "p@example.org"), profileID: id, metadata: .init(actor: "test"))
                _ = try await runtime.profiles.handle(.changeCertification(.grant, reason: "assessed"), profileID: id, metadata: .init(actor: "test"))
                _ = try await runtime.profiles.handle(.grantWaiver(waiverID: "w1", from: LocalDate(year: 2020, month: 1, day: 1)!, through: LocalDate(year: 2099, month: 1, day: 1)!, reason: "honorary"), profileID: id, metadata: .init(actor: "test"))
                let deadline = ContinuousClock.now + .seconds(10)
                while !receiver.received.contains(where: { $0.data["profileId"] as? String == "push-1" && $0.data["listed"] as? Bool == true }),
                      ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(20))
                }
                #expect(receiver.received.contains { $0.data["profileId"] as? String == "push-1" && $0.data["listed"] as? Bool == true })
            }
        } catch {
            await runtime.close()
            await receiver.stop()
            throw error
        }
        await runtime.close()
        await receiver.stop()
    }

    /// The pull feed, paged, and the snapshot both agree with the listing read model.
    @Test(arguments: Backend.allCases)
    func theFeedAndTheSnapshotAgreeWithTheListingReadModel(backend: Backend) async throws {
        try await DirectoryWorld.run(backend) { world in
            for id in ["h-1", "h-2", "h-3", "h-4"] { try await world.listedProfile(id) }
            let paymentID = try #require(try await world.runtime.profiles.load(try ProfileID("h-2")).state.allocations.first?.event.paymentID)
            #expect(try await world.post("/api/v1/profiles/h-2/allocations/\(paymentID.rawValue)/reverse", ["kind": "refund", "reason": "returned"]).status == .ok)
            try await (world.runtime.store as? any EventStoreTestHooks)?.waitUntilAllCommittedEventsAreVisible()
            try await ProjectionRunner(store: world.runtime.store, projection: world.runtime.listingProjection).catchUp()

            var latest: [String: Bool] = [:]
            var cursor: String?
            var pages = 0
            while true {
                let uri = "/api/v1/directory/changes?limit=2" + (cursor.map { "&after=\($0)" } ?? "")
                let page = try await world.client.execute(uri: uri, method: .get, headers: world.directory)
                #expect(page.status == .ok)
                let changes = try #require(page.json["changes"] as? [[String: Any]])
                let next = try #require(page.json["nextCursor"] as? String)
                for change in changes { latest[change["profileId"] as! String] = change["listed"] as? Bool }
                pages += 1
                if changes.isEmpty { break }
                cursor = next
            }
            #expect(pages >= 3)
            let fromFeed = Set(latest.filter(\.value).keys)

            var fromSnapshot: Set<String> = []
            var after: String?
            while true {
                let uri = "/api/v1/directory/listings?limit=2" + (after.map { "&after=\($0)" } ?? "")
                let page = try await world.client.execute(uri: uri, method: .get, headers: world.directory)
                let listings = try #require(page.json["listings"] as? [[String: Any]])
                fromSnapshot.formUnion(listings.compactMap { $0["profileId"] as? String })
                guard let next = page.json["next"] as? String else { break }
                after = next
            }
            let readModel = Set(try await world.runtime.listings.list(status: nil, expiringWithinDays: nil, limit: 100, offset: 0).filter(\.visible).map(\.profileId))
            #expect(fromFeed == ["h-1", "h-3", "h-4"])
            #expect(fromSnapshot == fromFeed)
            #expect(readModel == fromFeed)

            let forbidden = try await world.client.execute(uri: "/api/v1/directory/changes", method: .get, headers: bearer("llk_nobody_x"))
            #expect(forbidden.status == .unauthorized)
            // A cursor is what the API description says (1 to 18 digits, a dot, 1 to 18 digits), no more, no less.
            for cursor in ["abc", "9999999999999999999.1", "1.9999999999999999999", "+5.3", "5.-0", "5", "5.3.1", "%205.3"] {
                let badCursor = try await world.client.execute(uri: "/api/v1/directory/changes?after=\(cursor)", method: .get, headers: world.directory)
                #expect(badCursor.status == .badRequest, "\(cursor): \(badCursor.status)")
            }
            let farAhead = try await world.client.execute(uri: "/api/v1/directory/changes?after=999999999999999999.999999999999999999", method: .get, headers: world.directory)
            #expect(farAhead.status == .ok && (farAhead.json["changes"] as? [Any])?.isEmpty == true, "\(farAhead.text)")
        }
    }
}
