import EventStore
import Foundation
import LedgerService
import TestSupport
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Promises the README makes about `listing-ledger` in its second half, tried by running the built executable as
/// an operator would: the journal export, the import's word on returns that match no payment, and the exit code
/// of an edited migration.
@Suite("README audit on the command line")
struct ReadmeAuditTwoCLITests {
    /// "`listing-ledger export journal [--format beancount|csv] [--from DAY] [--to DAY] [--output FILE]` writes the
    /// same journal as `/books/journal`": byte for byte what `serve` answers for the same days, in both formats
    /// and with none given (both then write Beancount), on standard output and in the file `--output` names.
    @Test
    func theExportCommandWritesTheSameJournalAsTheAPI() async throws {
        let url = try await TestDatabase.freshURL(.sqlite).connectionString
        #expect(try await CLI.run(["migrate", "--database-url", url]).status == 0)
        let statement = CamtStatementBuilder(statements: [.init(id: "EX-1", iban: "NL91ABNA0417164300", entries: [
            .init(date: "2026-03-02", bankReference: "EX-R1", transactions: [.init(amount: "125.00", payerName: "Ada", text: "no reference")]),
            .init(date: "2026-03-02", bankReference: "EX-R2", transactions: [.init(amount: "30.00", payerName: "Bo", text: "gift")]),
            .init(credit: false, date: "2026-03-03", bankReference: "EX-R3", transactions: [.init(amount: "2.00", text: "fee")]),
        ])])
        let imported = try await CLI.run(["import-statement", try statement.write().path, "--database-url", url])
        #expect(imported.status == 0, "\(imported.stderr)")
        let created = try await CLI.run(["keys", "create", "--role", "staff", "--name", "Accountant", "--database-url", url])
        #expect(created.status == 0, "\(created.stderr)")
        let key = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)

        let folder = TestScratch.folder.appendingPathComponent("ledger-audit-two-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let server = try CLI.start(["serve", "--host", "127.0.0.1", "--port", "0", "--database-url", url], directory: folder)
        do {
            let line = try await server.waitForLine(containing: "listening on", timeout: .seconds(60))
            let address = try #require(line.split(separator: " ").first { $0.hasPrefix("http://") })
            let port = try #require(address.split(separator: ":").last.flatMap { Int($0) })
            for given in [nil, "beancount", "csv"] {
                let format = given ?? "beancount"
                let range = ["--from", "2026-01-01", "--to", "2026-12-31"] + (given.map { ["--format", $0] } ?? [])
                let query = (given.map { "format=\($0)&" } ?? "") + "from=2026-01-01&to=2026-12-31"
                var request = URLRequest(url: try #require(URL(string: "http://127.0.0.1:\(port)/api/v1/books/journal?\(query)")))
                request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization")
                let (body, response) = try await URLSession.shared.data(for: request)
                #expect((response as? HTTPURLResponse)?.statusCode == 200, "\(format)")
                let fromAPI = String(decoding: body, as: UTF8.self)
                #expect(fromAPI.contains("Liabilities:UnidentifiedReceipts") && fromAPI.contains("Expenses:Bank:Outgoing"), "\(format): \(fromAPI)")

                #expect(given != nil || fromAPI.hasPrefix("; The books of"), "with no format the API answers Beancount: \(fromAPI.prefix(200))")
                let printed = try await CLI.run(["export", "journal"] + range + ["--database-url", url])
                #expect(printed.status == 0, "\(format): \(printed.stderr)")
                #expect(printed.stdout == fromAPI, "\(format): the command and the API differ.\ncommand:\n\(printed.stdout)\nAPI:\n\(fromAPI)")

                let file = folder.appendingPathComponent("2026-\(given ?? "none").\(format)")
                let written = try await CLI.run(["export", "journal"] + range + ["--output", file.path, "--database-url", url])
                #expect(written.status == 0 && written.stdout.isEmpty, "\(format): \(written.stderr)")
                #expect(try String(contentsOf: file, encoding: .utf8) == fromAPI, "\(format): the file differs from the API's answer")
            }
        } catch {
            _ = try? await server.terminate()
            throw error
        }
        #expect(try await server.terminate() == 0)
    }

    /// "A return that matches no payment reverses nothing, so the import counts it apart (… a line … in
    /// `import-statement`'s output; a statement imported again does not count it again)".
    @Test
    func importStatementSaysWhenReturnsMatchNoPaymentAndOnlyOnce() async throws {
        let url = try await TestDatabase.freshURL(.sqlite).connectionString
        #expect(try await CLI.run(["migrate", "--database-url", url]).status == 0)
        let file = try CamtStatementBuilder(statements: [.init(id: "RET-CLI", iban: "NL91ABNA0417164300", entries: [
            .init(credit: false, date: "2026-03-05", bankReference: "RC-1", transactions: [
                .init(amount: "60.00", endToEndID: "E2E-ELSEWHERE", payerName: "Dan", returnReason: "MD06"),
            ]),
            .init(credit: false, date: "2026-03-05", bankReference: "RC-2", transactions: [.init(amount: "4.50", text: "account fee")]),
        ])]).write()
        let first = try await CLI.run(["import-statement", file.path, "--database-url", url])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("debits 1, returns 0"), "the return reversed nothing: \(first.stdout)")
        let said = first.stdout.split(separator: "\n").filter { $0.contains("match no payment") }
        #expect(said.count == 1 && said.first?.contains("1 returned transfer") == true, "\(first.stdout)")

        let again = try await CLI.run(["import-statement", file.path, "--database-url", url])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(again.stdout.contains("already imported 2"), "\(again.stdout)")
        #expect(!again.stdout.contains("match no payment"), "counted again: \(again.stdout)")
    }

    /// "Exit codes: … `78` configuration error (including an edited, already-applied migration)": once an applied
    /// migration's recorded checksum no longer matches this build's file, `migrate` and a command that opens the
    /// ledger (`keys list`) exit 78, naming the migration.
    @Test(arguments: Backend.allCases)
    func anEditedAppliedMigrationExitsWith78(backend: Backend) async throws {
        let url = try await TestDatabase.freshURL(backend)
        #expect(try await CLI.run(["migrate", "--database-url", url.connectionString]).status == 0)
        let store = try await TestDatabase.open(url)
        let edited: Migration
        do {
            edited = try #require(try LedgerMigrations.all(for: store.dialect).first)
            let version = Int64(edited.version)
            // What the database then holds is what it would hold had the file been edited after it was applied.
            try await store.withReadModelTransaction { connection in
                try await connection.execute("UPDATE schema_migrations SET checksum = ? WHERE version = ?", [.text("0000edited"), .integer(version)])
            }
        } catch {
            await store.close()
            throw error
        }
        await store.close()

        for arguments in [["migrate"], ["keys", "list"]] {
            let result = try await CLI.run(arguments + ["--database-url", url.connectionString])
            #expect(result.status == 78, "\(arguments): \(result.status) \(result.stderr)")
            #expect(result.stderr.contains("was edited after it was applied") && result.stderr.contains(edited.fileName), "\(arguments): \(result.stderr)")
        }
    }
}
