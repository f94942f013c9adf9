import EventStore
import Foundation
import LedgerService
import Logging
import Testing

@Suite("Configuration")
struct LedgerConfigurationTests {
    @Test
    func noConfigurationAtAllIsADevelopmentInstanceOnSQLite() async throws {
        let configuration = try await LedgerConfiguration.resolve(environment: [:])
        #expect(configuration.mode == .development)
        #expect(configuration.databaseURL == .sqlite(path: "var/ledger.sqlite"))
        #expect(configuration.databaseURLIsDefault)
        #expect(configuration.httpHost == "127.0.0.1" && configuration.httpPort == 8080)
    }

    @Test
    func layersOverrideInOrderFileThenEnvironmentThenCommandLine() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ledger-config-\(UUID().uuidString).json")
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

    @Test(arguments: [
        ("LEDGER_HTTP_PORT", "eighty", "LEDGER_HTTP_PORT: 'eighty' is not a valid value"),
        ("LEDGER_HTTP_PORT", "70000", "LEDGER_HTTP_PORT: '70000' is not a valid value"),
        ("LEDGER_LOG_LEVEL", "loud", "LEDGER_LOG_LEVEL: 'loud' is not a valid value"),
        ("LEDGER_MODE", "staging", "LEDGER_MODE: 'staging' is not a valid value"),
        ("LEDGER_DATABASE_URL", "mysql://x@y/z", "LEDGER_DATABASE_URL: the database URL scheme 'mysql' is not supported"),
    ])
    func malformedValuesNameTheSetting(variable: String, value: String, message: String) async throws {
        do {
            _ = try await LedgerConfiguration.resolve(environment: [variable: value])
            Issue.record("\(variable)=\(value) was accepted")
        } catch let error as ConfigurationError {
            #expect(error.description.hasPrefix(message))
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
        let complete: LedgerConfiguration = try await LedgerConfiguration.resolve(environment: [
            "LEDGER_MODE": "production", "LEDGER_DATABASE_URL": "sqlite:///tmp/p.sqlite", "LEDGER_API_KEY_PEPPER": "s3cret",
        ])
        #expect(complete.mode == .production && complete.apiKeyPepper == "s3cret")
    }

    @Test
    func aMissingConfigurationFileIsAnError() async throws {
        await #expect(throws: ConfigurationError.self) {
            _ = try await LedgerConfiguration.resolve(environment: [:], configFile: "/nonexistent/ledger.json")
        }
    }
}
