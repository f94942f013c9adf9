public import Hummingbird
import Logging
public import LedgerService
import NIOCore

/// What the middleware learns about a request and hands to the routes.
public struct LedgerRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The request's id: the client's `X-Request-Id` if well-formed, otherwise a new one.
    public var requestID: String = ""
    /// The authenticated API client, on routes that need one.
    public var caller: APICaller?
    /// The signed-in person, on staff console routes.
    public var staffSession: StaffSession?
    /// The console form's fields, read (and its form token checked) by the console's session middleware.
    var form: [String: String] = [:]
    /// The body limit in force (set by ``BodyLimitMiddleware``), also used when decoding JSON.
    public var bodyBytesMax: Int = 1_048_576

    /// The connection, so a request whose unread body is too large to drain can have it closed.
    let channel: (any Channel)?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    public var maxUploadSize: Int { bodyBytesMax }
}
