import EventStore
import Foundation
import LedgerCore
import LedgerService
import Logging
import TestSupport
import Testing

private func noon(_ date: String) -> Date {
    OrganisationCalendar.amsterdam.startOfDay(LocalDate(iso: date)!).addingTimeInterval(12 * 3600)
}

@Suite("Profile service")
struct ProfileServiceTests {
    /// A profile certified and paid for 12 months from 2026-01-15.
    static func paidProfile(_ profiles: ProfileService, _ id: ProfileID) async throws {
        try await certifiedProfile(profiles, id)
        _ = try await profiles.recordOfflinePayment(
            profileID: id, amount: .euros(minorUnits: 12_500), date: LocalDate(iso: "2026-01-15")!, purpose: .listing, note: "",
            metadata: .init(actor: "test"), idempotencyKey: nil
        )
    }

    static func certifiedProfile(_ profiles: ProfileService, _ id: ProfileID) async throws {
        _ = try await profiles.handle(.register(kind: .mediator, displayName: "Ada", contactEmail: "ada@example.org"), profileID: id, metadata: .init(actor: "test"))
        _ = try await profiles.handle(.changeCertification(.grant, reason: "ok"), profileID: id, metadata: .init(actor: "test"))
    }

    /// A fresh store of `backend`, a profile service on a test clock at noon on `day`, and the id `ada-1`.
    static func withProfiles(
        _ backend: Backend, at day: String, _ body: (any EventStoreTestHooks, ProfileService, TestClock, ProfileID) async throws -> Void
    ) async throws {
        let clock = TestClock(noon(day))
        try await TestDatabase.withStore(backend) { store, _ in
            try await body(store, ProfileService(store: store, policy: .standard, now: clock.function), clock, try ProfileID("ada-1"))
        }
    }

