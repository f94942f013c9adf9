import EventStore
import Foundation
import LedgerService
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Promises of the README's first half about the `listing-ledger` command that no test held yet: the exit
/// code 78 of a start-up that configuration stops (a listing setting the ledger's policy contradicts, a weak
/// production setting, a database not in UTF8), and scheduling a policy change in the past.
@Suite("README audit, one: the command line")
struct ReadmeAuditOneCLITests {
    // MARK: The listing policy

    /// "a price, period or grace setting that disagrees with the policy in force today stops start-up (exit code
    /// 78) with a message saying how to schedule the change instead": `serve` with `LEDGER_LISTING_PRICE=150.00`
    /// on a ledger whose policy says 125.00 does not start, and no other command runs with a period or grace that
    /// disagrees; settings that agree are accepted, and the ledger's policy is what it was.
    @Test(arguments: Backend.allCases)
    func aListingSettingThatDisagreesWithTheLedgersPolicyStopsStartUpWithExitCode78(backend: Backend) async throws {
        let url = try await TestDatabase.freshURL(backend).connectionString
        #expect(try await CLI.run(["migrate", "--database-url", url]).status == 0)
        // The first command to open the ledger records the configured policy.
        let seeded = try await CLI.run(["policy", "show", "--database-url", url])
        #expect(seeded.status == 0 && seeded.stdout.contains("2000-01-01\t125.00\t12\t14"), "\(seeded.stdout) \(seeded.stderr)")

        let server = try await auditOneRunUntilExit(["serve", "--port", "0", "--database-url", url], environment: ["LEDGER_LISTING_PRICE": "150.00"])
        #expect(server.status == 78, "serve with a price the ledger does not have: \(auditOneStatusText(server.status)) \(server.stderr)")
        #expect(!server.stdout.contains("listening on"), "\(server.stdout)")
        #expect(server.stderr.contains("LEDGER_LISTING_PRICE"), "\(server.stderr)")
        #expect(server.stderr.contains("listing-ledger policy schedule"), "the message does not say how to schedule the change: \(server.stderr)")
        // Its advice, in its order, can be followed: with the setting still there, scheduling is refused too.
        #expect(server.stderr.contains("remove the setting (or make it match what is in force today), then schedule the change"), "\(server.stderr)")
        let withSetting = try await CLI.run(
            ["policy", "schedule", "--from", "2199-01-01", "--price", "150.00", "--reason", "board", "--database-url", url], environment: ["LEDGER_LISTING_PRICE": "150.00"]
        )
        #expect(withSetting.status == 78, "\(withSetting.stderr)")
        // "`migrate` does not check these settings: it only brings the tables up to date."
        let migrated = try await CLI.run(["migrate", "--database-url", url], environment: ["LEDGER_LISTING_PRICE": "150.00"])
        #expect(migrated.status == 0, "\(migrated.stderr)")

        for (variable, value) in [("LEDGER_LISTING_PERIOD_MONTHS", "24"), ("LEDGER_LISTING_GRACE_DAYS", "30")] {
            let refused = try await CLI.run(["keys", "list", "--database-url", url], environment: [variable: value])
            #expect(refused.status == 78, "\(variable)=\(value): \(refused.status) \(refused.stderr)")
            #expect(refused.stderr.contains(variable) && refused.stderr.contains("listing-ledger policy schedule"), "\(variable)=\(value): \(refused.stderr)")
        }
        let agreeing = try await CLI.run(["keys", "list", "--database-url", url], environment: [
            "LEDGER_LISTING_PRICE": "125.00", "LEDGER_LISTING_PERIOD_MONTHS": "12", "LEDGER_LISTING_GRACE_DAYS": "14",
        ])
        #expect(agreeing.status == 0, "settings that agree with the ledger's policy: \(agreeing.stderr)")

        let shown = try await CLI.run(["policy", "show", "--database-url", url])
        #expect(shown.status == 0 && shown.stdout.contains(": 125.00 EUR for 12 months, 14 days of grace"), "\(shown.stdout)")
        #expect(!shown.stdout.contains("150.00"), "a refused setting changed the policy: \(shown.stdout)")
    }

