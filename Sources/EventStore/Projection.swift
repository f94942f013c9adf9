import Foundation
import Synchronization

/// A read model kept up to date from the global log.
///
/// A projection's tables come from the migrations; the projection itself only writes rows. It must be
/// deterministic: rebuilding it from zero gives the same rows.
public protocol Projection: Sendable {
    /// A stable name; its checkpoint is stored under it.
    var name: String { get }

    /// Deletes every row this projection wrote, for a rebuild. Runs in the rebuild's transaction.
    func reset(_ connection: any ReadModelConnection) async throws

    /// Applies events, in log order: reads what it needs, then writes its rows.
    ///
    /// Every query of one `apply` comes before its first write. The runner decides a batch outside the write
    /// transaction and runs its writes afterwards, in the transaction that also records the checkpoint: the
    /// queries see the tables as the batch found them, never the batch's own writes. A query after a write
    /// fails the batch (``DeferredWrites``).
    func apply(_ events: [RecordedEvent], _ connection: any ReadModelConnection) async throws

    /// Whether the next batch may be decided while this one is being written (see
    /// ``ProjectionGroupRunner/catchUp(progress:)``). A projection says so only if every read it makes of rows
    /// an earlier batch wrote first asks ``ReadModelConnection/carried(_:)``, and every batch carries what such a
    /// read needs (``ReadModelConnection/carry(_:_:)``): the next batch's reads may run before this batch's
    /// writes are stored. False unless a projection says otherwise.
    var decidesFromCarriedValues: Bool { get }
}

extension Projection {
    public var decidesFromCarriedValues: Bool { false }
}

/// Runs a ``Projection`` as a catch-up subscriber over the global log.
///
/// Each batch is written in one transaction with its checkpoint: the batch is decided from the checkpoint and
/// the events after it, and written only if the checkpoint (locked by the write transaction) is still the one
/// it was decided from, so two instances never apply the same batch (see ``ProjectionGroupRunner/runBatch()``).
/// A crash anywhere leaves either all of a batch or none of it, so a restart resumes exactly where the last
/// commit ended.
public struct ProjectionRunner: Sendable {
    public let store: any EventStore
    public let projection: any Projection
    public let batchSize: Int

    public init(store: any EventStore, projection: any Projection, batchSize: Int = 500) {
        precondition(batchSize > 0)
        self.store = store
        self.projection = projection
        self.batchSize = min(batchSize, store.limits.readBatchMax)
    }

    /// This projection alone, as a group of one.
    private var group: ProjectionGroupRunner { ProjectionGroupRunner(store: store, projections: [projection], batchSize: batchSize) }

    /// Applies one batch; returns how many events it applied.
    @discardableResult
    public func runBatch() async throws -> Int { try await group.runBatch() }

    /// Applies batches until the projection has seen every visible event; returns how many it applied.
    @discardableResult
    public func catchUp() async throws -> Int { try await group.catchUp() }

    /// Runs until cancelled: catches up, then sleeps until an append (or `pollInterval`, as a fallback); see
    /// ``AppendFollower`` for the short looks after a wake-up.
    public func run(pollInterval: Duration = .seconds(1), onError: @Sendable (any Error) -> Void = { _ in }) async {
        await group.run(pollInterval: pollInterval, onError: onError)
    }

    /// Deletes the read model and its checkpoint in one transaction, then replays the whole log in batches of
    /// this runner's size.
    @discardableResult
    public func rebuild() async throws -> Int {
        try await Self.rebuild([projection], store: store, batchSize: batchSize)
    }

    /// Deletes several read models and their checkpoints in one transaction, then replays the whole log into
    /// all of them in one pass (see ``ProjectionGroupRunner``). Returns how many events the pass read.
    ///
    /// Batches are large (the store's read limit by default): a fold then loads and stores each stream's state
    /// once per batch instead of once per few hundred events. Memory follows the batch, not the log.
    ///
    /// `progress` is told after each batch how many events the pass has read so far and the log cursor it has
    /// reached.
    @discardableResult
    public static func rebuild(
        _ projections: [any Projection], store: any EventStore, batchSize: Int? = nil, progress: (_ read: Int, _ reached: LogCursor) -> Void = { _, _ in }
    ) async throws -> Int {
        guard !projections.isEmpty else { return 0 }
        try await store.withReadModelTransaction { connection in try await reset(projections, connection) }
        return try await ProjectionGroupRunner(store: store, projections: projections, batchSize: batchSize ?? store.limits.readBatchMax)
            .catchUp(progress: progress)
    }

