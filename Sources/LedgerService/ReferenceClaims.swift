public import EventStore
import Foundation
public import LedgerCore
import Logging

/// Who holds each creditor reference, read from the references' own streams (`reference-<RF…>`), which
/// registration writes (see ``CreditorReferenceClaimed``).
public struct ReferenceClaims: Sendable {
    let store: any EventStore

    public init(store: any EventStore) {
        self.store = store
    }

    /// The profile holding `reference`, if any.
    public func owner(of reference: CreditorReference) async throws -> ProfileID? {
        try await owner(ofStream: CreditorReferenceClaimed.streamName(reference))
    }

    /// The holders of several references, read in as few queries as the store allows; a reference nobody
    /// holds is left out.
    func owners(of references: [CreditorReference]) async throws -> [CreditorReference: ProfileID] {
        var owners: [CreditorReference: ProfileID] = [:]
        let perQuery = store.limits.readBatchMax
        for start in stride(from: 0, to: references.count, by: perQuery) {
            let chunk = references[start..<min(start + perQuery, references.count)]
            let read = try await store.readStreams(chunk.map(CreditorReferenceClaimed.streamName), upToVersion: 1)
            for reference in chunk {
                guard let recorded = read[CreditorReferenceClaimed.streamName(reference)]?.first,
                      recorded.type == CreditorReferenceClaimed.typeName
                else { continue }
                owners[reference] = try CreditorReferenceClaimed.decode(recorded.data).profileID
            }
        }
        return owners
    }

    func owner(ofStream stream: String) async throws -> ProfileID? {
        guard let recorded = try await store.readStream(stream, fromVersion: 1, limit: 1).first,
              recorded.type == CreditorReferenceClaimed.typeName
        else { return nil }
        return try CreditorReferenceClaimed.decode(recorded.data).profileID
    }

    /// Where the claims of earlier registrations have been checked up to: `ReferenceClaimsChecked` events,
    /// each with the log cursor reached.
    static let progressStream = StreamName.referenceClaimsChecked.description
    /// The fewest events scanned worth recording progress for (a smaller scan is simply repeated next time).
    static let progressEventsMin = 1_000
    /// Claims appended together, each still expecting no stream.
    static let claimsPerAppend = 100

    struct Progress: Codable {
        var commitOrder: Int64
        var position: Int64
        var claimed: Int
    }

    /// Claims the references of profiles registered without a claim (by a version from before registration
    /// claimed them, or by such an instance still running during an upgrade). The log is read from where the
    /// last check got to; each unclaimed reference is claimed for the profile registered first (a 20-digit
    /// reference is a 64-bit digest of the profile id, so two ids sharing one is not expected). Progress is
    /// recorded once a check claimed something or read at least ``progressEventsMin`` events, so later opens
    /// read only what is new. Returns how many were claimed.
    @discardableResult
    func backfill(now: Date, logger: Logger) async throws -> Int {
        var markers: [RecordedEvent] = []
        while true {
            let page = try await store.readStream(Self.progressStream, fromVersion: Int64(markers.count) + 1, limit: 1_000)
            markers += page
            if page.count < 1_000 { break }
        }
        var cursor = LogCursor.start
        if let last = markers.last {
            let progress = try JSONDecoder().decode(Progress.self, from: last.data)
            cursor = LogCursor(commitOrder: progress.commitOrder, position: progress.position)
        }
        let metadata = EventMetadata(actor: "system:reference-claims")
        var claimed = 0
        var scanned = 0
        while true {
            let batch = try await store.readAll(after: cursor, limit: min(1_000, store.limits.readBatchMax))
            guard let last = batch.last else { break }
            cursor = last.cursor
            scanned += batch.count
            var claims: [StreamAppend] = []
            for recorded in batch where recorded.type == ProfileRegistered.typeName {
                guard let profileID = StreamName(recorded.stream)?.profileID else { continue }
                let reference = CreditorReference.forProfile(profileID)
                let claim = CreditorReferenceClaimed(reference: reference, profileID: profileID, occurredAt: now)
                claims.append(StreamAppend(
                    stream: CreditorReferenceClaimed.streamName(reference),
                    events: [NewEvent(id: .timeOrdered(), type: CreditorReferenceClaimed.typeName, data: try claim.encodedData(), metadata: metadata)],
                    expecting: .noStream
                ))
            }
            var start = claims.startIndex
            while start < claims.endIndex {
                let chunk = Array(claims[start..<min(start + Self.claimsPerAppend, claims.endIndex)])
                start += chunk.count
                claimed += try await appendClaims(chunk)
            }
        }
        guard claimed > 0 || scanned >= Self.progressEventsMin else { return claimed }
        let progress = Progress(commitOrder: cursor.commitOrder, position: cursor.position, claimed: claimed)
        do {
            _ = try await store.append(
                [NewEvent(id: .timeOrdered(), type: "ReferenceClaimsChecked", data: try JSONEncoder().encode(progress), metadata: metadata)],
                to: Self.progressStream, expecting: markers.isEmpty ? .noStream : .exact(Int64(markers.count))
            )
        } catch let error as EventStoreError where error.code == .versionConflict {
            // Another instance recorded its progress at the same time; the next open goes on from there.
        }
        if claimed > 0 {
            logger.notice("claimed the payment references of profiles registered without one", metadata: ["claimed": "\(claimed)"])
        }
        return claimed
    }

    /// Appends claims together; when one of them is held already, one at a time, skipping those. Returns how
    /// many were appended.
    private func appendClaims(_ claims: [StreamAppend]) async throws -> Int {
        guard !claims.isEmpty else { return 0 }
        do {
            _ = try await store.append(claims)
            return claims.count
        } catch let error as EventStoreError where error.code == .versionConflict {
            var appended = 0
            for claim in claims {
                do {
                    _ = try await store.append([claim])
                    appended += 1
                } catch let error as EventStoreError where error.code == .versionConflict {
                    // Claimed already (by registration, or by another instance); the first holder keeps it.
                    continue
                }
            }
            return appended
        }
    }
}