    /// "What a change leaves out stays as it is on its date. A change may not take effect before today unless
    /// `--allow-past` … asks for it; it is then marked retroactive." A grace change on a day after a scheduled
    /// price change keeps that day's price, not today's; a price change from 2001 with `--allow-past` is recorded,
    /// is in force today, and `policy show` marks it retroactive (and only it).
    @Test
    func aPastChangeIsRecordedWithAllowPastAndMarkedRetroactiveAndWhatAChangeLeavesOutStaysAsOnItsDate() async throws {
        let url = try await TestDatabase.freshURL(.sqlite).connectionString
        #expect(try await CLI.run(["migrate", "--database-url", url]).status == 0)
        let priced = try await CLI.run(["policy", "schedule", "--from", "2199-01-01", "--price", "150.00", "--reason", "board decision", "--database-url", url])
        #expect(priced.status == 0, "\(priced.stderr)")

        let graceOnly = try await CLI.run(["policy", "schedule", "--from", "2199-06-01", "--grace-days", "30", "--reason", "longer grace", "--database-url", url])
        #expect(graceOnly.status == 0, "\(graceOnly.stderr)")
        #expect(graceOnly.stdout.contains("from 2199-06-01: 150.00 EUR for 12 months, 30 days of grace"), "the price on its date is 150.00: \(graceOnly.stdout)")

        let past = try await CLI.run([
            "policy", "schedule", "--from", "2001-01-01", "--price", "130.00", "--reason", "the founding price, entered late", "--allow-past",
            "--database-url", url,
        ])
        #expect(past.status == 0, "\(past.stderr)")
        #expect(past.stdout.contains("from 2001-01-01: 130.00 EUR for 12 months, 14 days of grace"), "\(past.stdout)")

        let shown = try await CLI.run(["policy", "show", "--database-url", url])
        #expect(shown.status == 0, "\(shown.stderr)")
        let lines = shown.stdout.split(separator: "\n").map(String.init)
        let retroactive = lines.filter { $0.hasPrefix("2001-01-01\t130.00\t12\t14\t") }
        #expect(retroactive.count == 1 && retroactive.first?.hasSuffix("\tthe founding price, entered late (retroactive)") == true, "\(shown.stdout)")
        for prefix in ["2000-01-01\t125.00\t12\t14\t", "2199-01-01\t150.00\t12\t14\t", "2199-06-01\t150.00\t12\t30\t"] {
            let line = lines.first { $0.hasPrefix(prefix) }
            #expect(line != nil && line?.contains("(retroactive)") == false, "\(prefix): \(shown.stdout)")
        }
        #expect(shown.stdout.contains(": 130.00 EUR for 12 months, 14 days of grace"), "the change from 2001 is in force today: \(shown.stdout)")
    }

    // MARK: Production settings

    /// "In production mode the URL must ask for `sslmode=require` (or `LEDGER_DATABASE_ALLOW_UNENCRYPTED=true` …),
    /// and the pepper must be a secret of at least 32 bytes; anything weaker stops start-up with a message naming
    /// the setting (exit code 78). No message prints a password." With `LEDGER_DATABASE_ALLOW_UNENCRYPTED=true`
    /// the same URL gets past configuration (to an address where nothing listens: exit code 69), its password
    /// unprinted too.
    @Test
    func inProductionAWeakSettingStopsServeWithExitCode78NamingItAndNoMessagePrintsThePassword() async throws {
        let password = "hunter2-audit-one"
        let database = "postgres://ledger:\(password)@127.0.0.1:1/ledger"
        let production = [
            "LEDGER_MODE": "production",
            "LEDGER_DATABASE_URL": "\(database)?sslmode=require",
            "LEDGER_API_KEY_PEPPER": "a production pepper of well over thirty-two bytes",
            "LEDGER_SECRETS_KEY": Data((0..<32).map { UInt8(200 - $0) }).base64EncodedString(),
        ]
        var weakSettings: [(environment: [String: String], named: String)] = [
            (production.merging(["LEDGER_DATABASE_URL": "\(database)?sslmode=disable"]) { $1 }, "sslmode=require"),
            (production.merging(["LEDGER_DATABASE_URL": "\(database)?sslmode=prefer"]) { $1 }, "sslmode=require"),
            (production.merging(["LEDGER_API_KEY_PEPPER": String(repeating: "k", count: LedgerConfiguration.pepperBytesMin - 1)]) { $1 }, "LEDGER_API_KEY_PEPPER"),
            (production.merging(["LEDGER_API_KEY_PEPPER": "development-only-api-key-pepper"]) { $1 }, "LEDGER_API_KEY_PEPPER"),
            (production.merging(["LEDGER_SECRETS_KEY": SecretSealer.developmentKeyBase64]) { $1 }, "LEDGER_SECRETS_KEY"),
        ]
        for required in ["LEDGER_DATABASE_URL", "LEDGER_API_KEY_PEPPER", "LEDGER_SECRETS_KEY"] {
            weakSettings.append((production.filter { $0.key != required }, required))
        }
        for (environment, named) in weakSettings {
            let what = environment.filter { $0.key != "LEDGER_MODE" }.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: " ")
            let server = try await auditOneRunUntilExit(["serve", "--port", "0"], environment: environment, timeout: .seconds(30))
            #expect(server.status == 78, "\(what): \(auditOneStatusText(server.status)) \(server.stderr)")
            #expect(server.stderr.contains(named), "\(what): the message does not name \(named): \(server.stderr)")
            #expect(!server.stdout.contains("listening on"), "\(what): \(server.stdout)")
            #expect(!server.stderr.contains(password) && !server.stdout.contains(password), "\(what): a message printed the password: \(server.stderr)")
        }

