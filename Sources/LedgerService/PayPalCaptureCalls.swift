import EventStore
import Foundation
import LedgerCore
import Payments

/// The capture of an approved PayPal order, called at most once however often it is asked for.
///
/// Each order has a stream, `paypal-capture-<order id>`, recording the call: `PayPalCaptureClaimed` before it
/// is made, then `PayPalCaptureSucceeded`, `PayPalCaptureFailed`, or `PayPalCaptureRefused` when PayPal refused it
/// for a reason asking again with the same approval cannot change (see ``refusesForGood(_:)``). The claim is appended with the stream's
/// version expected, so of any number of concurrent approvals (or a buyer's return racing an approval
/// webhook) exactly one calls PayPal; once one succeeded nobody calls again, and the buyer's return is answered
/// from the record. A failed call may be tried again by the next request, and a claim older than
/// ``leaseSeconds`` (its holder crashed) may be taken over; both repeat the first call's `PayPal-Request-Id`,
/// so PayPal never captures twice. A refusal for good is not asked again by the delivery that met it (the
/// same approval event delivered again); the buyer's return, or a new approval, asks again.
struct PayPalCaptureCalls: Sendable {
    let store: any EventStore
    let client: PayPalClient
    let now: @Sendable () -> Date
    /// How long a claim holds off other callers: a capture makes at most four exchanges, each bounded.
    let leaseSeconds: TimeInterval
    /// The most claims one order may record; past it the order is left to staff.
    static let attemptsMax = 100

    /// What asking for the capture came to.
    enum Outcome: Sendable, Hashable {
        /// The capture, made now or recorded before.
        case captured(PayPalCapture)
        /// PayPal says the order was captured, but not by a call recorded here (e.g. from its dashboard).
        case capturedElsewhere
        /// Another request holds the claim and is calling PayPal now.
        case inFlight
        /// PayPal refused the capture for good when this event (the same causation) asked before.
        case refused(reason: String)
    }

    /// Whether PayPal's refusal of a capture holds for the approval that asked: PayPal declined the buyer's
    /// card or account (422 `INSTRUMENT_DECLINED`), which the buyer changes by approving again, never the same
    /// approval delivered again. Every other refusal may pass (a request still in progress, our credentials, a
    /// proxy's answer, PayPal's failures) and is asked again.
    static func refusesForGood(_ error: PaymentsError) -> Bool {
        error.code == .rejected && error.status == 422 && error.providerCode == "INSTRUMENT_DECLINED"
    }

    static func streamName(_ orderID: String) -> String { StreamName.payPalCapture(orderID: orderID).description }

    /// Captures `orderID` unless it is captured or being captured; throws ``PaymentsError`` when the call
    /// fails (recorded, so the next request may try again).
    func capture(orderID: String, metadata: EventMetadata) async throws -> Outcome {
        try PayPalClient.checkIdentifier(orderID, "order")
        let stream = Self.streamName(orderID)
        var claimedVersion: Int64?
        // A lost race is looked at again: the winner may have finished (or failed) since.
        for _ in 0..<3 {
            let record = try CaptureRecord(try await store.readStream(stream, fromVersion: 1, limit: Self.attemptsMax * 2 + 2))
            if let done = record.outcome(now: now(), leaseSeconds: leaseSeconds, causationID: metadata.causationID) {
                return done
            }
            guard record.claims < Self.attemptsMax else {
                throw PaymentsError(.rejected, "order \(orderID) was tried \(Self.attemptsMax) times; it needs staff")
            }
            do {
                try await append(stream, .claimed(at: now()), expecting: record.version, metadata: metadata)
                claimedVersion = record.version + 1
                break
            } catch let error as EventStoreError where error.code == .versionConflict {
                continue
            }
        }
        guard let claimedVersion else { return .inFlight }
        let result: Result<PayPalCapture, PaymentsError>
        do {
            result = .success(try await client.captureOrder(orderID: orderID, requestID: "capture-\(orderID)"))
        } catch {
            result = .failure(error)
        }
        switch result {
        case .success(let capture):
            try await append(stream, .succeeded(CaptureRecord.Captured(capture)), expecting: claimedVersion, metadata: metadata)
            return .captured(capture)
        case .failure(let error) where error.code == .orderAlreadyCaptured:
            try await append(stream, .capturedElsewhere, expecting: claimedVersion, metadata: metadata)
            return .capturedElsewhere
        case .failure(let error):
            // Recorded so the next request may try at once; if this append fails too, the claim's lease ends it.
            let reason = String(error.message.prefix(500))
            let recorded: CaptureRecord.Event = Self.refusesForGood(error) ? .refused(reason: reason, causationID: metadata.causationID) : .failed(reason: reason)
            try? await append(stream, recorded, expecting: claimedVersion, metadata: metadata)
            throw error
        }
    }

