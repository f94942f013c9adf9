public import EventStore
public import Foundation
public import LedgerCore

/// What a payment's money is, for lists and filters: what the payer said it was for until staff decide a held
/// payment, then what they decided (a transfer decided to be the card provider's payout is no listing
/// contribution, whatever its words said).
public enum PaymentListPurpose: String, Sendable, Hashable, Codable, CaseIterable {
    case listing, donation
    case notContribution = "not-contribution"
    case cardPayout = "card-payout"
    case payPalPayout = "paypal-payout"

    /// Nil for a payment that has neither arrived nor is pending with a purpose.
    public init?(_ payment: PaymentState) {
        self.init(said: payment.received?.purpose ?? payment.pending?.purpose, decided: payment.resolution?.resolution)
    }

    /// What the payer `said` the money was for, unless staff `decided` otherwise; nil when neither says.
    public init?(said: PaymentPurpose?, decided: HoldResolution?) {
        switch decided {
        case .allocate?, .split?, .acceptShort?: self = .listing
        case .donation?: self = .donation
        case .notContribution?: self = .notContribution
        case .cardPayout?: self = .cardPayout
        case .payPalPayout?: self = .payPalPayout
        case .refund?, nil:
            switch said {
            case .listing?: self = .listing
            case .donation?: self = .donation
            case nil: return nil
            }
        }
    }
}

/// Where a payment stands, in one word, for lists and filters.
public enum PaymentListState: String, Sendable, Hashable, Codable, CaseIterable {
    case pending, failed, held, counted
    case partlyRefunded = "partly-refunded"
    case refunded, returned
    case chargedBack = "charged-back"
    case voided
    /// Staff decided to pay it back; the money has not gone back yet.
    case toRefund = "to-refund"

    public init?(_ payment: PaymentState) {
        guard let received = payment.received else {
            if payment.failed != nil { self = .failed; return }
            if payment.pending != nil { self = .pending; return }
            return nil
        }
        if payment.voided != nil { self = .voided }
        else if payment.returned != nil { self = .returned }
        else if payment.isTakenByDispute { self = .chargedBack }
        else if payment.isFullyRefunded { self = .refunded }
        else if let kind = payment.givenBackByHandInFull { self = kind == .bankReturn ? .returned : kind == .chargeback ? .chargedBack : .refunded }
        else if payment.refundedInAllMinorUnits > 0 { self = .partlyRefunded }
        else if payment.isWaitingForStaff { self = .held }
        else if payment.resolution?.resolution == .refund { self = .toRefund }
        else { self = received.amount.minorUnits > 0 ? .counted : .held }
    }
}

/// The `profile_search` read model: each registered profile's id, name and e-mail, for staff searches.
public struct ProfileSearchProjection: Projection {
    public let name = "profile-search"
    let decoded: DecodedEvents

    public init(decoded: DecodedEvents = DecodedEvents()) {
        self.decoded = decoded
    }

    /// Reads nothing.
    public var decidesFromCarriedValues: Bool { true }

    public func reset(_ connection: any ReadModelConnection) async throws {
        try await connection.execute("DELETE FROM profile_search")
    }

    public func apply(_ events: [RecordedEvent], _ connection: any ReadModelConnection) async throws {
        var rows: [String: [SQLValue]] = [:]
        for recorded in events where recorded.type == ProfileRegistered.typeName && StreamName.isProfile(recorded.stream) {
            guard case .registered(let registered)? = try decoded.profileEvent(recorded) else { continue }
            let searchable = [registered.profileID.rawValue, registered.displayName, registered.contactEmail].joined(separator: " ").lowercased()
            rows[registered.profileID.rawValue] = [
                .text(registered.profileID.rawValue), .text(registered.displayName), .text(registered.contactEmail), .text(registered.kind.rawValue),
                .text(searchable),
            ]
        }
        try await BulkUpsert(
            table: "profile_search", columns: ["profile_id", "display_name", "contact_email", "kind", "search_text"],
            onConflict: """
                ON CONFLICT (profile_id) DO UPDATE SET display_name = excluded.display_name, contact_email = excluded.contact_email,
                    kind = excluded.kind, search_text = excluded.search_text
                """
        ).write(rows.keys.sorted().compactMap { rows[$0] }, connection)
    }
}

/// The `listing_changes` read model: every visibility change published for a profile, with when.
public struct ListingHistoryProjection: Projection {
    public let name = "listing-history"
    let decoded: DecodedEvents

    public init(decoded: DecodedEvents = DecodedEvents()) {
        self.decoded = decoded
    }

    public func reset(_ connection: any ReadModelConnection) async throws {
        try await connection.execute("DELETE FROM listing_changes")
    }

