import Foundation
import HTTPTypes
import Hummingbird
import LedgerCore
import LedgerService

/// Staff commands on profiles, and listing reads for staff and the website.
struct ProfileRoutes {
    let listings: ListingQueries
    let lists: StaffLists
    let now: @Sendable () -> Date
    let payments: PaymentPipeline
    let profiles: ProfileService

    struct RegisterRequest: JSONRequestBody {

        static let fieldNames: Set<String> = ["profileId", "kind", "displayName", "contactEmail"]
        var profileId: String
        var kind: ProfileKind
        var displayName: String
        var contactEmail: String
    }

    struct CertificationRequest: JSONRequestBody {

        static let fieldNames: Set<String> = ["action", "reason"]
        var action: CertificationAction
        var reason: String
    }

    struct WaiverRequest: JSONRequestBody {

        static let fieldNames: Set<String> = ["waiverId", "from", "through", "reason"]
        var waiverId: String?
        var from: String
        var through: String
        var reason: String
    }

    struct ReasonRequest: JSONRequestBody {

        static let fieldNames: Set<String> = ["reason"]
        var reason: String
    }

    struct OfflinePaymentRequest: JSONRequestBody {

        static let fieldNames: Set<String> = ["amount", "currency", "date", "purpose", "note", "confirmDuplicate"]
        var amount: String
        var currency: String?
        var date: String
        var purpose: PaymentPurpose
        var note: String?
        var confirmDuplicate: Bool?
    }

