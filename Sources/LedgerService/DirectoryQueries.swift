public import EventStore
public import Foundation
import LedgerCore

/// A delivery as staff see it.
public struct DirectoryDeliveryRow: Sendable, Hashable, Codable {
    public var deliveryId: Int64
    public var endpointId: String
    public var eventId: String
    public var eventType: String
    public var profileId: String
    public var status: String
    public var attempts: Int
    public var lastStatus: Int?
    public var lastError: String?
    public var nextAttemptAt: Date
    /// When it was delivered (nil until then).
    public var deliveredAt: Date?
}

/// A listed profile in the directory snapshot.
public struct DirectoryListing: Sendable, Hashable, Codable {
    public var profileId: String
    public var displayName: String
    public var status: String
    public var paidThrough: String?
    /// The profile's stream version the row reflects: compare with a change's `profileVersion`.
    public var profileVersion: Int64
}

/// A page of the pull feed: changes in log order and where to continue.
public struct DirectoryFeedPage: Sendable, Hashable, Codable {
    public var changes: [DirectoryChange]
    /// Pass as `after` for the next page; equal to the request's cursor when nothing new was found.
    public var nextCursor: String
}

/// Dead letters and replays for staff; the feed and the snapshot for the directory.
public struct DirectoryQueries: Sendable {
    public let store: any EventStore
    /// The listing read model the snapshot of listed profiles is read from.
    let listing: ListingProjection
    let now: @Sendable () -> Date

    /// The most rows one page returns.
    public static let pageSizeMax = 500
    /// The most log events one feed request reads while looking for changes.
    public static let feedScanMax = 5_000

    public init(store: any EventStore, listing: ListingProjection, now: @escaping @Sendable () -> Date) {
        self.store = store
        self.listing = listing
        self.now = now
    }

    /// Deliveries with `status` (`dead`, `pending` or `delivered`), oldest first.
    /// How many deliveries are in `status`.
    public func count(status: String) async throws -> Int {
        try await store.withReadModelConnection { connection in
            Int(try await connection.query("SELECT COUNT(*) FROM directory_deliveries WHERE status = ?", [.text(status)]).first?.integer(0) ?? 0)
        }
    }

    /// Deliveries in `status`, oldest first, or with `newestFirst` the latest first (by when they were delivered,
    /// else by when they are next tried or were last tried).
    public func deliveries(status: String, endpointID: String?, newestFirst: Bool = false, limit: Int, offset: Int) async throws -> [DirectoryDeliveryRow] {
        var binds: [SQLValue] = [.text(status)]
        var filter = "status = ?"
        if let endpointID {
            filter += " AND endpoint_id = ?"
            binds.append(.text(endpointID))
        }
        binds += [.integer(Int64(limit)), .integer(Int64(offset))]
        let allBinds = binds
        let condition = filter
        return try await store.withReadModelConnection { connection in
            try await connection.query(
                """
                SELECT delivery_id, endpoint_id, event_id, event_type, profile_id, status, attempts, last_status, last_error, next_attempt_at_micros,
                       delivered_at_micros
                FROM directory_deliveries WHERE \(condition) ORDER BY \(newestFirst ? "COALESCE(delivered_at_micros, next_attempt_at_micros) DESC, delivery_id DESC" : "delivery_id") LIMIT ? OFFSET ?
                """,
                allBinds
            ).map { row in
                try DirectoryDeliveryRow(
                    deliveryId: row.integer(0), endpointId: row.text(1), eventId: row.text(2), eventType: row.text(3),
                    profileId: row.text(4), status: row.text(5), attempts: Int(row.integer(6)),
                    lastStatus: row.optionalInteger(7).map(Int.init), lastError: row.optionalText(8), nextAttemptAt: APIKeyStore.date(micros: row.integer(9)),
                    deliveredAt: row.optionalInteger(10).map(APIKeyStore.date(micros:))
                )
            }
        }
    }

    /// Which deliveries a replay sends again.
    public enum ReplaySelection: Sendable {
        /// One dead letter.
        case delivery(Int64)
        /// An endpoint's deliveries with ids in a range (both ends inclusive), whatever their state.
        case endpointRange(endpointID: String, fromDeliveryID: Int64, throughDeliveryID: Int64)
        /// Every delivery of an event recorded at or after an instant.
        case since(Date)
    }

