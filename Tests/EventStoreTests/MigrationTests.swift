@testable import EventStore
import Foundation
import TestSupport
import Testing

@Suite("Migrations")
struct MigrationTests {
    @Test(arguments: Backend.allCases)
    func aSecondRunAppliesNothing(backend: Backend) async throws {
        let url = try await TestDatabase.freshURL(backend)
        let store = try await TestDatabase.open(url)
        defer { Task { await store.close() } }
        let builtIn = try MigrationCatalog.migrations(for: backend == .sqlite ? .sqlite : .postgres)
        #expect(try await store.pendingMigrations().count == builtIn.count)
        let first = try await store.migrate()
        #expect(first.applied == builtIn.map(\.fileName))
        let second = try await store.migrate()
        #expect(second.applied.isEmpty && second.alreadyApplied == builtIn.count)
        #expect(try await store.pendingMigrations().isEmpty)
    }

    @Test(arguments: Backend.allCases)
    func anEditedAppliedMigrationStopsStartUp(backend: Backend) async throws {
        try await TestDatabase.withStore(backend) { store, _ in
            var edited = try MigrationCatalog.migrations(for: backend == .sqlite ? .sqlite : .postgres)
            edited[0] = Migration(version: edited[0].version, name: edited[0].name, sql: edited[0].sql + "\n-- edited")
            let error = try await expectStoreError(.migration) { _ = try await store.migrate(edited) }
            #expect(error.message.contains("was edited after it was applied"))
            #expect(error.message.contains(edited[0].fileName))
        }
    }

    @Test(arguments: Backend.allCases)
    func aFailingMigrationIsRolledBackWhole(backend: Backend) async throws {
        try await TestDatabase.withStore(backend) { store, _ in
            var migrations = try MigrationCatalog.migrations(for: backend == .sqlite ? .sqlite : .postgres)
            migrations.append(Migration(version: 9_999, name: "broken", sql: "CREATE TABLE half_done (id INTEGER);\nTHIS IS NOT SQL;"))
            try await expectStoreError(.migration) { _ = try await store.migrate(migrations) }
            let tables = try await store.withReadModelConnection { connection in
                try await connection.query(
                    backend == .sqlite
                        ? "SELECT name FROM sqlite_master WHERE name = 'half_done'"
                        : "SELECT tablename FROM pg_tables WHERE tablename = 'half_done'",
                    []
                )
            }
            #expect(tables.isEmpty)
        }
    }

    @Test
    func twoInstancesMigratingAtOnceApplyEachMigrationOnce() async throws {
        let url = try await TestDatabase.freshURL(.postgres)
        let stores = [try await TestDatabase.open(url), try await TestDatabase.open(url), try await TestDatabase.open(url)]
        let reports = try await withThrowingTaskGroup(of: MigrationReport.self) { group in
            for store in stores { group.addTask { try await store.migrate() } }
            return try await group.reduce(into: [MigrationReport]()) { $0.append($1) }
        }
        let builtIn = try MigrationCatalog.migrations(for: .postgres)
        #expect(reports.map(\.applied.count).sorted() == [0, 0, builtIn.count])
        for store in stores { await store.close() }
    }

    @Test
    func scriptsSplitOnlyBetweenStatements() {
        let script = """
            -- a comment; with a semicolon
            CREATE TABLE a (note TEXT DEFAULT 'x;y');
            CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$;
            /* block; comment */ SELECT $1::int;
            SELECT $tag$ inner; $$ text $tag$
            """
        let statements = SQLScript.statements(in: script)
        #expect(statements.count == 4)
        #expect(statements[0] == "CREATE TABLE a (note TEXT DEFAULT 'x;y')")
        #expect(statements[1].hasSuffix("$$ BEGIN RETURN 1; END $$"))
        #expect(statements[2].hasSuffix("SELECT $1::int"))
        #expect(statements[3] == "SELECT $tag$ inner; $$ text $tag$")
    }
}
