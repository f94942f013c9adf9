public import Foundation
public import CoreMetrics
public import Logging

/// An append-only, durable log of events grouped into streams.
///
/// Every implementation must pass the shared conformance suite (`EventStoreConformanceTests`): the same
/// ordering, the same conflicts, the same idempotency and the same limits on every backend.
///
/// Versions within a stream start at 1; a stream that does not exist has version 0. The global log is read
/// in ``LogCursor`` order, which is the order in which events became visible: a reader that has returned an
/// event never later meets one that sorts before it.
public protocol EventStore: Sendable {
    /// The limits this store enforces.
    var limits: EventStoreLimits { get }

    /// Which backend this is, for logs and diagnostics.
    var backendName: String { get }

    /// Appends events to a stream in one atomic step.
    ///
    /// Appending events whose ids are all stored already returns the original result and writes nothing, as
    /// long as each event matches the stored one (same stream, type, schema version and data).
    ///
    /// - Throws: ``EventStoreError`` with code `.versionConflict`, `.idempotencyMismatch`,
    ///   `.limitExceeded`, `.invalidArgument` or `.unavailable`.
    func append(
        _ events: [NewEvent],
        to stream: String,
        expecting expectedVersion: ExpectedVersion
    ) async throws -> AppendResult

    /// Appends to several streams in one transaction: every stream's expected version holds and all events
    /// are stored, or nothing is. Used where one fact changes several streams (a payment, the profile it
    /// pays for, and the provider inbox record), so a crash can never leave half of it.
    ///
    /// Streams are distinct; the events of all streams together obey ``EventStoreLimits/eventsPerAppendMax``.
    /// Replaying an append whose events are all stored returns the original results; an append of which
    /// only some events are stored is an ``EventStoreError/Code/idempotencyMismatch``.
    func append(_ appends: [StreamAppend]) async throws -> [AppendResult]

    /// Reads a stream forward, starting at `version` (inclusive), at most `limit` events.
    func readStream(_ stream: String, fromVersion version: Int64, limit: Int) async throws -> [RecordedEvent]

    /// Reads several streams in one query, each from version 1 up to `maxVersion` (inclusive): every named
    /// stream that has events maps to its events in version order. A stream given back with `maxVersion`
    /// events may hold more; read the rest with ``readStream(_:fromVersion:limit:)``.
    ///
    /// - Throws: ``EventStoreError`` with code `.limitExceeded` when `streams.count × maxVersion` is above
    ///   ``EventStoreLimits/readBatchMax``, `.invalidArgument` when `maxVersion` is below 1.
    func readStreams(_ streams: [String], upToVersion maxVersion: Int64) async throws -> [String: [RecordedEvent]]

    /// Reads the global log forward, strictly after `cursor`, at most `limit` events.
    func readAll(after cursor: LogCursor, limit: Int) async throws -> [RecordedEvent]

    /// The cursor of the last event a reader can see now (``LogCursor/start`` when the log is empty).
    func headCursor() async throws -> LogCursor

    /// A counter that grows whenever an append may have made new events visible (in this process, or in
    /// another one, through PostgreSQL's NOTIFY).
    var appendGeneration: UInt64 { get }

    /// Suspends until ``appendGeneration`` differs from `generation`, or `timeout` passes; returns the
    /// generation then. A subscriber reads the generation *before* it reads the log, so an append that lands
    /// between its read and its wait wakes it at once instead of being missed until the timeout.
    ///
    /// This is a wake-up signal only: callers must read to find out whether anything is new.
    func waitForAppends(since generation: UInt64, timeout: Duration) async -> UInt64

    /// Runs `body` in one transaction on the read-model tables, so a projection's update and its
    /// checkpoint commit or fail together.
    func withReadModelTransaction<Result: Sendable>(
        _ body: @Sendable (any ReadModelConnection) async throws -> Result
    ) async throws -> Result

    /// Runs read-only queries against the read-model tables.
    func withReadModelConnection<Result: Sendable>(
        _ body: @Sendable (any ReadModelConnection) async throws -> Result
    ) async throws -> Result

    /// Runs read-only queries against the read-model tables in one snapshot, on a connection of its own: every
    /// query sees the tables as the first one found them, whatever commits meanwhile. For a read of many
    /// queries that must agree with each other (the books' export, a page at a time); the snapshot is held as
    /// long as `body` runs, so keep it to one such read.
    func withReadModelSnapshot<Result: Sendable>(
        _ body: (any ReadModelConnection) async throws -> Result
    ) async throws -> Result

    /// Reads the global log strictly after `cursor` inside a read-model transaction, so a subscriber can
    /// read, apply and record its checkpoint atomically.
    func readAll(
        after cursor: LogCursor,
        limit: Int,
        in connection: any ReadModelConnection
    ) async throws -> [RecordedEvent]

    /// Applies the migrations this database lacks (the built-in ones unless `migrations` is given).
    func migrate(_ migrations: [Migration]?) async throws -> MigrationReport

    /// The migrations this database has not applied yet (of the built-in ones unless `migrations` is given).
    ///
    /// - Throws: ``EventStoreError`` with code `.migration` when an applied migration was altered or is unknown.
    func pendingMigrations(_ migrations: [Migration]?) async throws -> [Migration]

    /// The SQL dialect of the database, which decides which migrations apply.
    var dialect: SQLDialect { get }

    /// Closes every connection. The store must not be used afterwards.
    func close() async
}

extension EventStore {
    /// Applies the store's own migrations (the log and the checkpoints) this database lacks. A database that
    /// other modules migrate too is migrated with their whole sequence instead (`migrate(_:)`).
    public func migrate() async throws -> MigrationReport { try await migrate(nil) }

