import Directory
import EventStore
import Foundation
import LedgerService
import Logging
import TestSupport
import Testing

@Suite("Configuration")
struct LedgerConfigurationTests {
    /// A production-worthy secrets key (32 bytes, not the development one).
    static let secretsKey = Data((0..<32).map { UInt8($0 * 7 % 251) }).base64EncodedString()

    @Test
    func noConfigurationAtAllIsADevelopmentInstanceOnSQLite() async throws {
        let configuration = try await LedgerConfiguration.resolve(environment: ["HOME": "/home/ada"])
        #expect(configuration.mode == .development)
        #expect(configuration.databaseURL == .sqlite(path: "/home/ada/.local/share/listing-ledger/ledger.sqlite"))
        #expect(configuration.databaseURLIsDefault)
        #expect(configuration.httpHost == "127.0.0.1" && configuration.httpPort == 8080)
    }

    @Test
    func theDirectoryRetryScheduleAndTimeLimitCanBeSet() async throws {
        let standard = try await LedgerConfiguration.resolve(environment: ["HOME": "/home/ada"])
        #expect(standard.directoryRetryPolicy == .standard && standard.directoryTimeoutSeconds == 15)
        let quick = try await LedgerConfiguration.resolve(environment: [
            "HOME": "/home/ada", "LEDGER_DIRECTORY_RETRY_SECONDS": "1, 2,0", "LEDGER_DIRECTORY_TIMEOUT_SECONDS": "3",
        ])
        #expect(quick.directoryRetryPolicy.pausesSeconds == [1, 2, 0] && quick.directoryRetryPolicy.attemptsMax == 4)
        #expect(quick.directoryTimeoutSeconds == 3)
    }

    @Test
    func layersOverrideInOrderFileThenEnvironmentThenCommandLine() async throws {
        let file = TestScratch.folder.appendingPathComponent("ledger-config-\(UUID().uuidString).json")
        try Data(#"{"http": {"port": "9001", "host": "0.0.0.0"}, "log": {"level": "debug"}, "database": {"url": "sqlite:///tmp/from-file.sqlite"}}"#.utf8)
            .write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }

        let fileOnly = try await LedgerConfiguration.resolve(environment: [:], configFile: file.path)
        #expect(fileOnly.httpPort == 9001 && fileOnly.httpHost == "0.0.0.0" && fileOnly.logLevel == .debug)
        #expect(fileOnly.databaseURL == .sqlite(path: "/tmp/from-file.sqlite"))

        let environment = ["LEDGER_HTTP_PORT": "9002", "LEDGER_CONFIG_FILE": file.path]
        let withEnvironment = try await LedgerConfiguration.resolve(environment: environment)
        #expect(withEnvironment.httpPort == 9002 && withEnvironment.httpHost == "0.0.0.0")

        let withCommandLine = try await LedgerConfiguration.resolve(commandLine: ["http.port": "9003"], environment: environment)
        #expect(withCommandLine.httpPort == 9003 && withCommandLine.logLevel == .debug)
    }

    /// A name as long as a payment code can carry, in letters of three bytes each, is taken.
    @Test
    func aBeneficiaryNameThatFitsAPaymentCodeIsTaken() async throws {
        let name = String(repeating: "€", count: 70)
        let configuration = try await LedgerConfiguration.resolve(environment: ["HOME": "/home/ada", "LEDGER_BANK_BENEFICIARY_NAME": name, "LEDGER_BANK_BIC": "abnanl2axxx"])
        #expect(configuration.bankBeneficiaryName == name && configuration.bankBIC == "ABNANL2AXXX")
    }

