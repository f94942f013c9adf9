public import EventStore
public import Foundation
public import LedgerCore

/// The `listing_status` read model: one row per profile with its listing as evaluated when the profile's
/// stream last changed (and whenever the sweeper looks at it). Backs lists and the sweeper's schedule.
///
/// A fold: each profile's state is kept in `projection_states` and evolved by the events handed over; the
/// row is evaluated from that state at the service clock's now, under the dated policy as the `policy` stream's
/// events handed over so far make it (kept in `projection_states` too). Nothing is read from the streams.
public struct ListingProjection: Projection {
    public let name = "listing-status"
    /// What configuration gives the policy (the calendar, reminders, the amount ceiling), and the tariff used
    /// until the `policy` stream has one.
    let base: ListingPolicy
    let now: @Sendable () -> Date
    /// Profiles are met again and again (every payment, reminder and visibility change); most payments are
    /// met in one batch or two, so only this fold keeps its states in memory.
    private let stateCache = FoldedStateCache<ProfileState>()
    var states: FoldedStates<ProfileState> { FoldedStates(projection: name, cache: stateCache) }
    /// The `policy` stream's changes, kept beside the profiles' states; remembered by version, so a batch or a
    /// sweeper's refresh decodes them only after a change.
    private let policyCache = FoldedStateCache<PolicyChanges>(capacity: 1)
    var policyStates: FoldedStates<PolicyChanges> { FoldedStates(projection: name, cache: policyCache) }
    let decoded: DecodedEvents

    /// The changes of the `policy` stream, in order.
    struct PolicyChanges: Codable, Sendable {
        var changes: [ListingPolicyChanged] = []
    }

    /// A projection evaluating listings at `now` under `base` with the tariff the `policy` stream records.
    public init(base: ListingPolicy, now: @escaping @Sendable () -> Date, decoded: DecodedEvents = DecodedEvents()) {
        self.base = base
        self.now = now
        self.decoded = decoded
    }

    /// `base` with the tariff `changes` make, or its own while they make none.
    func policy(_ changes: PolicyChanges?) -> ListingPolicy {
        var policy = base
        if let changes, let tariff = PolicyDecider.tariff(from: changes.changes) { policy.tariff = tariff }
        return policy
    }

    /// The policy as kept from earlier batches (a query, so it comes before any write).
    private func keptPolicy(_ connection: any ReadModelConnection) async throws -> PolicyChanges? {
        try await policyStates.load([PolicyBook.streamName], connection)[PolicyBook.streamName]
    }

    /// Reads only states the batch before carried, or what is stored.
    public var decidesFromCarriedValues: Bool { true }

    public func reset(_ connection: any ReadModelConnection) async throws {
        try await connection.execute("DELETE FROM listing_status")
        try await states.reset(connection)
    }

    public func apply(_ events: [RecordedEvent], _ connection: any ReadModelConnection) async throws {
        // Every query comes before the first write: the policy kept so far is read before the profiles' fold
        // stores their states.
        var policyChanges = try await keptPolicy(connection)
        let policyEvents = events.filter { $0.stream == PolicyBook.streamName }
        let folded = try await states.fold(events, following: StreamName.isProfile, initial: { ProfileState() }, connection) { state, recorded in
            if let event = try decoded.profileEvent(recorded) {
                state.evolve(event)
            }
            // The row needs neither every visibility change published nor every reminder sent; without them
            // the kept state stays the size of the profile's payments instead of growing with its history.
            state.publishedHistory.removeAll()
            state.reminders.removeAll()
            // A type this build does not know is skipped, but still counts towards the stream's version.
            state.version = recorded.version
        }
        // A policy change can move any listing (a grace period changed from a day already past brings an expired
        // listing back into grace, say), and nothing else would make its row be evaluated again: every row falls
        // due at the change, and the sweeper evaluates each again under the policy as recorded. The rows this
        // batch writes next are evaluated now, and keep their own next change.
        if let last = policyEvents.last {
            var changes = policyChanges ?? PolicyChanges()
            for recorded in policyEvents {
                if let change = try ListingPolicyChanged.decode(typeName: recorded.type, data: recorded.data) { changes.changes.append(change) }
            }
            policyChanges = changes
            try await policyStates.saveAll([(last.stream, last.version, changes)], connection)
            if let change = policyEvents.last(where: { $0.type == ListingPolicyChanged.typeName }) {
                let due = Self.micros(change.recordedAt)
                try await connection.execute(
                    "UPDATE listing_status SET next_change_at_micros = ? WHERE next_change_at_micros IS NULL OR next_change_at_micros > ?",
                    [.integer(due), .integer(due)]
                )
            }
        }
        let (instant, policy) = (now(), policy(policyChanges))
        try await Self.rows.write(folded.compactMap { Self.row($0.state, at: instant, policy: policy, dueIfUnpublished: true) }, connection)
    }

