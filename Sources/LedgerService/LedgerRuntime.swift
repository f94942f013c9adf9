import AsyncHTTPClient
import Directory
public import EventStore
import LedgerCore
import NIOCore
import Payments
public import Foundation
public import Logging
public import Prometheus
public import ServiceLifecycle

/// The parts a running ledger is made of, built once from configuration and shared by the HTTP layer,
/// the background services and the CLI.
public struct LedgerRuntime: Sendable {
    public let configuration: LedgerConfiguration
    public let store: any EventStore
    public let apiKeys: APIKeyStore
    /// People who sign in to the staff console.
    public let staffUsers: StaffUsers
    public let metrics: LedgerMetrics
    public let logger: Logger
    /// The clock every decision uses; tests pass a simulated one.
    public let now: @Sendable () -> Date
    public let profiles: ProfileService
    public let listingProjection: ListingProjection
    public let listings: ListingQueries
    public let sweeper: Sweeper
    public let payments: PaymentPipeline
    public let card: CardPayments
    public let payPal: PayPalPayments
    public let refunds: PaymentRefunds
    /// The payment list, the exception queue and the bank index, from one fold of each payment.
    public let paymentViews: PaymentViewsProjection
    public let paymentExceptions: PaymentExceptions
    public let bankIndex: BankIndex
    public let bankImport: BankStatementImport
    /// The largest body a statement upload may have (the API's and the console's): the statement parser's file cap,
    /// whatever the general request limit (a larger body could only carry a file the parser refuses).
    public var uploadBytesMax: Int { bankImport.fileBytesMax }
    /// The books: the journal read model, trial balances and exports.
    public let booksProjection: BooksProjection
    public let books: BooksQueries
    /// Receipts and credit notes.
    public let receipts: ReceiptService
    /// Payment lists and profile searches for staff.
    public let lists: StaffLists
    public let directoryEndpoints: DirectoryEndpoints
    public let directoryPublisher: DirectoryPublisher
    public let directory: DirectoryQueries
    /// First outcomes of requests sent with an `Idempotency-Key`.
    public let idempotency: IdempotencyRecords
    /// The client for calls to payment providers; shut down with the runtime.
    let httpClient: HTTPClient

