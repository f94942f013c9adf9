import EventStore
import Foundation
import LedgerCore
@testable import LedgerService
import Synchronization
import TestSupport
import Testing

/// A statement's lines are booked in batches, each batch in one transaction; what they book is what booking
/// them one at a time would.
@Suite("Statements booked in batches")
struct StatementBatchTests {
    static let profileCount = 30
    static let ourIBAN = "NL91ABNA0417164300"

    /// 260 credits paying 30 profiles in turn (three batches and a part), two returns (one of a credit in an
    /// earlier batch, one of a credit in the same batch) and a debit.
    static func statement() -> CamtStatementBuilder {
        typealias T = CamtStatementBuilder.Transaction
        var entries: [CamtStatementBuilder.Entry] = []
        for index in 0..<260 {
            let profile = "s-\(index % profileCount)"
            entries.append(.init(date: "2026-03-02", bankReference: "SB-\(index)", transactions: [T(
                amount: "125.00", endToEndID: "E2E-\(index)", payerName: profile,
                structuredReference: CreditorReference.forProfile(try! ProfileID(profile)).electronic
            )]))
            if index == 150 || index == 160 {
                let returned = index == 150 ? 5 : 140
                entries.append(.init(credit: false, date: "2026-03-03", bankReference: "SR-\(index)", transactions: [
                    T(amount: "125.00", endToEndID: "E2E-\(returned)", payerName: "s-\(returned % profileCount)", returnReason: "AC04"),
                ]))
            }
        }
        entries.append(.init(credit: false, date: "2026-03-04", bankReference: "SD-1", transactions: [T(amount: "4.50", text: "account fee")]))
        return CamtStatementBuilder(statements: [.init(id: "2026-03", iban: ourIBAN, entries: entries)])
    }

    /// What each profile holds: the amount of its allocations in force, in cents.
    static func allocated(_ runtime: LedgerRuntime, _ id: String) async throws -> Int64 {
        try await runtime.profiles.load(try ProfileID(id)).state.allocations.filter(\.isActiveNow).reduce(0) { $0 + $1.event.amount.minorUnits }
    }

    /// How many of the statement's contributions profile `s-index` keeps: its credits less those returned.
    static func paidByStatement(_ index: Int) -> Int64 {
        let credits = (0..<260).filter { $0 % profileCount == index }.count
        let returned = [5, 140].filter { $0 % profileCount == index }.count
        return Int64(credits - returned)
    }

    static func registerProfiles(_ runtime: LedgerRuntime) async throws {
        for index in 0..<profileCount {
            let id = try ProfileID("s-\(index)")
            _ = try await runtime.profiles.handle(.register(kind: .mediator, displayName: id.rawValue, contactEmail: "\(id)@example.org"), profileID: id, metadata: .init(actor: "test"))
            _ = try await runtime.profiles.handle(.changeCertification(.grant, reason: "assessed"), profileID: id, metadata: .init(actor: "test"))
        }
    }

    static let now: @Sendable () -> Date = { OrganisationCalendar.amsterdam.startOfDay(LocalDate(iso: "2026-03-06")!).addingTimeInterval(10 * 3600) }

    @Test(arguments: Backend.allCases)
    func aLongStatementIsBookedAsLineByLineWouldBookIt(backend: Backend) async throws {
        let runtime = try await TestRuntime.make(backend, now: Self.now)
        do {
            try await Self.registerProfiles(runtime)
            try await (runtime.store as? any EventStoreTestHooks)?.waitUntilAllCommittedEventsAreVisible()
            let registered = try await runtime.store.headCursor()
            let file = try Self.statement().write()
            let metadata = CommandAttribution.metadata(actor: "test", requestID: nil)
            let progress = Mutex<[Int]>([])
            let summary = try await runtime.bankImport.importFile(file, metadata: metadata, progressEvery: 100) { booked, _ in
                progress.withLock { $0.append(booked) }
            }
            #expect(summary.lines == 263)
            #expect(summary.matched == 260)
            #expect(summary.returns == 2)
            #expect(summary.debits == 1)
            #expect(summary.queued == 0 && summary.alreadyImported == 0 && summary.bookedOneByOne == 0)
            #expect(progress.withLock { $0 } == [100, 200])
            for index in 0..<Self.profileCount {
                #expect(try await Self.allocated(runtime, "s-\(index)") == Self.paidByStatement(index) * 12_500, "s-\(index)")
            }
            // Every event the import recorded has a time-ordered id (version 7), so the log's index on event ids
            // grows at its end.
            try await (runtime.store as? any EventStoreTestHooks)?.waitUntilAllCommittedEventsAreVisible()
            let booked = try await runtime.store.readAll(after: registered, limit: 5_000)
            #expect(booked.count > 263)
            #expect(booked.filter { $0.id.uuid.6 >> 4 != 7 }.map(\.type) == [])

            // A second import books nothing.
            try await (runtime.store as? any EventStoreTestHooks)?.waitUntilAllCommittedEventsAreVisible()
            let head = try await runtime.store.headCursor()
            let again = try await runtime.bankImport.importFile(file, metadata: metadata)
            #expect(again.alreadyImported == 263)
            #expect(again.matched == 0)
            try await (runtime.store as? any EventStoreTestHooks)?.waitUntilAllCommittedEventsAreVisible()
            #expect(try await runtime.store.headCursor() == head)
        } catch {
            await runtime.close()
            throw error
        }
        await runtime.close()
    }

