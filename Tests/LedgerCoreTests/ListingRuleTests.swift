import Foundation
@testable import LedgerCore
import Testing

@Suite("Listing rules")
struct ListingRuleTests {
    @Test
    func aPaymentBuysTwelveMonthsEndingTheDayBeforeTheAnniversary() throws {
        var history = try History.certified()
        try history.pay("p1", on: "2026-01-15")
        let listing = history.evaluate("2026-06-01")
        #expect(listing.status == .active && listing.visible)
        #expect(listing.paidThrough == day("2027-01-14"))
        #expect(listing.basis == .payments([payment("p1")]))
        #expect(listing.reason == nil)
    }

    /// Two instances whose clocks differ by 50 ms: the one ahead records a refund's reversal and "hidden"; the one
    /// behind then decides something else for the profile at its own now, before the reversal's instant. It must not
    /// find the payment still counting and publish the listing visible again.
    @Test
    func aDecisionIsNeverMadeBeforeTheLatestEventOfItsStream() throws {
        var history = try History.certified()
        try history.pay("p1", on: "2026-01-15")
        #expect(history.state.published?.visible == true)
        let ahead = noon("2026-03-02").addingTimeInterval(0.05)
        try history.apply(.reverseAllocation(paymentID: payment("p1"), kind: .refund, reason: "refunded"), at: ahead)
        #expect(history.state.published?.visible == false)
        let behind = noon("2026-03-02")
        let decided = try history.apply(.sweep, at: behind)
        #expect(decided.isEmpty, "\(decided)")
        #expect(history.state.published?.visible == false)
    }

    /// One event recorded by a clock gone a year ahead (which hid the listing, evaluating it a year on) does not
    /// carry the profile's later decisions there: the stream's latest instant is believed only up to five minutes
    /// ahead of the clock deciding, so the next decision finds the listing paid and lists it again.
    @Test
    func oneEventFromAClockGoneWrongDoesNotCarryDecisionsIntoTheFuture() throws {
        var history = try History.certified()
        try history.pay("p1", on: "2026-01-15")
        let yearAhead = noon("2027-06-01")
        try history.apply(.grantWaiver(waiverID: "w-1", from: day("2026-02-01"), through: day("2026-02-28"), reason: "hardship"), at: yearAhead)
        #expect(history.state.published?.visible == false, "evaluated a year on, the listing had run out")
        try history.apply(.sweep, at: noon("2026-03-02"))
        #expect(history.state.published?.visible == true, "paid through 2027-01-14, the listing is active in March 2026")
        #expect(history.state.decisionInstant(now: noon("2026-03-02")) == noon("2026-03-02").addingTimeInterval(ProfileState.clockLeadBelievedMax))
    }

    /// A suspension recorded by a clock an hour ahead counts only from its own instant for an instance whose clock
    /// is right, which lists the profile again meanwhile. Its listing falls due again at that instant, so the sweeper
    /// hides it then, not only when something else happens to the profile.
    @Test
    func anEventRecordedAheadOfTheClockMakesTheListingDueAtItsInstant() throws {
        var history = try History.certified()
        try history.pay("p1", on: "2026-01-15")
        let hourAhead = noon("2026-03-02").addingTimeInterval(3_600)
        try history.apply(.changeCertification(.suspend, reason: "complaint"), at: hourAhead)
        try history.apply(.sweep, at: noon("2026-03-02"))
        #expect(history.state.published?.visible == true, "five minutes ahead the suspension has not begun")
        let evaluation = history.state.evaluate(at: history.state.decisionInstant(now: noon("2026-03-02")), policy: policy)
        #expect(evaluation.nextChangeAt == hourAhead)
        try history.apply(.sweep, at: hourAhead)
        #expect(history.state.published?.visible == false && history.state.published?.reason == .certificationSuspended)
    }

    @Test
    func renewalWhileCurrentExtendsFromTheOldEndNotFromToday() throws {
        var history = try History.certified()
        try history.pay("p1", on: "2026-01-15")
        try history.pay("p2", on: "2026-06-01")
        // Counting from today would give 2027-05-31; early renewal must lose no day.
        #expect(history.evaluate("2026-06-02").paidThrough == day("2028-01-14"))
        #expect(history.evaluate("2027-06-01").basis == .payments([payment("p1"), payment("p2")]))
    }

