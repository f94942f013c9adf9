public import EventStore
public import Foundation
public import LedgerCore
import Logging
public import ServiceLifecycle
import Synchronization

/// The dated listing policy as the ledger records it in its `policy` stream, kept in memory for decisions.
///
/// Configuration seeds the stream of a ledger that has none; after that the stream is the truth, changed
/// only by scheduled, dated changes (``schedule(_:metadata:)``). Every instance reloads it after its own
/// changes and every few seconds (``PolicyRefresher``), so a change made through one instance reaches the
/// others well before any future date it takes effect on.
public final class PolicyBook: Sendable {
    /// The stream the policy lives in.
    public static let streamName = StreamName.policy.description
    let store: any EventStore
    /// What configuration gives beyond the tariff: the calendar, reminders, the amount ceiling, and the
    /// tariff and grace used to seed an empty stream.
    let base: ListingPolicy
    /// The policy in force, and the version of the `policy` stream it was loaded from (0: none yet), kept
    /// together so a change is always checked against the version its policy came from.
    private let state: Mutex<(policy: ListingPolicy, version: Int64)>

    public init(store: any EventStore, base: ListingPolicy) {
        self.store = store
        self.base = base
        state = Mutex((base, 0))
    }

    /// The policy in force for decisions, as last loaded.
    public var current: ListingPolicy { state.withLock { $0.policy } }

    /// One recorded change, with when and by whom it was recorded.
    public struct Record: Sendable {
        public var change: ListingPolicyChanged
        public var recordedAt: Date
        public var actor: String?
    }

    /// Every recorded change, oldest first.
    public func changes() async throws -> [Record] { try await read().records }

    /// The recorded changes and the stream's version.
    private func read() async throws -> (records: [Record], version: Int64) {
        // One more than it may hold, so a stream past the bound is named instead of read in part: a policy made of
        // its first changes only would be a policy no one set.
        let recorded = try await store.readStream(Self.streamName, fromVersion: 1, limit: PolicyDecider.changesMax + 1)
        guard recorded.count <= PolicyDecider.changesMax else {
            throw EventStoreError(.limitExceeded, "the policy stream holds more than \(PolicyDecider.changesMax) changes, more than the ledger reads")
        }
        let records = try recorded.compactMap { event in
            try ListingPolicyChanged.decode(typeName: event.type, data: event.data).map {
                Record(change: $0, recordedAt: event.recordedAt, actor: event.metadata.actor)
            }
        }
        return (records, recorded.last?.version ?? 0)
    }

    /// Reads the stream again and puts its policy in force.
    public func reload() async throws {
        let (records, version) = try await read()
        guard let tariff = PolicyDecider.tariff(from: records.map(\.change)) else { return }
        var policy = base
        policy.tariff = tariff
        state.withLock { $0 = (policy, version) }
    }

