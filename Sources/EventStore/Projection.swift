/// A read model kept up to date from the global log.
///
/// A projection's tables come from the migrations; the projection itself only writes rows. It must be
/// deterministic: rebuilding it from zero gives the same rows.
public protocol Projection: Sendable {
    /// A stable name; its checkpoint is stored under it.
    var name: String { get }

    /// Deletes every row this projection wrote, for a rebuild. Runs in the rebuild's transaction.
    func reset(_ connection: any ReadModelConnection) async throws

    /// Applies events, in log order, inside the transaction that also records the checkpoint.
    func apply(_ events: [RecordedEvent], _ connection: any ReadModelConnection) async throws
}

/// Runs a ``Projection`` as a catch-up subscriber over the global log.
///
/// Each batch is one transaction: read the checkpoint (locking it, so two instances never apply the same
/// batch), read the events after it, apply them, store the new checkpoint. A crash anywhere leaves either
/// all of a batch or none of it, so a restart resumes exactly where the last commit ended.
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
    @discardableResult
    public static func rebuild(_ projections: [any Projection], store: any EventStore, batchSize: Int? = nil) async throws -> Int {
        guard !projections.isEmpty else { return 0 }
        try await store.withReadModelTransaction { connection in
            for projection in projections {
                _ = try await lockCheckpoint(projection.name, connection)
                try await projection.reset(connection)
                try await connection.execute(
                    "UPDATE projection_checkpoints SET commit_order = 0, position = 0 WHERE name = ?", [.text(projection.name)]
                )
            }
        }
        return try await ProjectionGroupRunner(store: store, projections: projections, batchSize: batchSize ?? store.limits.readBatchMax).catchUp()
    }

    /// Where the projection has got to.
    public func checkpoint() async throws -> LogCursor {
        let name = projection.name
        return try await store.withReadModelConnection { connection in
            let rows = try await connection.query(
                "SELECT commit_order, position FROM projection_checkpoints WHERE name = ?", [.text(name)]
            )
            guard let row = rows.first else { return .start }
            return LogCursor(commitOrder: try row.integer(0), position: try row.integer(1))
        }
    }

    /// Creates the checkpoint row if needed and locks it for this transaction (on SQLite the write
    /// transaction itself is the lock).
    static func lockCheckpoint(_ name: String, _ connection: any ReadModelConnection) async throws -> LogCursor {
        try await connection.execute(
            "INSERT INTO projection_checkpoints (name, commit_order, position) VALUES (?, 0, 0) ON CONFLICT (name) DO NOTHING",
            [.text(name)]
        )
        let lock = connection.dialect == .postgres ? " FOR UPDATE" : ""
        let rows = try await connection.query(
            "SELECT commit_order, position FROM projection_checkpoints WHERE name = ?\(lock)", [.text(name)]
        )
        guard let row = rows.first else { return .start }
        return LogCursor(commitOrder: try row.integer(0), position: try row.integer(1))
    }
}

/// Runs several projections as one catch-up subscriber: each batch of the log is read once and handed to every
/// projection, in one transaction that also stores every projection's checkpoint.
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
    @discardableResult
    public func runBatch() async throws -> Int {
        let projections = self.projections
        let store = self.store
        let limit = self.batchSize
        return try await store.withReadModelTransaction { connection in
            var checkpoints: [LogCursor] = []
            for projection in projections { checkpoints.append(try await ProjectionRunner.lockCheckpoint(projection.name, connection)) }
            let from = checkpoints.min() ?? .start
            let events = try await store.readAll(after: from, limit: limit, in: connection)
            guard let last = events.last else { return 0 }
            for (projection, checkpoint) in zip(projections, checkpoints) {
                let unseen = checkpoint == from ? events[...] : events.drop(while: { $0.cursor <= checkpoint })
                guard !unseen.isEmpty else { continue }
                try await projection.apply(Array(unseen), connection)
                try await connection.execute(
                    "UPDATE projection_checkpoints SET commit_order = ?, position = ? WHERE name = ?",
                    [.integer(last.cursor.commitOrder), .integer(last.cursor.position), .text(projection.name)]
                )
            }
            return events.count
        }
    }

    /// Applies batches until every projection has seen every visible event; returns how many events were read.
    @discardableResult
    public func catchUp() async throws -> Int {
        var total = 0
        while true {
            let read = try await runBatch()
            total += read
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