    @Test
    func renewalInGraceExtendsFromTheOldEnd() throws {
        var history = try History.certified()
        try history.pay("p1", on: "2026-01-15")
        #expect(history.evaluate("2027-01-20").status == .grace)
        #expect(history.evaluate("2027-01-20").visible)
        try history.pay("p2", on: "2027-01-20")
        #expect(history.evaluate("2027-01-21").status == .active)
        #expect(history.evaluate("2027-01-21").paidThrough == day("2028-01-14"))
    }

    @Test
    func aPaymentAfterGraceStartsANewPeriodOnItsOwnDate() throws {
        var history = try History.certified()
        try history.pay("p1", on: "2026-01-15")
        // Grace is 2027-01-15 … 2027-01-28; expired from 2027-01-29.
        #expect(history.evaluate("2027-01-28").status == .grace)
        #expect(history.evaluate("2027-01-29").status == .expired)
        #expect(history.evaluate("2027-01-29").reason == .expired)
        try history.pay("p2", on: "2027-03-10")
        #expect(history.evaluate("2027-03-10").paidThrough == day("2028-03-09"))
        #expect(history.evaluate("2027-03-10").basis == .payments([payment("p2")]))
    }

    @Test
    func monthEndStartsClampAndLeapDaysDoNotDrift() throws {
        var history = try History.certified()
        try history.pay("p1", on: "2028-02-29")
        #expect(history.evaluate("2028-03-01").paidThrough == day("2029-02-27"))
        var january = try History.certified()
        try january.pay("p1", on: "2026-01-31")
        #expect(january.evaluate("2026-02-01").paidThrough == day("2027-01-30"))
        try january.pay("p2", on: "2026-12-01")
        #expect(january.evaluate("2026-12-02").paidThrough == day("2028-01-30"))
    }

    /// Renewing year by year ends on the day paying the years at once ends: the months are counted from the
    /// stretch's start. Before, each renewal counted from the day after the last, so a stretch begun on 29
    /// February kept the 27th and lost a day by the next leap year.
    @Test
    func renewingYearByYearEndsWhereTheYearsBoughtAtOnceEnd() throws {
        var byYear = try History.certified()
        try byYear.pay("p1", on: "2028-02-29")
        for (id, date) in [("p2", "2029-01-15"), ("p3", "2030-01-15"), ("p4", "2031-01-15")] { try byYear.pay(id, on: date) }
        var atOnce = try History.certified()
        try atOnce.pay("p1", 50_000, on: "2028-02-29")
        #expect(atOnce.evaluate("2031-02-01").paidThrough == day("2032-02-28"))
        #expect(byYear.evaluate("2031-02-01").paidThrough == day("2032-02-28"))
        #expect(byYear.evaluate("2029-03-01").paidThrough == day("2030-02-27"))
    }

    /// Under a tariff of one month a period, a stretch begun on 31 January and renewed month by month runs to
    /// the day before each month's 31st (or its last day), as the months bought at once would.
    @Test
    func monthlyRenewalsOfAStretchBegunOnTheThirtyFirstLoseNoDay() {
        func allocation(_ id: String, on date: String) -> ContributionAllocated {
            ContributionAllocated(
                paymentID: payment(id), amount: euros(1_000), effectiveDate: day(date), price: euros(1_000), monthsPerPeriod: 1, periodsBought: 1,
                creditAfterMinorUnits: 0, acceptedShortfallMinorUnits: 0, occurredAt: noon(date)
            )
        }
        let renewed = [allocation("m1", on: "2026-01-31"), allocation("m2", on: "2026-02-20"), allocation("m3", on: "2026-03-20"), allocation("m4", on: "2026-04-20")]
        let (periods, _) = ProfileState.periods(for: renewed, policy: policy)
        #expect(periods.count == 1)
        #expect(periods.first?.parts.map(\.lastDay) == [day("2026-02-27"), day("2026-03-30"), day("2026-04-29"), day("2026-05-30")])
        #expect(periods.first?.parts.map(\.start) == [day("2026-01-31"), day("2026-02-28"), day("2026-03-31"), day("2026-04-30")])
    }

    @Test
    func creditAccumulatesAndBuysAPeriodWhenEnough() throws {
        var history = try History.certified()
        try history.pay("p1", 10_000, on: "2026-01-15")
        #expect(history.evaluate("2026-01-16").status == .pending)
        #expect(history.evaluate("2026-01-16").creditMinorUnits == 10_000)
        #expect(history.evaluate("2026-01-16").reason == .neverPaid)
        try history.pay("p2", 4_000, on: "2026-02-01")
        let listing = history.evaluate("2026-02-02")
        #expect(listing.status == .active)
        #expect(listing.paidThrough == day("2027-01-31"))
        #expect(listing.creditMinorUnits == 1_500)
        guard case .contributionAllocated(let second) = history.events.last(where: { $0.typeName == ContributionAllocated.typeName }) else {
            Issue.record("no allocation")
            return
        }
        #expect(second.periodsBought == 1 && second.creditAfterMinorUnits == 1_500)
    }

