public import EventStore
import Foundation
public import LedgerCore

/// Provider events decided one after the other, each on the streams as the ones before it left them, and
/// appended together in one transaction: a bank statement's lines.
///
/// Every event keeps its own checks: its inbox record still expects no stream, and each payment and profile
/// stream is expected at the version the batch first read. Events for the same stream are merged into one
/// append for it. If anything else wrote to one of those streams in the meantime, the whole batch is refused
/// with a version conflict and nothing of it is stored; the caller then records the same events one by one.
///
/// The next batch may be decided while the last one is being written (``takePending()``): it decides on the
/// profiles and payments as the last batch left them, and its own append expects the versions that batch
/// writes, so if that batch is refused, this one is refused too.
final class PaymentBatch: DecisionStates, @unchecked Sendable {
    // @unchecked: used by one task at a time (an import books its lines in order).
    let pipeline: PaymentPipeline
    /// Streams read ahead, as stored.
    private var ahead = StreamsReadAhead()
    private var payments: [PaymentID: PaymentState] = [:]
    /// The payments of the batch before, as it left them (its append may still be running).
    private var previousPayments: [PaymentID: PaymentState] = [:]
    private var profiles: [ProfileID: ProfileState] = [:]
    /// The streams of the profiles held in ``profiles``, so a read ahead skips them.
    private var heldProfileStreams: Set<String> = []
    /// Inbox streams this batch has written or seen.
    private var recordedInbox: Set<String> = []
    private var pending: [StreamAppend] = []
    private var pendingIndex: [String: Int] = [:]
    /// Events waiting for ``flush()``.
    private(set) var pendingEvents = 0

    init(_ pipeline: PaymentPipeline) {
        self.pipeline = pipeline
    }

    /// Reads the streams the next events will decide on, as many as possible in each query.
    func readAhead(_ streams: [String]) async throws {
        try await ahead.read(streams.filter { !heldProfileStreams.contains($0) }, from: pipeline.store)
    }

    func isRecorded(_ entry: PaymentPipeline.InboxEntry) async throws -> Bool {
        if recordedInbox.contains(entry.streamName) { return true }
        if let recorded = ahead.hasEvents(entry.streamName) { return recorded }
        return try await pipeline.isRecorded(entry)
    }

    /// The first event of a stream, as read ahead or else as stored; nil when the stream has none.
    func firstEvent(of stream: String) async throws -> RecordedEvent? {
        if let read = ahead.firstEvent(of: stream) { return read }
        return try await pipeline.store.readStream(stream, fromVersion: 1, limit: 1).first
    }

    func payment(_ paymentID: PaymentID) async throws -> PaymentState {
        if let state = payments[paymentID] { return state }
        let state: PaymentState
        if let known = try previousPayments[paymentID] ?? ahead.payment(paymentID) {
            state = known
        } else {
            state = try await pipeline.loadPayment(paymentID)
        }
        payments[paymentID] = state
        return state
    }

    func profile(_ profileID: ProfileID) async throws -> ProfileState {
        if let state = profiles[profileID] { return state }
        let state: ProfileState
        if let folded = try ahead.profile(profileID) {
            state = folded
        } else {
            state = try await pipeline.profiles.load(profileID).state
        }
        hold(state, of: profileID)
        return state
    }

    /// Decides a provider event on the streams as the batch has left them; its appends wait for ``flush()``.
    func record(
        _ entry: PaymentPipeline.InboxEntry, paymentID: PaymentID?, method: PaymentMethod, facts: [PaymentFact], metadata: EventMetadata,
        also: [(stream: String, event: NewEvent)] = []
    ) async throws -> PaymentPipeline.Outcome {
        guard let decision = try await pipeline.decision(
            inbox: entry, paymentID: paymentID, metadata: metadata, also: also, states: self,
            decide: pipeline.applying(facts, to: paymentID, method: method)
        ) else { return .duplicate }
        recordedInbox.insert(entry.streamName)
        if let (id, state) = decision.payment { payments[id] = state }
        for (id, state) in decision.profiles { hold(state, of: id) }
        for append in decision.appends {
            pendingEvents += append.events.count
            if let index = pendingIndex[append.stream] {
                pending[index].events += append.events
            } else {
                pendingIndex[append.stream] = pending.count
                pending.append(append)
            }
        }
        return decision.outcome
    }

