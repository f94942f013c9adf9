public import EventStore
public import Foundation
public import LedgerCore

/// Staff paying back, by a transfer from the bank account, a bank transfer they decided to pay back (resolved as
/// `refund`); no provider can refund a transfer.
///
/// The transfer back is named by its bank statement line (imported first). The payment's ``PaymentPaidBack`` and
/// the line's claim (``BankLinePaidBack`` in `paid-back-<line key>`, expecting no stream) are one append, so one
/// line pays back one payment at most, and a refused request leaves nothing behind. A transfer back that the payer's
/// bank returned is recorded the same way, by the line of the money coming in (``PaymentPayBackReturned``, claimed in
/// `pay-back-returned-<line key>`): the payment is then owed again and is paid back by another transfer.
extension PaymentPipeline {
    /// The longest line key accepted: the import's keys are SHA-256 digests in hex.
    static let lineKeyLengthMax = 64

    /// The most bank lines offered for paying one payment back.
    public static let payBackLinesMax = 50

    /// Records that the bank line `lineKey` (money going out, of the payment's amount, booked on or after the day
    /// the payment arrived) paid the payment back. Recording it again for the same payment and line changes
    /// nothing.
    public func payBack(paymentID: PaymentID, lineKey: String, note: String, metadata: EventMetadata) async throws -> Outcome {
        let note = try Self.checkedNote(note)
        let line = try await Self.movement(lineKey, in: false, store: store)
        let claim = BankLinePaidBack(lineKey: line.lineKey, paymentID: paymentID, occurredAt: profiles.now())
        return try await recordClaiming(
            line, as: NewEvent(id: .timeOrdered(), type: BankLinePaidBack.typeName, data: try claim.encodedData(), metadata: metadata),
            in: BankLinePaidBack.streamName(lineKey: line.lineKey), paymentID: paymentID, metadata: metadata,
            isDone: { try await self.isPaidBack(paymentID, by: line) }, refuseIfClaimed: { try await self.refuseIfClaimedElsewhere(line, for: paymentID) }
        ) { payment, now, _ in
            guard let received = payment.received else {
                throw PaymentServiceError(code: .paymentNotFound, description: "no received payment '\(paymentID)'")
            }
            if let done = payment.paidBack {
                // Paid back meanwhile by the same request beside this one: its claim makes this append fail.
                guard done.movementLineKey == line.lineKey else {
                    throw PaymentServiceError(code: .notCorrectable, description: "payment '\(paymentID)' was paid back on \(done.paidOn) already, by another bank line")
                }
                return []
            }
            try Self.checkPayable(payment, received, paymentID, line: line)
            return [.paidBack(PaymentPaidBack(
                paymentID: paymentID, amount: received.amount, paidOn: line.bookingDate, movementLineKey: line.lineKey, note: note, occurredAt: now
            ))]
        }
    }

    /// A note of staff's, trimmed; refused past ``ProfileDecider/textBytesMax``.
    private static func checkedNote(_ note: String) throws -> String {
        let note = note.trimmingCharacters(in: .whitespacesAndNewlines)
        guard note.utf8.count <= ProfileDecider.textBytesMax else {
            throw PaymentServiceError(code: .invalidRequest, description: "a note has at most \(ProfileDecider.textBytesMax) bytes")
        }
        return note
    }

