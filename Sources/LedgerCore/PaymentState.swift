public import Foundation

/// One payment's state: the fold of its stream.
public struct PaymentState: Sendable, Hashable, Codable {
    public var version: Int64 = 0
    public var received: PaymentReceived?
    public var pending: PaymentPending?
    public var failed: PaymentFailed?
    /// The running refund total recorded last (the provider's latest figure; the highest one, for totals
    /// recorded before their time was kept), in minor units.
    public var cumulativeRefundMinorUnits: Int64 = 0
    /// When the provider gave that total (for a total recorded before its time was kept, when it was recorded).
    /// Optional so that states kept before it still read.
    public var cumulativeRefundAsOf: Date?
    /// The currency of that total. Optional so that states kept before it still read (their total counts).
    public var cumulativeRefundCurrency: String?
    /// Running totals reported before the payment was known in other currencies than that one, the latest per
    /// currency: whichever currency the payment turns out to have, its own total is kept. Optional so that
    /// states kept before them still read.
    public var otherCurrencyRefundTotals: [String: PaymentRefundReported]?
    /// Single refunds by provider id, with their last status.
    public var refunds: [String: PaymentRefundReported] = [:]
    public var refundRequests: [PaymentRefundRequested] = []
    /// The provider's answers to refund requests, by request key, the last one each. Optional so that states
    /// kept before answers were recorded still read.
    public var refundAnswers: [String: PaymentRefundAnswered]?
    /// Phases seen per dispute id.
    public var disputes: [String: Set<DisputePhase>] = [:]
    /// The provider's times per dispute id, where it gave them. Optional so that states kept before them still
    /// read.
    public var disputeTimes: [String: DisputeTimes]?
    public var held: PaymentHeld?
    public var returned: PaymentReturned?
    public var resolution: PaymentHoldResolved?
    /// Resolutions reopened by staff, oldest first.
    public var reopened: [PaymentResolutionReopened] = []
    public var voided: PaymentVoided?
    /// Moves from one profile to another since the payment was last allocated (a reopened resolution clears them).
    public var reassignments: [PaymentReassigned] = []
    /// Staff paid it back outside any provider.
    public var paidBack: PaymentPaidBack?
    /// Transfers that paid it back and came back, oldest first (each holds the pay-back it undid). Optional so that
    /// states kept before it still read.
    public var payBacksReturned: [PaymentPayBackReturned]?
    /// What staff recorded as given back by hand (reversals by hand), oldest first: one per profile at most, but for
    /// a chargeback recorded again after a won dispute undid the last.
    /// Optional so that states kept before it still read.
    public var givenBackByHand: [PaymentGivenBackByHand]?

    public init() {}

    /// Applies one event.
    public mutating func evolve(_ event: PaymentEvent) {
        version += 1
        switch event {
        case .received(let event): received = event
        case .pending(let event): pending = event
        case .failed(let event): failed = event
        case .refundReported(let report):
            guard changes(with: report) else { break }
            if report.cumulative {
                // A total recorded before its time was kept is dated when it was recorded: just after the provider
                // gave it, which orders it well enough against a failure the provider reports later.
                let asOf = report.asOf ?? report.occurredAt
                if let currency = cumulativeRefundCurrency, currency != report.amount.currency {
                    var report = report
                    report.asOf = asOf
                    otherCurrencyRefundTotals = (otherCurrencyRefundTotals ?? [:]).merging([report.amount.currency: report]) { $1 }
                } else {
                    cumulativeRefundMinorUnits = report.amount.minorUnits
                    cumulativeRefundCurrency = report.amount.currency
                    cumulativeRefundAsOf = asOf
                }
            } else if let key = refundKey(report) {
                // Dated from when the refund was first reported: a later status does not make it a newer refund.
                var report = report
                if let first = refunds[key] {
                    report.occurredAt = first.occurredAt
                    report.madeAt = report.madeAt ?? first.madeAt
                }
                refunds[key] = report
            }
        case .refundRequested(let request): refundRequests.append(request)
        case .refundAnswered(let answer):
            // The provider took it: a later answer to the same key (a second send met by "key in use", say) does
            // not undo that.
            var answers = refundAnswers ?? [:]
            if answers[answer.requestKey]?.outcome != .accepted { answers[answer.requestKey] = answer }
            refundAnswers = answers
        case .disputeUpdated(let update):
            disputes[update.disputeID, default: []].insert(update.phase)
            if update.openedAt != nil || update.asOf != nil {
                var times = disputeTimes ?? [:]
                times[update.disputeID, default: DisputeTimes()].note(update)
                disputeTimes = times
            }
        case .held(let hold): held = hold
        case .returned(let event): returned = event
        case .holdResolved(let event): resolution = event
        case .voided(let event): voided = event
        case .reassigned(let event): reassignments.append(event)
        case .resolutionReopened(let event):
            reopened.append(event)
            resolution = nil
            reassignments = []
        case .paidBack(let event): paidBack = event
        case .payBackReturned(let event):
            // Owed to the payer again: the next transfer back is a pay-back of its own.
            guard paidBack?.movementLineKey == event.paidBack.movementLineKey else { break }
            paidBack = nil
            payBacksReturned = (payBacksReturned ?? []) + [event]
        case .givenBackByHand(let event):
            // One per profile, but for another once a dispute won undid the last (the payer charged back again); the
            // last one recorded is the one that can stand (see ``standingGivenBackByHand``).
            if let last = givenBackByHand(for: event.profileID), !isUndone(last) { break }
            givenBackByHand = (givenBackByHand ?? []) + [event]
        }
    }