    public func apply(_ events: [RecordedEvent], _ connection: any ReadModelConnection) async throws {
        var changes: [(profileID: String, version: Int64, micros: Int64, visible: Bool)] = []
        for recorded in events where recorded.type == ListingVisibilityChanged.typeName {
            guard let profileID = StreamName(recorded.stream)?.profileID,
                  case .visibilityChanged(let change)? = try decoded.profileEvent(recorded) else { continue }
            changes.append((profileID.rawValue, recorded.version, ListingProjection.micros(change.occurredAt), change.visible))
        }
        guard !changes.isEmpty else { return }
        // Each profile's visibility before this batch: as the batch before carried it (it may not be stored yet),
        // else its latest stored change.
        var visible: [String: Bool] = [:]
        var profiles: [String] = []
        for profileID in Set(changes.map(\.profileID)).sorted() {
            if let carried = connection.carried(Self.carryKey(profileID)) as? Bool {
                visible[profileID] = carried
            } else {
                profiles.append(profileID)
            }
        }
        for start in stride(from: 0, to: profiles.count, by: 500) {
            let part = Array(profiles[start..<min(start + 500, profiles.count)])
            let marks = Array(repeating: "?", count: part.count).joined(separator: ", ")
            for row in try await connection.query(
                """
                SELECT c.profile_id, c.visible FROM listing_changes c
                JOIN (SELECT profile_id, MAX(version) AS version FROM listing_changes WHERE profile_id IN (\(marks)) GROUP BY profile_id) AS latest
                ON latest.profile_id = c.profile_id AND latest.version = c.version
                """,
                part.map { .text($0) }
            ) {
                visible[try row.text(0)] = try row.bool(1)
            }
        }
        var rows: [[SQLValue]] = []
        for change in changes {
            let before = visible[change.profileID] ?? false
            visible[change.profileID] = change.visible
            let delta: Int64 = (change.visible ? 1 : 0) - (before ? 1 : 0)
            rows.append([.text(change.profileID), .integer(change.version), .integer(change.micros), .bool(change.visible), .integer(delta)])
        }
        try await BulkUpsert(
            table: "listing_changes", columns: ["profile_id", "version", "occurred_at_micros", "visible", "delta"],
            onConflict: "ON CONFLICT (profile_id, version) DO NOTHING"
        ).write(rows, connection)
        for (profileID, isVisible) in visible { connection.carry(Self.carryKey(profileID), isVisible) }
    }

    /// Reads only what the batch before carried, or what is stored.
    public var decidesFromCarriedValues: Bool { true }

    private static func carryKey(_ profileID: String) -> String { "visible:" + profileID }
}

/// Lists and searches for staff, each first taking in what the log holds.
public struct StaffLists: Sendable {
    public let store: any EventStore
    /// The fold that keeps `payment_list` (with the other payment views).
    public let payments: PaymentViewsProjection
    public let profiles: ProfileSearchProjection
    public let history: ListingHistoryProjection
    public static let pageSizeMax = 500
    /// The most months one report of listed profiles covers.
    public static let monthsPerReportMax = 120

    public init(store: any EventStore, payments: PaymentViewsProjection, profiles: ProfileSearchProjection, history: ListingHistoryProjection) {
        self.store = store
        self.payments = payments
        self.profiles = profiles
        self.history = history
    }

    /// How many profiles the directory listed at the end of one month.
    public struct ListedMonth: Sendable, Hashable, Codable {
        /// `YYYY-MM`.
        public var month: String
        public var listed: Int
    }

    /// Profiles listed at the end of each month from `first` through `last` (the first days of those months),
    /// as the directory was told: each profile's last visibility change before the month ended.
    public func listedPerMonth(from first: LocalDate, through last: LocalDate, calendar: OrganisationCalendar) async throws -> [ListedMonth] {
        _ = try await ProjectionRunner(store: store, projection: history).catchUp()
        var firsts: [LocalDate] = []
        var month = first
        while month <= last, firsts.count < Self.monthsPerReportMax {
            firsts.append(month)
            month = month.addingMonths(1)
        }
        guard !firsts.isEmpty else { return [] }
        // Each change moved the count by its delta; a month's count is the sum of every delta before its end,
        // summed here month by month over the index on (occurred_at_micros, delta).
        let ends = firsts.map { ListingProjection.micros(calendar.startOfDay($0.addingMonths(1))) }
        let ranges = ends.indices.map { "(\($0), CAST(? AS BIGINT), CAST(? AS BIGINT))" }.joined(separator: ", ")
        var binds: [SQLValue] = []
        for (index, end) in ends.enumerated() { binds += [.integer(index == 0 ? Int64.min : ends[index - 1]), .integer(end)] }
        let bounds = binds
        let moves = try await store.withReadModelConnection { connection in
            try await connection.query(
                """
                WITH months (bucket, low, high) AS (VALUES \(ranges))
                SELECT CAST(bucket AS BIGINT), (SELECT CAST(COALESCE(SUM(delta), 0) AS BIGINT) FROM listing_changes
                                WHERE occurred_at_micros >= low AND occurred_at_micros < high) FROM months
                """,
                bounds
            ).map { (bucket: Int(try $0.integer(0)), delta: try $0.integer(1)) }
        }
        var deltas = [Int64](repeating: 0, count: firsts.count)
        for move in moves where deltas.indices.contains(move.bucket) { deltas[move.bucket] = move.delta }
        var listed: Int64 = 0
        var months: [ListedMonth] = []
        for (index, first) in firsts.enumerated() {
            listed += deltas[index]
            months.append(ListedMonth(month: String(first.description.prefix(7)), listed: Int(listed)))
        }
        return months
    }