    @Test
    func twoPeriodsAtOnceBuyTwentyFourMonths() throws {
        var history = try History.certified()
        try history.pay("p1", 25_000, on: "2026-01-15")
        #expect(history.evaluate("2026-01-16").paidThrough == day("2028-01-14"))
    }

    @Test
    func aShortPaymentAcceptedByStaffBuysAFullPeriodAndRecordsTheShortfall() throws {
        var history = try History.certified()
        try history.apply(
            .allocate(paymentID: payment("short"), amount: euros(12_000), effectiveDate: day("2026-01-15"), acceptShortfall: true),
            at: noon("2026-01-15")
        )
        let listing = history.evaluate("2026-01-16")
        #expect(listing.status == .active && listing.creditMinorUnits == 0)
        guard case .contributionAllocated(let allocation) = history.events.first(where: { $0.typeName == ContributionAllocated.typeName }) else {
            Issue.record("no allocation")
            return
        }
        #expect(allocation.acceptedShortfallMinorUnits == 500)
    }

    /// A shortfall accepted when the profile had no credit, then an earlier-dated transfer imported: the accepted
    /// payment needs no top-up any more, and no credit appears that was never paid (50 + 100 buys one period and
    /// leaves 25, not 50).
    @Test
    func anAcceptedShortfallTopsUpOnlyToThePrice() throws {
        var history = try History.certified()
        try history.apply(
            .allocate(paymentID: payment("short"), amount: euros(10_000), effectiveDate: day("2026-03-10"), acceptShortfall: true),
            at: noon("2026-03-10")
        )
        #expect(history.evaluate("2026-03-11").creditMinorUnits == 0)
        try history.apply(
            .allocate(paymentID: payment("early"), amount: euros(5_000), effectiveDate: day("2026-03-01"), acceptShortfall: false),
            at: noon("2026-03-12")
        )
        let listing = history.evaluate("2026-03-13")
        #expect(listing.status == .active && listing.creditMinorUnits == 2_500 && listing.paidThrough == day("2027-03-09"), "\(listing)")
    }

    @Test
    func theTariffInForceOnThePaymentDateApplies() throws {
        let tariff = Tariff(entries: [
            TariffEntry(effectiveFrom: day("2000-01-01"), price: euros(12_500), months: 12),
            TariffEntry(effectiveFrom: day("2027-01-01"), price: euros(15_000), months: 12),
        ])
        let pricier = ListingPolicy(tariff: tariff)
        var state = ProfileState()
        for command: ProfileCommand in [
            .register(kind: .advocate, displayName: "B", contactEmail: "b@example.org"), .changeCertification(.grant, reason: "ok"),
            .allocate(paymentID: payment("old"), amount: euros(12_500), effectiveDate: day("2026-12-31"), acceptShortfall: false),
            .allocate(paymentID: payment("new"), amount: euros(12_500), effectiveDate: day("2027-01-02"), acceptShortfall: false),
        ] {
            for event in try ProfileDecider.decide(command, state: state, profileID: profile, now: noon("2027-01-02"), policy: pricier) {
                state.evolve(event)
            }
        }
        let allocations = state.allocations.map(\.event)
        #expect(allocations.map(\.periodsBought) == [1, 0])
        #expect(allocations.map(\.price) == [euros(12_500), euros(15_000)])
        // Evaluating under another tariff uses what was recorded: the second payment stays credit.
        #expect(state.evaluate(at: noon("2027-01-03"), policy: .standard).paidThrough == day("2027-12-30"))
        #expect(state.evaluate(at: noon("2027-01-03"), policy: .standard).creditMinorUnits == 12_500)
    }

