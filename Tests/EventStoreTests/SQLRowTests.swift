import EventStore
import Foundation
import TestSupport
import Testing

/// Read-model rows are read through typed accessors: a NULL or a value of another kind is an error naming the
/// column, never a default.
@Suite struct SQLRowTests {
    let row: SQLRow = [.text("ada"), .integer(7), .null, .blob(Data([1, 2])), .integer(1), .integer(2)]

    @Test func valuesOfTheExpectedKindAreRead() throws {
        #expect(try row.text(0) == "ada")
        #expect(try row.integer(1) == 7)
        #expect(try row.optionalText(2) == nil)
        #expect(try row.optionalInteger(2) == nil)
        #expect(try row.blob(3) == Data([1, 2]))
        #expect(try row.bool(4))
    }

    @Test(arguments: [
        "a NULL where text is required", "a NULL where an integer is required", "an integer read as text",
        "text read as an integer", "a boolean that is neither 0 nor 1", "a column past the row's end", "bytes read as text",
    ])
    func anythingElseIsAnErrorNamingTheColumn(_ case: String) {
        let read: () throws -> Void = switch `case` {
        case "a NULL where text is required": { _ = try row.text(2) }
        case "a NULL where an integer is required": { _ = try row.integer(2) }
        case "an integer read as text": { _ = try row.optionalText(1) }
        case "text read as an integer": { _ = try row.optionalInteger(0) }
        case "a boolean that is neither 0 nor 1": { _ = try row.bool(5) }
        case "a column past the row's end": { _ = try row.text(6) }
        default: { _ = try row.text(3) }
        }
        do {
            try read()
            Issue.record("\(`case`) was read without an error")
        } catch let error as EventStoreError {
            #expect(error.code == .unexpectedRow)
            #expect(error.message.contains("column"), "\(error.message)")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }
}

/// SQLite keeps a sum that overflows 64 bits as a real number; a read model reading it back gets an error naming
/// the column, not a trap (PostgreSQL refuses the sum itself).
@Suite struct OverflowedSumTests {
    @Test(arguments: Backend.allCases)
    func aSumPastInt64IsAnErrorWhenReadBack(backend: Backend) async throws {
        try await TestDatabase.withStore(backend) { store, _ in
            try await store.withReadModelTransaction { connection in
                try await connection.execute("CREATE TABLE running_totals (id INTEGER PRIMARY KEY, total BIGINT NOT NULL)")
                try await connection.execute("INSERT INTO running_totals (id, total) VALUES (1, ?)", [.integer(.max)])
            }
            do {
                try await store.withReadModelTransaction { connection in
                    try await connection.execute("UPDATE running_totals SET total = total + ? WHERE id = 1", [.integer(1)])
                    _ = try await connection.query("SELECT total FROM running_totals WHERE id = 1", [])
                }
                Issue.record("a total past Int64.max was read back")
            } catch let error as EventStoreError {
                #expect(error.code == .unexpectedRow || backend == .postgres, "\(error)")
            } catch {
                // PostgreSQL refuses the sum itself ("bigint out of range").
                #expect(backend == .postgres, "\(error)")
            }
        }
    }
}