    /// Deletes the read models' rows and puts their checkpoints back at the start, counting the reset (see
    /// ``StoredCheckpoint``).
    ///
    /// Every checkpoint is locked first, as a batch locks them (in the order of their names): locking them one
    /// by one in the list's order while deleting rows could deadlock against a batch on PostgreSQL.
    static func reset(_ projections: [any Projection], _ connection: any ReadModelConnection) async throws {
        _ = try await ProjectionGroupRunner.lockCheckpoints(projections, connection)
        for projection in projections {
            try await projection.reset(connection)
            try await connection.execute(
                "UPDATE projection_checkpoints SET commit_order = 0, position = 0, resets = resets + 1 WHERE name = ?", [.text(projection.name)]
            )
        }
    }

    /// Where the projection has got to.
    public func checkpoint() async throws -> LogCursor {
        let name = projection.name
        return try await store.withReadModelConnection { connection in try await Self.readCheckpoint(name, connection).cursor }
    }

    /// The stored checkpoint (at the start, never reset, before the first batch), read without locking it
    /// unless `forUpdate`.
    static func readCheckpoint(_ name: String, _ connection: any ReadModelConnection, forUpdate: Bool = false) async throws -> StoredCheckpoint {
        let lock = forUpdate ? " FOR UPDATE" : ""
        let rows = try await connection.query(
            "SELECT commit_order, position, resets FROM projection_checkpoints WHERE name = ?\(lock)", [.text(name)]
        )
        guard let row = rows.first else { return StoredCheckpoint(cursor: .start, resets: 0) }
        return StoredCheckpoint(cursor: LogCursor(commitOrder: try row.integer(0), position: try row.integer(1)), resets: try row.integer(2))
    }

    /// Creates the checkpoint row if needed and locks it for this transaction (on SQLite the write
    /// transaction itself is the lock).
    static func lockCheckpoint(_ name: String, _ connection: any ReadModelConnection) async throws -> StoredCheckpoint {
        try await connection.execute(
            "INSERT INTO projection_checkpoints (name, commit_order, position) VALUES (?, 0, 0) ON CONFLICT (name) DO NOTHING",
            [.text(name)]
        )
        return try await readCheckpoint(name, connection, forUpdate: connection.dialect == .postgres)
    }
}

/// A read model's checkpoint as stored: where it has got to, and how many times it was reset for a rebuild (so a
/// checkpoint that went back to zero and forward again to the same place is not taken for one that never moved).
struct StoredCheckpoint: Sendable, Equatable {
    let cursor: LogCursor
    let resets: Int64
}

/// Runs several projections as one catch-up subscriber: each batch of the log is read once and handed to every
/// projection, and their writes are stored in one transaction with every projection's checkpoint (a batch
/// decided again because a checkpoint moved is read again).
///
/// Each projection keeps its own checkpoint, so a projection run alone meanwhile (the sweeper catching up the
/// listings, the bank import catching up its index) is never handed an event twice: a batch starts at the
/// earliest checkpoint and each projection gets only the events after its own.
public struct ProjectionGroupRunner: Sendable {
    public let store: any EventStore
    public let projections: [any Projection]
    public let batchSize: Int

    public init(store: any EventStore, projections: [any Projection], batchSize: Int = 500) {
        precondition(batchSize > 0 && !projections.isEmpty)
        self.store = store
        self.projections = projections
        self.batchSize = min(batchSize, store.limits.readBatchMax)
    }