    public struct PaymentRow: Sendable, Hashable, Codable {
        public var paymentId: String
        public var method: String
        public var purpose: String?
        public var state: String
        public var amount: String?
        public var currency: String?
        public var profileId: String?
        public var effectiveDate: String?
    }

    /// Payments matching every filter given, newest first.
    public func payments(
        method: PaymentMethod?, purpose: PaymentListPurpose?, month: String?, state: PaymentListState?, limit: Int, offset: Int
    ) async throws -> [PaymentRow] {
        _ = try await ProjectionRunner(store: store, projection: payments).catchUp()
        var conditions: [String] = []
        var binds: [SQLValue] = []
        if let method { conditions.append("method = ?"); binds.append(.text(method.rawValue)) }
        if let purpose { conditions.append("purpose = ?"); binds.append(.text(purpose.rawValue)) }
        if let month { conditions.append("month = ?"); binds.append(.text(month)) }
        if let state { conditions.append("state = ?"); binds.append(.text(state.rawValue)) }
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let filterBinds = binds
        return try await store.withReadModelConnection { connection in
            try await connection.query(
                """
                SELECT payment_id, method, purpose, state, amount_minor_units, currency, profile_id, effective_date FROM payment_list \(filter)
                ORDER BY effective_date DESC, payment_id LIMIT \(min(max(1, limit), Self.pageSizeMax)) OFFSET \(max(0, offset))
                """,
                filterBinds
            ).map { row in
                let currency = try row.optionalText(5)
                return PaymentRow(
                    paymentId: try row.text(0), method: try row.text(1), purpose: try row.optionalText(2), state: try row.text(3),
                    amount: try row.optionalInteger(4).map { Money(minorUnits: $0, currency: currency ?? "").decimalString }, currency: currency,
                    profileId: try row.optionalText(6), effectiveDate: try row.optionalText(7)
                )
            }
        }
    }

    public struct ProfileHit: Sendable, Hashable, Codable {
        public var profileId: String
        public var displayName: String
        public var contactEmail: String
        public var kind: String
        /// What matched: `reference`, `id` or `text`.
        public var matched: String
    }

    /// Profiles found by an RF reference (listing or donation; spaces and case do not matter), by their id, or
    /// by any part of id, name or e-mail.
    /// The names of the profiles given (those registered), from the search read model: one query for a page's
    /// worth of ids.
    public func displayNames(of profileIDs: Set<String>) async throws -> [String: String] {
        guard !profileIDs.isEmpty else { return [:] }
        _ = try await ProjectionRunner(store: store, projection: profiles).catchUp()
        let ids = profileIDs.sorted()
        var names: [String: String] = [:]
        for start in stride(from: 0, to: ids.count, by: 500) {
            let part = Array(ids[start..<min(start + 500, ids.count)])
            let marks = Array(repeating: "?", count: part.count).joined(separator: ", ")
            let rows = try await store.withReadModelConnection { connection in
                try await connection.query("SELECT profile_id, display_name FROM profile_search WHERE profile_id IN (\(marks))", part.map { .text($0) })
                    .map { (try $0.text(0), try $0.text(1)) }
            }
            for (id, name) in rows { names[id] = name }
        }
        return names
    }

    public func searchProfiles(_ text: String, limit: Int) async throws -> [ProfileHit] {
        _ = try await ProjectionRunner(store: store, projection: profiles).catchUp()
        let query = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !query.isEmpty else { return [] }
        var owner: ProfileID?
        if let reference = CreditorReference(parsing: query) {
            let claimed: CreditorReference? = switch reference.use {
            case .listing: reference
            case .donation(let listing): listing
            case .generalDonation: nil
            }
            if let claimed { owner = try await ReferenceClaims(store: store).owner(of: claimed) }
        }
        let holder = owner
        let pattern = "%" + query.lowercased().replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
            .replacingOccurrences(of: "_", with: "\\_") + "%"
        return try await store.withReadModelConnection { connection in
            try await connection.query(
                """
                SELECT profile_id, display_name, contact_email, kind FROM profile_search
                WHERE profile_id = ? OR profile_id = ? OR search_text LIKE ? ESCAPE '\\'
                ORDER BY CASE WHEN profile_id = ? THEN 0 WHEN profile_id = ? THEN 1 ELSE 2 END, display_name, profile_id
                LIMIT \(min(max(1, limit), Self.pageSizeMax))
                """,
                [.text(holder?.rawValue ?? ""), .text(query), .text(pattern), .text(holder?.rawValue ?? ""), .text(query)]
            ).map { row in
                let profileID = try row.text(0)
                return ProfileHit(
                    profileId: profileID, displayName: try row.text(1), contactEmail: try row.text(2), kind: try row.text(3),
                    matched: profileID == holder?.rawValue ? "reference" : profileID == query ? "id" : "text"
                )
            }
        }
    }
}