    /// Records what `decide` decides on the payment together with `claim`, the claim of `line` in `stream` (expecting
    /// none), so one line serves one payment: nothing when `isDone` (recorded before); `refuseIfClaimed` throws when
    /// another request holds the line. A claim that another request made meanwhile fails the append; the request is
    /// then answered as recorded before, or refused.
    private func recordClaiming(
        _ line: BankMovementRecorded, as claim: NewEvent, in stream: String, paymentID: PaymentID, metadata: EventMetadata,
        isDone: () async throws -> Bool, refuseIfClaimed: () async throws -> Void, decide: Decide
    ) async throws -> Outcome {
        let nothing = Outcome.recorded(paymentEvents: [], profileEvents: [])
        if try await isDone() { return nothing }
        try await refuseIfClaimed()
        do {
            return try await commit(inbox: nil, paymentID: paymentID, metadata: metadata, also: [(stream, claim)], decide: decide)
        } catch let error as EventStoreError where error.code == .versionConflict {
            // The line was claimed meanwhile: by this payment (the same request sent twice at once), or another.
            if try await isDone() { return nothing }
            try await refuseIfClaimed()
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

    /// A conflict when another payment claimed `line`, or this one did by a transfer that came back. (Claimed by this
    /// payment otherwise, it is the same request recorded meanwhile: the append that follows finds it so.)
    private func refuseIfClaimedElsewhere(_ line: BankMovementRecorded, for paymentID: PaymentID) async throws {
        guard let first = try await store.readStream(BankLinePaidBack.streamName(lineKey: line.lineKey), fromVersion: 1, limit: 1).first else { return }
        let claimed = try BankLinePaidBack.decode(first.data)
        guard claimed.paymentID == paymentID else {
            throw PaymentServiceError(code: .notCorrectable, description: "the bank line of \(line.bookingDate) paid back payment '\(claimed.paymentID)' already")
        }
        let cameBack = try await loadPayment(paymentID).payBacksReturned?.contains { $0.paidBack.movementLineKey == line.lineKey } == true
        guard cameBack else { return }
        throw PaymentServiceError(
            code: .notCorrectable,
            description: "the bank line of \(line.bookingDate) paid payment '\(paymentID)' back before, and that transfer came back: name the transfer that sent the money again"
        )
    }

    /// A payment waiting to be paid back by a transfer, with the imported lines that may have sent it back.
    public struct PayBackOffer: Sendable {
        /// The whole amount, which goes back.
        public var due: Money
        /// Lines of money going out of that amount, booked on or after the day it arrived, not used yet.
        public var lines: [BooksQueries.UnusedBankLine]
    }

    /// What a payment's page offers for paying it back: nil unless it is a bank transfer staff decided to pay back
    /// and that is not paid back, returned or voided (the rule ``payBack(paymentID:lineKey:note:metadata:)`` holds
    /// to), else its amount and at most `limit` lines to choose from.
    func payBackOffer(_ payment: PaymentState, books: BooksQueries, limit: Int) async throws -> PayBackOffer? {
        guard let received = payment.received, payment.paidBack == nil, (try? Self.checkToBePaidBack(payment, received, received.paymentID)) != nil else { return nil }
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

    /// Records that the bank line `lineKey` (money coming in, of at most what went out, booked on or after the day
    /// it went out) is the transfer that paid the payment back, come back: the payment is owed to its payer again and
    /// can be paid back by another transfer. Recording it again for the same payment and line changes nothing.
    public func payBackReturned(paymentID: PaymentID, lineKey: String, note: String, metadata: EventMetadata) async throws -> Outcome {
        let note = try Self.checkedNote(note)
        let line = try await Self.movement(lineKey, in: true, store: store)
        let claim = BankLinePayBackReturned(lineKey: line.lineKey, paymentID: paymentID, occurredAt: profiles.now())
        return try await recordClaiming(
            line, as: NewEvent(id: .timeOrdered(), type: BankLinePayBackReturned.typeName, data: try claim.encodedData(), metadata: metadata),
            in: BankLinePayBackReturned.streamName(lineKey: line.lineKey), paymentID: paymentID, metadata: metadata,
            isDone: { try await self.isPayBackReturned(paymentID, by: line) }, refuseIfClaimed: { try await self.refuseIfReturnClaimed(line, for: paymentID) }
        ) { payment, now, _ in
            guard payment.received != nil else {
                throw PaymentServiceError(code: .paymentNotFound, description: "no received payment '\(paymentID)'")
            }
            // Recorded meanwhile by the same request beside this one: its claim makes this append fail.
            if payment.payBacksReturned?.contains(where: { $0.movementLineKey == line.lineKey }) == true { return [] }
            let paidBack = try Self.checkReturnable(payment, paymentID, line: line)
            return [.payBackReturned(PaymentPayBackReturned(
                paymentID: paymentID, amount: line.amount, returnedOn: line.bookingDate, movementLineKey: line.lineKey, paidBack: paidBack,
                note: note, occurredAt: now
            ))]
        }
    }

    /// Whether `line` was recorded as the payment's transfer back come back.
    private func isPayBackReturned(_ paymentID: PaymentID, by line: BankMovementRecorded) async throws -> Bool {
        try await loadPayment(paymentID).payBacksReturned?.contains { $0.movementLineKey == line.lineKey } == true
    }

    /// A conflict when another payment's transfer back came back by `line`. (Claimed by this payment, it is the same
    /// request recorded meanwhile: the append that follows finds it so.)
    private func refuseIfReturnClaimed(_ line: BankMovementRecorded, for paymentID: PaymentID) async throws {
        guard let first = try await store.readStream(BankLinePayBackReturned.streamName(lineKey: line.lineKey), fromVersion: 1, limit: 1).first else { return }
        let claimed = try BankLinePayBackReturned.decode(first.data)
        guard claimed.paymentID != paymentID else { return }
        throw PaymentServiceError(
            code: .notCorrectable, description: "the bank line of \(line.bookingDate) brought back the transfer paying back payment '\(claimed.paymentID)' already"
        )
    }

    /// The pay-back `line` may have brought back: the payment's, if it is paid back by a transfer of at least the
    /// line's amount, in its currency, that went out on or before the line's day.
    private static func checkReturnable(_ payment: PaymentState, _ paymentID: PaymentID, line: BankMovementRecorded) throws -> PaymentPaidBack {
        guard let paidBack = payment.paidBack else {
            throw PaymentServiceError(
                code: .notCorrectable, description: "payment '\(paymentID)' is not paid back by a transfer now: no transfer back of it can have come back"
            )
        }
        guard line.bookingDate >= paidBack.paidOn else {
            throw PaymentServiceError(
                code: .invalidRequest,
                description: "the bank line of \(line.bookingDate) came in before payment '\(paymentID)' was paid back (\(paidBack.paidOn)): it cannot be that transfer coming back"
            )
        }
        guard line.amount.currency == paidBack.amount.currency, line.amount.minorUnits <= paidBack.amount.minorUnits else {
            throw PaymentServiceError(
                code: .invalidRequest,
                description: "the bank line of \(line.bookingDate) brought \(line.amount) in; payment '\(paymentID)' was paid back with \(paidBack.amount), no more can come back"
            )
        }
        return paidBack
    }

    /// A payment paid back by a transfer, with the imported lines of money coming in that may be that transfer come back.
    public struct PayBackReturnOffer: Sendable {
        /// The pay-back that may have come back.
        public var paidBack: PaymentPaidBack
        /// Lines of money coming in of at most its amount, booked on or after the day it went out, not used yet.
        public var lines: [BooksQueries.UnusedBankLine]
    }

    /// What a payment's page offers for recording that its transfer back came back: nil unless it is paid back by a
    /// transfer now, else that pay-back and at most `limit` lines to choose from.
    public func payBackReturnOffer(_ paymentID: PaymentID, books: BooksQueries, limit: Int) async throws -> PayBackReturnOffer? {
        try await payBackReturnOffer(try await loadPayment(paymentID), books: books, limit: limit)
    }

    func payBackReturnOffer(_ payment: PaymentState, books: BooksQueries, limit: Int) async throws -> PayBackReturnOffer? {
        guard let paidBack = payment.paidBack else { return nil }
        return PayBackReturnOffer(paidBack: paidBack, lines: try await books.moneyInReturningPayBack(paidBack.amount, bookedFrom: paidBack.paidOn, limit: limit))
    }

    /// The bank line `lineKey` names, if it is money coming in (`incoming`) or going out. Money going out is a transfer
    /// of ours, or a return of the bank's that matched no payment (the money went back to its payer all the same;
    /// staff trace which payment it was); money coming in is a transfer of ours the bank returned.
    static func movement(_ lineKey: String, in incoming: Bool, store: any EventStore) async throws -> BankMovementRecorded {
        let unknown = PaymentServiceError(
            code: .invalidRequest, description: "no imported bank line of money \(incoming ? "coming in" : "going out") has the key '\(lineKey.prefix(80))'"
        )
        guard (1...lineKeyLengthMax).contains(lineKey.utf8.count), lineKey.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else {
            throw unknown
        }
        let events = try await store.readStream(BankMovementRecorded.streamName(lineKey: lineKey), fromVersion: 1, limit: 1)
        guard let first = events.first, first.type == BankMovementRecorded.typeName else { throw unknown }
        let movement = try BankMovementRecorded.decode(first.data)
        guard movement.isCredit == incoming else { throw unknown }
        return movement
    }
}