    private func append(_ stream: String, _ event: CaptureRecord.Event, expecting version: Int64, metadata: EventMetadata) async throws {
        let data = try StoredJSON.encode(event)
        _ = try await store.append([StreamAppend(
            stream: stream, events: [NewEvent(id: .timeOrdered(), type: event.typeName, data: data, metadata: metadata)],
            expecting: version == 0 ? .noStream : .exact(version)
        )])
    }
}

/// An order's capture stream, folded.
struct CaptureRecord {
    /// A capture as recorded, enough to answer the buyer's return again.
    struct Captured: Codable, Hashable {
        var captureID: String
        var orderID: String
        var status: String
        var amount: String
        var currency: String
        var customID: String?

        init(_ capture: PayPalCapture) {
            captureID = capture.id
            orderID = capture.orderID
            status = capture.status
            amount = capture.amount.decimalString
            currency = capture.amount.currency
            customID = capture.customID
        }

        var capture: PayPalCapture? {
            guard let money = try? Money(parsing: amount, currency: currency) else { return nil }
            return PayPalCapture(id: captureID, orderID: orderID, status: status, amount: money, customID: customID)
        }
    }

    enum Event: Codable, Hashable {
        case claimed(at: Date)
        case succeeded(Captured)
        case capturedElsewhere
        case failed(reason: String)
        /// PayPal refused for good the call asked for by `causationID` (the approval event's id, when an event asked).
        case refused(reason: String, causationID: String?)

        var typeName: String {
            switch self {
            case .claimed: "PayPalCaptureClaimed"
            case .succeeded: "PayPalCaptureSucceeded"
            case .capturedElsewhere: "PayPalCaptureFoundDone"
            case .failed: "PayPalCaptureFailed"
            case .refused: "PayPalCaptureRefused"
            }
        }
    }

    var version: Int64 = 0
    var claims = 0
    var last: Event?

    init(_ events: [RecordedEvent]) throws {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        for recorded in events {
            let event: Event
            do {
                event = try decoder.decode(Event.self, from: recorded.data)
            } catch {
                throw EventStoreError(.unexpectedRow, "\(recorded.stream) holds a \(recorded.type) this build cannot read", underlying: error)
            }
            if case .claimed = event { claims += 1 }
            last = event
            version = recorded.version
        }
    }

    /// The answer the record already gives to a request caused by `causationID`, or nil when a call may be made now.
    func outcome(now: Date, leaseSeconds: TimeInterval, causationID: String?) -> PayPalCaptureCalls.Outcome? {
        switch last {
        case .succeeded(let captured):
            return captured.capture.map { .captured($0) } ?? .capturedElsewhere
        case .capturedElsewhere:
            return .capturedElsewhere
        case .claimed(let at) where now.timeIntervalSince(at) < leaseSeconds:
            return .inFlight
        case .refused(let reason, let refusedFor) where refusedFor != nil && refusedFor == causationID:
            return .refused(reason: reason)
        case nil, .claimed, .failed, .refused:
            return nil
        }
    }
}
