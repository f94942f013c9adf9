import Logging
import HTTPTypes
import Hummingbird
import LedgerService

/// Requires `Authorization: Bearer <key>` with a key whose role is one of `roles`.
struct APIKeyMiddleware: RouterMiddleware {
    typealias Context = LedgerRequestContext
    let apiKeys: APIKeyStore
    let roles: Set<APIRole>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization] else {
            throw Problem.unauthorized("send an API key as `Authorization: Bearer <key>`")
        }
        let prefix = "bearer "
        guard header.lowercased().hasPrefix(prefix) else {
            throw Problem.unauthorized("the Authorization header must use the Bearer scheme")
        }
        let key = String(header.dropFirst(prefix.count)).trimmingCharacters(in: .whitespaces)
        guard let caller = try await apiKeys.authenticate(key) else {
            throw Problem.unauthorized("the API key is unknown, revoked or malformed")
        }
        guard roles.contains(caller.role) else {
            let allowed = roles.map(\.rawValue).sorted().joined(separator: " or ")
            throw Problem.forbidden("this route needs a \(allowed) key; key '\(caller.name)' has the role \(caller.role.rawValue)")
        }
        var context = context
        context.caller = caller
        context.logger[metadataKey: "caller"] = .string(caller.actor)
        return try await next(request, context)
    }
}

import Foundation
