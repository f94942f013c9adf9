import Foundation
import Hummingbird
import LedgerCore
import LedgerService

/// The dated listing policy: what is in force, its history, and scheduled changes (staff).
struct PolicyRoutes {
    let policyBook: PolicyBook
    let now: @Sendable () -> Date

    struct ChangeRequest: JSONRequestBody {

        static let fieldNames: Set<String> = ["effectiveFrom", "price", "periodMonths", "graceDays", "reason", "allowPast"]
        var effectiveFrom: String
        var price: String?
        var periodMonths: Int?
        var graceDays: Int?
        var reason: String
        var allowPast: Bool?
    }

    struct EntryView: Encodable {
        var effectiveFrom: String
        var price: String
        var periodMonths: Int
        var graceDays: Int
    }

    struct ChangeView: Encodable {
        var effectiveFrom: String
        var price: String
        var periodMonths: Int
        var graceDays: Int
        var reason: String
        var retroactive: Bool
        var recordedAt: Date?
        var actor: String?

        init(_ change: ListingPolicyChanged, recordedAt: Date?, actor: String?) {
            effectiveFrom = change.effectiveFrom.description
            price = change.price.decimalString
            periodMonths = change.monthsPerPeriod
            graceDays = change.graceDays
            reason = change.reason
            retroactive = change.retroactive
            self.recordedAt = recordedAt
            self.actor = actor
        }
    }

    struct PolicyView: Encodable {
        var inForce: EntryView
        var changes: [ChangeView]
    }

    func register(on group: RouterGroup<LedgerRequestContext>) {
        group.get("policy") { _, _ in
            let policy = policyBook.current
            let entry = policy.tariff.entry(on: policy.calendar.date(at: now()))
            let changes = try await policyBook.changes().map { ChangeView($0.change, recordedAt: $0.recordedAt, actor: $0.actor) }
            return try JSONResponse(PolicyView(
                inForce: EntryView(
                    effectiveFrom: entry.effectiveFrom.description, price: entry.price.decimalString, periodMonths: entry.months,
                    graceDays: entry.graceDays ?? policy.graceDays
                ),
                changes: changes
            ))
        }
        group.post("policy/changes") { request, context in
            let body = try await decode(ChangeRequest.self, request, context)
            guard let from = LocalDate(iso: body.effectiveFrom) else {
                throw Problem.badRequest("effectiveFrom '\(body.effectiveFrom.prefix(40))' is not a date like 2027-01-01")
            }
            let price = try body.price.map { try Money(parsing: $0, currency: "EUR") }
            // What the request leaves out, and what later changes would put back, as the ledger holds them now
            // (another instance may have scheduled a change since this one last read the policy).
            try await policyBook.reload()
            let change = try await policyBook.schedule(
                policyBook.request(
                    effectiveFrom: from, price: price, monthsPerPeriod: body.periodMonths, graceDays: body.graceDays,
                    reason: body.reason, allowPast: body.allowPast ?? false
                ),
                metadata: metadata(request, context), now: now()
            )
            return try JSONResponse(ChangeView(change, recordedAt: change.occurredAt, actor: context.caller?.actor), status: .created)
        }
    }
}