    /// Everything decided since the last call, as one multi-stream append for the caller to write. The next
    /// batch decides on the profiles and payments as these appends leave them, without reading them again;
    /// if the appends are refused, the caller must ``forget()`` before deciding anything more. (Payments are
    /// kept for one batch: a payment met again later, a return of an earlier line, is read again.)
    func takePending() -> [StreamAppend] {
        let appends = pending
        let (decided, decidedStreams, decidedPayments) = (profiles, heldProfileStreams, payments)
        forget()
        profiles = decided
        heldProfileStreams = decidedStreams
        previousPayments = decidedPayments
        return appends
    }

    private func hold(_ state: ProfileState, of profileID: ProfileID) {
        if profiles.updateValue(state, forKey: profileID) == nil { heldProfileStreams.insert(profileID.streamName) }
    }

    /// Drops what is pending and everything read: the next events decide on the streams as stored.
    func forget() {
        pending = []
        pendingIndex = [:]
        pendingEvents = 0
        ahead = StreamsReadAhead()
        payments = [:]
        previousPayments = [:]
        profiles = [:]
        heldProfileStreams = []
        recordedInbox = []
    }
}

/// Streams read ahead in a few queries, for decisions that would otherwise read them one at a time.
struct StreamsReadAhead {
    /// Streams as stored, with the bound each was read up to.
    private var stored: [String: [RecordedEvent]] = [:]
    private var bounds: [String: Int64] = [:]
    /// How many queries ``read(_:from:)`` made so far.
    private(set) var queries = 0

    /// Reads the streams not read yet, as many as possible in each query.
    ///
    /// A query bounds each stream's events, so that its streams times the bound stay within the store's read
    /// limit; the streams are split into groups of equal size, so each gets about the same bound. A stream that
    /// filled its bound may hold more: such streams are read again together, with a bound at least four times the
    /// highest of the round before, until the bound is the read limit. So long histories (a profile after some
    /// years of payments, reminders and expiries) are still read a few queries for all, not one query each; a
    /// stream as long as the read limit is left to be read alone.
    mutating func read(_ streams: [String], from store: any EventStore) async throws {
        var unread = Array(Set(streams.filter { bounds[$0] == nil }))
        let readMax = store.limits.readBatchMax
        // Enough streams per query that each can still bring a short history along.
        var perQueryMax = max(1, readMax / 16)
        while !unread.isEmpty {
            let groups = (unread.count + perQueryMax - 1) / perQueryMax
            let size = (unread.count + groups - 1) / groups
            var filled: [String] = []
            var highest = 1
            for start in stride(from: 0, to: unread.count, by: size) {
                let names = Array(unread[start..<min(start + size, unread.count)])
                let bound = max(1, readMax / names.count)
                highest = max(highest, bound)
                let read = try await store.readStreams(names, upToVersion: Int64(bound))
                queries += 1
                for name in names {
                    let events = read[name] ?? []
                    stored[name] = events
                    bounds[name] = Int64(bound)
                    if events.count >= bound, bound < readMax { filled.append(name) }
                }
            }
            unread = filled
            perQueryMax = max(1, readMax / (highest > readMax / 4 ? readMax : highest * 4))
        }
    }

    /// Whether a stream was read whole (so deciding on it needs no query of its own).
    func holdsWhole(_ stream: String) -> Bool {
        wholeStream(stream) != nil
    }

    /// Whether a stream read ahead has any event; nil for a stream not read.
    func hasEvents(_ stream: String) -> Bool? {
        stored[stream].map { !$0.isEmpty }
    }

    /// The first event of a stream read ahead (nil inside when it has none); nil for a stream not read.
    func firstEvent(of stream: String) -> RecordedEvent?? {
        stored[stream].map(\.first)
    }

    /// The events of a stream read ahead, when they are the whole stream.
    private func wholeStream(_ stream: String) -> [RecordedEvent]? {
        guard let events = stored[stream], let bound = bounds[stream], Int64(events.count) < bound else { return nil }
        return events
    }

    /// The payment folded from its stream read ahead; nil unless the whole stream was read.
    func payment(_ paymentID: PaymentID) throws -> PaymentState? {
        guard let events = wholeStream(paymentID.streamName) else { return nil }
        var state = PaymentState()
        for recorded in events {
            if let event = try PaymentEvent.decode(typeName: recorded.type, data: recorded.data) { state.evolve(event) }
        }
        state.version = events.last?.version ?? 0
        return state
    }

    /// The profile folded from its stream read ahead; nil unless the whole stream was read.
    func profile(_ profileID: ProfileID) throws -> ProfileState? {
        guard let events = wholeStream(profileID.streamName) else { return nil }
        var state = ProfileState.fold(try events.compactMap { try ProfileEvent.decode(typeName: $0.type, data: $0.data) })
        state.version = events.last?.version ?? 0
        return state
    }
}