    /// Folds a whole stream.
    public static func fold(_ events: some Sequence<PaymentEvent>) -> PaymentState {
        var state = PaymentState()
        for event in events { state.evolve(event) }
        return state
    }

    /// Whether `report` changes the payment: a running total the provider gave later than the one recorded
    /// (or, without times, a higher one); a single refund's new status, unless the provider said it before the
    /// status recorded, or the refund failed already (a failed refund stays failed: its money came back).
    ///
    /// Reports recorded before their time was kept (no `asOf`) are taken as they were then: the highest total,
    /// a refund's last status.
    public func changes(with report: PaymentRefundReported) -> Bool {
        // Money in another currency than the payment's is not this payment's to give back: nothing to record.
        guard isInPaymentCurrency(report.amount.currency) else { return false }
        if report.cumulative {
            // Compared with the total recorded in the same currency (totals in two currencies, both reported
            // before the payment was known, are kept apart).
            let (total, totalAsOf) = cumulativeTotal(in: report.amount.currency)
            if let asOf = report.asOf, let recorded = totalAsOf {
                return asOf > recorded || (asOf == recorded && report.amount.minorUnits > total)
            }
            return report.amount.minorUnits > total
        }
        guard let key = refundKey(report) else { return false }
        guard let known = refunds[key] else { return true }
        guard known.status != report.status else { return false }
        guard let asOf = report.asOf else { return true }
        guard known.status != .failed else { return false }
        guard let knownAsOf = known.asOf else { return true }
        // Within one second (the provider's times are whole seconds) a refund only moves on: pending, then
        // succeeded, then failed.
        return asOf > knownAsOf || (asOf == knownAsOf && report.status.rank > known.status.rank)
    }

    /// The running total that still stands, in minor units: the provider's latest total, less the refunds in it
    /// that the provider reported failed since giving it (made before it, failed at or after it: their money came
    /// back; a total is sent when a refund is made, so one of the same second as a failure still counted it). A
    /// total given after the failure counts them no more by itself.
    public var standingCumulativeRefundMinorUnits: Int64 {
        // The total in the payment's currency; one in another currency never counts.
        let (total, asOf) = received.map { cumulativeTotal(in: $0.amount.currency) } ?? (cumulativeRefundMinorUnits, cumulativeRefundAsOf)
        guard let totalAsOf = asOf else { return total }
        let failedSince = countedRefunds.reduce(Int64(0)) { sum, refund in
            guard refund.status == .failed, let failedAt = refund.asOf, failedAt >= totalAsOf, (refund.madeAt ?? .distantPast) <= totalAsOf else { return sum }
            return sum.addingSaturated(max(0, refund.amount.minorUnits))
        }
        return max(0, total - min(total, failedSince))
    }

    /// The running total recorded in `currency` and when the provider gave it: nothing (0) when none was. A
    /// total kept before its currency was recorded is taken to be in any currency asked for.
    private func cumulativeTotal(in currency: String) -> (minorUnits: Int64, asOf: Date?) {
        if cumulativeRefundCurrency == nil || cumulativeRefundCurrency == currency { return (cumulativeRefundMinorUnits, cumulativeRefundAsOf) }
        guard let other = otherCurrencyRefundTotals?[currency] else { return (0, nil) }
        return (other.amount.minorUnits, other.asOf ?? other.occurredAt)
    }

