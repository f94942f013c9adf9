public import EventStore
public import Foundation
public import LedgerCore
import Synchronization

/// Receipts and credit notes: every contribution and donation gets a receipt with a number that runs without
/// gaps per calendar year of issue; money a receipt confirmed that later stops counting (refunded, returned,
/// charged back, voided, moved to another profile, its resolution reopened) gets a credit note that refers to
/// it.
///
/// Documents are issued when first asked for (by staff or the website), from the payment's stream as it
/// stands: the documents a payment should have are compared with those it has, and what is missing is
/// appended to the year's stream and the payment's own stream in one append, each expecting its version. An
/// append that loses a race to another instance is decided again, so numbers never repeat and never skip.
public struct ReceiptService: Sendable {
    public let payments: PaymentPipeline
    var store: any EventStore { payments.store }
    /// The last number seen per year in this process: where reading the year's stream starts (it is read on to
    /// its end every time, so another instance's receipts are never missed).
    private let lastSeen = LastSeenNumbers()

    public init(payments: PaymentPipeline) {
        self.payments = payments
    }

    /// Why a payment has no receipt.
    public static func noReceipt(_ paymentID: PaymentID, _ why: String) -> PaymentServiceError {
        PaymentServiceError(code: .paymentNotFound, description: "payment '\(paymentID)' has no receipt: \(why)")
    }

    /// The payment's documents, oldest first, issuing those now due. Throws ``PaymentServiceError`` with
    /// `payment-not-found` when the payment does not exist or has never been a contribution or donation.
    public func documents(for paymentID: PaymentID, metadata: EventMetadata) async throws -> [ReceiptIssued] {
        var attempt = 0
        while true {
            attempt += 1
            // The payment as the books see it: what a dispute took is in its dispute events, not in the payment's
            // state (the only events read twice here; `loadPayment` decoded each one already, so none fails).
            var books = PaymentBooks()
            let payment = try await payments.loadPayment(paymentID) { recorded in
                guard recorded.type == PaymentDisputeUpdated.typeName,
                      let event = try? PaymentEvent.decode(typeName: recorded.type, data: recorded.data) else { return }
                books.evolve(event)
            }
            books.payment = payment
            guard let received = payment.received else { throw Self.noReceipt(paymentID, "no money was received") }
            let issued = try await issuedDocuments(paymentID)
            let now = payments.profiles.now()
            let due = try await dueDocuments(books, received: received, issued: issued, now: now)
            guard !due.isEmpty else {
                guard !issued.isEmpty else { throw Self.noReceipt(paymentID, Self.whyNoReceipt(payment)) }
                return issued
            }
            let year = payments.profiles.policy.calendar.date(at: now).year
            let head = try await headNumber(year: year)
            var numbered: [ReceiptIssued] = []
            for (offset, var document) in due.enumerated() {
                document.year = year
                document.number = head + Int64(offset) + 1
                numbered.append(document)
            }
            let events = try numbered.map { NewEvent(id: .timeOrdered(), type: ReceiptIssued.typeName, data: try $0.encodedData(), metadata: metadata) }
            do {
                _ = try await store.append([
                    StreamAppend(stream: ReceiptIssued.yearStream(year), events: events, expecting: head == 0 ? .noStream : .exact(head)),
                    StreamAppend(
                        stream: ReceiptIssued.paymentStream(paymentID), events: events.map { NewEvent(id: .timeOrdered(), type: $0.type, data: $0.data, metadata: metadata) },
                        expecting: issued.isEmpty ? .noStream : .exact(Int64(issued.count))
                    ),
                ])
                lastSeen.note(year: year, number: head + Int64(numbered.count))
                return issued + numbered
            } catch let error as EventStoreError where error.code == .versionConflict && attempt < 50 {
                // Another request issued a number (of this year) or a document (of this payment) first.
                try await Task.sleep(for: .milliseconds(Int.random(in: 1...(3 * attempt))))
                continue
            }
        }
    }

    /// One document by its printed number, if issued.
    public func document(printedNumber: String) async throws -> ReceiptIssued? {
        guard let (year, number) = ReceiptIssued.parse(printedNumber: printedNumber) else { return nil }
        guard let recorded = try await store.readStream(ReceiptIssued.yearStream(year), fromVersion: number, limit: 1).first,
              recorded.version == number, recorded.type == ReceiptIssued.typeName else { return nil }
        return try ReceiptIssued.decode(recorded.data)
    }