    /// Puts the selected deliveries back in the queue, due now, with fresh attempts; returns how many.
    /// The `webhook-id` stays the event id, so a receiver that already has one drops the repeat.
    public func replay(_ selection: ReplaySelection) async throws -> Int {
        let (filter, binds): (String, [SQLValue]) = switch selection {
        case .delivery(let id): ("delivery_id = ? AND status = 'dead'", [.integer(id)])
        case .endpointRange(let endpointID, let from, let through):
            ("endpoint_id = ? AND delivery_id BETWEEN ? AND ?", [.text(endpointID), .integer(from), .integer(through)])
        case .since(let instant): ("recorded_at_micros >= ?", [.integer(APIKeyStore.micros(instant))])
        }
        let dueAt = APIKeyStore.micros(now())
        return try await store.withReadModelTransaction { connection in
            let count = try await connection.query("SELECT COUNT(*) FROM directory_deliveries WHERE \(filter)", binds).first.map { try $0.integer(0) } ?? 0
            // A delivery in flight (its claim's lease still runs) keeps its lease, under a token no outcome
            // matches: its sender's answer is not recorded, and no other instance can claim it until that
            // sender gives the lease back (see `DirectoryPublisher.record`) or the lease runs out. So it is sent
            // again, but never by two instances at once.
            try await connection.execute(
                """
                UPDATE directory_deliveries SET status = 'pending', attempts = 0, next_attempt_at_micros = ?, last_error = NULL,
                    claimed_by = CASE WHEN claimed_by IS NOT NULL AND claimed_until_micros >= ?
                        THEN (CASE WHEN claimed_by LIKE '\(DirectoryPublisher.replayedClaimPrefix)%' THEN claimed_by
                              ELSE '\(DirectoryPublisher.replayedClaimPrefix)' || claimed_by END)
                        ELSE NULL END,
                    claimed_until_micros = CASE WHEN claimed_by IS NOT NULL AND claimed_until_micros >= ? THEN claimed_until_micros ELSE NULL END
                WHERE \(filter)
                """,
                [.integer(dueAt), .integer(dueAt), .integer(dueAt)] + binds
            )
            return Int(count)
        }
    }

    /// Visibility changes after `cursor`, in log order, at most `limit`.
    /// Whether `text` is a feed cursor from an earlier page (`nil`, the start, is one too).
    public static func isCursor(_ text: String?) -> Bool {
        text.map { LogCursor($0) != nil } ?? true
    }

    /// The page of changes after the cursor text of an earlier page (the start when `nil`); a text that is not
    /// a cursor is refused with ``DomainError/invalidArgument(_:)``.
    public func changes(afterCursor text: String?, limit: Int) async throws -> DirectoryFeedPage {
        guard let text else { return try await changes(after: .start, limit: limit) }
        guard let cursor = LogCursor(text) else {
            throw DomainError.invalidArgument("after must be a cursor from an earlier page (like 12.345), or absent")
        }
        return try await changes(after: cursor, limit: limit)
    }

    public func changes(after cursor: LogCursor, limit: Int) async throws -> DirectoryFeedPage {
        var changes: [DirectoryChange] = []
        var position = cursor
        var scanned = 0
        let batch = min(1_000, store.limits.readBatchMax)
        scan: while scanned < Self.feedScanMax {
            let events = try await store.readAll(after: position, limit: batch)
            for recorded in events {
                scanned += 1
                if let (type, message) = try DirectoryChange.message(for: recorded), type == .visibilityChanged {
                    changes.append(message.data)
                }
                position = recorded.cursor
                if changes.count == limit { break scan }
            }
            if events.count < batch { break }
        }
        return DirectoryFeedPage(changes: changes, nextCursor: position.description)
    }

    /// Listed profiles ordered by id, after `afterProfileID`: page through to resynchronise from scratch. The
    /// listing read model first takes in what the log holds, so a resynchronisation never sees it behind (just
    /// after it was emptied to be filled again, say).
    ///
    /// The page answers as of now: a row whose scheduled change (an expiry, the end of grace, a waiver's start or
    /// end) is due was evaluated before that instant, and the sweeper may not have looked at it yet, so such a
    /// row is evaluated again from its kept state. A page holds `limit` listings unless it is the last.
    public func listedProfiles(afterProfileID: String?, limit: Int) async throws -> [DirectoryListing] {
        _ = try await ProjectionRunner(store: store, projection: listing).catchUp()
        let instant = now()
        let listing = self.listing
        var listed: [DirectoryListing] = []
        var after = afterProfileID ?? ""
        // Each query reads a whole page of rows, however few are still wanted: rows left out (due and now
        // hidden) are skipped a page at a time, not one by one.
        while listed.count < limit {
            let start = after
            let (page, rowsRead, last) = try await store.withReadModelConnection { connection in
                let rows = try await connection.query(
                    """
                    SELECT profile_id, display_name, status, paid_through, stream_version,
                           CASE WHEN next_change_at_micros <= ? THEN 1 ELSE 0 END
                    FROM listing_status
                    WHERE (visible = 1 OR next_change_at_micros <= ?) AND profile_id > ? ORDER BY profile_id LIMIT ?
                    """,
                    [.integer(ListingProjection.micros(instant)), .integer(ListingProjection.micros(instant)), .text(start), .integer(Int64(limit))]
                )
                let due = try rows.filter { try $0.bool(5) }.map { try $0.text(0) }
                let evaluated = try await listing.evaluations(due, at: instant, connection)
                var page: [DirectoryListing] = []
                for row in rows {
                    let profileID = try row.text(0)
                    if try row.bool(5) {
                        guard let (evaluation, version) = evaluated[profileID], evaluation.visible else { continue }
                        page.append(DirectoryListing(
                            profileId: profileID, displayName: try row.text(1), status: evaluation.status.rawValue,
                            paidThrough: evaluation.paidThrough?.description, profileVersion: version
                        ))
                    } else {
                        page.append(try DirectoryListing(
                            profileId: profileID, displayName: row.text(1), status: row.text(2), paidThrough: row.optionalText(3), profileVersion: row.integer(4)
                        ))
                    }
                }
                return (page, rows.count, try rows.last?.text(0))
            }
            listed += page.prefix(limit - listed.count)
            guard rowsRead == limit, let last else { break }
            after = last
        }
        return listed
    }
}