    /// Where a single refund is kept: under its provider id, or, when a report of that id in another currency
    /// is kept there already (both before the payment was known), under the id and its currency, so neither
    /// takes the other's place.
    private func refundKey(_ report: PaymentRefundReported) -> String? {
        guard let refundID = report.refundID else { return nil }
        guard let known = refunds[refundID], known.amount.currency != report.amount.currency else { return refundID }
        return refundID + " " + report.amount.currency
    }

    /// Whether money in `currency` can be this payment's: any, until the payment itself is known.
    private func isInPaymentCurrency(_ currency: String) -> Bool {
        received.map { $0.amount.currency == currency } ?? true
    }

    /// The single refunds that count: those in the payment's currency. One in another currency (no provider
    /// refunds in another currency than the payment's) is recorded and never counted.
    private var countedRefunds: [PaymentRefundReported] {
        refunds.values.filter { isInPaymentCurrency($0.amount.currency) }
    }

    /// At most what arrived: no report, however wrong, gives back more than the payment brought.
    private func capped(_ minorUnits: Int64) -> Int64 {
        received.map { min(minorUnits, max(0, $0.amount.minorUnits)) } ?? minorUnits
    }

    /// Money given back so far, in minor units: whichever way the provider reported saw more, and what staff
    /// paid back themselves (a payment no provider can refund).
    public var refundedMinorUnits: Int64 { capped(refundedByProviderMinorUnits.addingSaturated(paidBackMinorUnits)) }

    /// Money refunded so far, as staff see it: ``refundedMinorUnits`` and the refunds staff recorded by hand.
    public var refundedInAllMinorUnits: Int64 {
        capped(refundedMinorUnits.addingSaturated(givenBackByHandMinorUnits([.refund])))
    }

    /// What reports of the provider or bank took back so far, in minor units (at most what arrived): refunds,
    /// money staff paid back against a statement line, all of it once the bank returned it or a dispute took it.
    public var reportedTakenMinorUnits: Int64 {
        guard let received else { return 0 }
        if returned != nil || isTakenByDispute { return max(0, received.amount.minorUnits) }
        return refundedMinorUnits
    }

    /// What reports took back and what was asked of the provider so far, in minor units (at most what arrived): what
    /// a reversal by hand recorded now cannot also have given back.
    public var takenOrAskedMinorUnits: Int64 {
        capped(max(reportedTakenMinorUnits, refundTakenMinorUnits, requestedRefundMinorUnits))
    }

    /// How many of the payment's disputes (as judged) ended with the money back with us.
    public var restoredDisputeCount: Int { judgedDisputes.filter { Self.isRestored($0.phases) }.count }

    /// Whether a part given back by hand no longer stands: a chargeback recorded by hand ends when a dispute ends
    /// with the money back with us after it was recorded.
    public func isUndone(_ given: PaymentGivenBackByHand) -> Bool {
        given.kind == .chargeback && restoredDisputeCount > given.restoredDisputesBefore
    }

    /// The first reversal by hand that gave money back (not only the listing): a payment staff recorded offline
    /// cannot be voided after one.
    public var givenBackByHandWithMoney: PaymentGivenBackByHand? {
        givenBackByHand?.first { $0.amount.minorUnits > 0 }
    }

    /// What staff recorded last as given back by hand for `profileID`, if they did (undone or not: see ``isUndone(_:)``).
    public func givenBackByHand(for profileID: ProfileID) -> PaymentGivenBackByHand? {
        givenBackByHand?.last { $0.profileID == profileID }
    }

    /// What staff recorded last as given back by hand for `profileID` if a won dispute did not undo it.
    public func givenBackByHandNotUndone(for profileID: ProfileID) -> PaymentGivenBackByHand? {
        givenBackByHand(for: profileID).flatMap { isUndone($0) ? nil : $0 }
    }

    /// The parts given back by hand that can stand: each profile's last, unless a won dispute undid it. (An earlier
    /// one of a profile was undone when the next was recorded, and stays so even if the disputes are later judged
    /// otherwise.)
    private var livingGivenBackByHand: [PaymentGivenBackByHand] {
        guard let entries = givenBackByHand else { return [] }
        return entries.filter { given in !isUndone(given) && givenBackByHand(for: given.profileID) == given }
    }

