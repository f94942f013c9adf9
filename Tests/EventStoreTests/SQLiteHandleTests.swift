@testable import EventStore
import Foundation
import NIOPosix
import TestSupport
import Testing

/// The store's own SQLite connection: kept statements, binds, one turn per piece of work.
@Suite("SQLite connection")
struct SQLiteHandleTests {
    /// Opens two connections to a new file, runs `body`, closes them.
    private func withConnections(_ body: (SQLiteHandle, SQLiteHandle) async throws -> Void) async throws {
        let path = TestScratch.folder.appendingPathComponent("handle-\(UUID().uuidString).sqlite").path
        let threadPool = NIOThreadPool(numberOfThreads: 2)
        threadPool.start()
        let first = try await SQLiteHandle.open(path: path, threadPool: threadPool)
        let second = try await SQLiteHandle.open(path: path, threadPool: threadPool)
        do {
            try await first.run { try $0.execute("PRAGMA journal_mode=WAL") }
            try await body(first, second)
        } catch {
            await first.close()
            await second.close()
            try await threadPool.shutdownGracefully()
            throw error
        }
        await first.close()
        await second.close()
        try await threadPool.shutdownGracefully()
    }

    /// Empty text and empty bytes are values, not NULL; text keeps a NUL inside it; integers keep their ends.
    @Test
    func valuesComeBackAsTheyWereBound() async throws {
        try await withConnections { connection, _ in
            let bound: [SQLiteValue] = [
                .text(""), .blob(Data()), .text("a\u{0}b é €"), .blob(Data([0, 1, 255])), .integer(.min), .integer(.max), .real(0.5), .null,
            ]
            let rows = try await connection.query(
                "SELECT ?, typeof(?2), ?2, ?, ?, ?, ?, ?, ?", [bound[0], bound[1], bound[2], bound[3], bound[4], bound[5], bound[6], bound[7]]
            )
            // `?2` refers to the second value twice, so the statement takes eight.
            let row = try #require(rows.first)
            #expect(row.values == [.text(""), .text("blob"), .blob(Data()), .text("a\u{0}b é €"), .blob(Data([0, 1, 255])), .integer(.min), .integer(.max), .real(0.5), .null])
            #expect(row.names.count == 9)
        }
    }

    /// More distinct statements than are kept: each still answers its own query, and the kept ones stay bounded.
    @Test
    func moreStatementsThanAreKeptEachAnswerTheirOwnQuery() async throws {
        try await withConnections { connection, _ in
            for round in 0..<2 {
                for number in 0..<(SQLiteHandle.statementsKeptMax * 2 + 7) {
                    let rows = try await connection.query("SELECT ? + \(number)", [.integer(Int64(round))])
                    #expect(rows.first?.values == [.integer(Int64(number + round))])
                }
            }
            let kept = try await connection.run { $0.keptStatementCount }
            #expect(kept > 0 && kept <= SQLiteHandle.statementsKeptMax)
        }
    }

    /// A statement taking more values than are kept answers and is not kept: lists of ids or rows vary in
    /// length, and each length is a statement of its own.
    @Test
    func aStatementOfManyValuesIsNotKept() async throws {
        try await withConnections { connection, _ in
            _ = try await connection.query("SELECT 1")
            let before = try await connection.run { $0.keptStatementCount }
            let count = SQLiteHandle.valuesKeptMax + 1
            for _ in 0..<2 {
                // Is 7 among 2, 2, …, 2, 7?
                let marks = Array(repeating: "?", count: count - 1).joined(separator: ", ")
                let binds: [SQLiteValue] = [.integer(7)] + Array(repeating: .integer(2), count: count - 2) + [.integer(7)]
                let rows = try await connection.query("SELECT ? IN (\(marks))", binds)
                #expect(rows.first?.values == [.integer(1)])
            }
            let after = try await connection.run { $0.keptStatementCount }
            #expect(before > 0 && after == before)
        }
    }

    /// Work handed to one connection from many tasks at once takes turns: every answer is its own query's, and
    /// the statements kept stay bounded while the keeping starts afresh again and again.
    @Test
    func workHandedToOneConnectionAtOnceTakesTurns() async throws {
        try await withConnections { connection, _ in
            let wrong = try await withThrowingTaskGroup(of: Int.self) { group in
                for lane in 0..<8 {
                    group.addTask {
                        var wrong = 0
                        for number in 0..<200 {
                            let rows = try await connection.query("SELECT ? + \(lane * 1_000 + number)", [.integer(1)])
                            if rows.first?.values != [.integer(Int64(lane * 1_000 + number + 1))] { wrong += 1 }
                        }
                        return wrong
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(wrong == 0)
            let kept = try await connection.run { $0.keptStatementCount }
            #expect(kept > 0 && kept <= SQLiteHandle.statementsKeptMax)
        }
    }

    /// A statement run while another one's rows are read may start the keeping afresh; the one being read
    /// is kept through it and reads on. Running a statement again while its own rows are read is refused.
    @Test
    func aStatementRunWhileAnothersRowsAreReadLeavesThatOneReading() async throws {
        try await withConnections { connection, _ in
            try await connection.run { connection in
                try connection.execute("CREATE TABLE t (n INTEGER)")
                try connection.execute("INSERT INTO t VALUES (1), (2), (3)")
            }
            let sums = try await connection.run { connection in
                try connection.rows("SELECT n FROM t ORDER BY n", []) { columns in
                    let n = columns.integer(0) ?? 0
                    // Enough new statements that the keeping starts afresh while this one is on a row.
                    var sum: Int64 = 0
                    for offset in 0..<(SQLiteHandle.statementsKeptMax + 1) {
                        sum += try connection.rows("SELECT ? + \(offset)", [.integer(n)]) { $0.integer(0) ?? 0 }.reduce(0, +)
                    }
                    return sum
                }
            }
            let width = Int64(SQLiteHandle.statementsKeptMax + 1)
            #expect(sums == [1, 2, 3].map { $0 * width + width * (width - 1) / 2 })
            let again = await #expect(throws: SQLiteFailure.self) {
                try await connection.run { connection in
                    try connection.rows("SELECT n FROM t", []) { _ in try connection.execute("SELECT n FROM t") }
                }
            }
            #expect(again?.message.contains("was run again while its rows were being read") == true)
        }
    }

    /// Text holding two statements is refused whole rather than run in part; a comment after one is fine.
    @Test
    func textHoldingASecondStatementIsRefused() async throws {
        try await withConnections { connection, _ in
            try await connection.run { try $0.execute("CREATE TABLE t (n INTEGER)") }
            await #expect(throws: SQLiteFailure.self) {
                try await connection.run { try $0.execute("INSERT INTO t VALUES (1); INSERT INTO t VALUES (2)") }
            }
            // A second statement that cannot even be prepared yet (its table does not exist) is refused too.
            await #expect(throws: SQLiteFailure.self) {
                try await connection.run { try $0.execute("CREATE TABLE u (n INTEGER); INSERT INTO u VALUES (1)") }
            }
            let made = try await connection.query("SELECT name FROM sqlite_master WHERE name = 'u'")
            #expect(made.isEmpty)
            try await connection.run { try $0.execute("INSERT INTO t VALUES (3); -- the third") }
            let rows = try await connection.query("SELECT n FROM t ORDER BY n")
            #expect(rows.map(\.values) == [[.integer(3)]])
        }
    }