    /// Seeds an empty policy stream from configuration, or, on a ledger with a policy, refuses a listing
    /// setting given explicitly that disagrees with the policy in force today.
    ///
    /// - Parameter explicitSettings: the listing settings given by the operator (not defaults), by key.
    public func open(explicitSettings: Set<String>, today: LocalDate, now: Date) async throws {
        if try await changes().isEmpty {
            let seed = base.tariff.entry(on: today)
            let change = ListingPolicyChanged(
                effectiveFrom: LedgerBounds.earliestDate, price: seed.price, monthsPerPeriod: seed.months,
                graceDays: seed.graceDays ?? base.graceDays, reason: "the configured policy when the ledger first started", retroactive: false,
                occurredAt: now
            )
            do {
                _ = try await store.append(
                    [NewEvent(id: .timeOrdered(), type: ListingPolicyChanged.typeName, schemaVersion: ListingPolicyChanged.schemaVersion, data: try change.encodedData(), metadata: EventMetadata(actor: "configuration"))],
                    to: Self.streamName, expecting: .noStream
                )
            } catch let error as EventStoreError where error.code == .versionConflict {
                // Another instance seeded it first; its policy is the one.
            }
        }
        try await reload()
        let inForce = current.tariff.entry(on: today)
        var disagreements: [String] = []
        if explicitSettings.contains("listing.price"), base.tariff.entry(on: today).price != inForce.price {
            disagreements.append("LEDGER_LISTING_PRICE is \(base.tariff.entry(on: today).price.decimalString) but the ledger's price today is \(inForce.price.decimalString)")
        }
        if explicitSettings.contains("listing.period_months"), base.tariff.entry(on: today).months != inForce.months {
            disagreements.append("LEDGER_LISTING_PERIOD_MONTHS is \(base.tariff.entry(on: today).months) but the ledger's period today is \(inForce.months) months")
        }
        if explicitSettings.contains("listing.grace_days"), base.graceDays != (inForce.graceDays ?? base.graceDays) {
            disagreements.append("LEDGER_LISTING_GRACE_DAYS is \(base.graceDays) but the ledger's grace today is \(inForce.graceDays ?? base.graceDays) days")
        }
        guard disagreements.isEmpty else {
            throw ConfigurationError(
                disagreements.joined(separator: "; ")
                    + ". The ledger keeps its policy as dated history, so a setting cannot change it: remove the setting (or make it "
                    + "match what is in force today), then schedule the change with "
                    + "`listing-ledger policy schedule --from YYYY-MM-DD --price … --period-months … --grace-days … --reason \"…\"` "
                    + "(or POST /api/v1/policy/changes)"
            )
        }
    }

    /// A change request from what staff gave: what they left out stays as it is in force on `effectiveFrom`. A
    /// change already scheduled later that would put back what this one sets is named in the request, which is
    /// then refused (see ``PolicyDecider/putBack(from:price:months:graceDays:tariff:graceDefault:)``).
    public func request(
        effectiveFrom: LocalDate, price: Money?, monthsPerPeriod: Int?, graceDays: Int?, reason: String, allowPast: Bool
    ) -> PolicyChangeRequest {
        let (policy, version) = state.withLock { $0 }
        let inForce = policy.tariff.entry(on: effectiveFrom)
        return PolicyChangeRequest(
            effectiveFrom: effectiveFrom, price: price ?? inForce.price, monthsPerPeriod: monthsPerPeriod ?? inForce.months,
            graceDays: graceDays ?? inForce.graceDays ?? policy.graceDays, reason: reason, allowPast: allowPast,
            putBackLater: PolicyDecider.putBack(
                from: effectiveFrom, price: price, months: monthsPerPeriod, graceDays: graceDays, tariff: policy.tariff, graceDefault: policy.graceDays
            ),
            basedOnVersion: version > 0 ? version : nil
        )
    }

    /// Records a dated change and puts it in force.
    public func schedule(_ request: PolicyChangeRequest, metadata: EventMetadata, now: Date) async throws -> ListingPolicyChanged {
        let change = try PolicyDecider.decide(request, today: base.calendar.date(at: now), now: now, amountMax: base.paymentAmountMax)
        _ = try await store.append(
            [NewEvent(id: .timeOrdered(), type: ListingPolicyChanged.typeName, schemaVersion: ListingPolicyChanged.schemaVersion, data: try change.encodedData(), metadata: metadata)],
            // A change recorded meanwhile (by another instance) answers a conflict: this one was filled in and checked
            // without it.
            to: Self.streamName, expecting: request.basedOnVersion.map { .exact($0) } ?? .any
        )
        try await reload()
        return change
    }
}

/// Reloads the policy every few seconds, so changes made through another instance are seen.
public struct PolicyRefresher: Service {
    let book: PolicyBook
    let logger: Logger
    /// How often the policy is read again.
    static let intervalSeconds: Int64 = 5

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await Task.sleep(for: .seconds(Self.intervalSeconds))
                    try await book.reload()
                } catch {
                    if Task.isCancelled { return }
                    logger.warning("reading the listing policy failed; retrying", metadata: ["error": "\(error)"])
                }
            }
        }
    }
}
