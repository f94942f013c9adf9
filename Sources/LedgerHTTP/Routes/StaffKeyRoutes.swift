import Hummingbird
import LedgerService

/// Staff routes for API keys: listing only; keys are created and revoked with `listing-ledger keys`.
struct StaffKeyRoutes {
    let apiKeys: APIKeyStore

    func register(on group: RouterGroup<LedgerRequestContext>) {
        group.get("keys") { _, _ in
            try JSONResponse(try await apiKeys.list())
        }
    }
}
