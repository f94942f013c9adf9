public import EventStore
public import Foundation
public import LedgerCore

/// A payment provider as the service uses it: a checkout where the payer pays, a refund, and a webhook delivery
/// turned into verified facts. The card and PayPal adapters implement it; ``PaymentPipeline/receiveWebhook(from:body:header:requestID:)``
/// takes every provider's deliveries through the same inbox and pipeline.
public protocol PaymentProvider: Sendable {
    /// A delivery's event, verified and read.
    associatedtype Event: Sendable

    /// How money arrives through this provider; also the name of its inbox (`inbox-<method>-<event id>`).
    var method: PaymentMethod { get }

    /// Creates a checkout at the provider and records the payment now expected.
    func startCheckout(_ request: CheckoutRequest, idempotencyKey: String?, metadata: EventMetadata) async throws -> CheckoutStarted

    /// Throws, before anything is recorded, when a refund of `paymentID` cannot be asked of this provider (no
    /// credentials configured, not one of its payments), or not of `amount` (nil: all that remains; PayPal takes
    /// no fraction of a currency it takes in whole units).
    func checkRefundable(_ paymentID: PaymentID, amount: Money?) throws

    /// Asks the provider to give back `wanted` of a payment (`whole`: all that remains), under `key` as the
    /// provider's idempotency key. The payment changes when the provider reports the refund by webhook. Throws
    /// ``RefundCallFailure`` when the provider refuses or gives no usable answer.
    func requestRefund(paymentID: PaymentID, payment: PaymentState, wanted: Money, whole: Bool, key: String) async throws -> RefundRequested

    /// Checks a delivery's signature and reads its event. Throws `PaymentsError` (nothing written) when the
    /// delivery is not the provider's or not an event.
    func verifiedEvent(body: Data, header: (String) -> String?) async throws -> Event

    /// The provider's id and type of the event.
    func identity(of event: Event) -> (id: String, type: String)

    /// Whether the event's facts are acted on only as the provider's API states them (asked only for an event
    /// not recorded before).
    func needsConfirmation(_ event: Event) -> Bool

    /// The event with its facts as the provider's API states them.
    func confirmed(_ event: Event) async throws -> Event

    /// The payment the event concerns and what it says about it.
    func paymentFacts(_ event: Event) -> (PaymentID?, [PaymentFact])

    /// What a recorded event makes the service do at the provider (PayPal: capture an approved order), at most
    /// once per fact however many deliveries of it arrive. Runs for a redelivery too, so a call that failed
    /// before is made when the provider delivers again.
    func afterRecording(_ event: Event, metadata: EventMetadata) async throws
}

extension PaymentProvider {
    public func needsConfirmation(_ event: Event) -> Bool { false }
    public func confirmed(_ event: Event) async throws -> Event { event }
    public func afterRecording(_ event: Event, metadata: EventMetadata) async throws {}
}

extension PaymentPipeline {
    /// Verifies, records and applies one webhook delivery of `provider`: the one path every provider's events
    /// take. Throws `PaymentsError` (nothing written) when the delivery is not acceptable.
    ///
    /// An event whose facts need the provider's confirmation is confirmed only when it is new: a redelivery
    /// is answered from the inbox without calling the provider. What the provider is asked to do because of the
    /// event happens only after the event is on record.
    public func receiveWebhook<Provider: PaymentProvider>(
        from provider: Provider, body: Data, header: (String) -> String?, requestID: String?
    ) async throws -> ProviderWebhookReceipt {
        var event = try await provider.verifiedEvent(body: body, header: header)
        let (eventID, eventType) = provider.identity(of: event)
        let entry = InboxEntry(provider: provider.method.rawValue, eventID: eventID, eventType: eventType, payload: body)
        let metadata = EventMetadata(actor: "provider:\(provider.method.rawValue)", causationID: eventID, requestID: requestID)
        if provider.needsConfirmation(event) {
            if try await isRecorded(entry) {
                return ProviderWebhookReceipt(eventID: eventID, eventType: eventType, duplicate: true, paymentID: nil)
            }
            event = try await provider.confirmed(event)
        }
        let (paymentID, facts) = provider.paymentFacts(event)
        let outcome = try await record(entry, paymentID: paymentID, method: provider.method, facts: facts, metadata: metadata)
        try await provider.afterRecording(event, metadata: metadata)
        return ProviderWebhookReceipt(eventID: eventID, eventType: eventType, duplicate: outcome == .duplicate, paymentID: paymentID)
    }
}
