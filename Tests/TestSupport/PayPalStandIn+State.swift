import Foundation
import LedgerCore

extension PayPalStandIn {
    /// Everything the stand-in remembers, behind one lock.
    struct State {
        /// The running server, once started.
        var server: LoopbackServer?
        var idCounter = 0
        var tokenRequestCount = 0
        /// Capture requests received, replays and refusals included.
        var captureRequestCount = 0
        /// Resource reads (`GET` of captures, refunds and disputes) received.
        var resourceReadCount = 0
        var certificateRequestCount = 0
        /// Access tokens issued, with when each expires.
        var tokens: [String: Date] = [:]
        var orders: [String: OrderRecord] = [:]
        var orderSequence: [String] = []
        var captures: [String: CaptureRecord] = [:]
        var refunds: [String: RefundRecord] = [:]
        var apiRefunds: [String] = []
        var disputes: [String: DisputeRecord] = [:]
        var certificates: [String: String] = [:]
        var captureStatus = "COMPLETED"
        /// Answers kept for replay, by path and `PayPal-Request-Id`.
        var idempotentResponses: [String: StoredAnswer] = [:]

        /// A PayPal-looking id: 17 upper-case letters and digits, unique in this stand-in.
        mutating func nextID() -> String {
            idCounter += 1
            let alphabet = Array("ABCDEFGHJKLMNPRSTUVWXY0123456789")
            let random = (0..<11).map { _ in alphabet.randomElement()! }
            let counter = String(idCounter)
            return String(random) + String(repeating: "0", count: max(0, 6 - counter.count)) + counter
        }

        /// Refunds `minorUnits` of a capture, in its currency, and returns the refund.
        mutating func addRefund(of minorUnits: Int64, to capture: CaptureRecord, createTime: Date) -> RefundRecord {
            let refund = RefundRecord(
                id: nextID(),
                captureID: capture.id,
                amount: Money(minorUnits: minorUnits, currency: capture.amount.currency),
                createTime: createTime
            )
            refunds[refund.id] = refund
            captures[capture.id]?.refundIDs.append(refund.id)
            return refund
        }
    }

    /// An order created through the API.
    struct OrderRecord {
        var id: String
        var amount: Money
        var customID: String?
        var invoiceID: String?
        var returnURL: String?
        var cancelURL: String?
        var requestID: String?
        var createTime: Date
        var approved = false
        /// Set by ``PayPalStandIn/declineInstrument(ofOrder:)``: the capture is refused until the buyer approves again.
        var instrumentDeclined = false
        var captureID: String?
    }

    /// A capture of an approved order.
    struct CaptureRecord {
        var id: String
        var orderID: String
        var amount: Money
        var customID: String?
        var invoiceID: String?
        var status: String
        var createTime: Date
        var refundIDs: [String] = []
    }

    /// A refund or reversal of a capture.
    struct RefundRecord {
        var id: String
        var captureID: String
        var amount: Money
        var createTime: Date
    }

    /// A buyer's dispute of a capture, as its latest event left it.
    struct DisputeRecord {
        var id: String
        var captureID: String
        var amount: Money
        var status: String
        var outcome: String?
        var createTime: Date
        /// When the dispute last changed: its `update_time`.
        var updateTime: Date
    }

    /// An answer kept for idempotent replay.
    struct StoredAnswer {
        var status: Int
        var body: Data
    }
}

extension PayPalStandIn.CaptureRecord {
    func refundedMinorUnits(in refunds: [String: PayPalStandIn.RefundRecord]) -> Int64 {
        refundIDs.compactMap { refunds[$0]?.amount.minorUnits }.reduce(0, +)
    }
}