    /// The documents the payment has, oldest first.
    func issuedDocuments(_ paymentID: PaymentID) async throws -> [ReceiptIssued] {
        var documents: [ReceiptIssued] = []
        while true {
            let page = try await store.readStream(ReceiptIssued.paymentStream(paymentID), fromVersion: Int64(documents.count) + 1, limit: 1_000)
            documents += try page.map { try ReceiptIssued.decode($0.data) }
            if page.count < 1_000 { return documents }
        }
    }

    /// The last number issued in `year`: read from where this process last saw the stream, to its end.
    func headNumber(year: Int) async throws -> Int64 {
        var head = lastSeen.number(year: year)
        while true {
            let page = try await store.readStream(ReceiptIssued.yearStream(year), fromVersion: head + 1, limit: 1_000)
            head = page.last?.version ?? head
            if page.count < 1_000 { break }
        }
        lastSeen.note(year: year, number: head)
        return head
    }

    /// The documents the payment should have and lacks: a receipt for money that counts as a contribution or
    /// donation and has none yet, a credit note for money receipted that no longer counts (or counts for
    /// another profile). A payment shared by several profiles gets a receipt for each profile's part. Numbers are
    /// filled in when issued.
    func dueDocuments(_ books: PaymentBooks, received: PaymentReceived, issued: [ReceiptIssued], now: Date) async throws -> [ReceiptIssued] {
        let payment = books.payment
        // What counts, per profile (one entry without a profile for a donation that names none), and as what.
        var counts: [(profile: ProfileID?, minor: Int64)] = []
        var purpose = PaymentPurpose.listing
        switch books.classification {
        case .contributions, .donations:
            purpose = books.classification == .donations ? .donation : .listing
            let shares = purpose == .listing ? books.countingByShare : []
            counts = shares.isEmpty ? [(received.profileID, books.countingMinorUnits)] : shares.map { ($0.profileID, $0.minorUnits) }
        default:
            break
        }
        // What is receipted now, per profile: receipts less credit notes.
        var open: [(receipt: ReceiptIssued, minor: Int64)] = []
        for document in issued {
            switch document.kind {
            case .receipt: open.append((document, document.amount.minorUnits))
            case .creditNote:
                if let index = open.firstIndex(where: { $0.receipt.printedNumber == document.refersTo }) { open[index].minor -= document.amount.minorUnits }
            }
        }
        var due: [ReceiptIssued] = []
        // What counts is kept on the oldest receipts first: the latest ones are credited first, and two receipts
        // of one profile never keep more together than counts.
        var uncovered = Dictionary(counts.map { ($0.profile, $0.minor) }, uniquingKeysWith: { $0.addingSaturated($1) })
        for (receipt, minor) in open where minor > 0 {
            let stillCounts = receipt.purpose == purpose && uncovered[receipt.profileID] != nil
            let keep = stillCounts ? min(minor, uncovered[receipt.profileID] ?? 0) : 0
            if stillCounts { uncovered[receipt.profileID, default: 0] -= keep }
            if keep < minor {
                let reason = Self.creditReason(
                    payment, for: receipt, open: minor, receiptStillCounts: stillCounts, countsAtAll: !counts.isEmpty, perProfile: counts.count > 1
                )
                var note = document(.creditNote, received, profile: receipt.profileID, purpose: receipt.purpose, minor: minor - keep,
                                    refersTo: receipt.printedNumber, reason: reason, period: nil, now: now)
                note.payerName = receipt.payerName
                due.append(note)
            }
        }
        // Money that counts and no open receipt covers (the first receipt; or money counting again after a credit
        // note: a refund that failed, a dispute won, a payment moved back) gets a receipt of its own, per profile.
        for (profile, _) in counts {
            guard let left = uncovered[profile], left > 0 else { continue }
            uncovered[profile] = 0
            var period: (LocalDate, LocalDate)?
            var payer: String?
            if let profileID = profile {
                let state = try await payments.profiles.load(profileID).state
                payer = state.displayName.isEmpty ? nil : state.displayName
                if purpose == .listing {
                    // The days this payment paid for: a renewal's own year, not the whole stretch it extends.
                    // A payment recorded for a day ahead counts from its day: its period is read as of then, or the
                    // receipt issued now would name none, and it is never issued again.
                    let policy = payments.profiles.policy
                    let asOf = max(now, policy.calendar.startOfDay(received.effectiveDate))
                    period = state.paidPeriods(at: asOf, policy: policy).periods
                        .lazy.compactMap { $0.days(paidBy: received.paymentID) }.first.map { ($0.start, $0.lastDay) }
                }
            }
            var receipt = document(.receipt, received, profile: profile, purpose: purpose, minor: left,
                                   refersTo: nil, reason: nil, period: period, now: now)
            receipt.payerName = payer
            due.append(receipt)
        }
        return due
    }

