public import EventStore
public import Foundation
public import LedgerCore

/// Staff paying back, by a transfer from the bank account, a bank transfer they decided to pay back (resolved as
/// `refund`); no provider can refund a transfer.
///
/// The transfer back is named by its bank statement line (imported first). The payment's ``PaymentPaidBack`` and
/// the line's claim (``BankLinePaidBack`` in `paid-back-<line key>`, expecting no stream) are one append, so one
/// line pays back one payment at most, and a refused request leaves nothing behind.
extension PaymentPipeline {
    /// The longest line key accepted: the import's keys are SHA-256 digests in hex.
    static let lineKeyLengthMax = 64

    /// The most bank lines offered for paying one payment back.
    public static let payBackLinesMax = 50

    /// Records that the bank line `lineKey` (money going out, of the payment's amount, booked on or after the day
    /// the payment arrived) paid the payment back. Recording it again for the same payment and line changes
    /// nothing.
    public func payBack(paymentID: PaymentID, lineKey: String, note: String, metadata: EventMetadata) async throws -> Outcome {
        let note = note.trimmingCharacters(in: .whitespacesAndNewlines)
        guard note.utf8.count <= ProfileDecider.textBytesMax else {
            throw PaymentServiceError(code: .invalidRequest, description: "a note has at most \(ProfileDecider.textBytesMax) bytes")
        }
        let line = try await Self.moneyOut(lineKey, store: store)
        let nothing = Outcome.recorded(paymentEvents: [], profileEvents: [])
        if try await isPaidBack(paymentID, by: line) { return nothing }
        try await refuseIfClaimedElsewhere(line, for: paymentID)
        let claim = BankLinePaidBack(lineKey: line.lineKey, paymentID: paymentID, occurredAt: profiles.now())
        let claimEvent = NewEvent(id: .timeOrdered(), type: BankLinePaidBack.typeName, data: try claim.encodedData(), metadata: metadata)
        do {
            return try await commit(
                inbox: nil, paymentID: paymentID, metadata: metadata, also: [(BankLinePaidBack.streamName(lineKey: line.lineKey), claimEvent)]
            ) { payment, now, _ in
                guard let received = payment.received else {
                    throw PaymentServiceError(code: .paymentNotFound, description: "no received payment '\(paymentID)'")
                }
                // Paid back meanwhile by a request beside this one: its claim makes this append fail, below.
                if payment.paidBack != nil { return [] }
                try Self.checkPayable(payment, received, paymentID, line: line)
                return [.paidBack(PaymentPaidBack(
                    paymentID: paymentID, amount: received.amount, paidOn: line.bookingDate, movementLineKey: line.lineKey, note: note, occurredAt: now
                ))]
            }
        } catch let error as EventStoreError where error.code == .versionConflict {
            // The line was claimed meanwhile: by this payment (the same request sent twice at once), or another.
            if try await isPaidBack(paymentID, by: line) { return nothing }
            try await refuseIfClaimedElsewhere(line, for: paymentID)
            throw error
        }
    }

    /// Whether the payment was paid back by `line`; a conflict when it was paid back by another line.
    private func isPaidBack(_ paymentID: PaymentID, by line: BankMovementRecorded) async throws -> Bool {
        guard let done = try await loadPayment(paymentID).paidBack else { return false }
        guard done.movementLineKey == line.lineKey else {
            throw PaymentServiceError(code: .notCorrectable, description: "payment '\(paymentID)' was paid back on \(done.paidOn) already, by another bank line")
        }
        return true
    }

    /// A conflict when another payment claimed `line`.
    private func refuseIfClaimedElsewhere(_ line: BankMovementRecorded, for paymentID: PaymentID) async throws {
        guard let first = try await store.readStream(BankLinePaidBack.streamName(lineKey: line.lineKey), fromVersion: 1, limit: 1).first else { return }
        let claimed = try BankLinePaidBack.decode(first.data)
        guard claimed.paymentID == paymentID else {
            throw PaymentServiceError(code: .notCorrectable, description: "the bank line of \(line.bookingDate) paid back payment '\(claimed.paymentID)' already")
        }
    }

