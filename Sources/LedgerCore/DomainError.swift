/// Everything a command can be refused for. Each case has a stable code the HTTP layer maps to a status.
public enum DomainError: Error, Sendable, Hashable, CustomStringConvertible {
    case invalidAmount(String)
    case currencyMismatch(String, String)
    case invalidArgument(String)
    case profileNotFound(String)
    case profileAlreadyRegistered(String)
    case invalidCertificationChange(String)
    case waiverNotFound(String)
    case invalidDateRange(String)
    case paymentAlreadyAllocated(String)
    case allocationNotFound(String)
    /// A date, instant, period or count outside the ledger's bounds (``LedgerBounds``).
    case outOfBounds(String)
    /// An amount above the configured ceiling for one payment.
    case amountOverLimit(String)

    /// A stable, machine-readable code.
    public var code: String {
        switch self {
        case .invalidAmount: "invalid-amount"
        case .currencyMismatch: "currency-mismatch"
        case .invalidArgument: "invalid-argument"
        case .profileNotFound: "profile-not-found"
        case .profileAlreadyRegistered: "profile-already-registered"
        case .invalidCertificationChange: "invalid-certification-change"
        case .waiverNotFound: "waiver-not-found"
        case .invalidDateRange: "invalid-date-range"
        case .paymentAlreadyAllocated: "payment-already-allocated"
        case .allocationNotFound: "allocation-not-found"
        case .outOfBounds: "out-of-bounds"
        case .amountOverLimit: "amount-over-limit"
        }
    }

    public var description: String {
        switch self {
        case .invalidAmount(let detail): "invalid amount: \(detail)"
        case .currencyMismatch(let left, let right): "cannot combine \(left) with \(right)"
        case .invalidArgument(let detail): detail
        case .profileNotFound(let id): "no profile '\(id)'"
        case .profileAlreadyRegistered(let id): "profile '\(id)' is registered already"
        case .invalidCertificationChange(let detail): detail
        case .waiverNotFound(let id): "no waiver '\(id)' on this profile"
        case .invalidDateRange(let detail): detail
        case .paymentAlreadyAllocated(let id): "payment '\(id)' is allocated already"
        case .allocationNotFound(let id): "payment '\(id)' is not allocated to this profile"
        case .outOfBounds(let detail): detail
        case .amountOverLimit(let detail): detail
        }
    }
}
