public import EventStore

/// Who asked for a command and in which request: recorded with every event the command appends.
///
/// The same value as the store's ``EventMetadata``, named here so that callers of the services (the HTTP layer)
/// make it without knowing the store.
public typealias CommandMetadata = EventMetadata

extension LedgerRuntime {
    /// The database's kind, `sqlite` or `postgres`, for readiness answers.
    public var databaseBackendName: String { store.backendName }

    /// How many migrations this build knows that the database has not applied.
    public func pendingMigrationCount() async throws -> Int {
        try await store.pendingLedgerMigrations().count
    }
}

/// Makes ``CommandMetadata`` for a request.
public enum CommandAttribution {
    /// The metadata of a command asked by `actor` in request `requestID` (also its correlation id).
    public static func metadata(actor: String?, requestID: String?) -> CommandMetadata {
        EventMetadata(actor: actor, correlationID: requestID, requestID: requestID)
    }
}
