import ArgumentParser
import EventStore
import Foundation
import LedgerService
import Logging

/// Options every command that touches the database shares.
struct CommonOptions: ParsableArguments {
    @Option(name: .long, help: "A JSON configuration file (also LEDGER_CONFIG_FILE).")
    var config: String?

    @Option(name: .long, help: "sqlite:///path or postgres://user:password@host:port/db (also LEDGER_DATABASE_URL).")
    var databaseURL: String?

    @Option(name: .long, help: "trace, debug, info, notice, warning, error or critical (also LEDGER_LOG_LEVEL).")
    var logLevel: String?

    @Option(name: .long, help: "text or json (also LEDGER_LOG_FORMAT).")
    var logFormat: String?

    /// The options given, as configuration keys.
    var overrides: [String: String] {
        var values: [String: String] = [:]
        values["database.url"] = databaseURL
        values["log.level"] = logLevel
        values["log.format"] = logFormat
        return values
    }

    /// Resolves the configuration, turning problems into a message and exit code 78. A malformed option is a
    /// usage error naming the option (exit code 64), not the environment variable it stands in for.
    func resolve(extra: [String: String] = [:]) async throws -> LedgerConfiguration {
        if let logLevel, Logger.Level(rawValue: logLevel.lowercased()) == nil {
            throw Failure.usage("--log-level must be trace, debug, info, notice, warning, error or critical, not '\(logLevel.prefix(80))'")
        }
        if let logFormat, LedgerConfiguration.LogFormat(rawValue: logFormat.lowercased()) == nil {
            throw Failure.usage("--log-format must be text or json, not '\(logFormat.prefix(80))'")
        }
        if let databaseURL {
            do {
                _ = try DatabaseURL(parsing: databaseURL)
            } catch {
                throw Failure.usage("--database-url: \(error.message)")
            }
        }
        do {
            return try await LedgerConfiguration.resolve(commandLine: overrides.merging(extra) { $1 }, configFile: config)
        } catch {
            throw Failure.configuration("\(error)")
        }
    }
}

/// A failure reported to the person at the terminal, with a stable exit code.
enum Failure: Error, CustomStringConvertible {
    case configuration(String)
    case unavailable(String)
    case failed(String)
    /// The command was given something it cannot take (an unknown role, a date that is not one): exit code 64.
    case usage(String)

    var description: String {
        switch self {
        case .configuration(let message): "configuration error: \(message)"
        case .unavailable(let message): "database unavailable: \(message)"
        case .failed(let message), .usage(let message): message
        }
    }

    var exitCode: ExitCode {
        switch self {
        case .configuration: ExitCode(78)
        case .unavailable: ExitCode(69)
        case .failed: .failure
        case .usage: .validationFailure
        }
    }
}

/// Sets up logging once per process, as configured.
enum LoggingSetup {
    static func bootstrap(_ configuration: LedgerConfiguration) -> Logger {
        let level = configuration.logLevel
        switch configuration.logFormat {
        case .json:
            LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: level) }
        case .text:
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        }
        return Logger(label: "listing-ledger")
    }
}

/// Runs `body`, printing any failure as one line on standard error and exiting with its code.
func reportingFailures(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let failure as Failure {
        printError("listing-ledger: \(failure)")
        throw failure.exitCode
    } catch let error as EventStoreError {
        let failure: Failure = switch error.code {
        case .unavailable: .unavailable(error.message)
        case .configuration, .migration: .configuration(error.message)
        default: .failed(error.message)
        }
        printError("listing-ledger: \(failure)")
        throw failure.exitCode
    } catch let error as ConfigurationError {
        printError("listing-ledger: configuration error: \(error)")
        throw ExitCode(78)
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// Opens the runtime as `serve` would (migrating as configured), runs `body`, and closes it. Unless `mayCreate`,
/// the ledger must exist already: only `serve`, `migrate` and `users add` (the first step of a new install)
/// create one. Which ledger is used is said on standard error.
func withRuntime(_ common: CommonOptions, mayCreate: Bool = false, _ body: (LedgerRuntime) async throws -> Void) async throws {
    let configuration = try await common.resolve()
    let logger = LoggingSetup.bootstrap(configuration)
    printError("listing-ledger: using the ledger at \(configuration.databaseURL)")
    let runtime = try await LedgerRuntime.open(configuration, logger: logger, mayCreate: mayCreate)
    do {
        try await body(runtime)
        await runtime.close()
    } catch {
        await runtime.close()
        throw error
    }
}