    /// Offline payments recorded for the statement's profiles while it is booked change streams the batches
    /// decided on: those batches are refused whole and booked again line by line, and nothing is lost or
    /// booked twice.
    @Test(arguments: Backend.allCases)
    func paymentsRecordedDuringAnImportAreNeitherLostNorDoubled(backend: Backend) async throws {
        let runtime = try await TestRuntime.make(backend, now: Self.now)
        do {
            try await Self.registerProfiles(runtime)
            let file = try Self.statement().write()
            let done = Atomic<Bool>(false)
            let writer = Task {
                var recorded: [String: Int] = [:]
                var round = 0
                while !done.load(ordering: .relaxed) {
                    let id = "s-\(round % 3)"
                    round += 1
                    _ = try await runtime.profiles.recordOfflinePayment(
                        profileID: try ProfileID(id), amount: .euros(minorUnits: 12_500), date: LocalDate(iso: "2026-03-02")!, purpose: .listing,
                        note: "cash \(round)", metadata: .init(actor: "test"), idempotencyKey: nil, confirmDuplicate: true
                    )
                    recorded[id, default: 0] += 1
                }
                return recorded
            }
            let summary: BankStatementImport.Summary
            do {
                summary = try await runtime.bankImport.importFile(file, metadata: CommandAttribution.metadata(actor: "test", requestID: nil))
            } catch {
                done.store(true, ordering: .relaxed)
                _ = try? await writer.value
                throw error
            }
            done.store(true, ordering: .relaxed)
            let offline = try await writer.value
            #expect(summary.matched == 260 && summary.returns == 2 && summary.debits == 1 && summary.alreadyImported == 0)
            #expect(offline.values.reduce(0, +) > 0)
            for index in 0..<Self.profileCount {
                let cash = Int64(offline["s-\(index)"] ?? 0)
                #expect(try await Self.allocated(runtime, "s-\(index)") == (Self.paidByStatement(index) + cash) * 12_500, "s-\(index)")
            }
        } catch {
            await runtime.close()
            throw error
        }
        await runtime.close()
    }

    /// A batch is decided while the one before is written. When that one is refused (another writer changed a
    /// stream it decided on), it is booked again line by line, and so is the batch decided meanwhile, which
    /// decided on what the refused one would have written. The last batch, refused, is booked again too.
    /// Here an offline payment lands between a batch's decision and its append, for the first and the last
    /// batch: the first and the last are refused, the second is never appended, and every profile holds what
    /// the statement and the offline payments paid, once.
    @Test(arguments: Backend.allCases)
    func aRefusedBatchAndTheOneDecidedBesideItAreBookedLineByLine(backend: Backend) async throws {
        let runtime = try await TestRuntime.make(backend, now: Self.now)
        do {
            try await Self.registerProfiles(runtime)
            let file = try Self.statement().write()
            let refused = Mutex<[Int]>([])
            let offline = Mutex<[String]>([])
            var importer = runtime.bankImport
            importer.hooks.beforeAppending = { batch in
                // Batch 0 books a credit for s-0 (the first line), batch 2 one for s-20 (the 200th credit).
                guard batch == 0 || batch == 2 else { return }
                let id = "s-\(batch * 10)"
                _ = try await runtime.profiles.recordOfflinePayment(
                    profileID: try ProfileID(id), amount: .euros(minorUnits: 12_500), date: LocalDate(iso: "2026-03-02")!, purpose: .listing,
                    note: "cash before batch \(batch)", metadata: .init(actor: "test"), idempotencyKey: nil, confirmDuplicate: true
                )
                offline.withLock { $0.append(id) }
            }
            importer.hooks.refused = { batch in refused.withLock { $0.append(batch) } }
            let summary = try await importer.importFile(file, metadata: CommandAttribution.metadata(actor: "test", requestID: nil))
            #expect(offline.withLock { $0 } == ["s-0", "s-20"])
            #expect(refused.withLock { $0 } == [0, 2])
            // The first hundred, the hundred decided beside it and the last 63 lines.
            #expect(summary.bookedOneByOne == 263)
            #expect(summary.matched == 260 && summary.returns == 2 && summary.debits == 1)
            #expect(summary.queued == 0 && summary.alreadyImported == 0)
            for index in 0..<Self.profileCount {
                let cash: Int64 = index == 0 || index == 20 ? 1 : 0
                #expect(try await Self.allocated(runtime, "s-\(index)") == (Self.paidByStatement(index) + cash) * 12_500, "s-\(index)")
            }
        } catch {
            await runtime.close()
            throw error
        }
        await runtime.close()
    }
}