    /// The parts staff recorded as given back by hand, oldest first, each with what of it stands, in minor units:
    /// what reports took back after a part was recorded is the same money, so it no longer stands (a report covers
    /// only parts recorded before it, oldest first), and all of them together never give back more than reports
    /// left.
    public var standingGivenBackByHand: [(given: PaymentGivenBackByHand, minorUnits: Int64)] {
        guard let received, let entries = givenBackByHand, !entries.isEmpty else { return [] }
        let reported = reportedTakenMinorUnits
        // The parts that can stand (reports after a part a dispute undid are not the same money as it), oldest first.
        let counted = livingGivenBackByHand.filter { isInPaymentCurrency($0.amount.currency) }
        // What reports took back since each part was recorded, never more than since an earlier part. Refunds staff
        // asked of the provider through the ledger afterwards are other money: the ledger asks only for what was not
        // given back.
        var since: [Int64] = []
        for given in counted {
            let taken = max(0, reported - given.reportedBeforeMinorUnits)
            let other = taken - min(taken, requestedRefundMinorUnits(since: given.occurredAt))
            since.append(min(other, since.last ?? other))
        }
        // The reports between one part and the next cover the parts recorded so far, oldest first.
        var uncovered: [Int64] = []
        for index in counted.indices {
            uncovered.append(max(0, counted[index].amount.minorUnits))
            var reports = since[index] - (index + 1 < since.count ? since[index + 1] : 0)
            for earlier in uncovered.indices where reports > 0 {
                let covered = min(uncovered[earlier], reports)
                uncovered[earlier] -= covered
                reports -= covered
            }
        }
        var room = max(0, received.amount.minorUnits - reported)
        var standing: [PaymentGivenBackByHand: Int64] = [:]
        for (index, given) in counted.enumerated() {
            let amount = min(uncovered[index], room)
            room -= amount
            standing[given] = amount
        }
        return entries.map { ($0, standing[$0] ?? 0) }
    }

    /// Money staff recorded as given back by hand as one of `kinds` that stands, in minor units.
    public func givenBackByHandMinorUnits(_ kinds: Set<ReversalKind> = [.refund, .chargeback, .bankReturn]) -> Int64 {
        standingGivenBackByHand.filter { kinds.contains($0.given.kind) }.reduce(Int64(0)) { $0.addingSaturated($1.minorUnits) }
    }

    /// How the money went back when all of it did and some went back by hand: the kind of the last part staff
    /// recorded that stands.
    public var givenBackByHandInFull: ReversalKind? {
        guard let received, received.amount.minorUnits > 0 else { return nil }
        let byHand = givenBackByHandMinorUnits()
        guard byHand > 0, reportedTakenMinorUnits.addingSaturated(byHand) >= received.amount.minorUnits else { return nil }
        return standingGivenBackByHand.last { $0.minorUnits > 0 }?.given.kind
    }

    /// Money the provider gave back, in minor units: whichever way of reporting saw more.
    public var refundedByProviderMinorUnits: Int64 {
        // Saturating, for refunds recorded before provider amounts were bounded where they enter.
        let single = countedRefunds.filter { $0.status == .succeeded }.reduce(Int64(0)) { $0.addingSaturated($1.amount.minorUnits) }
        return capped(max(standingCumulativeRefundMinorUnits, single))
    }

    /// What staff paid back themselves, in minor units.
    public var paidBackMinorUnits: Int64 { max(0, paidBack?.amount.minorUnits ?? 0) }

    /// The provider's last answer to the refund request recorded under `requestKey`.
    public func refundAnswer(_ requestKey: String?) -> PaymentRefundAnswered? {
        requestKey.flatMap { refundAnswers?[$0] }
    }

    /// The provider's refund id for a request: from its answer, or recorded with the request itself.
    public func refundID(of request: PaymentRefundRequested) -> String? {
        request.refundID ?? refundAnswer(request.requestKey)?.refundID
    }

    /// Money asked back so far, in minor units: every request the provider did not refuse and staff did not
    /// close, at the amount the provider accepted (or the request's own), except those whose refund the
    /// provider reported failed. A
    /// request without an answer counts however old it is: whether the provider made it is unknown, so its money
    /// stays reserved until the provider reports the refund (which ``refundTakenMinorUnits`` counts instead).
    public var requestedRefundMinorUnits: Int64 { requestedRefundMinorUnits(since: .distantPast) }

