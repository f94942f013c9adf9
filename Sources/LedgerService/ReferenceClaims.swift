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

    func owner(ofStream stream: String) async throws -> ProfileID? {
        guard let recorded = try await store.readStream(stream, fromVersion: 1, limit: 1).first,
              recorded.type == CreditorReferenceClaimed.typeName
        else { return nil }
        return try CreditorReferenceClaimed.decode(recorded.data).profileID
    }

    /// The stream marking that every profile registered before references were claimed has its claim.
    static let backfillStream = "reference-claims-backfilled"

    /// Claims the references of profiles registered before registration claimed them (ledgers created by an
    /// earlier version), once: the log is read for registrations, each unclaimed reference is claimed for the
    /// profile registered first, and a marker records that it is done. Returns how many were claimed.
    @discardableResult
    func backfill(now: Date, logger: Logger) async throws -> Int {
        guard try await store.readStream(Self.backfillStream, fromVersion: 1, limit: 1).isEmpty else { return 0 }
        var cursor = LogCursor.start
        var claimed = 0
        let metadata = EventMetadata(actor: "system:reference-backfill")
        while true {
            let batch = try await store.readAll(after: cursor, limit: min(1_000, store.limits.readBatchMax))
            guard let last = batch.last else { break }
            cursor = last.cursor
            for recorded in batch where recorded.type == ProfileRegistered.typeName && recorded.stream.hasPrefix("profile-") {
                guard let profileID = try? ProfileID(String(recorded.stream.dropFirst("profile-".count))) else { continue }
                let reference = CreditorReference.forProfile(profileID)
                let claim = CreditorReferenceClaimed(reference: reference, profileID: profileID, occurredAt: now)
                do {
                    _ = try await store.append(
                        [NewEvent(id: UUID(), type: CreditorReferenceClaimed.typeName, data: try claim.encodedData(), metadata: metadata)],
                        to: CreditorReferenceClaimed.streamName(reference), expecting: .noStream
                    )
                    claimed += 1
                } catch let error as EventStoreError where error.code == .versionConflict {
                    // Claimed already (by registration, or by a concurrent backfill); the first holder keeps it.
                    continue
                }
            }
        }
        do {
            _ = try await store.append(
                [NewEvent(id: UUID(), type: "ReferenceClaimsBackfilled", data: Data(#"{"claimed":\#(claimed)}"#.utf8), metadata: metadata)],
                to: Self.backfillStream, expecting: .noStream
            )
        } catch let error as EventStoreError where error.code == .versionConflict {
            return claimed
        }
        if claimed > 0 {
            logger.notice("claimed the payment references of profiles registered earlier", metadata: ["claimed": "\(claimed)"])
        }
        return claimed
    }
}
