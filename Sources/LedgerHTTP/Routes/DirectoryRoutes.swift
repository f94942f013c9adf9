import Foundation
import HTTPTypes
import Hummingbird
import LedgerCore
import LedgerService

/// Directory endpoints and dead letters for staff; the change feed and the listing snapshot for the directory.
struct DirectoryRoutes {
    let directory: DirectoryQueries
    let directoryEndpoints: DirectoryEndpoints

    struct EndpointRequest: JSONRequestBody {

        static let fieldNames: Set<String> = ["url", "eventTypes"]
        var url: String
        var eventTypes: [DirectoryEventType]?
    }

    struct CreatedEndpoint: Encodable {
        var endpoint: DirectoryEndpoint
        /// Shown once: the receiver verifies our signatures with it.
        var secret: String
    }

    func registerStaffRoutes(on group: RouterGroup<LedgerRequestContext>) {
        group.post("directory/endpoints") { request, context in
            let body = try await decode(EndpointRequest.self, request, context)
            let (endpoint, secret) = try await directoryEndpoints.add(url: body.url, eventTypes: body.eventTypes ?? [])
            return try JSONResponse(CreatedEndpoint(endpoint: endpoint, secret: secret), status: .created).shownOnce
        }
        group.get("directory/endpoints") { _, _ in
            try JSONResponse(try await directoryEndpoints.list())
        }
        group.post("directory/endpoints/:endpointId/disable") { _, context in
            try await directoryEndpoints.disable(try context.parameters.require("endpointId"), reason: "disabled by \(context.caller?.actor ?? "staff")")
            return try JSONResponse(try await endpoint(context))
        }
        group.post("directory/endpoints/:endpointId/enable") { _, context in
            try await directoryEndpoints.enable(try context.parameters.require("endpointId"))
            return try JSONResponse(try await endpoint(context))
        }
        group.post("directory/endpoints/:endpointId/rotate-secret") { _, context in
            let secret = try await directoryEndpoints.rotateSecret(try context.parameters.require("endpointId"))
            return try JSONResponse(CreatedEndpoint(endpoint: try await endpoint(context), secret: secret)).shownOnce
        }
        group.get("directory/deliveries") { request, _ in
            let status = request.uri.queryParameters["status"].map(String.init) ?? "dead"
            guard ["dead", "pending", "delivered"].contains(status) else { throw Problem.badRequest("status must be dead, pending or delivered") }
            let (limit, offset) = try pageParameters(request, pageSizeMax: DirectoryQueries.pageSizeMax)
            let endpointID = request.uri.queryParameters["endpointId"].map(String.init)
            return try JSONResponse(try await directory.deliveries(status: status, endpointID: endpointID, limit: limit, offset: offset))
        }
        group.post("directory/deliveries/:deliveryId/replay") { _, context in
            guard let id = Int64(try context.parameters.require("deliveryId")) else { throw Problem.badRequest("a delivery id is a number") }
            let count = try await directory.replay(.delivery(id))
            guard count == 1 else { throw Problem.notFound("no dead delivery \(id)") }
            return try JSONResponse(Replayed(replayed: count))
        }
        group.post("directory/endpoints/:endpointId/replay") { request, context in
            struct RangeRequest: JSONRequestBody {
                static let fieldNames: Set<String> = ["fromDeliveryId", "throughDeliveryId"]
                var fromDeliveryId: Int64
                var throughDeliveryId: Int64
            }
            let body = try await decode(RangeRequest.self, request, context)
            guard body.fromDeliveryId >= 1, body.throughDeliveryId >= 1 else { throw Problem.badRequest("delivery ids start at 1") }
            guard body.fromDeliveryId <= body.throughDeliveryId else {
                throw Problem(.unprocessableContent, "invalid-range", title: "Unprocessable Content", detail: "fromDeliveryId must not exceed throughDeliveryId")
            }
            _ = try await endpoint(context)
            let count = try await directory.replay(.endpointRange(
                endpointID: try context.parameters.require("endpointId"), fromDeliveryID: body.fromDeliveryId, throughDeliveryID: body.throughDeliveryId
            ))
            return try JSONResponse(Replayed(replayed: count))
        }
        group.post("directory/replay") { request, context in
            struct SinceRequest: JSONRequestBody {
                static let fieldNames: Set<String> = ["since"]
                var since: String
            }
            let body = try await decode(SinceRequest.self, request, context)
            let since = try instant(body.since, field: "since")
            return try JSONResponse(Replayed(replayed: try await directory.replay(.since(since))))
        }
    }

    func registerDirectoryRoutes(on group: RouterGroup<LedgerRequestContext>) {
        group.get("directory/changes") { request, _ in
            let after = request.uri.queryParameters["after"].map(String.init)
            guard DirectoryQueries.isCursor(after) else {
                throw Problem.badRequest("after must be a cursor from an earlier page (like 12.345), or absent")
            }
            let (limit, _) = try pageParameters(request, pageSizeMax: DirectoryQueries.pageSizeMax)
            return try JSONResponse(try await directory.changes(afterCursor: after, limit: limit))
        }
        group.get("directory/listings") { request, _ in
            let (limit, _) = try pageParameters(request, pageSizeMax: DirectoryQueries.pageSizeMax)
            let after = request.uri.queryParameters["after"].map(String.init)
            let listings = try await directory.listedProfiles(afterProfileID: after, limit: limit)
            struct Page: Encodable {
                var listings: [DirectoryListing]
                /// Pass as `after` for the next page; absent on the last one.
                var next: String?
            }
            return try JSONResponse(Page(listings: listings, next: listings.count == limit ? listings.last?.profileId : nil))
        }
    }

    private func endpoint(_ context: LedgerRequestContext) async throws -> DirectoryEndpoint {
        let id = try context.parameters.require("endpointId")
        guard let endpoint = try await directoryEndpoints.list().first(where: { $0.endpointId == id }) else {
            throw Problem.notFound("no directory endpoint '\(id.prefix(80))'")
        }
        return endpoint
    }

    struct Replayed: Encodable {
        var replayed: Int
    }
}

extension Response {
    /// This answer, marked as one that carries a secret shown once: no cache keeps it, and the Idempotency-Key
    /// record of it is sealed like the secret itself.
    var shownOnce: Response {
        var response = self
        response.headers[.cacheControl] = "no-store"
        return response
    }
}
