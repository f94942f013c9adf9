public import Hummingbird
import LedgerCore
public import LedgerService
import Logging


/// Builds the router: middleware, then one route group per audience. Tests and `serve` share this path.
public func buildRouter(runtime: LedgerRuntime) -> Router<LedgerRequestContext> {
    let router = Router(context: LedgerRequestContext.self)
    // Each route group is handed only the services it uses.
    let bankRoutes = BankRoutes(
        bankImport: runtime.bankImport, configuration: runtime.configuration, now: runtime.now, payments: runtime.payments, profiles: runtime.profiles
    )
    let paymentRoutes = PaymentRoutes(
        books: runtime.books, card: runtime.card, lists: runtime.lists, payPal: runtime.payPal, paymentExceptions: runtime.paymentExceptions, payments: runtime.payments,
        refunds: runtime.refunds
    )
    let profileRoutes = ProfileRoutes(listings: runtime.listings, lists: runtime.lists, now: runtime.now, payments: runtime.payments, profiles: runtime.profiles)
    let directoryRoutes = DirectoryRoutes(directory: runtime.directory, directoryEndpoints: runtime.directoryEndpoints)
    let idempotency = IdempotencyMiddleware(records: runtime.idempotency)
    // The largest body any route takes (the general limit, or the statement cap), plus the margin.
    let bodyBytesMax = max(runtime.configuration.requestBodyBytesMax, runtime.uploadBytesMax)
    router.add(middleware: EarlyAnswerMiddleware(drainBytesMax: bodyBytesMax + EarlyAnswerMiddleware.marginBytes))
    router.add(middleware: RequestIDMiddleware())
    router.add(middleware: HTTPMetricsMiddleware(metrics: runtime.metrics))
    let routes = RouteTable()
    router.add(middleware: ProblemMiddleware(routes: routes))
    router.add(middleware: QueryTextMiddleware())
    // Every route reads its body within the configured limit, except statement uploads, which have the
    // statement parser's file cap.
    let limited = router.group().add(middleware: BodyLimitMiddleware(bodyBytesMax: runtime.configuration.requestBodyBytesMax))
    bankRoutes.registerUploadRoutes(
        on: router.group("api/v1")
            .add(middleware: BodyLimitMiddleware(bodyBytesMax: runtime.uploadBytesMax))
            .add(middleware: APIKeyMiddleware(apiKeys: runtime.apiKeys, roles: [.staff]))
            .add(middleware: idempotency)
    )

    OperationsRoutes(runtime: runtime).register(on: limited)
    paymentRoutes.registerWebhookRoutes(on: limited)

    let api = limited.group("api/v1")
    ClientRoutes().register(
        on: api.group().add(middleware: APIKeyMiddleware(apiKeys: runtime.apiKeys, roles: Set(APIRole.allCases))).add(middleware: idempotency)
    )
    let staff = api.group().add(middleware: APIKeyMiddleware(apiKeys: runtime.apiKeys, roles: [.staff])).add(middleware: idempotency)
    StaffKeyRoutes(apiKeys: runtime.apiKeys).register(on: staff)
    PolicyRoutes(policyBook: runtime.profiles.policyBook, now: runtime.now).register(on: staff)
    profileRoutes.registerStaffRoutes(on: staff)
    paymentRoutes.registerStaffRoutes(on: staff)
    directoryRoutes.registerStaffRoutes(on: staff)
    BooksRoutes(books: runtime.books, calendar: runtime.profiles.policy.calendar, now: runtime.now).register(on: staff)
    directoryRoutes.registerDirectoryRoutes(
        on: api.group().add(middleware: APIKeyMiddleware(apiKeys: runtime.apiKeys, roles: [.directory, .staff])).add(middleware: idempotency)
    )
    paymentRoutes.registerWebsiteRoutes(
        on: api.group().add(middleware: APIKeyMiddleware(apiKeys: runtime.apiKeys, roles: [.website])).add(middleware: idempotency)
    )
    bankRoutes.registerStaffRoutes(on: staff)
    ReceiptRoutes(receipts: runtime.receipts, issuer: runtime.configuration.bankBeneficiaryName, calendar: runtime.profiles.policy.calendar).register(
        on: api.group().add(middleware: APIKeyMiddleware(apiKeys: runtime.apiKeys, roles: [.staff, .website])).add(middleware: idempotency)
    )
    bankRoutes.registerWebsiteRoutes(
        on: api.group().add(middleware: APIKeyMiddleware(apiKeys: runtime.apiKeys, roles: [.website, .staff])).add(middleware: idempotency)
    )
    profileRoutes.registerReadRoutes(
        on: api.group().add(middleware: APIKeyMiddleware(apiKeys: runtime.apiKeys, roles: [.staff, .website])).add(middleware: idempotency)
    )
    // The staff console: people with a session, never API keys.
    let console = ConsoleRoutes(runtime: runtime)
    console.registerPublicRoutes(on: limited)
    console.registerRoutes(on: limited.group("console").add(middleware: ConsoleSessionMiddleware(users: runtime.staffUsers)))
    console.registerUploadRoutes(
        on: router.group("console")
            .add(middleware: ConsoleTooLargeMiddleware(bodyBytesMax: runtime.uploadBytesMax))
            .add(middleware: BodyLimitMiddleware(bodyBytesMax: runtime.uploadBytesMax))
            .add(middleware: ConsoleSessionMiddleware(users: runtime.staffUsers))
    )
    routes.load(router.routes.map { (path: $0.path.description, method: $0.method) })
    return router
}

/// Builds the application: the HTTP server plus the runtime's background services, shut down together.
public func buildApplication(
    runtime: LedgerRuntime,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) -> some ApplicationProtocol {
    let configuration = runtime.configuration
    return Application(
        router: buildRouter(runtime: runtime),
        configuration: .init(address: .hostname(configuration.httpHost, port: configuration.httpPort), serverName: "listing-ledger"),
        services: runtime.backgroundServices(),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.httpPort) },
        logger: runtime.logger
    )
}