    /// Evaluates the rows of `profileIDs` again from their kept states, at the service clock's now (the sweeper
    /// does this when a scheduled change falls due and nothing was recorded), in one upsert. A row written from
    /// a newer state in the meantime is kept: rows only move forward in their stream's version.
    public func refresh(_ profileIDs: [ProfileID], _ connection: any ReadModelConnection) async throws {
        let streams = Array(Set(profileIDs.map(\.streamName))).sorted()
        guard !streams.isEmpty else { return }
        let policy = policy(try await keptPolicy(connection))
        let kept = try await states.load(streams, connection)
        let instant = now()
        try await Self.rows.write(streams.compactMap { kept[$0].flatMap { Self.row($0, at: instant, policy: policy, dueIfUnpublished: false) } }, connection)
    }

    /// The listings of `profileIDs` as they stand at `instant`, evaluated from their kept states as a row written
    /// then would hold them; a profile without a kept state is left out. Only reads: for a list that must answer
    /// as of now for rows whose scheduled change fell due before the sweeper looked at them.
    func evaluations(
        _ profileIDs: [String], at instant: Date, _ connection: any ReadModelConnection
    ) async throws -> [String: (evaluation: ListingEvaluation, version: Int64)] {
        guard !profileIDs.isEmpty else { return [:] }
        let policy = policy(try await keptPolicy(connection))
        let kept = try await states.load(try profileIDs.map { try ProfileID($0).streamName }, connection)
        var evaluated: [String: (evaluation: ListingEvaluation, version: Int64)] = [:]
        for state in kept.values {
            guard let profileID = state.profileID else { continue }
            evaluated[profileID.rawValue] = (state.evaluate(at: state.decisionInstant(now: instant), policy: policy), state.version)
        }
        return evaluated
    }

    /// What a listing rests on, as its row keeps it: `waiver:<id>` or `payments:<id>,<id>…`.
    static func basisText(_ evaluation: ListingEvaluation) -> String? {
        evaluation.basis.map { basis in
            basis.kind == .waiver ? "waiver:\(basis.waiverID ?? "")" : "payments:" + basis.paymentIDs.map(\.rawValue).joined(separator: ",")
        }
    }

    /// The `listing_status` row of a profile's state, evaluated at `instant`; nil before the profile is registered.
    /// With `dueIfUnpublished`, a row evaluated otherwise than last published falls due at once (see below); a
    /// refresh after a sweep that decided nothing keeps the row's own next change instead, so a row whose state
    /// lags behind its stream (the sweeper's own event not yet visible to the projection) is not swept again and
    /// again until it catches up.
    private static func row(_ state: ProfileState, at instant: Date, policy: ListingPolicy, dueIfUnpublished: Bool) -> [SQLValue]? {
        guard let profileID = state.profileID else { return nil }
        // As a decision evaluates it (see ProfileState.decisionInstant).
        let evaluatedAt = state.decisionInstant(now: instant)
        let evaluation = state.evaluate(at: evaluatedAt, policy: policy)
        // A listing evaluated otherwise than the directory was last told (rebuilt after the service was stopped
        // across an expiry, or decided under the policy before a change this batch also holds) falls due now:
        // its own next change may already be past, and nothing else would make the sweeper record the change
        // and the directory hear of it.
        let nextChange = !dueIfUnpublished || evaluation.matches(state.published) ? evaluation.nextChangeAt : evaluatedAt
        let basis = basisText(evaluation)
        return [
            .text(profileID.rawValue), .text(state.displayName), .text(state.kind?.rawValue ?? ""), .text(evaluation.status.rawValue),
            .bool(evaluation.visible), .optional(evaluation.paidThrough?.description), .integer(evaluation.creditMinorUnits),
            .optional(evaluation.reason?.rawValue), .optional(basis), .optional(nextChange.map(Self.micros)),
            .integer(state.version),
        ]
    }