    /// A payment waiting to be paid back by a transfer, with the imported lines that may have sent it back.
    public struct PayBackOffer: Sendable {
        /// The whole amount, which goes back.
        public var due: Money
        /// Lines of money going out of that amount, booked on or after the day it arrived, not used yet.
        public var lines: [BooksQueries.MoneyOut]
    }

    /// What a payment's page offers for paying it back: nil unless it is a bank transfer staff decided to pay back
    /// and that is not paid back, returned or voided (the rule ``payBack(paymentID:lineKey:note:metadata:)`` holds
    /// to), else its amount and at most `limit` lines to choose from.
    public func payBackOffer(_ paymentID: PaymentID, books: BooksQueries, limit: Int) async throws -> PayBackOffer? {
        let payment = try await loadPayment(paymentID)
        guard let received = payment.received, payment.paidBack == nil, (try? Self.checkToBePaidBack(payment, received, paymentID)) != nil else { return nil }
        return PayBackOffer(due: received.amount, lines: try await books.moneyOutToPayBack(received.amount, bookedFrom: received.effectiveDate, limit: limit))
    }

    /// Whether `line` may pay the payment back: a bank transfer staff decided to pay back, of the line's amount.
    private static func checkPayable(_ payment: PaymentState, _ received: PaymentReceived, _ paymentID: PaymentID, line: BankMovementRecorded) throws {
        try checkToBePaidBack(payment, received, paymentID)
        guard line.bookingDate >= received.effectiveDate else {
            throw PaymentServiceError(
                code: .invalidRequest,
                description: "the bank line of \(line.bookingDate) went out before payment '\(paymentID)' arrived (\(received.effectiveDate)): it cannot have paid it back"
            )
        }
        guard line.amount == received.amount else {
            throw PaymentServiceError(
                code: .invalidRequest,
                description: "the bank line of \(line.bookingDate) sent \(line.amount) out; payment '\(paymentID)' is \(received.amount), paid back whole"
            )
        }
    }

    /// Throws unless the payment is a bank transfer staff decided to pay back, neither returned nor voided.
    private static func checkToBePaidBack(_ payment: PaymentState, _ received: PaymentReceived, _ paymentID: PaymentID) throws {
        guard received.method == .bank else {
            let how = received.method == .offline ? "void it, or take back what it bought by hand" : "refund it through the provider"
            throw PaymentServiceError(code: .notCorrectable, description: "payment '\(paymentID)' came by \(received.method.rawValue), not by bank transfer: \(how)")
        }
        if let returned = payment.returned {
            let day = returned.bookingDate.map { " on \($0)" } ?? ""
            throw PaymentServiceError(
                code: .notCorrectable, description: "payment '\(paymentID)' was returned to its payer by the bank\(day): nothing is left to pay back"
            )
        }
        guard payment.voided == nil, payment.resolution?.resolution == .refund else {
            throw PaymentServiceError(
                code: .notCorrectable,
                description: "payment '\(paymentID)' is not to be paid back: resolve it as a refund first (\(PaymentListState(payment)?.rawValue ?? "received"))"
            )
        }
    }

    /// The bank line `lineKey` names, if it is money going out: a transfer of ours, or a return of the bank's that
    /// matched no payment (the money went back to its payer all the same; staff trace which payment it was).
    static func moneyOut(_ lineKey: String, store: any EventStore) async throws -> BankMovementRecorded {
        let unknown = PaymentServiceError(code: .invalidRequest, description: "no imported bank line of money going out has the key '\(lineKey.prefix(80))'")
        guard (1...lineKeyLengthMax).contains(lineKey.utf8.count), lineKey.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else {
            throw unknown
        }
        let events = try await store.readStream(BankMovementRecorded.streamName(lineKey: lineKey), fromVersion: 1, limit: 1)
        guard let first = events.first, first.type == BankMovementRecorded.typeName else { throw unknown }
        let movement = try BankMovementRecorded.decode(first.data)
        guard !movement.isCredit else { throw unknown }
        return movement
    }
}