    /// Money asked back, as ``requestedRefundMinorUnits`` counts it, by requests recorded at `start` or later.
    public func requestedRefundMinorUnits(since start: Date) -> Int64 {
        refundRequests.filter { $0.occurredAt >= start }.reduce(Int64(0)) { sum, request in
            let answer = refundAnswer(request.requestKey)
            guard answer?.outcome != .refused, answer?.outcome != .closed else { return sum }
            if let refundID = refundID(of: request), refunds[refundID]?.status == .failed { return sum }
            return sum &+ (answer?.amount ?? request.amount).minorUnits
        }
    }

    /// Money the provider reported given back or on its way, in minor units: the highest running total, or the
    /// single refunds that did not fail (pending ones included), whichever is more.
    public var refundTakenMinorUnits: Int64 {
        let single = countedRefunds.filter { $0.status != .failed }.reduce(Int64(0)) { $0.addingSaturated($1.amount.minorUnits) }
        return capped(max(standingCumulativeRefundMinorUnits, single))
    }

    /// The refund requests with a key that the provider has not accepted or refused, newest last.
    public var unansweredRefundRequests: [PaymentRefundRequested] {
        refundRequests.filter { request in
            request.requestKey != nil && request.refundID == nil && [nil, .unanswered].contains(refundAnswer(request.requestKey)?.outcome)
        }
    }

    /// The latest refund request with a key, recorded at `cutoff` or later, that the provider has not accepted or
    /// refused yet.
    public func openRefundRequest(recordedSince cutoff: Date) -> PaymentRefundRequested? {
        unansweredRefundRequests.last { $0.occurredAt >= cutoff }
    }

    /// A single refund the provider reported after `request` was recorded, of its amount, that no request holds
    /// as its own yet: what the request made when its answer was lost.
    public func reportedRefund(matching request: PaymentRefundRequested) -> PaymentRefundReported? {
        let held = Set(refundRequests.compactMap { refundID(of: $0) })
        return refunds.values
            .filter { report in
                report.refundID.map { !held.contains($0) } == true && report.amount == request.amount && report.occurredAt >= request.occurredAt
                    && report.status != .failed
            }
            .min { ($0.occurredAt, $0.refundID ?? "") < ($1.occurredAt, $1.refundID ?? "") }
    }

    /// Whether every cent received was given back.
    public var isFullyRefunded: Bool {
        guard let received else { return false }
        return refundedMinorUnits >= received.amount.minorUnits
    }

    /// Whether a dispute has taken the money (withdrawn or lost, and not since returned or won). Phases are
    /// judged as a set, so a dispute's events may arrive in any order.
    public var isTakenByDispute: Bool {
        judgedDisputes.contains { Self.isTaken($0.phases) }
    }

    /// Whether some dispute ended with the money back with us.
    public var hasDisputeRestored: Bool {
        judgedDisputes.contains { Self.isRestored($0.phases) }
    }

    /// The payment's disputes as they are judged: each on its own, except a PayPal payment's reversals.
    ///
    /// PayPal reports a chargeback's reversal (`PAYMENT.CAPTURE.REVERSED`) as a refund of the capture, recorded
    /// under the refund's id as funds withdrawn, and the dispute that decides it under the dispute's own id;
    /// neither names the other, only the capture. So a reversal is judged with a dispute of the capture, by
    /// PayPal's times: of those not already won when it was made, the latest opened at or before it, or else
    /// the first opened within ``reversalLead`` after it (PayPal does not promise which of the two it dates
    /// first). The dispute lost is the same money as its reversals; the dispute won undoes them. A reversal with
    /// no such dispute stands on its own until one is known.
    ///
    /// A PayPal payment with disputes recorded before PayPal's times were kept (they carry none) has them judged
    /// as one, as they were then: any of them won undoes the others.
    public var judgedDisputes: [JudgedDispute] {
        guard received?.paymentID.method == .paypal, disputes.count > 1 else {
            return disputes.keys.sorted().map { JudgedDispute(ids: [$0], phases: disputes[$0] ?? []) }
        }
        // Times are kept only for ids whose events carried them (both are set by the same event).
        let opened = disputeTimes?.compactMapValues(\.openedAt) ?? [:]
        guard opened.count == disputes.count else {
            return [JudgedDispute(ids: disputes.keys.sorted(), phases: disputes.values.reduce(into: Set<DisputePhase>()) { $0.formUnion($1) })]
        }
        let isReversal = { (id: String) in self.disputes[id]?.contains(.fundsWithdrawn) == true }
        var judged = disputes.keys.filter { !isReversal($0) }.sorted().map { JudgedDispute(ids: [$0], phases: disputes[$0] ?? []) }
        // Each entry of `judged` holds one dispute id until reversals join it; judged by its opening, then its id.
        let order = judged.map { (opened[$0.ids[0]] ?? .distantPast, $0.ids[0]) }
        var alone: [JudgedDispute] = []
        for reversal in disputes.keys.filter(isReversal).sorted() {
            let madeAt = opened[reversal] ?? .distantPast
            let candidates = judged.indices.filter { index in
                let id = order[index].1
                // Won without a time given: not taken as won before anything.
                let wonBefore = Self.isRestored(disputes[id] ?? []) && (disputeTimes?[id]?.wonAt ?? .distantFuture) < madeAt
                return !wonBefore
            }
            let before = candidates.filter { order[$0].0 <= madeAt }.max { order[$0] < order[$1] }
            let after = candidates.filter { order[$0].0 > madeAt && order[$0].0 <= madeAt + Self.reversalLead }.min { order[$0] < order[$1] }
            if let owner = before ?? after {
                judged[owner].reversalIDs.append(reversal)
                judged[owner].phases.formUnion(disputes[reversal] ?? [])
            } else {
                alone.append(JudgedDispute(ids: [], reversalIDs: [reversal], phases: disputes[reversal] ?? []))
            }
        }
        return judged + alone
    }

