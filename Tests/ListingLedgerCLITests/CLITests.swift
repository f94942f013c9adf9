import EventStore
import Foundation
import FoundationNetworking
import LedgerService
import TestSupport
import Testing

/// Runs the built `listing-ledger` executable as a person or a script would.
@Suite("listing-ledger command line")
struct CLITests {
    @Test(arguments: Backend.allCases)
    func migrateCreatesTheSchemaAndASecondRunChangesNothing(backend: Backend) async throws {
        let url = try await TestDatabase.freshURL(backend).connectionString
        let first = try await CLI.run(["migrate", "--database-url", url])
        #expect(first.status == 0, "\(first.stderr)")
        let builtIn = try LedgerMigrations.all(for: backend == .sqlite ? .sqlite : .postgres)
        #expect(first.stdout.contains("applied " + builtIn.map(\.fileName).joined(separator: ", ")))
        let second = try await CLI.run(["migrate", "--database-url", url])
        #expect(second.status == 0)
        #expect(second.stdout.contains("up to date (\(builtIn.count) migrations applied before)"))
    }

    /// An unknown database scheme is a configuration error (78) where it comes from the environment, and a usage
    /// error naming the option (64) where it was given on the command line; so are a log level and format.
    @Test
    func anUnknownDatabaseSchemeIsAConfigurationErrorOrAUsageErrorNamingTheOption() async throws {
        let fromEnvironment = try await CLI.run(["migrate"], environment: ["LEDGER_DATABASE_URL": "mysql://root@localhost/ledger"])
        #expect(fromEnvironment.status == 78)
        #expect(fromEnvironment.stderr.contains("LEDGER_DATABASE_URL: the database URL scheme 'mysql' is not supported"), "\(fromEnvironment.stderr)")
        for (arguments, message) in [
            (["--database-url", "mysql://root@localhost/ledger"], "--database-url: the database URL scheme 'mysql' is not supported"),
            (["--log-level", "loud"], "--log-level must be trace, debug, info, notice, warning, error or critical, not 'loud'"),
            (["--log-format", "xml"], "--log-format must be text or json, not 'xml'"),
        ] {
            let result = try await CLI.run(["migrate"] + arguments)
            #expect(result.status == 64, "\(arguments): \(result.status) \(result.stderr)")
            #expect(result.stderr.contains(message) && !result.stderr.contains("LEDGER_"), "\(arguments): \(result.stderr)")
        }
    }

    @Test
    func anUnreachableDatabaseFailsFastWithItsCause() async throws {
        let started = ContinuousClock.now
        let result = try await CLI.run(["migrate", "--database-url", "postgres://ledger@127.0.0.1:1/ledger?sslmode=disable"])
        #expect(result.status == 69)
        #expect(result.stderr.contains("PostgreSQL at postgres://ledger@127.0.0.1:1/ledger: the connection failed"))
        #expect(result.stderr.contains("Connection refused"))
        #expect(ContinuousClock.now - started < .seconds(30))
    }

    @Test
    func wrongPostgresCredentialsAreReportedAsSuch() async throws {
        var settings = try TestDatabase.adminSettings()
        settings.database = "no_such_database_\(UUID().uuidString.prefix(8).lowercased())"
        let result = try await CLI.run(["migrate", "--database-url", DatabaseURL.postgres(settings).connectionString])
        #expect(result.status == 69)
        #expect(result.stderr.contains("the database does not exist"))
    }

    @Test
    func directoryEndpointsAreAddedListedRotatedAndDisabled() async throws {
        let url = try await TestDatabase.freshURL(.sqlite).connectionString
        #expect(try await CLI.run(["migrate", "--database-url", url]).status == 0)
        let added = try await CLI.run(["endpoints", "add", "https://directory.example/hooks", "--database-url", url])
        #expect(added.status == 0, "\(added.stderr)")
        let secret = added.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(secret.hasPrefix("whsec_"))
        let endpointID = try #require(added.stderr.split(separator: " ").first { $0.hasPrefix("ep_") }.map(String.init))

        let rotated = try await CLI.run(["endpoints", "rotate-secret", endpointID, "--database-url", url])
        #expect(rotated.status == 0)
        #expect(rotated.stdout.hasPrefix("whsec_") && !rotated.stdout.contains(secret))
        // Again within the day: refused, so the first secret keeps signing (it stopped at once before).
        let again = try await CLI.run(["endpoints", "rotate-secret", endpointID, "--database-url", url])
        #expect(again.status == 1 && again.stderr.contains("is rotating its secret") && again.stdout.isEmpty, "\(again.stderr)")
        let signing = try await CLI.run(["endpoints", "list", "--database-url", url])
        #expect(signing.stdout.contains("rotating"))
        #expect(try await CLI.run(["endpoints", "disable", endpointID, "--database-url", url]).status == 0)
        let listed = try await CLI.run(["endpoints", "list", "--database-url", url])
        #expect(listed.stdout.contains("\(endpointID)\thttps://directory.example/hooks"))
        #expect(listed.stdout.contains("disabled") && listed.stdout.contains("rotating"))
        #expect(!listed.stdout.contains("whsec_"))

        let badURL = try await CLI.run(["endpoints", "add", "not a url", "--database-url", url])
        #expect(badURL.status == 1)
        #expect(badURL.stderr.contains("absolute http(s) URL"))
        let unknown = try await CLI.run(["endpoints", "disable", "ep_nope", "--database-url", url])
        #expect(unknown.status == 1)
        #expect(unknown.stderr.contains("no directory endpoint 'ep_nope'"))
        // What the command cannot take is a usage error, exit code 64.
        let replay = try await CLI.run(["endpoints", "replay", "--database-url", url])
        #expect(replay.status == 64)
        #expect(replay.stderr.contains("exactly one of --delivery and --since"))
        let notDead = try await CLI.run(["endpoints", "replay", "--delivery", "999999", "--database-url", url])
        #expect(notDead.status == 1 && notDead.stderr.contains("delivery 999999 is not a dead letter"), "\(notDead.stdout) \(notDead.stderr)")
        let badSince = try await CLI.run(["endpoints", "replay", "--since", "yesterday", "--database-url", url])
        #expect(badSince.status == 64 && badSince.stderr.contains("is not an instant"), "\(badSince.stderr)")
        // Written right but before the ledger's dates: the message names the range, not only the shape.
        let earlySince = try await CLI.run(["endpoints", "replay", "--since", "1999-01-01T00:00:00Z", "--database-url", url])
        #expect(earlySince.status == 64 && earlySince.stderr.contains("between 2000-01-01 and 2199-12-31"), "\(earlySince.stderr)")
        let badType = try await CLI.run(["endpoints", "add", "https://directory.example/other", "--event-type", "x", "--database-url", url])
        #expect(badType.status == 64 && badType.stderr.contains("unknown event type 'x'"), "\(badType.stderr)")
    }