        let allowed = production.merging([
            "LEDGER_DATABASE_URL": "\(database)?sslmode=disable", "LEDGER_DATABASE_ALLOW_UNENCRYPTED": "true",
        ]) { $1 }
        let unencrypted = try await auditOneRunUntilExit(["serve", "--port", "0"], environment: allowed, timeout: .seconds(30))
        #expect(unencrypted.status == 69, "allowed unencrypted, then nothing listens: \(auditOneStatusText(unencrypted.status)) \(unencrypted.stderr)")
        #expect(!unencrypted.stderr.contains(password) && !unencrypted.stdout.contains(password), "a message printed the password: \(unencrypted.stderr)")
    }

    // MARK: The database's encoding

    /// "The database must be in the UTF8 encoding …; any other encoding stops start-up with a message naming it
    /// (exit code 78)": `serve` and `migrate` on a LATIN1 database.
    @Test
    func aPostgreSQLDatabaseNotInUTF8StopsStartUpWithExitCode78NamingItsEncoding() async throws {
        let url = try await TestDatabase.freshURL(.postgres, postgresEncoding: "LATIN1").connectionString
        let server = try await auditOneRunUntilExit(["serve", "--port", "0", "--database-url", url])
        #expect(server.status == 78, "\(auditOneStatusText(server.status)) \(server.stderr)")
        #expect(server.stderr.contains("LATIN1") && server.stderr.contains("UTF8"), "\(server.stderr)")
        #expect(!server.stdout.contains("listening on"), "\(server.stdout)")
        let migrated = try await CLI.run(["migrate", "--database-url", url])
        #expect(migrated.status == 78 && migrated.stderr.contains("LATIN1"), "\(migrated.status) \(migrated.stderr)")
    }
}

// MARK: Support

/// What a run of the executable left: its exit status (nil when it was still running at the deadline and was
/// killed), standard output and standard error.
private struct AuditOneCLIRun {
    var status: Int32?
    var stdout: String
    var stderr: String
}

/// An exit status as text for a message: "still running" when the process had to be killed.
private func auditOneStatusText(_ status: Int32?) -> String {
    status.map { "exit status \($0)" } ?? "still running"
}

/// Runs `listing-ledger` with `arguments` until it exits, or kills it once `timeout` has passed, so a command
/// that should not start (`serve`) cannot hang the test when it does. Its output goes to files, so nothing it
/// writes can block it. `environment` adds to (or replaces in) the clean environment.
private func auditOneRunUntilExit(
    _ arguments: [String], environment: [String: String] = [:], timeout: Duration = .seconds(60)
) async throws -> AuditOneCLIRun {
    let folder = TestScratch.folder.appendingPathComponent("ledger-audit-one-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let stdoutFile = folder.appendingPathComponent("stdout.log")
    let stderrFile = folder.appendingPathComponent("stderr.log")
    guard FileManager.default.createFile(atPath: stdoutFile.path, contents: nil),
          FileManager.default.createFile(atPath: stderrFile.path, contents: nil) else {
        throw TestSetupError("cannot create the output files in \(folder.path)")
    }
    let output = try FileHandle(forWritingTo: stdoutFile)
    let errors = try FileHandle(forWritingTo: stderrFile)
    defer {
        try? output.close()
        try? errors.close()
    }
    let process = Process()
    process.executableURL = CLI.executable
    process.arguments = arguments
    process.environment = CLI.cleanEnvironment.merging(environment) { $1 }
    process.currentDirectoryURL = folder
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    let deadline = ContinuousClock.now + timeout
    while process.isRunning, ContinuousClock.now < deadline {
        try? await Task.sleep(for: .milliseconds(50))
    }
    var status: Int32?
    if process.isRunning {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    } else {
        process.waitUntilExit()
        status = process.terminationStatus
    }
    let stdout = (try? String(contentsOf: stdoutFile, encoding: .utf8)) ?? ""
    let stderr = (try? String(contentsOf: stderrFile, encoding: .utf8)) ?? ""
    return AuditOneCLIRun(status: status, stdout: stdout, stderr: stderr)
}
