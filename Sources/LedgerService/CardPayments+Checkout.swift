import Crypto
public import EventStore
public import Foundation
public import LedgerCore
import Payments

extension CardPayments {
    /// The longest return URL accepted.
    static let urlBytesMax = 2_048

    /// Creates a checkout session at the provider and records the payment we now expect.
    ///
    /// With an idempotency key, a retried request reaches the provider with the same key and gets the same
    /// session back, so a double click never creates two sessions.
    public func startCheckout(_ request: CheckoutRequest, idempotencyKey: String?, metadata: EventMetadata) async throws -> CheckoutStarted {
        guard let client else { throw PaymentServiceError.notConfigured("card checkout (no provider secret key is set)") }
        let profile = try await profiles.load(request.profileID).state
        guard profile.isRegistered else { throw DomainError.profileNotFound(request.profileID.rawValue) }
        let now = profiles.now()
        let amount = try Self.expectedAmount(request, on: profiles.policy.calendar.date(at: now), policy: profiles.policy)
        try Self.checkReturnURLs(request)
        let providerKey = idempotencyKey.map { Self.providerKey("checkout", $0, request: request, amount: amount) }
            ?? "checkout-\(UUID().uuidString.lowercased())"
        let session: CheckoutSession
        do {
            session = try await client.createCheckoutSession(
                CheckoutSessionRequest(
                    reference: CardReference(profileID: request.profileID, purpose: request.purpose), amount: amount,
                    productName: request.purpose == .listing ? "Directory listing contribution" : "Donation",
                    successURL: request.successURL, cancelURL: request.cancelURL
                ),
                idempotencyKey: providerKey
            )
        } catch {
            throw PaymentServiceError(code: .providerFailed, description: "the card provider did not create a checkout: \(error.message)")
        }
        let started = CheckoutStarted(
            method: .card, checkoutID: session.id, profileID: request.profileID, purpose: request.purpose, amount: amount,
            redirectURL: session.url, occurredAt: now
        )
        try await Self.recordCheckout(started, store: store, metadata: metadata)
        return started
    }

    /// Records the payment a checkout expects, once per checkout id (a retried request gets the same one back).
    static func recordCheckout(_ started: CheckoutStarted, store: any EventStore, metadata: EventMetadata) async throws {
        let eventID = ProfileService.eventID(key: started.checkoutID, actor: "checkout", stream: started.streamName, index: 0)
        do {
            _ = try await store.append(
                [NewEvent(id: eventID, type: CheckoutStarted.typeName, data: try started.encodedData(), metadata: metadata)],
                to: started.streamName, expecting: .any
            )
        } catch let error as EventStoreError where error.code == .idempotencyMismatch {
            // Recorded by the first request (its instant differs): the checkout is the same.
        }
    }

    /// The payer comes back to one of these: absolute http(s) URLs of reasonable length.
    static func checkReturnURLs(_ request: CheckoutRequest) throws {
        for (name, url) in [("successUrl", request.successURL), ("cancelUrl", request.cancelURL)] {
            guard url.utf8.count <= Self.urlBytesMax, let parsed = URL(string: url), ["https", "http"].contains(parsed.scheme ?? ""), parsed.host != nil else {
                throw PaymentServiceError(code: .invalidRequest, description: "\(name) must be an absolute http(s) URL of at most \(Self.urlBytesMax) bytes")
            }
        }
    }

    /// A listing costs the tariff's price; a donation is what the donor chose, in euros.
    static func expectedAmount(_ request: CheckoutRequest, on today: LocalDate, policy: ListingPolicy) throws -> Money {
        let price = policy.tariff.entry(on: today).price
        switch request.purpose {
        case .listing:
            guard request.donationAmount == nil else {
                throw PaymentServiceError(code: .invalidRequest, description: "a listing contribution's amount is set by the tariff (\(price)); send no amount")
            }
            return price
        case .donation:
            guard let amount = request.donationAmount else {
                throw PaymentServiceError(code: .invalidRequest, description: "a donation needs an amount")
            }
            guard amount.currency == price.currency else { throw DomainError.currencyMismatch(amount.currency, price.currency) }
            guard amount.minorUnits >= 100 else {
                throw PaymentServiceError(code: .invalidRequest, description: "a donation is at least 1.00 \(price.currency)")
            }
            // The configured limit, which a webhook holds a payment above: the payer is not charged for one.
            if let problem = policy.amountLimitProblem(amount) { throw DomainError.amountOverLimit(problem) }
            return amount
        }
    }

    /// The provider's key for a checkout under the caller's `key`: bound to everything the checkout asks for
    /// (profile, purpose, amount, return URLs), so the same key sent again with another request is another
    /// checkout, where the provider would refuse it.
    static func providerKey(_ prefix: String, _ key: String, request: CheckoutRequest, amount: Money) -> String {
        providerKey(prefix, request.profileID.rawValue, request.purpose.rawValue, amount.description, request.successURL, request.cancelURL, key)
    }

    /// An idempotency key for the provider: the caller's key bound to what it is for, so the same key used
    /// for another purpose never replays a wrong response. Hex, well within the provider's 255 characters.
    static func providerKey(_ parts: String...) -> String {
        let digest = SHA256.hash(data: Data(parts.joined(separator: "\u{0}").utf8))
        return "\(parts[0])-" + digest.lowercaseHex
    }
}

/// A checkout was started: the payment we expect, recorded in `checkout-<method>-<checkout id>`.
public struct CheckoutStarted: Sendable, Hashable, Codable {
    public static let typeName = "CheckoutStarted"
    public var method: PaymentMethod
    public var checkoutID: String
    public var profileID: ProfileID
    public var purpose: PaymentPurpose
    public var amount: Money
    public var redirectURL: String
    public var occurredAt: Date

    public var streamName: String { StreamName.checkout(method: method.rawValue, checkoutID: checkoutID).description }

    func encodedData() throws -> Data {
        try StoredJSON.encode(self)
    }
}

/// What a mediator wants to pay for.
/// Card and PayPal checkouts take the same request.
public struct CheckoutRequest: Sendable {
    public var profileID: ProfileID
    public var purpose: PaymentPurpose
    /// Required for a donation; must be absent for a listing (the tariff sets it).
    public var donationAmount: Money?
    public var successURL: String
    public var cancelURL: String

    public init(profileID: ProfileID, purpose: PaymentPurpose, donationAmount: Money?, successURL: String, cancelURL: String) {
        self.profileID = profileID
        self.purpose = purpose
        self.donationAmount = donationAmount
        self.successURL = successURL
        self.cancelURL = cancelURL
    }
}