    /// How long after a PayPal reversal the dispute it belongs to may be dated, by PayPal's times: one day.
    public static let reversalLead: TimeInterval = 86_400

    /// Whether a dispute with these phases has the money: withdrawn or lost, and not returned or won.
    public static func isTaken(_ phases: Set<DisputePhase>) -> Bool {
        phases.isDisjoint(with: [.won, .fundsReinstated]) && !phases.isDisjoint(with: [.fundsWithdrawn, .lost])
    }

    /// Whether a dispute with these phases ended with the money back with us.
    public static func isRestored(_ phases: Set<DisputePhase>) -> Bool {
        !phases.isDisjoint(with: [.won, .fundsReinstated])
    }

    /// Whether the payment waits for staff: held, not resolved, and not returned by the bank (its money went back
    /// to the payer, so there is nothing left to decide).
    public var isWaitingForStaff: Bool { held != nil && resolution == nil && returned == nil }

    /// The listings the payment pays for: the named profile, or what staff decided for a held payment, each
    /// moved where staff reassigned it.
    public var listingShares: [(share: AllocationShare, acceptShortfall: Bool)] {
        var shares = sharesAsReceived
        for move in reassignments {
            guard let index = shares.firstIndex(where: { $0.share.profileID == move.from }) else { continue }
            if let part = move.amount, part.minorUnits < shares[index].share.amount.minorUnits {
                // Part of the share moves: `from` keeps the rest, `to` gets the part as an ordinary payment.
                // A shortfall staff accepted was accepted for the whole payment: the rest `from` keeps is an
                // ordinary payment too.
                shares[index].share.amount.minorUnits -= part.minorUnits
                shares[index].acceptShortfall = false
                if let target = shares.firstIndex(where: { $0.share.profileID == move.to }) {
                    shares[target].share.amount.minorUnits += part.minorUnits
                } else {
                    shares.append((AllocationShare(profileID: move.to, amount: part), false))
                }
            } else if let target = shares.firstIndex(where: { $0.share.profileID == move.to }) {
                shares[target].share.amount.minorUnits += shares[index].share.amount.minorUnits
                shares.remove(at: index)
            } else {
                shares[index].share.profileID = move.to
            }
        }
        return shares
    }

    /// The listings the payment paid for before any reassignment.
    var sharesAsReceived: [(share: AllocationShare, acceptShortfall: Bool)] {
        guard let received else { return [] }
        if let resolution {
            switch resolution.resolution {
            case .allocate, .split: return resolution.shares.map { ($0, false) }
            case .acceptShort: return resolution.shares.map { ($0, true) }
            case .donation, .notContribution, .refund, .cardPayout, .payPalPayout: return []
            }
        }
        guard held == nil, received.purpose == .listing, let profileID = received.profileID else { return [] }
        return [(AllocationShare(profileID: profileID, amount: received.amount), false)]
    }