    /// Applies one batch to every projection that has not seen it; returns how many events the batch read.
    ///
    /// On a store that ``DecidesReadModelBatchesAhead`` (SQLite), the batch is decided outside the write
    /// transaction: the checkpoints, the events and whatever the projections read come from
    /// ``DecidesReadModelBatchesAhead/withReadModelReads(_:)``, and their writes are kept (``DeferredWrites``).
    /// The write transaction then locks the checkpoints and, if none moved meanwhile (resets counted), runs
    /// the kept writes and stores the new checkpoints. The one SQLite writer is held only for the writes, not
    /// for decoding and folding the events, so appends wait for a read model far less. If a checkpoint
    /// moved (another runner applied a batch of the same read model), the batch is decided again as the
    /// checkpoints now stand: outside the write transaction once more, then, if it was overtaken again, inside.
    ///
    /// On PostgreSQL the batch is decided inside the write transaction, after its checkpoints are locked (see
    /// ``DecidesReadModelBatchesAhead`` for why). Either way the projections decide side by side and their
    /// writes run after all of them have decided.
    @discardableResult
    public func runBatch() async throws -> Int { try await runBatchReaching().read }

    /// ``runBatch()``, with the log cursor the batch ended at (nil when there was nothing to read).
    func runBatchReaching() async throws -> (read: Int, last: LogCursor?) {
        let projections = self.projections
        let store = self.store
        let limit = self.batchSize
        guard let ahead = store as? any DecidesReadModelBatchesAhead else { return try await runBatchInsideWriteTransaction() }
        // A batch whose checkpoint moved meanwhile (the sweeper, an import or a console page caught one of the
        // read models up alone) is decided ahead once more, as the checkpoints now stand: deciding it inside the
        // write transaction would hold SQLite's one writer, and every append behind it, for as long as the
        // folds take. Only a batch overtaken twice is decided inside, where nothing can overtake it.
        for _ in 0..<Self.decisionsAheadMax {
            let decided = try await ahead.withReadModelReads { connection in
                var checkpoints: [StoredCheckpoint] = []
                for projection in projections { checkpoints.append(try await ProjectionRunner.readCheckpoint(projection.name, connection)) }
                return try await Self.decide(projections, store: store, limit: limit, checkpoints: checkpoints, connection)
            }
            guard let decided else { return (0, nil) }
            if try await Self.write(decided, projections, store) {
                decided.written()
                return (decided.eventsRead, decided.last)
            }
        }
        return try await runBatchInsideWriteTransaction()
    }

    /// Writes a batch decided outside the write transaction, if no checkpoint moved since it was decided (resets
    /// counted); returns whether it was written.
    private static func write(_ decided: DecidedBatch, _ projections: [any Projection], _ store: any EventStore) async throws -> Bool {
        try await store.withReadModelTransaction { connection in
            guard try await Self.lockCheckpoints(projections, connection) == decided.checkpoints else { return false }
            try await decided.write(connection)
            return true
        }
    }

    /// How many times a batch is decided outside the write transaction before it is decided inside it.
    static var decisionsAheadMax: Int { 2 }

    /// Locks the checkpoints, decides the batch and writes it, in one write transaction (what a batch whose
    /// checkpoint moved while it was decided does, and every batch on PostgreSQL).
    func runBatchInsideWriteTransaction() async throws -> (read: Int, last: LogCursor?) {
        let projections = self.projections
        let store = self.store
        let limit = self.batchSize
        let again = try await store.withReadModelTransaction { connection in
            let checkpoints = try await Self.lockCheckpoints(projections, connection)
            guard let again = try await Self.decide(projections, store: store, limit: limit, checkpoints: checkpoints, connection) else {
                return DecidedBatch?.none
            }
            try await again.write(connection)
            return again
        }
        again?.written()
        return (again?.eventsRead ?? 0, again?.last)
    }

