import Crypto
public import EventStore
public import Foundation
public import LedgerCore
import Logging

/// Handles profile commands: load the stream, fold, decide, append with the expected version; on a
/// conflict reload and decide again (bounded).
public struct ProfileService: Sendable {
    public let store: any EventStore
    /// The dated policy as the ledger records it.
    public let policyBook: PolicyBook
    public let now: @Sendable () -> Date

    /// The policy in force for decisions.
    public var policy: ListingPolicy { policyBook.current }

    /// How many times a command is re-decided after losing a race.
    static let conflictRetriesMax = 5
    /// The most events one profile stream is read in (far above any real history).
    public static let streamEventsMax = 10_000

    /// A service deciding by a fixed policy, as given (tests, tools).
    public init(store: any EventStore, policy: ListingPolicy, now: @escaping @Sendable () -> Date) {
        self.init(store: store, policyBook: PolicyBook(store: store, base: policy), now: now)
    }

    /// A service deciding by the ledger's own dated policy.
    public init(store: any EventStore, policyBook: PolicyBook, now: @escaping @Sendable () -> Date) {
        self.store = store
        self.policyBook = policyBook
        self.now = now
    }

    /// A profile's stream, decoded.
    public struct LoadedProfile: Sendable {
        public var state: ProfileState
        public var events: [(recorded: RecordedEvent, event: ProfileEvent)]

        /// The events in plain words, oldest first.
        public var timeline: [Timeline.Entry] { events.map { Timeline.entry($0.recorded, $0.event) } }
    }

    /// What a command did.
    public struct Outcome: Sendable {
        public var profileID: ProfileID
        public var appended: [ProfileEvent]
        /// True when the idempotency key matched an earlier request: nothing new was written.
        public var replayed: Bool
        public var state: ProfileState

        public init(profileID: ProfileID, appended: [ProfileEvent], replayed: Bool, state: ProfileState) {
            self.profileID = profileID
            self.appended = appended
            self.replayed = replayed
            self.state = state
        }
    }

    public func load(_ profileID: ProfileID) async throws -> LoadedProfile {
        let batchSize = min(1_000, store.limits.readBatchMax)
        var events: [(RecordedEvent, ProfileEvent)] = []
        var streamVersion: Int64 = 0
        while true {
            let batch = try await store.readStream(profileID.streamName, fromVersion: streamVersion + 1, limit: batchSize)
            for recorded in batch {
                // A type this build does not know is skipped, but still counts towards the stream's version.
                if let event = try ProfileEvent.decode(typeName: recorded.type, data: recorded.data) {
                    events.append((recorded, event))
                }
                streamVersion = recorded.version
            }
            guard batch.count == batchSize else { break }
            guard streamVersion < Self.streamEventsMax else {
                // Folding a prefix would decide on a wrong state; refuse instead.
                throw DomainError.invalidArgument("profile '\(profileID)' has more than \(Self.streamEventsMax) events; its history needs archiving")
            }
        }
        var state = ProfileState.fold(events.map(\.1))
        state.version = streamVersion
        return LoadedProfile(state: state, events: events)
    }


