import EventStore
import Foundation
import LedgerCore
import LedgerService
import TestSupport
import Testing

/// Each module migrates its own tables, in one ordered sequence.
@Suite("Ledger migrations")
struct LedgerMigrationsTests {
    @Test(arguments: SQLDialect.allCases)
    func theStoreShipsOnlyTheLogAndTheServiceEverythingElseInOneSequence(dialect: SQLDialect) throws {
        let store = try MigrationCatalog.migrations(for: dialect)
        #expect(store.map(\.fileName) == (dialect == .postgres ? ["0001_event_log.sql", "0006_append_batches.sql", "0010_lock_streams.sql", "0019_checkpoint_resets.sql"]
            : ["0001_event_log.sql", "0019_checkpoint_resets.sql"]))
        for migration in store {
            let tables = migration.sql.components(separatedBy: "CREATE TABLE ").dropFirst().compactMap { $0.split(separator: " ").first.map(String.init) }
            #expect(Set(tables).isSubset(of: ["events", "projection_checkpoints", "append_batches"]), "\(migration.fileName): \(tables)")
        }
        let all = try LedgerMigrations.all(for: dialect)
        #expect(all.map(\.version) == all.map(\.version).sorted())
        #expect(Set(all.map(\.version)) == Set(dialect == .postgres ? Array(1...28) : [1, 2, 3, 4, 5, 7, 8, 9, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28]))
    }

    /// A ledger migrated once has nothing pending and applies nothing again.
    @Test(arguments: Backend.allCases)
    func aMigratedLedgerHasNothingPending(backend: Backend) async throws {
        try await TestDatabase.withStore(backend) { store, _ in
            let pending = try await store.pendingLedgerMigrations()
            #expect(pending.isEmpty)
            let again = try await store.migrateLedger()
            #expect(again.applied.isEmpty)
            #expect(again.alreadyApplied == (backend == .postgres ? 28 : 26))
        }
    }

    /// Migration 0020 on a ledger with history: the listing read model is emptied, and takes the log in again
    /// to the same rows.
    @Test(arguments: Backend.allCases)
    func theListingReadModelIsFilledAgainAfterMigration20(backend: Backend) async throws {
        let url = try await TestDatabase.freshURL(backend)
        let store = try await TestDatabase.open(url)
        do {
            let before20 = try LedgerMigrations.all(for: store.dialect).filter { $0.version < 20 }
            _ = try await store.migrate(before20)
            let clock = TestClock(Date(timeIntervalSince1970: 1_780_000_000)) // 2026-05-28
            let profiles = ProfileService(store: store, policy: .standard, now: clock.function)
            for (index, date) in ["2025-03-01", "2026-02-01", "2026-05-20"].enumerated() {
                let id = try ProfileID("mg-\(index)")
                _ = try await profiles.handle(.register(kind: .mediator, displayName: "M \(index)", contactEmail: "m\(index)@example.org"), profileID: id, metadata: .init(actor: "test"))
                _ = try await profiles.handle(.changeCertification(.grant, reason: "ok"), profileID: id, metadata: .init(actor: "test"))
                _ = try await profiles.recordOfflinePayment(
                    profileID: id, amount: .euros(minorUnits: 12_500), date: LocalDate(iso: date)!, purpose: .listing, note: "", metadata: .init(actor: "test"), idempotencyKey: nil
                )
            }
            let projection = ListingProjection(base: .standard, now: clock.function)
            let queries = ListingQueries(store: store, projection: projection, calendar: .amsterdam, now: clock.function)
            let rows = try await queries.list(status: nil, expiringWithinDays: nil, limit: 10, offset: 0)
            #expect(rows.map(\.status) == ["expired", "active", "active"], "\(rows)")

            let report = try await store.migrateLedger()
            #expect(report.applied.first == "0020_listing_folds_the_policy.sql", "\(report.applied)")
            let emptied = try await store.withReadModelConnection { connection in
                try await connection.query("SELECT COUNT(*) FROM listing_status", []).first.map { try $0.integer(0) }
            }
            #expect(emptied == 0)
            #expect(try await ProjectionRunner(store: store, projection: projection).checkpoint() == .start)

            // A new instance's fold takes the log in again, to the rows it had.
            let again = ListingQueries(store: store, projection: ListingProjection(base: .standard, now: clock.function), calendar: .amsterdam, now: clock.function)
            #expect(try await again.list(status: nil, expiringWithinDays: nil, limit: 10, offset: 0) == rows)
        } catch {
            await store.close()
            throw error
        }
        await store.close()
    }

    /// Migration 0022 on a ledger with history: the books are emptied (a journal row and the books' checkpoint
    /// written before it are gone), and, taking the log in again, they keep the bank lines imported before it in
    /// `bank_movements` and book them as before.
    @Test(arguments: Backend.allCases)
    func theBooksAreFilledAgainWithTheBankLinesAfterMigration22(backend: Backend) async throws {
        let url = try await TestDatabase.freshURL(backend)
        let store = try await TestDatabase.open(url)
        do {
            _ = try await store.migrate(try LedgerMigrations.all(for: store.dialect).filter { $0.version < 22 })
            let line = BankMovementRecorded(
                lineKey: "0a1b2c", isCredit: false, amount: .euros(minorUnits: 6_000), bookingDate: LocalDate(iso: "2026-03-04")!, counterparty: "Finn",
                text: "your money back", returnReason: nil, occurredAt: Date(timeIntervalSince1970: 1_780_000_000)
            )
            _ = try await store.append(
                [NewEvent(id: .timeOrdered(), type: BankMovementRecorded.typeName, data: try line.encodedData())],
                to: BankMovementRecorded.streamName(lineKey: line.lineKey), expecting: .noStream
            )
            try await store.withReadModelTransaction { connection in
                try await connection.execute(
                    "INSERT INTO journal_lines (entry_id, line_no, entry_date, commit_order, position, account, amount_minor_units, currency, payment_id, method, profile_id, narration) VALUES ('stale', 0, '2026-03-04', 1, 1, 'Assets:Bank', 1, 'EUR', NULL, 'bank', NULL, 'written before 22')",
                    []
                )
                try await connection.execute("INSERT INTO projection_checkpoints (name, commit_order, position) VALUES ('books', 999999, 0)", [])
            }
            let report = try await store.migrateLedger()
            #expect(report.applied.first == "0022_bank_movements.sql", "\(report.applied)")
            let projection = BooksProjection(calendar: { .amsterdam })
            #expect(try await ProjectionRunner(store: store, projection: projection).checkpoint() == .start)
            try await ProjectionRunner(store: store, projection: projection).catchUp()
            let (movements, narrations) = try await store.withReadModelConnection { connection in
                (
                    try await connection.query("SELECT line_key, direction, amount_minor_units, paid_back_payment_id FROM bank_movements", []).map {
                        "\(try $0.text(0)) \(try $0.text(1)) \(try $0.integer(2)) \(try $0.optionalText(3) ?? "-")"
                    },
                    try await connection.query("SELECT DISTINCT narration FROM journal_lines", []).map { try $0.text(0) }
                )
            }
            #expect(movements == ["0a1b2c out 6000 -"])
            #expect(narrations == ["Money out · Finn · your money back"], "the stale row is gone, the line booked: \(narrations)")
        } catch {
            await store.close()
            throw error
        }
        await store.close()
    }

    /// Migration 0023 on a ledger with history: the payment views are emptied (a list row, a kept state and the
    /// checkpoint written before it are gone), so that they take the log in again and list each decided payment
    /// as what it was decided to be.
    @Test(arguments: Backend.allCases)
    func thePaymentViewsAreFilledAgainAfterMigration23(backend: Backend) async throws {
        try await Self.expectEmptied(
            backend, by: "0023_payment_list_purpose.sql", version: 23, projection: PaymentViewsProjection(), table: "payment_list",
            row: (
                "INSERT INTO payment_list (payment_id, method, purpose, state, refunded_minor_units, updated_at_micros) VALUES (?, ?, ?, ?, ?, ?)",
                [.text("bank-stale"), .text("bank"), .text("listing"), .text("counted"), .integer(0), .integer(1)]
            )
        )
    }

    /// Migration 0024 on a ledger with history: the listing read model is emptied (a row, a kept state and the
    /// checkpoint written before it are gone), so that it takes the log in again under the waiver rule of 0024.
    @Test(arguments: Backend.allCases)
    func theListingReadModelIsFilledAgainAfterMigration24(backend: Backend) async throws {
        try await Self.expectEmptied(
            backend, by: "0024_waivers_that_never_counted.sql", version: 24, projection: ListingProjection(base: .standard, now: { Date() }),
            table: "listing_status",
            row: (
                "INSERT INTO listing_status (profile_id, display_name, kind, status, visible, credit_minor_units, stream_version) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [.text("stale"), .text("Stale"), .text("mediator"), .text("expired"), .bool(false), .integer(0), .integer(4)]
            )
        )
    }

    /// Migration 0025 on a ledger with history: the books are emptied (a line, a kept state and the checkpoint
    /// written before it are gone), so that they take the log in again and book each account's opening balance from
    /// the earliest statement that states one.
    @Test(arguments: Backend.allCases)
    func theBooksAreFilledAgainAfterMigration25(backend: Backend) async throws {
        try await Self.expectEmptied(
            backend, by: "0025_bank_opening_moves.sql", version: 25, projection: BooksProjection(calendar: { .amsterdam }), table: "journal_lines",
            row: (
                "INSERT INTO journal_lines (entry_id, line_no, entry_date, commit_order, position, account, amount_minor_units, currency, payment_id, method, profile_id, narration) VALUES (?, 0, '2026-03-04', 1, 1, 'Assets:Bank', 1, 'EUR', NULL, 'bank', NULL, 'written before 25')",
                [.text("stale")]
            )
        )
    }

    /// Migration 0026 on a ledger with history: the listing, the books and the payment views are each emptied,
    /// so that they take the log in again under the refund and correction rules of 0026.
    @Test(arguments: Backend.allCases)
    func theListingBooksAndPaymentViewsAreFilledAgainAfterMigration26(backend: Backend) async throws {
        try await Self.expectEmptied(
            backend, by: "0026_refunds_and_corrections.sql", version: 26, projection: ListingProjection(base: .standard, now: { Date() }),
            table: "listing_status",
            row: (
                "INSERT INTO listing_status (profile_id, display_name, kind, status, visible, credit_minor_units, stream_version) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [.text("stale"), .text("Stale"), .text("mediator"), .text("expired"), .bool(false), .integer(0), .integer(4)]
            )
        )
        try await Self.expectEmptied(
            backend, by: "0026_refunds_and_corrections.sql", version: 26, projection: BooksProjection(calendar: { .amsterdam }), table: "journal_lines",
            row: (
                "INSERT INTO journal_lines (entry_id, line_no, entry_date, commit_order, position, account, amount_minor_units, currency, payment_id, method, profile_id, narration) VALUES (?, 0, '2026-03-04', 1, 1, 'Assets:Bank', 1, 'EUR', NULL, 'bank', NULL, 'written before 26')",
                [.text("stale")]
            )
        )
        try await Self.expectEmptied(
            backend, by: "0026_refunds_and_corrections.sql", version: 26, projection: PaymentViewsProjection(), table: "payment_list",
            row: (
                "INSERT INTO payment_list (payment_id, method, purpose, state, refunded_minor_units, updated_at_micros) VALUES (?, ?, ?, ?, ?, ?)",
                [.text("bank-stale"), .text("bank"), .text("listing"), .text("refunded"), .integer(1_000_000), .integer(1)]
            )
        )
    }

    /// Migration 0027 on a ledger with history: the books are emptied, so that they take the log in again and date
    /// no entry of a payment before its receipt.
    @Test(arguments: Backend.allCases)
    func theBooksAreFilledAgainAfterMigration27(backend: Backend) async throws {
        try await Self.expectEmptied(
            backend, by: "0027_entries_not_before_receipt.sql", version: 27, projection: BooksProjection(calendar: { .amsterdam }), table: "journal_lines",
            row: (
                "INSERT INTO journal_lines (entry_id, line_no, entry_date, commit_order, position, account, amount_minor_units, currency, payment_id, method, profile_id, narration) VALUES (?, 0, '2026-03-04', 1, 1, 'Assets:Bank', 1, 'EUR', NULL, 'bank', NULL, 'written before 27')",
                [.text("stale")]
            )
        )
    }

    /// Migration 0028 on a ledger with history: the books and the payment views are each emptied, so that they take
    /// the log in again with each report covering only the reversals by hand recorded before it.
    @Test(arguments: Backend.allCases)
    func theBooksAndPaymentViewsAreFilledAgainAfterMigration28(backend: Backend) async throws {
        try await Self.expectEmptied(
            backend, by: "0028_reversals_by_hand_from_their_own_time.sql", version: 28, projection: BooksProjection(calendar: { .amsterdam }),
            table: "journal_lines",
            row: (
                "INSERT INTO journal_lines (entry_id, line_no, entry_date, commit_order, position, account, amount_minor_units, currency, payment_id, method, profile_id, narration) VALUES (?, 0, '2026-03-04', 1, 1, 'Assets:Bank', 1, 'EUR', NULL, 'bank', NULL, 'written before 28')",
                [.text("stale")]
            )
        )
        try await Self.expectEmptied(
            backend, by: "0028_reversals_by_hand_from_their_own_time.sql", version: 28, projection: PaymentViewsProjection(), table: "payment_list",
            row: (
                "INSERT INTO payment_list (payment_id, method, purpose, state, refunded_minor_units, updated_at_micros) VALUES (?, ?, ?, ?, ?, ?)",
                [.text("bank-stale"), .text("bank"), .text("listing"), .text("refunded"), .integer(1_000_000), .integer(1)]
            )
        )
    }

    /// On a ledger migrated up to `version`, with `row` in `table` and a kept state and a checkpoint of
    /// `projection`: migrating on applies `fileName` first, and leaves the table, the states and the checkpoint
    /// empty, so that the read model takes the log in again from its start.
    static func expectEmptied(
        _ backend: Backend, by fileName: String, version: Int, projection: any Projection, table: String, row: (sql: String, binds: [SQLValue])
    ) async throws {
        let store = try await TestDatabase.open(try await TestDatabase.freshURL(backend))
        do {
            _ = try await store.migrate(try LedgerMigrations.all(for: store.dialect).filter { $0.version < version })
            try await store.withReadModelTransaction { connection in
                try await connection.execute(row.sql, row.binds)
                try await connection.execute(
                    "INSERT INTO projection_states (projection, stream, version, state) VALUES (?, 'stale', 3, '{}')", [.text(projection.name)]
                )
                try await connection.execute(
                    "INSERT INTO projection_checkpoints (name, commit_order, position) VALUES (?, 999999, 0)", [.text(projection.name)]
                )
            }
            let report = try await store.migrateLedger()
            #expect(report.applied.first == fileName, "\(report.applied)")
            let (rows, states) = try await store.withReadModelConnection { connection in
                (
                    try await connection.query("SELECT COUNT(*) FROM \(table)", []).first.map { try $0.integer(0) },
                    try await connection.query("SELECT COUNT(*) FROM projection_states WHERE projection = ?", [.text(projection.name)]).first.map { try $0.integer(0) }
                )
            }
            #expect(rows == 0 && states == 0, "\(table): \(rows ?? -1) rows, \(states ?? -1) states")
            #expect(try await ProjectionRunner(store: store, projection: projection).checkpoint() == .start)
        } catch {
            await store.close()
            throw error
        }
        await store.close()
    }
}