    /// A statement given more or fewer values than it takes is refused, not run with NULLs or an error later.
    @Test
    func bindsOfTheWrongCountAreRefused() async throws {
        try await withConnections { connection, _ in
            for binds: [SQLiteValue] in [[], [.integer(1)], [.integer(1), .integer(2), .integer(3)]] {
                let error = await #expect(throws: SQLiteFailure.self) { try await connection.query("SELECT ?, ?", binds) }
                #expect(error?.message == "the statement takes 2 values and was given \(binds.count)")
            }
            let bothBound = try await connection.query("SELECT ?, ?", [.integer(1), .integer(2)])
            #expect(bothBound.first?.values == [.integer(1), .integer(2)])
        }
    }

    /// A read that fails part-way through its rows holds no snapshot afterwards: the next read on the same
    /// connection sees what was committed meanwhile.
    @Test
    func aReadThatFailsPartWayHoldsNoSnapshot() async throws {
        struct Stop: Error {}
        try await withConnections { reader, writer in
            try await writer.run { try $0.execute("CREATE TABLE t (n INTEGER)") }
            try await writer.run { try $0.execute("INSERT INTO t VALUES (1), (2), (3)") }
            await #expect(throws: Stop.self) {
                try await reader.run { reader in try reader.rows("SELECT n FROM t", []) { _ in throw Stop() } }
            }
            try await writer.run { try $0.execute("INSERT INTO t VALUES (4)") }
            let counted = try await reader.query("SELECT count(*) FROM t")
            #expect(counted.first?.values == [.integer(4)])
        }
    }

    /// A transaction whose body fails, and one whose commit fails, are rolled back whole, and the connection
    /// can begin the next one.
    @Test
    func aFailedWriteTransactionLeavesNothingAndTheNextOneRuns() async throws {
        struct Stop: Error {}
        try await withConnections { connection, _ in
            try await connection.run { connection in
                try connection.execute("PRAGMA foreign_keys=ON")
                try connection.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
                try connection.execute("CREATE TABLE child (parent INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)")
            }
            await #expect(throws: Stop.self) {
                try await connection.run { connection in
                    try connection.inWriteTransaction {
                        try connection.execute("INSERT INTO parent VALUES (1)")
                        throw Stop()
                    }
                }
            }
            // The deferred check fails only at the commit.
            let failure = await #expect(throws: SQLiteFailure.self) {
                try await connection.run { connection in
                    try connection.inWriteTransaction { try connection.execute("INSERT INTO child VALUES (7)") }
                }
            }
            #expect(failure?.message.contains("FOREIGN KEY") == true)
            try await connection.run { connection in
                try connection.inWriteTransaction { try connection.execute("INSERT INTO parent VALUES (2)") }
            }
            let parents = try await connection.query("SELECT id FROM parent")
            #expect(parents.map(\.values) == [[.integer(2)]])
            let children = try await connection.query("SELECT count(*) FROM child")
            #expect(children.first?.values == [.integer(0)])
        }
    }

    /// A kept statement follows the table it reads when another connection changes the table's columns.
    @Test
    func aKeptStatementFollowsAChangedTable() async throws {
        try await withConnections { reader, writer in
            try await writer.run { try $0.execute("CREATE TABLE t (a INTEGER)") }
            try await writer.run { try $0.execute("INSERT INTO t VALUES (1)") }
            let before = try await reader.query("SELECT * FROM t")
            #expect(before.first?.values == [.integer(1)])
            try await writer.run { try $0.execute("ALTER TABLE t ADD COLUMN b TEXT DEFAULT 'x'") }
            let after = try await reader.query("SELECT * FROM t")
            #expect(after.first?.values == [.integer(1), .text("x")])
        }
    }

    /// A closed connection refuses work with words, rather than handing SQLite a freed connection.
    @Test
    func aClosedConnectionRefusesWork() async throws {
        try await withConnections { connection, _ in
            _ = try await connection.query("SELECT 1")
            await connection.close()
            let error = await #expect(throws: SQLiteFailure.self) { try await connection.query("SELECT 1") }
            #expect(error?.message.contains("is closed") == true)
        }
    }
}
