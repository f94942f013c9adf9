import Foundation
@testable import LedgerCore
import Testing

/// The payment rules: what a reported fact adds to a payment, and what the payment asks of its listing.
@Suite("Payment rules")
struct PaymentRuleTests {
    static let card = PaymentID(method: .card, externalID: "pi_1")
    static let at = noon("2026-03-02")

    static func received(_ amount: Money = euros(12_500), purpose: PaymentPurpose? = .listing, profileID: ProfileID? = profile) -> PaymentFact {
        .received(amount: amount, purpose: purpose, profileID: profileID, effectiveDate: day("2026-03-02"), note: "card")
    }

    /// Decides facts in order, the way the pipeline does, against a certified profile.
    static func apply(_ facts: [PaymentFact], profileState: ProfileState? = nil) throws -> (payment: PaymentState, events: [PaymentEvent]) {
        let screened = try profileState ?? History.certified().state
        var state = PaymentState()
        var events: [PaymentEvent] = []
        for fact in facts {
            let new = PaymentDecider.decide(fact, state: state, paymentID: card, method: .card, profile: screened, now: at, policy: policy)
            for event in new { state.evolve(event) }
            events += new
        }
        return (state, events)
    }

    @Test
    func moneyReportedTwiceIsRecordedOnce() throws {
        let (state, events) = try Self.apply([Self.received(), Self.received()])
        #expect(events.map(\.typeName) == ["PaymentReceived"])
        #expect(state.allocationTarget == .active)
    }

    @Test(arguments: [
        (Money(minorUnits: 12_500, currency: "USD"), PaymentPurpose?.some(.listing), HoldReason.currencyNotAccepted),
        (euros(10_000), .listing, .unexpectedAmount),
        (euros(25_000), .listing, .unexpectedAmount),
        (euros(12_500), nil, .missingProfileReference),
    ])
    func paymentsThatDoNotCheckOutAreHeldNotApplied(amount: Money, purpose: PaymentPurpose?, reason: HoldReason) throws {
        let (state, events) = try Self.apply([Self.received(amount, purpose: purpose)])
        #expect(events.map(\.typeName) == ["PaymentReceived", "PaymentHeld"])
        #expect(state.held?.reasonCode == reason)
        #expect(state.allocationTarget == .none)
    }