    /// A long outage can leave more dead letters than one page of the query holds: the command lists them all.
    @Test
    func everyDeadLetterIsListed() async throws {
        let url = try await TestDatabase.freshURL(.sqlite)
        #expect(try await CLI.run(["migrate", "--database-url", url.connectionString]).status == 0)
        let added = try await CLI.run(["endpoints", "add", "https://directory.example/hooks", "--database-url", url.connectionString])
        let endpointID = try #require(added.stderr.split(separator: " ").first { $0.hasPrefix("ep_") }.map(String.init))
        let count = DirectoryQueries.pageSizeMax * 2 + 1
        let store = try await TestDatabase.open(url)
        do {
            try await store.withReadModelTransaction { connection in
                for index in 0..<count {
                    try await connection.execute(
                        """
                        INSERT INTO directory_deliveries (endpoint_id, event_id, event_type, profile_id, commit_order, position, recorded_at_micros,
                                                          payload, status, attempts, next_attempt_at_micros, last_error)
                        VALUES (?, ?, 'listing.visibility_changed', ?, ?, ?, 0, '{}', 'dead', 8, 0, 'HTTP 503')
                        """,
                        [.text(endpointID), .text(UUID().uuidString.lowercased()), .text("p-\(index)"), .integer(Int64(index + 1)), .integer(Int64(index + 1))]
                    )
                }
            }
        } catch {
            await store.close()
            throw error
        }
        await store.close()
        let listed = try await CLI.run(["endpoints", "dead-letters", "--database-url", url.connectionString])
        #expect(listed.status == 0, "\(listed.stderr)")
        let lines = listed.stdout.split(separator: "\n")
        #expect(lines.count == count)
        #expect(Set(lines.map { $0.split(separator: "\t")[3] }).count == count)
    }

    /// A statement through the command line on PostgreSQL: a summary, a re-import that books nothing, and an
    /// unsafe file refused with exit code 1 and a reason.
    @Test
    func aStatementIsImportedOnceAndAnUnsafeOneIsRefused() async throws {
        let url = try await TestDatabase.freshURL(.postgres).connectionString
        #expect(try await CLI.run(["migrate", "--database-url", url]).status == 0)
        let statement = CamtStatementBuilder(statements: [.init(id: "S-1", iban: "NL91ABNA0417164300", entries: [
            .init(date: "2026-03-02", bankReference: "R-1", transactions: [.init(amount: "125.00", payerName: "Ada", text: "no reference")]),
            .init(date: "2026-03-02", bankReference: "R-2", transactions: [.init(amount: "30.00", payerName: "Bo", text: "gift")]),
            .init(credit: false, date: "2026-03-03", bankReference: "R-3", transactions: [.init(amount: "2.00", text: "fee")]),
        ])])
        let file = try statement.write()
        let first = try await CLI.run(["import-statement", file.path, "--database-url", url])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("camt053, 1 statement(s), 3 line(s)"))
        #expect(first.stdout.contains("queued for staff 2") && first.stdout.contains("debits 1"))
        let again = try await CLI.run(["import-statement", file.path, "--database-url", url])
        #expect(again.stdout.contains("already imported 3"))

