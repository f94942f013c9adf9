import Hummingbird
import LedgerService

/// Routes any API client may call.
struct ClientRoutes {
    func register(on group: RouterGroup<LedgerRequestContext>) {
        group.get("whoami") { _, context in
            guard let caller = context.caller else { throw Problem.unauthorized("no API key") }
            return try JSONResponse(["keyId": caller.keyID, "name": caller.name, "role": caller.role.rawValue])
        }
    }
}
