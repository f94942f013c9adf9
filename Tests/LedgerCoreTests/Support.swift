import Foundation
@testable import LedgerCore

let policy = ListingPolicy.standard
let profile = try! ProfileID("mediator-1")

/// A calendar date from `YYYY-MM-DD`.
func day(_ text: String) -> LocalDate { LocalDate(iso: text)! }

/// Noon in Amsterdam on `YYYY-MM-DD`.
func noon(_ text: String) -> Date { policy.calendar.startOfDay(day(text)).addingTimeInterval(12 * 3600) }

func euros(_ minorUnits: Int64) -> Money { .euros(minorUnits: minorUnits) }

/// Builds a profile's history by deciding commands in order, as the service would.
struct History {
    var state = ProfileState()
    var events: [ProfileEvent] = []

    /// A registered profile certified on `date`.
    static func certified(on date: String = "2025-01-01") throws -> History {
        var history = History()
        try history.apply(.register(kind: .mediator, displayName: "Ada Mediator", contactEmail: "ada@example.org"), at: noon(date))
        try history.apply(.changeCertification(.grant, reason: "certified by the board"), at: noon(date))
        return history
    }

    @discardableResult
    mutating func apply(_ command: ProfileCommand, at instant: Date) throws(DomainError) -> [ProfileEvent] {
        let new = try ProfileDecider.decide(command, state: state, profileID: profile, now: instant, policy: policy)
        for event in new { state.evolve(event) }
        events += new
        return new
    }

    mutating func pay(_ id: String, _ minorUnits: Int64 = 12_500, on date: String, at instant: Date? = nil) throws(DomainError) {
        try apply(
            .allocate(paymentID: PaymentID(method: .offline, externalID: id), amount: euros(minorUnits), effectiveDate: day(date), acceptShortfall: false),
            at: instant ?? noon(date)
        )
    }

    func evaluate(_ date: String) -> ListingEvaluation { state.evaluate(at: noon(date), policy: policy) }
}

func payment(_ id: String) -> PaymentID { PaymentID(method: .offline, externalID: id) }
