import Foundation
@testable import LedgerService
import Testing

@Suite("Rate budget")
struct RateBudgetTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    /// `max` uses in the window; the next waits until the oldest leaves it, and then a use is free again.
    @Test func aFullWindowSaysHowLongToWait() {
        let budget = RateBudget(max: 2, windowSeconds: 60)
        #expect(budget.take(at: start) == nil)
        #expect(budget.take(at: start + 10) == nil)
        #expect(budget.take(at: start + 20) == 40)
        #expect(budget.take(at: start + 59.5) == 1)
        #expect(budget.take(at: start + 60) == nil, "a use exactly a window old has left it")
        #expect(budget.take(at: start + 60.5) == 10, "refused takes were not counted")
    }

    /// Callers that read their clock before waiting arrive out of order: an early arrival is counted at the
    /// latest instant so far, and never frees a later use's place.
    @Test func usesCountedOutOfOrderNeverFreeAPlace() {
        let budget = RateBudget(max: 2, windowSeconds: 60)
        #expect(budget.take(at: start + 10) == nil)
        #expect(budget.take(at: start) == nil)
        #expect(budget.take(at: start + 5) == 65, "both uses count from start + 10")
        #expect(budget.take(at: start + 70) == nil)
    }
}