    @Test(arguments: [
        ("LEDGER_HTTP_PORT", "eighty", "LEDGER_HTTP_PORT: 'eighty' is not a valid value"),
        ("LEDGER_HTTP_PORT", "70000", "LEDGER_HTTP_PORT: '70000' is not a valid value; it takes a whole number from 0 to 65535"),
        ("LEDGER_LOG_LEVEL", "loud", "LEDGER_LOG_LEVEL: 'loud' is not a valid value; it takes trace, debug, info, notice, warning, error or critical"),
        ("LEDGER_MODE", "staging", "LEDGER_MODE: 'staging' is not a valid value; it takes `development` or `production`"),
        ("LEDGER_DATABASE_URL", "mysql://x@y/z", "LEDGER_DATABASE_URL: the database URL scheme 'mysql' is not supported"),
        ("LEDGER_DIRECTORY_RETRY_SECONDS", "5,,300", "LEDGER_DIRECTORY_RETRY_SECONDS: '5,,300' is not a valid value; it takes 1 to 20 whole numbers of seconds from 0 to 86400, separated by commas, like 5,300,1800"),
        ("LEDGER_DIRECTORY_RETRY_SECONDS", "5,-1", "LEDGER_DIRECTORY_RETRY_SECONDS: '5,-1' is not a valid value"),
        ("LEDGER_DIRECTORY_RETRY_SECONDS", "86401", "LEDGER_DIRECTORY_RETRY_SECONDS: '86401' is not a valid value"),
        ("LEDGER_DIRECTORY_TIMEOUT_SECONDS", "0", "LEDGER_DIRECTORY_TIMEOUT_SECONDS: '0' is not a valid value"),
        // A body limit near Int.max trapped at start, when the server added its margin to it.
        ("LEDGER_HTTP_BODY_BYTES_MAX", "9223372036854775807", "LEDGER_HTTP_BODY_BYTES_MAX: '9223372036854775807' is not a valid value"),
        ("LEDGER_HTTP_BODY_BYTES_MAX", "1073741825", "LEDGER_HTTP_BODY_BYTES_MAX: '1073741825' is not a valid value"),
        ("LEDGER_HTTP_BODY_BYTES_MAX", "0", "LEDGER_HTTP_BODY_BYTES_MAX: '0' is not a valid value"),
        // A price above the largest ceiling a setting may give is named, not a crash at start.
        ("LEDGER_LISTING_PRICE", "1000000.01", "LEDGER_LISTING_PRICE: '1000000.01' is not a valid value"),
        ("LEDGER_PAYMENT_AMOUNT_MAX", "1000000.01", "LEDGER_PAYMENT_AMOUNT_MAX: '1000000.01' is not a valid value; it takes an amount in euros from the listing price to 1000000.00, like 10000.00"),
        ("LEDGER_LOG_LEVEL", String(repeating: "x", count: 100_000), "LEDGER_LOG_LEVEL: '\(String(repeating: "x", count: 80))…' is not a valid value"),
        // Bank details no payment code can carry were taken at start, and every payment instruction answered 422.
        ("LEDGER_BANK_BIC", "ABNA1L2A", "LEDGER_BANK_BIC: 'ABNA1L2A' is not a valid value; it takes a BIC of 8 or 11 letters and digits"),
        ("LEDGER_BANK_BIC", "ÄBNANL2A", "LEDGER_BANK_BIC: 'ÄBNANL2A' is not a valid value"),
        ("LEDGER_BANK_BENEFICIARY_NAME", "International\u{2028}Mediation Institute", "LEDGER_BANK_BENEFICIARY_NAME: 'International\u{2028}Mediation Institute' is not a valid value; it takes a name of 1 to 70 characters on one line"),
        (
            "LEDGER_BANK_BENEFICIARY_NAME", String(repeating: "\u{1D54F}", count: 70),
            "LEDGER_BANK_BENEFICIARY_NAME: '\(String(repeating: "\u{1D54F}", count: 70))' takes 280 bytes, too many for a payment code"
        ),
    ])
    func malformedValuesNameTheSetting(variable: String, value: String, message: String) async throws {
        do {
            _ = try await LedgerConfiguration.resolve(environment: [variable: value])
            Issue.record("\(variable)=\(value) was accepted")
        } catch let error as ConfigurationError {
            #expect(error.description.hasPrefix(message), "\(error.description)")
            // A refused value is told what the setting takes, not only that it is wrong.
            if message.contains("is not a valid value") {
                #expect(error.description.contains("is not a valid value; it takes "), "\(error.description)")
            }
        }
    }