    /// A stream longer than the fold limit is refused for payments as for profiles, never folded in part.
    @Test
    func aPaymentStreamPastTheLimitIsRefusedNotFoldedInPart() async throws {
        try await TestDatabase.withStore(.sqlite) { store, _ in
            let profiles = ProfileService(store: store, policy: .standard, now: { noon("2026-03-01") })
            let paymentID = PaymentID(rawValue: "offline-long")
            let perAppend = store.limits.eventsPerAppendMax
            var appended = 0
            while appended <= ProfileService.streamEventsMax {
                let events = (0..<perAppend).map { _ in NewEvent(id: UUID(), type: "FutureNote", data: Data("{}".utf8)) }
                _ = try await store.append(events, to: paymentID.streamName, expecting: .any)
                appended += perAppend
            }
            await #expect(throws: DomainError.self) {
                _ = try await PaymentPipeline(store: store, profiles: profiles).loadPayment(paymentID)
            }
        }
    }

    @Test(arguments: Backend.allCases)
    func aDonationOrAnUnallocatedPaymentNeverMovesTheListing(backend: Backend) async throws {
        try await Self.withProfiles(backend, at: "2026-01-15") { store, profiles, clock, id in
            try await Self.paidProfile(profiles, id)
            let before = try await profiles.load(id).state
            let (donation, outcome) = try await profiles.recordOfflinePayment(
                profileID: id, amount: .euros(minorUnits: 50_000), date: LocalDate(iso: "2026-01-16")!, purpose: .donation, note: "gift",
                metadata: .init(actor: "test"), idempotencyKey: nil
            )
            #expect(outcome.appended.isEmpty)
            let after = try await profiles.load(id).state
            #expect(after == before)
            #expect(after.evaluate(at: noon("2026-02-01"), policy: .standard).paidThrough == LocalDate(iso: "2027-01-14"))
            // The donation is recorded as a payment fact of its own.
            #expect(try await store.readStream(donation.streamName, fromVersion: 1, limit: 10).map(\.type) == ["PaymentReceived"])
        }
    }

    /// An offline payment and its allocation are one append: of payments recorded at once whose allocations cannot
    /// all be made (each would buy more than ten periods with the credit the others leave), the refused ones leave
    /// no payment behind that buys nothing.
    @Test(arguments: Backend.allCases)
    func concurrentOfflinePaymentsLeaveNoPaymentWithoutItsAllocation(backend: Backend) async throws {
        try await Self.withProfiles(backend, at: "2026-01-15") { store, profiles, clock, id in
            try await Self.certifiedProfile(profiles, id)
            // 1,370.00 buys ten periods and leaves 120.00 of credit; a second one would buy eleven.
            let outcomes = await withTaskGroup(of: Bool.self) { group in
                for _ in 0..<10 {
                    group.addTask {
                        do {
                            _ = try await profiles.recordOfflinePayment(
                                profileID: id, amount: .euros(minorUnits: 137_000), date: LocalDate(iso: "2026-01-15")!, purpose: .listing, note: "",
                                metadata: .init(actor: "test"), idempotencyKey: nil, confirmDuplicate: true
                            )
                            return true
                        } catch {
                            return false
                        }
                    }
                }
                return await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 }.count == 1, "\(outcomes)")
            try await store.waitUntilAllCommittedEventsAreVisible()
            let log = try await store.readAll(after: .start, limit: 1_000)
            #expect(log.filter { $0.type == PaymentReceived.typeName }.count == 1)
            #expect(log.filter { $0.type == ContributionAllocated.typeName }.count == 1)
        }
    }

    /// Certifies `id` and records, on 2026-03-10, a listing payment dated 2026-03-13; returns the listing read model
    /// on the test clock and its queries, once every event is visible to the log's readers.
    static func paidFromTheThirteenth(
        _ store: any EventStoreTestHooks, _ profiles: ProfileService, _ clock: TestClock, _ id: ProfileID
    ) async throws -> (ListingProjection, ListingQueries) {
        try await certifiedProfile(profiles, id)
        _ = try await profiles.recordOfflinePayment(
            profileID: id, amount: .euros(minorUnits: 12_500), date: LocalDate(iso: "2026-03-13")!, purpose: .listing, note: "",
            metadata: .init(actor: "test"), idempotencyKey: nil
        )
        let projection = ListingProjection(base: profiles.policy, now: clock.function)
        try await store.waitUntilAllCommittedEventsAreVisible()
        return (projection, ListingQueries(store: store, projection: projection, calendar: .amsterdam, now: clock.function))
    }

    /// Whether the profile's stream records it published as listed.
    static func published(_ store: any EventStoreTestHooks, _ id: ProfileID) async throws -> Bool {
        try await store.readStream(id.streamName, fromVersion: 1, limit: 100).contains { recorded in
            if case .visibilityChanged(let change)? = try ProfileEvent.decode(typeName: recorded.type, data: recorded.data) { change.visible } else { false }
        }
    }

    /// The running sweeper is woken by an append (after letting appends gather for its pause) and records what
    /// has fallen due meanwhile; without the append it would sleep until its next scheduled look, a minute on.
    @Test(arguments: Backend.allCases)
    func theRunningSweeperLooksAgainAfterAnAppend(backend: Backend) async throws {
        try await Self.withProfiles(backend, at: "2026-03-10") { store, profiles, clock, id in
            let (projection, queries) = try await Self.paidFromTheThirteenth(store, profiles, clock, id)
            try await ProjectionRunner(store: store, projection: projection).catchUp()
            var sweeper = Sweeper(profiles: profiles, projection: projection, queries: queries, logger: .init(label: "test"))
            sweeper.appendPause = .milliseconds(200)
            let running = Task { [sweeper] in try await sweeper.run() }
            defer { running.cancel() }
            // The sweeper's first pass finds nothing due; it then sleeps until the payment's day or an append.
            try await Task.sleep(for: .seconds(1))
            clock.set(noon("2026-03-13"))
            // Not listed by the clock alone: what lists it below is the sweeper woken by the append.
            try await Task.sleep(for: .milliseconds(500))
            #expect(try await !Self.published(store, id), "the sweeper looked without an append")
            _ = try await profiles.handle(
                .register(kind: .mediator, displayName: "Bo", contactEmail: "bo@example.org"), profileID: try ProfileID("bo-1"), metadata: .init(actor: "test")
            )
            var listed = false
            let deadline = ContinuousClock.now + .seconds(10)
            while !listed, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
                listed = try await Self.published(store, id)
            }
            #expect(listed, "the sweeper did not list the profile within 10 s of the append")
            running.cancel()
            _ = await running.result
        }
    }

    /// A payment recorded today for a day later this week lists the profile on that day, without any other event.
    @Test(arguments: Backend.allCases)
    func aPaymentDatedAheadListsTheProfileOnItsDay(backend: Backend) async throws {
        try await Self.withProfiles(backend, at: "2026-03-10") { store, profiles, clock, id in
            let (projection, queries) = try await Self.paidFromTheThirteenth(store, profiles, clock, id)
            let sweeper = Sweeper(profiles: profiles, projection: projection, queries: queries, logger: .init(label: "test"))
            try await ProjectionRunner(store: store, projection: projection).catchUp()
            #expect(try await queries.list(status: nil, expiringWithinDays: nil, limit: 10, offset: 0).map(\.visible) == [false])
            #expect(try await queries.nextScheduledChange() == OrganisationCalendar.amsterdam.startOfDay(LocalDate(iso: "2026-03-13")!))

            clock.set(noon("2026-03-13"))
            #expect(try await sweeper.sweepDue() == 1)
            // On SQLite the sweeper's own catch-up rewrites the row. On PostgreSQL it may not see its event yet,
            // while another transaction in the cluster runs; the read model's runner takes it in then.
            if backend == .postgres {
                try await store.waitUntilAllCommittedEventsAreVisible()
                try await ProjectionRunner(store: store, projection: projection).catchUp()
            }
            let row = try await queries.list(status: nil, expiringWithinDays: nil, limit: 10, offset: 0).first
            #expect(row?.status == "active" && row?.visible == true && row?.paidThrough == "2027-03-12", "\(String(describing: row))")
            let published = try await store.readStream(id.streamName, fromVersion: 1, limit: 100).compactMap { recorded in
                if case .visibilityChanged(let change)? = try ProfileEvent.decode(typeName: recorded.type, data: recorded.data) { change.visible } else { nil }
            }
            #expect(published == [true])
        }
    }

    /// A listing whose grace ended while no sweeper ran is listed as it is now, in the right place among the
    /// others: the staff lists need no job to have run (before, it was listed as stored, still active).
    @Test(arguments: Backend.allCases)
    func aListingDueButNotSweptIsListedAsItIsNow(backend: Backend) async throws {
        try await Self.withProfiles(backend, at: "2026-03-10") { store, profiles, clock, id in
            let (projection, queries) = try await Self.paidFromTheThirteenth(store, profiles, clock, id)
            let sweeper = Sweeper(profiles: profiles, projection: projection, queries: queries, logger: .init(label: "test"))
            try await ProjectionRunner(store: store, projection: projection).catchUp()
            clock.set(noon("2026-03-13"))
            #expect(try await sweeper.sweepDue() == 1)
            try await store.waitUntilAllCommittedEventsAreVisible()
            try await ProjectionRunner(store: store, projection: projection).catchUp()
            #expect(try await queries.list(status: "active", expiringWithinDays: nil, limit: 10, offset: 0).map(\.profileId) == [id.rawValue])

            // Long after the paid year and its grace, another profile paid a few days ago; nothing swept since.
            clock.set(noon("2028-06-01"))
            let other = try ProfileID("bob-1")
            try await Self.certifiedProfile(profiles, other)
            _ = try await profiles.recordOfflinePayment(
                profileID: other, amount: .euros(minorUnits: 12_500), date: LocalDate(iso: "2028-05-20")!, purpose: .listing, note: "",
                metadata: .init(actor: "test"), idempotencyKey: nil
            )
            try await store.waitUntilAllCommittedEventsAreVisible()
            func list(_ status: String?, within days: Int? = nil, offset: Int = 0, limit: Int = 10) async throws -> [String] {
                try await queries.list(status: status, expiringWithinDays: days, limit: limit, offset: offset).map { "\($0.profileId) \($0.status) \($0.visible)" }
            }
            #expect(try await list("active") == ["bob-1 active true"])
            #expect(try await list("expired") == ["ada-1 expired false"])
            #expect(try await list(nil, within: 400) == ["bob-1 active true"])
            #expect(try await list(nil) == ["ada-1 expired false", "bob-1 active true"])
            #expect(try await list(nil, offset: 1, limit: 1) == ["bob-1 active true"])
            #expect(try await list(nil, offset: 0, limit: 1) == ["ada-1 expired false"])
        }
    }

    /// Paging through the list while a row is due gives every listing once, also on a PostgreSQL database whose
    /// collation orders ids otherwise than byte by byte (here ICU's en-US, which puts `Zed-1` after `cat-1`): the
    /// stored rows are read in the order the due rows are merged in. Before, the page after the first repeated
    /// `ada-2` and `cat-1` never came.
    @Test
    func pagesWithADueRowListEveryListingOnceWhateverTheCollation() async throws {
        try await Self.withProfiles(.postgres, at: "2026-03-10") { store, profiles, clock, id in
            let (projection, queries) = try await Self.paidFromTheThirteenth(store, profiles, clock, id)
            for other in ["ada-2", "cat-1", "Zed-1"] { try await Self.certifiedProfile(profiles, try ProfileID(other)) }
            try await store.waitUntilAllCommittedEventsAreVisible()
            try await ProjectionRunner(store: store, projection: projection).catchUp()
            try await store.withReadModelConnection { connection in
                try await connection.execute(#"ALTER TABLE listing_status ALTER COLUMN profile_id TYPE text COLLATE "en-US-x-icu""#)
            }
            clock.set(noon("2026-03-13"))
            var pages: [String] = []
            for offset in 0..<5 {
                pages += try await queries.list(status: nil, expiringWithinDays: nil, limit: 1, offset: offset).map(\.profileId)
            }
            #expect(pages == ["ada-1", "Zed-1", "ada-2", "cat-1"])
        }
    }

    /// A suspension recorded by an instance whose clock is an hour ahead: an instance with the right clock lists the
    /// profile again meanwhile (the event is believed only five minutes ahead), and its listing row falls due at the
    /// suspension's own instant, when the sweeper hides it without any other event.
    @Test(arguments: Backend.allCases)
    func anEventRecordedByAClockAheadIsSweptAtItsInstant(backend: Backend) async throws {
        try await Self.withProfiles(backend, at: "2026-03-10") { store, profiles, clock, id in
            try await Self.paidProfile(profiles, id)
            let projection = ListingProjection(base: profiles.policy, now: clock.function)
            let queries = ListingQueries(store: store, projection: projection, calendar: .amsterdam, now: clock.function)
            let sweeper = Sweeper(profiles: profiles, projection: projection, queries: queries, logger: .init(label: "test"))
            let hourAhead = noon("2026-03-10").addingTimeInterval(3_600)
            clock.set(hourAhead)
            _ = try await profiles.handle(.changeCertification(.suspend, reason: "complaint"), profileID: id, metadata: .init(actor: "test"))
            clock.set(noon("2026-03-10"))
            _ = try await profiles.handle(.sweep, profileID: id, metadata: .init(actor: "test"))
            try await store.waitUntilAllCommittedEventsAreVisible()
            try await ProjectionRunner(store: store, projection: projection).catchUp()
            #expect(try await queries.list(status: nil, expiringWithinDays: nil, limit: 10, offset: 0).map(\.visible) == [true])
            #expect(try await queries.nextScheduledChange() == hourAhead)

            clock.set(hourAhead)
            #expect(try await sweeper.sweepDue() == 1)
            if backend == .postgres {
                try await store.waitUntilAllCommittedEventsAreVisible()
                try await ProjectionRunner(store: store, projection: projection).catchUp()
            }
            let row = try await queries.list(status: nil, expiringWithinDays: nil, limit: 10, offset: 0).first
            #expect(row?.visible == false && row?.reason == "certification_suspended", "\(String(describing: row))")
        }
    }

    /// Three sweepers race over the same due profile: the expiry is recorded once.
    @Test(arguments: Backend.allCases)
    func concurrentSweepersRecordEachChangeOnce(backend: Backend) async throws {
        try await Self.withProfiles(backend, at: "2026-01-15") { store, profiles, clock, id in
            try await Self.paidProfile(profiles, id)
            let projection = ListingProjection(base: profiles.policy, now: clock.function)
            try await store.waitUntilAllCommittedEventsAreVisible()
            try await ProjectionRunner(store: store, projection: projection).catchUp()
            clock.set(noon("2027-02-01"))
            let queries = ListingQueries(store: store, projection: projection, calendar: .amsterdam, now: clock.function)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<3 {
                    group.addTask {
                        try await Sweeper(profiles: profiles, projection: projection, queries: queries, logger: .init(label: "test")).sweepDue()
                    }
                }
                try await group.waitForAll()
            }
            let changes = try await store.readStream(id.streamName, fromVersion: 1, limit: 100).filter { $0.type == "ListingVisibilityChanged" }
            #expect(changes.count == 2) // listed on payment, hidden on expiry; no duplicate
            #expect(try await queries.due(at: clock.now, limit: 10).isEmpty)
        }
    }

    /// A list of listings shows a payment recorded a moment ago, whether or not the read models' runner has
    /// taken it in yet (none runs here).
    @Test(arguments: Backend.allCases)
    func aListOfListingsShowsAPaymentRecordedAMomentAgo(backend: Backend) async throws {
        try await Self.withProfiles(backend, at: "2026-01-15") { store, profiles, clock, id in
            try await Self.paidProfile(profiles, id)
            try await store.waitUntilAllCommittedEventsAreVisible()
            let projection = ListingProjection(base: profiles.policy, now: clock.function)
            let queries = ListingQueries(store: store, projection: projection, calendar: .amsterdam, now: clock.function)
            let rows = try await queries.list(status: nil, expiringWithinDays: nil, limit: 10, offset: 0)
            #expect(rows.map(\.profileId) == ["ada-1"])
            #expect(rows.first?.visible == true)
        }
    }

    /// The directory's snapshot of listed profiles, asked for just after a payment, includes it: the listing
    /// read model takes in the log first (after migration 0020 emptied it, a resynchronisation must not see a
    /// half-filled list).
    @Test(arguments: Backend.allCases)
    func theDirectorySnapshotShowsAPaymentRecordedAMomentAgo(backend: Backend) async throws {
        try await Self.withProfiles(backend, at: "2026-01-15") { store, profiles, clock, id in
            try await Self.paidProfile(profiles, id)
            try await store.waitUntilAllCommittedEventsAreVisible()
            let directory = DirectoryQueries(store: store, listing: ListingProjection(base: profiles.policy, now: clock.function), now: clock.function)
            let listed = try await directory.listedProfiles(afterProfileID: nil, limit: 10)
            #expect(listed.map(\.profileId) == ["ada-1"])
        }
    }

    /// The snapshot answers as of now, not as of the sweeper's last look (none runs here): a listing in its grace
    /// days says so, one whose grace ended is left out, one whose waiver began is in, and a page is filled past
    /// the rows it leaves out.
    @Test(arguments: Backend.allCases)
    func theDirectorySnapshotAnswersAsOfNowBeforeTheSweeperLooks(backend: Backend) async throws {
        try await Self.withProfiles(backend, at: "2026-01-15") { store, profiles, clock, id in
            try await Self.paidProfile(profiles, id)
            let waived = try ProfileID("bob-1")
            _ = try await profiles.handle(.register(kind: .mediator, displayName: "Bob", contactEmail: "bob@example.org"), profileID: waived, metadata: .init(actor: "test"))
            _ = try await profiles.handle(.changeCertification(.grant, reason: "ok"), profileID: waived, metadata: .init(actor: "test"))
            _ = try await profiles.handle(
                .grantWaiver(waiverID: "w-1", from: LocalDate(iso: "2027-01-20")!, through: LocalDate(iso: "2027-03-01")!, reason: "hardship"),
                profileID: waived, metadata: .init(actor: "test")
            )
            try await store.waitUntilAllCommittedEventsAreVisible()
            let directory = DirectoryQueries(store: store, listing: ListingProjection(base: profiles.policy, now: clock.function), now: clock.function)
            func listed(limit: Int = 10) async throws -> [String] {
                try await directory.listedProfiles(afterProfileID: nil, limit: limit).map { "\($0.profileId) \($0.status)" }
            }
            #expect(try await listed() == ["ada-1 active"])
            clock.set(noon("2027-01-18"))
            #expect(try await listed() == ["ada-1 grace"])
            clock.set(noon("2027-02-01"))
            #expect(try await listed() == ["bob-1 waived"])
            #expect(try await listed(limit: 1) == ["bob-1 waived"], "the page is filled past the row it leaves out")
        }
    }

    /// An event type this build does not know must still count towards the stream's version, or every
    /// later command on the profile would conflict for ever.
    @Test(arguments: Backend.allCases)
    func anUnknownEventTypeInAProfileStreamDoesNotBlockCommands(backend: Backend) async throws {
        try await TestDatabase.withStore(backend) { store, _ in
            let profiles = ProfileService(store: store, policy: .standard, now: { noon("2026-01-15") })
            let id = try ProfileID("ada-1")
            try await Self.certifiedProfile(profiles, id)
            _ = try await store.append([NewEvent(id: UUID(), type: "SomethingNewer", data: Data("{}".utf8))], to: id.streamName, expecting: .exact(2))
            #expect(try await profiles.load(id).state.version == 3)
            let outcome = try await profiles.handle(.changeCertification(.suspend, reason: "test"), profileID: id, metadata: .init(actor: "test"))
            #expect(outcome.appended.map(\.typeName) == ["CertificationChanged", "ListingVisibilityChanged"])
            #expect(outcome.state.version == 5)
        }
    }
}