    /// The store's own migrations this database has not applied yet.
    public func pendingMigrations() async throws -> [Migration] { try await pendingMigrations(nil) }
}

/// What the caller expects the stream's current version to be.
/// The events for one stream within a multi-stream append.
public struct StreamAppend: Sendable {
    public var stream: String
    public var events: [NewEvent]
    public var expectedVersion: ExpectedVersion

    public init(stream: String, events: [NewEvent], expecting expectedVersion: ExpectedVersion) {
        self.stream = stream
        self.events = events
        self.expectedVersion = expectedVersion
    }
}

public enum ExpectedVersion: Sendable, Hashable, CustomStringConvertible {
    /// Append whatever the stream's version is.
    case any
    /// The stream must not exist yet.
    case noStream
    /// The stream must have at least one event.
    case streamExists
    /// The stream's last event must have exactly this version.
    case exact(Int64)

    /// Whether a stream whose current version is `actual` satisfies this expectation.
    public func isSatisfied(byActualVersion actual: Int64) -> Bool {
        switch self {
        case .any: true
        case .noStream: actual == 0
        case .streamExists: actual > 0
        case .exact(let version): actual == version
        }
    }

    public var description: String {
        switch self {
        case .any: "any"
        case .noStream: "no stream"
        case .streamExists: "stream exists"
        case .exact(let version): "version \(version)"
        }
    }
}

/// The outcome of an append.
public struct AppendResult: Sendable, Hashable {
    /// The stream appended to.
    public var stream: String
    /// The version of the first appended event.
    public var firstVersion: Int64
    /// The version of the last appended event: the stream's version after the append.
    public var lastVersion: Int64
    /// The global positions of the appended events, in order.
    public var positions: [Int64]
    /// `true` when every event was stored already and nothing was written.
    public var wasAlreadyStored: Bool

    public init(stream: String, firstVersion: Int64, lastVersion: Int64, positions: [Int64], wasAlreadyStored: Bool) {
        self.stream = stream
        self.firstVersion = firstVersion
        self.lastVersion = lastVersion
        self.positions = positions
        self.wasAlreadyStored = wasAlreadyStored
    }
}

/// A point in the global log, in the order readers see it.
///
/// On PostgreSQL, sequence numbers are taken at insert but become visible at commit, so the reading order is
/// (transaction id, position) bounded by the oldest transaction still running; see DESIGN.md §2. On SQLite,
/// writes are serialised and `commitOrder` equals `position`.
public struct LogCursor: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// Orders transactions: a transaction id on PostgreSQL, the position on SQLite.
    public var commitOrder: Int64
    /// The event's global position, unique across the log.
    public var position: Int64

    /// Before the first event.
    public static let start = LogCursor(commitOrder: 0, position: 0)

    public init(commitOrder: Int64, position: Int64) {
        self.commitOrder = commitOrder
        self.position = position
    }

    /// The most digits of each part a cursor's text may have: any real cursor has far fewer, and eighteen
    /// digits always fit an `Int64`.
    public static let digitsMax = 18

    /// Parses the text form `commitOrder.position` produced by ``description``: two runs of 1 to
    /// ``digitsMax`` ASCII digits around one `.`.
    public init?(_ text: some StringProtocol) {
        let parts = text.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ (1...Self.digitsMax).contains($0.count) && $0.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) } }),
              let order = Int64(String(decoding: parts[0], as: UTF8.self)), let position = Int64(String(decoding: parts[1], as: UTF8.self)) else { return nil }
        self.init(commitOrder: order, position: position)
    }

    public static func < (lhs: LogCursor, rhs: LogCursor) -> Bool {
        (lhs.commitOrder, lhs.position) < (rhs.commitOrder, rhs.position)
    }

    public var description: String { "\(commitOrder).\(position)" }
}

/// Opens the store a database URL names.
public enum EventStores {
    /// Opens (without migrating) the SQLite or PostgreSQL store at `url`. Without `mayCreate` a missing
    /// SQLite file is refused instead of created: only `serve` and `migrate` create a ledger.
    public static func open(
        _ url: DatabaseURL,
        limits: EventStoreLimits = .standard,
        now: @escaping @Sendable () -> Date = { Date() },
        metricsFactory: any MetricsFactory = MetricsSystem.factory,
        logger: Logger,
        mayCreate: Bool = true
    ) async throws -> any EventStore {
        switch url {
        case .sqlite(let path):
            try await SQLiteEventStore.open(path: path, limits: limits, now: now, metricsFactory: metricsFactory, logger: logger, mayCreate: mayCreate)
        case .postgres(let settings):
            try await PostgresEventStore.open(settings: settings, limits: limits, now: now, metricsFactory: metricsFactory, logger: logger)
        }
    }
}

/// A store on which a read-model batch is decided before its write transaction begins (see
/// ``ProjectionGroupRunner/runBatch()``): SQLite, where the log shows every committed event at once, in commit
/// order.
///
/// PostgreSQL is not one. There an event is visible to the log's readers only once every transaction begun
/// before it has ended, and a read-model write transaction is one of those. Deciding ahead, a catch-up read
/// the log while the background runner's write held it back, missed an event committed before the catch-up
/// began, and found the checkpoint unmoved when that write had not touched its read model. Decided inside
/// the write transaction, the checkpoint's lock waits for that write first.
public protocol DecidesReadModelBatchesAhead: EventStore {
    /// Runs the reads of a read-model batch outside any write transaction, on a connection that
    /// ``EventStore/readAll(after:limit:in:)`` accepts and no other batch or query uses meanwhile: its first
    /// read sees everything committed before it started, and each later read at least what an earlier one
    /// saw. `body` must not write.
    func withReadModelReads<Result: Sendable>(
        _ body: @Sendable (any ReadModelConnection) async throws -> Result
    ) async throws -> Result
}
