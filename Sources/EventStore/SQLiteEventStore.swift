public import Foundation
public import Logging
public import CoreMetrics
import NIOPosix

/// The embedded default: an ``EventStore`` in one SQLite file.
///
/// One writer connection serialises every write (`BEGIN IMMEDIATE`), so position order is commit order and
/// readers need no more than `position > last`. The file runs in WAL mode with `synchronous=FULL`, so an
/// acknowledged append survives a crash or power loss. Reads use their own connections and never wait for
/// the writer.
public final class SQLiteEventStore: EventStore {
    public let limits: EventStoreLimits
    public let backendName = "sqlite"
    public var dialect: SQLDialect { .sqlite }
    /// The database file.
    public let path: String

    let writer: SQLiteHandle
    let writerLock = AsyncLock()
    /// The threads that run this store's SQLite calls: one per connection (see ``open(path:limits:readerCount:now:metricsFactory:logger:mayCreate:)``).
    let threadPool: NIOThreadPool
    /// Set by ``close()``; checked under each connection's lock.
    let closed = Synchronization.Mutex(false)
    /// Connections for reading streams and the log, each running one statement at a time (see
    /// ``withReader(_:)``), and one more for the read models' queries.
    private let readers: [SQLiteHandle]
    private let readerLocks: [AsyncLock]
    let readModelReader: SQLiteHandle
    /// One ``withReadModelConnection(_:)`` at a time on the read models' reader (see there).
    let readModelReaderLock = AsyncLock()
    /// The connection a read-model batch is decided on, one batch at a time (see ``withReadModelReads(_:)``).
    let readModelDecider: SQLiteHandle
    let readModelDeciderLock = AsyncLock()
    private let nextReader = AtomicCounter()
    let signal = AppendSignal()
    let now: @Sendable () -> Date
    let logger: Logger
    let appendedEvents: Counter
    /// Single-stream appends waiting to share a write transaction; one at a time, as there is one writer.
    /// Single- and multi-stream appends alike: a request is the list of its streams' appends.
    let appendQueue: AppendQueue

    private init(
        path: String, writer: SQLiteHandle, readers: [SQLiteHandle], decider: SQLiteHandle, threadPool: NIOThreadPool,
        limits: EventStoreLimits, now: @escaping @Sendable () -> Date, metricsFactory: any MetricsFactory, logger: Logger
    ) {
        self.threadPool = threadPool
        self.readModelDecider = decider
        self.appendedEvents = Counter(label: "ledger_events_appended_total", dimensions: [("backend", "sqlite")], factory: metricsFactory)
        self.path = path
        self.writer = writer
        // The last connection serves the read models; the others read streams and the log.
        self.readers = Array(readers.dropLast())
        self.readerLocks = readers.dropLast().map { _ in AsyncLock() }
        self.readModelReader = readers[readers.count - 1]
        self.limits = limits
        self.now = now
        self.logger = logger
        self.appendQueue = GroupCommit(concurrentBatchesMax: 1, requestsPerBatchMax: 256, weightPerBatchMax: limits.eventsPerAppendMax)
    }

