/// A profile (mediator or advocate) in the directory. Opaque text chosen by the body's website.
public struct ProfileID: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    public let rawValue: String

    /// Allowed: 1–64 characters from letters, digits, `-`, `_`, `.`.
    public init(_ rawValue: String) throws(DomainError) {
        guard Self.isValid(rawValue) else {
            throw .invalidArgument("a profile id is 1 to 64 letters, digits, '-', '_' or '.'; got '\(rawValue.prefix(80))'")
        }
        self.rawValue = rawValue
    }

    static func isValid(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 64
            && text.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0)) }
    }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public static func < (lhs: ProfileID, rhs: ProfileID) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { rawValue }

    /// The profile's stream name.
    public var streamName: String { StreamName.profile(self).description }
}

/// One payment at one provider: `<method>-<external id>`, e.g. `card-pi_123`, `offline-2026-0042`.
public struct PaymentID: Sendable, Hashable, Codable, Comparable, CustomStringConvertible {
    public let rawValue: String

    public init(method: PaymentMethod, externalID: String) {
        rawValue = "\(method.rawValue)-\(externalID)"
    }

    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public static func < (lhs: PaymentID, rhs: PaymentID) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { rawValue }

    /// The payment's stream name.
    public var streamName: String { StreamName.payment(self).description }
}

/// How money arrived.
public enum PaymentMethod: String, Sendable, Hashable, Codable, CaseIterable {
    case card, paypal, bank, offline
}

/// What a payment is for. Donations never buy a listing.
public enum PaymentPurpose: String, Sendable, Hashable, Codable, CaseIterable {
    case listing, donation
}
