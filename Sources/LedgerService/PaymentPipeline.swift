public import EventStore
public import Foundation
public import LedgerCore
import Logging

/// Applies what payment providers report: one provider event becomes, in one transaction, its inbox record,
/// the payment's events and the profile's allocation changes.
///
/// The inbox record lives in its own stream, `inbox-<provider>-<provider event id>`, appended with
/// "no stream" expected: a second delivery of the same event can never commit, even when several arrive at
/// once, and a delivery acknowledged once is never applied again (a month later just as well as a second
/// later). Everything an event changes is decided from the streams as stored and appended together with
/// its inbox record, so a crash leaves all of it or none.
public struct PaymentPipeline: Sendable {
    public let store: any EventStore
    public let profiles: ProfileService

    /// How often a delivery is re-decided after losing a race with a concurrent one.
    static let conflictRetriesMax = 12
    /// The largest provider payload kept verbatim in the inbox; larger ones keep a digest.
    static let payloadBytesStoredMax = 64 * 1024

    public init(store: any EventStore, profiles: ProfileService) {
        self.store = store
        self.profiles = profiles
    }

    /// One provider event as received.
    public struct InboxEntry: Sendable {
        /// `card`, `paypal`, …
        public var provider: String
        /// The provider's event id, unique per provider.
        public var eventID: String
        public var eventType: String
        /// The raw body, kept for audit and replays.
        public var payload: Data

        public init(provider: String, eventID: String, eventType: String, payload: Data) {
            self.provider = provider
            self.eventID = eventID
            self.eventType = eventType
            self.payload = payload
        }

        /// The inbox stream of this event.
        public var streamName: String { StreamName.inbox(provider: provider, eventID: eventID).description }
    }

    /// What recording an event did.
    public enum Outcome: Sendable, Hashable {
        /// The event was new: its record and effects are committed (the effects may be empty).
        case recorded(paymentEvents: [PaymentEvent], profileEvents: [ProfileEvent])
        /// The event was recorded before; nothing changed.
        case duplicate
    }

    /// Records a provider event and applies its facts to one payment (if it concerns one). `also` is appended
    /// with them, each expecting its stream not to exist yet (a bank line's own record).
    public func record(
        _ entry: InboxEntry, paymentID: PaymentID?, method: PaymentMethod, facts: [PaymentFact], metadata: EventMetadata,
        also: [(stream: String, event: NewEvent)] = []
    ) async throws -> Outcome {
        // The inbox record, the payment and the profiles the facts name, in one read: most events decide on
        // nothing else.
        var streams = [entry.streamName]
        if let paymentID { streams.append(paymentID.streamName) }
        for fact in facts {
            if case .received(_, _, let profileID?, _, _, _, _, _, _, _, _) = fact { streams.append(profileID.streamName) }
        }
        return try await commit(
            inbox: entry, paymentID: paymentID, metadata: metadata, also: also, readAhead: streams,
            decide: applying(facts, to: paymentID, method: method)
        )
    }

    /// The decision of a provider event's facts on one payment.
    func applying(_ facts: [PaymentFact], to paymentID: PaymentID?, method: PaymentMethod) -> Decide {
        { payment, now, profileState in
            guard let paymentID else { return [] }
            var state = payment
            var events: [PaymentEvent] = []
            for fact in facts {
                var screened: ProfileState?
                if case .received(_, _, let profileID?, _, _, _, _, _, _, _, _) = fact {
                    screened = try await profileState(profileID)
                }
                let decided = PaymentDecider.decide(
                    fact, state: state, paymentID: paymentID, method: method, profile: screened, now: now, policy: profiles.policy
                )
                for event in decided { state.evolve(event) }
                events += decided
            }
            return events
        }
    }

    /// Whether the event was recorded before: a redelivery.
    public func isRecorded(_ entry: InboxEntry) async throws -> Bool {
        try await !store.readStream(entry.streamName, fromVersion: 1, limit: 1).isEmpty
    }

    /// New payment events decided on the payment as stored; the profile reader gives each profile as the
    /// decision sees it.
    typealias Decide = (PaymentState, Date, (ProfileID) async throws -> ProfileState) async throws -> [PaymentEvent]