    /// Why what the payment bought was taken back, if it was: refunded in full, returned by the bank, or
    /// taken by a dispute.
    public var reversal: ReversalKind? {
        if voided != nil { return .correction }
        if isFullyRefunded { return .refund }
        // Refunded in full with what staff gave back by hand (one profile of a split payment given back by hand,
        // the rest refunded by the provider): the other profiles' listings are taken back too.
        if let received {
            let byHand = givenBackByHandMinorUnits()
            if byHand > 0, refundedMinorUnits.addingSaturated(byHand) >= received.amount.minorUnits { return .refund }
        }
        if returned != nil { return .bankReturn }
        if isTakenByDispute { return .chargeback }
        return nil
    }

    /// What the payment should do to its listings, given everything known about it.
    public var allocationTarget: AllocationTarget {
        guard !listingShares.isEmpty else { return .none }
        return reversal.map(AllocationTarget.reversed) ?? .active
    }
}

/// A provider's times for one dispute (or PayPal reversal), as far as it gave them.
public struct DisputeTimes: Sendable, Hashable, Codable {
    /// When it was opened (for a reversal, made).
    public var openedAt: Date?
    /// When it was won (or its money reinstated).
    public var wonAt: Date?

    public init(openedAt: Date? = nil, wonAt: Date? = nil) {
        self.openedAt = openedAt
        self.wonAt = wonAt
    }

    /// Takes in the times of one update: a dispute's opening is the earliest time given for it (its own
    /// `create_time`, or, without one, the time of its earliest phase); its win the earliest time given with a
    /// won or reinstated phase (a dispute lost and then won on appeal is won when the appeal decided it).
    mutating func note(_ update: PaymentDisputeUpdated) {
        if let time = update.openedAt ?? update.asOf { openedAt = min(openedAt ?? time, time) }
        if update.phase == .won || update.phase == .fundsReinstated, let time = update.asOf { wonAt = min(wonAt ?? time, time) }
    }
}

/// Disputes judged together (see ``PaymentState/judgedDisputes``).
public struct JudgedDispute: Sendable, Hashable {
    /// The disputes' own ids: their amounts are one sum of money, reported by each.
    public var ids: [String]
    /// PayPal reversals judged with them: each took its own amount.
    public var reversalIDs: [String]
    /// Every phase recorded under any of those ids.
    public var phases: Set<DisputePhase>

    public init(ids: [String], reversalIDs: [String] = [], phases: Set<DisputePhase>) {
        self.ids = ids
        self.reversalIDs = reversalIDs
        self.phases = phases
    }
}

/// What a payment should do to a listing.
public enum AllocationTarget: Sendable, Hashable {
    /// Nothing: not received, not for a listing, or waiting for staff.
    case none
    /// Count towards the listing.
    case active
    /// Allocated and then taken back.
    case reversed(ReversalKind)
}

/// A fact a provider adapter or statement import reports about one payment, in provider-neutral terms.
public enum PaymentFact: Sendable, Hashable {
    /// Money arrived. `purpose` and `profileID` are nil when the payer's reference did not name them.
    ///
    /// A bank line that names no profile may carry `suggestedProfileID` (the payer's account paid for it
    /// before) or `unknownReference` (a valid RF reference that belongs to nobody), for the exception queue;
    /// one whose references name several profiles carries them in `namedProfiles`, and names none itself.
    case received(
        amount: Money, purpose: PaymentPurpose?, profileID: ProfileID?, effectiveDate: LocalDate, note: String,
        suggestedProfileID: ProfileID? = nil, unknownReference: String? = nil, payerAccount: String? = nil, endToEndID: String? = nil,
        fee: Money? = nil, namedProfiles: [ProfileID] = []
    )
    case pending(amount: Money, purpose: PaymentPurpose?, profileID: ProfileID?)
    case failed(reason: String)
    ///
    /// `asOf` is when the provider said it (its event's time), `madeAt` when it made a single refund.
    case refund(refundID: String?, amount: Money, cumulative: Bool, status: RefundStatus, asOf: Date? = nil, madeAt: Date? = nil)
    ///
    /// `openedAt` is when the provider says the dispute was opened (for a PayPal reversal, when it was made),
    /// `asOf` when it says this phase was reached.
    case dispute(disputeID: String, phase: DisputePhase, amount: Money, openedAt: Date? = nil, asOf: Date? = nil)
    /// The bank returned the transfer (`reason`: its return code) on the statement's booking day.
    case returned(reason: String, bookingDate: LocalDate)
}