    /// Decides and appends a command. With an idempotency key, a repeated request returns the first
    /// outcome and writes nothing; another command under the key is refused (`idempotency-key-reused`) and
    /// writes nothing, also when the first request's answer was never kept. The command's digest travels in
    /// its events' metadata for that.
    ///
    /// `known` is the profile as just read with others (the sweeper reads a pass's profiles in one query): the
    /// first decision is made on it, and a conflict reads the stream again.
    public func handle(
        _ command: ProfileCommand, profileID: ProfileID, metadata: EventMetadata, idempotencyKey: String? = nil, known: ProfileState? = nil
    ) async throws -> Outcome {
        var metadata = metadata
        if idempotencyKey != nil { metadata.commandDigest = Self.commandDigest(command) }
        var attempt = 0
        while true {
            attempt += 1
            let loaded: LoadedProfile
            if attempt == 1, idempotencyKey == nil, let known {
                loaded = LoadedProfile(state: known, events: [])
            } else {
                loaded = try await load(profileID)
            }
            if let idempotencyKey {
                let firstID = Self.eventID(key: idempotencyKey, actor: metadata.actor, stream: profileID.streamName, index: 0)
                if let first = loaded.events.first(where: { $0.recorded.id == firstID }) {
                    // Events recorded before commands left their digest carry none: those are taken as the same.
                    if let recorded = first.recorded.metadata.commandDigest, recorded != metadata.commandDigest {
                        throw PaymentServiceError(code: .idempotencyKeyReused, description: """
                            this Idempotency-Key recorded another command for profile '\(profileID.rawValue)' (\(first.recorded.type)); \
                            another command needs another key
                            """)
                    }
                    return Outcome(profileID: profileID, appended: [], replayed: true, state: loaded.state)
                }
            }
            let instant = now()
            let decided = try ProfileDecider.decide(command, state: loaded.state, profileID: profileID, now: instant, policy: policy)
            guard !decided.isEmpty else {
                return Outcome(profileID: profileID, appended: [], replayed: false, state: loaded.state)
            }
            let newEvents = try Self.newEvents(decided, profileID: profileID, metadata: metadata, idempotencyKey: idempotencyKey)
            var appends = [StreamAppend(stream: profileID.streamName, events: newEvents, expecting: .exact(loaded.state.version))]
            if decided.contains(where: { if case .registered = $0 { true } else { false } }) {
                // The profile's creditor reference is claimed with its registration, so no two profiles can hold one.
                let reference = CreditorReference.forProfile(profileID)
                let claimStream = CreditorReferenceClaimed.streamName(reference)
                let claim = CreditorReferenceClaimed(reference: reference, profileID: profileID, occurredAt: instant)
                appends.append(StreamAppend(stream: claimStream, events: [NewEvent(
                    id: idempotencyKey.map { Self.eventID(key: $0, actor: metadata.actor, stream: claimStream, index: 0) } ?? .timeOrdered(),
                    type: CreditorReferenceClaimed.typeName, data: try claim.encodedData(), metadata: metadata
                )], expecting: .noStream))
            }
            do {
                _ = try await store.append(appends)
            } catch let error as EventStoreError where error.code == .versionConflict {
                if let stream = error.conflict?.stream, case .referenceClaim? = StreamName(stream) {
                    let holder = try await ReferenceClaims(store: store).owner(ofStream: stream)
                    throw DomainError.invalidArgument(
                        "the payment reference of profile id '\(profileID)' is already held by profile '\(holder?.rawValue ?? "?")'; register it under another id"
                    )
                }
                guard attempt < Self.conflictRetriesMax else { throw error }
                continue
            }
            var state = loaded.state
            for event in decided { state.evolve(event) }
            return Outcome(profileID: profileID, appended: decided, replayed: false, state: state)
        }
    }

    /// The stored form of events decided for a profile: with an idempotency key each gets the deterministic id of
    /// its place in the request (``eventID(key:actor:stream:index:)``), so a retry collides with the first.
    static func newEvents(_ decided: [ProfileEvent], profileID: ProfileID, metadata: EventMetadata, idempotencyKey: String?) throws -> [NewEvent] {
        try decided.enumerated().map { index, event in
            NewEvent(
                id: idempotencyKey.map { eventID(key: $0, actor: metadata.actor, stream: profileID.streamName, index: index) } ?? .timeOrdered(),
                type: event.typeName, schemaVersion: ProfileEvent.schemaVersion, data: try event.encodedData(), metadata: metadata
            )
        }
    }

    /// What tells two commands apart under one idempotency key: a digest of the command's canonical text.
    static func commandDigest(_ command: ProfileCommand) -> String {
        String(SHA256.hash(data: Data(command.canonicalText.utf8)).lowercaseHex.prefix(32))
    }

    /// A deterministic event id for the `index`-th event of a request with an idempotency key, so a retried
    /// request collides with the first one instead of writing twice.
    public static func eventID(key: String, actor: String?, stream: String, index: Int) -> UUID {
        let digest = SHA256.hash(data: Data("\(actor ?? "")\u{0}\(key)\u{0}\(stream)\u{0}\(index)".utf8))
        var bytes = Array(digest.prefix(16))
        bytes[6] = (bytes[6] & 0x0F) | 0x50 // version 5 layout (name-based)
        bytes[8] = (bytes[8] & 0x3F) | 0x80 // RFC 4122 variant
        return UUID(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                           bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
    }
}