    /// Decides new payment events on the payment as stored, then the allocation changes of every profile the
    /// payment pays for, and appends them all (with the inbox record, if any) in one transaction; on losing a
    /// race with a concurrent change, decides again.
    func commit(
        inbox entry: InboxEntry?, paymentID: PaymentID?, metadata: EventMetadata, also: [(stream: String, event: NewEvent)] = [],
        readAhead: [String] = [], decide: Decide
    ) async throws -> Outcome {
        var attempt = 0
        while true {
            attempt += 1
            // Each stream is read once per attempt: screening and allocation decide on the same state, and
            // that state's version is what the append expects.
            let states = StoredStreams(self)
            try await states.readAhead(readAhead)
            guard let decision = try await decision(
                inbox: entry, paymentID: paymentID, metadata: metadata, also: also, states: states, decide: decide
            ) else { return .duplicate }
            guard !decision.appends.isEmpty else { return decision.outcome }
            do {
                _ = try await store.append(decision.appends)
                return decision.outcome
            } catch let error as EventStoreError where error.code == .versionConflict && attempt < Self.conflictRetriesMax {
                // A concurrent delivery (of this event or another for the same payment or profile) won;
                // decide again on what it wrote. A short random pause keeps racing duplicates from
                // colliding in lockstep.
                try await Task.sleep(for: .milliseconds(Int.random(in: 1...(5 * attempt))))
                continue
            }
        }
    }

    /// What one provider event or command decides: the appends, and the streams' states after them.
    struct Decision {
        var appends: [StreamAppend] = []
        var paymentEvents: [PaymentEvent] = []
        var profileEvents: [ProfileEvent] = []
        /// The payment as the appends leave it.
        var payment: (id: PaymentID, state: PaymentState)?
        /// Each profile the appends change, as they leave it.
        var profiles: [ProfileID: ProfileState] = [:]

        var outcome: Outcome { .recorded(paymentEvents: paymentEvents, profileEvents: profileEvents) }
    }

    /// Decides one provider event or command on the streams as `states` gives them; `nil` when the event's
    /// inbox record exists already (a redelivery).
    func decision(
        inbox entry: InboxEntry?, paymentID: PaymentID?, metadata: EventMetadata, also: [(stream: String, event: NewEvent)],
        states: any DecisionStates, decide: Decide
    ) async throws -> Decision? {
        if let entry, try await states.isRecorded(entry) {
            return nil
        }
        let now = profiles.now()
        var decision = Decision()
        if let paymentID {
            let payment = try await states.payment(paymentID)
            decision.paymentEvents = try await decide(payment, now, states.profile)
            var state = payment
            for event in decision.paymentEvents { state.evolve(event) }
            state.version = payment.version + Int64(decision.paymentEvents.count)
            decision.payment = (paymentID, state)
            if !decision.paymentEvents.isEmpty {
                decision.appends.append(StreamAppend(
                    stream: paymentID.streamName, events: try decision.paymentEvents.map { try Self.newEvent($0, metadata) },
                    expecting: .exact(payment.version)
                ))
            }
            // The profiles the payment paid for before and pays for now: a correction takes back what it
            // bought from a profile it no longer pays for.
            var touched: [ProfileID] = []
            for profileID in (payment.listingShares + state.listingShares).map(\.share.profileID) where !touched.contains(profileID) {
                touched.append(profileID)
            }
            for profileID in touched {
                let profile = try await states.profile(profileID)
                guard profile.isRegistered else { continue }
                let commands = PaymentDecider.allocationCommands(payment: state, profileID: profileID, profile: profile)
                let decided = try ProfileDecider.decide(commands, state: profile, profileID: profileID, now: now, policy: profiles.policy)
                guard !decided.isEmpty else { continue }
                decision.profileEvents += decided
                var after = profile
                for event in decided { after.evolve(event) }
                after.version = profile.version + Int64(decided.count)
                decision.profiles[profileID] = after
                decision.appends.append(StreamAppend(
                    stream: profileID.streamName, events: try decided.map { try Self.newEvent($0, metadata) }, expecting: .exact(profile.version)
                ))
            }
        }
        if let entry {
            let record = InboxRecord(
                provider: entry.provider, eventID: entry.eventID, eventType: entry.eventType, paymentID: paymentID,
                effects: decision.paymentEvents.map(\.typeName) + decision.profileEvents.map(\.typeName), receivedAt: now,
                payload: entry.payload.count <= Self.payloadBytesStoredMax ? String(decoding: entry.payload, as: UTF8.self) : nil,
                payloadBytes: entry.payload.count
            )
            decision.appends.insert(StreamAppend(
                stream: entry.streamName,
                events: [NewEvent(id: .timeOrdered(), type: InboxRecord.typeName, data: try record.encodedData(), metadata: metadata)],
                expecting: .noStream
            ), at: 0)
        }
        decision.appends += also.map { StreamAppend(stream: $0.stream, events: [$0.event], expecting: .noStream) }
        return decision
    }

