public import Foundation
public import Logging
public import CoreMetrics
import NIOCore
import NIOFoundationEssentialsCompat
import NIOPosix
import NIOSSL
import PostgresNIO

/// The production ``EventStore`` on PostgreSQL 15 or later.
///
/// Concurrent appends are written together: one round trip to `ledger_append_batch` writes every append that
/// arrived while the previous batch was being written, each with its own checks, in one transaction and one
/// commit flush (``GroupCommit``).
/// Readers see events in (transaction id, position) order and only below the oldest running transaction,
/// which keeps the global order gap-free without serialising writers (DESIGN.md §2).
///
/// Other instances learn of appends through `NOTIFY ledger_appends`, sent after commit and coalesced (a
/// `NOTIFY` inside the appending transaction would serialise every commit on PostgreSQL's notify lock).
public final class PostgresEventStore: EventStore {
    public let limits: EventStoreLimits
    public let backendName = "postgres"
    public var dialect: SQLDialect { .postgres }
    /// Where the store is connected, with the password redacted.
    public let location: String

    /// The connection pool in use (see ``PoolHolder``).
    let pool: PoolHolder
    var client: PostgresClient { pool.client }
    let maximumConnections: Int
    let connectTimeout: Duration
    let settings: DatabaseURL.PostgresSettings
    let signal = AppendSignal()
    let notifier: CoalescingNotifier
    let now: @Sendable () -> Date
    let logger: Logger
    let appendedEvents: Counter
    /// Single-stream appends waiting to share a transaction.
    /// Single- and multi-stream appends alike: a request is the list of its streams' appends.
    let appendQueue: AppendQueue
    /// Set by ``close()``: from then on every operation fails at once rather than wait for a stopped pool.
    private let isClosed = Synchronization.Mutex(false)
    /// Operations using the pool right now; ``close()`` lets them finish before it stops the pool, because an
    /// operation waiting for a connection when the pool stops can wait for ever.
    private let operationsInFlight = Synchronization.Mutex(0)
    private let backgroundTasks: [Task<Void, Never>]
    /// Whether the server answered lately (see ``Reachability``).
    let reachability = Reachability()

    static let notificationChannel = "ledger_appends"

    private init(
        server: DatabaseURL.PostgresServer, settings: DatabaseURL.PostgresSettings, limits: EventStoreLimits,
        maximumConnections: Int, connectTimeout: Duration,
        now: @escaping @Sendable () -> Date, metricsFactory: any MetricsFactory, logger: Logger
    ) throws {
        self.appendedEvents = Counter(label: "ledger_events_appended_total", dimensions: [("backend", "postgres")], factory: metricsFactory)
        self.maximumConnections = maximumConnections
        self.connectTimeout = connectTimeout
        let pool = PoolHolder(
            server: server,
            client: try Self.makeClient(settings.aimed(at: server), maximumConnections: maximumConnections, connectTimeout: connectTimeout, logger: logger)
        )
        self.pool = pool
        self.settings = settings
        self.location = DatabaseURL.postgres(settings).description
        self.limits = limits
        self.now = now
        self.logger = logger
        // Two batches at a time: one executes while the other waits for its commit flush. More made smaller
        // batches and fewer appends per second in `bench append` (16 writers: 1 batch 0.95, 2 batches 1.02,
        // 4 batches 0.75 of pgbench's insert rate); each running batch holds one pool connection.
        let location = DatabaseURL.postgres(settings).description
        self.appendQueue = GroupCommit(
            concurrentBatchesMax: 2, requestsPerBatchMax: 256, weightPerBatchMax: limits.eventsPerAppendMax,
            writeTimeLimit: Self.appendTimeLimit,
            timeLimitError: {
                EventStoreError(
                    .unavailable,
                    "PostgreSQL at \(location) did not finish an append within \(Self.appendTimeLimit.components.seconds) s; it may or may not have been written, and sending it again is safe",
                    underlying: AppendTimeLimitExceeded()
                )
            }
        )
        let notifier = CoalescingNotifier(pool: pool, channel: Self.notificationChannel, logger: logger)
        self.notifier = notifier
        let signal = self.signal
        // The connection pool and the LISTEN loop live exactly as long as the store: started here, cancelled by
        // close(). The LISTEN loop follows the pool to another server.
        self.backgroundTasks = [
            Task.detached { await Self.listen(settings: { settings.aimed(at: pool.server) }, signal: signal, logger: logger) },
        ]
    }

