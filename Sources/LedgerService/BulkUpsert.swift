import EventStore

/// One `INSERT … VALUES (…), (…) ON CONFLICT …` per chunk of rows instead of one statement per row: a read
/// model's batch writes its rows in a few statements.
///
/// The rows of one call must have distinct conflict keys (PostgreSQL refuses to update a row twice in one
/// statement); the folds write one row per stream, so theirs do.
struct BulkUpsert: Sendable {
    let table: String
    let columns: [String]
    /// What follows the `VALUES` list: the `ON CONFLICT` clause.
    let onConflict: String

    /// Binds per statement, well under both backends' limits (SQLite 32,766; PostgreSQL 65,535).
    static var bindsPerStatementMax: Int { 4_000 }

    func write(_ rows: [[SQLValue]], _ connection: any ReadModelConnection) async throws {
        guard !rows.isEmpty else { return }
        let rowsPerStatement = max(1, Self.bindsPerStatementMax / columns.count)
        let tuple = "(" + Array(repeating: "?", count: columns.count).joined(separator: ", ") + ")"
        let head = "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES "
        var start = rows.startIndex
        while start < rows.endIndex {
            let chunk = rows[start..<min(start + rowsPerStatement, rows.endIndex)]
            start = chunk.endIndex
            var binds: [SQLValue] = []
            binds.reserveCapacity(chunk.count * columns.count)
            for row in chunk {
                precondition(row.count == columns.count, "a \(table) row has \(row.count) values for \(columns.count) columns")
                binds += row
            }
            let values = Array(repeating: tuple, count: chunk.count).joined(separator: ", ")
            try await connection.execute(head + values + " " + onConflict, binds)
        }
    }
}