    /// Every projection's checkpoint, locked for this transaction, in the order of `projections`.
    /// Two statements for all of them, whatever their number: the missing rows are created, then all are read
    /// (on PostgreSQL locked, in the order of their names, the same order for every runner).
    static func lockCheckpoints(_ projections: [any Projection], _ connection: any ReadModelConnection) async throws -> [StoredCheckpoint] {
        let names = Array(Set(projections.map(\.name))).sorted()
        guard !names.isEmpty else { return [] }
        try await connection.execute(
            "INSERT INTO projection_checkpoints (name, commit_order, position) VALUES "
                + Array(repeating: "(?, 0, 0)", count: names.count).joined(separator: ", ") + " ON CONFLICT (name) DO NOTHING",
            names.map { .text($0) }
        )
        let lock = connection.dialect == .postgres ? " FOR UPDATE" : ""
        let rows = try await connection.query(
            "SELECT name, commit_order, position, resets FROM projection_checkpoints WHERE name IN ("
                + Array(repeating: "?", count: names.count).joined(separator: ", ") + ") ORDER BY name\(lock)",
            names.map { .text($0) }
        )
        var stored: [String: StoredCheckpoint] = [:]
        for row in rows {
            stored[try row.text(0)] = StoredCheckpoint(cursor: LogCursor(commitOrder: try row.integer(1), position: try row.integer(2)), resets: try row.integer(3))
        }
        return try projections.map { projection in
            guard let checkpoint = stored[projection.name] else {
                throw EventStoreError(.unexpectedRow, "the checkpoint of \(projection.name) was created but cannot be read back")
            }
            return checkpoint
        }
    }

    /// A batch decided from `checkpoints`: the events after the earliest, handed to each projection from its
    /// own checkpoint, with the writes each made. Nil when there is nothing after the earliest checkpoint.
    /// `carried` is what the batch before left for this one (by projection), when that batch is still being written.
    private static func decide(
        _ projections: [any Projection], store: any EventStore, limit: Int, checkpoints: [StoredCheckpoint], _ connection: any ReadModelConnection,
        carried: [String: [String: any Sendable]] = [:]
    ) async throws -> DecidedBatch? {
        let from = checkpoints.map(\.cursor).min() ?? .start
        let events = try await store.readAll(after: from, limit: limit, in: connection)
        guard let last = events.last else { return nil }
        // Each read model decides on its own tables only, so they decide side by side, as many at a time as
        // there are cores, in their given order (read models that fold the same events are best kept apart in
        // that order, so the later one finds them decoded). Their writes run in the given order.
        var decided: [Int: DeferredWrites] = [:]
        let width = max(1, min(ProcessInfo.processInfo.activeProcessorCount, projections.count))
        try await withThrowingTaskGroup(of: (Int, DeferredWrites)?.self) { group in
            var next = 0
            func start() {
                let index = next
                next += 1
                let (projection, checkpoint) = (projections[index], checkpoints[index].cursor)
                group.addTask {
                    let unseen = checkpoint == from ? events[...] : events.drop(while: { $0.cursor <= checkpoint })
                    guard !unseen.isEmpty else { return nil }
                    let deferred = DeferredWrites(projection: projection.name, reads: connection, carried: carried[projection.name] ?? [:])
                    try await projection.apply(Array(unseen), deferred)
                    return (index, deferred)
                }
            }
            while next < width { start() }
            while let result = try await group.next() {
                if let (index, deferred) = result { decided[index] = deferred }
                if next < projections.count { start() }
            }
        }
        let writes = projections.indices.compactMap { decided[$0] }
        return DecidedBatch(checkpoints: checkpoints, eventsRead: events.count, last: last.cursor, writes: writes, names: projections.map(\.name))
    }

    /// Applies batches until every projection has seen every visible event; returns how many events were read.
    /// `progress` is told after each batch how many events were read so far and the log cursor the batch ended at.
    ///
    /// On a store that ``DecidesReadModelBatchesAhead`` (SQLite), when every projection
    /// ``Projection/decidesFromCarriedValues``, a full batch is written while the next is decided from what it
    /// carries: the folds' work and the one writer's work overlap instead of taking turns. If a checkpoint moved
    /// meanwhile, neither is written and the catch-up goes on one batch at a time.
    @discardableResult
    public func catchUp(progress: (_ read: Int, _ reached: LogCursor) -> Void = { _, _ in }) async throws -> Int {
        if let ahead = store as? any DecidesReadModelBatchesAhead, projections.allSatisfy(\.decidesFromCarriedValues) {
            return try await catchUpDecidingWhileWriting(ahead, progress: progress)
        }
        return try await catchUpOneBatchAtATime(readBefore: 0, progress: progress)
    }