    /// Opens (creating if needed) the database file at `path`. Does not migrate: call ``migrate()``.
    /// Creates an empty database file readable and writable by its owner only, in a folder only its owner
    /// may enter when the folder is new. SQLite gives the `-wal` and `-shm` files the database file's mode.
    static func createPrivateFile(at path: String) throws {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        do {
            if !FileManager.default.fileExists(atPath: directory.path) {
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            }
        } catch {
            throw EventStoreError(.unavailable, "cannot create the folder \(directory.path) for the SQLite database", underlying: error)
        }
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
            throw EventStoreError(.unavailable, "cannot create the SQLite database \(path)")
        }
    }

    public static func open(
        path: String,
        limits: EventStoreLimits = .standard,
        readerCount: Int = 2,
        now: @escaping @Sendable () -> Date = { Date() },
        metricsFactory: any MetricsFactory = MetricsSystem.factory,
        logger: Logger = Logger(label: "listing-ledger.sqlite"),
        mayCreate: Bool = true
    ) async throws -> SQLiteEventStore {
        if !FileManager.default.fileExists(atPath: path) {
            guard mayCreate else {
                throw EventStoreError(
                    .configuration,
                    "there is no ledger at \(path). `listing-ledger serve` or `listing-ledger migrate` creates one there; to use another ledger, pass --database-url or set LEDGER_DATABASE_URL or LEDGER_DATA_DIR"
                )
            }
            try createPrivateFile(at: path)
        }
        // Every SQLite call blocks the thread it runs on, for as long as it reads, writes or waits for the disk.
        // On a shared pool of a thread per core (which other blocking work uses too) a commit's flush or a read
        // model's batch on the writer would hold one of the two threads the stream readers wait for. The store
        // has its own pool instead, a thread per connection.
        let connectionCount = max(1, readerCount) + 2
        // One more for the connection read-model batches are decided on.
        let threadPool = NIOThreadPool(numberOfThreads: connectionCount + 1)
        threadPool.start()
        var opened: [SQLiteHandle] = []
        do {
            let writer = try await SQLiteHandle.open(path: path, threadPool: threadPool)
            opened.append(writer)
            // A read-model batch or a statement's hundred lines write thousands of rows in one transaction: with
            // SQLite's default 2 MiB page cache their pages spill to the WAL before the commit, and each
            // statement's undo copies go to a temporary file. 64 MiB of cache and undo copies kept in memory
            // keep both in memory until the commit. The WAL is copied back into the database every 10,000
            // pages (40 MiB) instead of every 1,000: a page written again and again (an index's, a read
            // model's) is copied once per checkpoint, and each checkpoint is done by the commit that crosses
            // the mark, with the appends waiting behind it.
            for pragma in [
                "PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA busy_timeout=10000",
                "PRAGMA cache_size=-65536", "PRAGMA temp_store=MEMORY", "PRAGMA wal_autocheckpoint=10000",
            ] {
                try await writer.run { try $0.execute(pragma) }
            }
            var readers: [SQLiteHandle] = []
            for _ in 0..<connectionCount - 1 {
                let reader = try await SQLiteHandle.open(path: path, threadPool: threadPool)
                opened.append(reader)
                readers.append(reader)
            }
            let decider = try await SQLiteHandle.open(path: path, threadPool: threadPool)
            opened.append(decider)
            return SQLiteEventStore(
                path: path, writer: writer, readers: readers, decider: decider, threadPool: threadPool, limits: limits, now: now,
                metricsFactory: metricsFactory, logger: logger
            )
        } catch {
            for connection in opened {
                await connection.close()
            }
            try? await threadPool.shutdownGracefully()
            if let error = error as? EventStoreError { throw error }
            throw EventStoreError(.unavailable, "cannot open the SQLite database at \(path)", underlying: error)
        }
    }

    /// Runs one read on a stream reader no other read is using. SQLite keeps a connection's read transaction
    /// open while any of its statements runs, so a statement started beside another one on the same
    /// connection reads that one's snapshot: a profile registered a moment ago could be missing from it.
    func withReader<Result: Sendable>(_ body: (SQLiteHandle) async throws -> Result) async throws -> Result {
        let index = nextReader.next() % readers.count
        return try await using(readers[index], lockedBy: readerLocks[index], body)
    }

    /// Runs `body` on `connection` while holding `lock`, the lock that connection is used under, unless the
    /// store is closed. ``close()`` closes each connection under its lock, so no statement can be prepared
    /// or stepped on a connection while SQLite frees it.
    func using<Result: Sendable>(
        _ connection: SQLiteHandle, lockedBy lock: AsyncLock, _ body: (SQLiteHandle) async throws -> Result
    ) async throws -> Result {
        try await lock.withLock {
            guard !closed.withLock({ $0 }) else { throw closedError }
            return try await body(connection)
        }
    }

    var closedError: EventStoreError { EventStoreError(.unavailable, "the SQLite database at \(path) is closed") }

    /// Waits for the write transaction and the reads in flight to finish, then closes every connection;
    /// later writes and reads fail at once instead of reaching a closed connection (a write could wait for
    /// ever, a read could use the memory SQLite freed).
    public func close() async {
        appendQueue.close(failingWith: closedError)
        closed.withLock { $0 = true }
        let connections = [(writer, writerLock)] + Array(zip(readers, readerLocks))
            + [(readModelReader, readModelReaderLock), (readModelDecider, readModelDeciderLock)]
        for (connection, lock) in connections {
            try? await lock.withLock { await connection.close() }
        }
        try? await threadPool.shutdownGracefully()
    }

    /// Runs `body` on the writer connection inside `BEGIN IMMEDIATE … COMMIT`, rolling back on error.
    func withWriteTransaction<Result: Sendable>(
        _ body: @Sendable (SQLiteHandle) async throws -> Result
    ) async throws -> Result {
        try await writerLock.withLock {
            guard !closed.withLock({ $0 }) else { throw closedError }
            try await writer.run { try $0.execute("BEGIN IMMEDIATE") }
            do {
                let result = try await body(writer)
                try await writer.run { try $0.execute("COMMIT") }
                return result
            } catch {
                // A failed commit may leave the transaction open: a rollback closes it whatever happened, or the
                // writer's next BEGIN would fail.
                try? await writer.run { try $0.execute("ROLLBACK") }
                throw error
            }
        }
    }

    /// Runs `body` on the writer connection inside `BEGIN IMMEDIATE … COMMIT`, rolling back on error, all in
    /// one turn on the writer's thread: for a transaction whose statements need nothing from elsewhere.
    func withWriteTransactionInOneTurn<Result: Sendable>(
        _ body: @escaping @Sendable (SQLiteHandle) throws -> Result
    ) async throws -> Result {
        try await writerLock.withLock {
            guard !closed.withLock({ $0 }) else { throw closedError }
            return try await writer.run { connection in try connection.inWriteTransaction { try body(connection) } }
        }
    }
}

/// A lock-free counter for round-robin choices.
final class AtomicCounter: Sendable {
    private let value = Synchronization.Atomic<Int>(0)
    func next() -> Int { value.add(1, ordering: .relaxed).oldValue }
}

import Synchronization
