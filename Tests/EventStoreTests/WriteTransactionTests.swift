@testable import EventStore
import Foundation
import Synchronization
import TestSupport
import Testing

/// The store's write transactions as the read models use them: a commit that fails leaves nothing, and the
/// next transaction runs.
@Suite("Write transactions")
struct WriteTransactionTests {
    /// The commit itself fails (a deferred constraint is checked only then): the caller is told, nothing the
    /// transaction wrote is kept, and the connection begins the next transaction as usual.
    @Test(arguments: Backend.allCases)
    func aCommitThatFailsLeavesNothingAndTheNextTransactionRuns(backend: Backend) async throws {
        try await TestDatabase.withStore(backend) { store, _ in
            if let sqlite = store as? SQLiteEventStore {
                // Outside a transaction, or SQLite ignores it; the writer keeps it for the rest of the test.
                try await sqlite.writer.run { try $0.execute("PRAGMA foreign_keys=ON") }
            }
            try await store.withReadModelTransaction { connection in
                try await connection.execute("CREATE TABLE parents (id BIGINT PRIMARY KEY)")
                try await connection.execute(
                    backend == .sqlite
                        ? "CREATE TABLE children (parent BIGINT REFERENCES parents (id) DEFERRABLE INITIALLY DEFERRED)"
                        : "CREATE TABLE children (parent BIGINT UNIQUE DEFERRABLE INITIALLY DEFERRED)"
                )
            }
            // Each statement is accepted (the body runs to its end); the deferred check fails at the commit.
            let bodyEnded = Mutex(false)
            await #expect(throws: (any Error).self) {
                try await store.withReadModelTransaction { connection in
                    try await connection.execute("INSERT INTO parents (id) VALUES (1)")
                    try await connection.execute("INSERT INTO children (parent) VALUES (7)")
                    try await connection.execute("INSERT INTO children (parent) VALUES (7)")
                    bodyEnded.withLock { $0 = true }
                }
            }
            #expect(bodyEnded.withLock { $0 }, "the error came from a statement, not from the commit")
            try await store.withReadModelTransaction { connection in
                try await connection.execute("INSERT INTO parents (id) VALUES (2)")
                try await connection.execute("INSERT INTO children (parent) VALUES (2)")
            }
            try await store.withReadModelConnection { connection in
                let parents = try await connection.query("SELECT id FROM parents ORDER BY id", [])
                #expect(try parents.map { try $0.integer(0) } == [2])
                let children = try await connection.query("SELECT parent FROM children", [])
                #expect(try children.map { try $0.integer(0) } == [2])
            }
        }
    }
}