    /// Opens the database the configuration names and, if configured, migrates it.
    ///
    /// - Parameter mayCreate: whether a ledger may be created where none is (`serve` and `migrate`); other
    ///   commands refuse an absent SQLite file or a PostgreSQL database without the ledger's schema, so a
    ///   command run with the wrong settings never writes to a new, empty ledger by mistake.
    public static func open(
        _ configuration: LedgerConfiguration,
        now: @escaping @Sendable () -> Date = { Date() },
        logger: Logger,
        mayCreate: Bool = true
    ) async throws -> LedgerRuntime {
        let metrics = LedgerMetrics()
        let store = try await EventStores.open(
            configuration.databaseURL, now: now, metricsFactory: metrics.factory, logger: logger, mayCreate: mayCreate
        )
        do {
            if !mayCreate, try await store.pendingLedgerMigrations().contains(where: { $0.version == 1 }) {
                throw ConfigurationError(
                    "\(configuration.databaseURL) holds no ledger yet. `listing-ledger serve` or `listing-ledger migrate` creates one; to use another ledger, pass --database-url or set LEDGER_DATABASE_URL"
                )
            }
            if configuration.migrateOnStart {
                let report = try await store.migrateLedger()
                if !report.applied.isEmpty {
                    logger.notice("applied migrations", metadata: ["migrations": "\(report.applied.joined(separator: ", "))"])
                }
            } else if let pending = try await store.pendingLedgerMigrations().first {
                throw ConfigurationError("the database lacks migration \(pending.fileName); run `listing-ledger migrate`")
            }
        } catch {
            await store.close()
            throw error
        }
        let policyBook = PolicyBook(store: store, base: configuration.listingPolicy)
        do {
            try await policyBook.open(
                explicitSettings: configuration.explicitListingSettings, today: configuration.listingPolicy.calendar.date(at: now()), now: now()
            )
            // Ledgers from before registration claimed references get their claims once.
            try await ReferenceClaims(store: store).backfill(now: now(), logger: logger)
            // So are the days of statements imported before days were claimed.
            try await BankDayClaims(store: store, ownAccount: configuration.bankIBAN).backfill(
                currency: configuration.listingPolicy.tariff.entry(on: configuration.listingPolicy.calendar.date(at: now())).price.currency,
                now: now(), logger: logger
            )
        } catch {
            await store.close()
            throw error
        }
        let profiles = ProfileService(store: store, policyBook: policyBook, now: now)
        // Every read model asks one memo for a batch's decoded events, so each event is decoded once.
        let decoded = DecodedEvents()
        let projection = ListingProjection(base: configuration.listingPolicy, now: now, decoded: decoded)
        let paymentViews = PaymentViewsProjection(decoded: decoded)
        let listings = ListingQueries(store: store, projection: projection, calendar: configuration.listingPolicy.calendar, now: now)
        let payments = PaymentPipeline(store: store, profiles: profiles)
        do {
            // Reversals by hand recorded on profiles only, by a version from before payments recorded them.
            try await HandReversalBackfill(payments: payments).run(logger: logger)
        } catch {
            await store.close()
            throw error
        }
        // Provider APIs are called without following redirects: a redirect from a payment API is an error,
        // not something to chase with the secret key attached.
        // A refused connection fails the call at once (a 502 to our caller) instead of being retried until
        // the request's time limit: the provider is down, and waiting helps no one.
        var clientConfiguration = HTTPClient.Configuration(redirectConfiguration: .disallow)
        clientConfiguration.connectionPool.retryConnectionEstablishment = false
        clientConfiguration.timeout.connect = .seconds(5)
        // A claim sends up to ``DirectoryPublisher/claimBatchMax`` deliveries to one endpoint at once, each with
        // its own time limit counted from when it is sent: with fewer connections than that per host, the rest
        // would spend their time limit waiting for a connection and fail without reaching the directory.
        clientConfiguration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = max(
            clientConfiguration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit, DirectoryPublisher.claimBatchMax
        )
        let httpClient = HTTPClient(
            eventLoopGroup: HTTPClient.defaultEventLoopGroup,
            configuration: clientConfiguration,
            backgroundActivityLogger: logger
        )
        let cardClient = configuration.card.map {
            CardProviderClient(
                configuration: CardProviderConfiguration(baseURL: $0.apiBaseURL, secretKey: $0.secretKey, requestTimeoutSeconds: $0.requestTimeoutSeconds),
                httpClient: httpClient
            )
        }
        let bankIndex = BankIndex(store: store, views: paymentViews)
        let calendar = configuration.listingPolicy.calendar
        let booksProjection = BooksProjection(calendar: { calendar }, decoded: decoded)
        let card = CardPayments(
            pipeline: payments, client: cardClient, webhookSecrets: configuration.cardWebhookSecrets,
            webhookToleranceSeconds: configuration.cardWebhookToleranceSeconds
        )
        let payPal: PayPalPayments
        do {
            payPal = try PayPalPayments.make(configuration: configuration, pipeline: payments)
        } catch {
            try? await httpClient.shutdown()
            await store.close()
            throw ConfigurationError("the PayPal trust roots cannot be read: \(error)")
        }
        let directoryEndpoints = DirectoryEndpoints(
            store: store, now: now, sealer: configuration.secretSealer, urlPolicy: configuration.endpointURLPolicy
        )
        do {
            try await directoryEndpoints.sealStoredSecrets()
        } catch {
            try? await httpClient.shutdown()
            await payPal.shutdown()
            await store.close()
            if let error = error as? SecretSealerError { throw ConfigurationError(error.description) }
            throw error
        }
        return LedgerRuntime(
            configuration: configuration, store: store,
            apiKeys: APIKeyStore(store: store, pepper: configuration.apiKeyPepper, now: now),
            staffUsers: StaffUsers(store: store, now: now),
            metrics: metrics, logger: logger, now: now, profiles: profiles, listingProjection: projection, listings: listings,
            sweeper: Sweeper(profiles: profiles, projection: projection, queries: listings, logger: logger),
            payments: payments,
            card: card,
            payPal: payPal,
            refunds: PaymentRefunds(card: card, payPal: payPal),
            paymentViews: paymentViews,
            paymentExceptions: PaymentExceptions(store: store, views: paymentViews),
            bankIndex: bankIndex,
            bankImport: BankStatementImport(pipeline: payments, index: bankIndex, ownAccount: configuration.bankIBAN),
            booksProjection: booksProjection,
            books: BooksQueries(store: store, projection: booksProjection),
            receipts: ReceiptService(payments: payments),
            lists: StaffLists(
                store: store, payments: paymentViews, profiles: ProfileSearchProjection(decoded: decoded),
                history: ListingHistoryProjection(decoded: decoded)
            ),
            directoryEndpoints: directoryEndpoints,
            directoryPublisher: DirectoryPublisher(
                store: store, client: WebhookDeliveryClient(httpClient: httpClient, requestTimeoutSeconds: configuration.directoryTimeoutSeconds),
                policy: configuration.directoryRetryPolicy, now: now, logger: logger, sealer: configuration.secretSealer,
                idleMax: .seconds(Int64(configuration.directoryPollSeconds))
            ),
            directory: DirectoryQueries(store: store, listing: projection, now: now),
            idempotency: IdempotencyRecords(store: store, now: now, sealer: configuration.secretSealer),
            httpClient: httpClient
        )
    }

    /// Every projection this service keeps, for `serve` and `rebuild`.
    public var projectionRunners: [ProjectionRunner] {
        [
            ProjectionRunner(store: store, projection: listingProjection), ProjectionRunner(store: store, projection: paymentViews),
            ProjectionRunner(store: store, projection: booksProjection), ProjectionRunner(store: store, projection: lists.profiles),
            ProjectionRunner(store: store, projection: lists.history),
        ]
    }

    /// Brings the listing and exception read models up to the log's end, so a page shown right after a change
    /// (a statement just imported) already reflects it instead of waiting for the background runners.
    public func catchUpStaffViews() async throws {
        _ = try await ProjectionRunner(store: store, projection: listingProjection).catchUp()
        _ = try await ProjectionRunner(store: store, projection: paymentViews).catchUp()
    }

    /// The background services that run beside the HTTP server.
    public func backgroundServices() -> [any Service] {
        [
            ProjectionService(
                runner: ProjectionGroupRunner(store: store, projections: projectionRunners.map(\.projection)), metrics: metrics, logger: logger
            ),
            sweeper, directoryPublisher, PolicyRefresher(book: profiles.policyBook, logger: logger),
        ]
    }

    /// Closes the database.
    public func close() async {
        try? await httpClient.shutdown()
        await payPal.shutdown()
        await store.close()
    }
}

/// The service's metrics, exported in Prometheus text format at `/metrics`.
public struct LedgerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    public let factory: PrometheusMetricsFactory

    public init() {
        registry = PrometheusCollectorRegistry()
        factory = PrometheusMetricsFactory(registry: registry)
    }

    /// The metrics as Prometheus text.
    public func exposition() -> String {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}