    /// ``catchUp(progress:)`` with the next batch decided while the last one is written.
    private func catchUpDecidingWhileWriting(
        _ ahead: any DecidesReadModelBatchesAhead, progress: (_ read: Int, _ reached: LogCursor) -> Void
    ) async throws -> Int {
        let (projections, store, limit) = (self.projections, self.store, self.batchSize)
        var next = try await ahead.withReadModelReads { connection in
            var checkpoints: [StoredCheckpoint] = []
            for projection in projections { checkpoints.append(try await ProjectionRunner.readCheckpoint(projection.name, connection)) }
            return try await Self.decide(projections, store: store, limit: limit, checkpoints: checkpoints, connection)
        }
        var total = 0
        while let batch = next {
            async let written = Self.write(batch, projections, store)
            // Only a full batch can have events after it.
            var following: DecidedBatch?
            var failure: (any Error)?
            if batch.eventsRead >= limit {
                // A failure to decide waits until this batch's write is over, whether it is stored or not.
                do {
                    following = try await ahead.withReadModelReads { connection in
                        try await Self.decide(
                            projections, store: store, limit: limit, checkpoints: batch.checkpointsAfter, connection, carried: batch.carried
                        )
                    }
                } catch {
                    failure = error
                }
            }
            guard try await written else {
                // Another runner applied a batch of one of these read models meanwhile: what was decided from the
                // old checkpoints is dropped, and the rest is decided as the checkpoints now stand.
                return try await catchUpOneBatchAtATime(readBefore: total, progress: progress)
            }
            batch.written()
            total += batch.eventsRead
            progress(total, batch.last)
            if let failure { throw failure }
            next = following
        }
        return total
    }

    /// ``catchUp(progress:)`` one batch at a time, counting `readBefore` events read already.
    private func catchUpOneBatchAtATime(readBefore: Int, progress: (_ read: Int, _ reached: LogCursor) -> Void) async throws -> Int {
        var total = readBefore
        while true {
            let (read, last) = try await runBatchReaching()
            total += read
            if let last { progress(total, last) }
            if read < batchSize { return total }
        }
    }

    /// Runs until cancelled: catches up, then sleeps until an append (or `pollInterval`, as a fallback); after a
    /// pass with work, the next pass waits for `gatheringPause`. See ``AppendFollower`` for both.
    public func run(
        pollInterval: Duration = .seconds(1), gatheringPause: Duration = AppendFollower.gatheringPauseDefault,
        onError: @Sendable (any Error) -> Void = { _ in }
    ) async {
        var follower = AppendFollower(store: store, gatheringPause: gatheringPause)
        while !Task.isCancelled {
            do {
                if try await catchUp() > 0 {
                    await follower.foundWork()
                    continue
                }
                await follower.idle(timeout: pollInterval)
            } catch {
                if Task.isCancelled { return }
                onError(error)
                // One read model that fails must not hold the others back: each catches up alone, in its own
                // transactions, until the group works again. The failing one is reported again here.
                if projections.count > 1 {
                    for projection in projections {
                        do {
                            try await ProjectionRunner(store: store, projection: projection, batchSize: batchSize).catchUp()
                        } catch {
                            if Task.isCancelled { return }
                            onError(error)
                        }
                    }
                }
                try? await Task.sleep(for: pollInterval)
            }
        }
    }

    /// Where each projection has got to, in the order of ``projections``.
    public func checkpoints() async throws -> [LogCursor] {
        var cursors: [LogCursor] = []
        for projection in projections {
            cursors.append(try await ProjectionRunner(store: store, projection: projection).checkpoint())
        }
        return cursors
    }
}