    static func makeClient(
        _ settings: DatabaseURL.PostgresSettings, maximumConnections: Int, connectTimeout: Duration, logger: Logger
    ) throws -> PostgresClient {
        var configuration = PostgresClient.Configuration(
            host: settings.host, port: settings.port, username: settings.username, password: settings.password,
            database: settings.database, tls: try clientTLS(settings.tls)
        )
        configuration.options.maximumConnections = maximumConnections
        configuration.options.connectTimeout = connectTimeout
        return PostgresClient(configuration: configuration, backgroundLogger: logger)
    }

    /// The first server of the URL that answers (and, with `target_session_attrs=read-write`, accepts writes).
    /// With one server, its own error; with several, each one's reason.
    static func findServer(_ settings: DatabaseURL.PostgresSettings, timeout: Duration, logger: Logger) async throws -> DatabaseURL.PostgresServer {
        let servers = settings.servers
        var reasons: [String] = []
        for server in servers {
            do {
                let acceptsWrites = try await checkConnectivity(settings.aimed(at: server), timeout: timeout, logger: logger)
                if acceptsWrites || !settings.requiresReadWrite { return server }
                reasons.append("\(server) accepts no writes (a standby)")
            } catch let error as EventStoreError where error.code != .configuration && servers.count > 1 {
                reasons.append("\(server): \(error.message)")
            }
        }
        throw EventStoreError(
            .unavailable, "no PostgreSQL server at \(DatabaseURL.postgres(settings).description) can be used: \(reasons.joined(separator: "; "))"
        )
    }

    /// Connects, checking first with a single short attempt so a wrong password or an unreachable host is
    /// reported at once with its real cause (the pool alone would retry for about a minute).
    public static func open(
        settings: DatabaseURL.PostgresSettings,
        limits: EventStoreLimits = .standard,
        maximumConnections: Int = 20,
        connectTimeout: Duration = .seconds(5),
        now: @escaping @Sendable () -> Date = { Date() },
        metricsFactory: any MetricsFactory = MetricsSystem.factory,
        logger: Logger = Logger(label: "listing-ledger.postgres")
    ) async throws -> PostgresEventStore {
        let server = try await findServer(settings, timeout: connectTimeout, logger: logger)
        return try PostgresEventStore(
            server: server, settings: settings, limits: limits, maximumConnections: maximumConnections, connectTimeout: connectTimeout,
            now: now, metricsFactory: metricsFactory, logger: logger
        )
    }

    public func close() async {
        // Operations waiting for a connection would otherwise wait for ever once the pool has stopped.
        isClosed.withLock { $0 = true }
        appendQueue.close(failingWith: closedError)
        let deadline = ContinuousClock.now + Self.closeWaitMax
        while operationsInFlight.withLock({ $0 }) > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        let poolTasks = pool.stop()
        for task in backgroundTasks + poolTasks { task.cancel() }
        for task in backgroundTasks + poolTasks { await Self.waitForEnd(of: task, atMost: Self.closeWaitMax) }
    }

    /// How long an append waits for its batch's write before it is answered 503 (the outcome unknown).
    static let appendTimeLimit: Duration = .seconds(5)

    /// The longest `close()` waits for the connection pool and the LISTEN loop to stop.
    static let closeWaitMax: Duration = .seconds(5)

    /// Waits for `task` to end, or for `limit`, whichever comes first. PostgresClient's `run()` does not
    /// always return promptly when cancelled while it is opening connections; a stopping service must not
    /// wait for ever on it (the connections close with the process).
    static func waitForEnd(of task: Task<Void, Never>, atMost limit: Duration) async {
        let ended = FirstAnswer<Void>()
        Task {
            await task.value
            ended.give(())
        }
        Task {
            try? await Task.sleep(for: limit)
            ended.give(())
        }
        await ended.value()
    }