    @Test
    func onlyEurosAreApplied() throws {
        var history = try History.certified()
        #expect(throws: DomainError.currencyMismatch("USD", "EUR")) {
            try history.apply(
                .allocate(paymentID: payment("usd"), amount: Money(minorUnits: 12_500, currency: "USD"), effectiveDate: day("2026-01-15"), acceptShortfall: false),
                at: noon("2026-01-15")
            )
        }
        #expect(history.state.allocations.isEmpty)
    }

    @Test
    func theSamePaymentIsNeverAppliedTwice() throws {
        var history = try History.certified()
        try history.pay("p1", on: "2026-01-15")
        #expect(throws: DomainError.paymentAlreadyAllocated("offline-p1")) { try history.pay("p1", on: "2026-01-15") }
        #expect(history.evaluate("2026-02-01").paidThrough == day("2027-01-14"))
    }

    /// A payment taken back as a correction (voided as entered by mistake, moved to another profile, its
    /// resolution reopened) never paid for this profile: the listing reads as never paid, not as refunded or
    /// expired, and nothing is scheduled for when what it had bought would have run out.
    @Test
    func aCorrectedPaymentLeavesTheListingAsIfNeverPaid() throws {
        var history = try History.certified()
        try history.pay("p1", on: "2026-01-15")
        let corrected = try history.apply(.reverseAllocation(paymentID: payment("p1"), kind: .correction, reason: "entered twice"), at: noon("2026-03-01"))
        guard case .visibilityChanged(let hidden) = corrected.last else {
            Issue.record("a correction must change visibility in the same append: \(corrected)")
            return
        }
        #expect(!hidden.visible && hidden.reason == .neverPaid && hidden.status == .pending, "\(hidden)")
        let later = history.evaluate("2026-03-02")
        #expect(later.reason == .neverPaid && later.status == .pending, "\(later)")
        #expect(later.nextChangeAt == nil, "\(later)")
        // Beside a payment that counts, a refund of another still reads as a refund.
        try history.pay("p2", on: "2026-03-05")
        try history.apply(.reverseAllocation(paymentID: payment("p2"), kind: .refund, reason: "asked for it"), at: noon("2026-03-10"))
        let refunded = history.evaluate("2026-03-11")
        #expect(refunded.reason == .refunded && refunded.status == .expired, "\(refunded)")
    }

    @Test
    func aRefundHidesTheListingWithReasonRefundedAndDisputeWonReinstates() throws {
        var history = try History.certified()
        try history.pay("p1", on: "2026-01-15")
        let reversal = try history.apply(.reverseAllocation(paymentID: payment("p1"), kind: .refund, reason: "asked for it"), at: noon("2026-03-01"))
        guard case .visibilityChanged(let hidden) = reversal.last else {
            Issue.record("a refund must change visibility in the same append")
            return
        }
        #expect(!hidden.visible && hidden.reason == .refunded)
        #expect(history.evaluate("2026-03-02").reason == .refunded)
        #expect(history.evaluate("2026-03-02").status == .expired)
        // Before the refund the payment was a valid basis.
        #expect(history.evaluate("2026-02-01").basis == .payments([payment("p1")]))
        // Reversing again changes nothing.
        #expect(try history.apply(.reverseAllocation(paymentID: payment("p1"), kind: .chargeback, reason: "again"), at: noon("2026-03-02")).isEmpty)

        try history.apply(.reinstateAllocation(paymentID: payment("p1"), reason: "dispute won"), at: noon("2026-04-01"))
        #expect(history.evaluate("2026-04-02").status == .active)
        #expect(history.state.published?.visible == true)
    }

    @Test
    func reversingAMiddlePaymentRecomputesCoverageFromTheRest() throws {
        var history = try History.certified()
        try history.pay("p1", on: "2026-01-15")
        try history.pay("p2", on: "2026-06-01")
        try history.pay("p3", on: "2026-09-01")
        #expect(history.evaluate("2026-09-02").paidThrough == day("2029-01-14"))
        try history.apply(.reverseAllocation(paymentID: payment("p2"), kind: .bankReturn, reason: "AC04"), at: noon("2026-10-01"))
        #expect(history.evaluate("2026-10-02").paidThrough == day("2028-01-14"))
    }

    @Test
    func waiversListWithinTheirDatesUntilRevoked() throws {
        var history = try History.certified()
        try history.apply(.grantWaiver(waiverID: "w1", from: day("2026-01-01"), through: day("2026-06-30"), reason: "hardship"), at: noon("2026-01-01"))
        #expect(history.evaluate("2026-03-01").status == .waived)
        #expect(history.evaluate("2026-03-01").basis == .waiver("w1"))
        #expect(history.evaluate("2026-07-01").reason == .waiverEnded)
        try history.apply(.revokeWaiver(waiverID: "w1", reason: "paid after all"), at: noon("2026-04-01"))
        #expect(history.evaluate("2026-03-15").status == .waived)
        #expect(history.evaluate("2026-04-02").reason == .waiverEnded)
        // Revoking it again changes nothing (a duplicate is no error); a waiver never granted is not found.
        #expect(try history.apply(.revokeWaiver(waiverID: "w1", reason: "x"), at: noon("2026-04-03")).isEmpty)
        #expect(history.evaluate("2026-04-04").reason == .waiverEnded)
        #expect(throws: DomainError.waiverNotFound("w9")) { try history.apply(.revokeWaiver(waiverID: "w9", reason: "x"), at: noon("2026-04-03")) }
        #expect(throws: DomainError.invalidDateRange("the waiver ends (2026-01-01) before it starts (2026-02-01)")) {
            try history.apply(.grantWaiver(waiverID: "w2", from: day("2026-02-01"), through: day("2026-01-01"), reason: "x"), at: noon("2026-04-03"))
        }
    }

    /// A waiver revoked before its first day never listed anyone: the profile stays "not listed yet", not
    /// "expired, waiver ended". One revoked after its last day ended on its last day.
    @Test
    func aWaiverRevokedBeforeItStartsNeverCounted() throws {
        var history = try History.certified()
        try history.apply(.grantWaiver(waiverID: "w1", from: day("2026-06-01"), through: day("2026-08-31"), reason: "hardship"), at: noon("2026-05-01"))
        try history.apply(.revokeWaiver(waiverID: "w1", reason: "granted by mistake"), at: noon("2026-05-20"))
        let later = history.evaluate("2026-06-15")
        #expect(later.status == .pending && later.reason != .waiverEnded, "\(later)")


        // Paid through 2026-10-01, visible in grace until 2026-10-15; a waiver for September revoked on
        // 2026-11-01 ended on 2026-10-01, so what hid the listing last is the end of grace, not the waiver.
        var paid = try History.certified()
        try paid.pay("p1", on: "2025-10-02")
        try paid.apply(.grantWaiver(waiverID: "w2", from: day("2026-09-01"), through: day("2026-09-30"), reason: "hardship"), at: noon("2026-08-20"))
        try paid.apply(.revokeWaiver(waiverID: "w2", reason: "tidying up"), at: noon("2026-11-01"))
        let after = paid.evaluate("2026-11-02")
        #expect(after.status == .expired && after.reason == .expired, "\(after)")
    }

    @Test
    func suspensionHidesAtOnceAndReinstatementShowsAgainIfPaid() throws {
        var history = try History.certified()
        try history.pay("p1", on: "2026-01-15")
        try history.apply(.changeCertification(.suspend, reason: "complaint"), at: noon("2026-02-01"))
        #expect(history.evaluate("2026-02-02").status == .suspended)
        #expect(history.evaluate("2026-02-02").reason == .certificationSuspended)
        #expect(history.state.published?.visible == false)
        try history.apply(.changeCertification(.reinstate, reason: "cleared"), at: noon("2026-03-01"))
        #expect(history.evaluate("2026-03-02").status == .active)
        try history.apply(.changeCertification(.revoke, reason: "struck off"), at: noon("2026-04-01"))
        #expect(history.evaluate("2026-04-02").reason == .certificationRevoked)
        #expect(throws: DomainError.self) { try history.apply(.changeCertification(.reinstate, reason: "x"), at: noon("2026-04-03")) }
    }

    @Test
    func anUncertifiedProfileIsNotListedEvenIfPaid() throws {
        var history = History()
        try history.apply(.register(kind: .mediator, displayName: "A", contactEmail: "a@example.org"), at: noon("2026-01-01"))
        try history.pay("p1", on: "2026-01-15")
        #expect(!history.evaluate("2026-01-16").visible)
        #expect(history.evaluate("2026-01-16").reason == .notCertified)
    }

    @Test
    func aSweepOnAnOrdinaryDayChangesNothing() throws {
        // Only allocations move dates; a sweep between scheduled changes records nothing.
        var history = try History.certified()
        try history.pay("p1", on: "2026-01-15")
        let before = history.state
        #expect(try history.apply(.sweep, at: noon("2026-02-01")).isEmpty)
        #expect(history.state == before)
    }

    @Test
    func visibilityChangesAreRecordedOnlyWhenSomethingChanges() throws {
        var history = try History.certified()
        let first = try history.apply(.allocate(paymentID: payment("p1"), amount: euros(12_500), effectiveDate: day("2026-01-15"), acceptShortfall: false), at: noon("2026-01-15"))
        #expect(first.map(\.typeName) == [ContributionAllocated.typeName, ListingVisibilityChanged.typeName])
        // The sweep on an unchanged day records nothing.
        #expect(try history.apply(.sweep, at: noon("2026-02-01")).isEmpty)
        // Into grace: still visible, status changes.
        let grace = try history.apply(.sweep, at: noon("2027-01-16"))
        #expect(grace.compactMap(\.visibilityChange).map(\.status) == [.grace])
        let expired = try history.apply(.sweep, at: noon("2027-01-29"))
        #expect(expired.compactMap(\.visibilityChange).map(\.visible) == [false])
    }

    @Test
    func theNextChangeIsTheFirstReminderThenExpiryThenGraceEnd() throws {
        var history = try History.certified()
        try history.pay("p1", on: "2026-01-15")
        let calendar = policy.calendar
        #expect(history.evaluate("2026-02-01").nextChangeAt == calendar.startOfDay(day("2026-12-15")))
        #expect(history.evaluate("2027-01-10").nextChangeAt == calendar.startOfDay(day("2027-01-15")))
        #expect(history.evaluate("2027-01-20").nextChangeAt == calendar.startOfDay(day("2027-01-29")))
        #expect(history.evaluate("2027-02-20").nextChangeAt == nil)
    }

    @Test
    func aPaymentDatedAheadIsTheNextChangeAndListsTheProfileOnItsDay() throws {
        // Recorded on 2026-03-10 for 2026-03-13 (a payment may be dated up to a week ahead): nothing counts yet,
        // and the sweeper must wake on the payment's own day.
        var history = try History.certified()
        try history.pay("p1", on: "2026-03-13", at: noon("2026-03-10"))
        let before = history.evaluate("2026-03-10")
        #expect(!before.visible)
        #expect(before.nextChangeAt == policy.calendar.startOfDay(day("2026-03-13")))
        let listed = try history.apply(.sweep, at: policy.calendar.startOfDay(day("2026-03-13")))
        #expect(listed.compactMap(\.visibilityChange).map(\.visible) == [true])
        // Then the first reminder, 30 days before the last paid day (2027-03-12).
        #expect(history.evaluate("2026-03-13").nextChangeAt == policy.calendar.startOfDay(day("2027-02-10")))

        // Ahead of a current period, it extends the period on its own day: that day is a wake-up too, so the
        // directory learns the new paid-through date then, not at the next reminder.
        var renewed = try History.certified()
        try renewed.pay("p1", on: "2026-01-15")
        try renewed.pay("p2", on: "2026-12-20", at: noon("2026-12-16"))
        #expect(renewed.evaluate("2026-12-16").nextChangeAt == policy.calendar.startOfDay(day("2026-12-20")))
        let extended = try renewed.apply(.sweep, at: policy.calendar.startOfDay(day("2026-12-20")))
        #expect(extended.compactMap(\.visibilityChange).map(\.paidThrough) == [day("2028-01-14")])
    }

    @Test
    func remindersFallDueThirtyAndSevenDaysBeforeOnceEach() throws {
        var history = try History.certified()
        try history.pay("p1", on: "2026-01-15")
        #expect(try history.apply(.sweep, at: noon("2026-12-14")).isEmpty)
        let thirty = try history.apply(.sweep, at: noon("2026-12-15"))
        #expect(thirty == [.renewalReminderDue(RenewalReminderDue(paidThrough: day("2027-01-14"), daysBefore: 30, occurredAt: noon("2026-12-15")))])
        #expect(try history.apply(.sweep, at: noon("2026-12-20")).isEmpty)
        let seven = try history.apply(.sweep, at: noon("2027-01-08"))
        #expect(seven.count == 1)
        #expect(try history.apply(.sweep, at: noon("2027-01-09")).isEmpty)
    }

    @Test
    func aSecondRegistrationAndCommandsOnUnknownProfilesAreRefused() throws {
        var history = try History.certified()
        #expect(throws: DomainError.profileAlreadyRegistered("mediator-1")) {
            try history.apply(.register(kind: .mediator, displayName: "Again", contactEmail: "a@example.org"), at: noon("2026-01-01"))
        }
        var unknown = History()
        #expect(throws: DomainError.profileNotFound("mediator-1")) {
            try unknown.apply(.changeCertification(.grant, reason: "x"), at: noon("2026-01-01"))
        }
        #expect(throws: DomainError.self) {
            try unknown.apply(.register(kind: .mediator, displayName: "X", contactEmail: "not-an-address"), at: noon("2026-01-01"))
        }
    }
}