    /// A transfer short of the price is short only if the profile's credit does not make up the difference:
    /// an allocated amount buys floor((credit + amount) / price) periods.
    @Test
    func aTransferThatTheProfilesCreditCompletesIsNotShort() throws {
        var history = try History.certified()
        // 150.00 on 2026-01-15: one period and 25.00 of credit.
        try history.pay("p1", 15_000, on: "2026-01-15")
        #expect(history.state.paidPeriods(at: Self.at, policy: policy).creditMinorUnits == 2_500)
        func decide(_ minorUnits: Int64) -> [PaymentEvent] {
            PaymentDecider.decide(
                Self.received(euros(minorUnits)), state: PaymentState(), paymentID: PaymentID(method: .bank, externalID: "t-\(minorUnits)"), method: .bank,
                profile: history.state, now: Self.at, policy: policy
            )
        }
        #expect(decide(10_000).map(\.typeName) == ["PaymentReceived"])
        let short = decide(9_000)
        #expect(short.map(\.typeName) == ["PaymentReceived", "PaymentHeld"])
        guard case .held(let hold)? = short.last else { return }
        #expect(hold.reasonCode == .shortPayment)
        #expect(hold.reason.contains("25.00 EUR of credit") && hold.reason.contains("10.00 EUR short"), "\(hold.reason)")
        // With the credit, 1,225.00 buys ten periods, as many as one payment may; 1,350.00 would buy eleven, so
        // it is held instead of failing at allocation.
        #expect(decide(122_500).map(\.typeName) == ["PaymentReceived"])
        let over = decide(135_000)
        #expect(over.map(\.typeName) == ["PaymentReceived", "PaymentHeld"])
        if case .held(let hold)? = over.last { #expect(hold.reasonCode == .amountOverLimit) }
    }

    @Test
    func aListingPaymentForAProfileNobodyRegisteredIsHeld() throws {
        let (state, _) = try Self.apply([Self.received()], profileState: ProfileState())
        #expect(state.held?.reasonCode == .unknownProfile)
        #expect(state.allocationTarget == .none)
    }

    @Test
    func aDonationIsRecordedButNeverAllocated() throws {
        let (state, events) = try Self.apply([Self.received(euros(2_500), purpose: .donation)])
        #expect(events.map(\.typeName) == ["PaymentReceived"])
        #expect(state.allocationTarget == .none)
        #expect(PaymentDecider.allocationCommands(payment: state, profile: try History.certified().state).isEmpty)
    }

    /// A refund reported in another currency than the payment's (no provider refunds so) is recorded and never
    /// counted, whichever arrives first; and no report gives back more than the payment brought.
    @Test
    func aRefundInAnotherCurrencyOrBeyondThePaymentCountsOnlyWhatThePaymentBrought() throws {
        let dollars = Money(minorUnits: 999_999, currency: "USD")
        for (facts, recorded) in [
            ([Self.received(), .refund(refundID: "re_1", amount: dollars, cumulative: false, status: .succeeded)], false),
            ([.refund(refundID: "re_1", amount: dollars, cumulative: false, status: .succeeded), Self.received()], true),
            ([Self.received(), .refund(refundID: nil, amount: dollars, cumulative: true, status: .succeeded)], false),
            ([.refund(refundID: nil, amount: dollars, cumulative: true, status: .succeeded), Self.received()], true),
        ] as [([PaymentFact], Bool)] {
            let (state, events) = try Self.apply(facts)
            #expect(events.map(\.typeName).contains("PaymentRefundReported") == recorded, "\(facts): \(events.map(\.typeName))")
            #expect(state.refundedMinorUnits == 0 && state.refundTakenMinorUnits == 0 && !state.isFullyRefunded, "\(facts)")
            #expect(state.allocationTarget == .active, "\(facts)")
        }
        // Totals and single refunds in another currency, whenever they arrive and whatever their times, never take
        // the place of the payment's own: in every order of the payment, its total (or its refund) and another
        // currency's, dated before or after it, the payment is refunded in full.
        let first = Date(timeIntervalSince1970: 1_780_000_000)
        for (own, foreign) in [
            (PaymentFact.refund(refundID: nil, amount: euros(12_500), cumulative: true, status: .succeeded, asOf: first), true),
            (PaymentFact.refund(refundID: "re_1", amount: euros(12_500), cumulative: false, status: .succeeded, asOf: first), false),
        ] {
            for offset in [-60.0, 60] {
                let other = PaymentFact.refund(refundID: foreign ? nil : "re_1", amount: dollars, cumulative: foreign, status: .succeeded, asOf: first + offset)
                for facts in permutations([own, other, Self.received()]) {
                    let (state, _) = try Self.apply(facts)
                    #expect(state.refundedMinorUnits == 12_500 && state.isFullyRefunded, "\(facts)")
                }
            }
        }
        let received: Int64 = 12_500
        for report: PaymentFact in [
            .refund(refundID: "re_1", amount: euros(1_000_000_000_000), cumulative: false, status: .succeeded),
            .refund(refundID: nil, amount: euros(1_000_000_000_000), cumulative: true, status: .succeeded),
        ] {
            let (state, _) = try Self.apply([Self.received(), report])
            #expect(state.refundedMinorUnits == received && state.refundTakenMinorUnits == received && state.isFullyRefunded, "\(report)")
        }
    }

    /// A running total and the single refunds it is made of describe the same money.
    @Test
    func runningTotalsAndSingleRefundsNeverCountMoneyTwice() throws {
        let (partial, _) = try Self.apply([
            Self.received(),
            .refund(refundID: nil, amount: euros(5_000), cumulative: true, status: .succeeded),
            .refund(refundID: "re_1", amount: euros(5_000), cumulative: false, status: .succeeded),
            .refund(refundID: nil, amount: euros(4_000), cumulative: true, status: .succeeded),
        ])
        #expect(partial.refundedMinorUnits == 5_000)
        #expect(!partial.isFullyRefunded)
        #expect(partial.allocationTarget == .active)

        let (full, _) = try Self.apply([
            Self.received(),
            .refund(refundID: "re_1", amount: euros(5_000), cumulative: false, status: .succeeded),
            .refund(refundID: "re_2", amount: euros(7_500), cumulative: false, status: .pending),
        ])
        #expect(full.refundedMinorUnits == 5_000)
        let (done, _) = try Self.apply([
            Self.received(),
            .refund(refundID: "re_1", amount: euros(5_000), cumulative: false, status: .succeeded),
            .refund(refundID: "re_2", amount: euros(7_500), cumulative: false, status: .succeeded),
        ])
        #expect(done.isFullyRefunded)
        #expect(done.allocationTarget == .reversed(.refund))
    }

    /// A card payment's refunds as the provider reports them, with its times, decided in order against a
    /// certified profile, the listing following the payment as the pipeline makes it.
    struct RefundWorld {
        var history: History
        var payment = PaymentState()

        init() throws {
            history = try History.certified()
            try report(PaymentRuleTests.received(), at: "2026-03-02")
        }

        static func instant(_ day: String, _ hour: Int = 12) -> Date { noon(day).addingTimeInterval(TimeInterval((hour - 12) * 3_600)) }

        /// A running total the provider gave at `asOf`.
        static func total(_ minorUnits: Int64, asOf: Date) -> PaymentFact {
            .refund(refundID: nil, amount: euros(minorUnits), cumulative: true, status: .succeeded, asOf: asOf)
        }

        /// Refund `id`, made at `madeAt`, as the provider reported it at `asOf`.
        static func refund(_ id: String, _ minorUnits: Int64, _ status: RefundStatus, madeAt: Date, asOf: Date) -> PaymentFact {
            .refund(refundID: id, amount: euros(minorUnits), cumulative: false, status: status, asOf: asOf, madeAt: madeAt)
        }

        @discardableResult
        mutating func report(_ fact: PaymentFact, at day: String) throws -> [PaymentEvent] {
            let now = noon(day)
            let events = PaymentDecider.decide(fact, state: payment, paymentID: PaymentRuleTests.card, method: .card, profile: history.state, now: now, policy: policy)
            for event in events { payment.evolve(event) }
            let commands = PaymentDecider.allocationCommands(payment: payment, profile: history.state)
            for event in try ProfileDecider.decide(commands, state: history.state, profileID: profile, now: now, policy: policy) { history.state.evolve(event) }
            return events
        }

        var allocationCounts: Bool { history.state.allocation(of: PaymentRuleTests.card)?.isActiveNow == true }
        func visible(on day: String) -> Bool { history.state.evaluate(at: noon(day), policy: policy).visible }
    }

    /// A card refund that fails after the provider's running total counted it gives the money back to us: the
    /// payment is no longer refunded, what it bought counts again, and a later refund's total counts anew.
    @Test
    func aRefundThatFailsAfterTheRunningTotalCountedItNoLongerCounts() throws {
        var world = try RefundWorld()
        let made = RefundWorld.instant("2026-03-03", 10)
        try world.report(RefundWorld.total(12_500, asOf: RefundWorld.instant("2026-03-03", 11)), at: "2026-03-03")
        try world.report(RefundWorld.refund("re_1", 12_500, .succeeded, madeAt: made, asOf: RefundWorld.instant("2026-03-03", 11)), at: "2026-03-03")
        #expect(world.payment.isFullyRefunded)
        #expect(!world.allocationCounts)
        #expect(!world.visible(on: "2026-03-04"))

        try world.report(RefundWorld.refund("re_1", 12_500, .failed, madeAt: made, asOf: RefundWorld.instant("2026-03-09")), at: "2026-03-09")
        #expect(world.payment.refundedMinorUnits == 0)
        #expect(world.payment.refundTakenMinorUnits == 0)
        #expect(world.payment.allocationTarget == .active)
        #expect(world.allocationCounts)
        #expect(world.visible(on: "2026-03-10"))

        // The first total delivered again, late (a retried delivery), and an even older one say nothing.
        #expect(try world.report(RefundWorld.total(12_500, asOf: RefundWorld.instant("2026-03-03", 11)), at: "2026-03-10").isEmpty)
        #expect(try world.report(RefundWorld.total(12_500, asOf: RefundWorld.instant("2026-03-03", 10)), at: "2026-03-10").isEmpty)
        #expect(world.allocationCounts)
        // A new refund, and the provider's total after it, count.
        let remade = RefundWorld.instant("2026-03-11", 9)
        try world.report(RefundWorld.refund("re_2", 12_500, .succeeded, madeAt: remade, asOf: remade), at: "2026-03-11")
        try world.report(RefundWorld.total(12_500, asOf: RefundWorld.instant("2026-03-11", 10)), at: "2026-03-11")
        #expect(world.payment.isFullyRefunded)
        #expect(!world.allocationCounts)
    }

    /// The reports of a failed refund in other orders: its failure before the total that counted it, and a
    /// report of it succeeding delivered after it failed. Neither counts the failed refund again.
    @Test
    func aFailedRefundStaysFailedWhateverOrderItsReportsArriveIn() throws {
        let made = RefundWorld.instant("2026-03-03", 10)
        var early = try RefundWorld()
        try early.report(RefundWorld.refund("re_1", 12_500, .failed, madeAt: made, asOf: RefundWorld.instant("2026-03-05")), at: "2026-03-05")
        // The total the provider gave before the failure, delivered after it.
        try early.report(RefundWorld.total(12_500, asOf: RefundWorld.instant("2026-03-03", 11)), at: "2026-03-06")
        #expect(early.payment.refundedMinorUnits == 0)
        #expect(early.allocationCounts)

        var flipped = try RefundWorld()
        try flipped.report(RefundWorld.refund("re_1", 12_500, .failed, madeAt: made, asOf: RefundWorld.instant("2026-03-05")), at: "2026-03-05")
        #expect(try flipped.report(RefundWorld.refund("re_1", 12_500, .succeeded, madeAt: made, asOf: RefundWorld.instant("2026-03-03", 11)), at: "2026-03-06").isEmpty)
        // Even said later: a failed refund's money came back, and nothing makes it succeed afterwards.
        #expect(try flipped.report(RefundWorld.refund("re_1", 12_500, .succeeded, madeAt: made, asOf: RefundWorld.instant("2026-03-06")), at: "2026-03-06").isEmpty)
        #expect(flipped.payment.refunds["re_1"]?.status == .failed)
        #expect(flipped.allocationCounts)

        // A partial refund that failed takes only itself off the total.
        var partial = try RefundWorld()
        try partial.report(RefundWorld.total(5_000, asOf: RefundWorld.instant("2026-03-03", 11)), at: "2026-03-03")
        try partial.report(RefundWorld.total(8_000, asOf: RefundWorld.instant("2026-03-04", 11)), at: "2026-03-04")
        try partial.report(RefundWorld.refund("re_2", 3_000, .failed, madeAt: RefundWorld.instant("2026-03-04", 10), asOf: RefundWorld.instant("2026-03-06")), at: "2026-03-06")
        #expect(partial.payment.refundedMinorUnits == 5_000)
        // A refund made after the total it is not in takes nothing off that total when it fails.
        try partial.report(RefundWorld.refund("re_3", 1_000, .failed, madeAt: RefundWorld.instant("2026-03-07"), asOf: RefundWorld.instant("2026-03-08")), at: "2026-03-08")
        #expect(partial.payment.refundedMinorUnits == 5_000)
    }

    /// Reports recorded before their times were kept fold as they did: the highest total, a refund's last
    /// status (even succeeded after failed). A failure the provider reports later, with its time, is taken off
    /// such a total, dated when it was recorded; and within one second a refund's status only moves on.
    @Test
    func reportsWithoutTimesFoldAsTheyDidAndLaterFailuresStillCount() throws {
        func reported(_ id: String?, _ minorUnits: Int64, _ status: RefundStatus, asOf: Date? = nil, madeAt: Date? = nil, on day: String) -> PaymentEvent {
            .refundReported(PaymentRefundReported(
                paymentID: Self.card, refundID: id, amount: euros(minorUnits), cumulative: id == nil, status: status, asOf: asOf, madeAt: madeAt,
                occurredAt: noon(day)
            ))
        }
        let received = PaymentDecider.decide(Self.received(), state: PaymentState(), paymentID: Self.card, method: .card, profile: try History.certified().state, now: noon("2026-03-02"), policy: policy)
        let legacy = PaymentState.fold(received + [
            reported(nil, 12_500, .succeeded, on: "2026-03-03"), reported(nil, 5_000, .succeeded, on: "2026-03-03"),
            reported("re_1", 12_500, .failed, on: "2026-03-04"), reported("re_1", 12_500, .succeeded, on: "2026-03-05"),
        ])
        #expect(legacy.cumulativeRefundMinorUnits == 12_500)
        #expect(legacy.refunds["re_1"]?.status == .succeeded)
        #expect(legacy.isFullyRefunded)

        var upgraded = PaymentState.fold(received + [reported(nil, 12_500, .succeeded, on: "2026-03-03")])
        upgraded.evolve(reported("re_1", 12_500, .failed, asOf: noon("2026-03-09"), madeAt: noon("2026-03-03").addingTimeInterval(-60), on: "2026-03-09"))
        #expect(upgraded.refundedMinorUnits == 0)

        var sameSecond = PaymentState.fold(received)
        sameSecond.evolve(reported("re_2", 2_500, .succeeded, asOf: noon("2026-03-04"), madeAt: noon("2026-03-04"), on: "2026-03-04"))
        #expect(!sameSecond.changes(with: PaymentRefundReported(
            paymentID: Self.card, refundID: "re_2", amount: euros(2_500), cumulative: false, status: .pending, asOf: noon("2026-03-04"), occurredAt: noon("2026-03-05")
        )))
    }

    /// What staff took back by hand as refunded (money given back some other way) is never given back by the
    /// payment rules, even when a provider refund of the payment later fails.
    @Test
    func aReversalStaffMadeByHandIsNeverReinstatedByAFailedRefund() throws {
        var world = try RefundWorld()
        let made = RefundWorld.instant("2026-03-03", 10)
        try world.report(RefundWorld.refund("re_1", 12_500, .pending, madeAt: made, asOf: made), at: "2026-03-03")
        try world.history.apply(.reverseAllocation(paymentID: Self.card, kind: .refund, reason: "given back by bank transfer"), at: noon("2026-03-04"))
        #expect(!world.allocationCounts)
        try world.report(RefundWorld.refund("re_1", 12_500, .failed, madeAt: made, asOf: RefundWorld.instant("2026-03-05")), at: "2026-03-05")
        #expect(!world.allocationCounts)
        #expect(PaymentDecider.allocationCommands(payment: world.payment, profile: world.history.state).isEmpty)
    }

    @Test
    func aDisputeIsJudgedByTheSetOfPhasesNotTheirOrder() throws {
        func target(_ phases: [DisputePhase]) throws -> AllocationTarget {
            try Self.apply([Self.received()] + phases.map { .dispute(disputeID: "dp_1", phase: $0, amount: euros(12_500)) }).payment.allocationTarget
        }
        for order in permutations([DisputePhase.opened, .fundsWithdrawn, .won]) {
            #expect(try target(order) == .active, "\(order)")
        }
        for order in permutations([DisputePhase.opened, .fundsWithdrawn, .lost]) {
            #expect(try target(order) == .reversed(.chargeback), "\(order)")
        }
        #expect(try target([.opened]) == .active)
    }

    /// PayPal reports a chargeback's reversal (`PAYMENT.CAPTURE.REVERSED`) under a refund id and the dispute that
    /// decides it under the dispute's own id. Recorded before PayPal's times were kept (the reversal as lost,
    /// without times), they are judged as one, in every order: the seller winning lists the profile again, the
    /// buyer winning keeps it hidden.
    @Test(arguments: [(DisputePhase.won, true), (.lost, false)])
    func aPayPalReversalIsDecidedByTheDisputeOfItsCapture(resolution: DisputePhase, listed: Bool) throws {
        let paypal = PaymentID(method: .paypal, externalID: "8RH61452YT7823120")
        let facts: [PaymentFact] = [
            Self.received(),
            .dispute(disputeID: "3KF58957LT1234567", phase: .lost, amount: euros(12_500)),
            .dispute(disputeID: "PP-D-4521", phase: .opened, amount: euros(12_500)),
            .dispute(disputeID: "PP-D-4521", phase: resolution, amount: euros(12_500)),
        ]
        for order in permutations(facts) {
            var history = try History.certified()
            var payment = PaymentState()
            for fact in order {
                for event in PaymentDecider.decide(fact, state: payment, paymentID: paypal, method: .paypal, profile: history.state, now: Self.at, policy: policy) {
                    payment.evolve(event)
                }
                let commands = PaymentDecider.allocationCommands(payment: payment, profile: history.state)
                for event in try ProfileDecider.decide(commands, state: history.state, profileID: profile, now: Self.at, policy: policy) {
                    history.state.evolve(event)
                }
            }
            #expect(payment.isTakenByDispute == !listed, "\(order)")
            #expect(payment.allocationTarget == (listed ? .active : .reversed(.chargeback)), "\(order)")
            #expect(history.state.evaluate(at: Self.at, policy: policy).visible == listed, "\(order)")
        }
    }

    /// Decides PayPal facts in `order` against a certified profile, the way the pipeline does; the payment and
    /// whether the profile is listed.
    static func applyPayPal(_ order: [PaymentFact]) throws -> (payment: PaymentState, listed: Bool) {
        let paypal = PaymentID(method: .paypal, externalID: "8RH61452YT7823120")
        var history = try History.certified()
        var payment = PaymentState()
        for fact in order {
            for event in PaymentDecider.decide(fact, state: payment, paymentID: paypal, method: .paypal, profile: history.state, now: at, policy: policy) {
                payment.evolve(event)
            }
            let commands = PaymentDecider.allocationCommands(payment: payment, profile: history.state)
            for event in try ProfileDecider.decide(commands, state: history.state, profileID: profile, now: at, policy: policy) {
                history.state.evolve(event)
            }
        }
        return (payment, history.state.evaluate(at: at, policy: policy).visible)
    }

    /// With PayPal's times, a reversal is judged with the dispute opened before it, in every order of arrival: the
    /// seller winning afterwards lists the profile again, the buyer winning keeps it hidden.
    @Test(arguments: [(DisputePhase.won, true), (.lost, false)])
    func aPayPalReversalIsJudgedWithTheDisputeOpenedBeforeIt(resolution: DisputePhase, listed: Bool) throws {
        let opened = noon("2026-02-10"), reversed = noon("2026-02-11"), decided = noon("2026-02-25")
        let facts: [PaymentFact] = [
            Self.received(),
            .dispute(disputeID: "3KF58957LT1234567", phase: .fundsWithdrawn, amount: euros(12_500), openedAt: reversed, asOf: reversed),
            .dispute(disputeID: "PP-D-4521", phase: .opened, amount: euros(12_500), openedAt: opened, asOf: opened),
            .dispute(disputeID: "PP-D-4521", phase: resolution, amount: euros(12_500), openedAt: opened, asOf: decided),
        ]
        for order in permutations(facts) {
            let (payment, visible) = try Self.applyPayPal(order)
            #expect(payment.isTakenByDispute == !listed, "\(order)")
            #expect(visible == listed, "\(order)")
        }
    }

    /// A dispute the seller won does not undo a reversal PayPal made after it was decided (a later chargeback of
    /// the same capture), in every order of arrival; a later dispute that covers the reversal decides it.
    @Test
    func aDisputeWonDoesNotUndoALaterReversal() throws {
        let inquiry: [PaymentFact] = [
            .dispute(disputeID: "PP-D-1000", phase: .opened, amount: euros(12_500), openedAt: noon("2026-02-01"), asOf: noon("2026-02-01")),
            .dispute(disputeID: "PP-D-1000", phase: .won, amount: euros(12_500), openedAt: noon("2026-02-01"), asOf: noon("2026-02-08")),
        ]
        let reversal = PaymentFact.dispute(
            disputeID: "3KF58957LT1234567", phase: .fundsWithdrawn, amount: euros(12_500), openedAt: noon("2026-02-20"), asOf: noon("2026-02-20")
        )
        for order in permutations([Self.received(), reversal] + inquiry) {
            let (payment, visible) = try Self.applyPayPal(order)
            #expect(payment.isTakenByDispute, "\(order)")
            #expect(!visible, "\(order)")
        }
        let chargeback: (DisputePhase) -> [PaymentFact] = { resolution in [
            .dispute(disputeID: "PP-D-2000", phase: .opened, amount: euros(12_500), openedAt: noon("2026-02-19"), asOf: noon("2026-02-19")),
            .dispute(disputeID: "PP-D-2000", phase: resolution, amount: euros(12_500), openedAt: noon("2026-02-19"), asOf: noon("2026-03-01")),
        ] }
        for (resolution, listed) in [(DisputePhase.won, true), (.lost, false)] {
            for order in permutations([reversal] + inquiry + chargeback(resolution)) {
                let (payment, visible) = try Self.applyPayPal([Self.received()] + order)
                #expect(payment.isTakenByDispute == !listed, "\(resolution) \(order)")
                #expect(visible == listed, "\(resolution) \(order)")
            }
        }
    }

    /// A reversal is not judged with a dispute already won when it was made, even one opened later than the
    /// dispute it belongs to: the dispute still running decides it, in every order of arrival.
    @Test(arguments: [(DisputePhase.won, true), (.lost, false)])
    func aReversalIsNotJudgedWithADisputeWonBeforeIt(resolution: DisputePhase, listed: Bool) throws {
        func dispute(_ id: String, _ phase: DisputePhase, opened: String, at: String) -> PaymentFact {
            .dispute(disputeID: id, phase: phase, amount: euros(12_500), openedAt: noon(opened), asOf: noon(at))
        }
        let facts: [PaymentFact] = [
            dispute("PP-D-1", .opened, opened: "2026-02-01", at: "2026-02-01"),
            dispute("PP-D-2", .opened, opened: "2026-02-05", at: "2026-02-05"),
            dispute("PP-D-2", .won, opened: "2026-02-05", at: "2026-02-08"),
            dispute("3KF58957LT1234567", .fundsWithdrawn, opened: "2026-02-10", at: "2026-02-10"),
            dispute("PP-D-1", resolution, opened: "2026-02-01", at: "2026-02-20"),
        ]
        for order in permutations(facts) {
            let (payment, visible) = try Self.applyPayPal([Self.received()] + order)
            #expect(payment.isTakenByDispute == !listed, "\(order)")
            #expect(visible == listed, "\(order)")
            #expect(payment.judgedDisputes.first { $0.ids == ["PP-D-1"] }?.reversalIDs == ["3KF58957LT1234567"], "\(order)")
        }
    }

    /// PayPal may date a chargeback's reversal a little before the dispute: within a day, the reversal is judged
    /// with the dispute opened after it (one judged dispute, whose books `payPalReversalsAreBookedByTheDisputeThatCoversThem`
    /// counts once); later than that, on its own.
    @Test
    func aReversalDatedJustBeforeItsDisputeIsJudgedWithIt() throws {
        let reversal = PaymentFact.dispute(
            disputeID: "3KF58957LT1234567", phase: .fundsWithdrawn, amount: euros(5_000), openedAt: noon("2026-02-10"), asOf: noon("2026-02-10")
        )
        func dispute(opened: Date, _ resolution: DisputePhase) -> [PaymentFact] {
            [
                .dispute(disputeID: "PP-D-1", phase: .opened, amount: euros(5_000), openedAt: opened, asOf: opened),
                .dispute(disputeID: "PP-D-1", phase: resolution, amount: euros(5_000), openedAt: opened, asOf: noon("2026-02-20")),
            ]
        }
        let soon = noon("2026-02-10").addingTimeInterval(3_600), late = noon("2026-02-12")
        for (opened, resolution, taken, together) in [(soon, DisputePhase.lost, true, true), (soon, .won, false, true), (late, .won, true, false)] {
            for order in permutations([reversal] + dispute(opened: opened, resolution)) {
                let (payment, _) = try Self.applyPayPal([Self.received()] + order)
                #expect(payment.isTakenByDispute == taken, "\(opened) \(resolution) \(order)")
                #expect(payment.judgedDisputes.count == (together ? 1 : 2), "\(opened) \(resolution) \(order)")
            }
        }
    }

    /// Which dispute a reversal is judged with, at the edges: the same second as a dispute's opening counts as
    /// opened before it; one opened before it is preferred to one opened after; exactly a day after still takes
    /// it, a second more does not; a dispute lost and then won on appeal undoes a reversal made between the two.
    @Test
    func aReversalsDisputeIsChosenAtTheEdges() throws {
        let made = noon("2026-02-10")
        func reversal() -> PaymentFact {
            .dispute(disputeID: "R", phase: .fundsWithdrawn, amount: euros(12_500), openedAt: made, asOf: made)
        }
        func opened(_ id: String, _ at: Date) -> PaymentFact {
            .dispute(disputeID: id, phase: .opened, amount: euros(12_500), openedAt: at, asOf: at)
        }
        func owner(_ facts: [PaymentFact]) throws -> [String]? {
            try Self.applyPayPal([Self.received()] + facts).payment.judgedDisputes.first { $0.reversalIDs == ["R"] }?.ids
        }
        #expect(try owner([reversal(), opened("A", made)]) == ["A"])
        #expect(try owner([reversal(), opened("A", made - 3_600), opened("B", made + 60)]) == ["A"])
        #expect(try owner([reversal(), opened("A", made + PaymentState.reversalLead)]) == ["A"])
        #expect(try owner([reversal(), opened("A", made + PaymentState.reversalLead + 1)]) == [])
        let appeal: [PaymentFact] = [
            opened("A", noon("2026-02-01")),
            .dispute(disputeID: "A", phase: .lost, amount: euros(12_500), openedAt: noon("2026-02-01"), asOf: noon("2026-02-05")),
            reversal(),
            .dispute(disputeID: "A", phase: .won, amount: euros(12_500), openedAt: noon("2026-02-01"), asOf: noon("2026-02-20")),
        ]
        for order in permutations(appeal) {
            let (payment, visible) = try Self.applyPayPal([Self.received()] + order)
            #expect(payment.judgedDisputes.first { $0.ids == ["A"] }?.reversalIDs == ["R"], "\(order)")
            #expect(visible, "\(order)")
        }
    }

    /// A dispute recorded before PayPal's times were kept (a reversal recorded as lost, without times) has the
    /// payment's disputes judged as one, as they were then, whatever times later ones carry.
    @Test
    func disputesRecordedBeforeTimesWereKeptAreJudgedAsOne() throws {
        let opened = noon("2026-02-01")
        let (payment, visible) = try Self.applyPayPal([
            Self.received(),
            .dispute(disputeID: "3KF58957LT1234567", phase: .lost, amount: euros(12_500)),
            .dispute(disputeID: "PP-D-1", phase: .opened, amount: euros(12_500), openedAt: opened, asOf: opened),
            .dispute(disputeID: "PP-D-1", phase: .won, amount: euros(12_500), openedAt: opened, asOf: noon("2026-02-20")),
        ])
        #expect(payment.judgedDisputes.map(\.ids) == [["3KF58957LT1234567", "PP-D-1"]])
        #expect(!payment.isTakenByDispute)
        #expect(visible)
    }

    /// A card payment's disputes are each judged on their own: one won does not undo another that took money.
    @Test
    func aCardDisputeWonDoesNotUndoAnotherDispute() throws {
        let (payment, _) = try Self.apply([
            Self.received(),
            .dispute(disputeID: "dp_1", phase: .fundsWithdrawn, amount: euros(12_500)),
            .dispute(disputeID: "dp_2", phase: .won, amount: euros(12_500)),
        ])
        #expect(payment.allocationTarget == .reversed(.chargeback))
    }

    /// A refund reported before its payment is kept; when the payment arrives it is allocated and reversed in
    /// one change, and the directory never sees it listed.
    @Test
    func aRefundBeforeItsPaymentAllocatesAndReversesInOneChangeWithoutAFlicker() throws {
        var history = try History.certified()
        let (payment, _) = try Self.apply([
            .refund(refundID: nil, amount: euros(12_500), cumulative: true, status: .succeeded),
            Self.received(),
        ])
        let commands = PaymentDecider.allocationCommands(payment: payment, profile: history.state)
        #expect(commands.count == 2)
        let events = try ProfileDecider.decide(commands, state: history.state, profileID: profile, now: Self.at, policy: policy)
        #expect(events.map(\.typeName) == ["ContributionAllocated", "AllocationReversed", "ListingVisibilityChanged"])
        #expect(events.last?.visibilityChange?.visible == false)
        #expect(events.last?.visibilityChange?.reason == .refunded)
        for event in events { history.state.evolve(event) }
        #expect(PaymentDecider.allocationCommands(payment: payment, profile: history.state).isEmpty)
    }

    /// Every order of the same facts ends with the same payment and the same listing.
    @Test
    func everyDeliveryOrderEndsInTheSameBooks() throws {
        let facts: [PaymentFact] = [
            Self.received(),
            .refund(refundID: nil, amount: euros(2_500), cumulative: true, status: .succeeded),
            .dispute(disputeID: "dp_1", phase: .opened, amount: euros(12_500)),
            .dispute(disputeID: "dp_1", phase: .fundsWithdrawn, amount: euros(12_500)),
        ]
        struct Outcome: Hashable {
            var refunded: Int64
            var target: AllocationTarget
            var visible: Bool
            var reason: HiddenReason?
        }
        var outcomes: Set<Outcome> = []
        for order in permutations(facts) {
            var history = try History.certified()
            var payment = PaymentState()
            for fact in order {
                for event in PaymentDecider.decide(fact, state: payment, paymentID: Self.card, method: .card, profile: history.state, now: Self.at, policy: policy) {
                    payment.evolve(event)
                }
                let commands = PaymentDecider.allocationCommands(payment: payment, profile: history.state)
                for event in try ProfileDecider.decide(commands, state: history.state, profileID: profile, now: Self.at, policy: policy) {
                    history.state.evolve(event)
                }
            }
            let evaluation = history.state.evaluate(at: Self.at, policy: policy)
            outcomes.insert(Outcome(refunded: payment.refundedMinorUnits, target: payment.allocationTarget, visible: evaluation.visible, reason: evaluation.reason))
        }
        #expect(outcomes.count == 1)
        #expect(outcomes.first?.refunded == 2_500)
        #expect(outcomes.first?.target == .reversed(.chargeback))
        #expect(outcomes.first?.visible == false)
    }

    @Test
    func paymentEventsSurviveTheirStoredForm() throws {
        let (_, events) = try Self.apply([
            .pending(amount: euros(12_500), purpose: .listing, profileID: profile),
            Self.received(euros(9_000)),
            .refund(refundID: "re_1", amount: euros(1_000), cumulative: false, status: .pending),
            .dispute(disputeID: "dp_1", phase: .opened, amount: euros(9_000)),
        ])
        #expect(events.count == 5)
        let decoded = try events.map { try PaymentEvent.decode(typeName: $0.typeName, data: $0.encodedData()) }
        #expect(decoded == events.map(Optional.some))
        #expect(try PaymentEvent.decode(typeName: "SomethingNew", data: Data("{}".utf8)) == nil)
    }
}

/// Every ordering of `items`.
func permutations<Element>(_ items: [Element]) -> [[Element]] {
    guard items.count > 1 else { return [items] }
    return items.indices.flatMap { index -> [[Element]] in
        var rest = items
        let first = rest.remove(at: index)
        return permutations(rest).map { [first] + $0 }
    }
}