    static func clientTLS(_ mode: DatabaseURL.TLSMode) throws -> PostgresClient.Configuration.TLS {
        switch mode {
        case .disable: .disable
        case .prefer: .prefer(.makeClientConfiguration())
        case .require: .require(.makeClientConfiguration())
        }
    }

    static func connectionConfiguration(_ settings: DatabaseURL.PostgresSettings, timeout: Duration) throws -> PostgresConnection.Configuration {
        let tls: PostgresConnection.Configuration.TLS = switch settings.tls {
        case .disable: .disable
        case .prefer: .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
        case .require: .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
        }
        var configuration = PostgresConnection.Configuration(
            host: settings.host, port: settings.port, username: settings.username, password: settings.password,
            database: settings.database, tls: tls
        )
        configuration.options.connectTimeout = .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000)
        return configuration
    }

    /// Opens one connection, asks for the database's encoding, and turns any failure into a message naming its cause.
    ///
    /// The database must be UTF8: events are read as UTF-8 text, and a read packs each stream and type name with
    /// its length in the database's encoding.
    @discardableResult
    static func checkConnectivity(_ settings: DatabaseURL.PostgresSettings, timeout: Duration, logger: Logger) async throws -> Bool {
        let target = DatabaseURL.postgres(settings).description
        let encoding: String
        let readOnly: String
        do {
            let connection = try await PostgresConnection.connect(
                configuration: connectionConfiguration(settings, timeout: timeout), id: 0, logger: logger
            )
            defer { Task { try? await connection.close() } }
            let rows = try await connection.query(
                "SELECT current_setting('server_encoding'), current_setting('transaction_read_only')", logger: logger
            ).collect()
            (encoding, readOnly) = try rows.first?.decode((String, String).self) ?? ("", "on")
        } catch let error as PSQLError {
            throw EventStoreError(.unavailable, "cannot use PostgreSQL at \(target): \(describe(error))", underlying: error)
        } catch {
            throw EventStoreError(.unavailable, "cannot reach PostgreSQL at \(target): \(error)", underlying: error)
        }
        guard encoding == "UTF8" else {
            throw EventStoreError(
                .configuration,
                "the database at \(target) is in the encoding \(encoding); the ledger needs a UTF8 database (CREATE DATABASE … ENCODING 'UTF8')"
            )
        }
        return readOnly == "off"
    }

    /// After a failure of the connection itself, the store answers "unavailable" at once until a connection of
    /// its own reaches the server again: operations would otherwise queue in the pool for up to a minute.
    func noteIfTheConnectionWasLost(_ error: any Error) {
        let cause = (error as? PostgresTransactionFailure)?.cause ?? (error as? EventStoreError)?.underlying ?? error
        // A server that refuses writes (25006) is a standby now: another server of the URL may be the primary.
        let refusesWrites = (cause as? PSQLError)?.serverInfo?[.sqlState] == "25006"
        guard PostgresConnection.endsTheConnection(cause) || refusesWrites || cause is AppendTimeLimitExceeded else { return }
        let settings = settings
        let logger = logger
        let newlyLost = reachability.lost { [weak self] in
            guard let self, self.closedFailure() == nil else { return true }
            guard let server = try? await Self.findServer(settings, timeout: .seconds(2), logger: logger) else { return false }
            if server != self.pool.server {
                guard let client = try? Self.makeClient(
                    settings.aimed(at: server), maximumConnections: self.maximumConnections, connectTimeout: self.connectTimeout, logger: logger
                ) else { return false }
                self.pool.replace(server: server, client: client)
                logger.warning("PostgreSQL at \(server) accepts writes now; using it", metadata: ["database": "\(self.location)"])
            }
            logger.info("PostgreSQL answers again", metadata: ["database": "\(self.location)"])
            return true
        }
        if newlyLost {
            logger.warning("lost the connection to PostgreSQL; answering 503 until it answers again", metadata: ["database": "\(location)"])
        }
    }

    /// A person-readable cause for a driver error.
    static func describe(_ error: PSQLError) -> String {
        if let sqlState = error.serverInfo?[.sqlState] {
            let message = error.serverInfo?[.message] ?? ""
            switch sqlState {
            case "28P01", "28000": return "authentication failed (\(message)); check the user name and password"
            case "3D000": return "the database does not exist (\(message)); create it or fix the URL"
            default: return "the server answered \(sqlState): \(message)"
            }
        }
        if error.code == .connectionError, let underlying = error.underlying {
            return "the connection failed (\(underlying)); is the server running and the host and port right?"
        }
        return "\(error.code)"
    }

    /// Keeps a LISTEN connection open, turning notifications into local wake-ups; reconnects after failures.
    private static func listen(settings: @Sendable () -> DatabaseURL.PostgresSettings, signal: AppendSignal, logger: Logger) async {
        while !Task.isCancelled {
            do {
                let connection = try await PostgresConnection.connect(
                    configuration: connectionConfiguration(settings(), timeout: .seconds(5)), id: 1, logger: logger
                )
                defer { Task { try? await connection.close() } }
                // A cancellation that came while connecting must not start a wait for notifications: `connect`
                // does not stop for it, and the wait below would then never end, holding up `close()`.
                guard !Task.isCancelled else { return }
                // A notification may have been missed while disconnected.
                signal.signal()
                try await withTaskCancellationHandler {
                    try await connection.listen(on: notificationChannel) { notifications in
                        for try await _ in notifications { signal.signal() }
                    }
                } onCancel: {
                    // Closing the connection ends the notifications, wherever the wait is.
                    Task { try? await connection.close() }
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning("LISTEN connection to PostgreSQL failed; retrying", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    /// Turns driver errors into ``EventStoreError``; lets ours through.
    func mappingErrors<Result>(_ body: () async throws -> Result) async throws -> Result {
        try await inFlight {
            do {
                return try await body()
            } catch {
                throw mapError(error)
            }
        }
    }

    /// Runs `body` as an operation ``close()`` waits for; fails at once once the store is closed, or while the
    /// server is unreachable.
    func inFlight<Result>(_ body: () async throws -> Result) async throws -> Result {
        if reachability.isDown, closedFailure() == nil {
            throw EventStoreError(
                .unavailable, "PostgreSQL at \(location) is not answering (it may be restarting); nothing was done, and trying again shortly is safe"
            )
        }
        let admitted = isClosed.withLock { closed in
            guard !closed else { return false }
            operationsInFlight.withLock { $0 += 1 }
            return true
        }
        guard admitted else { throw closedError }
        defer { operationsInFlight.withLock { $0 -= 1 } }
        return try await body()
    }

    /// The error every operation gets once the store is closed; nil while it is open.
    func closedFailure() -> EventStoreError? {
        isClosed.withLock { $0 } ? closedError : nil
    }

    private var closedError: EventStoreError {
        EventStoreError(.unavailable, "the PostgreSQL store at \(location) is closed")
    }

    /// A driver error as an ``EventStoreError``; ours, and the caller's own errors inside a transaction, unchanged.
    func mapError(_ error: any Error) -> any Error {
        noteIfTheConnectionWasLost(error)
        switch error {
        case let error as EventStoreError:
            return error
        case let error as PostgresTransactionFailure:
            if let inner = error.closureError, !(inner is PSQLError) { return inner }
            let cause = error.cause
            let detail = (cause as? PSQLError).map(Self.describe) ?? "\(cause.map { "\($0)" } ?? "unknown cause")"
            return EventStoreError(.unavailable, "a PostgreSQL transaction failed at \(location): \(detail)", underlying: cause ?? error)
        case let error as PSQLError:
            return EventStoreError(.unavailable, "PostgreSQL at \(location) failed: \(Self.describe(error))", underlying: error)
        default:
            return EventStoreError(.unavailable, "PostgreSQL at \(location) failed", underlying: error)
        }
    }
}

/// Sends `NOTIFY` after appends, at most one at a time: appends during a send are covered by the next one.
final class CoalescingNotifier: Sendable {
    private let pool: PoolHolder
    private let channel: String
    private let logger: Logger
    private let state = Synchronization.Mutex((sending: false, pending: false))

    init(pool: PoolHolder, channel: String, logger: Logger) {
        self.pool = pool
        self.channel = channel
        self.logger = logger
    }

    /// Records that an append committed; starts a send unless one is running.
    func appendCommitted() {
        let start = state.withLock { state -> Bool in
            if state.sending {
                state.pending = true
                return false
            }
            state.sending = true
            return true
        }
        guard start else { return }
        Task { await self.sendUntilQuiet() }
    }

    private func sendUntilQuiet() async {
        while true {
            do {
                _ = try await pool.client.rows(PostgresQuery(unsafeSQL: "NOTIFY \(channel)"), logger: logger)
            } catch {
                logger.debug("NOTIFY failed; subscribers fall back to polling", metadata: ["error": "\(error)"])
            }
            let again = state.withLock { state -> Bool in
                if state.pending {
                    state.pending = false
                    return true
                }
                state.sending = false
                return false
            }
            if !again { return }
        }
    }
}

import Synchronization

/// Whether the database server answered lately. Once an operation finds the connection itself gone, the store
/// is marked unreachable and one probe at a time tries to connect, once a second, until it succeeds.
final class Reachability: Sendable {
    private let state = Synchronization.Mutex((down: false, probing: false))

    var isDown: Bool { state.withLock { $0.down } }

    /// Marks the server unreachable and, unless a probe is already running, probes with `probe` (true: the
    /// server answers, or probing should stop) once a second until it succeeds. True when this starts probing.
    @discardableResult
    func lost(probe: @escaping @Sendable () async -> Bool) -> Bool {
        let start = state.withLock { state -> Bool in
            state.down = true
            guard !state.probing else { return false }
            state.probing = true
            return true
        }
        guard start else { return false }
        // Detached: the probe belongs to the store, not to the request that noticed the loss.
        Task.detached {
            while await !probe() {
                try? await Task.sleep(for: .seconds(1))
            }
            self.state.withLock { $0 = (down: false, probing: false) }
        }
        return true
    }
}

/// The connection pool in use, the server it talks to and the task running it. With several servers in the URL,
/// the pool is replaced when another server becomes the one that accepts writes; the old pool is stopped.
final class PoolHolder: Sendable {
    private struct Current {
        var server: DatabaseURL.PostgresServer
        var client: PostgresClient
        var runs: [Task<Void, Never>]
        var stopped = false
    }

    private let current: Synchronization.Mutex<Current>

    init(server: DatabaseURL.PostgresServer, client: PostgresClient) {
        current = Synchronization.Mutex(Current(server: server, client: client, runs: [Self.start(client)]))
    }

    /// Runs `client` in a detached task: PostgresClient stops when its task's graceful shutdown begins, and a
    /// task started from a request or a background service would inherit that service's shutdown, stopping
    /// the pool at SIGTERM while the services that use it are still finishing. The store stops it in `close()`.
    private static func start(_ client: PostgresClient) -> Task<Void, Never> {
        Task.detached { await client.run() }
    }

    var client: PostgresClient { current.withLock { $0.client } }
    var server: DatabaseURL.PostgresServer { current.withLock { $0.server } }

    /// Starts `client` (for `server`) and uses it from now on; stops the one it replaces.
    func replace(server: DatabaseURL.PostgresServer, client: PostgresClient) {
        let retired = current.withLock { current -> Task<Void, Never>? in
            guard !current.stopped else { return nil }
            let previous = current.runs.last
            current.server = server
            current.client = client
            current.runs.append(Self.start(client))
            return previous
        }
        retired?.cancel()
    }

    /// The tasks running the pools, for ``PostgresEventStore/close()`` to cancel and wait for.
    func stop() -> [Task<Void, Never>] {
        current.withLock { current in
            current.stopped = true
            return current.runs
        }
    }
}