    private func document(
        _ kind: ReceiptKind, _ received: PaymentReceived, profile: ProfileID?, purpose: PaymentPurpose, minor: Int64, refersTo: String?, reason: String?,
        period: (LocalDate, LocalDate)?, now: Date
    ) -> ReceiptIssued {
        ReceiptIssued(
            kind: kind, year: 0, number: 0, paymentID: received.paymentID, refersTo: refersTo, profileID: profile, payerName: nil,
            amount: Money(minorUnits: minor, currency: received.amount.currency), method: received.method, purpose: purpose,
            paymentDate: received.effectiveDate, periodFrom: period?.0, periodThrough: period?.1, reason: reason, occurredAt: now
        )
    }

    /// Why a payment that was received has no document at all.
    static func whyNoReceipt(_ payment: PaymentState) -> String {
        if payment.isWaitingForStaff { return "it waits for a staff decision" }
        if payment.voided != nil { return "it was voided before a receipt was asked for" }
        if payment.returned != nil { return "the bank returned it before a receipt was asked for" }
        if payment.isTakenByDispute { return "a dispute took it back before a receipt was asked for" }
        if payment.isFullyRefunded { return "it was refunded in full before a receipt was asked for" }
        if payment.givenBackByHandInFull != nil { return "staff recorded it as given back in full before a receipt was asked for" }
        return "it is not a contribution or a donation"
    }

    static func givenBackWords(_ kind: ReversalKind) -> String {
        switch kind {
        case .refund, .correction: "refunded"
        case .chargeback: "charged back"
        case .bankReturn: "returned by the bank"
        }
    }

    /// Why `receipt`, of which `open` is not credited yet, is credited now.
    ///
    /// A profile's part moved to another profile is named as moved, also when it still counts in part; a receipt
    /// naming no profile, of a payment that counts for several, is reissued as one receipt per profile (one
    /// issued before receipts were made per profile).
    static func creditReason(
        _ payment: PaymentState, for receipt: ReceiptIssued, open: Int64, receiptStillCounts: Bool, countsAtAll: Bool, perProfile: Bool
    ) -> String {
        if payment.voided == nil, payment.returned == nil, !payment.isTakenByDispute {
            if receipt.profileID == nil, perProfile { return "reissued as one receipt for each profile's part" }
            if let profileID = receipt.profileID, let move = payment.reassignments.last(where: { $0.from == profileID }) {
                let share = payment.listingShares.first { $0.share.profileID == profileID }?.share.amount.minorUnits ?? 0
                if share < open { return "moved to \(move.to): \(move.reason)" }
            }
        }
        return creditReason(payment, receiptStillCounts: receiptStillCounts, countsAtAll: countsAtAll)
    }

    /// Why a receipt is credited. A receipt whose profile and purpose still count shrank: money went back. One
    /// whose profile or purpose no longer counts while the payment still counts was moved (or its resolution
    /// reopened and decided otherwise), whatever part of it was refunded before; one of a payment that no
    /// longer counts at all lost it to whatever took the payment back.
    static func creditReason(_ payment: PaymentState, receiptStillCounts: Bool, countsAtAll: Bool) -> String {
        if let voided = payment.voided { return "voided: \(voided.reason)" }
        if payment.returned != nil { return "returned by the bank" }
        if payment.isTakenByDispute { return "charged back" }
        if let given = payment.standingGivenBackByHand.last(where: { $0.minorUnits > 0 })?.given, receiptStillCounts || payment.givenBackByHandInFull != nil {
            return "\(Self.givenBackWords(given.kind)) (recorded by staff): \(given.reason)"
        }
        if payment.isFullyRefunded || (receiptStillCounts && payment.refundedMinorUnits > 0) { return "refunded" }
        if !receiptStillCounts {
            if countsAtAll, let move = payment.reassignments.last { return "moved to \(move.to): \(move.reason)" }
            if let reopened = payment.reopened.last { return "resolution reopened: \(reopened.reason)" }
        }
        if payment.refundedMinorUnits > 0 { return "refunded" }
        if let move = payment.reassignments.last { return "moved to \(move.to): \(move.reason)" }
        if let reopened = payment.reopened.last { return "resolution reopened: \(reopened.reason)" }
        return "no longer counts"
    }
}

/// The last receipt number seen per year in this process.
final class LastSeenNumbers: Sendable {
    private let numbers = Mutex<[Int: Int64]>([:])

    func number(year: Int) -> Int64 { numbers.withLock { $0[year] ?? 0 } }

    func note(year: Int, number: Int64) {
        numbers.withLock { $0[year] = max($0[year] ?? 0, number) }
    }
}