/// A batch decided outside the write transaction: the checkpoints it was decided from, and each projection's
/// writes.
struct DecidedBatch: Sendable {
    let checkpoints: [StoredCheckpoint]
    let eventsRead: Int
    let last: LogCursor
    /// Each projection's kept writes, in the order of the runner's projections.
    let writes: [DeferredWrites]
    /// The names of the runner's projections, in its order.
    let names: [String]

    /// The checkpoints once this batch is written: at its last event for each projection it handed events to.
    var checkpointsAfter: [StoredCheckpoint] {
        let moved = Set(writes.map(\.projection))
        return zip(names, checkpoints).map { name, checkpoint in
            moved.contains(name) ? StoredCheckpoint(cursor: last, resets: checkpoint.resets) : checkpoint
        }
    }

    /// What each projection carried for the next batch, by projection.
    var carried: [String: [String: any Sendable]] {
        Dictionary(writes.map { ($0.projection, $0.carriedValues) }, uniquingKeysWith: { _, last in last })
    }

    /// Runs the writes in order and moves the checkpoint of each projection that was handed events, all in
    /// one ``ReadModelConnection/execute(_:)``.
    func write(_ connection: any ReadModelConnection) async throws {
        var statements: [ReadModelStatement] = []
        for deferred in writes {
            statements += deferred.statements
            statements.append(ReadModelStatement(
                sql: "UPDATE projection_checkpoints SET commit_order = ?, position = ? WHERE name = ?",
                binds: [.integer(last.commitOrder), .integer(last.position), .text(deferred.projection)]
            ))
        }
        try await connection.execute(statements)
    }

    /// Runs what the projections asked to run once their writes are stored (``ReadModelConnection/afterWrites(_:)``).
    /// Called after the write transaction committed; a batch that was not written never runs them.
    func written() {
        for deferred in writes { deferred.runAfterWrites() }
    }
}

/// The connection a projection applies a batch through: its queries go to `reads`, its statements are kept,
/// in order, to run later in the write transaction.
///
/// Because the writes run later, a query after a write would not see it; such a query is refused, naming
/// the projection (see ``Projection/apply(_:_:)``).
final class DeferredWrites: ReadModelConnection, Sendable {
    let projection: String
    let reads: any ReadModelConnection
    private let kept = Mutex<[ReadModelStatement]>([])
    private let afterWritten = Mutex<[@Sendable () -> Void]>([])
    /// What the batch before left, when it was still being written as this one was decided.
    private let carriedIn: [String: any Sendable]
    private let carriedOut = Mutex<[String: any Sendable]>([:])

    init(projection: String, reads: any ReadModelConnection, carried: [String: any Sendable] = [:]) {
        self.projection = projection
        self.reads = reads
        self.carriedIn = carried
    }

    func carried(_ key: String) -> (any Sendable)? { carriedIn[key] }

    func carry(_ key: String, _ value: any Sendable) {
        carriedOut.withLock { $0[key] = value }
    }

    /// What this batch carried for the next one.
    var carriedValues: [String: any Sendable] { carriedOut.withLock { $0 } }

    var dialect: SQLDialect { reads.dialect }

    /// The statements kept so far, in the order they were given.
    var statements: [ReadModelStatement] { kept.withLock { $0 } }

    func execute(_ sql: String, _ binds: [SQLValue]) async throws {
        kept.withLock { $0.append(ReadModelStatement(sql: sql, binds: binds)) }
    }

    /// Kept until the batch is written: a batch dropped because a checkpoint moved must leave nothing behind
    /// (a fold's memory of states it decided on stale reads, say).
    func afterWrites(_ action: @escaping @Sendable () -> Void) {
        afterWritten.withLock { $0.append(action) }
    }

    func runAfterWrites() {
        for action in afterWritten.withLock({ $0 }) { action() }
    }

    func query(_ sql: String, _ binds: [SQLValue]) async throws -> [SQLRow] {
        guard kept.withLock({ $0.isEmpty }) else {
            throw EventStoreError(
                .invalidArgument,
                "the read model \(projection) queried its tables after writing to them in one batch; its writes run later, so every query must come first"
            )
        }
        return try await reads.query(sql, binds)
    }
}
