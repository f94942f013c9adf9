public import Foundation

/// A profile's creditor reference, claimed for it in the reference's own stream (`reference-<RF…>`) in the same
/// append as its registration.
///
/// The claim is appended expecting no stream, so no two profiles can ever hold one reference: who owns a
/// reference on a bank line is read from this stream, the write side, never from a read model.
public struct CreditorReferenceClaimed: Sendable, Hashable, Codable {
    public static let typeName = "CreditorReferenceClaimed"

    /// The reference, electronic form (`RF18539007547034…`).
    public var reference: String
    public var profileID: ProfileID
    public var occurredAt: Date

    public init(reference: CreditorReference, profileID: ProfileID, occurredAt: Date) {
        self.reference = reference.electronic
        self.profileID = profileID
        self.occurredAt = occurredAt
    }

    /// The stream that holds the claim of `reference`.
    public static func streamName(_ reference: CreditorReference) -> String { StreamName.referenceClaim(reference.electronic).description }

    /// The stored form: JSON with sorted keys, as every event.
    public func encodedData() throws -> Data { try ProfileEvent.encoder.encode(self) }

    public static func decode(_ data: Data) throws -> CreditorReferenceClaimed {
        try ProfileEvent.decoder.decode(CreditorReferenceClaimed.self, from: data)
    }
}