    @Test
    func productionRequiresEverySecretAndNamesTheMissingOne() async throws {
        do {
            _ = try await LedgerConfiguration.resolve(environment: ["LEDGER_MODE": "production"])
            Issue.record("production started without a database URL")
        } catch let error as ConfigurationError {
            #expect(error.description.contains("LEDGER_DATABASE_URL is required in production mode"))
        }
        do {
            _ = try await LedgerConfiguration.resolve(environment: ["LEDGER_MODE": "production", "LEDGER_DATABASE_URL": "sqlite:///tmp/p.sqlite"])
            Issue.record("production started without an API key pepper")
        } catch let error as ConfigurationError {
            #expect(error.description.contains("LEDGER_API_KEY_PEPPER is required in production mode"))
        }
        do {
            _ = try await LedgerConfiguration.resolve(environment: [
                "LEDGER_MODE": "production", "LEDGER_DATABASE_URL": "sqlite:///tmp/p.sqlite", "LEDGER_API_KEY_PEPPER": "k3Jw9vQ2mX7pL4tR8yN1cB6hF0sD5gA2",
            ])
            Issue.record("production started without a secrets key")
        } catch let error as ConfigurationError {
            #expect(error.description.contains("LEDGER_SECRETS_KEY is required in production mode"))
        }
        let pepper = "k3Jw9vQ2mX7pL4tR8yN1cB6hF0sD5gA2"
        let complete: LedgerConfiguration = try await LedgerConfiguration.resolve(environment: [
            "LEDGER_MODE": "production", "LEDGER_DATABASE_URL": "sqlite:///tmp/p.sqlite", "LEDGER_API_KEY_PEPPER": pepper,
            "LEDGER_SECRETS_KEY": Self.secretsKey,
        ])
        #expect(complete.mode == .production && complete.apiKeyPepper == pepper)
    }