    private static var rows: BulkUpsert {
        BulkUpsert(
            table: "listing_status",
            columns: [
                "profile_id", "display_name", "kind", "status", "visible", "paid_through", "credit_minor_units", "reason", "basis",
                "next_change_at_micros", "stream_version",
            ],
            onConflict: """
            ON CONFLICT (profile_id) DO UPDATE SET
                display_name = excluded.display_name, kind = excluded.kind, status = excluded.status, visible = excluded.visible,
                paid_through = excluded.paid_through, credit_minor_units = excluded.credit_minor_units, reason = excluded.reason,
                basis = excluded.basis, next_change_at_micros = excluded.next_change_at_micros, stream_version = excluded.stream_version
            WHERE listing_status.stream_version <= excluded.stream_version
            """
        )
    }

    static func micros(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1_000_000).rounded()) }
}

/// One row of the listing read model.
public struct ListingRow: Sendable, Hashable, Codable {
    public var profileId: String
    public var displayName: String
    public var kind: String
    public var status: String
    public var visible: Bool
    public var paidThrough: String?
    public var creditMinorUnits: Int64
    public var reason: String?
    public var basis: String?
    public var version: Int64

    /// Whether the row comes before `other` in a list: by the last paid day (none last), then by id, as the
    /// lists' SQL orders them.
    func precedes(_ other: ListingRow) -> Bool {
        (paidThrough ?? "9999-12-31", profileId) < (other.paidThrough ?? "9999-12-31", other.profileId)
    }
}

/// Which rows a list of listings keeps: as SQL over `listing_status`, and as a test of a row evaluated now.
struct ListingFilter {
    var status: String?
    /// Active or in grace, last paid on or before this day.
    var paidThroughBy: String?
    /// Last paid in this calendar month, `YYYY-MM`.
    var month: String?

    var sql: (conditions: [String], binds: [SQLValue]) {
        var conditions: [String] = []
        var binds: [SQLValue] = []
        if let status {
            conditions.append("status = ?")
            binds.append(.text(status))
        }
        if let paidThroughBy {
            conditions.append("status IN ('active', 'grace') AND paid_through IS NOT NULL AND paid_through <= ?")
            binds.append(.text(paidThroughBy))
        }
        if let month {
            conditions.append("paid_through IS NOT NULL AND paid_through >= ? AND paid_through <= ?")
            binds += [.text("\(month)-01"), .text("\(month)-31")]
        }
        return (conditions, binds)
    }

    func matches(_ row: ListingRow) -> Bool {
        if let status, row.status != status { return false }
        if let paidThroughBy {
            guard row.status == "active" || row.status == "grace", let paid = row.paidThrough, paid <= paidThroughBy else { return false }
        }
        if let month {
            guard let paid = row.paidThrough, paid >= "\(month)-01", paid <= "\(month)-31" else { return false }
        }
        return true
    }
}

/// Queries over the listing read model.
public struct ListingQueries: Sendable {
    public let store: any EventStore
    /// The fold that keeps `listing_status`; a list first takes in what the log holds.
    public let projection: ListingProjection
    public let calendar: OrganisationCalendar
    public let now: @Sendable () -> Date

    /// The most rows one page returns.
    public static let pageSizeMax = 500

    public init(store: any EventStore, projection: ListingProjection, calendar: OrganisationCalendar, now: @escaping @Sendable () -> Date) {
        self.store = store
        self.projection = projection
        self.calendar = calendar
        self.now = now
    }