    func registerStaffRoutes(on group: RouterGroup<LedgerRequestContext>) {
        group.post("profiles") { request, context in
            let body = try await decode(RegisterRequest.self, request, context)
            let profileID = try ProfileID(body.profileId)
            let outcome = try await command(
                .register(kind: body.kind, displayName: body.displayName, contactEmail: body.contactEmail),
                profileID, request, context
            )
            return try respond(outcome, status: outcome.replayed ? .ok : .created)
        }
        group.post("profiles/:profileId/certification") { request, context in
            let body = try await decode(CertificationRequest.self, request, context)
            return try respond(try await command(.changeCertification(body.action, reason: body.reason), try profileID(context), request, context))
        }
        group.post("profiles/:profileId/waivers") { request, context in
            let body = try await decode(WaiverRequest.self, request, context)
            let profileID = try profileID(context)
            // Without an id of its own, a grant under an Idempotency-Key is named by the key, so the same request
            // sent again is the same grant (a new id each time would be another command under the key).
            let keyed = try idempotencyKey(request, context).map {
                ProfileService.eventID(key: $0, actor: nil, stream: "waiver-\(profileID.rawValue)", index: 0).uuidString.lowercased()
            }
            let waiverID = body.waiverId ?? keyed ?? UUID().uuidString.lowercased()
            let outcome = try await command(
                .grantWaiver(waiverID: waiverID, from: try date(body.from, "from"), through: try date(body.through, "through"), reason: body.reason),
                profileID, request, context
            )
            // The same grant under its id again grants nothing (a listing change that fell due meanwhile may be
            // recorded with it): 200, as a replay is.
            let granted = outcome.appended.contains { if case .waiverGranted = $0 { true } else { false } }
            return try respond(outcome, status: granted && !outcome.replayed ? .created : .ok)
        }
        group.post("profiles/:profileId/waivers/:waiverId/revoke") { request, context in
            let body = try await decode(ReasonRequest.self, request, context)
            let waiverID = try pathParameter(context, "waiverId")
            return try respond(try await command(.revokeWaiver(waiverID: waiverID, reason: body.reason), try profileID(context), request, context))
        }
        group.post("profiles/:profileId/offline-payments") { request, context in
            let body = try await decode(OfflinePaymentRequest.self, request, context)
            let amount = try Money(parsing: body.amount, currency: body.currency ?? "EUR")
            let (paymentID, outcome) = try await profiles.recordOfflinePayment(
                profileID: try profileID(context), amount: amount, date: try date(body.date, "date"), purpose: body.purpose,
                note: body.note ?? "", metadata: metadata(request, context), idempotencyKey: idempotencyKey(request, context),
                confirmDuplicate: body.confirmDuplicate ?? false
            )
            var response = try respond(outcome, status: outcome.replayed ? .ok : .created)
            response.headers[.location] = "/api/v1/payments/\(paymentID.rawValue)"
            return response
        }
        group.post("profiles/:profileId/allocations/:paymentId/reverse") { request, context in
            struct ReverseRequest: JSONRequestBody {
                static let fieldNames: Set<String> = ["kind", "reason", "amount"]
                var kind: ReversalKind
                var reason: String
                var amount: String?
            }
            let body = try await decode(ReverseRequest.self, request, context)
            let paymentID = PaymentID(rawValue: try context.parameters.require("paymentId"))
            let id = try profileID(context)
            // Recorded on the payment too, so the books and receipts take the money back.
            let recorded = try await payments.giveBack(
                paymentID: paymentID, profileID: id, kind: body.kind, amount: try body.amount.map { try Money(parsing: $0, currency: "EUR") },
                reason: body.reason, metadata: metadata(request, context)
            )
            var appended: [ProfileEvent] = []
            if case .recorded(_, let profileEvents) = recorded { appended = profileEvents }
            return try respond(ProfileService.Outcome(profileID: id, appended: appended, replayed: false, state: try await profiles.load(id).state))
        }
        group.get("profiles") { request, _ in
            // As the API description says: 1 to 200 characters (Unicode scalars), not all of them white space
            // (Unicode's White_Space, which is what `\s` of its pattern matches).
            guard let text = request.uri.queryParameters["search"].map(String.init), text.unicodeScalars.contains(where: { !$0.properties.isWhitespace }) else {
                throw Problem.badRequest("search is required: a name, an e-mail address, a profile id or an RF reference")
            }
            guard text.unicodeScalars.count <= 200 else { throw Problem.badRequest("search is at most 200 characters") }
            let (limit, _) = try pageParameters(request, pageSizeMax: StaffLists.pageSizeMax)
            return try JSONResponse(try await lists.searchProfiles(text, limit: limit))
        }
        group.get("reports/listed") { request, _ in
            let calendar = profiles.policy.calendar
            let today = calendar.date(at: now())
            let thisMonth = LocalDate(year: today.year, month: today.month, day: 1) ?? today
            let last = try queryMonth(request, "to") ?? thisMonth
            let first = try queryMonth(request, "from") ?? last.addingMonths(-23)
            guard first <= last, last <= thisMonth else {
                throw Problem(.unprocessableContent, "invalid-date-range", title: "Unprocessable Content",
                              detail: "from must not be after to, and to not after this month (\(thisMonth.monthText))")
            }
            guard first.addingMonths(StaffLists.monthsPerReportMax) > last else {
                throw Problem(.unprocessableContent, "invalid-date-range", title: "Unprocessable Content",
                              detail: "a report covers at most \(StaffLists.monthsPerReportMax) months")
            }
            return try JSONResponse(try await lists.listedPerMonth(from: first, through: last, calendar: calendar))
        }
        group.get("profiles/:profileId/timeline") { _, context in
            let loaded = try await profiles.load(try profileID(context))
            guard loaded.state.isRegistered else { throw DomainError.profileNotFound(try profileID(context).rawValue) }
            return try JSONResponse(loaded.timeline)
        }
        group.get("listings") { request, context in
            let status = request.uri.queryParameters["status"].map(String.init)
            if let status, ListingStatus(rawValue: status) == nil {
                throw Problem.badRequest("status must be one of \(ListingStatus.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let within = try request.uri.queryParameters["expiringWithinDays"].map { text -> Int in
                guard let days = Int(text), (0...3_650).contains(days) else { throw Problem.badRequest("expiringWithinDays must be 0 to 3650") }
                return days
            }
            let month = try queryMonth(request, "expiringInMonth")?.monthText
            let (limit, offset) = try pageParameters(request, pageSizeMax: ListingQueries.pageSizeMax)
            return try JSONResponse(try await listings.list(
                status: status, expiringWithinDays: within, expiringInMonth: month, limit: limit, offset: offset
            ))
        }
    }

    func registerReadRoutes(on group: RouterGroup<LedgerRequestContext>) {
        group.get("profiles/:profileId/listing") { request, context in
            let id = try profileID(context)
            let loaded = try await profiles.load(id)
            guard loaded.state.isRegistered else { throw DomainError.profileNotFound(id.rawValue) }
            let instant = try request.uri.queryParameters["at"].map { try asOf(String($0)) } ?? now()
            return try JSONResponse(ListingView(id, loaded.state, at: instant, policy: profiles.policy))
        }
    }

    // MARK: Helpers

    private func command(_ command: ProfileCommand, _ profileID: ProfileID, _ request: Request, _ context: LedgerRequestContext) async throws -> ProfileService.Outcome {
        try await profiles.handle(command, profileID: profileID, metadata: metadata(request, context), idempotencyKey: idempotencyKey(request, context))
    }

    private func respond(_ outcome: ProfileService.Outcome, status: HTTPResponse.Status = .ok) throws -> Response {
        var response = try JSONResponse(CommandResult(
            profileId: outcome.profileID.rawValue, version: outcome.state.version, replayed: outcome.replayed,
            appended: outcome.appended.map(\.typeName),
            listing: ListingView(outcome.profileID, outcome.state, at: now(), policy: profiles.policy)
        ), status: status)
        if outcome.replayed { response.headers[HTTPField.Name("Idempotent-Replayed")!] = "true" }
        return response
    }

    private func profileID(_ context: LedgerRequestContext) throws -> ProfileID {
        try ProfileID(try context.parameters.require("profileId"))
    }

    private func date(_ text: String, _ field: String) throws -> LocalDate {
        guard let date = LocalDate(iso: text) else { throw Problem.badRequest("\(field) '\(text.prefix(40))' is not a date like 2026-01-31") }
        return date
    }

    /// `?at=` as ``ListingQueries/asOf(_:calendar:)`` reads it.
    private func asOf(_ text: String) throws -> Date {
        switch ListingQueries.asOf(text, calendar: profiles.policy.calendar) {
        case .instant(let instant):
            return instant
        case .missingDay:
            throw Problem(.unprocessableContent, "invalid-date", title: "Unprocessable Content", detail: "at '\(text.prefix(40))' names a day that does not exist")
        case .unreadable:
            throw Problem.badRequest(
                "at '\(text.prefix(40))' is neither a date (2026-01-31) nor an instant (2026-01-31T12:00:00Z) \(LedgerBounds.dateRangeDescription)"
            )
        }
    }
}

/// What a command answers.
struct CommandResult: Encodable {
    var profileId: String
    var version: Int64
    var replayed: Bool
    var appended: [String]
    var listing: ListingView
}
