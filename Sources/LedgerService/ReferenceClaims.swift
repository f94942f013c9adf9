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
    /// Claims appended together, each still expecting no stream.
    static let claimsPerAppend = 100

    /// Claims the references of profiles registered without a claim (by a version from before registration
    /// claimed them, or by such an instance still running during an upgrade). The log is read from where the
    /// last check got to (``LogBackfill``); each unclaimed reference is claimed for the profile registered first
    /// (a 20-digit reference is a 64-bit digest of the profile id, so two ids sharing one is not expected).
    /// Returns how many were claimed.
    @discardableResult
    func backfill(now: Date, logger: Logger) async throws -> Int {
        let metadata = EventMetadata(actor: "system:reference-claims")
        let check = LogBackfill(store: store, progressStream: Self.progressStream, progressType: "ReferenceClaimsChecked")
        let claimed = try await check.run(metadata: metadata) { batch in
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
            var appended = 0
            var start = claims.startIndex
            while start < claims.endIndex {
                let chunk = Array(claims[start..<min(start + Self.claimsPerAppend, claims.endIndex)])
                start += chunk.count
                appended += try await appendClaims(chunk)
            }
            return appended
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