    /// A payment's stream, folded. The version counts events of types this build does not know too.
    /// `each` sees every recorded event as it is folded (the payment view keeps who caused each).
    public func loadPayment(_ paymentID: PaymentID, each: (RecordedEvent) -> Void = { _ in }) async throws -> PaymentState {
        let batchSize = min(1_000, store.limits.readBatchMax)
        var state = PaymentState()
        var version: Int64 = 0
        while true {
            let batch = try await store.readStream(paymentID.streamName, fromVersion: version + 1, limit: batchSize)
            for recorded in batch {
                if let event = try PaymentEvent.decode(typeName: recorded.type, data: recorded.data) {
                    state.evolve(event)
                }
                each(recorded)
                version = recorded.version
            }
            guard batch.count == batchSize else { break }
            guard version < ProfileService.streamEventsMax else {
                // Folding a prefix would decide on a wrong state; refuse instead, as for profiles.
                throw DomainError.invalidArgument("payment '\(paymentID)' has more than \(ProfileService.streamEventsMax) events; its history needs archiving")
            }
        }
        state.version = version
        return state
    }

    static func newEvent(_ event: PaymentEvent, _ metadata: EventMetadata) throws -> NewEvent {
        NewEvent(id: .timeOrdered(), type: event.typeName, schemaVersion: PaymentEvent.schemaVersion, data: try event.encodedData(), metadata: metadata)
    }

    static func newEvent(_ event: ProfileEvent, _ metadata: EventMetadata) throws -> NewEvent {
        NewEvent(id: .timeOrdered(), type: event.typeName, schemaVersion: ProfileEvent.schemaVersion, data: try event.encodedData(), metadata: metadata)
    }
}

/// The streams one decision reads.
protocol DecisionStates: AnyObject {
    func isRecorded(_ entry: PaymentPipeline.InboxEntry) async throws -> Bool
    func payment(_ paymentID: PaymentID) async throws -> PaymentState
    func profile(_ profileID: ProfileID) async throws -> ProfileState
}

/// Streams read from the store for one decision, each profile once; the streams read ahead in one query.
private final class StoredStreams: DecisionStates, @unchecked Sendable {
    // @unchecked: used by one task at a time, within one attempt of `commit`.
    private let pipeline: PaymentPipeline
    private var ahead = StreamsReadAhead()
    private var profiles: [ProfileID: ProfileState] = [:]

    init(_ pipeline: PaymentPipeline) {
        self.pipeline = pipeline
    }

    func readAhead(_ streams: [String]) async throws {
        try await ahead.read(streams, from: pipeline.store)
    }

    func isRecorded(_ entry: PaymentPipeline.InboxEntry) async throws -> Bool {
        if let recorded = ahead.hasEvents(entry.streamName) { return recorded }
        return try await pipeline.isRecorded(entry)
    }

    func payment(_ paymentID: PaymentID) async throws -> PaymentState {
        if let state = try ahead.payment(paymentID) { return state }
        return try await pipeline.loadPayment(paymentID)
    }

    func profile(_ profileID: ProfileID) async throws -> ProfileState {
        if let state = profiles[profileID] { return state }
        let state: ProfileState
        if let folded = try ahead.profile(profileID) {
            state = folded
        } else {
            state = try await pipeline.profiles.load(profileID).state
        }
        profiles[profileID] = state
        return state
    }
}

/// The inbox record of one provider event: what arrived, when, and what it changed.
public struct InboxRecord: Sendable, Hashable, Codable {
    public static let typeName = "ProviderEventReceived"
    public var provider: String
    public var eventID: String
    public var eventType: String
    public var paymentID: PaymentID?
    /// The type names of the events it caused; empty for an event recorded without effect.
    public var effects: [String]
    public var receivedAt: Date
    /// The raw body, when small enough to keep.
    public var payload: String?
    public var payloadBytes: Int

    func encodedData() throws -> Data {
        try StoredJSON.encode(self)
    }
}