        let unsafe = TestScratch.folder.appendingPathComponent("xxe-\(UUID().uuidString).xml")
        try Data("<?xml version=\"1.0\"?><!DOCTYPE d [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><Document>&x;</Document>".utf8).write(to: unsafe)
        let refused = try await CLI.run(["import-statement", unsafe.path, "--database-url", url])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("was rejected") && refused.stderr.contains("nothing was imported"))
        let missing = try await CLI.run(["import-statement", "/nonexistent/statement.xml", "--database-url", url])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("there is no file /nonexistent/statement.xml; nothing was imported"), "\(missing.stderr)")
        let folder = try await CLI.run(["import-statement", TestScratch.folder.path, "--database-url", url])
        #expect(folder.status == 1 && folder.stderr.contains("is a folder, not a statement file; nothing was imported"), "\(folder.stderr)")
        let badFormat = try await CLI.run(["import-statement", file.path, "--format", "x", "--database-url", url])
        #expect(badFormat.status == 64 && badFormat.stderr.contains("unknown format 'x'"), "\(badFormat.stderr)")
    }

    /// "A file bringing booking days of its account that a file of another format brought before (MT940, then camt.053 or CSV) is
    /// refused and books nothing": exit code 1, the days and the earlier format named; the camt.053 file's other
    /// day is not booked either.
    @Test
    func aStatementBringingDaysOfAnotherFormatIsRefused() async throws {
        let url = try await TestDatabase.freshURL(.sqlite).connectionString
        #expect(try await CLI.run(["migrate", "--database-url", url]).status == 0)
        let mt940 = TestScratch.folder.appendingPathComponent("day-\(UUID().uuidString).sta")
        try Data("""
            :20:D0302
            :25:NL91ABNA0417164300
            :28C:1/1
            :60F:C260302EUR0,00
            :61:2603020302C30,00NTRFNONREF
            :86:/NAME/Bo/REMI/USTD//gift
            :62F:C260302EUR30,00

            """.utf8).write(to: mt940)
        defer { try? FileManager.default.removeItem(at: mt940) }
        let first = try await CLI.run(["import-statement", mt940.path, "--database-url", url])
        #expect(first.status == 0 && first.stdout.contains("mt940, 1 statement(s), 1 line(s)"), "\(first.stdout) \(first.stderr)")
        let week = CamtStatementBuilder(statements: [.init(id: "W-1", iban: "NL91ABNA0417164300", entries: [
            .init(date: "2026-03-02", bankReference: "W-R1", transactions: [.init(amount: "30.00", payerName: "Bo", text: "gift")]),
            .init(date: "2026-03-03", bankReference: "W-R2", transactions: [.init(amount: "40.00", payerName: "Cy", text: "gift")]),
        ])])
        let refused = try await CLI.run(["import-statement", try week.write().path, "--database-url", url])
        #expect(refused.status == 1, "\(refused.stdout) \(refused.stderr)")
        #expect(refused.stderr.contains("was rejected: 1 day of this camt.053 statement (2026-03-02, account NL91ABNA0417164300 EUR) was already imported from MT940;"), "\(refused.stderr)")
        #expect(refused.stderr.contains("nothing was imported") && refused.stdout.isEmpty, "\(refused.stderr)")
        let tuesday = CamtStatementBuilder(statements: [.init(id: "D-2", iban: "NL91ABNA0417164300", entries: [
            .init(date: "2026-03-03", bankReference: "W-R2", transactions: [.init(amount: "40.00", payerName: "Cy", text: "gift")]),
        ])])
        let rest = try await CLI.run(["import-statement", try tuesday.write().path, "--database-url", url])
        #expect(rest.status == 0 && rest.stdout.contains("already imported 0"), "the refused file booked nothing of 03-03: \(rest.stdout) \(rest.stderr)")
    }

    /// "A line of 0.00 … is counted (… a line in `import-statement`'s output)".
    @Test
    func aLineOfNothingIsCountedInTheImportsOutput() async throws {
        let url = try await TestDatabase.freshURL(.sqlite).connectionString
        #expect(try await CLI.run(["migrate", "--database-url", url]).status == 0)
        let statement = CamtStatementBuilder(statements: [.init(id: "Z-9", iban: "NL91ABNA0417164300", entries: [
            .init(date: "2026-03-02", bankReference: "Z9-R1", transactions: [.init(amount: "0.00", payerName: "Bank", text: "notice")]),
        ])])
        let imported = try await CLI.run(["import-statement", try statement.write().path, "--database-url", url])
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(imported.stdout.contains("1 line(s) of 0.00 were kept as read: they move no money") && imported.stdout.contains("queued for staff 0"), "\(imported.stdout)")
    }

    /// The journal for the accountant from the command line: to standard output or a file, in either format;
    /// a bad option writes nothing and exits 64.
    @Test
    func theJournalIsExportedForTheAccountant() async throws {
        let url = try await TestDatabase.freshURL(.sqlite).connectionString
        #expect(try await CLI.run(["migrate", "--database-url", url]).status == 0)
        let statement = CamtStatementBuilder(statements: [.init(id: "S-1", iban: "NL91ABNA0417164300", entries: [
            .init(date: "2026-03-02", bankReference: "R-1", transactions: [.init(amount: "125.00", payerName: "Ada", text: "no reference")]),
            .init(credit: false, date: "2026-03-03", bankReference: "R-3", transactions: [.init(amount: "2.00", text: "fee")]),
        ])])
        #expect(try await CLI.run(["import-statement", try statement.write().path, "--database-url", url]).status == 0)

        let beancount = try await CLI.run(["export", "journal", "--database-url", url, "--from", "2026-01-01", "--to", "2026-12-31"])
        #expect(beancount.status == 0, "\(beancount.stderr)")
        #expect(beancount.stdout.hasPrefix("; The books of the International Mediation Institute listing ledger, 2026-01-01 to 2026-12-31."))
        // The postings themselves, not only the accounts' `open` lines (which every export writes).
        func postings(_ account: String) -> [String] {
            beancount.stdout.split(separator: "\n").filter { $0.hasPrefix("  \(account) ") }.map { $0.split(separator: " ").dropFirst().joined(separator: " ") }
        }
        #expect(postings("Liabilities:UnidentifiedReceipts") == ["-125.00 EUR"] && postings("Expenses:Bank:Outgoing") == ["2.00 EUR"], "\(beancount.stdout)")
        // By default from the first entry to today.
        let whole = try await CLI.run(["export", "journal", "--database-url", url])
        #expect(whole.status == 0 && whole.stdout.contains("listing ledger, 2026-03-02 to "), "\(whole.stdout.prefix(200))")

        let file = TestScratch.folder.appendingPathComponent("journal-\(UUID().uuidString).csv")
        try Data("an older export".utf8).write(to: file)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file.path)
        let csv = try await CLI.run(["export", "journal", "--database-url", url, "--format", "csv", "--output", file.path])
        #expect(csv.status == 0 && csv.stdout.isEmpty, "\(csv.stderr)")
        let written = try String(contentsOf: file, encoding: .utf8)
        #expect(written.contains("Liabilities:UnidentifiedReceipts") && !written.contains("an older export"))
        let mode = try FileManager.default.attributesOfItem(atPath: file.path)[.posixPermissions] as? Int
        #expect(mode == 0o600, "a private journal stays private")
        let folder = try FileManager.default.contentsOfDirectory(atPath: file.deletingLastPathComponent().path)
        #expect(!folder.contains { $0.hasPrefix(".\(file.lastPathComponent)") }, "no partial file is left beside it")

        for (arguments, message) in [
            (["--format", "xlsx"], "--format must be beancount or csv"),
            (["--from", "2026-02-30"], "--from '2026-02-30' is not a day like 2026-01-31"),
            (["--from", "2026-03-01", "--to", "2026-02-01"], "--from 2026-03-01 is after --to 2026-02-01: nothing lies between"),
            (["--from", "2199-01-01"], "--from 2199-01-01 is after today ("),
        ] {
            let refused = try await CLI.run(["export", "journal", "--database-url", url] + arguments)
            #expect(refused.status == 64 && refused.stderr.contains(message) && refused.stdout.isEmpty, "\(arguments): \(refused.stderr)")
        }
    }

    @Test
    func keysAreCreatedListedAndRevoked() async throws {
        let url = try await TestDatabase.freshURL(.sqlite).connectionString
        #expect(try await CLI.run(["migrate", "--database-url", url]).status == 0)
        let created = try await CLI.run(["keys", "create", "--role", "staff", "--name", "Anna", "--database-url", url])
        #expect(created.status == 0, "\(created.stderr)")
        let key = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(key.hasPrefix("llk_"))
        let keyID = String(key.split(separator: "_", maxSplits: 2)[1])

        let listed = try await CLI.run(["keys", "list", "--database-url", url])
        #expect(listed.stdout.contains("\(keyID)\tstaff\tAnna"))
        #expect(!listed.stdout.contains(String(key.split(separator: "_", maxSplits: 2)[2])))

        #expect(try await CLI.run(["keys", "revoke", keyID, "--database-url", url]).status == 0)
        #expect(try await CLI.run(["keys", "list", "--database-url", url]).stdout.contains("revoked"))
        let unknown = try await CLI.run(["keys", "revoke", "nope", "--database-url", url])
        #expect(unknown.status == 1 && unknown.stderr.contains("no key with id 'nope'"))
        let badRole = try await CLI.run(["keys", "create", "--role", "admin", "--name", "x", "--database-url", url])
        #expect(badRole.status == 64 && badRole.stderr.contains("unknown role 'admin'"))
    }

    /// Two `serve` processes on one PostgreSQL database issue receipts for the same payments at the same time:
    /// every payment gets exactly one receipt, whichever process is asked, and the year's numbers run from 1
    /// to N with none missing and none twice.
    @Test
    func twoServeProcessesIssuingReceiptsAtOnceLeaveNoGapAndNoRepeat() async throws {
        let url = try await TestDatabase.freshURL(.postgres).connectionString
        #expect(try await CLI.run(["migrate", "--database-url", url]).status == 0)
        let created = try await CLI.run(["keys", "create", "--role", "staff", "--name", "Receipts", "--database-url", url])
        let key = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let folder = TestScratch.folder.appendingPathComponent("ledger-receipts-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var servers: [RunningProcess] = []
        var ports: [Int] = []
        for _ in 0..<2 {
            let server = try CLI.start(["serve", "--host", "127.0.0.1", "--port", "0", "--database-url", url], directory: folder)
            servers.append(server)
            let line = try await server.waitForLine(containing: "listening on", timeout: .seconds(60))
            let address = try #require(line.split(separator: " ").first { $0.hasPrefix("http://") })
            ports.append(try #require(address.split(separator: ":").last.flatMap { Int($0) }))
        }
        func send(_ port: Int, _ method: String, _ path: String, _ body: [String: Any]? = nil) async throws -> (Int, Data, HTTPURLResponse?) {
            var request = URLRequest(url: try #require(URL(string: "http://127.0.0.1:\(port)\(path)")))
            request.httpMethod = method
            request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization")
            if let body {
                request.setValue("application/json", forHTTPHeaderField: "Content-Type")
                request.httpBody = try JSONSerialization.data(withJSONObject: body)
            }
            let (data, response) = try await URLSession.shared.data(for: request)
            let http = response as? HTTPURLResponse
            return (http?.statusCode ?? 0, data, http)
        }
        do {
            let today = String(ISO8601DateFormatter().string(from: Date()).prefix(10))
            var paymentIDs: [String] = []
            for index in 0..<20 {
                let port = ports[index % 2]
                let registered = try await send(port, "POST", "/api/v1/profiles", ["profileId": "r-\(index)", "kind": "mediator", "displayName": "R \(index)", "contactEmail": "r\(index)@example.org"])
                #expect(registered.0 == 201, "\(String(decoding: registered.1, as: UTF8.self))")
                let paid = try await send(port, "POST", "/api/v1/profiles/r-\(index)/offline-payments", ["amount": "125.00", "date": today, "purpose": "listing"])
                #expect(paid.0 == 201, "\(String(decoding: paid.1, as: UTF8.self))")
                paymentIDs.append(try #require(paid.2?.value(forHTTPHeaderField: "Location")?.split(separator: "/").last.map(String.init)))
            }
            // Every payment asked of both processes at once, all payments at the same time.
            let answers = try await withThrowingTaskGroup(of: (String, [String]).self) { group in
                for paymentID in paymentIDs {
                    for port in ports {
                        group.addTask {
                            let (status, data, _) = try await send(port, "GET", "/api/v1/payments/\(paymentID)/receipts")
                            guard status == 200 else { throw TestSetupError("receipts for \(paymentID) answered \(status): \(String(decoding: data, as: UTF8.self))") }
                            let documents = try JSONSerialization.jsonObject(with: data) as? [[String: Any]] ?? []
                            return (paymentID, documents.compactMap { $0["number"] as? String })
                        }
                    }
                }
                var all: [(String, [String])] = []
                for try await answer in group { all.append(answer) }
                return all
            }
            let byPayment = Dictionary(grouping: answers, by: \.0).mapValues { Set($0.flatMap(\.1)) }
            #expect(byPayment.count == paymentIDs.count)
            #expect(byPayment.values.allSatisfy { $0.count == 1 }, "a payment got two receipts: \(byPayment)")
            let year = today.prefix(4)
            let numbers = byPayment.values.compactMap(\.first).sorted()
            #expect(numbers == (1...paymentIDs.count).map { "\(year)-\(String(format: "%06d", $0))" }, "\(numbers)")
        } catch {
            for server in servers { _ = try? await server.terminate() }
            throw error
        }
        for server in servers { #expect(try await server.terminate() == 0) }
    }

    @Test
    func usersAreAddedFromAPipedPasswordListedResetAndDisabled() async throws {
        let url = try await TestDatabase.freshURL(.sqlite).connectionString
        #expect(try await CLI.run(["migrate", "--database-url", url]).status == 0)
        let added = try await CLI.run(["users", "add", "--name", "Anna Berger", "--email", "Anna@Example.org", "--database-url", url], input: "a long staff passphrase\n")
        #expect(added.status == 0 && added.stdout.contains("added anna@example.org (Anna Berger); they can sign in at /console"), "\(added.stderr)")
        let again = try await CLI.run(["users", "add", "--name", "Anna", "--email", "anna@example.org", "--database-url", url], input: "another long passphrase\n")
        #expect(again.status == 1 && again.stderr.contains("there is already a user with the e-mail address anna@example.org"))
        let short = try await CLI.run(["users", "add", "--name", "Ben", "--email", "ben@example.org", "--database-url", url], input: "short\n")
        #expect(short.status == 1 && short.stderr.contains("a password is 12 to 72 bytes"))
        let none = try await CLI.run(["users", "add", "--name", "Ben", "--email", "ben@example.org", "--database-url", url])
        #expect(none.status == 1 && none.stderr.contains("no password on standard input"))
        let badEmail = try await CLI.run(["users", "add", "--name", "Ben", "--email", "ben", "--database-url", url], input: "a long staff passphrase\n")
        #expect(badEmail.status == 1 && badEmail.stderr.contains("is not an e-mail address"))
        #expect(try await CLI.run(["users", "list", "--database-url", url]).stdout.contains("anna@example.org\tAnna Berger\tadded "))

        // The password set here is the one the console accepts; a reset replaces it and signs her out.
        let runtime = try await TestRuntime.open(try DatabaseURL(parsing: url))
        let (token, _) = try await runtime.staffUsers.signIn(email: "anna@example.org", password: "a long staff passphrase")
        let reset = try await CLI.run(["users", "reset-password", "anna@example.org", "--database-url", url], input: "a new staff passphrase\n")
        #expect(reset.status == 0 && reset.stdout.contains("their open sessions have ended"), "\(reset.stderr)")
        #expect(try await runtime.staffUsers.session(token: token) == nil)
        _ = try await runtime.staffUsers.signIn(email: "anna@example.org", password: "a new staff passphrase")
        #expect(try await CLI.run(["users", "disable", "anna@example.org", "--database-url", url]).status == 0)
        #expect(try await CLI.run(["users", "list", "--database-url", url]).stdout.contains("\tdisabled "))
        await #expect(throws: StaffUserError.self) { try await runtime.staffUsers.signIn(email: "anna@example.org", password: "a new staff passphrase") }
        await runtime.close()
        let unknown = try await CLI.run(["users", "disable", "nobody@example.org", "--database-url", url])
        #expect(unknown.status == 1 && unknown.stderr.contains("there is no user with the e-mail address nobody@example.org"))
    }

    /// A port out of range on the command line is a usage error naming `--port`, not a configuration error
    /// naming the environment variable.
    @Test(arguments: ["70000", "-1"])
    func servePortOutOfRangeIsAUsageError(port: String) async throws {
        let refused = try await CLI.run(["serve", "--port=\(port)", "--database-url", "sqlite:///nonexistent/ledger.sqlite"])
        #expect(refused.status == 64 && refused.stderr.contains("--port must be 0 to 65535"), "\(refused.status) \(refused.stderr)")
        #expect(!refused.stderr.contains("LEDGER_HTTP_PORT"), "\(refused.stderr)")
        // Written with a space, as people write options, a negative port is the option's value too.
        let spaced = try await CLI.run(["serve", "--port", port, "--database-url", "sqlite:///nonexistent/ledger.sqlite"])
        #expect(spaced.status == 64 && spaced.stderr.contains("--port must be 0 to 65535"), "\(spaced.status) \(spaced.stderr)")
    }

    /// A port another program holds, or a host that is no address here, stops `serve` with a sentence saying
    /// so and what to change, not the socket layer's words.
    @Test
    func serveNamesATakenPortAndAHostThatIsNoAddressHere() async throws {
        let folder = TestScratch.folder.appendingPathComponent("ledger-taken-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let first = try CLI.start(["serve", "--host", "127.0.0.1", "--port", "0", "--database-url", "sqlite://\(folder.path)/one.sqlite"], directory: folder)
        let line = try await first.waitForLine(containing: "listening on", timeout: .seconds(60))
        let port = try #require(line.split(separator: ":").dropFirst(2).first.flatMap { Int($0.prefix(while: \.isNumber)) })
        let second = try await CLI.run(["serve", "--host", "127.0.0.1", "--port", String(port), "--database-url", "sqlite://\(folder.path)/two.sqlite"])
        #expect(try await first.terminate() == 0)
        #expect(second.status == 1, "\(second.status) \(second.stderr)")
        #expect(second.stderr.contains("port \(port) is already in use by another program"), "\(second.stderr)")
        #expect(!second.stderr.contains("errno") && !second.stderr.contains("bind("), "\(second.stderr)")

        let nowhere = try await CLI.run(["serve", "--host", "192.0.2.1", "--port", "0", "--database-url", "sqlite://\(folder.path)/three.sqlite"])
        #expect(nowhere.status == 1 && nowhere.stderr.contains("the host 192.0.2.1 is not an address of this machine"), "\(nowhere.status) \(nowhere.stderr)")
        let unknown = try await CLI.run(["serve", "--host", "999.1.1.1", "--port", "0", "--database-url", "sqlite://\(folder.path)/four.sqlite"])
        #expect(unknown.status == 1 && unknown.stderr.contains("the host 999.1.1.1 is not an address this machine can listen on"), "\(unknown.status) \(unknown.stderr)")
    }

    @Test
    func serveWithNoConfigurationRunsOnSQLiteInTheDataFolderAndStopsOnSIGTERM() async throws {
        let folder = TestScratch.folder.appendingPathComponent("ledger-serve-\(UUID().uuidString)")
        let home = folder.appendingPathComponent("home")
        let elsewhere = folder.appendingPathComponent("elsewhere")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let ledger = home.appendingPathComponent(".local/share/listing-ledger/ledger.sqlite").path
        let environment = ["HOME": home.path, "XDG_DATA_HOME": ""]
        let server = try CLI.start(["serve", "--port", "0"], directory: folder, environment: environment)
        let line = try await server.waitForLine(containing: "listening on", timeout: .seconds(60))
        #expect(line.contains("using sqlite://\(ledger)"), "\(line)")
        #expect(line.contains("development instance"))
        let port = try #require(line.split(separator: ":").dropFirst(2).first.flatMap { Int($0.prefix(while: \.isNumber)) })

        let (body, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/readyz")!)
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        #expect(String(decoding: body, as: UTF8.self).contains("sqlite"))
        #expect(FileManager.default.fileExists(atPath: ledger))
        // Readable by its owner only, like the folder made for it.
        let mode = try FileManager.default.attributesOfItem(atPath: ledger)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let folderMode = try FileManager.default.attributesOfItem(atPath: (ledger as NSString).deletingLastPathComponent)[.posixPermissions] as? Int
        #expect(folderMode == 0o700)

        // A key made from another folder lands in the same ledger, and the command says which one.
        let created = try await CLI.run(["keys", "create", "--role", "staff", "--name", "Anna"], directory: elsewhere, environment: environment)
        #expect(created.status == 0, "\(created.stderr)")
        #expect(created.stderr.contains("using the ledger at sqlite://\(ledger)"), "\(created.stderr)")
        let key = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/api/v1/whoami")!)
        request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization")
        let (_, whoami) = try await URLSession.shared.data(for: request)
        #expect((whoami as? HTTPURLResponse)?.statusCode == 200)

        let status = try await server.terminate()
        #expect(status == 0)
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("var").path))
        #expect(!FileManager.default.fileExists(atPath: elsewhere.appendingPathComponent("var").path))
    }

    /// The README's console quick start, literally, on a machine without a ledger: `users add`, then `serve`.
    @Test
    func theConsoleQuickStartAddsTheFirstUserOnANewInstall() async throws {
        let folder = TestScratch.folder.appendingPathComponent("ledger-first-user-\(UUID().uuidString)")
        let home = folder.appendingPathComponent("home")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let ledger = home.appendingPathComponent(".local/share/listing-ledger/ledger.sqlite").path
        let environment = ["HOME": home.path, "XDG_DATA_HOME": ""]
        let added = try await CLI.run(
            ["users", "add", "--name", "Anna Berger", "--email", "anna@example.org"], directory: folder, environment: environment,
            input: "a long staff passphrase\n"
        )
        #expect(added.status == 0, "\(added.stderr)")
        #expect(added.stdout.contains("added anna@example.org (Anna Berger)"), "\(added.stdout)")
        #expect(added.stderr.contains("using the ledger at sqlite://\(ledger)"), "\(added.stderr)")
        let mode = try FileManager.default.attributesOfItem(atPath: ledger)[.posixPermissions] as? Int
        #expect(mode == 0o600)

        let server = try CLI.start(["serve", "--port", "0"], directory: folder, environment: environment)
        let line = try await server.waitForLine(containing: "listening on", timeout: .seconds(60))
        #expect(line.contains("using sqlite://\(ledger)"), "\(line)")
        let port = try #require(line.split(separator: ":").dropFirst(2).first.flatMap { Int($0.prefix(while: \.isNumber)) })
        let (page, response) = try await URLSession.shared.data(from: try #require(URL(string: "http://127.0.0.1:\(port)/console/sign-in")))
        #expect((response as? HTTPURLResponse)?.statusCode == 200)
        #expect(String(decoding: page, as: UTF8.self).contains("password"))
        #expect(try await server.terminate() == 0)

        let runtime = try await TestRuntime.open(.sqlite(path: ledger))
        do {
            _ = try await runtime.staffUsers.signIn(email: "anna@example.org", password: "a long staff passphrase")
            await runtime.close()
        } catch {
            await runtime.close()
            throw error
        }
    }

    @Test(arguments: Backend.allCases)
    func theOtherCommandsRefuseToCreateALedger(backend: Backend) async throws {
        let url = try await TestDatabase.freshURL(backend)
        let statement = try CamtStatementBuilder(statements: [.init(id: "S-1", iban: "NL91ABNA0417164300", entries: [
            .init(date: "2026-03-02", bankReference: "R-1", transactions: [.init(amount: "125.00", payerName: "Ada", text: "no reference")]),
        ])]).write()
        for arguments in [["keys", "create", "--role", "staff", "--name", "Anna"], ["keys", "list"], ["import-statement", statement.path], ["endpoints", "list"], ["rebuild"], ["policy", "show"]] {
            let result = try await CLI.run(arguments + ["--database-url", url.connectionString])
            #expect(result.status == 78, "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains("listing-ledger serve") && result.stderr.contains("listing-ledger migrate"), "\(arguments): \(result.stderr)")
        }
        if case .sqlite(let path) = url {
            #expect(!FileManager.default.fileExists(atPath: path))
        }
        #expect(try await CLI.run(["migrate", "--database-url", url.connectionString]).status == 0)
        #expect(try await CLI.run(["keys", "list", "--database-url", url.connectionString]).status == 0)
    }
}

@Suite("listing-ledger policy")
struct PolicyCLITests {
    @Test
    func theCommandLineShowsAndSchedulesChanges() async throws {
        let url = try await TestDatabase.freshURL(.sqlite).connectionString
        #expect(try await CLI.run(["migrate", "--database-url", url]).status == 0)
        let scheduled = try await CLI.run(["policy", "schedule", "--from", "2199-01-01", "--price", "150.00", "--reason", "board decision", "--database-url", url])
        #expect(scheduled.status == 0, "\(scheduled.stderr)")
        #expect(scheduled.stdout.contains("from 2199-01-01: 150.00 EUR for 12 months, 14 days of grace"))
        let past = try await CLI.run(["policy", "schedule", "--from", "2001-01-01", "--price", "150.00", "--reason", "oops", "--database-url", url])
        #expect(past.status == 1 && past.stderr.contains("before today") && past.stderr.contains("--allow-past"), "the option the command takes: \(past.stderr)")
        let badDate = try await CLI.run(["policy", "schedule", "--from", "2027-02-30", "--reason", "oops", "--database-url", url])
        #expect(badDate.status == 64 && badDate.stderr.contains("is not a date"), "\(badDate.stderr)")
        let badPrice = try await CLI.run(["policy", "schedule", "--from", "2199-02-01", "--price", "lots", "--reason", "oops", "--database-url", url])
        #expect(badPrice.status == 64 && badPrice.stderr.contains("--price"), "\(badPrice.stderr)")
        // A negative value is taken as the option's value and refused for what it is, not read as a missing value.
        let negatives: [(String, String, Int32, String)] = [
            ("--price", "-5.00", 64, "--price: invalid amount: '-5.00'"), ("--period-months", "-1", 1, "a period is 1 to 120 months"),
            ("--grace-days", "-1", 1, "grace is 0 to 365 days"),
        ]
        for (option, value, status, named) in negatives {
            let negative = try await CLI.run(["policy", "schedule", "--from", "2199-03-01", option, value, "--reason", "oops", "--database-url", url])
            #expect(
                negative.status == status && negative.stderr.contains(named) && !negative.stderr.contains("Missing value"),
                "\(option) \(value): \(negative.status) \(negative.stderr)"
            )
        }
        let shown = try await CLI.run(["policy", "show", "--database-url", url])
        #expect(!shown.stdout.contains("2199-03-01"))
        #expect(shown.stdout.contains("2000-01-01\t125.00\t12\t14"))
        #expect(shown.stdout.contains("2199-01-01\t150.00\t12\t14"))
        #expect(shown.stdout.contains("board decision"))
    }
}

/// Finds and runs the built executable.
enum CLI {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static var executable: URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build/debug/listing-ledger")
    }

    /// The environment without any LEDGER_ setting of the developer's.
    static var cleanEnvironment: [String: String] {
        ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("LEDGER_") || $0.key == "LEDGER_TEST_POSTGRES_URL" }
    }

    /// Runs the executable to its end; `environment` adds to (or replaces in) the clean environment.
    static func run(_ arguments: [String], directory: URL? = nil, environment: [String: String] = [:], input: String? = nil) async throws -> Result {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = cleanEnvironment.merging(environment) { $1 }
        if let directory { process.currentDirectoryURL = directory }
        let stdout = Pipe(), stderr = Pipe(), stdin = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = stdin
        try process.run()
        try stdin.fileHandleForWriting.write(contentsOf: Data((input ?? "").utf8))
        try stdin.fileHandleForWriting.close()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        let errors = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: String(decoding: output, as: UTF8.self), stderr: String(decoding: errors, as: UTF8.self))
    }

    static func start(_ arguments: [String], directory: URL, environment: [String: String] = [:]) throws -> RunningProcess {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = cleanEnvironment.merging(environment) { $1 }
        process.currentDirectoryURL = directory
        let stdout = Pipe()
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        try process.run()
        return RunningProcess(process: process, output: stdout.fileHandleForReading)
    }
}

/// A server started by a test.
final class RunningProcess: @unchecked Sendable {
    // @unchecked: the Process and FileHandle are only used from the test's task.
    let process: Process
    let output: FileHandle
    private var buffer = ""

    init(process: Process, output: FileHandle) {
        self.process = process
        self.output = output
    }

    func waitForLine(containing text: String, timeout: Duration) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let line = buffer.split(separator: "\n").first(where: { $0.contains(text) }) { return String(line) }
            let data = output.availableData
            if data.isEmpty {
                guard process.isRunning else { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            buffer += String(decoding: data, as: UTF8.self)
        }
        process.terminate()
        throw TestSetupError("the server never printed '\(text)'; output so far: \(buffer)")
    }

    func terminate() async throws -> Int32 {
        process.terminate()
        process.waitUntilExit()
        return process.terminationStatus
    }
}

@Suite("listing-ledger rebuild")
struct RebuildCLITests {
    @Test
    func benchExportFillsTheBooksAndMeasuresTheExportAlone() async throws {
        let url = try await TestDatabase.freshURL(.sqlite)
        let result = try await CLI.run(["bench", "export", "--database-url", url.connectionString, "--entries", "60", "--format", "csv"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("books: took in 60 payments"), "\(result.stdout)")
        #expect(result.stdout.contains("read: 120 journal lines"), "\(result.stdout)")
        #expect(result.stdout.contains("export csv sqlite: 120 lines"), "\(result.stdout)")
        // A second run finds the entries there and only measures.
        let again = try await CLI.run(["bench", "export", "--database-url", url.connectionString, "--entries", "60"])
        #expect(!again.stdout.contains("took in") && again.stdout.contains("export beancount sqlite: 120 lines"), "\(again.stdout)")
        let refused = try await CLI.run(["bench", "export", "--database-url", url.connectionString, "--format", "xlsx"])
        #expect(refused.status != 0 && refused.stderr.contains("--format must be beancount or csv"), "\(refused.stderr)")
    }

    /// Benchmark options are bounded before anything runs: counts whose product overflows, or that would
    /// allocate without end, exit 64 with the limits, and write nothing.
    @Test
    func benchOptionsOutsideTheirLimitsExit64() async throws {
        let url = try await TestDatabase.freshURL(.sqlite)
        for (arguments, message) in [
            (["append", "--writers", "4611686018427387904", "--per-append", "2"], "--writers and --per-append 1 to 1,000"),
            (["append", "--data-bytes", "1000000000000"], "--data-bytes 0 to 262,132"),
            // One byte past it no append could be stored (the event's data would pass 256 KiB).
            (["append", "--data-bytes", "262133"], "--data-bytes 0 to 262,132"),
            (["replay", "--batch", "0"], "--batch must be 1 to 10,000"),
            (["import", "--runs", "1000000"], "--runs 1 to 100"),
            (["rebuild", "--events", "1000000000000"], "--events must be 1 to 100,000,000"),
            (["sweep", "--events", "0"], "--events must be 1 to 100,000,000"),
        ] {
            let refused = try await CLI.run(["bench"] + arguments + ["--database-url", url.connectionString])
            #expect(refused.status == 64 && refused.stderr.contains(message), "\(arguments): \(refused.status) \(refused.stderr)")
        }
        if case .sqlite(let path) = url { #expect(!FileManager.default.fileExists(atPath: path), "nothing was created") }
        // The largest is appended.
        let largest = try await CLI.run(["bench", "append", "--data-bytes", "262132", "--events", "1", "--writers", "1", "--database-url", url.connectionString])
        #expect(largest.status == 0, "\(largest.stderr)")
    }

    @Test
    func rebuildReplaysTheLogIntoTheReadModels() async throws {
        let url = try await TestDatabase.freshURL(.sqlite)
        let store = try await TestDatabase.open(url)
        _ = try await store.migrateLedger()
        _ = try await store.append([NewEvent(id: UUID(), type: "Probe", data: Data("{}".utf8))], to: "other-1", expecting: .any)
        await store.close()
        let result = try await CLI.run(["rebuild", "--database-url", url.connectionString, "--progress-seconds", "0"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("rebuilding: 2 events read, at position"), "\(result.stderr)")
        let refused = try await CLI.run(["rebuild", "--database-url", url.connectionString, "--progress-seconds", "4000"])
        #expect(refused.status == 64 && refused.stderr.contains("--progress-seconds must be 0 to 3600"), "\(refused.stderr)")
        let negative = try await CLI.run(["rebuild", "--database-url", url.connectionString, "--progress-seconds", "-1"])
        #expect(negative.status == 64 && negative.stderr.contains("--progress-seconds must be 0 to 3600"), "\(negative.stderr)")
        // The probe, and the policy the command seeded from configuration when it opened the ledger.
        #expect(result.stdout.contains("listing-status, payment-views, books, profile-search, listing-history: replayed 2 events in one pass"), "\(result.stdout)")
    }
}
