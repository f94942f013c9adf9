import EventStore
import Foundation
import LedgerService
import TestSupport
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Promises the README makes about the `listing-ledger` command, tried by running the built executable as an
/// operator would.
@Suite("README promises on the command line")
struct ReadmePromiseCLITests {
    // MARK: LEDGER_MIGRATE_ON_START

    /// "`LEDGER_MIGRATE_ON_START` … with `false` they refuse to start on a database that lacks [a migration]":
    /// `serve` exits without listening, and every other command that opens an existing ledger exits with a
    /// failure, each naming the migration; none of them applies it.
    @Test(arguments: Backend.allCases)
    func withMigrateOnStartFalseServeAndEveryOtherCommandRefuseALedgerThatLacksAMigration(backend: Backend) async throws {
        let (url, lacking) = try await ledgerLackingItsNewestMigration(backend)
        let off = ["LEDGER_MIGRATE_ON_START": "false"]

        let server = try LoggedProcess.start(["serve", "--port", "0", "--database-url", url.connectionString], environment: off)
        defer { server.stop() }
        let status = try await server.exitStatus(within: .seconds(60))
        #expect(status != nil, "serve is running on a ledger that lacks \(lacking.fileName): \(server.stdout)")
        #expect(status != 0, "serve exited with status 0")
        #expect(!server.stdout.contains("listening on"), "\(server.stdout)")
        #expect(server.stderr.contains(lacking.fileName), "serve did not say which migration is missing: \(server.stderr)")

        let statement = try CamtStatementBuilder(statements: [.init(id: "S-1", iban: "NL91ABNA0417164300", entries: [
            .init(date: "2026-03-02", bankReference: "R-1", transactions: [.init(amount: "125.00", payerName: "Ada", text: "no reference")]),
        ])]).write()
        let commands = [
            ["keys", "list"], ["endpoints", "list"], ["users", "list"], ["policy", "show"], ["rebuild"], ["export", "journal"],
            ["import-statement", statement.path],
        ]
        for arguments in commands {
            let result = try await CLI.run(arguments + ["--database-url", url.connectionString], environment: off)
            #expect(result.status != 0, "\(arguments) ran on a ledger that lacks \(lacking.fileName): \(result.stdout)")
            #expect(result.stderr.contains(lacking.fileName), "\(arguments): \(result.stderr)")
        }
        #expect(try await pendingMigrations(url) == [lacking.fileName], "a command applied the migration although told not to")
    }

    /// "`LEDGER_MIGRATE_ON_START` … default `true`: `serve`, and every other command that opens an existing
    /// ledger, applies pending migrations first": `serve` starts, is ready, and the migration is there; so it is
    /// after a command (`keys list`) on another such ledger.
    @Test(arguments: Backend.allCases)
    func byDefaultServeAndTheOtherCommandsApplyAMissingMigrationFirst(backend: Backend) async throws {
        let (served, lacking) = try await ledgerLackingItsNewestMigration(backend)
        let server = try LoggedProcess.start(["serve", "--port", "0", "--database-url", served.connectionString])
        defer { server.stop() }
        let port = try await server.listeningPort()
        let (_, response) = try await URLSession.shared.data(from: try #require(URL(string: "http://127.0.0.1:\(port)/readyz")))
        #expect((response as? HTTPURLResponse)?.statusCode == 200, "serve did not apply \(lacking.fileName)")
        server.deliver(SIGTERM)
        #expect(try await server.exitStatus(within: .seconds(30)) == 0, "\(server.stderr)")
        #expect(try await pendingMigrations(served).isEmpty)

        let (listed, _) = try await ledgerLackingItsNewestMigration(backend)
        let result = try await CLI.run(["keys", "list", "--database-url", listed.connectionString])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try await pendingMigrations(listed).isEmpty, "keys list did not apply \(lacking.fileName)")
    }

    // MARK: --log-format json