    /// Profiles by status, optionally only those whose paid period ends within `expiringWithinDays`, after
    /// taking in what the log holds (a payment recorded a moment ago is in the list, as in the other staff
    /// lists). Ordered by the last paid day (none last), then by id.
    ///
    /// The list answers as of now: a row whose scheduled change (an expiry, the end of grace, a waiver's start or
    /// end) is due was evaluated before that instant, and the sweeper may not have looked at it yet (it may be
    /// behind, or failing), so such a row is evaluated again from its kept state and listed as it is now.
    public func list(status: String?, expiringWithinDays: Int?, expiringInMonth: String? = nil, limit: Int, offset: Int) async throws -> [ListingRow] {
        _ = try await ProjectionRunner(store: store, projection: projection).catchUp()
        let instant = now()
        let filter = ListingFilter(
            status: status, paidThroughBy: expiringWithinDays.map { calendar.date(at: instant).addingDays($0).description }, month: expiringInMonth
        )
        let projection = self.projection
        let dueAt = SQLValue.integer(ListingProjection.micros(instant))
        // One snapshot: a row the sweeper reschedules meanwhile is either due or not, never both or neither.
        return try await store.withReadModelSnapshot { connection in
            let due = try await connection.query(
                "SELECT profile_id, display_name, kind FROM listing_status WHERE next_change_at_micros <= ?", [dueAt]
            ).map { try (id: $0.text(0), displayName: $0.text(1), kind: $0.text(2)) }
            guard !due.isEmpty else {
                return try await Self.rows(filter, [], limit: limit, offset: offset, connection)
            }
            let evaluated = try await projection.evaluations(due.map(\.id), at: instant, connection)
            let dueNow = due.compactMap { row -> ListingRow? in
                guard let (evaluation, version) = evaluated[row.id] else { return nil }
                return ListingRow(
                    profileId: row.id, displayName: row.displayName, kind: row.kind, status: evaluation.status.rawValue, visible: evaluation.visible,
                    paidThrough: evaluation.paidThrough?.description, creditMinorUnits: evaluation.creditMinorUnits,
                    reason: evaluation.reason?.rawValue, basis: ListingProjection.basisText(evaluation), version: version
                )
            }.filter(filter.matches)
            // The rows not due, up to the end of the page, merged with the due rows that match as they are now.
            let notDue = try await Self.rows(
                filter, [("(next_change_at_micros IS NULL OR next_change_at_micros > ?)", dueAt)], limit: offset + limit, offset: 0, connection
            )
            return Array((notDue + dueNow).sorted { $0.precedes($1) }.dropFirst(offset).prefix(limit))
        }
    }

    /// The rows `filter` and `more` keep, as stored, in the list's order: ids compared byte by byte (`COLLATE "C"`
    /// on PostgreSQL, whose databases' own collation may ignore punctuation and case), as ``ListingRow/precedes(_:)``
    /// compares them when rows evaluated now are merged in. (Days, written `YYYY-MM-DD`, sort alike in any
    /// collation.)
    private static func rows(
        _ filter: ListingFilter, _ more: [(condition: String, bind: SQLValue)], limit: Int, offset: Int, _ connection: any ReadModelConnection
    ) async throws -> [ListingRow] {
        var (conditions, binds) = filter.sql
        conditions += more.map(\.condition)
        binds += more.map(\.bind)
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let bytewise = connection.dialect == .postgres ? #" COLLATE "C""# : ""
        return try await connection.query(
            """
            SELECT profile_id, display_name, kind, status, visible, paid_through, credit_minor_units, reason, basis, stream_version
            FROM listing_status \(filter) ORDER BY COALESCE(paid_through, '9999-12-31'), profile_id\(bytewise) LIMIT ? OFFSET ?
            """,
            binds + [.integer(Int64(limit)), .integer(Int64(offset))]
        ).map { row in
            try ListingRow(
                profileId: row.text(0), displayName: row.text(1), kind: row.text(2), status: row.text(3),
                visible: row.bool(4), paidThrough: row.optionalText(5), creditMinorUnits: row.integer(6),
                reason: row.optionalText(7), basis: row.optionalText(8), version: row.integer(9)
            )
        }
    }

    /// Profiles whose next scheduled change is due at `instant`, soonest first.
    public func due(at instant: Date, limit: Int) async throws -> [String] {
        try await store.withReadModelConnection { connection in
            try await connection.query(
                "SELECT profile_id FROM listing_status WHERE next_change_at_micros <= ? ORDER BY next_change_at_micros LIMIT ?",
                [.integer(ListingProjection.micros(instant)), .integer(Int64(limit))]
            ).map { try $0.text(0) }
        }
    }

    /// The earliest scheduled change, if any.
    public func nextScheduledChange() async throws -> Date? {
        try await store.withReadModelConnection { connection in
            try await connection.query("SELECT MIN(next_change_at_micros) FROM listing_status", []).first.flatMap { try $0.optionalInteger(0) }
                .map { Date(timeIntervalSince1970: Double($0) / 1_000_000) }
        }
    }
}