    @Test
    func theEmbeddedLedgerLivesInTheDataFolderWhereverTheCommandRuns() async throws {
        let xdg = try await LedgerConfiguration.resolve(environment: ["HOME": "/home/ada", "XDG_DATA_HOME": "/data/ada"])
        #expect(xdg.databaseURL == .sqlite(path: "/data/ada/listing-ledger/ledger.sqlite"))
        let given = try await LedgerConfiguration.resolve(environment: ["HOME": "/home/ada", "LEDGER_DATA_DIR": "/srv/ledger/"])
        #expect(given.databaseURL == .sqlite(path: "/srv/ledger/ledger.sqlite"))
        await #expect(throws: ConfigurationError.self) {
            _ = try await LedgerConfiguration.resolve(environment: ["LEDGER_DATA_DIR": "var"])
        }
        await #expect(throws: ConfigurationError.self) {
            _ = try await LedgerConfiguration.resolve(environment: [:])
        }
    }

    @Test(arguments: [
        (["LEDGER_API_KEY_PEPPER": "development-only-api-key-pepper"], "LEDGER_API_KEY_PEPPER"),
        (["LEDGER_API_KEY_PEPPER": "short-but-secret"], "LEDGER_API_KEY_PEPPER"),
        (["LEDGER_DATABASE_URL": "postgres://ledger:pw@db.example:5432/ledger?sslmode=prefer"], "sslmode=require"),
        (["LEDGER_DATABASE_URL": "postgres://ledger:pw@db.example:5432/ledger"], "sslmode=require"),
        (["LEDGER_SECRETS_KEY": SecretSealer.developmentKeyBase64], "LEDGER_SECRETS_KEY"),
        (["LEDGER_SECRETS_KEY": "c2hvcnQ="], "LEDGER_SECRETS_KEY"),
    ])
    func productionRefusesWeakSettings(overrides: [String: String], named: String) async throws {
        let environment = [
            "LEDGER_MODE": "production", "LEDGER_API_KEY_PEPPER": "k3Jw9vQ2mX7pL4tR8yN1cB6hF0sD5gA2",
            "LEDGER_DATABASE_URL": "postgres://ledger:pw@db.example:5432/ledger?sslmode=require", "LEDGER_SECRETS_KEY": Self.secretsKey,
        ].merging(overrides) { $1 }
        do {
            _ = try await LedgerConfiguration.resolve(environment: environment)
            Issue.record("production started with \(overrides)")
        } catch let error as ConfigurationError {
            #expect(error.description.contains(named), "\(error)")
            #expect(!error.description.contains(":pw@"), "a password in \(error)")
        }
        // Said explicitly, an unencrypted connection is accepted.
        if overrides["LEDGER_DATABASE_URL"] != nil {
            let allowed = try await LedgerConfiguration.resolve(environment: environment.merging(["LEDGER_DATABASE_ALLOW_UNENCRYPTED": "true"]) { $1 })
            #expect(allowed.mode == .production)
        }
    }

    @Test
    func anUnparseableDatabaseURLIsNotEchoedWithItsPassword() async throws {
        do {
            _ = try await LedgerConfiguration.resolve(environment: ["LEDGER_DATABASE_URL": "postgres://ledger:hunter2@db example/ledger"])
            Issue.record("an unparseable URL was accepted")
        } catch let error as ConfigurationError {
            #expect(!error.description.contains("hunter2"), "\(error)")
        }
    }

    /// Numbers and true/false in the file are read as the text they read as, and checked like any value: they
    /// were passed over, leaving the default in force without a word.
    @Test
    func theFileTakesWholeNumbersAndTrueOrFalse() async throws {
        let file = TestScratch.folder.appendingPathComponent("ledger-config-\(UUID().uuidString).json")
        try Data(#"{"http": {"port": 18999, "body_bytes_max": 2048}, "migrate_on_start": false, "directory": {"poll_seconds": 30}, "database": {"url": "sqlite:///tmp/from-file.sqlite"}}"#.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let read = try await LedgerConfiguration.resolve(environment: [:], configFile: file.path)
        #expect(read.httpPort == 18999 && read.requestBodyBytesMax == 2048 && !read.migrateOnStart && read.directoryPollSeconds == 30)
    }

    /// What the file says that cannot be a setting's value, or names no setting, stops start-up naming it.
    @Test(arguments: [
        (#"{"directory": {"poll_seconds": 0}}"#, "LEDGER_DIRECTORY_POLL_SECONDS: '0' is not a valid value"),
        (#"{"htp": {"port": "8080"}}"#, "names `htp`, which is not a setting"),
        (#"{"http": {"prot": "8080"}}"#, "names `http.prot`, which is not a setting"),
        (#"{"http": {"port": 80.5}}"#, "gives `http.port` a number with a fraction; write it as text"),
        (#"{"http": {"port": null}}"#, "gives `http.port` null"),
        (#"{"listing": {"reminder_days": [30, 7]}}"#, "gives `listing.reminder_days` a list"),
        (#"["http"]"#, "must hold one JSON object"),
        (#"{"http": {"port": "8080""#, "is not valid JSON"),
    ])
    func whatTheFileCannotMeanIsNamed(json: String, message: String) async throws {
        let file = TestScratch.folder.appendingPathComponent("ledger-config-\(UUID().uuidString).json")
        try Data(json.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        do {
            _ = try await LedgerConfiguration.resolve(environment: [:], configFile: file.path)
            Issue.record("\(json) was accepted")
        } catch let error as ConfigurationError {
            #expect(error.description.contains(message), "\(error.description)")
        }
    }

    @Test
    func aConfigurationFileThatIsAFolderIsNamedSo() async throws {
        do {
            _ = try await LedgerConfiguration.resolve(environment: [:], configFile: TestScratch.folder.path)
            Issue.record("a folder was read as the configuration file")
        } catch let error as ConfigurationError {
            #expect(error.description.contains("cannot be read"), "\(error.description)")
        }
    }

    @Test
    func aMissingConfigurationFileIsAnError() async throws {
        await #expect(throws: ConfigurationError.self) {
            _ = try await LedgerConfiguration.resolve(environment: [:], configFile: "/nonexistent/ledger.json")
        }
    }
}
