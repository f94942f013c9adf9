import Foundation
@testable import LedgerCore
import PropertyBased
import Testing

/// Invariants of the listing rules over random payment histories.
@Suite("Listing rule properties")
struct ListingPropertyTests {
    /// Random payments: (days after 2026-01-01, amount in cents).
    static let payments = zip(Gen.int(in: 0...1_500), Gen.int(in: 1_000...40_000)).array(of: 1...8)

    static let start = day("2026-01-01")

    /// Applies payments in date order, each on its own day at noon.
    static func history(_ payments: [(Int, Int)]) throws -> History {
        var history = try History.certified(on: "2025-12-01")
        for (index, (offset, amount)) in payments.sorted(by: { $0.0 < $1.0 }).enumerated() {
            let date = start.addingDays(offset).description
            try history.pay("p\(index)", Int64(amount), on: date)
        }
        return history
    }

    static func coveredDays(_ state: ProfileState, at instant: Date) -> (count: Int, last: LocalDate?) {
        let periods = state.paidPeriods(at: instant, policy: policy).periods
        return (periods.reduce(0) { $0 + $1.start.days(until: $1.lastDay) + 1 }, periods.last?.lastDay)
    }

    static let farFuture = noon("2040-01-01")

    @Test
    func theFoldIsDeterministic() async {
        await propertyCheck(input: Self.payments) { payments in
            let history = try Self.history(payments)
            #expect(ProfileState.fold(history.events) == history.state)
            #expect(ProfileState.fold(history.events).evaluate(at: Self.farFuture, policy: policy) == history.state.evaluate(at: Self.farFuture, policy: policy))
            // Events survive their stored form unchanged.
            let decoded = try history.events.map { try ProfileEvent.decode(typeName: $0.typeName, data: $0.encodedData()) }
            #expect(decoded == history.events.map(Optional.some))
        }
    }

