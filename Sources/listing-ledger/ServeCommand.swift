import ArgumentParser
import Foundation
import Hummingbird
import LedgerHTTP
import LedgerService
import Logging
import NIOCore
import ServiceLifecycle
import UnixSignals
import EventStore

/// `listing-ledger serve`: the HTTP API and the background services, until SIGTERM or SIGINT.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the service: the HTTP API and its background work (projections, sweeper, directory publisher)."
    )

    @OptionGroup var common: CommonOptions

    @Option(name: .long, help: "Address to listen on (also LEDGER_HTTP_HOST).")
    var host: String?

    @Option(name: .long, parsing: .unconditional, help: "Port to listen on, 0 to 65535; 0 picks a free one (also LEDGER_HTTP_PORT).")
    var port: Int?

    func validate() throws {
        if let port, !(0...65_535).contains(port) {
            throw ValidationError("--port must be 0 to 65535 (0 picks a free one); \(port) is not a port")
        }
    }

    /// Why the service stopped, in words: the two causes a person meets at start (the port taken, a host that is
    /// no address here) named as such; anything else as it came.
    static func sentence(for error: any Error, host: String, port: Int) -> String {
        if let error = error as? IOError, error.errnoCode == EADDRINUSE {
            return "port \(port) is already in use by another program on this machine; stop it, or choose another port with --port or LEDGER_HTTP_PORT"
        }
        if let error = error as? IOError, error.errnoCode == EADDRNOTAVAIL {
            return "the host \(host) is not an address of this machine; use --host or LEDGER_HTTP_HOST with one of its addresses (0.0.0.0 for all)"
        }
        if error is SocketAddressError || error is SocketAddressError.UnknownHost {
            return "the host \(host) is not an address this machine can listen on; use --host or LEDGER_HTTP_HOST with one of its addresses (0.0.0.0 for all)"
        }
        return "the service stopped: \(error)"
    }

    func run() async throws {
        try await reportingFailures {
            var extra: [String: String] = [:]
            extra["http.host"] = host
            extra["http.port"] = port.map(String.init)
            let configuration = try await common.resolve(extra: extra)
            let logger = LoggingSetup.bootstrap(configuration)
            let runtime = try await LedgerRuntime.open(configuration, logger: logger)
            let database = configuration.databaseURL.description
            let mode = configuration.mode
            let application = buildApplication(runtime: runtime) { port in
                let development = mode == .development ? " — development instance, not for production" : ""
                // Written unbuffered: scripts and tests wait for this line.
                FileHandle.standardOutput.write(Data("listing-ledger listening on http://\(configuration.httpHost):\(port) using \(database)\(development)\n".utf8))
            }
            let group = ServiceGroup(
                configuration: .init(
                    services: [application],
                    gracefulShutdownSignals: [.sigterm, .sigint],
                    logger: logger
                )
            )
            do {
                try await group.run()
            } catch {
                await runtime.close()
                throw Failure.failed(Self.sentence(for: error, host: configuration.httpHost, port: configuration.httpPort))
            }
            await runtime.close()
        }
    }
}
