import EventStore
import Payments

/// An error from the store or a provider adapter, described for whoever answers the caller: what kind of
/// failure it is, a stable code, a title and a detail for people. The HTTP layer turns it into a problem
/// without knowing the store's or the adapters' types.
public struct ServiceFailure: Sendable, Hashable {
    /// What kind of failure, which decides the answer's status.
    public enum Kind: Sendable, Hashable {
        /// The request itself is wrong (a forged or malformed webhook, a malformed argument).
        case badRequest
        /// Something changed concurrently, or an idempotency key was reused with other content.
        case conflict
        /// A limit was exceeded.
        case tooLarge
        /// The input is well-formed but cannot be accepted (a statement that cannot be read).
        case unprocessable
        /// A dependency (the database, a certificate host) cannot be used now; retrying later may work.
        case unavailable
        /// A defect of ours: the details go to the log, not to the caller.
        case defect
    }

    public var kind: Kind
    /// A stable, kebab-case code, e.g. `database-unavailable`.
    public var code: String
    public var title: String
    public var detail: String
    /// Whether the failure is worth an error in the log (the database is down, a defect).
    public var isLogged: Bool

    init(_ kind: Kind, _ code: String, title: String, detail: String, isLogged: Bool = false) {
        self.kind = kind
        self.code = code
        self.title = title
        self.detail = detail
        self.isLogged = isLogged
    }

    /// The description of a store or adapter error; nil for any other error.
    public static func describing(_ error: any Error) -> ServiceFailure? {
        switch error {
        case let error as EventStoreError:
            return describing(error)
        case let error as PaymentsError:
            return describing(error)
        default:
            return nil
        }
    }

    /// Webhooks refused and statements rejected; provider calls, form bodies and QR codes are answered where
    /// they are made.
    private static func describing(_ error: PaymentsError) -> ServiceFailure? {
        switch error.code.family {
        case .webhook:
            if error.code == .certificateUnavailable {
                // Not the sender's fault: PayPal retries, and the certificate may be reachable then.
                return ServiceFailure(.unavailable, "certificate-unavailable", title: "Webhook not verified yet", detail: error.message)
            }
            let code = switch error.code {
            case .malformedEvent: "malformed-event"
            case .transmissionReused: "transmission-reused"
            case .unknownResource: "unknown-resource"
            default: "invalid-signature"
            }
            return ServiceFailure(.badRequest, code, title: "Webhook rejected", detail: error.message)
        case .statement:
            return ServiceFailure(.unprocessable, "statement-rejected", title: "Statement rejected", detail: "\(error.message); nothing was imported")
        case .providerCall, .form, .qrCode:
            return nil
        }
    }

    private static func describing(_ error: EventStoreError) -> ServiceFailure {
        switch error.code {
        case .versionConflict:
            ServiceFailure(.conflict, "conflict", title: "Concurrent change", detail: "the record changed while this request was handled; retry it")
        case .idempotencyMismatch:
            ServiceFailure(.conflict, "idempotency-mismatch", title: "Idempotency key reused", detail: error.message)
        case .limitExceeded:
            ServiceFailure(.tooLarge, "limit-exceeded", title: "Limit exceeded", detail: error.message)
        case .invalidArgument:
            ServiceFailure(.badRequest, "bad-request", title: "The request is malformed", detail: error.message)
        case .unexpectedRow:
            ServiceFailure(.defect, "internal-error", title: "Internal error", detail: error.description, isLogged: true)
        case .unavailable, .migration, .configuration:
            ServiceFailure(
                .unavailable, "database-unavailable", title: "Database unavailable", detail: "the database cannot be used right now; retry later",
                isLogged: true
            )
        }
    }
}