    @Test
    func allocatingNeverShortensCoverage() async {
        await propertyCheck(input: Self.payments) { payments in
            var history = try History.certified(on: "2025-12-01")
            var previous = (count: 0, last: LocalDate?.none)
            for (index, (offset, amount)) in payments.sorted(by: { $0.0 < $1.0 }).enumerated() {
                try history.pay("p\(index)", Int64(amount), on: Self.start.addingDays(offset).description)
                let now = Self.coveredDays(history.state, at: Self.farFuture)
                #expect(now.count >= previous.count)
                if let before = previous.last { #expect(now.last.map { $0 >= before } == true) }
                previous = now
            }
        }
    }

    @Test
    func reversingEveryAllocationReturnsToNeverPaid() async {
        await propertyCheck(input: Self.payments) { payments in
            var history = try Self.history(payments)
            for allocation in history.state.allocations {
                try history.apply(.reverseAllocation(paymentID: allocation.event.paymentID, kind: .refund, reason: "test"), at: noon("2030-06-01"))
            }
            let periods = history.state.paidPeriods(at: Self.farFuture, policy: policy)
            #expect(periods.periods.isEmpty && periods.creditMinorUnits == 0)
            // Past what the reversed payments had bought, the profile reads exactly as if it never paid;
            // within it, the reason names the refund.
            let unreversed = history.state.paidPeriods(at: Self.farFuture, policy: policy, ignoringReversals: true).periods
            // (and after the reversals themselves: before them, as-of queries still see the payments).
            let beyond = max((unreversed.last?.lastDay ?? Self.start).addingDays(policy.graceDays + 1), day("2030-06-02"))
            let after = history.state.evaluate(at: noon(beyond.description), policy: policy)
            #expect(after.reason == .neverPaid && after.status == .pending, "\(after) at \(beyond) after \(payments)")
            #expect(history.state.published?.visible != true)
        }
    }

    /// A command of a random history: `kind` 0 to 2 a payment (2 accepting a shortfall), 3 a waiver, 4 a
    /// suspension or reinstatement, 5 a chargeback of the last allocation, otherwise a sweep.
    static func command(_ kind: Int, index: Int, waiver: Int, on date: LocalDate, amount: Int, _ state: ProfileState, reason: String = "r") -> ProfileCommand {
        switch kind {
        case 0, 1, 2: .allocate(paymentID: payment("p\(index)"), amount: euros(Int64(amount)), effectiveDate: date, acceptShortfall: kind == 2)
        case 3: .grantWaiver(waiverID: "w\(waiver)", from: date, through: date.addingDays(amount / 100), reason: reason)
        case 4: .changeCertification(state.currentCertification == .certified ? .suspend : .reinstate, reason: reason)
        case 5: .reverseAllocation(paymentID: state.allocations.last?.event.paymentID ?? payment("none"), kind: .chargeback, reason: reason)
        default: .sweep
        }
    }

    @Test
    func visibilityAlwaysHasExactlyOneOfBasisOrReason() async {
        let actions = zip(Gen.int(in: 0...6), Gen.int(in: 0...900), Gen.int(in: 1_000...30_000)).array(of: 1...12)
        await propertyCheck(input: actions, Gen.int(in: 0...1_200)) { actions, probe in
            var history = try History.certified(on: "2025-12-01")
            var waiverCount = 0
            for (index, (kind, offset, amount)) in actions.sorted(by: { $0.1 < $1.1 }).enumerated() {
                let date = Self.start.addingDays(offset)
                let instant = noon(date.description)
                let command = Self.command(kind, index: index, waiver: waiverCount, on: date, amount: amount, history.state)
                if case .grantWaiver = command { waiverCount += 1 }
                _ = try? history.apply(command, at: instant)
            }
            let evaluation = history.state.evaluate(at: noon(Self.start.addingDays(probe).description), policy: policy)
            #expect((evaluation.basis == nil) != (evaluation.reason == nil))
            #expect(evaluation.visible == (evaluation.basis != nil))
            #expect(evaluation.visible == [.active, .grace, .waived].contains(evaluation.status))
        }
    }

    /// The sweeper sleeps until the next scheduled change: between now and then, nothing the directory is
    /// told may change by itself (payments dated up to a week ahead, waivers, reversals and suspensions
    /// among the history).
    @Test
    func nothingChangesBeforeTheNextScheduledChange() async {
        let actions = zip(Gen.int(in: 0...6), Gen.int(in: 0...900), Gen.int(in: 1_000...30_000)).array(of: 1...10)
        await propertyCheck(input: actions, Gen.int(in: 0...500)) { actions, probe in
            var history = try History.certified(on: "2025-12-01")
            var lastDay = Self.start
            for (index, (kind, offset, amount)) in actions.sorted(by: { $0.1 < $1.1 }).enumerated() {
                let date = Self.start.addingDays(offset)
                lastDay = date
                let command: ProfileCommand = switch kind {
                case 0, 1: .allocate(paymentID: payment("p\(index)"), amount: euros(Int64(amount)), effectiveDate: date.addingDays(amount % 8), acceptShortfall: false)
                case 2: .allocate(paymentID: payment("p\(index)"), amount: euros(12_500), effectiveDate: date, acceptShortfall: false)
                case 3: .grantWaiver(waiverID: "w\(index)", from: date.addingDays(amount % 20), through: date.addingDays(amount / 100), reason: "r")
                case 4: .changeCertification(history.state.currentCertification == .certified ? .suspend : .reinstate, reason: "r")
                case 5: .reverseAllocation(paymentID: history.state.allocations.last?.event.paymentID ?? payment("none"), kind: .chargeback, reason: "r")
                default: .sweep
                }
                _ = try? history.apply(command, at: noon(date.description))
            }
            // Probed after the last event, as the sweeper would: mostly on its own day, where a payment dated
            // ahead has not counted yet.
            let today = lastDay.addingDays(probe % 3 == 0 ? probe : 0)
            let now = history.state.evaluate(at: noon(today.description), policy: policy)
            let until = now.nextChangeAt.map { policy.calendar.date(at: $0) } ?? today.addingDays(800)
            var day = today.addingDays(1)
            while day < until {
                let later = history.state.evaluate(at: noon(day.description), policy: policy)
                #expect(
                    later.visible == now.visible && later.status == now.status && later.paidThrough == now.paidThrough,
                    "on \(today): \(now); on \(day), before the next change \(until): \(later)"
                )
                if later.visible != now.visible || later.status != now.status || later.paidThrough != now.paidThrough { break }
                day = day.addingDays(1)
            }
        }
    }
}