    /// "`LEDGER_LOG_FORMAT` … `json` for one JSON object per line (`--log-format`)": every line `serve` logs,
    /// asked by the option or by the variable, is one JSON object, and its log lines are there (the migrations
    /// applied at the first start).
    @Test
    func serveLogsOneJSONObjectPerLineWhenAskedByTheOptionOrTheVariable() async throws {
        let runs: [(arguments: [String], environment: [String: String])] = [
            (["--log-format", "json", "--log-level", "debug"], [:]),
            ([], ["LEDGER_LOG_FORMAT": "json"]),
        ]
        for run in runs {
            let url = try await TestDatabase.freshURL(.sqlite).connectionString
            let server = try LoggedProcess.start(["serve", "--port", "0", "--database-url", url] + run.arguments, environment: run.environment)
            defer { server.stop() }
            let port = try await server.listeningPort()
            let (_, response) = try await URLSession.shared.data(from: try #require(URL(string: "http://127.0.0.1:\(port)/healthz")))
            #expect((response as? HTTPURLResponse)?.statusCode == 200)
            server.deliver(SIGTERM)
            #expect(try await server.exitStatus(within: .seconds(30)) == 0, "\(server.stderr)")

            let log = server.stderr
            let lines = log.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
            #expect(!lines.isEmpty && log.hasSuffix("\n"), "\(run.arguments) \(run.environment): no log lines ending in a line break: \(log)")
            var messages: [String] = []
            for line in lines {
                let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
                #expect(object != nil, "\(run.arguments) \(run.environment): not one JSON object: \(line)")
                #expect(object?["level"] as? String != nil, "\(run.arguments) \(run.environment): no level in \(line)")
                if let message = object?["message"] as? String { messages.append(message) }
            }
            #expect(messages.contains("applied migrations"), "\(run.arguments) \(run.environment): \(messages)")
        }
    }

    // MARK: SIGINT

    /// "SIGTERM or SIGINT stops `serve` gracefully: in-flight requests finish, then the database is closed."
    /// A registration whose body is half sent when SIGINT arrives: new connections are refused from then on,
    /// the registration is still answered (201) and recorded once its body is complete, and `serve` exits 0.
    @Test(arguments: Backend.allCases)
    func sigintLetsTheRequestInFlightFinishThenServeExitsWithStatus0(backend: Backend) async throws {
        let url = try await TestDatabase.freshURL(backend)
        #expect(try await CLI.run(["migrate", "--database-url", url.connectionString]).status == 0)
        let created = try await CLI.run(["keys", "create", "--role", "staff", "--name", "Anna", "--database-url", url.connectionString])
        #expect(created.status == 0, "\(created.stderr)")
        let key = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let server = try LoggedProcess.start(["serve", "--port", "0", "--database-url", url.connectionString])
        defer { server.stop() }
        let port = try await server.listeningPort()

        let body = Array(#"{"profileId":"ada-1","kind":"mediator","displayName":"Ada","contactEmail":"ada@example.org"}"#.utf8)
        let half = body.count / 2
        let head = "POST /api/v1/profiles HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nAuthorization: Bearer \(key)\r\n"
            + "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n"
        guard let connection = RawConnection(port: port) else { throw TestSetupError("cannot connect to serve on port \(port)") }
        // A first request answered on the connection: the server has taken the connection in and reads from it.
        try connection.write(Array("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n\r\n".utf8))
        let health = try await connection.readResponse(timeout: .seconds(30))
        #expect(health.hasPrefix("HTTP/1.1 200"), "\(health)")
        try connection.write(Array(head.utf8) + Array(body[..<half]))
        // A moment for the server to read the head it was sent on a connection it already reads from.
        try await Task.sleep(for: .milliseconds(500))
        server.deliver(SIGINT)

        // The stop has begun: new connections are refused while the request in flight waits for its body.
        var refused = false
        let deadline = ContinuousClock.now + .seconds(10)
        while !refused, ContinuousClock.now < deadline {
            if RawConnection(port: port) == nil {
                refused = true
            } else {
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        #expect(refused, "serve still accepts connections 10 s after SIGINT")
        #expect(server.process.isRunning, "serve exited with a request in flight: \(server.stderr)")

        try connection.write(Array(body[half...]))
        let answer = try await connection.readUntilClosed(timeout: .seconds(30))
        #expect(answer.hasPrefix("HTTP/1.1 201"), "the request in flight was not answered: \(answer)")
        #expect(try await server.exitStatus(within: .seconds(30)) == 0, "\(server.stderr)")

        let store = try await TestDatabase.open(url)
        do {
            let types = try await store.readStream("profile-ada-1", fromVersion: 1, limit: 10).map(\.type)
            #expect(types.first == "ProfileRegistered", "\(types)")
            await store.close()
        } catch {
            await store.close()
            throw error
        }
    }
}

// MARK: Support

/// A new ledger migrated up to, but not including, its newest migration: what an upgraded build finds.
private func ledgerLackingItsNewestMigration(_ backend: Backend) async throws -> (url: DatabaseURL, lacking: Migration) {
    let url = try await TestDatabase.freshURL(backend)
    let store = try await TestDatabase.open(url)
    let lacking: Migration
    do {
        let all = try LedgerMigrations.all(for: store.dialect)
        lacking = try #require(all.last)
        _ = try await store.migrate(all.filter { $0.version < lacking.version })
    } catch {
        await store.close()
        throw error
    }
    await store.close()
    let pending = try await pendingMigrations(url)
    guard pending == [lacking.fileName] else { throw TestSetupError("the ledger lacks \(pending), not just \(lacking.fileName)") }
    return (url, lacking)
}

/// The file names of the ledger migrations the database at `url` lacks.
private func pendingMigrations(_ url: DatabaseURL) async throws -> [String] {
    let store = try await TestDatabase.open(url)
    do {
        let pending = try await store.pendingLedgerMigrations().map(\.fileName)
        await store.close()
        return pending
    } catch {
        await store.close()
        throw error
    }
}

/// The executable run by these tests, its standard output and error written to files: nothing it writes can
/// block it, and both can be read while it runs and after it exits.
private final class LoggedProcess: @unchecked Sendable {
    // @unchecked: the Process is only used from the test's task.
    let process: Process
    private let stdoutFile: URL
    private let stderrFile: URL

    private init(process: Process, stdoutFile: URL, stderrFile: URL) {
        self.process = process
        self.stdoutFile = stdoutFile
        self.stderrFile = stderrFile
    }

    /// Starts `listing-ledger` with `arguments`; `environment` adds to (or replaces in) the clean environment.
    static func start(_ arguments: [String], environment: [String: String] = [:]) throws -> LoggedProcess {
        let folder = TestScratch.folder.appendingPathComponent("ledger-readme-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let stdoutFile = folder.appendingPathComponent("stdout.log")
        let stderrFile = folder.appendingPathComponent("stderr.log")
        guard FileManager.default.createFile(atPath: stdoutFile.path, contents: nil),
              FileManager.default.createFile(atPath: stderrFile.path, contents: nil) else {
            throw TestSetupError("cannot create the output files in \(folder.path)")
        }
        let process = Process()
        process.executableURL = CLI.executable
        process.arguments = arguments
        process.environment = CLI.cleanEnvironment.merging(environment) { $1 }
        process.currentDirectoryURL = folder
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: stdoutFile)
        process.standardError = try FileHandle(forWritingTo: stderrFile)
        try process.run()
        return LoggedProcess(process: process, stdoutFile: stdoutFile, stderrFile: stderrFile)
    }

    var stdout: String { (try? String(contentsOf: stdoutFile, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOf: stderrFile, encoding: .utf8)) ?? "" }

    /// The status it exited with, or nil if it still runs after `timeout`.
    func exitStatus(within timeout: Duration) async throws -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            guard ContinuousClock.now < deadline else { return nil }
            try await Task.sleep(for: .milliseconds(50))
        }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// The port `serve` says it listens on (`listing-ledger listening on http://127.0.0.1:PORT using …`).
    func listeningPort(timeout: Duration = .seconds(60)) async throws -> Int {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let line = stdout.split(separator: "\n").first(where: { $0.contains("listening on") }) {
                guard let address = line.split(separator: " ").first(where: { $0.hasPrefix("http://") }),
                      let port = address.split(separator: ":").last.flatMap({ Int($0) }) else {
                    throw TestSetupError("no port in '\(line)'")
                }
                return port
            }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestSetupError("serve never said where it listens; standard output: \(stdout) standard error: \(stderr)")
    }

    /// Sends `signal` to the process.
    func deliver(_ signal: Int32) {
        kill(process.processIdentifier, signal)
    }

    /// Kills the process if it still runs, so a failed test leaves no server behind.
    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

#if canImport(Glibc)
private let streamSocketType = Int32(SOCK_STREAM.rawValue)
private let sendFlags = Int32(MSG_NOSIGNAL)
#else
private let streamSocketType = SOCK_STREAM
private let sendFlags: Int32 = 0
#endif

/// A TCP connection of the test's own to 127.0.0.1, so one request can be sent in parts with a pause between.
private final class RawConnection {
    private let descriptor: Int32

    /// Connects to `port`; nil when the connection is refused.
    init?(port: Int) {
        let descriptor = socket(AF_INET, streamSocketType, 0)
        guard descriptor >= 0 else { return nil }
        var address = sockaddr_in()
        #if canImport(Darwin)
        address.sin_len = UInt8(MemoryLayout<sockaddr_in>.size)
        #endif
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(descriptor)
            return nil
        }
        self.descriptor = descriptor
    }

    deinit {
        close(descriptor)
    }

    /// Sends every byte.
    func write(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBufferPointer { buffer in
                send(descriptor, buffer.baseAddress! + offset, buffer.count - offset, sendFlags)
            }
            guard sent > 0 else { throw TestSetupError("the connection broke while sending (errno \(errno))") }
            offset += sent
        }
    }

    /// One response: its head, and as many body bytes as its `Content-Length` says.
    func readResponse(timeout: Duration) async throws -> String {
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let text = String(decoding: received, as: UTF8.self)
            if let end = text.range(of: "\r\n\r\n") {
                let length = text[..<end.lowerBound].split(separator: "\r\n")
                    .first { $0.lowercased().hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
                if text.utf8.count - text[..<end.upperBound].utf8.count >= length { return text }
            }
            var watched = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&watched, 1, 0) > 0 else {
                try await Task.sleep(for: .milliseconds(20))
                continue
            }
            let count = chunk.withUnsafeMutableBytes { buffer in recv(descriptor, buffer.baseAddress, buffer.count, 0) }
            guard count > 0 else { break }
            received.append(contentsOf: chunk[0..<count])
        }
        throw TestSetupError("no whole response within \(timeout): \(String(decoding: received, as: UTF8.self))")
    }

    /// What the server sends until it closes the connection, or until `timeout`.
    func readUntilClosed(timeout: Duration) async throws -> String {
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            var watched = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&watched, 1, 0) > 0 else {
                try await Task.sleep(for: .milliseconds(20))
                continue
            }
            let count = chunk.withUnsafeMutableBytes { buffer in recv(descriptor, buffer.baseAddress, buffer.count, 0) }
            guard count > 0 else { break }
            received.append(contentsOf: chunk[0..<count])
        }
        return String(decoding: received, as: UTF8.self)
    }
}
